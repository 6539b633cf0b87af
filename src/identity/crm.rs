//! Probabilistic CRM-to-CRM links: the same person under two customer records (a duplicate
//! account, a move with a new email and phone, a typo in the name).
//!
//! Owns turning the CRM rows into [`crate::link::Records`] (one per customer id, the name, birth
//! date, gender and address fields that are present) and the links from the linkage's accepted
//! pairs. The matching itself (automatic comparison kinds, blocking, u from random pairs, term
//! frequencies, posteriors) is [`crate::link::link`], the same code as `audience link`.
//!
//! m is not left to EM alone: in a customer file, the commonest structure among blocked pairs is
//! people of one city or one household, not duplicates, and unsupervised EM settles on it. The
//! records that the deterministic links already join (a shared email, phone or loyalty card,
//! with hub identifiers left out) are known matches, and m is their level distribution
//! ([`crate::link::Settings::known_matches`]). Emails and phones are therefore not compared here:
//! they made the labels, and exact agreement on them is already a deterministic link.
//!
//! It does not own reading the CRM file or clustering.

use crate::error::Result;
use crate::hash::FxHashMap;
use crate::link::{link, reconcile, Records, Settings};

use super::graph::{Graph, Kind, Rule, UnionFind};

/// What the CRM dedupe did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CrmReport {
    /// Distinct customer records compared.
    pub records: usize,
    /// Why the probabilistic dedupe did not run (deterministic links still hold), if it did not.
    pub skipped: Option<String>,
    /// Compared fields, as `name:kind`.
    pub fields: Vec<String>,
    /// Columns rewritten before comparing (see [`crate::link::reconcile`]), one note each.
    pub notes: Vec<String>,
    /// Record pairs known to match through deterministic links (m is learnt from them).
    pub known_pairs: usize,
    /// Pairs proposed by blocking.
    pub blocked_pairs: usize,
    /// Pairs at or above the linkage threshold (0.5), kept as links.
    pub links: usize,
    /// Of those, at or above 0.9.
    pub links_90: usize,
    /// Seconds spent, in all and by linkage stage (prepare, block, compare, train, score).
    pub secs: f64,
    /// Seconds by linkage stage.
    pub stage_secs: [f64; 5],
}

/// An identifier on more CRM records than this is shared (a family phone) and labels nothing.
const MAX_RECORDS_PER_IDENTIFIER: usize = 3;
/// Known pairs taken from one group of linked records.
const MAX_KNOWN_PER_GROUP: usize = 10;

/// Deduplicates the CRM records: `nodes[i]` is the customer-id node of row `i`, `fields` the
/// (role, values) to compare. Rows repeating a customer id are compared once (their first row).
/// Fields empty on every record are left out. `g` must hold the CRM's deterministic links (they
/// label the known matches). Adds a [`Rule::CrmProbabilistic`] link for every pair the linkage
/// accepts, scored by its match probability.
pub fn dedupe(
    g: &mut Graph,
    nodes: &[u32],
    fields: Vec<(String, Vec<Option<String>>)>,
    seed: u64,
) -> Result<CrmReport> {
    let t0 = std::time::Instant::now();
    let mut first: FxHashMap<u32, usize> = FxHashMap::default();
    let rows: Vec<usize> =
        (0..nodes.len()).filter(|&i| first.insert(nodes[i], i).is_none()).collect();
    let mut report = CrmReport { records: rows.len(), ..Default::default() };
    let (names, columns): (Vec<String>, Vec<Vec<Option<String>>>) = fields
        .into_iter()
        .filter(|(_, v)| v.iter().any(Option::is_some))
        .map(|(n, mut v)| {
            let kept = rows.iter().map(|&i| v[i].take()).collect();
            (n, kept)
        })
        .unzip();
    if rows.len() < 2 || names.is_empty() {
        return Ok(report);
    }
    let known = known_pairs(g, nodes, &rows);
    report.known_pairs = known.len();
    let ids: Vec<String> = rows.iter().map(|&i| g.value(nodes[i]).to_string()).collect();
    let mut records = Records::new("crm", ids, names, columns)?;
    // Birth dates written as spreadsheet serial days or with two-digit years, as `link` reads
    // them.
    report.notes = reconcile(&mut records, None);
    let settings = Settings { seed, known_matches: known, ..Settings::default() };
    // A CRM too small or too uniform for automatic blocking is left to the deterministic links
    // (resolve has no --block to offer): the reason is reported, not raised.
    let out = match link(&records, None, &settings) {
        Ok(out) => out,
        Err(e @ crate::error::Error::User(_)) => {
            report.skipped = Some(e.to_string());
            report.secs = t0.elapsed().as_secs_f64();
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    report.fields = out.fields.iter().map(|f| format!("{}:{}", f.name, f.kind.as_str())).collect();
    report.blocked_pairs = out.blocked_pairs;
    let t = &out.timings;
    report.stage_secs = [t.prepare, t.block, t.compare, t.train, t.score];
    for &(i, j, p) in &out.pairs {
        g.link(nodes[rows[i]], nodes[rows[j]], Rule::CrmProbabilistic, p as f32);
        report.links += 1;
        report.links_90 += usize::from(p >= 0.9);
    }
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Pairs of records (indexes into `rows`) that share a non-hub email, phone or loyalty card.
fn known_pairs(g: &Graph, nodes: &[u32], rows: &[usize]) -> Vec<(usize, usize)> {
    let record: FxHashMap<u32, usize> =
        rows.iter().enumerate().map(|(r, &i)| (nodes[i], r)).collect();
    // Records of each shared identifier.
    let mut by_identifier: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for l in &g.links {
        if l.rule != Rule::CrmRecord {
            continue;
        }
        for (x, y) in [(l.a, l.b), (l.b, l.a)] {
            if let (Some(&r), true) = (record.get(&x), g.kind(y) != Kind::CustomerId) {
                by_identifier.entry(y).or_default().push(r);
            }
        }
    }
    let mut uf = UnionFind::new(rows.len());
    let mut groups: Vec<&Vec<usize>> = by_identifier.values().collect();
    groups.sort_unstable();
    for rs in groups {
        let mut rs = rs.clone();
        rs.sort_unstable();
        rs.dedup();
        if rs.len() > 1 && rs.len() <= MAX_RECORDS_PER_IDENTIFIER {
            for &r in &rs[1..] {
                uf.union(rs[0] as u32, r as u32, usize::MAX);
            }
        }
    }
    let mut members: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for r in 0..rows.len() {
        members.entry(uf.find(r as u32)).or_default().push(r);
    }
    let mut out = Vec::new();
    let mut groups: Vec<&Vec<usize>> = members.values().filter(|m| m.len() > 1).collect();
    groups.sort_unstable();
    for m in groups {
        let m = &m[..m.len().min(MAX_KNOWN_PER_GROUP)];
        for (k, &a) in m.iter().enumerate() {
            for &b in &m[k + 1..] {
                out.push((a, b));
            }
        }
    }
    out
}
