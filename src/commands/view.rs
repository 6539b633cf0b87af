//! `audience view SPEC [--save FILE]`: builds a feature view on the store's traits and shows it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use audience::features::{build, Traits, ViewSpec};

use super::Global;

#[derive(clap::Args)]
pub struct ViewArgs {
    /// The model spec holding the [view] (e.g. models/lookalike.toml).
    pub spec: PathBuf,
    /// Save the fitted parameters (JSON) here.
    #[arg(long)]
    pub save: Option<PathBuf>,
}

pub fn run(a: ViewArgs, g: &Global) -> Result<()> {
    let spec = ViewSpec::load(&a.spec)?;
    let store = g.open_store()?;
    let t0 = Instant::now();
    let traits = Traits::load(&store)?;
    let load = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (m, params) = build(&spec, &traits)?;
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "view `{}`: {} rows x {} columns built in {secs:.2} s (traits loaded in {load:.2} s)",
        params.view,
        m.nrows(),
        m.ncols()
    );
    for c in &params.columns {
        println!("  {c}");
    }
    if let Some(p) = &a.save {
        params.save(p)?;
        g.note(format!("saved the fitted view to {}", p.display()));
    }
    Ok(())
}
