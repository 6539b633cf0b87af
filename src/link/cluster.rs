//! Clusters: records joined by accepted pairs, through a union-find with a size cap.
//!
//! Owns [`Clusters`]: pairs are merged in order of decreasing probability; a merge that would make
//! a cluster larger than the cap is refused and counted (a chain of weak links otherwise glues
//! thousands of records into one "person"). Cluster numbers are dense, in the order of each
//! cluster's first record.
//!
//! It does not own which pairs are accepted ([`super`]).

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

/// Clusters `n` records from `pairs` (record indices and probability), strongest first, with
/// clusters of at most `cap` records. Returns each record's cluster number and the number of
/// merges refused by the cap.
pub fn cluster(n: usize, pairs: &[(usize, usize, f64)], cap: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&a, &b| {
        pairs[b]
            .2
            .total_cmp(&pairs[a].2)
            .then((pairs[a].0, pairs[a].1).cmp(&(pairs[b].0, pairs[b].1)))
    });
    let mut uf = Clusters::new(n, cap);
    for k in order {
        uf.union(pairs[k].0, pairs[k].1);
    }
    let refused = uf.refused;
    (uf.labels(), refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_join_records_transitively() {
        let (labels, refused) = cluster(5, &[(0, 1, 0.9), (1, 2, 0.8), (3, 4, 0.7)], 10);
        assert_eq!(labels, vec![0, 0, 0, 1, 1]);
        assert_eq!(refused, 0);
    }

    #[test]
    fn the_cap_refuses_the_weakest_merges() {
        // A chain 0-1-2-3-4: with a cap of 2, the strongest links win and the rest are refused.
        let pairs = [(0, 1, 0.6), (1, 2, 0.99), (2, 3, 0.7), (3, 4, 0.98)];
        let (labels, refused) = cluster(5, &pairs, 2);
        assert_eq!(labels, vec![0, 1, 1, 2, 2]);
        assert_eq!(refused, 2);
        let (labels, refused) = cluster(5, &pairs, 3);
        assert_eq!(labels, vec![0, 0, 0, 1, 1]);
        assert_eq!(refused, 1);
    }
}
