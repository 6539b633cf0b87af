//! `audience info`: the store's counts, traits and segments.

use anyhow::Result;

use audience::index::{BitmapIndex, TraitKind};

use super::Global;

#[derive(clap::Args)]
pub struct InfoArgs {}

pub fn run(_a: InfoArgs, g: &Global) -> Result<()> {
    let store = g.open_store()?;
    let m = store.meta();
    println!("store {} (format {})", store.root().display(), m.format_version);
    println!("  created {}, updated {}", m.created, m.updated);
    println!(
        "  profiles {}  traits {}  segments {}  models {}",
        m.counts.profiles, m.counts.traits, m.counts.segments, m.counts.models
    );
    let manifest = BitmapIndex::manifest(&store)?;
    if !manifest.traits.is_empty() {
        println!("\ntraits ({} profiles in the universe):", manifest.universe);
        println!("  {:<32} {:<12} {:>10} {:>10}  values", "name", "kind", "present", "missing");
        for t in &manifest.traits {
            let values = match t.kind {
                TraitKind::Categorical => format!("{} distinct", t.cardinality.unwrap_or(0)),
                _ => match (t.min, t.max) {
                    (Some(lo), Some(hi)) => format!("{lo} .. {hi}"),
                    _ => "-".into(),
                },
            };
            let origin = match (&t.origin.party, &t.origin.provider) {
                (Some(p), Some(v)) => format!("  [{p}, {v}]"),
                (Some(p), None) => format!("  [{p}]"),
                _ => String::new(),
            };
            let kind = format!("{:?}", t.kind).to_lowercase();
            println!(
                "  {:<32} {:<12} {:>10} {:>10}  {values}{origin}",
                t.name, kind, t.present, t.missing
            );
        }
    }
    let mut segments: Vec<String> = std::fs::read_dir(store.path("segments"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    segments.sort();
    if !segments.is_empty() {
        println!("\nsegments: {}", segments.join(", "));
    }
    Ok(())
}
