//! Identity resolution: raw sources into unified profiles, one per person.
//!
//! Owns `audience resolve SOURCES_DIR`:
//! 1. **Identifiers** are read from every source as `(kind, value)` nodes; emails and phones are
//!    normalised ([`crate::normalize`]) and SHA-256 hashed, so no raw PII leaves this module.
//! 2. **Deterministic links**: a CRM record's customer id with its email, phone and loyalty card
//!    (records sharing one meet through it); receipts naming a customer id and a card; logins
//!    (cookie → hashed email); app events (device ↔ cookie); partner cookie syncs.
//! 3. **Over-merging guards**: hub identifiers (a phone or email on more than 3 CRM records, a
//!    device with more than 8 cookies, a cookie logged into more than 2 emails) lose their links.
//! 4. **Probabilistic cross-device links** between cookies seen on one household IP (public IPs,
//!    with more than [`ResolveOptions::max_ip_cookies`] cookies, are skipped): the confidence of
//!    a pair is the share of same-person pairs among the deterministically known pairs with the
//!    same evidence (days seen together on the IP, similarity of browsed categories), so it is
//!    calibrated on the data itself, with no labels.
//! 5. **Clusters** by union-find under a merge rule (deterministic only, or all links above a
//!    confidence), with a size cap. Every link keeps its rule and score in
//!    `identity/links.parquet`, so switching the rule needs no new matching.
//! 6. **Stable pids**: a cluster keeps the smallest pid any of its identifiers had; the others
//!    become aliases (`identity/aliases.json`); new people get new pids.
//! 7. **Outputs**: `identity/identifiers.parquet` (key, kind, pid), links, the onboarding report
//!    (`identity/onboarding.json`: the share of CRM records matched to a digital identity, by
//!    match type), and profile traits (`party`, `consent.ads`, `identity.*`) merged into the
//!    profile table and its index.
//!
//! It does not own the normalisation rules, record linkage of arbitrary files, or behavioural
//! traits (`derive`).

// Sources are read as parallel columns, indexed by row.
#![allow(clippy::needless_range_loop)]

pub mod contact_store;
pub mod graph;
pub mod sources;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::index::Pid;
use crate::normalize::{normalize_email, parse_phone, sha256_hex, EmailRules};
use crate::store::Store;
use crate::table::{read_text_columns, write_parquet, Column, ColumnData};

pub use graph::{Graph, Kind, Link, MergeRule, Rule};
use sources::SourcesConfig;

/// Settings of a resolve run.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Which links build profiles.
    pub rule: MergeRule,
    /// Largest cluster, in identifiers; larger unions are refused with a warning.
    pub max_cluster: usize,
    /// An IP with more cookies than this is public (a café, an office) and links nothing.
    pub max_ip_cookies: usize,
    /// Country for national phone numbers (overrides sources.toml).
    pub default_country: Option<String>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            rule: MergeRule::All { min_confidence: 0.9 },
            max_cluster: 200,
            max_ip_cookies: 8,
            default_country: None,
        }
    }
}

/// The onboarding report: how many CRM records found a digital identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Onboarding {
    /// CRM records read.
    pub crm_records: usize,
    /// Those whose profile holds a cookie, device or partner cookie.
    pub matched: usize,
    /// `matched / crm_records`.
    pub match_rate: f64,
    /// Matched records by the strongest kind of link that reached the digital world.
    pub by_match_type: BTreeMap<String, usize>,
}

/// What a resolve run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResolveReport {
    /// Identifiers (nodes) read.
    pub identifiers: usize,
    /// Links by rule (after the guards).
    pub links: BTreeMap<String, usize>,
    /// Hub identifiers whose links were cut, by kind.
    pub hubs_cut: BTreeMap<String, usize>,
    /// IPs skipped as public.
    pub public_ips: usize,
    /// Unions refused by the cluster-size cap.
    pub refused_unions: usize,
    /// Profiles after resolution.
    pub profiles: usize,
    /// Profiles that got a new pid.
    pub new_profiles: usize,
    /// Old pids merged into another (aliases).
    pub aliases: usize,
    /// The onboarding report.
    pub onboarding: Onboarding,
    /// Seconds spent.
    pub secs: f64,
}

/// Everything read from the sources besides the graph.
#[derive(Debug, Default)]
struct Facts {
    consent: HashMap<u32, bool>,
    providers: HashMap<u32, String>,
    crm_records: Vec<u32>,
    partner_nodes: HashSet<u32>,
    public_ips: usize,
}

fn email_key(raw: &str, rules: EmailRules) -> Option<String> {
    normalize_email(raw, rules).ok().map(|e| sha256_hex(&e))
}

/// Reads the sources of `dir` into the identity graph.
fn build_graph(dir: &Path, cfg: &SourcesConfig, opts: &ResolveOptions) -> Result<(Graph, Facts)> {
    let mut g = Graph::default();
    let mut facts = Facts::default();
    let col = |s: &'static str, r: &'static str| cfg.column(s, r).to_string();
    let default_country = opts.default_country.clone().or_else(|| cfg.default_country.clone());

    let crm = cfg.file(dir, "crm").ok_or_else(|| {
        Error::user(format!(
            "{}: no crm source (crm.parquet, crm.csv or crm.csv.gz); name the file in sources.toml \
             under [crm] file = \"...\"",
            dir.display()
        ))
    })?;
    let names = ["customer_id", "email", "phone", "loyalty_card", "country", "ad_consent"]
        .map(|r| col("crm", r));
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let c = read_text_columns(&crm, &refs, &refs[1..])?;
    for i in 0..c[0].len() {
        let Some(id) = &c[0][i] else {
            return Err(Error::user(format!(
                "{}: row {}: empty customer id (column `{}`); every CRM record needs one",
                crm.display(),
                i + 1,
                names[0]
            )));
        };
        let node = g.node(Kind::CustomerId, id);
        facts.crm_records.push(node);
        if let Some(e) = &c[1][i] {
            for (kind, rules) in
                [(Kind::Email, EmailRules::PLAIN), (Kind::EmailCanon, EmailRules::IDENTITY)]
            {
                if let Some(h) = email_key(e, rules) {
                    let n = g.node(kind, &h);
                    g.link(node, n, Rule::CrmRecord, 1.0);
                }
            }
        }
        if let Some(p) = &c[2][i] {
            let country = c[4][i].as_deref().or(default_country.as_deref());
            if let Ok(phone) = parse_phone(p, country) {
                let n = g.node(Kind::Phone, &sha256_hex(&phone.e164()));
                g.link(node, n, Rule::CrmRecord, 1.0);
            }
        }
        if let Some(card) = &c[3][i] {
            let n = g.node(Kind::LoyaltyCard, card);
            g.link(node, n, Rule::CrmRecord, 1.0);
        }
        if let Some(v) = &c[5][i] {
            let yes = crate::import::parse_consent(v).unwrap_or(false);
            let e = facts.consent.entry(node).or_insert(yes);
            *e &= yes;
        }
    }

    if let Some(path) = cfg.file(dir, "receipts") {
        let names = [col("receipts", "customer_id"), col("receipts", "loyalty_card")];
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let r = read_text_columns(&path, &refs, &refs)?;
        for (cid, card) in r[0].iter().zip(&r[1]) {
            if let (Some(cid), Some(card)) = (cid, card) {
                let a = g.node(Kind::CustomerId, cid);
                let b = g.node(Kind::LoyaltyCard, card);
                g.link(a, b, Rule::Receipt, 1.0);
            }
        }
    }

    let mut households: HashMap<String, HashMap<u32, HashSet<i64>>> = HashMap::new();
    let mut categories: HashMap<u32, HashMap<String, f32>> = HashMap::new();
    if let Some(path) = cfg.file(dir, "web_events") {
        let names = ["cookie", "device_id", "ip", "email_sha256", "ts", "category"]
            .map(|r| col("web_events", r));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let w = read_text_columns(&path, &refs, &refs[1..])?;
        for i in 0..w[0].len() {
            // A browser event carries a cookie, an app event a device id (or both).
            let cn = w[0][i].as_ref().map(|c| g.node(Kind::Cookie, c));
            let dn = w[1][i].as_ref().map(|d| g.node(Kind::Device, d));
            let Some(node) = cn.or(dn) else { continue };
            if let (Some(cn), Some(dn)) = (cn, dn) {
                g.link(dn, cn, Rule::AppDevice, 1.0);
            }
            if let Some(h) = &w[3][i] {
                let en = g.node(Kind::Email, &h.to_lowercase());
                g.link(node, en, Rule::Login, 1.0);
            }
            if let Some(ip) = &w[2][i] {
                let day =
                    w[4][i].as_deref().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0) / 86_400;
                households.entry(ip.clone()).or_default().entry(node).or_default().insert(day);
            }
            if let Some(cat) = &w[5][i] {
                *categories.entry(node).or_default().entry(cat.clone()).or_default() += 1.0;
            }
        }
    }
    if let Some(path) = cfg.file(dir, "email_events") {
        let name = col("email_events", "email_sha256");
        for h in read_text_columns(&path, &[&name], &[])?.remove(0).into_iter().flatten() {
            g.node(Kind::Email, &h.to_lowercase());
        }
    }
    if let Some(path) = cfg.file(dir, "ad_exposures") {
        let names = [col("ad_exposures", "cookie"), col("ad_exposures", "device_id")];
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let a = read_text_columns(&path, &refs, &refs)?;
        for (cookie, device) in a[0].iter().zip(&a[1]) {
            let cn = cookie.as_ref().map(|c| g.node(Kind::Cookie, c));
            let dn = device.as_ref().map(|d| g.node(Kind::Device, d));
            if let (Some(cn), Some(dn)) = (cn, dn) {
                g.link(dn, cn, Rule::AppDevice, 1.0);
            }
        }
    }
    if let Some(path) = cfg.file(dir, "partner_syncs") {
        let names = [col("partner_syncs", "partner_cookie"), col("partner_syncs", "cookie")];
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let s = read_text_columns(&path, &refs, &[])?;
        for (pc, cookie) in s[0].iter().zip(&s[1]) {
            if let (Some(pc), Some(cookie)) = (pc, cookie) {
                let a = g.node(Kind::PartnerCookie, pc);
                facts.partner_nodes.insert(a);
                let b = g.node(Kind::Cookie, cookie);
                g.link(a, b, Rule::PartnerSync, 1.0);
            }
        }
    }
    if let Some(path) = cfg.file(dir, "partner_events") {
        let name = col("partner_events", "partner_cookie");
        for pc in read_text_columns(&path, &[&name], &[])?.remove(0).into_iter().flatten() {
            let n = g.node(Kind::PartnerCookie, &pc);
            facts.partner_nodes.insert(n);
        }
    }
    read_providers(dir, &mut g, &mut facts)?;

    cross_device(&mut g, &mut facts, households, &categories, opts);
    Ok((g, facts))
}

/// Provider files under `providers/`: each row an id (cookie or MAID) the provider sells.
fn read_providers(dir: &Path, g: &mut Graph, facts: &mut Facts) -> Result<()> {
    let pdir = dir.join("providers");
    let Ok(entries) = std::fs::read_dir(&pdir) else { return Ok(()) };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some(name) =
            [".parquet", ".csv.gz", ".csv"].iter().find_map(|ext| fname.strip_suffix(ext))
        else {
            continue;
        };
        let cols = read_text_columns(&path, &["id_kind", "id"], &[])?;
        for (kind, id) in cols[0].iter().zip(&cols[1]) {
            let (Some(kind), Some(id)) = (kind, id) else { continue };
            let k = if kind.eq_ignore_ascii_case("maid") || kind.eq_ignore_ascii_case("device") {
                Kind::Device
            } else {
                Kind::Cookie
            };
            let n = g.node(k, id);
            facts.providers.entry(n).or_insert_with(|| name.to_string());
        }
    }
    Ok(())
}

fn cosine(a: &HashMap<String, f32>, b: &HashMap<String, f32>) -> f32 {
    let dot: f32 = a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum();
    let na: f32 = a.values().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.values().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Cross-device links between cookies of one household IP, with a confidence calibrated on the
/// pairs whose answer the deterministic links already give.
fn cross_device(
    g: &mut Graph,
    facts: &mut Facts,
    households: HashMap<String, HashMap<u32, HashSet<i64>>>,
    categories: &HashMap<u32, HashMap<String, f32>>,
    opts: &ResolveOptions,
) {
    let (roots, _) = g.clusters(MergeRule::Deterministic, opts.max_cluster);
    let owned: HashSet<u32> = facts.crm_records.iter().map(|&n| roots[n as usize]).collect();
    let empty = HashMap::new();
    // (a, b, bin); bins: shared days (0..=9) x similarity tenths (0..=10).
    let mut pairs: Vec<(u32, u32, usize)> = Vec::new();
    let mut ips: Vec<(&String, &HashMap<u32, HashSet<i64>>)> = households.iter().collect();
    ips.sort_by(|a, b| a.0.cmp(b.0));
    for (_, cookies) in ips {
        if cookies.len() > opts.max_ip_cookies {
            facts.public_ips += 1;
            continue;
        }
        let mut list: Vec<(&u32, &HashSet<i64>)> = cookies.iter().collect();
        list.sort_by_key(|c| *c.0);
        for i in 0..list.len() {
            for j in i + 1..list.len() {
                let (a, da) = list[i];
                let (b, db) = list[j];
                let days = da.intersection(db).count().min(9);
                let sim = cosine(
                    categories.get(a).unwrap_or(&empty),
                    categories.get(b).unwrap_or(&empty),
                );
                let bin = days * 11 + ((sim.clamp(0.0, 1.0) * 10.0) as usize);
                pairs.push((*a, *b, bin));
            }
        }
    }
    let mut pos = vec![0f64; 110];
    let mut tot = vec![0f64; 110];
    for &(a, b, bin) in &pairs {
        let (ra, rb) = (roots[a as usize], roots[b as usize]);
        if owned.contains(&ra) && owned.contains(&rb) {
            tot[bin] += 1.0;
            if ra == rb {
                pos[bin] += 1.0;
            }
        }
    }
    // Each node keeps only its most likely partner, and a link needs both ends to agree
    // (mutual best): one doubtful pair cannot chain two households together.
    let conf = |bin: usize| ((pos[bin] + 1.0) / (tot[bin] + 2.0)) as f32;
    let mut best: HashMap<u32, (f32, u32)> = HashMap::new();
    for &(a, b, bin) in &pairs {
        if roots[a as usize] == roots[b as usize] {
            continue;
        }
        let c = conf(bin);
        for (x, y) in [(a, b), (b, a)] {
            let e = best.entry(x).or_insert((c, y));
            if c > e.0 || (c == e.0 && y < e.1) {
                *e = (c, y);
            }
        }
    }
    for (a, b, bin) in pairs {
        let c = conf(bin);
        let mutual =
            best.get(&a).is_some_and(|e| e.1 == b) && best.get(&b).is_some_and(|e| e.1 == a);
        if mutual && c >= 0.5 {
            g.link(a, b, Rule::CrossDevice, c);
        }
    }
}

/// Resolves the sources in `dir` into the store; see the module docs.
pub fn resolve(store: &mut Store, dir: &Path, opts: &ResolveOptions) -> Result<ResolveReport> {
    let t0 = Instant::now();
    let cfg = SourcesConfig::load(dir)?;
    let (mut g, facts) = build_graph(dir, &cfg, opts)?;
    let mut report = ResolveReport { public_ips: facts.public_ips, ..Default::default() };
    for (hub, other, max) in [
        (Kind::Phone, Kind::CustomerId, 3),
        (Kind::Email, Kind::CustomerId, 3),
        (Kind::EmailCanon, Kind::CustomerId, 3),
        (Kind::LoyaltyCard, Kind::CustomerId, 3),
        (Kind::Device, Kind::Cookie, 8),
        (Kind::Cookie, Kind::Email, 2),
    ] {
        let cut = g.cut_hubs(hub, other, max);
        if cut > 0 {
            *report.hubs_cut.entry(hub.name().to_string()).or_default() += cut;
        }
    }
    for l in &g.links {
        *report.links.entry(format!("{:?}", l.rule)).or_default() += 1;
    }
    report.identifiers = g.nodes.len();
    let (roots, refused) = g.clusters(opts.rule, opts.max_cluster);
    report.refused_unions = refused;

    // Stable pids: previous identifiers and imported customer ids keep theirs.
    let mut idmap = IdMap::load(store)?;
    let previous = previous_pids(store)?;
    let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (n, &r) in roots.iter().enumerate() {
        members.entry(r).or_default().push(n as u32);
    }
    let mut pid_of_root: HashMap<u32, Pid> = HashMap::new();
    let mut used: HashSet<Pid> = HashSet::new();
    let mut aliases: BTreeMap<Pid, Pid> = BTreeMap::new();
    for (&root, nodes) in &members {
        let mut old: Vec<Pid> = nodes
            .iter()
            .filter_map(|&n| {
                let (kind, value) = &g.nodes[n as usize];
                previous
                    .get(&g.key(n))
                    .copied()
                    .or_else(|| (*kind == Kind::CustomerId).then(|| idmap.get(value)).flatten())
            })
            .collect();
        old.sort_unstable();
        old.dedup();
        let pid = match old.iter().find(|p| !used.contains(p)) {
            Some(&p) => p,
            None => {
                report.new_profiles += 1;
                let primary = nodes
                    .iter()
                    .find(|&&n| g.nodes[n as usize].0 == Kind::CustomerId)
                    .map(|&n| g.nodes[n as usize].1.clone())
                    .unwrap_or_else(|| g.key(nodes[0]));
                let mut id = primary.clone();
                let mut k = 1;
                while idmap.get(&id).is_some() {
                    k += 1;
                    id = format!("{primary}#{k}");
                }
                idmap.get_or_insert(&id)?
            }
        };
        for &o in &old {
            if o != pid && !used.contains(&o) {
                aliases.insert(o, pid);
            }
        }
        used.insert(pid);
        pid_of_root.insert(root, pid);
    }
    report.aliases = aliases.len();
    report.profiles = members.len();
    report.onboarding = onboarding(&g, &roots, &facts);

    // Tables: identifiers, links, profile traits.
    let pid_of = |n: u32| pid_of_root[&roots[n as usize]];
    let id_cols = vec![
        Column {
            name: "key".into(),
            data: ColumnData::Str((0..g.nodes.len() as u32).map(|n| Some(g.key(n))).collect()),
        },
        Column {
            name: "kind".into(),
            data: ColumnData::Str(
                g.nodes.iter().map(|(k, _)| Some(k.name().to_string())).collect(),
            ),
        },
        Column {
            name: "pid".into(),
            data: ColumnData::Int(
                (0..g.nodes.len() as u32).map(|n| Some(i64::from(pid_of(n)))).collect(),
            ),
        },
    ];
    let link_cols = vec![
        Column {
            name: "a".into(),
            data: ColumnData::Str(g.links.iter().map(|l| Some(g.key(l.a))).collect()),
        },
        Column {
            name: "b".into(),
            data: ColumnData::Str(g.links.iter().map(|l| Some(g.key(l.b))).collect()),
        },
        Column {
            name: "rule".into(),
            data: ColumnData::Str(g.links.iter().map(|l| Some(format!("{:?}", l.rule))).collect()),
        },
        Column {
            name: "score".into(),
            data: ColumnData::Float(g.links.iter().map(|l| Some(f64::from(l.score))).collect()),
        },
    ];
    let (pids, traits) = profile_traits(&g, &members, &pid_of_root, &facts);

    idmap.save(store)?;
    write_parquet(store.path("identity/identifiers.parquet"), &id_cols)?;
    write_parquet(store.path("identity/links.parquet"), &link_cols)?;
    store.write_json("identity/aliases.json", &aliases)?;
    store.write_json("identity/onboarding.json", &report.onboarding)?;
    crate::import::merge_traits(store, "resolve", &pids, traits, &HashMap::new())?;
    if let Some(path) = crate::table::find_source(dir, "providers") {
        crate::lookalike::save_provider_cpms(store, &path)?;
    }
    contact_store::after_resolve(store, dir, opts.default_country.as_deref())?;
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// `key → pid` of the previous run.
fn previous_pids(store: &Store) -> Result<HashMap<String, Pid>> {
    let path = store.path("identity/identifiers.parquet");
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let cols = read_text_columns(&path, &["key", "pid"], &[])?;
    Ok(cols[0]
        .iter()
        .zip(&cols[1])
        .filter_map(|(k, p)| Some((k.clone()?, p.as_ref()?.parse().ok()?)))
        .collect())
}

fn onboarding(g: &Graph, roots: &[u32], facts: &Facts) -> Onboarding {
    // The kinds of link inside each cluster that reach the digital world.
    let mut reach: HashMap<u32, Rule> = HashMap::new();
    for l in &g.links {
        let (ka, kb) = (g.nodes[l.a as usize].0, g.nodes[l.b as usize].0);
        let r = roots[l.a as usize];
        if roots[l.b as usize] == r && (ka.is_digital() || kb.is_digital()) {
            let e = reach.entry(r).or_insert(l.rule);
            if l.rule < *e {
                *e = l.rule;
            }
        }
    }
    let mut o = Onboarding { crm_records: facts.crm_records.len(), ..Default::default() };
    for &n in &facts.crm_records {
        if let Some(rule) = reach.get(&roots[n as usize]) {
            o.matched += 1;
            *o.by_match_type.entry(format!("{rule:?}")).or_default() += 1;
        }
    }
    o.match_rate = o.matched as f64 / o.crm_records.max(1) as f64;
    o
}

/// Per-profile identity traits: party, provider, consent and identifier counts.
fn profile_traits(
    g: &Graph,
    members: &BTreeMap<u32, Vec<u32>>,
    pid_of_root: &HashMap<u32, Pid>,
    facts: &Facts,
) -> (Vec<Pid>, Vec<Column>) {
    let mut pids = Vec::with_capacity(members.len());
    let (mut party, mut provider, mut consent) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts: BTreeMap<&str, Vec<Option<i64>>> = BTreeMap::new();
    for (root, nodes) in members {
        pids.push(pid_of_root[root]);
        let kinds: Vec<Kind> = nodes.iter().map(|&n| g.nodes[n as usize].0).collect();
        let count = |k: Kind| kinds.iter().filter(|&&x| x == k).count() as i64;
        let first = count(Kind::CustomerId) + count(Kind::LoyaltyCard) + count(Kind::Email) > 0
            || nodes.iter().any(|&n| {
                g.nodes[n as usize].0.is_digital()
                    && !facts.partner_nodes.contains(&n)
                    && !facts.providers.contains_key(&n)
            });
        let second = nodes.iter().any(|n| facts.partner_nodes.contains(n));
        party.push(Some(
            if first {
                "first"
            } else if second {
                "second"
            } else {
                "third"
            }
            .to_string(),
        ));
        provider.push(nodes.iter().filter_map(|n| facts.providers.get(n)).min().cloned());
        let c: Vec<bool> = nodes.iter().filter_map(|n| facts.consent.get(n).copied()).collect();
        consent.push((!c.is_empty()).then(|| c.iter().all(|&x| x)));
        for (name, kind) in [
            ("identity.crm_records", Kind::CustomerId),
            ("identity.cookies", Kind::Cookie),
            ("identity.devices", Kind::Device),
            ("identity.emails", Kind::Email),
        ] {
            counts.entry(name).or_default().push(Some(count(kind)));
        }
    }
    let mut cols = vec![
        Column { name: crate::import::PARTY_TRAIT.into(), data: ColumnData::Str(party) },
        Column { name: crate::import::PROVIDER_TRAIT.into(), data: ColumnData::Str(provider) },
        Column { name: crate::import::CONSENT_TRAIT.into(), data: ColumnData::Bool(consent) },
    ];
    cols.extend(
        counts.into_iter().map(|(n, v)| Column { name: n.into(), data: ColumnData::Int(v) }),
    );
    (pids, cols)
}

/// Pairwise quality of the clusters against `truth/identifiers` (kind, value, person_id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quality {
    /// Identifiers found in both the graph and the truth.
    pub identifiers: usize,
    /// Share of predicted same-person pairs that are right.
    pub precision: f64,
    /// Share of true same-person pairs that were found.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

/// Compares the store's resolved identities with a generated world's `truth/identifiers`.
pub fn quality(store: &Store, truth_dir: &Path) -> Result<Quality> {
    let truth = crate::table::find_source(truth_dir, "identifiers").ok_or_else(|| {
        Error::user(format!(
            "{}: no identifiers table; is this a generated world?",
            truth_dir.display()
        ))
    })?;
    let t = read_text_columns(&truth, &["kind", "value", "person_id"], &[])?;
    let ours = previous_pids(store)?;
    let mut cells: HashMap<(Pid, String), u64> = HashMap::new();
    let mut clusters: HashMap<Pid, u64> = HashMap::new();
    let mut persons: HashMap<String, u64> = HashMap::new();
    let mut n = 0;
    for i in 0..t[0].len() {
        let (Some(kind), Some(value), Some(person)) = (&t[0][i], &t[1][i], &t[2][i]) else {
            continue;
        };
        let Some(&pid) = ours.get(&format!("{kind}:{value}")) else { continue };
        n += 1;
        *cells.entry((pid, person.clone())).or_default() += 1;
        *clusters.entry(pid).or_default() += 1;
        *persons.entry(person.clone()).or_default() += 1;
    }
    let pairs = |c: u64| c * c.saturating_sub(1) / 2;
    let tp: u64 = cells.values().map(|&c| pairs(c)).sum();
    let predicted: u64 = clusters.values().map(|&c| pairs(c)).sum();
    let actual: u64 = persons.values().map(|&c| pairs(c)).sum();
    let precision = if predicted == 0 { 1.0 } else { tp as f64 / predicted as f64 };
    let recall = if actual == 0 { 1.0 } else { tp as f64 / actual as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Ok(Quality { identifiers: n, precision, recall, f1 })
}
