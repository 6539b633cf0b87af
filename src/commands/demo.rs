//! `audience demo`: the product's showcase. Generates a synthetic world and runs every stage on
//! it, printing what each one gives. It must always run green.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use audience::derive::{derive, DeriveOptions};
use audience::generate::{generate, Format, Options};
use audience::identity::{quality, resolve, ResolveOptions};
use audience::import::{import, ImportOptions};
use audience::index::BitmapIndex;
use audience::lookalike::{expand, save_provider_cpms, train, ExpandOptions, Reach};
use audience::model::Method;
use audience::segment;
use audience::store::Store;
use audience::table::read_text_columns;

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

    derive_stage(&mut store, &world)?;

    segments_and_models(&mut istore, &world, a.seed)?;
    export_expanded(&mut istore, &world)?;

    println!(
        "\ndone: explore with `audience --store {} info` (resolved) or `audience --store {} info` \
         (imported)",
        store_dir.display(),
        imported.display()
    );
    Ok(())
}

/// Traits derived from the raw events onto the resolved profiles, with a few of them shown.
fn derive_stage(store: &mut Store, world: &std::path::Path) -> Result<()> {
    let t =
        stage("derive: purchase, behaviour, engagement and provider traits per resolved profile");
    let r = derive(store, world, &DeriveOptions::default())?;
    println!(
        "  {} events -> {} traits on {} profiles, as of {} ({:.1} s)",
        r.events,
        r.record.traits.len(),
        r.profiles,
        r.record.as_of,
        t.elapsed().as_secs_f64()
    );
    let manifest = BitmapIndex::manifest(store)?;
    for name in [
        "purchase.frequency_90d",
        "purchase.monetary_365d",
        "purchase.recency_days",
        "web.sessions_30d",
        "email.click_rate",
        "ad.ctr",
        "cookies.count",
        "channel.online_share",
    ] {
        if let Some(tm) = manifest.get(name) {
            println!(
                "  {:<24} present {:>8}  {}..{}",
                tm.name,
                tm.present,
                tm.min.map_or("-".into(), |x| format!("{x}")),
                tm.max.map_or("-".into(), |x| format!("{x}"))
            );
        }
    }
    let q = "purchase.frequency_90d >= 2 and web.sessions_30d >= 1";
    let (n, ms) = segment::count(store, q)?;
    println!("  count `{q}`: {n} in {ms:.3} ms");
    Ok(())
}

/// Segments, overlap, clusters, a look-alike and its expansion, on the imported store (whose ids
/// are the world's person ids, so results can be checked against `truth/persons`).
fn segments_and_models(store: &mut Store, world: &std::path::Path, seed: u64) -> Result<()> {
    let t = stage("segments: expressions over the bitmap index");
    let defs = [
        ("buyers", "purchases_365d >= 3"),
        ("engaged", "email_opens_90d >= 2 or web_sessions_90d >= 3"),
        ("young_fr", "country = \"FR\" and age between 18 and 34"),
        ("bought_data", "party(third) and consent(ads)"),
    ];
    for (name, def) in defs {
        let m = segment::create(store, name, def, None)?;
        println!("  {name:<12} {:>8} profiles   {def}", m.size);
    }
    let q = r#"segment("buyers") and segment("engaged") and not segment("young_fr")"#;
    let (n, ms) = segment::count(store, q)?;
    println!("  count `{q}`: {n} in {ms:.3} ms");
    let loaded: Vec<(String, roaring::RoaringBitmap)> = ["buyers", "engaged", "young_fr"]
        .iter()
        .map(|n| Ok((n.to_string(), segment::load(store, n)?.pids)))
        .collect::<Result<_>>()?;
    let refs: Vec<(&str, &roaring::RoaringBitmap)> =
        loaded.iter().map(|(n, b)| (n.as_str(), b)).collect();
    let o = segment::overlap(&refs);
    for p in &o.pairs {
        println!(
            "  overlap {:<9} x {:<9} {:>7}  Jaccard {:.3}",
            p.a, p.b, p.intersection, p.jaccard
        );
    }
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());

    let t = stage("cluster: k-means auto-segmentation with lift reports");
    let (pids, fm) = audience::lookalike::profile_matrix(store)?;
    let p = linfa::ParamGuard::check(audience::cluster::params(5, 50, seed))?;
    let clusters = audience::cluster::fit(&p, fm.x.view())?;
    let index = BitmapIndex::open(store, None)?;
    let mut members = vec![roaring::RoaringBitmap::new(); 5];
    for (pid, l) in pids.iter().zip(&clusters.labels) {
        members[*l as usize].insert(*pid);
    }
    for (i, m) in members.iter().enumerate() {
        let top = audience::lift::distinctive(&index, m, &index.universe, 0.05, 2);
        let desc: Vec<String> = top.iter().map(|l| l.to_string()).collect();
        println!("  cluster {i}: {:>6} profiles; {}", m.len(), desc.join("; "));
    }
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());

    let t = stage(
        "look-alike: seed = half of the known converters; expand into 2nd/3rd party under 50 EUR",
    );
    let truth =
        read_text_columns(&world.join("truth/persons.parquet"), &["person_id", "converts"], &[])?;
    let idmap = audience::idmap::IdMap::load(store)?;
    let mut converters = roaring::RoaringBitmap::new();
    for (id, c) in truth[0].iter().zip(&truth[1]) {
        if let (Some(id), Some("true")) = (id, c.as_deref()) {
            if let Some(pid) = idmap.get(id) {
                converters.insert(pid);
            }
        }
    }
    let seed_set: roaring::RoaringBitmap =
        converters.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, p)| p).collect();
    let hidden = &converters - &seed_set;
    let now = audience::store::now_iso();
    let meta = segment::SegmentMeta {
        name: "seed_converters".into(),
        definition: "@list(truth converters, every other one)".into(),
        description: Some("an advertiser's list of known converters (half of them)".into()),
        size: seed_set.len(),
        size_by_party: segment::size_by_party(store, &seed_set)?,
        created: now.clone(),
        updated: now,
        lineage: segment::Lineage::default(),
        data_version: store.meta().updated.clone(),
        checksum: String::new(),
    };
    segment::save(store, &meta, &seed_set)?;
    save_provider_cpms(store, &world.join("providers.parquet"))?;
    let card = train(store, "lal_converters", "seed_converters", None, Method::Ensemble, seed)?;
    if let Some(e) = &card.evaluation {
        println!(
            "  trained on {} seed members: hold-out AUC {:.3}, lift@10% {:.2}",
            card.counts.seed, e.auc, e.lift_at_10
        );
    }
    let opts = ExpandOptions {
        parties: vec!["second".into(), "third".into()],
        max_cost: Some(50.0),
        cpm: audience::lookalike::provider_cpms(store)?,
        ..Default::default()
    };
    let r = expand(store, "lal_converters", Reach::Share(0.05), &opts, "lal_converters_5pct")?;
    println!(
        "  expanded: {} of {} candidates, {:.2} EUR, by party {:?}",
        r.size, r.candidates, r.cost_eur, r.by_party
    );
    let chosen = segment::load(store, "lal_converters_5pct")?.pids;
    let consented = index.get("consent.ads")?.equals("true");
    let party = index.get("party")?;
    let drawn = party.equals("second") | party.equals("third");
    let candidates = &(&(&index.universe - &seed_set) & &consented) & &drawn;
    let candidates_converting =
        hidden.intersection_len(&candidates) as f64 / candidates.len().max(1) as f64;
    let precision = chosen.intersection_len(&hidden) as f64 / chosen.len().max(1) as f64;
    println!(
        "  quality against truth: {:.1}% of the expanded audience converts vs {:.1}% of the \
         candidates ({:.1}x random)",
        100.0 * precision,
        100.0 * candidates_converting,
        precision / candidates_converting.max(1e-9)
    );
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());
    Ok(())
}

/// Exports the expanded audience of the look-alike step to every destination. The imported store
/// has no raw PII, so its contact table is built the way `resolve` builds one: from the world's
/// raw CRM, reached through the profile table's identifier table (the world's
/// `truth/identifiers`: customer ids, hashed emails and phones, cookies, MAIDs per person id).
fn export_expanded(store: &mut Store, world: &std::path::Path) -> Result<()> {
    use audience::export::{export_segment, Destination, ExportOptions, STORE_CONSENT_RULE};
    use audience::identity::contact_store;
    let t = stage("export: the expanded audience to Google, Meta, a DSP and LiveRamp");
    let idmap = audience::idmap::IdMap::load(store)?;
    let truth = audience::table::find_source(&world.join("truth"), "identifiers")
        .context("the world has no truth/identifiers table")?;
    let cols = read_text_columns(&truth, &["kind", "value", "person_id"], &[])?;
    let rows: Vec<(u32, String, String)> = cols[0]
        .iter()
        .zip(&cols[1])
        .zip(&cols[2])
        .filter_map(|((k, v), p)| Some((idmap.get(p.as_deref()?)?, k.clone()?, v.clone()?)))
        .collect();
    let contacts = contact_store::build_from(world, None, &rows)?;
    let index = contact_store::write(store, contacts)?;
    println!(
        "  contact table: {} profiles hashed for every destination (no raw PII stored)",
        index.profiles
    );
    // What an advertiser activates: the expansion alone (2nd/3rd-party profiles, known by
    // cookies), and the seed with its expansion (1st-party converters carry emails and phones).
    segment::create(
        store,
        "lal_converters_with_seed",
        r#"segment("lal_converters_5pct") or segment("seed_converters")"#,
        Some("the seed converters and their look-alike expansion".into()),
    )?;
    for audience in ["lal_converters_5pct", "lal_converters_with_seed"] {
        println!("  {audience}:");
        for dest in Destination::ALL {
            let out = store.path("exports").join(audience).join(dest.name());
            let mut opts = ExportOptions::new(audience, &out);
            opts.consent_rule = STORE_CONSENT_RULE.into();
            match export_segment(store, audience, dest, &opts) {
                Ok(m) => {
                    let f = &m.files[0];
                    let ids: Vec<String> =
                        m.identifiers.iter().map(|(k, n)| format!("{k} {n}")).collect();
                    let excluded: Vec<String> = m
                        .excluded
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect();
                    println!(
                        "    {:<9} {} of {} profiles, {} rows, sha256 {}..; {}; excluded: {}",
                        dest.name(),
                        m.records_exported,
                        m.records_read,
                        f.rows,
                        &f.sha256[..12],
                        ids.join(", "),
                        if excluded.is_empty() { "none".into() } else { excluded.join(", ") }
                    );
                }
                Err(e) if e.is_user() => {
                    let msg = e.to_string();
                    let short = msg.split("; the minimum").next().unwrap_or(&msg);
                    println!("    {:<9} refused, under the minimum size: {short}", dest.name());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    println!(
        "  (Google, Meta and LiveRamp need an email, a phone or a MAID; the 2nd/3rd-party \
         profiles of the expansion are known by cookies, which only the DSP takes)"
    );
    println!(
        "  manifests: {}/AUDIENCE/DEST/manifest.json ({:.1} s)",
        store.path("exports").display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
