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
    #[arg(long, default_value_t = 0.9)]
    pub min_confidence: f32,
    /// Largest cluster, in identifiers; larger merges are refused with a warning.
    #[arg(long, default_value_t = 200)]
    pub max_cluster: usize,
    /// An IP seen with more cookies than this is public and links nothing.
    #[arg(long, default_value_t = 8)]
    pub max_ip_cookies: usize,
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
        MergeRule::All { min_confidence: a.min_confidence }
    };
    let opts = ResolveOptions {
        rule,
        max_cluster: a.max_cluster,
        max_ip_cookies: a.max_ip_cookies,
        default_country: a.default_country,
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
    }
    Ok(())
}
