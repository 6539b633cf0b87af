//! The identity graph: identifiers as nodes, links with their evidence, clusters by union-find.
//!
//! Owns the node interner (`kind:value` keys), the link list (each link keeps its rule and
//! score, so switching the merge rule needs no new matching), the over-merging guards on hub
//! identifiers, and union-find with a cluster-size cap.
//!
//! It does not own where links come from (see [`super`]) or pid assignment.

use std::collections::HashMap;

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

    /// True for the identifiers of the digital world.
    pub fn is_digital(self) -> bool {
        matches!(self, Kind::Cookie | Kind::Device | Kind::PartnerCookie)
    }
}

/// Why two identifiers are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A CRM record carries both (its customer id and its email, phone or loyalty card); two
    /// records sharing a normalised email or phone meet through it.
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
    /// Cookies seen on one household IP with similar behaviour (score = confidence).
    CrossDevice,
}

impl Rule {
    /// Deterministic rules need no score.
    pub fn is_deterministic(self) -> bool {
        !matches!(self, Rule::CrmProbabilistic | Rule::CrossDevice)
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
    },
}

impl MergeRule {
    /// Whether `link` takes part under this rule.
    pub fn admits(&self, link: &Link) -> bool {
        match self {
            MergeRule::Deterministic => link.rule.is_deterministic(),
            MergeRule::All { min_confidence } => {
                link.rule.is_deterministic() || link.score >= *min_confidence
            }
        }
    }
}

/// Nodes and links.
#[derive(Debug, Default)]
pub struct Graph {
    /// `(kind, value)` of each node, in first-seen order.
    pub nodes: Vec<(Kind, String)>,
    index: HashMap<(Kind, String), u32>,
    /// All links, deduplicated by (a, b, rule).
    pub links: Vec<Link>,
    seen: std::collections::HashSet<(u32, u32, Rule)>,
}

impl Graph {
    /// The node of `(kind, value)`, created when new.
    pub fn node(&mut self, kind: Kind, value: &str) -> u32 {
        if let Some(&n) = self.index.get(&(kind, value.to_string())) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push((kind, value.to_string()));
        self.index.insert((kind, value.to_string()), n);
        n
    }

    /// The node of `(kind, value)` if it exists.
    pub fn get(&self, kind: Kind, value: &str) -> Option<u32> {
        self.index.get(&(kind, value.to_string())).copied()
    }

    /// `kind:value` of a node.
    pub fn key(&self, n: u32) -> String {
        let (k, v) = &self.nodes[n as usize];
        format!("{}:{v}", k.name())
    }

    /// Adds a link once.
    pub fn link(&mut self, a: u32, b: u32, rule: Rule, score: f32) {
        if a == b {
            return;
        }
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        if self.seen.insert((a, b, rule)) {
            self.links.push(Link { a, b, rule, score });
        }
    }

    /// Drops the links of hub identifiers: an identifier of `hub` kind linked to more than
    /// `max` distinct nodes of `other` kind is shared (a family phone, a shop's loyalty card, a
    /// public computer) and is weak evidence. Returns how many hubs were cut.
    pub fn cut_hubs(&mut self, hub: Kind, other: Kind, max: usize) -> usize {
        let mut degree: HashMap<u32, usize> = HashMap::new();
        for l in &self.links {
            for (x, y) in [(l.a, l.b), (l.b, l.a)] {
                if self.nodes[x as usize].0 == hub && self.nodes[y as usize].0 == other {
                    *degree.entry(x).or_default() += 1;
                }
            }
        }
        let hubs: std::collections::HashSet<u32> =
            degree.into_iter().filter(|(_, d)| *d > max).map(|(n, _)| n).collect();
        let nodes = &self.nodes;
        self.links.retain(|l| {
            !((hubs.contains(&l.a) && nodes[l.b as usize].0 == other)
                || (hubs.contains(&l.b) && nodes[l.a as usize].0 == other))
        });
        hubs.len()
    }

    /// Clusters under `rule`, refusing any union that would make a cluster larger than `cap`
    /// nodes. Returns each node's cluster root and the number of refused unions.
    pub fn clusters(&self, rule: MergeRule, cap: usize) -> (Vec<u32>, usize) {
        let mut uf = UnionFind::new(self.nodes.len());
        let mut refused = 0;
        // Strongest evidence first, so the cap keeps the best links.
        let mut order: Vec<&Link> = self.links.iter().filter(|l| rule.admits(l)).collect();
        order.sort_by(|x, y| y.score.total_cmp(&x.score).then((x.a, x.b).cmp(&(y.a, y.b))));
        for l in order {
            if !uf.union(l.a, l.b, cap) {
                refused += 1;
            }
        }
        ((0..self.nodes.len() as u32).map(|n| uf.find(n)).collect(), refused)
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
        let (all, _) = g.clusters(MergeRule::All { min_confidence: 0.9 }, 100);
        assert_eq!(all[c1 as usize], all[c2 as usize]);
        let (strict, _) = g.clusters(MergeRule::All { min_confidence: 0.99 }, 100);
        assert_ne!(strict[c1 as usize], strict[c2 as usize]);
    }
}
