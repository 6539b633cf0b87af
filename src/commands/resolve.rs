//! `audience resolve SOURCES_DIR`: identity resolution into unified profiles.

use std::path::PathBuf;

use anyhow::Result;

use audience::identity::{quality, resolve, MergeRule, ResolveOptions};

use super::Global;

#[derive(clap::Args)]
pub struct ResolveArgs {
    /// Directory of raw sources (crm, receipts, web_events, ...; see README "Source schemas").
    pub sources: PathBuf,
    /// Build profiles from deterministic links only (for compliance-sensitive uses).
    #[arg(long)]
    pub deterministic_only: bool,
    /// Minimum confidence of a probabilistic link that merges profiles.
    #[arg(long, default_value_t = 0.96)]
    pub min_confidence: f32,
    /// Minimum confidence of a CRM-to-CRM probabilistic link (a merge of two customer records,
    /// two known people, needs stronger evidence than attaching a device).
    #[arg(long, default_value_t = 0.99)]
    pub min_crm_confidence: f32,
    /// Largest cluster, in identifiers; larger merges are refused with a warning.
    #[arg(long, default_value_t = 200)]
    pub max_cluster: usize,
    /// An IP seen with more identifiers (cookies, devices) than this is public and links nothing.
    #[arg(long, default_value_t = 24)]
    pub max_ip_cookies: usize,
    /// Skip the probabilistic (Fellegi-Sunter) dedupe of the CRM records.
    #[arg(long)]
    pub no_crm_dedupe: bool,
    /// Seed of the random steps (u sampling of the CRM dedupe).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the quality against truth by pair of identifier kinds.
    #[arg(long)]
    pub by_kinds: bool,
    /// Country for national phone numbers (ISO alpha-2), overriding sources.toml.
    #[arg(long)]
    pub default_country: Option<String>,
    /// A `truth/` directory to score the identities against (default: SOURCES/truth if present).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ResolveArgs, g: &Global) -> Result<()> {
    let mut store = g.open_store()?;
    let rule = if a.deterministic_only {
        MergeRule::Deterministic
    } else {
        MergeRule::All {
            min_confidence: a.min_confidence,
            min_crm_confidence: a.min_crm_confidence,
        }
    };
    let opts = ResolveOptions {
        rule,
        max_cluster: a.max_cluster,
        max_ip_cookies: a.max_ip_cookies,
        default_country: a.default_country,
        crm_dedupe: !a.no_crm_dedupe,
        seed: a.seed,
    };
    let r = resolve(&mut store, &a.sources, &opts)?;
    let truth = a.truth.or_else(|| Some(a.sources.join("truth")).filter(|p| p.exists()));
    let q = truth.map(|t| quality(&store, &t)).transpose()?;
    if a.json {
        println!("{}", serde_json::json!({"report": r, "quality": q}));
        return Ok(());
    }
    if r.refused_unions > 0 {
        g.note(format!(
            "warning: {} merges were refused because a profile would exceed {} identifiers",
            r.refused_unions, a.max_cluster
        ));
    }
    println!(
        "resolved {} identifiers into {} profiles in {:.1} s ({} new, {} aliases)",
        r.identifiers, r.profiles, r.secs, r.new_profiles, r.aliases
    );
    let links: Vec<String> = r.links.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("links: {}", links.join(", "));
    for n in &r.crm.notes {
        g.note(format!("CRM dedupe: {n}"));
    }
    if let Some(why) = &r.crm.skipped {
        println!("CRM dedupe skipped ({} records): {why}", r.crm.records);
    } else if r.crm.records > 0 {
        println!(
            "CRM dedupe (Fellegi-Sunter on {}): {} records, {} pairs compared, {} links ({} at \
             >= 0.9) in {:.1} s",
            r.crm.fields.join(", "),
            r.crm.records,
            r.crm.blocked_pairs,
            r.crm.links,
            r.crm.links_90,
            r.crm.secs
        );
        let s = r.crm.stage_secs;
        println!(
            "  linkage stages: prepare {:.1} s, block {:.1} s, compare {:.1} s, train {:.1} s, \
             score {:.1} s",
            s[0], s[1], s[2], s[3], s[4]
        );
    }
    let stages: Vec<String> = r.stage_secs.iter().map(|(k, v)| format!("{k} {v:.1}")).collect();
    println!("seconds by stage: {}", stages.join(", "));
    let x = &r.cross_device;
    println!(
        "cross-device: {} shared IPs, {} candidate pairs ({} labelled by deterministic links, {} \
         same person), {} links ({} at >= 0.9); {} unions refused between known people",
        x.shared_ips,
        x.candidate_pairs,
        x.labelled_pairs,
        x.labelled_same,
        x.links,
        x.links_90,
        r.refused_cross_device
    );
    let o = &r.orders;
    if o.orders > 0 {
        println!(
            "order matching: {} online orders, {} web purchases, {} orders with a candidate; {} \
             links met in several orders, {} single-order links",
            o.orders, o.purchases, o.orders_with_candidates, o.links_repeated, o.links_single
        );
        if o.clock_offset_secs != 0 {
            println!(
                "  the receipts' clock differs from the web's: orders shifted by {:+} s (the \
                 shift under which the most orders find their web purchase)",
                o.clock_offset_secs
            );
        }
        if !o.categories_compared {
            println!(
                "  categories ignored: fewer than half the orders' categories appear on a web \
                 purchase (map the receipts' `category` role in sources.toml to the web's names)"
            );
        }
    }
    if !r.hubs_cut.is_empty() || r.public_ips > 0 {
        let hubs: Vec<String> = r.hubs_cut.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!(
            "guards: shared identifiers cut: {}; public IPs skipped: {}",
            hubs.join(", "),
            r.public_ips
        );
    }
    let o = &r.onboarding;
    println!(
        "onboarding: {} of {} CRM records matched to a digital identity ({:.1}%)",
        o.matched,
        o.crm_records,
        100.0 * o.match_rate
    );
    for (k, v) in &o.by_match_type {
        println!("  via {k}: {v}");
    }
    if let Some(r) = audience::identity::contact_store::ContactReader::open(&store)? {
        println!(
            "contact table: {} profiles with identifiers hashed for export (identity/contacts.bin)",
            r.index.profiles
        );
    }
    if let Some(q) = q {
        println!(
            "quality against truth ({} identifiers): pairwise precision {:.4}, recall {:.4}, F1 {:.4}",
            q.identifiers, q.precision, q.recall, q.f1
        );
        if q.unseen > 0 {
            println!("  {} identifiers of the truth appear in no source", q.unseen);
        }
        println!(
            "  {} identifiers have evidence (a link of any rule or a shared IP); recall among \
             them {:.4}",
            q.with_evidence, q.recall_with_evidence
        );
        if a.by_kinds {
            println!("  {:<30} {:>12} {:>9} {:>9}", "kinds", "true pairs", "recall", "precision");
            for (k, c) in &q.by_kinds {
                let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
                println!(
                    "  {:<30} {:>12} {:>9.4} {:>9.4}",
                    k,
                    c.actual,
                    ratio(c.correct, c.actual),
                    ratio(c.correct, c.predicted)
                );
            }
        }
    }
    Ok(())
}
