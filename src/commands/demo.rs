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
        "  identity quality against truth: pairwise precision {:.4}, recall {:.4} (among \
         identifiers with evidence: {:.4})",
        q.precision, q.recall, q.recall_with_evidence
    );

    derive_stage(&mut store, &world)?;

    segments_and_models(&mut istore, &world, a.seed)?;
    export_expanded(&mut istore, &world)?;
    behaviour_models(&dir, &world, a.seed, g.quiet)?;

    println!(
        "\ndone: explore with `audience --store {} info` (resolved), `audience --store {} info` \
         (imported) or `audience --store {} info` (CRM customers with derived traits)",
        store_dir.display(),
        imported.display(),
        dir.join("derived-store").display()
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
    let contacts = contact_store::build_from(world, None, rows)?;
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

/// The shipped specs, built in so the demo runs from anywhere.
const LOOKALIKE_SPEC: &str = include_str!("../../models/lookalike.toml");
const ACTALIKE_SPEC: &str = include_str!("../../models/actalike.toml");

/// The customers (CRM customer ids, the derived store's profiles) whose person converts.
fn converting_customers(
    store: &Store,
    world: &std::path::Path,
) -> Result<(roaring::RoaringBitmap, std::collections::HashMap<String, bool>)> {
    let truth = world.join("truth");
    let persons =
        read_text_columns(&truth.join("persons.parquet"), &["person_id", "converts"], &[])?;
    let converts: std::collections::HashMap<String, bool> = persons[0]
        .iter()
        .zip(&persons[1])
        .filter_map(|(p, c)| Some((p.clone()?, c.as_deref() == Some("true"))))
        .collect();
    let ids = read_text_columns(
        &truth.join("identifiers.parquet"),
        &["kind", "value", "person_id"],
        &[],
    )?;
    let idmap = audience::idmap::IdMap::load(store)?;
    let mut customers = roaring::RoaringBitmap::new();
    let mut by_cookie = std::collections::HashMap::new();
    for ((k, v), p) in ids[0].iter().zip(&ids[1]).zip(&ids[2]) {
        let (Some(k), Some(v), Some(p)) = (k, v, p) else { continue };
        let conv = converts.get(p).copied().unwrap_or(false);
        match k.as_str() {
            "customer_id" if conv => {
                if let Some(pid) = idmap.get(v) {
                    customers.insert(pid);
                }
            }
            "cookie" => {
                by_cookie.insert(v.clone(), conv);
            }
            _ => {}
        }
    }
    Ok((customers, by_cookie))
}

/// Precision of a model's top `reach` of `candidates` against `hidden`, and the random
/// precision (hidden's share of the candidates).
fn precision_at_reach(
    store: &Store,
    model: &str,
    candidates: &roaring::RoaringBitmap,
    hidden: &roaring::RoaringBitmap,
    reach: f64,
) -> Result<(f64, f64)> {
    let (_, stored) = audience::lookalike::load(store, model)?;
    let (pids, scores) = audience::lookalike::score_profiles(store, &stored)?;
    let mut ranked: Vec<(u32, f32)> =
        pids.into_iter().zip(scores).filter(|(p, _)| candidates.contains(*p)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let k = ((reach * ranked.len() as f64).round() as usize).max(1);
    let hits = ranked[..k].iter().filter(|(p, _)| hidden.contains(*p)).count();
    let random = hidden.intersection_len(candidates) as f64 / candidates.len().max(1) as f64;
    Ok((hits as f64 / k as f64, random))
}

/// The behavioural side, on a store of CRM customers with traits derived from the raw sources:
/// a look-alike (who they are) and an act-alike (what they do) on a seed of converters, each
/// measured against the planted conversion label; the provider audit; batch scoring of the
/// world's cookies from their raw events, checked against truth.
fn behaviour_models(
    dir: &std::path::Path,
    world: &std::path::Path,
    seed: u64,
    quiet: bool,
) -> Result<()> {
    use audience::features::ViewSpec;
    use audience::lookalike::{train_with, TrainOptions};

    let t = stage("derive: CRM customers as profiles, traits from the raw sources");
    let mut store = Store::init(dir.join("derived-store"))?;
    let r = import(
        &mut store,
        world.join("crm.parquet"),
        &ImportOptions { id: "customer_id".into(), party: None, provider: None, consent: None },
    )?;
    let d =
        audience::derive::derive(&mut store, world, &audience::derive::DeriveOptions::default())?;
    save_provider_cpms(&store, &world.join("providers.parquet"))?;
    println!(
        "  {} customer profiles, {} derived traits from {} events ({:.1} s)",
        r.rows,
        d.record.traits.len(),
        d.events,
        t.elapsed().as_secs_f64()
    );

    let t = stage("look-alike and act-alike: seed = half of the converting customers");
    let (converters, cookie_converts) = converting_customers(&store, world)?;
    let seed_set: roaring::RoaringBitmap =
        converters.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, p)| p).collect();
    let hidden = &converters - &seed_set;
    let now = audience::store::now_iso();
    let meta = segment::SegmentMeta {
        name: "converting_customers".into(),
        definition: "@list(truth converters among CRM customers, every other one)".into(),
        description: Some("a list of customers known to convert (half of them)".into()),
        size: seed_set.len(),
        size_by_party: Default::default(),
        created: now.clone(),
        updated: now,
        lineage: segment::Lineage::default(),
        data_version: store.meta().updated.clone(),
        checksum: String::new(),
    };
    segment::save(&store, &meta, &seed_set)?;
    let index = BitmapIndex::open(&store, None)?;
    let candidates = &index.universe - &seed_set;
    for (name, spec, what) in [
        ("lookalike", ViewSpec::parse(LOOKALIKE_SPEC, "models/lookalike.toml")?, "who they are"),
        ("actalike", ViewSpec::parse(ACTALIKE_SPEC, "models/actalike.toml")?, "what they do"),
    ] {
        let opts = TrainOptions { pool: None, method: Method::Ensemble, seed, spec: Some(spec) };
        let card = train_with(&mut store, name, "converting_customers", &opts)?;
        let (p, random) = precision_at_reach(&store, name, &candidates, &hidden, 0.05)?;
        println!(
            "  {name:<9} ({what}, {} features): hold-out AUC {:.3}; against truth, precision at \
             reach 5% {:.1}% vs {:.1}% random ({:.2}x)",
            card.features.len(),
            card.evaluation.as_ref().map_or(f64::NAN, |e| e.auc),
            100.0 * p,
            100.0 * random,
            p / random.max(1e-9)
        );
    }
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());

    let t =
        stage("audit-providers: match, fill, accuracy against 1st-party truth, cost, lift share");
    let report = audience::audit::audit_providers(&store, Some("lookalike"))?;
    for line in audience::audit::render(&report).lines() {
        println!("  {line}");
    }
    let planted =
        read_text_columns(&world.join("truth/providers.parquet"), &["provider", "accuracy"], &[])?;
    let mut truth: Vec<(String, f64)> = planted[0]
        .iter()
        .zip(&planted[1])
        .filter_map(|(p, a)| Some((p.clone()?, a.as_deref()?.parse().ok()?)))
        .collect();
    truth.sort_by(|a, b| b.1.total_cmp(&a.1));
    let found: Vec<&str> = report.providers.iter().map(|p| p.provider.as_str()).collect();
    let want: Vec<&str> = truth.iter().map(|p| p.0.as_str()).collect();
    println!(
        "  planted accuracy order {want:?}: {}",
        if found == want { "ranked correctly" } else { "RANKED DIFFERENTLY" }
    );
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());

    let t = stage("score: batch scoring of the world's cookies from their raw events (act-alike)");
    let (_, stored) = audience::lookalike::load(&store, "actalike")?;
    let input = audience::score::ScoreInput::Events {
        dir: world.to_path_buf(),
        derive: audience::derive::DeriveOptions::default(),
    };
    let s = audience::score::score_new(&stored, &input, None, quiet)?;
    let out = dir.join("cookie_scores.parquet");
    audience::score::write_scores(&out, &s, "cookie")?;
    let (mut n, mut conv, mut q, mut qconv) = (0usize, 0usize, 0usize, 0usize);
    for (id, sc) in s.ids.iter().zip(&s.scores) {
        let Some(&c) = cookie_converts.get(id) else { continue };
        n += 1;
        conv += c as usize;
        if *sc >= s.threshold {
            q += 1;
            qconv += c as usize;
        }
    }
    let base = conv as f64 / n.max(1) as f64;
    let prec = qconv as f64 / q.max(1) as f64;
    // The model's threshold comes from customers, whose purchases new cookies do not show, so
    // few cookies reach it; the top 5% of the cookies themselves is the other way to cut.
    let mut ranked: Vec<(f32, bool)> = s
        .ids
        .iter()
        .zip(&s.scores)
        .filter_map(|(id, sc)| cookie_converts.get(id).map(|c| (*sc, *c)))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = (ranked.len() / 20).max(1);
    let top_prec =
        ranked[..top.min(ranked.len())].iter().filter(|r| r.1).count() as f64 / top as f64;
    println!(
        "  {} cookies scored in {:.2} s after {:.2} s deriving their traits; {} qualify \
         (score >= {:.4}); wrote {}",
        s.ids.len(),
        s.score_secs,
        s.prepare_secs,
        s.qualifying,
        s.threshold,
        out.display()
    );
    println!(
        "  quality against truth: {:.1}% of qualifying cookies belong to a converter vs {:.1}% of \
         all cookies ({:.2}x random)",
        100.0 * prec,
        100.0 * base,
        prec / base.max(1e-9)
    );
    println!(
        "  top 5% of the scored cookies: {:.1}% belong to a converter ({:.2}x random)",
        100.0 * top_prec,
        top_prec / base.max(1e-9)
    );
    println!("  ({:.1} s)", t.elapsed().as_secs_f64());
    Ok(())
}
