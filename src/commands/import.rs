//! `audience import TABLE --id COL [--party COL] [--provider COL] [--consent COL]`.

use std::path::PathBuf;

use anyhow::Result;

use audience::import::{import, ImportOptions};

use super::Global;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The profile table: .csv, .csv.gz or .parquet, one row per person.
    pub table: PathBuf,
    /// The column holding each person's id.
    #[arg(long)]
    pub id: String,
    /// Column with each row's party (first, second, third).
    #[arg(long)]
    pub party: Option<String>,
    /// Column with each row's data provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Column with ad consent (true/false, yes/no, 1/0).
    #[arg(long)]
    pub consent: Option<String>,
}

pub fn run(a: ImportArgs, g: &Global) -> Result<()> {
    let mut store = g.open_store()?;
    let opts = ImportOptions { id: a.id, party: a.party, provider: a.provider, consent: a.consent };
    let r = import(&mut store, &a.table, &opts)?;
    for c in &r.skipped_pii {
        g.note(format!(
            "warning: column `{c}` looks like raw PII (emails, phones, names, addresses) and was \
             not stored; use `audience resolve` for identity data"
        ));
    }
    if r.dropped_derived {
        g.note(
            "warning: the traits of the last `audience derive` were dropped by this import; run \
             `audience derive SOURCES_DIR` again",
        );
    }
    let secs = r.read_secs + r.index_secs;
    println!(
        "imported {} rows from {}: {} new profiles, {} known; {} traits indexed in {:.2} s ({:.0} rows/s)",
        r.rows,
        a.table.display(),
        r.new_profiles,
        r.known_profiles,
        r.traits,
        secs,
        r.rows as f64 / secs.max(1e-9)
    );
    Ok(())
}
