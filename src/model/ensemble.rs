//! The ensemble: a weighted average of the two scorers' percentiles in the pool.
//!
//! Owns the combination rule. The logistic logit and the similarity live on different scales, so
//! each is first mapped to its percentile among the unlabelled pool sample it was trained against
//! (a frozen [`Percentiles`] table: rank-averaging that scores one row at a time, independent of
//! the batch). The ensemble score is `w · logistic percentile + (1 - w) · similarity percentile`;
//! the trainer picks `w` on an inner validation split from a small grid, so a data set where one
//! scorer is clearly weaker leans on the other, and the average is the default when they tie.
//!
//! It does not own the scorers themselves ([`super::logistic`], [`super::similarity`]).

use serde::{Deserialize, Serialize};

/// Number of knots of a percentile table.
pub const KNOTS: usize = 1025;

/// A frozen empirical distribution: scores at evenly spaced ranks of a reference sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Scores at ranks 0, 1/(K-1), ..., 1 of the reference, ascending.
    pub knots: Vec<f32>,
}

impl Percentiles {
    /// The table of `scores` (any order; non-empty).
    pub fn of(scores: &[f32]) -> Percentiles {
        let mut s = scores.to_vec();
        s.sort_unstable_by(f32::total_cmp);
        let n = s.len();
        let knots = (0..KNOTS)
            .map(|i| s[((i as f64 / (KNOTS - 1) as f64) * (n - 1) as f64).round() as usize])
            .collect();
        Percentiles { knots }
    }

    /// The percentile (0..1) of `v`, interpolated between knots; monotone and continuous, and
    /// continued linearly beyond the ends so that ranks stay distinct there.
    pub fn rank(&self, v: f32) -> f32 {
        let k = &self.knots;
        let last = k.len() - 1;
        let span = (k[last] - k[0]).max(f32::EPSILON);
        if v <= k[0] {
            return (v - k[0]) / span;
        }
        if v >= k[last] {
            return 1.0 + (v - k[last]) / span;
        }
        // A run of equal knots (a flat stretch of the reference) stands for the middle of its ranks,
        // except at the ends, which are 0 and 1; between runs the rank is interpolated linearly.
        let mid = |lo: usize, hi: usize| -> f32 {
            if lo == 0 {
                0.0
            } else if hi == k.len() {
                1.0
            } else {
                (lo + hi - 1) as f32 / 2.0 / last as f32
            }
        };
        let lo = k.partition_point(|q| *q < v);
        let hi = k.partition_point(|q| *q <= v);
        if hi > lo {
            return mid(lo, hi);
        }
        // k[lo-1] < v < k[lo]
        let (a, b) = (k[lo - 1], k[lo]);
        let ra = mid(k.partition_point(|q| *q < a), lo);
        let rb = mid(lo, k.partition_point(|q| *q <= b));
        ra + (v - a) / (b - a) * (rb - ra)
    }
}

/// A [`Percentiles`] prepared for scoring many rows: the rank of every knot's run of equal knots
/// is computed once, so a rank is one binary search and one interpolation (the same value as
/// [`Percentiles::rank`], bit for bit).
pub struct RankTable<'a> {
    knots: &'a [f32],
    /// Rank of the run each knot belongs to (`mid` of [`Percentiles::rank`]).
    run_rank: Vec<f32>,
    span: f32,
    /// Buckets per unit of score: `GRID` equal-width buckets over the knots' range.
    scale: f32,
    /// For each bucket edge `t`, the first knot at or above it: a value in bucket `t` has its
    /// knot between `start[t]` and `start[t + 1]`, so the search is over a few knots.
    start: Vec<u32>,
}

/// Equal-width buckets of a [`RankTable`]'s search index.
const GRID: usize = 2048;

impl<'a> RankTable<'a> {
    /// Prepares `p`.
    pub fn new(p: &'a Percentiles) -> RankTable<'a> {
        let k = &p.knots;
        let last = k.len() - 1;
        let mut run_rank = vec![0f32; k.len()];
        let mut lo = 0;
        while lo < k.len() {
            let mut hi = lo + 1;
            while hi < k.len() && k[hi] == k[lo] {
                hi += 1;
            }
            let r = if lo == 0 {
                0.0
            } else if hi == k.len() {
                1.0
            } else {
                (lo + hi - 1) as f32 / 2.0 / last as f32
            };
            run_rank[lo..hi].fill(r);
            lo = hi;
        }
        let span = (k[last] - k[0]).max(f32::EPSILON);
        let scale = GRID as f32 / span;
        // One merge pass over the sorted knots and the increasing edges (a table is built per
        // scored block, so this stays linear).
        let mut start = Vec::with_capacity(GRID + 2);
        let mut i = 0;
        for t in 0..=GRID + 1 {
            let edge = k[0] + t as f32 / scale;
            while i < k.len() && k[i] < edge {
                i += 1;
            }
            start.push(i as u32);
        }
        RankTable { knots: k, run_rank, span, scale, start }
    }

    /// The percentile of `v`: see [`Percentiles::rank`].
    #[inline]
    pub fn rank(&self, v: f32) -> f32 {
        let k = self.knots;
        let last = k.len() - 1;
        if v <= k[0] {
            return (v - k[0]) / self.span;
        }
        if v >= k[last] {
            return 1.0 + (v - k[last]) / self.span;
        }
        // The first knot >= v, searched within its bucket (the whole table when rounding put v in
        // a neighbouring bucket).
        let t = (((v - k[0]) * self.scale) as usize).min(GRID);
        let (s, e) = (self.start[t] as usize, (self.start[t + 1] as usize + 1).min(k.len()));
        let mut lo = s + k[s..e].partition_point(|q| *q < v);
        if lo == 0 || lo >= k.len() || k[lo - 1] >= v || k[lo] < v {
            lo = k.partition_point(|q| *q < v);
        }
        if k[lo] == v {
            return self.run_rank[lo];
        }
        let (a, b) = (k[lo - 1], k[lo]);
        let (ra, rb) = (self.run_rank[lo - 1], self.run_rank[lo]);
        ra + (v - a) / (b - a) * (rb - ra)
    }
}

/// The combination of the two scorers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    /// Weight of the logistic percentile (the similarity gets `1 - w`).
    pub logistic_weight: f32,
    /// Logistic logits of the pool sample.
    pub logistic: Percentiles,
    /// Similarities of the pool sample.
    pub similarity: Percentiles,
}

impl Ensemble {
    /// Combines a block's logits and similarities (both overwritten) into `out`.
    pub fn combine(&self, logits: &[f32], similarities: &[f32], out: &mut [f32]) {
        let w = self.logistic_weight;
        let (lt, st) = (RankTable::new(&self.logistic), RankTable::new(&self.similarity));
        for ((o, l), s) in out.iter_mut().zip(logits).zip(similarities) {
            *o = w * lt.rank(*l) + (1.0 - w) * st.rank(*s);
        }
    }
}

/// The weights the trainer tries for the logistic side.
pub const WEIGHT_GRID: [f32; 5] = [0.5, 0.25, 0.75, 0.0, 1.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_percentiles_monotone_beyond_the_ends() {
        let p = Percentiles::of(&(0..=100).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(p.rank(0.0), 0.0);
        assert!((p.rank(50.0) - 0.5).abs() < 1e-3);
        assert_eq!(p.rank(100.0), 1.0);
        assert!(p.rank(150.0) > p.rank(120.0) && p.rank(120.0) > 1.0);
        assert!(p.rank(-5.0) < 0.0);
        let mut last = f32::NEG_INFINITY;
        for i in 0..1000 {
            let r = p.rank(i as f32 * 0.1);
            assert!(r >= last);
            last = r;
        }
        // The prepared table gives the same ranks, bit for bit, flat runs included.
        let lumpy: Vec<f32> =
            (0..5000).map(|i| ((i % 97) / 7) as f32 * 0.5 + (i % 3) as f32).collect();
        // Heavy tails: nearly every knot in one bucket of the search index.
        let tailed: Vec<f32> =
            (0..3000).map(|i| if i % 500 == 0 { 1e6 } else { (i % 211) as f32 / 211.0 }).collect();
        for q in [&p, &Percentiles::of(&lumpy), &Percentiles::of(&tailed)] {
            let t = RankTable::new(q);
            for i in -100..3000 {
                let v = i as f32 * 0.037 - if i % 7 == 0 { 0.0 } else { 1.0 / (i as f32 + 0.5) };
                assert_eq!(t.rank(v).to_bits(), q.rank(v).to_bits(), "{v}");
            }
            for &v in &q.knots {
                assert_eq!(t.rank(v).to_bits(), q.rank(v).to_bits(), "knot {v}");
            }
        }
        // Flat stretches (many equal scores) are fine.
        let flat = Percentiles::of(&[1.0, 1.0, 1.0, 2.0]);
        assert!(flat.rank(1.5) > flat.rank(1.0) && flat.rank(1.5) < flat.rank(2.0));
    }
}
