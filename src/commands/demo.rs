//! `audience demo`: the product's showcase. Generates a synthetic world and runs every stage on
//! it, printing what each one gives. It must always run green.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use audience::generate::{generate, Format, Options};
use audience::identity::{quality, resolve, ResolveOptions};
use audience::import::{import, ImportOptions};
use audience::index::BitmapIndex;
use audience::store::Store;

use super::Global;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// People in the generated world.
    #[arg(long, default_value_t = 100_000)]
    pub people: u64,
    /// Seed of the world and of every model.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Working directory (default: a new directory under the system's temp dir). It is kept, so
    /// the world and the stores can be explored afterwards with --store.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

fn stage(name: &str) -> Instant {
    println!("\n== {name}");
    Instant::now()
}

pub fn run(a: DemoArgs, g: &Global) -> Result<()> {
    let dir = a.dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("audience-demo-{}", std::process::id()))
    });
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let world = dir.join("world");
    println!("audience demo: a synthetic world of {} people in {}", a.people, dir.display());

    let t = stage("generate: the raw sources of a retailer's DMP world");
    let m = generate(&Options {
        people: a.people,
        seed: a.seed,
        out: world.clone(),
        format: Format::Parquet,
        quiet: g.quiet,
    })?;
    for (table, rows) in &m.rows {
        println!("  {table:<28} {rows:>10} rows");
    }
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());

    let t = stage("import: a ready-unified profile table, indexed");
    let imported = dir.join("imported-store");
    let mut istore = Store::init(&imported)?;
    let r = import(
        &mut istore,
        world.join("profiles.parquet"),
        &ImportOptions {
            id: "person_id".into(),
            party: Some("party".into()),
            provider: Some("provider".into()),
            consent: Some("ad_consent".into()),
        },
    )?;
    println!(
        "  {} profiles, {} traits indexed ({:.1} s)",
        r.rows,
        r.traits,
        t.elapsed().as_secs_f64()
    );
    let manifest = BitmapIndex::manifest(&istore)?;
    for tm in manifest.traits.iter().take(12) {
        println!(
            "  {:<24} {:<12} present {:>8}  missing {:>8}",
            tm.name,
            format!("{:?}", tm.kind).to_lowercase(),
            tm.present,
            tm.missing
        );
    }

    let t = stage("resolve: CRM, receipts, web, email, ads, partners and providers into profiles");
    let store_dir = dir.join("store");
    let mut store = Store::init(&store_dir)?;
    let r = resolve(&mut store, &world, &ResolveOptions::default())?;
    println!(
        "  {} identifiers -> {} profiles ({:.1} s)",
        r.identifiers,
        r.profiles,
        t.elapsed().as_secs_f64()
    );
    let o = &r.onboarding;
    println!(
        "  onboarding: {:.1}% of {} CRM records matched to a digital identity",
        100.0 * o.match_rate,
        o.crm_records
    );
    let q = quality(&store, &world.join("truth"))?;
    println!(
        "  identity quality against truth: pairwise precision {:.4}, recall {:.4}",
        q.precision, q.recall
    );

    println!("\ndone: explore with `audience --store {} info`", store_dir.display());
    Ok(())
}
