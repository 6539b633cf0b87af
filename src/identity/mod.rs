//! Identity resolution: raw sources into unified profiles, one per person.
//!
//! Owns `audience resolve SOURCES_DIR`:
//! 1. **Identifiers** are read from every source as `(kind, value)` nodes of the [`Graph`],
//!    interned once into `u32`s; emails and phones are normalised ([`crate::normalize`]) and
//!    SHA-256 hashed, so no raw PII leaves this module. Large sources are read in row batches.
//! 2. **Deterministic links**: a CRM record's customer id with its email, phone and loyalty card
//!    (records sharing one meet through it); receipts naming a customer id and a card; logins
//!    (cookie → hashed email); app events (device ↔ cookie); partner cookie syncs.
//! 3. **Probabilistic CRM links** ([`crm`]): the CRM records deduplicated by Fellegi-Sunter
//!    ([`crate::link`]: automatic comparisons, blocking, u from random pairs, m by EM), scored by
//!    match probability.
//! 4. **Over-merging guards**: hub identifiers (a phone or email on more than 3 CRM records, a
//!    device with more than 8 cookies, a cookie logged into more than 2 emails) lose their links.
//! 5. **Probabilistic cross-device links** ([`crossdevice`]) between identifiers seen on one
//!    IP over time (IPs with more than [`ResolveOptions::max_ip_cookies`] identifiers are public
//!    and skipped), with comparison levels on time, co-presence, device type and behaviour, m and
//!    u learnt from the pairs the deterministic links label, and a calibrated confidence.
//! 6. **Clusters** by union-find under a merge rule (deterministic only, or all links above a
//!    confidence), with a size cap; a cross-device link never joins two known people. Every link
//!    keeps its rule and score in `identity/links.parquet`, so switching the rule needs no new
//!    matching.
//! 7. **Stable pids**: a cluster keeps the smallest pid any of its identifiers had; the others
//!    become aliases (`identity/aliases.json`); new people get new pids.
//! 8. **Outputs**: `identity/identifiers.parquet` (key, kind, pid; row `i` is node `i`), links
//!    (`a`, `b` as rows of the identifiers table, rule, score), the onboarding report
//!    (`identity/onboarding.json`: the share of CRM records matched to a digital identity, by
//!    match type), and profile traits (`party`, `consent.ads`, `identity.*`) merged into the
//!    profile table and its index.
//!
//! It does not own the normalisation rules, record linkage of arbitrary files, or behavioural
//! traits (`derive`).

pub mod contact_store;
pub mod crm;
pub mod crossdevice;
pub mod graph;
pub mod orders;
pub mod sources;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{FxHashMap, FxHashSet};
use crate::idmap::IdMap;
use crate::index::Pid;
use crate::normalize::{normalize_email, normalize_maid, parse_phone, sha256_hex, EmailRules};
use crate::store::Store;
use crate::table::{
    read_source, read_source_batches, write_parquet, Column, ColumnData, SourceColumn, SourceKind,
    SourceTable,
};

pub use crm::CrmReport;
pub use crossdevice::CrossDeviceReport;
pub use graph::{Clustering, Graph, Kind, Link, MergeRule, Rule};
pub use orders::OrderReport;
use sources::SourcesConfig;

/// Rows read at a time from a large source.
const BATCH_ROWS: usize = 1 << 21;

/// Settings of a resolve run.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Which links build profiles.
    pub rule: MergeRule,
    /// Largest cluster, in identifiers; larger unions are refused with a warning.
    pub max_cluster: usize,
    /// An IP with more identifiers (cookies, devices) than this is public (a café, an office)
    /// and links nothing.
    pub max_ip_cookies: usize,
    /// Country for national phone numbers (overrides sources.toml).
    pub default_country: Option<String>,
    /// Deduplicate the CRM records with Fellegi-Sunter.
    pub crm_dedupe: bool,
    /// Seed of the random steps (u sampling of the CRM dedupe).
    pub seed: u64,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            rule: MergeRule::All { min_confidence: 0.96, min_crm_confidence: 0.99 },
            max_cluster: 200,
            max_ip_cookies: 24,
            default_country: None,
            crm_dedupe: true,
            seed: 42,
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
    /// Matched records by match type: the strongest rule reaching the digital world inside the
    /// record's deterministic profile, or else the probabilistic rule that joined it to the rest.
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
    /// Cross-device unions refused because both sides were known people.
    pub refused_cross_device: usize,
    /// The CRM dedupe.
    pub crm: CrmReport,
    /// The cross-device step.
    pub cross_device: CrossDeviceReport,
    /// Order matching (online orders to web purchases).
    pub orders: OrderReport,
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
    /// Seconds by stage (`read` includes the CRM dedupe, also timed in [`CrmReport`]).
    pub stage_secs: BTreeMap<String, f64>,
}

/// Everything read from the sources besides the graph.
#[derive(Debug, Default)]
struct Facts {
    consent: FxHashMap<u32, bool>,
    providers: FxHashMap<u32, u16>,
    provider_names: Vec<String>,
    crm_records: Vec<u32>,
    partner_nodes: FxHashSet<u32>,
}

fn email_key(raw: &str, rules: EmailRules) -> Option<String> {
    normalize_email(raw, rules).ok().map(|e| sha256_hex(&e))
}

/// The stored value of an identifier of `kind` read as `raw`: hashes are lower-cased, mobile
/// advertising ids normalised (lower case, dashed) when they are UUIDs.
pub fn identifier_value(kind: Kind, raw: &str) -> String {
    match kind {
        Kind::Email | Kind::EmailCanon | Kind::Phone => raw.to_ascii_lowercase(),
        Kind::Device => normalize_maid(raw).unwrap_or_else(|_| raw.to_string()),
        _ => raw.to_string(),
    }
}

/// A text column of a batch: codes per row and the distinct values (empty when absent).
fn codes<'a>(t: &'a SourceTable, name: &str) -> (&'a [u32], &'a [String]) {
    match t.get(name) {
        Some(SourceColumn::Codes { codes, dict }) => (codes, dict),
        _ => (&[], &[]),
    }
}

/// The nodes of a text column's distinct values.
fn dict_nodes(g: &mut Graph, kind: Kind, dict: &[String]) -> Vec<u32> {
    dict.iter().map(|v| g.node(kind, &identifier_value(kind, v))).collect()
}

/// An integer column of a batch (empty when absent).
fn ints<'a>(t: &'a SourceTable, name: &str) -> &'a [Option<i64>] {
    match t.get(name) {
        Some(SourceColumn::Int(v)) => v,
        _ => &[],
    }
}

/// The columns of `names` (an empty name: the source has none), all optional, as text keys but
/// the one at `int` (the time), read as integers.
fn optional_roles(names: &[String], int: usize) -> Vec<(&str, SourceKind, bool)> {
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, n)| {
            (n.as_str(), if i == int { SourceKind::Time } else { SourceKind::Key }, false)
        })
        .collect()
}

/// The node of row `i` of a column, given the nodes of its values.
fn at(codes: &[u32], nodes: &[u32], i: usize) -> Option<u32> {
    codes.get(i).and_then(|&c| nodes.get(c as usize)).copied()
}

/// Reads the sources of `dir` into the identity graph.
fn build_graph(
    dir: &Path,
    cfg: &SourcesConfig,
    opts: &ResolveOptions,
    report: &mut ResolveReport,
) -> Result<(Graph, Facts, crossdevice::Activity)> {
    let mut g = Graph::default();
    let mut facts = Facts::default();
    let mut act = crossdevice::Activity::default();
    let col = |s: &'static str, r: &'static str| cfg.column(s, r).to_string();
    let default_country = opts.default_country.clone().or_else(|| cfg.default_country.clone());

    let crm = cfg.file(dir, "crm").ok_or_else(|| {
        Error::user(format!(
            "{}: no crm source (crm.parquet, crm.csv or crm.csv.gz); name the file in sources.toml \
             under [crm] file = \"...\"",
            dir.display()
        ))
    })?;
    let roles = ["customer_id", "email", "phone", "loyalty_card", "country", "ad_consent"];
    let pii = ["first_name", "last_name", "birth_date", "gender", "street", "city", "postcode"];
    let names: Vec<String> = roles.iter().chain(&pii).map(|r| col("crm", r)).collect();
    let wanted: Vec<(&str, SourceKind, bool)> =
        names.iter().enumerate().map(|(i, n)| (n.as_str(), SourceKind::Key, i == 0)).collect();
    let c = read_source(&crm, &wanted)?;
    let (cid, cid_dict) = codes(&c, &names[0]);
    let text = |i: usize| -> Vec<Option<&str>> {
        let (cd, dict) = codes(&c, &names[i]);
        (0..c.rows)
            .map(|r| cd.get(r).and_then(|&k| dict.get(k as usize)).map(String::as_str))
            .collect()
    };
    let (email, phone, card, country, consent) = (text(1), text(2), text(3), text(4), text(5));
    let mut crm_fields: Vec<(String, Vec<Option<String>>)> = Vec::new();
    for r in 0..c.rows {
        let Some(id) = cid.get(r).and_then(|&k| cid_dict.get(k as usize)) else {
            return Err(Error::user(format!(
                "{}: {}: empty customer id (column `{}`); every CRM record needs one",
                crm.display(),
                c.row_label(r),
                names[0]
            )));
        };
        let node = g.node(Kind::CustomerId, id);
        facts.crm_records.push(node);
        if let Some(e) = email[r] {
            for (kind, rules) in
                [(Kind::Email, EmailRules::PLAIN), (Kind::EmailCanon, EmailRules::IDENTITY)]
            {
                if let Some(h) = email_key(e, rules) {
                    let n = g.node(kind, &h);
                    g.link(node, n, Rule::CrmRecord, 1.0);
                }
            }
        }
        if let Some(p) = phone[r] {
            let cc = country[r].or(default_country.as_deref());
            if let Ok(phone) = parse_phone(p, cc) {
                let n = g.node(Kind::Phone, &sha256_hex(&phone.e164()));
                g.link(node, n, Rule::CrmRecord, 1.0);
            }
        }
        if let Some(card) = card[r] {
            let n = g.node(Kind::LoyaltyCard, card);
            g.link(node, n, Rule::CrmRecord, 1.0);
        }
        if let Some(v) = consent[r] {
            let yes = crate::import::parse_consent(v).unwrap_or(false);
            let e = facts.consent.entry(node).or_insert(yes);
            *e &= yes;
        }
    }
    if opts.crm_dedupe {
        // The fields compared by Fellegi-Sunter: names, birth date, gender, address (inside
        // this module only; never stored).
        // The parts of an address agree or differ together (a household shares all of them):
        // compared as one field, they count as one piece of evidence, not three.
        for (k, role) in pii[..4].iter().enumerate() {
            let v = text(roles.len() + k).into_iter().map(|v| v.map(str::to_string)).collect();
            crm_fields.push((role.to_string(), v));
        }
        let parts: Vec<Vec<Option<&str>>> = (4..7).map(|k| text(roles.len() + k)).collect();
        let address = (0..c.rows)
            .map(|r| {
                let p: Vec<&str> = parts.iter().filter_map(|col| col[r]).collect();
                (!p.is_empty()).then(|| p.join(" "))
            })
            .collect();
        crm_fields.push(("address".into(), address));
    }
    drop(c);
    if opts.crm_dedupe {
        let nodes = facts.crm_records.clone();
        report.crm = crm::dedupe(&mut g, &nodes, crm_fields, opts.seed)?;
    }

    let mut orders = orders::Orders::default();
    if let Some(path) = cfg.file(dir, "receipts") {
        let roles = RECEIPT_ROLES.map(|r| col("receipts", r));
        read_receipts(&mut g, &mut orders, &path, &roles)?;
    }

    if let Some(path) = cfg.file(dir, "web_events") {
        let roles = EVENT_ROLES.map(|r| col("web_events", r));
        read_events(&mut g, &mut act, Some(&mut orders), &path, &roles)?;
    }
    report.orders = orders.link(&mut g);
    if let Some(path) = cfg.file(dir, "email_events") {
        let name = col("email_events", "email_sha256");
        read_source_batches(
            &path,
            &[(name.as_str(), SourceKind::Key, true)],
            BATCH_ROWS,
            |t, _| {
                dict_nodes(&mut g, Kind::Email, codes(&t, &name).1);
                Ok(())
            },
        )?;
    }
    if let Some(path) = cfg.file(dir, "ad_exposures") {
        // The ad server's log: no login and no page category, but the IP and user agent of
        // each request.
        let roles = EVENT_ROLES.map(|r| match r {
            "email_sha256" | "category" | "device_type" | "event_type" => String::new(),
            _ => col("ad_exposures", r),
        });
        read_events(&mut g, &mut act, None, &path, &roles)?;
    }
    if let Some(path) = cfg.file(dir, "partner_syncs") {
        let cols = [
            (col("partner_syncs", "partner_cookie"), Kind::PartnerCookie),
            (col("partner_syncs", "cookie"), Kind::Cookie),
        ];
        let partners = &mut facts.partner_nodes;
        link_columns(&mut g, &path, &cols, Rule::PartnerSync, |p| partners.extend(p))?;
    }
    if let Some(path) = cfg.file(dir, "partner_events") {
        let name = col("partner_events", "partner_cookie");
        read_source_batches(
            &path,
            &[(name.as_str(), SourceKind::Key, true)],
            BATCH_ROWS,
            |t, _| {
                let partners = dict_nodes(&mut g, Kind::PartnerCookie, codes(&t, &name).1);
                facts.partner_nodes.extend(partners);
                Ok(())
            },
        )?;
    }
    read_providers(dir, &mut g, &mut facts)?;
    // A CRM email's canonical mailbox (`jdoe@gmail.com` for `J.Doe+shop@gmail.com`) seen as a
    // plain address in another source (a login) is the same mailbox.
    let same_mailbox: Vec<(u32, u32)> = (0..g.len() as u32)
        .filter(|&n| g.kind(n) == Kind::EmailCanon)
        .filter_map(|n| Some((n, g.get(Kind::Email, g.value(n))?)))
        .collect();
    for (canon, plain) in same_mailbox {
        g.link(canon, plain, Rule::CrmRecord, 1.0);
    }
    g.dedup_links();
    Ok((g, facts, act))
}

/// The roles of an event source read by [`read_events`], in order.
const EVENT_ROLES: [&str; 9] = [
    "cookie",
    "device_id",
    "ip",
    "email_sha256",
    "ts",
    "category",
    "device_type",
    "user_agent",
    "event_type",
];

/// The roles of a receipt, in the order [`read_receipts`] takes their columns.
const RECEIPT_ROLES: [&str; 5] = ["customer_id", "loyalty_card", "ts", "channel", "category"];

/// Reads the receipts: a receipt naming a customer id and a loyalty card links them
/// ([`Rule::Receipt`]); an online order (channel `online`, `web`, ...: [`orders::is_online`];
/// every receipt when there is no channel column) with a customer id and a time goes to
/// `orders`, to be matched with the web purchases.
fn read_receipts(
    g: &mut Graph,
    orders: &mut orders::Orders,
    path: &Path,
    names: &[String; 5],
) -> Result<()> {
    read_source_batches(path, &optional_roles(names, 2), BATCH_ROWS, |t, _| {
        let (ck, cd) = codes(&t, &names[0]);
        let (lk, ld) = codes(&t, &names[1]);
        let (hk, hd) = codes(&t, &names[3]);
        let (gk, gd) = codes(&t, &names[4]);
        let ts = ints(&t, &names[2]);
        let customers = dict_nodes(g, Kind::CustomerId, cd);
        let cards = dict_nodes(g, Kind::LoyaltyCard, ld);
        let online: Vec<bool> = hd.iter().map(|v| orders::is_online(v)).collect();
        let cats: Vec<u32> = gd.iter().map(|v| orders.category(Some(v))).collect();
        for r in 0..t.rows {
            let Some(c) = at(ck, &customers, r) else { continue };
            if let Some(card) = at(lk, &cards, r) {
                g.link(c, card, Rule::Receipt, 1.0);
            }
            let is_order =
                hk.is_empty() || hk.get(r).and_then(|&k| online.get(k as usize)) == Some(&true);
            if let (true, Some(Some(ts))) = (is_order, ts.get(r)) {
                orders.order(*ts, c, at(gk, &cats, r).unwrap_or(orders::NO_CATEGORY));
            }
        }
        Ok(())
    })
}

/// Reads an event source (web events, ad exposures) whose columns play [`EVENT_ROLES`] (an
/// empty name: the source has no such column): a cookie and a device id on one row are one
/// app; a hashed email on a row is a login; every row is a sighting for the cross-device step.
fn read_events(
    g: &mut Graph,
    act: &mut crossdevice::Activity,
    mut orders: Option<&mut orders::Orders>,
    path: &Path,
    names: &[String; 9],
) -> Result<()> {
    read_source_batches(path, &optional_roles(names, 4), BATCH_ROWS, |t, _| {
        let (ck, cd) = codes(&t, &names[0]);
        let (dk, dd) = codes(&t, &names[1]);
        let (ik, id) = codes(&t, &names[2]);
        let (ek, ed) = codes(&t, &names[3]);
        let (gk, gd) = codes(&t, &names[5]);
        let (tk, td) = codes(&t, &names[6]);
        let (uk, ud) = codes(&t, &names[7]);
        if ck.is_empty() && dk.is_empty() {
            return Err(Error::user(format!(
                "{}: neither a cookie column `{}` nor a device id column `{}`; name them in \
                 sources.toml",
                path.display(),
                names[0],
                names[1]
            )));
        }
        let ts = ints(&t, &names[4]);
        let cookies = dict_nodes(g, Kind::Cookie, cd);
        let devices = dict_nodes(g, Kind::Device, dd);
        let emails = dict_nodes(g, Kind::Email, ed);
        let ips: Vec<u32> = id.iter().map(|v| act.ips.intern(0, v)).collect();
        let cats: Vec<u32> = gd.iter().map(|v| act.category(v)).collect();
        let types: Vec<u32> = td.iter().map(|v| u32::from(act.device_type(v))).collect();
        let agents: Vec<u32> = ud.iter().map(|v| act.user_agent(v)).collect();
        let (pk, pd) = codes(&t, &names[8]);
        let purchase: Vec<bool> = pd.iter().map(|v| orders::is_purchase(v)).collect();
        let order_cats: Vec<u32> = match orders.as_deref_mut() {
            Some(o) => gd.iter().map(|v| o.category(Some(v))).collect(),
            None => Vec::new(),
        };
        for r in 0..t.rows {
            // A browser event carries a cookie, an app event a device id (or both).
            let cn = at(ck, &cookies, r);
            let dn = at(dk, &devices, r);
            let Some(node) = cn.or(dn) else { continue };
            if let (Some(cn), Some(dn)) = (cn, dn) {
                g.link(dn, cn, Rule::AppDevice, 1.0);
            }
            let email = at(ek, &emails, r);
            if let Some(en) = email {
                g.link(node, en, Rule::Login, 1.0);
            }
            let ip = at(ik, &ips, r);
            let ts = ts.get(r).copied().flatten();
            if let (Some(o), Some(ts)) = (orders.as_deref_mut(), ts) {
                if pk.get(r).and_then(|&k| purchase.get(k as usize)) == Some(&true) {
                    let cat = at(gk, &order_cats, r).unwrap_or(orders::NO_CATEGORY);
                    o.purchase(ts, email.unwrap_or(node), cat);
                }
            }
            let dtype = at(tk, &types, r).map(|x| x as u8);
            let agent = at(uk, &agents, r);
            act.see(node, ip, ts, dtype, at(gk, &cats, r), agent);
            if let (Some(cn), Some(dn)) = (cn, dn) {
                act.see(if node == cn { dn } else { cn }, ip, ts, dtype, None, agent);
            }
        }
        Ok(())
    })
}

/// Links the two identifier columns `cols` (name, kind), which must exist, of each row of the
/// source at `path` by `rule` (rows missing either are skipped). The nodes of the first column
/// are made first, batch by batch, and passed to `first_nodes`.
fn link_columns(
    g: &mut Graph,
    path: &Path,
    cols: &[(String, Kind); 2],
    rule: Rule,
    mut first_nodes: impl FnMut(&[u32]),
) -> Result<()> {
    let wanted =
        [(cols[0].0.as_str(), SourceKind::Key, true), (cols[1].0.as_str(), SourceKind::Key, true)];
    read_source_batches(path, &wanted, BATCH_ROWS, |t, _| {
        let (ak, ad) = codes(&t, &cols[0].0);
        let (bk, bd) = codes(&t, &cols[1].0);
        let a_nodes = dict_nodes(g, cols[0].1, ad);
        first_nodes(&a_nodes);
        let b_nodes = dict_nodes(g, cols[1].1, bd);
        for r in 0..t.rows {
            if let (Some(a), Some(b)) = (at(ak, &a_nodes, r), at(bk, &b_nodes, r)) {
                g.link(a, b, rule, 1.0);
            }
        }
        Ok(())
    })
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
        let p = facts.provider_names.len() as u16;
        facts.provider_names.push(name.to_string());
        let wanted = [("id_kind", SourceKind::Key, true), ("id", SourceKind::Key, true)];
        read_source_batches(&path, &wanted, BATCH_ROWS, |t, _| {
            let (kk, kd) = codes(&t, "id_kind");
            let (ik, id) = codes(&t, "id");
            let devices: Vec<bool> = kd
                .iter()
                .map(|k| k.eq_ignore_ascii_case("maid") || k.eq_ignore_ascii_case("device"))
                .collect();
            for r in 0..t.rows {
                let (Some(&k), Some(&i)) = (kk.get(r), ik.get(r)) else { continue };
                let (Some(&is_device), Some(value)) = (devices.get(k as usize), id.get(i as usize))
                else {
                    continue;
                };
                let kind = if is_device { Kind::Device } else { Kind::Cookie };
                let n = g.node(kind, &identifier_value(kind, value));
                facts.providers.entry(n).or_insert(p);
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Resolves the sources in `dir` into the store; see the module docs.
pub fn resolve(store: &mut Store, dir: &Path, opts: &ResolveOptions) -> Result<ResolveReport> {
    let t0 = Instant::now();
    // The graph and its tables are dropped before the contact table is built, so the two
    // stages' memory does not add up.
    let mut report = resolve_profiles(store, dir, opts)?;
    let t1 = Instant::now();
    contact_store::after_resolve(store, dir, opts.default_country.as_deref())?;
    report.stage_secs.insert("contacts".into(), t1.elapsed().as_secs_f64());
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Everything of [`resolve`] but the contact table.
fn resolve_profiles(store: &mut Store, dir: &Path, opts: &ResolveOptions) -> Result<ResolveReport> {
    let t0 = Instant::now();
    let cfg = SourcesConfig::load(dir)?;
    let mut report = ResolveReport::default();
    let (mut g, facts, act) = build_graph(dir, &cfg, opts, &mut report)?;
    let mut clock = Instant::now();
    let mut stage = |report: &mut ResolveReport, name: &str| {
        report.stage_secs.insert(name.to_string(), clock.elapsed().as_secs_f64());
        clock = Instant::now();
    };
    report.stage_secs.insert("read".into(), t0.elapsed().as_secs_f64());
    // Identifiers the sources give some evidence for: a link of any rule (before the guards), or
    // a shared IP (marked by the cross-device step). The rest (a partner cookie never synced, a
    // cookie seen only on a carrier IP) cannot be tied to anyone; the quality report gives the
    // recall among the others too.
    let mut evidence = vec![false; g.len()];
    for l in &g.links {
        evidence[l.a as usize] = true;
        evidence[l.b as usize] = true;
    }
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
    // Profiles of the deterministic links alone: the known people of the cross-device step, and
    // the onboarding report's match types.
    let det = g.cluster(MergeRule::Deterministic, opts.max_cluster).roots;
    report.cross_device = crossdevice::link(&mut g, act, opts.max_ip_cookies, &det, &mut evidence);
    report.public_ips = report.cross_device.public_ips;
    stage(&mut report, "guards+cross_device");
    g.dedup_links();
    for l in &g.links {
        *report.links.entry(format!("{:?}", l.rule)).or_default() += 1;
    }
    report.identifiers = g.len();
    let clustering = g.cluster(opts.rule, opts.max_cluster);
    report.refused_unions = clustering.refused_cap;
    report.refused_cross_device = clustering.refused_anchor;
    let roots = clustering.roots;
    stage(&mut report, "cluster");

    // Clusters in order of their root (the smallest node of each): `order[start[c]..start[c+1]]`.
    let n = g.len();
    let mut cluster_of = vec![u32::MAX; n];
    let mut cluster_roots: Vec<u32> = Vec::new();
    for (i, &r) in roots.iter().enumerate() {
        if r as usize == i {
            cluster_of[i] = cluster_roots.len() as u32;
            cluster_roots.push(r);
        }
    }
    let cluster: Vec<u32> = roots.iter().map(|&r| cluster_of[r as usize]).collect();
    drop(cluster_of);
    let mut start = vec![0u32; cluster_roots.len() + 1];
    for &c in &cluster {
        start[c as usize + 1] += 1;
    }
    for c in 0..cluster_roots.len() {
        start[c + 1] += start[c];
    }
    let mut order = vec![0u32; n];
    let mut fill = start.clone();
    for (i, &c) in cluster.iter().enumerate() {
        order[fill[c as usize] as usize] = i as u32;
        fill[c as usize] += 1;
    }
    drop(fill);
    let members = Members { order, start };

    // Stable pids: previous identifiers and imported customer ids keep theirs.
    let mut idmap = IdMap::load(store)?;
    let previous = previous_pids(store, &g)?;
    let mut pid_of_cluster: Vec<Pid> = Vec::with_capacity(cluster_roots.len());
    let mut used: FxHashSet<Pid> = FxHashSet::default();
    let mut aliases: BTreeMap<Pid, Pid> = BTreeMap::new();
    let mut old: Vec<Pid> = Vec::new();
    for c in 0..cluster_roots.len() {
        let nodes = members.get(c);
        old.clear();
        old.extend(nodes.iter().filter_map(|&n| {
            previous.get(n as usize).copied().filter(|&p| p != Pid::MAX).or_else(|| {
                (g.kind(n) == Kind::CustomerId).then(|| idmap.get(g.value(n))).flatten()
            })
        }));
        old.sort_unstable();
        old.dedup();
        let pid = match old.iter().find(|p| !used.contains(p)) {
            Some(&p) => p,
            None => {
                report.new_profiles += 1;
                let primary = nodes
                    .iter()
                    .find(|&&n| g.kind(n) == Kind::CustomerId)
                    .map(|&n| g.value(n).to_string())
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
        pid_of_cluster.push(pid);
    }
    drop(previous);
    drop(used);
    report.aliases = aliases.len();
    report.profiles = cluster_roots.len();
    report.onboarding = onboarding(&g, &roots, &det, &facts);
    drop(det);
    drop(roots);
    stage(&mut report, "pids+onboarding");

    // Tables: identifiers, links, profile traits.
    let pid_of = |n: u32| pid_of_cluster[cluster[n as usize] as usize];
    let traits = profile_traits(&g, &members, &facts);
    let pids = pid_of_cluster.clone();
    idmap.save(store)?;
    drop(idmap);
    write_identifiers(store, &g, &pid_of, &evidence)?;
    drop(evidence);
    let link_cols = vec![
        Column {
            name: "a".into(),
            data: ColumnData::Int(g.links.iter().map(|l| Some(i64::from(l.a))).collect()),
        },
        Column {
            name: "b".into(),
            data: ColumnData::Int(g.links.iter().map(|l| Some(i64::from(l.b))).collect()),
        },
        Column {
            name: "rule".into(),
            data: ColumnData::Str(g.links.iter().map(|l| Some(rule_name(l.rule).into())).collect()),
        },
        Column {
            name: "score".into(),
            data: ColumnData::Float(g.links.iter().map(|l| Some(f64::from(l.score))).collect()),
        },
    ];
    write_parquet(store.path("identity/links.parquet"), &link_cols)?;
    drop(link_cols);
    store.write_json("identity/aliases.json", &aliases)?;
    store.write_json("identity/onboarding.json", &report.onboarding)?;
    drop(g);
    stage(&mut report, "write_identity");
    crate::import::merge_traits(store, "resolve", &pids, traits, &HashMap::new())?;
    if let Some(path) = crate::table::find_source(dir, "providers") {
        crate::lookalike::save_provider_cpms(store, &path)?;
    }
    stage(&mut report, "traits");
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// The nodes of each cluster, clusters in order of their root.
struct Members {
    order: Vec<u32>,
    start: Vec<u32>,
}

impl Members {
    fn get(&self, c: usize) -> &[u32] {
        &self.order[self.start[c] as usize..self.start[c + 1] as usize]
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }
}

/// The name of a rule as stored (`Login`, `CrossDevice`, ...).
fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::CrmRecord => "CrmRecord",
        Rule::Receipt => "Receipt",
        Rule::Login => "Login",
        Rule::AppDevice => "AppDevice",
        Rule::PartnerSync => "PartnerSync",
        Rule::CrmProbabilistic => "CrmProbabilistic",
        Rule::OrderMatch => "OrderMatch",
        Rule::CrossDevice => "CrossDevice",
    }
}

/// Writes `identity/identifiers.parquet`: key (`kind:value`), kind, pid, evidence; row `i` is
/// node `i`.
fn write_identifiers(
    store: &Store,
    g: &Graph,
    pid_of: &dyn Fn(u32) -> Pid,
    evidence: &[bool],
) -> Result<()> {
    let nodes = 0..g.len() as u32;
    let cols = vec![
        Column {
            name: "key".into(),
            data: ColumnData::Str(nodes.clone().map(|n| Some(g.key(n))).collect()),
        },
        Column {
            name: "kind".into(),
            data: ColumnData::Str(nodes.clone().map(|n| Some(g.kind(n).name().into())).collect()),
        },
        Column {
            name: "pid".into(),
            data: ColumnData::Int(nodes.clone().map(|n| Some(i64::from(pid_of(n)))).collect()),
        },
        Column {
            name: "evidence".into(),
            data: ColumnData::Bool(
                nodes.map(|n| Some(evidence.get(n as usize).copied().unwrap_or(false))).collect(),
            ),
        },
    ];
    write_parquet(store.path("identity/identifiers.parquet"), &cols)
}

/// Reads `identity/identifiers.parquet` in batches, calling `f(kind, value, pid, evidence)` per
/// row (`evidence` is true when the table predates the column).
fn for_each_identifier(store: &Store, mut f: impl FnMut(Kind, &str, Pid, bool)) -> Result<bool> {
    let path = store.path("identity/identifiers.parquet");
    if !path.exists() {
        return Ok(false);
    }
    let wanted = [
        ("key", SourceKind::Key, true),
        ("pid", SourceKind::Int, true),
        ("evidence", SourceKind::Bool, false),
    ];
    read_source_batches(&path, &wanted, BATCH_ROWS, |t, _| {
        let (kk, kd) = codes(&t, "key");
        let Some(SourceColumn::Int(pids)) = t.get("pid") else { return Ok(()) };
        let evidence = match t.get("evidence") {
            Some(SourceColumn::Bool(e)) => Some(e),
            _ => None,
        };
        let parsed: Vec<Option<(Kind, &str)>> = kd
            .iter()
            .map(|k| {
                let (kind, value) = k.split_once(':')?;
                Some((Kind::from_name(kind)?, value))
            })
            .collect();
        for (r, p) in pids.iter().enumerate() {
            let (Some(&k), Some(p)) = (kk.get(r), p) else { continue };
            if let (Some(Some((kind, value))), Ok(pid)) =
                (parsed.get(k as usize), Pid::try_from(*p))
            {
                let e = evidence.and_then(|e| e.get(r).copied().flatten()).unwrap_or(true);
                f(*kind, value, pid, e);
            }
        }
        Ok(())
    })?;
    Ok(true)
}

/// The pid each node had in the previous run (`Pid::MAX` when none).
fn previous_pids(store: &Store, g: &Graph) -> Result<Vec<Pid>> {
    let mut prev = Vec::new();
    for_each_identifier(store, |kind, value, pid, _| {
        if let Some(n) = g.get(kind, value) {
            if prev.is_empty() {
                prev = vec![Pid::MAX; g.len()];
            }
            prev[n as usize] = pid;
        }
    })?;
    Ok(prev)
}

/// The onboarding report. A matched record's match type is the strongest rule that reaches the
/// digital world inside its deterministic profile (`det`: the customer record with its email,
/// phone and card, their logins, ...), or else the probabilistic rule that joined that profile
/// to the rest of the final one (`roots`: an order match, a CRM match, a cross-device link).
fn onboarding(g: &Graph, roots: &[u32], det: &[u32], facts: &Facts) -> Onboarding {
    let mut reached: FxHashSet<u32> = FxHashSet::default();
    let mut reach: FxHashMap<u32, Rule> = FxHashMap::default();
    let mut attach: FxHashMap<u32, Rule> = FxHashMap::default();
    let strongest = |m: &mut FxHashMap<u32, Rule>, at: u32, rule: Rule| {
        let e = m.entry(at).or_insert(rule);
        *e = (*e).min(rule);
    };
    for l in &g.links {
        if roots[l.a as usize] != roots[l.b as usize] {
            continue;
        }
        let (da, db) = (det[l.a as usize], det[l.b as usize]);
        if g.kind(l.a).is_digital() || g.kind(l.b).is_digital() {
            reached.insert(roots[l.a as usize]);
            if da == db {
                strongest(&mut reach, da, l.rule);
            }
        }
        if da != db {
            strongest(&mut attach, da, l.rule);
            strongest(&mut attach, db, l.rule);
        }
    }
    let mut o = Onboarding { crm_records: facts.crm_records.len(), ..Default::default() };
    for &n in &facts.crm_records {
        if reached.contains(&roots[n as usize]) {
            let d = det[n as usize];
            let rule = reach
                .get(&d)
                .or_else(|| attach.get(&d))
                .map_or("other".into(), |r| format!("{r:?}"));
            o.matched += 1;
            *o.by_match_type.entry(rule).or_default() += 1;
        }
    }
    o.match_rate = o.matched as f64 / o.crm_records.max(1) as f64;
    o
}

/// Per-profile identity traits: party, provider, consent and identifier counts.
fn profile_traits(g: &Graph, members: &Members, facts: &Facts) -> Vec<Column> {
    let clusters = members.len();
    let (mut party, mut provider, mut consent) =
        (Vec::with_capacity(clusters), Vec::with_capacity(clusters), Vec::with_capacity(clusters));
    let counted = [
        ("identity.cookies", Kind::Cookie),
        ("identity.crm_records", Kind::CustomerId),
        ("identity.devices", Kind::Device),
        ("identity.emails", Kind::Email),
    ];
    let mut counts: Vec<Vec<Option<i64>>> = vec![Vec::with_capacity(clusters); counted.len()];
    for c in 0..clusters {
        let nodes = members.get(c);
        let count = |k: Kind| nodes.iter().filter(|&&n| g.kind(n) == k).count() as i64;
        let first = count(Kind::CustomerId) + count(Kind::LoyaltyCard) + count(Kind::Email) > 0
            || nodes.iter().any(|&n| {
                g.kind(n).is_digital()
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
        provider.push(
            nodes
                .iter()
                .filter_map(|n| facts.providers.get(n))
                .map(|&p| &facts.provider_names[p as usize])
                .min()
                .cloned(),
        );
        let mut seen = false;
        let mut all = true;
        for n in nodes {
            if let Some(&x) = facts.consent.get(n) {
                seen = true;
                all &= x;
            }
        }
        consent.push(seen.then_some(all));
        for (v, &(_, kind)) in counts.iter_mut().zip(&counted) {
            v.push(Some(count(kind)));
        }
    }
    let mut cols = vec![
        Column { name: crate::import::PARTY_TRAIT.into(), data: ColumnData::Str(party) },
        Column { name: crate::import::PROVIDER_TRAIT.into(), data: ColumnData::Str(provider) },
        Column { name: crate::import::CONSENT_TRAIT.into(), data: ColumnData::Bool(consent) },
    ];
    cols.extend(
        counted
            .iter()
            .zip(counts)
            .map(|(&(n, _), v)| Column { name: n.into(), data: ColumnData::Int(v) }),
    );
    cols
}

/// Pairwise counts of one pair of identifier kinds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PairCounts {
    /// Same-person pairs in the truth.
    pub actual: u64,
    /// Pairs in one profile.
    pub predicted: u64,
    /// Pairs in one profile that are the same person.
    pub correct: u64,
}

/// Pairwise quality of the clusters against `truth/identifiers` (kind, value, person_id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quality {
    /// Identifiers found in both the graph and the truth.
    pub identifiers: usize,
    /// Identifiers of the truth that no source shows (they cannot be resolved).
    pub unseen: usize,
    /// Share of predicted same-person pairs that are right.
    pub precision: f64,
    /// Share of true same-person pairs that were found.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// Identifiers (of `identifiers`) that the sources give some evidence for: a link of any
    /// rule, or a shared IP. The others (a partner cookie never synced, ...) cannot be tied to
    /// anyone.
    pub with_evidence: usize,
    /// Share of the true same-person pairs among identifiers with evidence that were found.
    pub recall_with_evidence: f64,
    /// The counts by pair of identifier kinds (`cookie/email`, ...), to see where pairs are
    /// missed or wrongly merged.
    pub by_kinds: BTreeMap<String, PairCounts>,
}

/// Compares the store's resolved identities with a generated world's `truth/identifiers`.
pub fn quality(store: &Store, truth_dir: &Path) -> Result<Quality> {
    let truth = crate::table::find_source(truth_dir, "identifiers").ok_or_else(|| {
        Error::user(format!(
            "{}: no identifiers table; is this a generated world?",
            truth_dir.display()
        ))
    })?;
    // The store's identifiers, interned, with their pids.
    let mut g = Graph::default();
    let mut pid_of: Vec<Pid> = Vec::new();
    let mut evidence: Vec<bool> = Vec::new();
    let found = for_each_identifier(store, |kind, value, pid, e| {
        let n = g.node(kind, value) as usize;
        if n == pid_of.len() {
            pid_of.push(pid);
            evidence.push(e);
        }
    })?;
    if !found {
        return Err(Error::user(
            "the store has no resolved identities (identity/identifiers.parquet); run \
             `audience resolve SOURCES_DIR` first",
        ));
    }
    const K: usize = Kind::ALL.len();
    let mut cells: FxHashMap<(Pid, u32), [u32; K]> = FxHashMap::default();
    let mut clusters: FxHashMap<Pid, [u32; K]> = FxHashMap::default();
    let mut persons: FxHashMap<u32, [u32; K]> = FxHashMap::default();
    let mut person_ids: FxHashMap<String, u32> = FxHashMap::default();
    // The same-person pairs among identifiers with evidence: (found, actual) counts per group.
    let mut cells_e: FxHashMap<(Pid, u32), u64> = FxHashMap::default();
    let mut persons_e: FxHashMap<u32, u64> = FxHashMap::default();
    let (mut n, mut unseen, mut with_evidence) = (0, 0, 0);
    let wanted = [
        ("kind", SourceKind::Key, true),
        ("value", SourceKind::Key, true),
        ("person_id", SourceKind::Key, true),
    ];
    read_source_batches(&truth, &wanted, BATCH_ROWS, |t, _| {
        let (kk, kd) = codes(&t, "kind");
        let (vk, vd) = codes(&t, "value");
        let (pk, pd) = codes(&t, "person_id");
        let kinds: Vec<Option<Kind>> = kd.iter().map(|k| Kind::from_name(k)).collect();
        let people: Vec<u32> = pd
            .iter()
            .map(|p| {
                let next = person_ids.len() as u32;
                *person_ids.entry(p.clone()).or_insert(next)
            })
            .collect();
        for r in 0..t.rows {
            let (Some(&k), Some(&v), Some(&p)) = (kk.get(r), vk.get(r), pk.get(r)) else {
                continue;
            };
            let (Some(Some(kind)), Some(value), Some(&person)) =
                (kinds.get(k as usize), vd.get(v as usize), people.get(p as usize))
            else {
                continue;
            };
            let Some(node) = g.get(*kind, &identifier_value(*kind, value)) else {
                unseen += 1;
                continue;
            };
            let pid = pid_of[node as usize];
            n += 1;
            let ki = *kind as usize;
            cells.entry((pid, person)).or_insert([0; K])[ki] += 1;
            clusters.entry(pid).or_insert([0; K])[ki] += 1;
            persons.entry(person).or_insert([0; K])[ki] += 1;
            if evidence[node as usize] {
                with_evidence += 1;
                *cells_e.entry((pid, person)).or_default() += 1;
                *persons_e.entry(person).or_default() += 1;
            }
        }
        Ok(())
    })?;
    let pairs_of = |c: &u64| c * c.saturating_sub(1) / 2;
    let found_e: u64 = cells_e.values().map(pairs_of).sum();
    let actual_e: u64 = persons_e.values().map(pairs_of).sum();
    let recall_with_evidence = if actual_e == 0 { 1.0 } else { found_e as f64 / actual_e as f64 };
    // Pairs within one group, by pair of kinds.
    let pairs = |c: &[u32; K], out: &mut [[u64; K]; K]| {
        for i in 0..K {
            let ci = u64::from(c[i]);
            out[i][i] += ci * ci.saturating_sub(1) / 2;
            for j in i + 1..K {
                out[i][j] += ci * u64::from(c[j]);
            }
        }
    };
    let (mut tp, mut pred, mut act) = ([[0u64; K]; K], [[0u64; K]; K], [[0u64; K]; K]);
    cells.values().for_each(|c| pairs(c, &mut tp));
    clusters.values().for_each(|c| pairs(c, &mut pred));
    persons.values().for_each(|c| pairs(c, &mut act));
    let mut by_kinds = BTreeMap::new();
    let (mut tps, mut preds, mut acts) = (0u64, 0u64, 0u64);
    for i in 0..K {
        for j in i..K {
            tps += tp[i][j];
            preds += pred[i][j];
            acts += act[i][j];
            if act[i][j] + pred[i][j] > 0 {
                by_kinds.insert(
                    format!("{}/{}", Kind::ALL[i].name(), Kind::ALL[j].name()),
                    PairCounts { actual: act[i][j], predicted: pred[i][j], correct: tp[i][j] },
                );
            }
        }
    }
    let precision = if preds == 0 { 1.0 } else { tps as f64 / preds as f64 };
    let recall = if acts == 0 { 1.0 } else { tps as f64 / acts as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Ok(Quality {
        identifiers: n,
        unseen,
        precision,
        recall,
        f1,
        with_evidence,
        recall_with_evidence,
        by_kinds,
    })
}
