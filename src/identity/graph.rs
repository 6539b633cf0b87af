//! The identity graph: identifiers as nodes, links with their evidence, clusters by union-find.
//!
//! Owns the [`Interner`] (one byte arena and a table of 64-bit hashes: each distinct string is
//! stored once, and a node is a `u32`), the node kinds, the link list (each link keeps its rule
//! and score, so switching the merge rule needs no new matching), the over-merging guards on hub
//! identifiers, and union-find with a cluster-size cap and the anchor guard of cross-device links.
//!
//! It does not own where links come from (see [`super`]) or pid assignment.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

/// What kind of identifier a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A CRM customer id.
    CustomerId,
    /// SHA-256 of a trim+lowercase email.
    Email,
    /// SHA-256 of the canonical mailbox (Gmail dots and `+tags` removed), for CRM matching.
    EmailCanon,
    /// SHA-256 of an E.164 phone.
    Phone,
    /// A loyalty card number.
    LoyaltyCard,
    /// A first-party cookie.
    Cookie,
    /// A mobile advertising id.
    Device,
    /// A partner's cookie (2nd party).
    PartnerCookie,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 8] = [
        Kind::CustomerId,
        Kind::Email,
        Kind::EmailCanon,
        Kind::Phone,
        Kind::LoyaltyCard,
        Kind::Cookie,
        Kind::Device,
        Kind::PartnerCookie,
    ];

    /// The key prefix, as in `cookie:abc`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CustomerId => "customer_id",
            Kind::Email => "email",
            Kind::EmailCanon => "email_canon",
            Kind::Phone => "phone",
            Kind::LoyaltyCard => "loyalty_card",
            Kind::Cookie => "cookie",
            Kind::Device => "device",
            Kind::PartnerCookie => "partner_cookie",
        }
    }

    /// The kind called `name` (see [`Kind::name`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True for the identifiers of the digital world.
    pub fn is_digital(self) -> bool {
        matches!(self, Kind::Cookie | Kind::Device | Kind::PartnerCookie)
    }

    /// True for identifiers that name one known person (a customer record, an email, a phone, a
    /// loyalty card): two clusters that both hold one are two known people, which household
    /// evidence alone must never join.
    pub fn is_anchor(self) -> bool {
        matches!(
            self,
            Kind::CustomerId | Kind::Email | Kind::EmailCanon | Kind::Phone | Kind::LoyaltyCard
        )
    }
}

/// Why two identifiers are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A CRM record carries both (its customer id and its email, phone or loyalty card); two
    /// records sharing a normalised email or phone meet through it. Also the canonical mailbox
    /// of a CRM email (Gmail dots and `+tags` removed) with the same address seen as such
    /// elsewhere (a login's hashed email).
    CrmRecord,
    /// An online order or a receipt names both a customer id and a loyalty card.
    Receipt,
    /// A cookie logged in with a hashed email.
    Login,
    /// An app event carries both a device id and a cookie.
    AppDevice,
    /// A partner cookie sync.
    PartnerSync,
    /// Fellegi-Sunter match of two CRM records (score = match probability).
    CrmProbabilistic,
    /// A customer's online orders matched to the web purchases of a cookie, device or login
    /// email by time and category (score = confidence; see [`super::orders`]).
    OrderMatch,
    /// Cookies seen on one household IP with similar behaviour (score = confidence).
    CrossDevice,
}

impl Rule {
    /// Deterministic rules need no score.
    pub fn is_deterministic(self) -> bool {
        !matches!(self, Rule::CrmProbabilistic | Rule::OrderMatch | Rule::CrossDevice)
    }
}

/// A link between two nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// First node.
    pub a: u32,
    /// Second node.
    pub b: u32,
    /// The evidence.
    pub rule: Rule,
    /// 1 for deterministic links, the probability or confidence otherwise.
    pub score: f32,
}

/// Which links build profiles (as in Adobe AAM's profile merge rules).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MergeRule {
    /// Deterministic links only (for compliance-sensitive destinations).
    Deterministic,
    /// Deterministic links plus probabilistic ones at or above the confidence.
    All {
        /// Minimum score of a probabilistic link.
        min_confidence: f32,
        /// Minimum score of a CRM-to-CRM probabilistic link (never below `min_confidence`): it
        /// merges two customer records, two known people, so it needs more than a device link.
        min_crm_confidence: f32,
    },
}

impl MergeRule {
    /// Whether `link` takes part under this rule.
    pub fn admits(&self, link: &Link) -> bool {
        match self {
            MergeRule::Deterministic => link.rule.is_deterministic(),
            MergeRule::All { min_confidence, min_crm_confidence } => {
                let min = if link.rule == Rule::CrmProbabilistic {
                    min_confidence.max(*min_crm_confidence)
                } else {
                    *min_confidence
                };
                link.rule.is_deterministic() || link.score >= min
            }
        }
    }
}

/// A hasher for keys that already are well-mixed 64-bit hashes: it passes them through.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// The splitmix64 finaliser: a bijection on u64 with full avalanche.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit hash of `(tag, bytes)`: 8 bytes at a time through the splitmix64 finaliser.
pub fn key_hash(tag: u8, bytes: &[u8]) -> u64 {
    let mut h = mix(0x9E37_79B9_7F4A_7C15 ^ (u64::from(tag) << 56) ^ bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h ^ u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h ^ u64::from_le_bytes(w) ^ 0xff);
    }
    h
}

/// Strings interned as dense `u32` ids: every distinct `(tag, string)` is stored once in one byte
/// arena, found through its 64-bit hash. Two strings with the same hash (about one chance in
/// 2^64 per pair) are told apart by a small overflow map, so interning is exact.
#[derive(Debug, Default)]
pub struct Interner {
    arena: Vec<u8>,
    ends: Vec<u64>,
    tags: Vec<u8>,
    index: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    overflow: HashMap<(u8, Box<str>), u32>,
}

impl Interner {
    /// The id of `(tag, s)`, created when new.
    pub fn intern(&mut self, tag: u8, s: &str) -> u32 {
        let h = key_hash(tag, s.as_bytes());
        match self.index.get(&h) {
            None => {
                let n = self.push(tag, s);
                self.index.insert(h, n);
                n
            }
            Some(&n) if self.tags[n as usize] == tag && self.get_str(n) == s => n,
            Some(_) => {
                if let Some(&n) = self.overflow.get(&(tag, Box::from(s))) {
                    return n;
                }
                let n = self.push(tag, s);
                self.overflow.insert((tag, Box::from(s)), n);
                n
            }
        }
    }

    /// The id of `(tag, s)` if it was interned.
    pub fn find(&self, tag: u8, s: &str) -> Option<u32> {
        match self.index.get(&key_hash(tag, s.as_bytes())) {
            Some(&n) if self.tags[n as usize] == tag && self.get_str(n) == s => Some(n),
            Some(_) => self.overflow.get(&(tag, Box::from(s))).copied(),
            None => None,
        }
    }

    fn push(&mut self, tag: u8, s: &str) -> u32 {
        let n = u32::try_from(self.ends.len()).expect("fewer than 2^32 identifiers");
        self.arena.extend_from_slice(s.as_bytes());
        self.ends.push(self.arena.len() as u64);
        self.tags.push(tag);
        n
    }

    /// The string of id `n`.
    pub fn get_str(&self, n: u32) -> &str {
        let end = self.ends[n as usize] as usize;
        let start = if n == 0 { 0 } else { self.ends[n as usize - 1] as usize };
        std::str::from_utf8(&self.arena[start..end]).expect("interned from a str")
    }

    /// The tag of id `n`.
    pub fn tag(&self, n: u32) -> u8 {
        self.tags[n as usize]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Nodes and links.
#[derive(Debug, Default)]
pub struct Graph {
    ids: Interner,
    /// All links; [`Graph::dedup_links`] sorts them by (a, b, rule) and keeps one of each.
    pub links: Vec<Link>,
    next_dedup: usize,
}

/// The result of [`Graph::cluster`].
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// The cluster root of each node.
    pub roots: Vec<u32>,
    /// Unions refused by the size cap.
    pub refused_cap: usize,
    /// Cross-device unions refused because both sides already were known people.
    pub refused_anchor: usize,
}

impl Graph {
    /// The node of `(kind, value)`, created when new.
    pub fn node(&mut self, kind: Kind, value: &str) -> u32 {
        self.ids.intern(kind as u8, value)
    }

    /// The node of `(kind, value)` if it exists.
    pub fn get(&self, kind: Kind, value: &str) -> Option<u32> {
        self.ids.find(kind as u8, value)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there is no node.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The kind of node `n`.
    pub fn kind(&self, n: u32) -> Kind {
        Kind::ALL[self.ids.tag(n) as usize]
    }

    /// The value of node `n`.
    pub fn value(&self, n: u32) -> &str {
        self.ids.get_str(n)
    }

    /// `kind:value` of a node.
    pub fn key(&self, n: u32) -> String {
        format!("{}:{}", self.kind(n).name(), self.value(n))
    }

    /// Adds a link (duplicates are removed by [`Graph::dedup_links`], also run from time to time
    /// here so that repeated evidence does not pile up).
    pub fn link(&mut self, a: u32, b: u32, rule: Rule, score: f32) {
        if a == b {
            return;
        }
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        self.links.push(Link { a, b, rule, score });
        if self.links.len() >= self.next_dedup.max(1 << 20) {
            self.dedup_links();
            self.next_dedup = 2 * self.links.len();
        }
    }

    /// Sorts the links by (a, b, rule) and keeps one per triple, with the highest score.
    pub fn dedup_links(&mut self) {
        self.links.sort_unstable_by(|x, y| {
            (x.a, x.b, x.rule).cmp(&(y.a, y.b, y.rule)).then(y.score.total_cmp(&x.score))
        });
        self.links.dedup_by(|later, first| {
            (later.a, later.b, later.rule) == (first.a, first.b, first.rule)
        });
    }

    /// Drops the links of hub identifiers: an identifier of `hub` kind linked to more than
    /// `max` distinct nodes of `other` kind is shared (a family phone, a shop's loyalty card, a
    /// public computer) and is weak evidence. Returns how many hubs were cut.
    pub fn cut_hubs(&mut self, hub: Kind, other: Kind, max: usize) -> usize {
        self.dedup_links();
        let mut degree = vec![0u32; self.len()];
        let mut prev = None;
        for l in &self.links {
            if prev == Some((l.a, l.b)) {
                continue; // the same pair under another rule
            }
            prev = Some((l.a, l.b));
            for (x, y) in [(l.a, l.b), (l.b, l.a)] {
                if self.kind(x) == hub && self.kind(y) == other {
                    degree[x as usize] += 1;
                }
            }
        }
        let hubs = degree.iter().filter(|&&d| d as usize > max).count();
        let kinds: Vec<Kind> = (0..self.len() as u32).map(|n| self.kind(n)).collect();
        self.links.retain(|l| {
            let cut =
                |x: u32, y: u32| degree[x as usize] as usize > max && kinds[y as usize] == other;
            !(cut(l.a, l.b) || cut(l.b, l.a))
        });
        hubs
    }

    /// Clusters under `rule`, refusing any union that would make a cluster larger than `cap`
    /// nodes. Returns each node's cluster root and the number of refused unions.
    pub fn clusters(&self, rule: MergeRule, cap: usize) -> (Vec<u32>, usize) {
        let c = self.cluster(rule, cap);
        (c.roots, c.refused_cap + c.refused_anchor)
    }

    /// Clusters under `rule`: deterministic links first, then probabilistic ones by decreasing
    /// score, so the cap keeps the best evidence. A union that would make a cluster larger than
    /// `cap` nodes is refused, and so is a cross-device union of two clusters that both hold an
    /// anchor ([`Kind::is_anchor`]): household evidence may attach devices to a known person, it
    /// never joins two known people.
    pub fn cluster(&self, rule: MergeRule, cap: usize) -> Clustering {
        let mut uf = UnionFind::new(self.len());
        let mut anchored: Vec<bool> =
            (0..self.len() as u32).map(|n| self.kind(n).is_anchor()).collect();
        let mut out = Clustering::default();
        let mut probabilistic: Vec<&Link> = Vec::new();
        for l in self.links.iter().filter(|l| rule.admits(l)) {
            if l.rule.is_deterministic() {
                if !uf.union(l.a, l.b, cap) {
                    out.refused_cap += 1;
                }
            } else {
                probabilistic.push(l);
            }
        }
        // Anchors of each root after the deterministic unions.
        for n in 0..self.len() as u32 {
            if anchored[n as usize] {
                let r = uf.find(n) as usize;
                anchored[r] = true;
            }
        }
        probabilistic.sort_by(|x, y| y.score.total_cmp(&x.score).then((x.a, x.b).cmp(&(y.a, y.b))));
        for l in probabilistic {
            let (ra, rb) = (uf.find(l.a), uf.find(l.b));
            if ra == rb {
                continue;
            }
            if l.rule == Rule::CrossDevice && anchored[ra as usize] && anchored[rb as usize] {
                out.refused_anchor += 1;
                continue;
            }
            if !uf.union(ra, rb, cap) {
                out.refused_cap += 1;
                continue;
            }
            let r = uf.find(ra) as usize;
            anchored[r] = anchored[ra as usize] || anchored[rb as usize];
        }
        out.roots = (0..self.len() as u32).map(|n| uf.find(n)).collect();
        out
    }
}

/// Union-find with union by size and path halving.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    /// The root of `x`.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    /// Joins the sets of `a` and `b` unless the result would exceed `cap`; false when refused.
    pub fn union(&mut self, a: u32, b: u32, cap: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let total = (self.size[ra as usize] + self.size[rb as usize]) as usize;
        if total > cap {
            return false;
        }
        // The smaller index stays the root, so roots do not depend on the order of unions
        // among equals.
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone as usize] = keep;
        self.size[keep as usize] = total as u32;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_caps_cluster_size() {
        let mut uf = UnionFind::new(5);
        assert!(uf.union(0, 1, 3));
        assert!(uf.union(1, 2, 3));
        assert!(!uf.union(2, 3, 3), "a 4th member exceeds the cap");
        assert_eq!(uf.find(2), 0);
        assert_ne!(uf.find(3), 0);
    }

    #[test]
    fn interning_is_exact_and_stores_each_string_once() {
        let mut ids = Interner::default();
        let a = ids.intern(1, "abc");
        let b = ids.intern(2, "abc");
        assert_ne!(a, b, "the tag is part of the key");
        assert_eq!(ids.intern(1, "abc"), a);
        assert_eq!(ids.find(2, "abc"), Some(b));
        assert_eq!(ids.find(1, "abd"), None);
        assert_eq!(ids.get_str(b), "abc");
        let long = "x".repeat(41);
        let c = ids.intern(1, &long);
        assert_eq!(ids.get_str(c), long);
        assert_eq!(ids.len(), 3);
        // A forced hash collision is still told apart through the overflow map.
        let h = key_hash(3, b"first");
        ids.index.insert(h, a);
        assert_eq!(ids.find(3, "first"), None);
        let n = ids.intern(3, "first");
        assert_ne!(n, a);
        assert_eq!(ids.find(3, "first"), Some(n));
        assert_eq!(ids.intern(3, "first"), n);
    }

    #[test]
    fn hubs_are_cut_and_merge_rules_differ() {
        let mut g = Graph::default();
        let phone = g.node(Kind::Phone, "p");
        let customers: Vec<u32> =
            (0..5).map(|i| g.node(Kind::CustomerId, &i.to_string())).collect();
        for &c in &customers {
            g.link(c, phone, Rule::CrmRecord, 1.0);
        }
        let c1 = g.node(Kind::Cookie, "c1");
        let c2 = g.node(Kind::Cookie, "c2");
        g.link(customers[0], c1, Rule::Login, 1.0);
        g.link(c1, c2, Rule::CrossDevice, 0.95);
        assert_eq!(g.cut_hubs(Kind::Phone, Kind::CustomerId, 3), 1);
        let (det, _) = g.clusters(MergeRule::Deterministic, 100);
        assert_ne!(det[customers[0] as usize], det[customers[1] as usize], "shared phone cut");
        assert_ne!(det[c1 as usize], det[c2 as usize]);
        let (all, _) =
            g.clusters(MergeRule::All { min_confidence: 0.9, min_crm_confidence: 0.9 }, 100);
        assert_eq!(all[c1 as usize], all[c2 as usize]);
        let (strict, _) =
            g.clusters(MergeRule::All { min_confidence: 0.99, min_crm_confidence: 0.99 }, 100);
        assert_ne!(strict[c1 as usize], strict[c2 as usize]);
        // A CRM-to-CRM link at 0.97 merges two customers only under a CRM bar at or below it; the
        // device link at 0.95 is judged by the general bar.
        g.link(customers[3], customers[4], Rule::CrmProbabilistic, 0.97);
        let rule = |crm| MergeRule::All { min_confidence: 0.9, min_crm_confidence: crm };
        let (lax, _) = g.clusters(rule(0.95), 100);
        assert_eq!(lax[customers[3] as usize], lax[customers[4] as usize]);
        let (crm_strict, _) = g.clusters(rule(0.99), 100);
        assert_ne!(crm_strict[customers[3] as usize], crm_strict[customers[4] as usize]);
        assert_eq!(crm_strict[c1 as usize], crm_strict[c2 as usize]);
    }

    #[test]
    fn cross_device_never_joins_two_known_people() {
        let mut g = Graph::default();
        let (e1, e2) = (g.node(Kind::Email, "e1"), g.node(Kind::Email, "e2"));
        let (c1, c2, c3) =
            (g.node(Kind::Cookie, "c1"), g.node(Kind::Cookie, "c2"), g.node(Kind::Cookie, "c3"));
        g.link(e1, c1, Rule::Login, 1.0);
        g.link(e2, c2, Rule::Login, 1.0);
        g.link(c1, c2, Rule::CrossDevice, 0.99);
        g.link(c2, c3, Rule::CrossDevice, 0.95);
        g.link(c1, c3, Rule::CrossDevice, 0.93);
        let c = g.cluster(MergeRule::All { min_confidence: 0.9, min_crm_confidence: 0.9 }, 100);
        assert_ne!(c.roots[e1 as usize], c.roots[e2 as usize], "two emails stay apart");
        assert_eq!(c.roots[c3 as usize], c.roots[c2 as usize], "the anonymous cookie attaches");
        assert_eq!(c.refused_anchor, 2);
        g.link(e1, e2, Rule::CrmRecord, 1.0);
        let c = g.cluster(MergeRule::All { min_confidence: 0.9, min_crm_confidence: 0.9 }, 100);
        assert_eq!(c.roots[e1 as usize], c.roots[e2 as usize]);
    }
}
