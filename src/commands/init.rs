//! `audience init [DIR]`.

use std::path::PathBuf;

use anyhow::Result;

use audience::store::Store;

use super::Global;

#[derive(clap::Args)]
pub struct InitArgs {
    /// Where to create the store (default: --store, AUDIENCE_STORE or ./audience-store).
    pub dir: Option<PathBuf>,
}

pub fn run(args: InitArgs, g: &Global) -> Result<()> {
    let dir = args.dir.unwrap_or_else(|| g.store.clone());
    Store::init(&dir)?;
    println!("created store at {}", dir.display());
    Ok(())
}
