//! Probabilistic cross-device links: cookies and devices that share an IP (a home wifi, an
//! office) over time, with similar behaviour.
//!
//! Owns the [`Activity`] gathered while reading the web events and the ad server's log (per IP
//! the days each identifier was seen there; per identifier its first and last sighting, device
//! type, user agents and browsed categories) and the scoring of candidate pairs:
//! 1. **candidates**: pairs of identifiers seen on one IP. An IP with more identifiers than
//!    [`super::ResolveOptions::max_ip_cookies`] is public (a café, an office, a carrier gateway)
//!    and proposes nothing; the others propose every pair, so the cost is bounded per IP.
//! 2. **comparison levels** per pair, as in Fellegi-Sunter: the size of the smallest shared IP,
//!    how many IPs are shared, days seen on the same IP on the same day, same device type,
//!    similarity of browsed categories, and one joint field for the time relation (one
//!    identifier taking over from the other, as a reset cookie does, or both alive together
//!    and for how long) with the user agents (one seen on both, the same family once version
//!    numbers are masked, with the same update lag or not, other families): two cookies alive
//!    together with one browser are two devices, one taking over from the other with it is a
//!    reset cookie.
//! 3. **m and u without hand labels**: the pairs whose two ends the deterministic links already
//!    tie to known people (an email, a customer id) are labelled by those links (same person or
//!    not); their level frequencies start m and u, and EM over every pair (the labelled ones held
//!    at their labels) moves them to the whole population, of which known people are a biased
//!    part. [`crate::link::fellegi_sunter::Model`] turns a pair's levels into a match weight.
//! 4. **calibration**: the weights of a naive model overstate correlated evidence, so the
//!    confidence of a pair is the share of same-person pairs among labelled pairs of similar
//!    weight (isotonic, by pooling adjacent violators).
//! 5. **links**: each identifier keeps its best few partners at or above confidence 0.5; the merge
//!    rule decides which take part, and [`super::graph::Graph::cluster`] never lets them join two
//!    known people (so a household IP cannot merge a family into one profile).
//!
//! It does not own reading the sources or clustering.

use rayon::prelude::*;

use crate::hash::FxHashMap;
use crate::link::compare::Kind as CompareKind;
use crate::link::fellegi_sunter::{sigmoid, FieldParams, Model};

use super::graph::{Graph, Rule};

/// Web activity, keyed by graph node.
#[derive(Debug, Default)]
pub struct Activity {
    /// (ip, node, day) sightings; sorted and deduplicated by [`Activity::compact`].
    obs: Vec<(u32, u32, u32)>,
    obs_compacted: usize,
    /// (node, category, count); sorted and summed by [`Activity::compact`].
    cats: Vec<(u32, u32, u32)>,
    cats_compacted: usize,
    /// First and last sighting (unix seconds) per node; `u32::MAX` / 0 when never seen.
    first: Vec<u32>,
    last: Vec<u32>,
    /// Device type code per node (0 unknown, 255 mixed).
    dtype: Vec<u8>,
    dtypes: FxHashMap<String, u8>,
    /// Interned IPs.
    pub ips: super::graph::Interner,
    /// Interned categories.
    categories: FxHashMap<String, u32>,
    /// (node, user agent, first day seen) sightings; sorted by [`Activity::compact`], which keeps
    /// one per node and agent, the first day (`u32::MAX` when undated).
    agents_seen: Vec<(u32, u32, u32)>,
    agents_compacted: usize,
    /// Interned user agents, and the family of each: the agent with its version numbers masked
    /// (`Chrome/131.0.0.0` and `Chrome/132.0.0.0` are one family), so a browser that updated
    /// itself is still recognised.
    agents: super::graph::Interner,
    agent_family: Vec<u32>,
    /// The numbers of each agent in order: its version, compared within its family.
    agent_numbers: Vec<Vec<u32>>,
    families: super::graph::Interner,
    /// Each node's update lag, from [`Activity::lags`] once the sightings are complete.
    lag: Vec<u8>,
}

impl Activity {
    fn grow(&mut self, n: u32) {
        let need = n as usize + 1;
        if self.first.len() < need {
            let len = need.max(self.first.len() * 3 / 2);
            self.first.resize(len, u32::MAX);
            self.last.resize(len, 0);
            self.dtype.resize(len, 0);
        }
    }

    /// The code of a device type value.
    pub fn device_type(&mut self, value: &str) -> u8 {
        let next = (self.dtypes.len() + 1).min(254) as u8;
        *self.dtypes.entry(value.to_lowercase()).or_insert(next)
    }

    /// The code of a category value.
    pub fn category(&mut self, value: &str) -> u32 {
        let next = self.categories.len() as u32;
        *self.categories.entry(value.to_string()).or_insert(next)
    }

    /// The code of a user agent value.
    pub fn user_agent(&mut self, value: &str) -> u32 {
        let code = self.agents.intern(0, value);
        if (code as usize) < self.agent_family.len() {
            return code;
        }
        let mut masked = String::with_capacity(value.len());
        let mut numbers: Vec<u32> = Vec::new();
        for ch in value.chars() {
            match ch.to_digit(10) {
                None => masked.push(ch),
                Some(d) if masked.ends_with('#') => {
                    let last = numbers.last_mut().expect("a number is open");
                    *last = last.saturating_mul(10).saturating_add(d);
                }
                Some(d) => {
                    masked.push('#');
                    numbers.push(d);
                }
            }
        }
        let family = self.families.intern(0, &masked);
        self.agent_family.push(family);
        self.agent_numbers.push(numbers);
        code
    }

    /// Records one sighting of `node`.
    pub fn see(
        &mut self,
        node: u32,
        ip: Option<u32>,
        ts: Option<i64>,
        dtype: Option<u8>,
        category: Option<u32>,
        agent: Option<u32>,
    ) {
        self.grow(node);
        let n = node as usize;
        let t = ts.map(|ts| ts.clamp(0, i64::from(u32::MAX - 1)) as u32);
        if let Some(t) = t {
            self.first[n] = self.first[n].min(t);
            self.last[n] = self.last[n].max(t);
            if let Some(ip) = ip {
                self.obs.push((ip, node, t / 86_400));
            }
        }
        if let Some(d) = dtype {
            self.dtype[n] = match self.dtype[n] {
                0 => d,
                x if x == d => d,
                _ => 255,
            };
        }
        if let Some(c) = category {
            self.cats.push((node, c, 1));
        }
        if let Some(a) = agent {
            self.agents_seen.push((node, a, t.map_or(u32::MAX, |t| t / 86_400)));
        }
        // Compacted again once a list has doubled since the last time (and holds 4M entries).
        let grown = |len: usize, compacted: usize| len >= (2 * compacted).max(1 << 22);
        if grown(self.obs.len(), self.obs_compacted)
            || grown(self.cats.len(), self.cats_compacted)
            || grown(self.agents_seen.len(), self.agents_compacted)
        {
            self.compact();
        }
    }

    /// Sorts and deduplicates the sightings, sums the category counts.
    pub fn compact(&mut self) {
        self.obs.sort_unstable();
        self.obs.dedup();
        self.obs_compacted = self.obs.len();
        self.cats.sort_unstable_by_key(|c| (c.0, c.1));
        let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(self.cats.len() / 2);
        for &(n, c, k) in &self.cats {
            match out.last_mut() {
                Some(l) if l.0 == n && l.1 == c => l.2 += k,
                _ => out.push((n, c, k)),
            }
        }
        self.cats = out;
        self.cats_compacted = self.cats.len();
        self.agents_seen.sort_unstable();
        self.agents_seen.dedup_by_key(|x| (x.0, x.1));
        self.agents_compacted = self.agents_seen.len();
    }

    fn agents_of(&self, n: u32) -> &[(u32, u32, u32)] {
        run_of(&self.agents_seen, n, |c| c.0)
    }

    /// Sets each node's update lag: how many versions of its browser family newer than the one
    /// it ran had been seen (on any node) by the day it was first seen with it. Browsers that
    /// update late do so release after release, so two cookies of one browser share a lag where
    /// two browsers of one family in a household often do not. The most common lag over a
    /// node's agents; 255 when unknown (no dated agent).
    fn lags(&mut self) {
        // Rank of each agent among the distinct versions of its family.
        let n_agents = self.agent_family.len();
        let mut order: Vec<u32> = (0..n_agents as u32).collect();
        order.sort_unstable_by(|&x, &y| {
            let (x, y) = (x as usize, y as usize);
            (self.agent_family[x], &self.agent_numbers[x])
                .cmp(&(self.agent_family[y], &self.agent_numbers[y]))
        });
        let mut rank = vec![0u32; n_agents];
        for k in 1..order.len() {
            let (prev, cur) = (order[k - 1] as usize, order[k] as usize);
            rank[cur] = if self.agent_family[prev] != self.agent_family[cur] {
                0
            } else {
                rank[prev] + u32::from(self.agent_numbers[prev] != self.agent_numbers[cur])
            };
        }
        // The newest rank of each family seen by each day: (family, day, rank), then a running
        // maximum per family.
        let mut newest: Vec<(u32, u32, u32)> = self
            .agents_seen
            .iter()
            .filter(|x| x.2 != u32::MAX)
            .map(|x| (self.agent_family[x.1 as usize], x.2, rank[x.1 as usize]))
            .collect();
        newest.sort_unstable();
        for k in 1..newest.len() {
            if newest[k].0 == newest[k - 1].0 {
                newest[k].2 = newest[k].2.max(newest[k - 1].2);
            }
        }
        let newest_by = |family: u32, day: u32| -> u32 {
            let i = newest.partition_point(|x| (x.0, x.1) <= (family, day));
            newest[i - 1].2 // the sighting itself is in the list, so i > 0
        };
        self.lag = vec![255; self.first.len()];
        let mut lags: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < self.agents_seen.len() {
            let node = self.agents_seen[i].0;
            lags.clear();
            while i < self.agents_seen.len() && self.agents_seen[i].0 == node {
                let (_, agent, day) = self.agents_seen[i];
                if day != u32::MAX {
                    let f = self.agent_family[agent as usize];
                    lags.push(newest_by(f, day).saturating_sub(rank[agent as usize]).min(254) as u8);
                }
                i += 1;
            }
            lags.sort_unstable();
            let mode = lags.chunk_by(|x, y| x == y).max_by_key(|run| run.len()).map(|run| run[0]);
            if let (Some(lag), Some(slot)) = (mode, self.lag.get_mut(node as usize)) {
                *slot = lag;
            }
        }
    }

    /// The user agent level of a pair: 0 unknown; 1 an agent seen on both, with the same
    /// update lag; 2 the same family and lag (another version); 3 the same family, another lag;
    /// 4 other families.
    fn agent_level(&self, a: u32, b: u32) -> u8 {
        let (xa, xb) = (self.agents_of(a), self.agents_of(b));
        if xa.is_empty() || xb.is_empty() {
            return 0;
        }
        let lag = |n: u32| self.lag.get(n as usize).copied().unwrap_or(255);
        let same_lag = lag(a) == lag(b) || lag(a) == 255 || lag(b) == 255;
        if !xa.iter().any(|x| {
            let f = self.agent_family[x.1 as usize];
            xb.iter().any(|y| self.agent_family[y.1 as usize] == f)
        }) {
            4
        } else if !same_lag {
            3
        } else if count_common(xa, xb, |x| x.1) > 0 {
            1
        } else {
            2
        }
    }

    fn categories_of(&self, n: u32) -> &[(u32, u32, u32)] {
        run_of(&self.cats, n, |c| c.0)
    }

    fn span(&self, n: u32) -> Option<(u32, u32)> {
        let i = n as usize;
        (i < self.first.len() && self.first[i] != u32::MAX).then(|| (self.first[i], self.last[i]))
    }

    fn dtype_of(&self, n: u32) -> u8 {
        self.dtype.get(n as usize).copied().unwrap_or(0)
    }
}

/// What the cross-device step did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CrossDeviceReport {
    /// IPs with at least two identifiers.
    pub shared_ips: usize,
    /// IPs skipped as public (more identifiers than the limit).
    pub public_ips: usize,
    /// Candidate pairs scored.
    pub candidate_pairs: usize,
    /// Candidate pairs labelled by the deterministic links (both ends known people).
    pub labelled_pairs: usize,
    /// Of those, pairs of the same person.
    pub labelled_same: usize,
    /// Links kept (confidence ≥ 0.5).
    pub links: usize,
    /// Links at or above 0.9.
    pub links_90: usize,
}

/// Comparison fields of a pair, in order.
const FIELDS: [(&str, usize); 6] = [
    ("ip_size", 5),
    ("shared_ips", 3),
    ("time_and_agent", 40),
    ("same_day", 5),
    ("device_type", 2),
    ("categories", 5),
];

/// The most levels of a field, plus the missing level 0.
const MAX_LEVELS: usize = 41;

/// Rounds of EM after the start from the labelled pairs.
const EM_ROUNDS: usize = 10;

/// Links kept per identifier.
const BEST_PER_NODE: usize = 3;

/// The entries of node `n` in `v`, sorted by node (`node` gives an entry's).
fn run_of<T>(v: &[T], n: u32, node: impl Fn(&T) -> u32) -> &[T] {
    let lo = v.partition_point(|x| node(x) < n);
    let hi = v.partition_point(|x| node(x) <= n);
    &v[lo..hi]
}

fn band(x: f64, edges: &[f64]) -> u8 {
    // Level 1 is the first band; edges are upper bounds (exclusive) of the bands but the last.
    (edges.iter().take_while(|&&e| x >= e).count() + 1) as u8
}

/// Scores cross-device candidate pairs and adds the links to `g`; `det` is each node's cluster
/// root under the deterministic links alone (which tie identifiers to known people).
/// Every identifier seen on a shared, non-public IP is marked in `evidence` (it has something a
/// matcher could tie it by, whatever the score).
pub fn link(
    g: &mut Graph,
    mut act: Activity,
    max_ip_nodes: usize,
    det: &[u32],
    evidence: &mut [bool],
) -> CrossDeviceReport {
    let mut report = CrossDeviceReport::default();
    act.compact();
    act.lags();
    let mut anchored = vec![false; g.len()];
    for n in 0..g.len() as u32 {
        if g.kind(n).is_anchor() {
            anchored[det[n as usize] as usize] = true;
        }
    }

    // Candidate pairs: (a << 32 | b, same-day count, ip size).
    let mut cand: Vec<(u64, u32, u32)> = Vec::new();
    let obs = std::mem::take(&mut act.obs);
    let mut i = 0;
    let mut nodes: Vec<(u32, usize, usize)> = Vec::new();
    while i < obs.len() {
        let ip = obs[i].0;
        let mut j = i;
        nodes.clear();
        while j < obs.len() && obs[j].0 == ip {
            let n = obs[j].1;
            let s = j;
            while j < obs.len() && obs[j].0 == ip && obs[j].1 == n {
                j += 1;
            }
            nodes.push((n, s, j));
        }
        i = j;
        if nodes.len() < 2 {
            continue;
        }
        if nodes.len() > max_ip_nodes {
            report.public_ips += 1;
            continue;
        }
        report.shared_ips += 1;
        for &(n, _, _) in &nodes {
            if let Some(e) = evidence.get_mut(n as usize) {
                *e = true;
            }
        }
        let size = nodes.len() as u32;
        for x in 0..nodes.len() {
            for y in x + 1..nodes.len() {
                let (a, sa, ea) = nodes[x];
                let (b, sb, eb) = nodes[y];
                let same = common(&obs[sa..ea], &obs[sb..eb]);
                let (a, b) = if a < b { (a, b) } else { (b, a) };
                cand.push(((u64::from(a) << 32) | u64::from(b), same, size));
            }
        }
    }
    // The IPs of each node (public ones included): sharing a café or an office IP besides the
    // home is evidence that a household pair is one person.
    let mut node_ips: Vec<(u32, u32)> = obs.iter().map(|o| (o.1, o.0)).collect();
    drop(obs);
    node_ips.sort_unstable();
    node_ips.dedup();
    let ips_of = |n: u32| run_of(&node_ips, n, |x| x.0);
    cand.par_sort_unstable_by_key(|c| c.0);

    // Comparison levels of each distinct pair, in parallel over the runs of one pair.
    let width = FIELDS.len();
    let mut starts: Vec<usize> =
        (0..cand.len()).filter(|&k| k == 0 || cand[k].0 != cand[k - 1].0).collect();
    starts.push(cand.len());
    let norm = |c: &[(u32, u32, u32)]| -> f64 {
        c.iter().map(|x| f64::from(x.2) * f64::from(x.2)).sum::<f64>().sqrt()
    };
    let (pairs, levels): (Vec<(u32, u32)>, Vec<[u8; FIELDS.len()]>) = starts
        .par_windows(2)
        .map(|w| {
            let run = &cand[w[0]..w[1]];
            let key = run[0].0;
            let same_day: u32 = run.iter().map(|c| c.1).sum();
            let size = run.iter().map(|c| c.2).min().unwrap_or(u32::MAX);
            let (a, b) = ((key >> 32) as u32, key as u32);
            let shared = common_ips(ips_of(a), ips_of(b));
            // The time relation and the user agents are one field: they are far from
            // independent (two cookies alive together with the same browser are two devices,
            // so two people; the same browser taking over is one device with a new cookie).
            let time = match (act.span(a), act.span(b)) {
                (Some((fa, la)), Some((fb, lb))) => {
                    let overlap = i64::from(la.min(lb)) - i64::from(fa.max(fb));
                    if overlap <= 0 {
                        // One takes over from the other: the gap between them.
                        let gap = -overlap as f64 / 86_400.0;
                        band(gap, &[1.0, 7.0, 30.0])
                    } else {
                        let shorter = (la - fa).min(lb - fb).max(1);
                        4 + band(overlap as f64 / f64::from(shorter), &[0.25, 0.75])
                    }
                }
                _ => 0,
            };
            let agent = act.agent_level(a, b);
            let (ca, cb) = (act.categories_of(a), act.categories_of(b));
            let levels = [
                band(f64::from(size), &[3.0, 5.0, 9.0, 17.0]),
                band(f64::from(shared), &[2.0, 3.0]),
                if time == 0 && agent == 0 { 0 } else { 1 + time + 8 * agent },
                band(f64::from(same_day), &[1.0, 2.0, 4.0, 8.0]),
                match (act.dtype_of(a), act.dtype_of(b)) {
                    (0, _) | (_, 0) | (255, _) | (_, 255) => 0,
                    (x, y) if x == y => 1,
                    _ => 2,
                },
                if ca.is_empty() || cb.is_empty() {
                    0
                } else {
                    let cos = dot(ca, cb) / (norm(ca) * norm(cb));
                    6 - band(cos, &[0.5, 0.7, 0.85, 0.95])
                },
            ];
            ((a, b), levels)
        })
        .unzip();
    let levels: Vec<u8> = levels.into_flattened();
    drop(cand);
    report.candidate_pairs = pairs.len();

    // m and u from the pairs the deterministic links label.
    let mut counts = vec![[[1.0f64; MAX_LEVELS]; 2]; width];
    let mut labels: Vec<Option<bool>> = Vec::with_capacity(pairs.len());
    let (mut pos, mut tot) = (0usize, 0usize);
    for (p, &(a, b)) in pairs.iter().enumerate() {
        let (ra, rb) = (det[a as usize], det[b as usize]);
        let label = (anchored[ra as usize] && anchored[rb as usize]).then_some(ra == rb);
        if let Some(same) = label {
            tot += 1;
            pos += usize::from(same);
            for (f, &l) in levels[p * width..(p + 1) * width].iter().enumerate() {
                counts[f][usize::from(same)][l as usize] += 1.0;
            }
        }
        labels.push(label);
    }
    report.labelled_pairs = tot;
    report.labelled_same = pos;
    if tot == 0 || pos == 0 || pos == tot {
        return report; // nothing to learn from: no cross-device links
    }
    let fit = |counts: &[[[f64; MAX_LEVELS]; 2]], lambda: f64| -> Model {
        let fields = FIELDS
            .iter()
            .enumerate()
            .map(|(f, &(name, n))| {
                let dist = |c: &[f64; MAX_LEVELS]| {
                    let s: f64 = c[1..=n].iter().sum();
                    let mut v = vec![0.0; n + 1];
                    for l in 1..=n {
                        v[l] = c[l] / s;
                    }
                    v
                };
                FieldParams {
                    name: name.to_string(),
                    kind: CompareKind::Exact,
                    m: dist(&counts[f][1]),
                    u: dist(&counts[f][0]),
                    tf: false,
                    location: false,
                    home_u: None,
                    category: false,
                    u_across: None,
                    across_shift: None,
                    group: None,
                }
            })
            .collect();
        Model { fields, lambda, iterations: 0 }
    };
    let mut model = fit(&counts, pos as f64 / tot as f64);
    // The labelled pairs are those of known people, who log in and browse much more than the
    // rest: their level frequencies are a biased start. EM over every pair, the labelled ones
    // held at their labels, moves m, u and the share of matches to the whole population. It
    // runs over the unlabelled pairs' distinct level patterns with their counts (a few thousand
    // at most).
    let mut patterns: Vec<&[u8]> = levels
        .chunks_exact(width)
        .zip(&labels)
        .filter_map(|(l, label)| label.is_none().then_some(l))
        .collect();
    patterns.sort_unstable();
    let mut distinct: Vec<(&[u8], f64)> = Vec::new();
    for l in patterns {
        match distinct.last_mut() {
            Some((last, n)) if *last == l => *n += 1.0,
            _ => distinct.push((l, 1.0)),
        }
    }
    for _ in 0..EM_ROUNDS {
        let mut c = counts.clone();
        let mut same = pos as f64;
        for &(l, n) in &distinct {
            let q = model.probability(l);
            same += q * n;
            for (f, &x) in l.iter().enumerate() {
                c[f][1][x as usize] += q * n;
                c[f][0][x as usize] += (1.0 - q) * n;
            }
        }
        model = fit(&c, same / pairs.len() as f64);
    }
    model.iterations = EM_ROUNDS;
    let weight: Vec<f64> = levels.chunks_exact(width).map(|l| model.log_odds(l)).collect();

    // Calibration: isotonic regression of "same person" on the weight, over labelled pairs.
    let calib = Calibration::fit(
        weight.iter().zip(&labels).filter_map(|(&w, l)| l.map(|same| (w, same))).collect(),
    );

    // Each node keeps its best partners.
    let mut scored: Vec<(u32, u32, f32)> = Vec::new();
    for (p, &(a, b)) in pairs.iter().enumerate() {
        if det[a as usize] == det[b as usize] {
            continue;
        }
        let c = calib.confidence(weight[p]);
        if c >= 0.5 {
            scored.push((a, b, c as f32));
        }
    }
    let mut keep = vec![false; scored.len()];
    let mut by_node: Vec<(u32, f32, usize)> = Vec::with_capacity(2 * scored.len());
    for (s, &(a, b, c)) in scored.iter().enumerate() {
        by_node.push((a, c, s));
        by_node.push((b, c, s));
    }
    by_node.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.total_cmp(&x.1)).then(x.2.cmp(&y.2)));
    let mut run = 0;
    for (i, e) in by_node.iter().enumerate() {
        run = if i > 0 && by_node[i - 1].0 == e.0 { run + 1 } else { 0 };
        if run < BEST_PER_NODE {
            keep[e.2] = true;
        }
    }
    for (s, &(a, b, c)) in scored.iter().enumerate() {
        if keep[s] {
            g.link(a, b, Rule::CrossDevice, c);
            report.links += 1;
            report.links_90 += usize::from(c >= 0.9);
        }
    }
    report
}

/// IPs two identifiers share (both slices sorted by IP).
fn common_ips(a: &[(u32, u32)], b: &[(u32, u32)]) -> u32 {
    count_common(a, b, |x| x.1)
}

/// Days two identifiers were both seen on one IP (both slices sorted by day).
fn common(a: &[(u32, u32, u32)], b: &[(u32, u32, u32)]) -> u32 {
    count_common(a, b, |x| x.2)
}

/// How many keys two slices sorted by `key` share (a merge walk).
fn count_common<T>(a: &[T], b: &[T], key: impl Fn(&T) -> u32) -> u32 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match key(&a[i]).cmp(&key(&b[j])) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn dot(a: &[(u32, u32, u32)], b: &[(u32, u32, u32)]) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].1.cmp(&b[j].1) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += f64::from(a[i].2) * f64::from(b[j].2);
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// A monotone map from a match weight to the share of same-person pairs (isotonic regression by
/// pooling adjacent violators over weight bins of 0.25).
#[derive(Debug, Clone)]
pub struct Calibration {
    /// (lowest weight of the block, confidence), by increasing weight.
    blocks: Vec<(f64, f64)>,
}

impl Calibration {
    /// Fits on (weight, same person) examples.
    pub fn fit(mut examples: Vec<(f64, bool)>) -> Calibration {
        examples.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Bins of width 0.25 in weight: (lowest weight, positives, total).
        let mut bins: Vec<(f64, f64, f64)> = Vec::new();
        for (w, same) in examples {
            let key = (w * 4.0).floor() / 4.0;
            match bins.last_mut() {
                Some(b) if b.0 == key => {
                    b.1 += f64::from(u8::from(same));
                    b.2 += 1.0;
                }
                _ => bins.push((key, f64::from(u8::from(same)), 1.0)),
            }
        }
        // Pool adjacent violators on the smoothed shares.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for (w, p, t) in bins {
            blocks.push((w, p, t));
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (_, p1, t1) = blocks[n - 2];
                let (_, p2, t2) = blocks[n - 1];
                if (p1 + 0.5) / (t1 + 1.0) <= (p2 + 0.5) / (t2 + 1.0) {
                    break;
                }
                blocks.pop();
                let last = blocks.last_mut().expect("two blocks");
                last.1 = p1 + p2;
                last.2 = t1 + t2;
            }
        }
        Calibration {
            blocks: blocks.into_iter().map(|(w, p, t)| (w, (p + 0.5) / (t + 1.0))).collect(),
        }
    }

    /// The confidence of a pair of weight `w` (the block at or below it; the lowest block below
    /// every block; 0.5 of the raw weight when nothing was fitted).
    pub fn confidence(&self, w: f64) -> f64 {
        if self.blocks.is_empty() {
            return sigmoid(w).min(0.5);
        }
        let i = self.blocks.partition_point(|b| b.0 <= w);
        self.blocks[i.saturating_sub(1)].1
    }
}

#[cfg(test)]
mod tests {
    use super::super::graph::MergeRule;
    use super::*;

    #[test]
    fn calibration_is_monotone_and_follows_the_shares() {
        let mut ex = Vec::new();
        for i in 0..1000 {
            let w = f64::from(i) / 100.0 - 5.0; // -5 .. 5
                                                // The true share rises with w, with one noisy bump.
            let same = (i * 7919 % 1000) as f64 / 1000.0 < sigmoid(w);
            ex.push((w, same));
        }
        let c = Calibration::fit(ex);
        let mut prev = 0.0;
        for i in -60..60 {
            let x = c.confidence(f64::from(i) / 10.0);
            assert!(x >= prev, "monotone");
            prev = x;
        }
        assert!(c.confidence(-4.5) < 0.1 && c.confidence(4.5) > 0.9);
    }

    /// Links the households' pairs, clusters all links at confidence 0.5, and gives the report,
    /// the cluster roots and the nodes of the emails `a0` and `b0` (household 0's two people).
    fn link_households(g: &mut Graph, act: Activity) -> (CrossDeviceReport, Vec<u32>, u32, u32) {
        use super::super::graph::Kind;
        let mut evidence = vec![false; g.len()];
        let det = g.cluster(MergeRule::Deterministic, 100).roots;
        let r = link(g, act, 8, &det, &mut evidence);
        let roots =
            g.cluster(MergeRule::All { min_confidence: 0.5, min_crm_confidence: 0.5 }, 100).roots;
        let a0 = g.get(Kind::Email, "a0").unwrap();
        let b0 = g.get(Kind::Email, "b0").unwrap();
        (r, roots, a0, b0)
    }

    #[test]
    fn household_pairs_are_scored_from_deterministic_labels() {
        use super::super::graph::Kind;
        // Two households; in each, person A has a desktop and a phone (both logged in), and
        // person B a phone (logged in). Plus one anonymous phone that takes over from A's phone
        // in household 0, with A's tastes.
        let mut g = Graph::default();
        let mut act = Activity::default();
        let day = 86_400i64;
        let cats: Vec<u32> = (0..4).map(|i| act.category(&format!("c{i}"))).collect();
        let (desk, phone) = (act.device_type("desktop"), act.device_type("mobile"));
        let mut anon = 0;
        for h in 0..40u32 {
            let ip = act.ips.intern(0, &format!("10.0.0.{h}"));
            let ea = g.node(Kind::Email, &format!("a{h}"));
            let eb = g.node(Kind::Email, &format!("b{h}"));
            let a1 = g.node(Kind::Cookie, &format!("a1-{h}"));
            let a2 = g.node(Kind::Cookie, &format!("a2-{h}"));
            let b1 = g.node(Kind::Cookie, &format!("b1-{h}"));
            for (c, e) in [(a1, ea), (a2, ea), (b1, eb)] {
                g.link(c, e, Rule::Login, 1.0);
            }
            for d in 0..60 {
                act.see(a1, Some(ip), Some(d * day), Some(desk), Some(cats[0]), None);
                act.see(b1, Some(ip), Some(d * day + 7), Some(phone), Some(cats[2]), None);
                if d < 30 {
                    act.see(a2, Some(ip), Some(d * day + 5), Some(phone), Some(cats[0]), None);
                }
                act.see(a1, None, None, None, Some(cats[1]), None);
            }
            if h == 0 {
                anon = g.node(Kind::Cookie, "anon");
                for d in 31..60 {
                    act.see(anon, Some(ip), Some(d * day + 5), Some(phone), Some(cats[0]), None);
                }
            }
        }
        let (r, roots, a0, b0) = link_households(&mut g, act);
        assert!(r.labelled_pairs > 0 && r.labelled_same > 0, "{r:?}");
        assert_eq!(roots[anon as usize], roots[a0 as usize], "{r:?}");
        assert_ne!(roots[a0 as usize], roots[b0 as usize], "a household is not one person");
    }

    #[test]
    fn user_agents_tell_which_device_a_new_cookie_continues() {
        use super::super::graph::Kind;
        // Households of two people, both logged in: A on an iPhone, B on an Android phone,
        // each of whose cookie is reset halfway. In household 0, two anonymous cookies seen only
        // in the ad server's log (no category, no device type) take over: one with A's browser
        // a version later, one with B's.
        let mut g = Graph::default();
        let mut act = Activity::default();
        let day = 86_400i64;
        let ios = |v: u32| format!("Mozilla/5.0 (iPhone; CPU iPhone OS 18_{v}) Version/18.{v}");
        let android = |v: u32| format!("Mozilla/5.0 (Linux; Android 10; K) Chrome/{v}.0.0.0");
        assert_eq!(act.user_agent(&ios(1)), act.user_agent(&ios(1)));
        assert_ne!(act.user_agent(&ios(1)), act.user_agent(&ios(2)));
        let (mut anon_a, mut anon_b) = (0, 0);
        for h in 0..40u32 {
            let ip = act.ips.intern(0, &format!("10.0.1.{h}"));
            for (p, agent) in [("a", &ios as &dyn Fn(u32) -> String), ("b", &android)] {
                let e = g.node(Kind::Email, &format!("{p}{h}"));
                for half in 0..2i64 {
                    let c = g.node(Kind::Cookie, &format!("{p}{h}-{half}"));
                    g.link(c, e, Rule::Login, 1.0);
                    let ua = act.user_agent(&agent(1 + half as u32));
                    for d in half * 30..half * 30 + 30 {
                        act.see(c, Some(ip), Some(d * day + 9), None, None, Some(ua));
                    }
                }
            }
            if h == 0 {
                anon_a = g.node(Kind::Cookie, "anon-a");
                anon_b = g.node(Kind::Cookie, "anon-b");
                let (ua, ub) = (act.user_agent(&ios(3)), act.user_agent(&android(3)));
                for d in [65, 80] {
                    act.see(anon_a, Some(ip), Some(d * day), None, None, Some(ua));
                    act.see(anon_b, Some(ip), Some(d * day + 3600), None, None, Some(ub));
                }
            }
        }
        let (r, roots, a0, b0) = link_households(&mut g, act);
        assert_eq!(roots[anon_a as usize], roots[a0 as usize], "{r:?}");
        assert_eq!(roots[anon_b as usize], roots[b0 as usize], "{r:?}");
        assert_ne!(roots[a0 as usize], roots[b0 as usize], "a household is not one person");
    }

    #[test]
    fn update_lag_tells_two_browsers_of_one_family_apart() {
        // Chrome releases a version every 30 days. Nodes 0-9 update at once; node 10 runs one
        // version behind; from day 61, node 11 runs the version before the newest (which node 0
        // ran too, on days 30-59) and node 12 the newest. Node 13 is Safari; node 14 an up to
        // date Chrome seen on day 5 only.
        let mut act = Activity::default();
        let day = 86_400i64;
        let chrome =
            |v: i64| format!("Mozilla/5.0 (Windows NT 10.0) Chrome/{v}.0.0.0 Safari/537.36");
        let version = |d: i64, lag: i64| 100 + d / 30 - lag;
        let see = |act: &mut Activity, node: u32, d: i64, ua: &str| {
            let a = act.user_agent(ua);
            act.see(node, None, Some(d * day), None, None, Some(a));
        };
        for d in 0..61 {
            for n in 0..10 {
                see(&mut act, n, d, &chrome(version(d, 0)));
            }
            see(&mut act, 10, d, &chrome(version(d, 1)));
        }
        for d in [61, 70] {
            see(&mut act, 11, d, &chrome(version(d, 1)));
            see(&mut act, 12, d, &chrome(version(d, 0)));
        }
        see(&mut act, 13, 5, "Mozilla/5.0 (Macintosh) Version/18.1 Safari/605.1.15");
        see(&mut act, 14, 5, &chrome(version(5, 0)));
        act.compact();
        act.lags();
        assert_eq!(&act.lag[..15], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
        // Node 11 shares a version with node 0 but not its lag: the same family, another lag.
        assert_eq!(act.agent_level(0, 11), 3);
        // With node 10 it shares a version and the lag.
        assert_eq!(act.agent_level(10, 11), 1);
        // Node 12 shares the lag of node 14 but no version: the same family and lag.
        assert_eq!(act.agent_level(12, 14), 2);
        assert_eq!(act.agent_level(12, 10), 3);
        assert_eq!(act.agent_level(0, 13), 4);
        assert_eq!(act.agent_level(0, 99), 0, "a node never seen with an agent");
    }
}
