//! `audience audit-providers [--model NAME] [--json]`: the 3rd-party provider audit.

use anyhow::Result;

use audience::audit::audit_providers;

use super::Global;

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Also share out this model's lift among the providers.
    #[arg(long)]
    pub model: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: AuditArgs, g: &Global) -> Result<()> {
    let store = g.open_store()?;
    let r = audit_providers(&store, a.model.as_deref())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print!("{}", audience::audit::render(&r));
    Ok(())
}
