//! Clusters: records joined by accepted pairs, through a union-find with a size cap.
//!
//! Owns [`Clusters`] and [`cluster`]: pairs are merged in order of decreasing probability; a merge
//! that would make a cluster larger than the cap is refused and counted (a chain of weak links
//! otherwise glues thousands of records into one "person"), and so is a merge of two clusters
//! whose compared pairs were mostly rejected (average linkage over the pairs compared: one
//! accepted pair between two people's records does not outweigh the others that told them
//! apart). Cluster numbers are dense, in the order of each cluster's first record.
//!
//! It does not own which pairs are accepted ([`super`]).

use rayon::prelude::*;

use crate::hash::FxHashMap;

/// A union-find over `n` records with a cluster size cap.
#[derive(Debug, Clone)]
pub struct Clusters {
    parent: Vec<u32>,
    size: Vec<u32>,
    cap: usize,
    /// Merges refused because of the cap.
    pub refused: usize,
}

impl Clusters {
    /// `n` singleton clusters; no cluster may grow beyond `cap` records (at least 2).
    pub fn new(n: usize, cap: usize) -> Self {
        Clusters { parent: (0..n as u32).collect(), size: vec![1; n], cap: cap.max(2), refused: 0 }
    }

    /// The representative of `x`'s cluster.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let p = self.parent[x] as usize;
            self.parent[x] = self.parent[p];
            x = p;
        }
        x
    }

    /// Merges the clusters of `a` and `b` unless the result would exceed the cap. Returns
    /// whether they are in one cluster afterwards.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if (self.size[ra] + self.size[rb]) as usize > self.cap {
            self.refused += 1;
            return false;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] { (ra, rb) } else { (rb, ra) };
        self.parent[small] = big as u32;
        self.size[big] += self.size[small];
        true
    }

    /// Dense cluster number per record, numbered in order of each cluster's first record.
    pub fn labels(&mut self) -> Vec<usize> {
        let n = self.parent.len();
        let mut number = vec![usize::MAX; n];
        let mut next = 0;
        (0..n)
            .map(|i| {
                let r = self.find(i);
                if number[r] == usize::MAX {
                    number[r] = next;
                    next += 1;
                }
                number[r]
            })
            .collect()
    }
}

/// A merge of two clusters needs at least this share of the compared pairs between them
/// accepted (the accepted pair that proposes the merge counts).
pub const MIN_ACCEPTED_SHARE: f64 = 0.5;

/// The share is measured on the compared pairs of the smaller cluster's records, in turn, until
/// this many pairs with the other cluster are seen...
const SAMPLE_PAIRS: usize = 512;
/// ... or this many compared pairs were looked at, so that one decision between two large
/// clusters costs a bounded time.
const SAMPLE_SCAN: usize = 16_384;

/// The result of [`cluster`].
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// Dense cluster number per record, in order of each cluster's first record.
    pub labels: Vec<usize>,
    /// Accepted pairs not merged because their two clusters together would exceed the cap
    /// (counted for each such pair).
    pub refused_cap: usize,
    /// Merges refused because most compared pairs between the two clusters were rejected.
    pub refused_split: usize,
}

/// Clusters `n` records from the accepted `pairs` (record indices and probability), strongest
/// first, with clusters of at most `cap` records. `compared` lists every compared pair
/// (accepted or not; each call starts the list again): two clusters merge only when at least
/// [`MIN_ACCEPTED_SHARE`] of the compared pairs between them were accepted, so one weak pair
/// cannot chain two people whose other records were compared and told apart. Pairs never
/// compared are no evidence either way.
pub fn cluster<I: Iterator<Item = (usize, usize)>>(
    n: usize,
    pairs: &[(usize, usize, f64)],
    compared: impl Fn() -> I,
    cap: usize,
) -> Clustering {
    // Strongest first, then by records: sorted as integers, without reaching back into `pairs`.
    let mut order: Vec<(u64, u64)> =
        pairs.par_iter().map(|&(a, b, p)| (descending(p), ((a as u64) << 32) | b as u64)).collect();
    order.par_sort_unstable();
    // The compared pairs between records of some accepted pair, as adjacency lists; the top bit
    // of a neighbour marks an accepted pair.
    const ACCEPTED: u32 = 1 << 31;
    let mut in_pair = vec![false; n];
    for &(a, b, _) in pairs {
        in_pair[a] = true;
        in_pair[b] = true;
    }
    let key = |a: usize, b: usize| ((a.min(b) as u64) << 32) | a.max(b) as u64;
    let mut accepted: Vec<u64> = pairs.par_iter().map(|&(a, b, _)| key(a, b)).collect();
    accepted.par_sort_unstable();
    // Whether a compared pair was accepted: a walk along `accepted` while the compared pairs come
    // in order (the blocked pairs do), a binary search where they go back.
    let (mut at, mut last) = (0, 0);
    let mut is_accepted = |k: u64| {
        if k < last {
            at = accepted.partition_point(|&x| x < k);
        }
        last = k;
        while at < accepted.len() && accepted[at] < k {
            at += 1;
        }
        at < accepted.len() && accepted[at] == k
    };
    let mut start = vec![0u32; n + 1];
    for (a, b) in compared() {
        if in_pair[a] && in_pair[b] {
            start[a + 1] += 1;
            start[b + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut adj = vec![0u32; start[n] as usize];
    let mut fill = start.clone();
    for (a, b) in compared() {
        if in_pair[a] && in_pair[b] {
            let flag = if is_accepted(key(a, b)) { ACCEPTED } else { 0 };
            adj[fill[a] as usize] = b as u32 | flag;
            fill[a] += 1;
            adj[fill[b] as usize] = a as u32 | flag;
            fill[b] += 1;
        }
    }
    drop(fill);

    let mut uf = Clusters::new(n, cap);
    // Members of each cluster as a circular list.
    let mut next: Vec<u32> = (0..n as u32).collect();
    // Refused merges by cluster pair, with their combined size then: asked again only once the
    // two have grown by a quarter (a root only grows, so a share measured on most of the same
    // records stands).
    let mut refused: FxHashMap<(usize, usize), u32> = FxHashMap::default();
    let mut refused_split = 0;
    for (_, ab) in order {
        let (ra, rb) = (uf.find((ab >> 32) as usize), uf.find((ab & 0xffff_ffff) as usize));
        if ra == rb {
            continue;
        }
        let total = uf.size[ra] + uf.size[rb];
        // Too large to join whatever the pairs between them say: refused before they are read.
        if total as usize > uf.cap {
            uf.refused += 1;
            continue;
        }
        let key = (ra.min(rb), ra.max(rb));
        if refused.get(&key).is_some_and(|&then| 4 * total < 5 * then) {
            continue;
        }
        let (small, big) = if uf.size[ra] <= uf.size[rb] { (ra, rb) } else { (rb, ra) };
        let (mut seen, mut yes, mut scanned) = (0usize, 0usize, 0usize);
        let mut m = small;
        while seen < SAMPLE_PAIRS && scanned < SAMPLE_SCAN {
            let list = &adj[start[m] as usize..start[m + 1] as usize];
            scanned += list.len();
            for &v in list {
                if uf.find((v & !ACCEPTED) as usize) == big {
                    seen += 1;
                    yes += usize::from(v & ACCEPTED != 0);
                }
            }
            m = next[m] as usize;
            if m == small {
                break;
            }
        }
        if (yes as f64) < MIN_ACCEPTED_SHARE * seen as f64 {
            refused.insert(key, total);
            refused_split += 1;
            continue;
        }
        if uf.union(ra, rb) {
            next.swap(ra, rb);
        }
    }
    Clustering { labels: uf.labels(), refused_cap: uf.refused, refused_split }
}

/// A key that sorts probabilities from the highest down, in `f64::total_cmp`'s order reversed.
fn descending(p: f64) -> u64 {
    let bits = p.to_bits();
    // As unsigned integers in ascending order: positives above negatives, negatives reversed.
    let ascending = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    !ascending
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clusters with only the accepted pairs compared.
    fn accepted_only(n: usize, pairs: &[(usize, usize, f64)], cap: usize) -> (Vec<usize>, usize) {
        let c = cluster(n, pairs, || pairs.iter().map(|p| (p.0, p.1)), cap);
        assert_eq!(c.refused_split, 0);
        (c.labels, c.refused_cap)
    }

    #[test]
    fn probabilities_sort_from_the_highest_down() {
        let mut ps = vec![0.5, 1.0, -0.0, 0.0, 0.999_999, 1e-300, -2.0, f64::INFINITY, 0.25];
        let mut by_key = ps.clone();
        by_key.sort_by_key(|&p| descending(p));
        ps.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(by_key, ps);
    }

    #[test]
    fn pairs_join_records_transitively() {
        let (labels, refused) = accepted_only(5, &[(0, 1, 0.9), (1, 2, 0.8), (3, 4, 0.7)], 10);
        assert_eq!(labels, vec![0, 0, 0, 1, 1]);
        assert_eq!(refused, 0);
    }

    #[test]
    fn the_cap_refuses_the_weakest_merges() {
        // A chain 0-1-2-3-4: with a cap of 2, the strongest links win and the rest are refused.
        let pairs = [(0, 1, 0.6), (1, 2, 0.99), (2, 3, 0.7), (3, 4, 0.98)];
        let (labels, refused) = accepted_only(5, &pairs, 2);
        assert_eq!(labels, vec![0, 1, 1, 2, 2]);
        assert_eq!(refused, 2);
        let (labels, refused) = accepted_only(5, &pairs, 3);
        assert_eq!(labels, vec![0, 0, 0, 1, 1]);
        assert_eq!(refused, 1);
    }

    #[test]
    fn clusters_too_large_to_join_are_refused_on_the_cap_alone() {
        // Two entities of three records; two accepted pairs across, the other pairs across
        // compared and rejected. With a cap of 5 both pairs are counted against the cap (the
        // pairs between are not read); with a larger cap the pairs between refuse the merge.
        let mut pairs = vec![(0, 1, 0.99), (0, 2, 0.98), (1, 2, 0.97)];
        pairs.extend([(3, 4, 0.99), (3, 5, 0.98), (4, 5, 0.97), (2, 3, 0.6), (1, 4, 0.55)]);
        let across: Vec<(usize, usize)> =
            (0..3).flat_map(|a| (3..6).map(move |b| (a, b))).collect();
        let compared = || pairs.iter().map(|p| (p.0, p.1)).chain(across.iter().copied());
        let c = cluster(6, &pairs, compared, 5);
        assert_eq!(c.labels, vec![0, 0, 0, 1, 1, 1]);
        assert_eq!((c.refused_cap, c.refused_split), (2, 0));
        let c = cluster(6, &pairs, compared, 6);
        assert_eq!(c.labels, vec![0, 0, 0, 1, 1, 1]);
        assert_eq!((c.refused_cap, c.refused_split), (0, 1));
    }

    #[test]
    fn one_weak_pair_does_not_chain_two_entities_told_apart() {
        // Two entities {0, 1, 2} and {3, 4, 5}, each pair within accepted; 2-3 accepted too, but
        // every other pair across was compared and rejected.
        let mut pairs = vec![(0, 1, 0.99), (0, 2, 0.98), (1, 2, 0.97)];
        pairs.extend([(3, 4, 0.99), (3, 5, 0.98), (4, 5, 0.97), (2, 3, 0.6)]);
        let across: Vec<(usize, usize)> =
            (0..3).flat_map(|a| (3..6).map(move |b| (a, b))).filter(|&p| p != (2, 3)).collect();
        let compared = || pairs.iter().map(|p| (p.0, p.1)).chain(across.iter().copied());
        let c = cluster(6, &pairs, compared, 100);
        assert_eq!(c.labels, vec![0, 0, 0, 1, 1, 1]);
        assert_eq!((c.refused_split, c.refused_cap), (1, 0));
        // The compared pairs in any order, sorted (as blocking gives them) or not.
        let mut sorted: Vec<(usize, usize)> = compared().collect();
        sorted.sort_unstable();
        for order in [sorted.clone(), sorted.iter().rev().copied().collect()] {
            let c = cluster(6, &pairs, || order.iter().copied(), 100);
            assert_eq!(c.labels, vec![0, 0, 0, 1, 1, 1]);
            assert_eq!((c.refused_split, c.refused_cap), (1, 0));
        }
        // Never compared across, the pair is the only evidence: one cluster.
        let (labels, _) = accepted_only(6, &pairs, 100);
        assert_eq!(labels, vec![0; 6]);
    }
}
