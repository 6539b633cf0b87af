//! `audience traits [--catalog]`: the store's traits with their meaning, or the catalogue of
//! every trait `derive` can write.

use anyhow::Result;

use audience::derive::{catalog, load_record};
use audience::index::BitmapIndex;

use super::Global;

#[derive(clap::Args)]
pub struct TraitsArgs {
    /// Print the catalogue of derived trait names (no store needed) instead of the store's traits.
    #[arg(long)]
    pub catalog: bool,
}

pub fn run(a: TraitsArgs, g: &Global) -> Result<()> {
    if a.catalog {
        println!("{:<34} {:<14} meaning", "trait", "kind");
        for e in catalog::CATALOG {
            println!("{:<34} {:<14} {}", e.pattern, e.kind, e.meaning);
        }
        println!(
            "\n{{W}}: a window in days (--windows); ages are whole days before the as-of day, and an \
             event is in window W when its age is below W. Web decay half-life: {} days.",
            catalog::HALF_LIFE_DAYS
        );
        return Ok(());
    }
    let store = g.open_store()?;
    let manifest = BitmapIndex::manifest(&store)?;
    let record = load_record(&store)?;
    if let Some(r) = &record {
        println!("derived as of {} with windows {:?} days", r.as_of, r.windows);
    }
    let derived: std::collections::HashSet<&str> =
        record.as_ref().map(|r| r.traits.iter().map(String::as_str).collect()).unwrap_or_default();
    println!("{:<40} {:<12} {:<22} meaning", "trait", "kind", "origin");
    for t in &manifest.traits {
        let origin = match (&t.origin.party, &t.origin.provider) {
            (Some(p), Some(v)) => format!("{p}/{v}"),
            (Some(p), None) => p.clone(),
            _ => "imported".into(),
        };
        let meaning = if derived.contains(t.name.as_str()) {
            catalog::describe(&t.name).map_or("derived", |e| e.meaning).to_string()
        } else {
            "imported column".to_string()
        };
        let kind = format!("{:?}", t.kind).to_lowercase();
        println!("{:<40} {:<12} {:<22} {meaning}", t.name, kind, origin);
    }
    Ok(())
}
