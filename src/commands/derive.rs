//! `audience derive SOURCES_DIR [--as-of DATE] [--windows 30,90,365]`.

use std::path::PathBuf;

use anyhow::Result;

use audience::derive::{derive, parse_date, parse_windows, DeriveOptions};

use super::Global;

#[derive(clap::Args)]
pub struct DeriveArgs {
    /// The directory holding the sources (receipts, web_events, email_events, ad_exposures, crm,
    /// providers/...; each NAME.parquet, NAME.csv or NAME.csv.gz).
    pub sources: PathBuf,
    /// The day traits are computed as of (YYYY-MM-DD, UTC); default: the latest event's day.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Windows in days, comma-separated.
    #[arg(long, default_value = "30,90,365")]
    pub windows: String,
}

pub fn run(a: DeriveArgs, g: &Global) -> Result<()> {
    let as_of = match &a.as_of {
        Some(s) => Some(parse_date(s).ok_or_else(|| {
            anyhow::anyhow!(
                "--as-of: `{s}` is not a date; write YYYY-MM-DD, e.g. --as-of 2026-06-30"
            )
        })?),
        None => None,
    };
    let opts = DeriveOptions { as_of, windows: parse_windows(&a.windows)? };
    let mut store = g.open_store()?;
    let r = derive(&mut store, &a.sources, &opts)?;
    for s in &r.record.sources {
        g.note(format!("  {:<24} {:>12} rows, {:>12} matched", s.name, s.rows, s.matched));
    }
    if r.resolved {
        println!("events go to the profiles of the identity graph (identity/identifiers.parquet)");
    } else {
        println!(
            "events go to customer ids (cookies through logins); run `audience resolve` first for \
             the profiles of the identity graph"
        );
    }
    let (read, compute, write) = r.secs;
    let total = read + compute + write;
    println!(
        "derived {} traits for {} profiles as of {} (windows {:?} days) from {} events in {:.2} s \
         (read {:.2} s, compute {:.2} s, index and write {:.2} s; {:.0} events/s)",
        r.record.traits.len(),
        r.profiles,
        r.record.as_of,
        r.record.windows,
        r.events,
        total,
        read,
        compute,
        write,
        r.events as f64 / total.max(1e-9)
    );
    Ok(())
}
