//! Ranking metrics for look-alike models, each with its value under random ranking.
//!
//! Owns the arithmetic of AUC (rank-based, ties averaged), precision at K, recall at reach (share
//! of the hidden positives found in the top X% of the ranked pool, as AWS Clean Rooms ML reports
//! it), lift at a reach and the lift curve. Ties are handled exactly: when a cut-off falls inside a
//! group of equal scores, the group contributes its positives in proportion to the places it gets,
//! which is the expectation over a random tie-break. So a constant scorer gets the random figures.
//!
//! It does not own how the scores are produced, nor which rows are positives: callers pass scores
//! and labels of the same rows.

use serde::{Deserialize, Serialize};

/// The reaches (shares of the pool) at which recall is reported.
pub const REACHES: [f64; 4] = [0.01, 0.05, 0.10, 0.20];

/// Number of points of the lift curve (reach 5%, 10%, ..., 100%).
pub const LIFT_CURVE_POINTS: usize = 20;

/// Scores sorted best first, grouped by equal score, with the positives of each group.
struct Ranked {
    /// (group size, positives in the group), best score first.
    groups: Vec<(usize, usize)>,
    n: usize,
    positives: usize,
}

impl Ranked {
    fn new(scores: &[f32], labels: &[bool]) -> Ranked {
        assert_eq!(scores.len(), labels.len(), "scores and labels of the same rows");
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut last: Option<f32> = None;
        for &i in &order {
            let pos = labels[i] as usize;
            match (last, groups.last_mut()) {
                (Some(s), Some(g)) if s == scores[i] => {
                    g.0 += 1;
                    g.1 += pos;
                }
                _ => groups.push((1, pos)),
            }
            last = Some(scores[i]);
        }
        let positives = labels.iter().filter(|&&l| l).count();
        Ranked { groups, n: scores.len(), positives }
    }

    /// Expected positives among the best `k` rows (ties shared in proportion).
    fn positives_in_top(&self, k: usize) -> f64 {
        let mut left = k.min(self.n);
        let mut found = 0.0;
        for &(size, pos) in &self.groups {
            if left == 0 {
                break;
            }
            let take = left.min(size);
            found += pos as f64 * take as f64 / size as f64;
            left -= take;
        }
        found
    }

    /// Number of rows in the top `reach` share (rounded, at least 1).
    fn rows_at(&self, reach: f64) -> usize {
        ((reach * self.n as f64).round() as usize).clamp(1, self.n.max(1))
    }
}

/// Area under the ROC curve: the probability that a random positive outranks a random negative,
/// ties counting one half (Mann-Whitney U with average ranks). `None` without both classes.
pub fn auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let r = Ranked::new(scores, labels);
    let negatives = r.n - r.positives;
    if r.positives == 0 || negatives == 0 {
        return None;
    }
    // Walk from the best group: each positive beats the negatives below it, half of its group's.
    let mut negatives_above = 0usize;
    let mut wins = 0.0f64;
    for &(size, pos) in &r.groups {
        let neg = size - pos;
        let below = negatives - negatives_above - neg;
        wins += pos as f64 * (below as f64 + 0.5 * neg as f64);
        negatives_above += neg;
    }
    Some(wins / (r.positives as f64 * negatives as f64))
}

/// Share of positives among the best `k` rows (ties shared). 0 when `k` is 0.
pub fn precision_at_k(scores: &[f32], labels: &[bool], k: usize) -> f64 {
    let r = Ranked::new(scores, labels);
    let k = k.min(r.n);
    if k == 0 {
        return 0.0;
    }
    r.positives_in_top(k) / k as f64
}

/// Share of all positives found in the best `reach` share of the rows (ties shared).
pub fn recall_at_reach(scores: &[f32], labels: &[bool], reach: f64) -> f64 {
    let r = Ranked::new(scores, labels);
    if r.positives == 0 {
        return 0.0;
    }
    r.positives_in_top(r.rows_at(reach)) / r.positives as f64
}

/// Precision in the best `reach` share divided by the share of positives overall (1 = random).
pub fn lift_at(scores: &[f32], labels: &[bool], reach: f64) -> f64 {
    let r = Ranked::new(scores, labels);
    lift(&r, reach)
}

fn lift(r: &Ranked, reach: f64) -> f64 {
    if r.positives == 0 {
        return 0.0;
    }
    let k = r.rows_at(reach);
    let precision = r.positives_in_top(k) / k as f64;
    precision / (r.positives as f64 / r.n as f64)
}

/// A recall figure at one reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecallAt {
    /// Share of the pool reached (0.05 = the best 5%).
    pub reach: f64,
    /// Share of the positives found there.
    pub recall: f64,
    /// What random ranking finds: the reach itself.
    pub random: f64,
}

/// One point of the cumulative lift curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiftPoint {
    /// Share of the pool reached.
    pub reach: f64,
    /// Cumulative lift there (random = 1).
    pub lift: f64,
}

/// All metrics of one ranking of a pool whose positives are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows ranked.
    pub rows: usize,
    /// Positives among them.
    pub positives: usize,
    /// Area under the ROC curve (random = 0.5).
    pub auc: f64,
    /// Precision among the best K rows, K = the number of positives.
    pub precision_at_k: f64,
    /// What random ranking gets for precision at K: the share of positives.
    pub base_rate: f64,
    /// Recall at reach 1%, 5%, 10% and 20%.
    pub recall_at: Vec<RecallAt>,
    /// Lift at reach 10% (random = 1).
    pub lift_at_10: f64,
    /// Cumulative lift at reach 5%, 10%, ..., 100%.
    pub lift_curve: Vec<LiftPoint>,
}

impl Evaluation {
    /// Computes every metric; `None` unless both positives and negatives are present.
    pub fn of(scores: &[f32], labels: &[bool]) -> Option<Evaluation> {
        let auc = auc(scores, labels)?;
        let r = Ranked::new(scores, labels);
        let recall_at = REACHES
            .iter()
            .map(|&reach| RecallAt {
                reach,
                recall: r.positives_in_top(r.rows_at(reach)) / r.positives as f64,
                random: reach,
            })
            .collect();
        let lift_curve = (1..=LIFT_CURVE_POINTS)
            .map(|i| {
                let reach = i as f64 / LIFT_CURVE_POINTS as f64;
                LiftPoint { reach, lift: lift(&r, reach) }
            })
            .collect();
        Some(Evaluation {
            rows: r.n,
            positives: r.positives,
            auc,
            precision_at_k: r.positives_in_top(r.positives) / r.positives as f64,
            base_rate: r.positives as f64 / r.n as f64,
            recall_at,
            lift_at_10: lift(&r, 0.10),
            lift_curve,
        })
    }

    /// Recall at `reach` when it is one of [`REACHES`].
    pub fn recall(&self, reach: f64) -> Option<f64> {
        self.recall_at.iter().find(|r| (r.reach - reach).abs() < 1e-9).map(|r| r.recall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_reversed_and_tied_rankings() {
        let labels = [true, true, false, false];
        assert_eq!(auc(&[4.0, 3.0, 2.0, 1.0], &labels), Some(1.0));
        assert_eq!(auc(&[1.0, 2.0, 3.0, 4.0], &labels), Some(0.0));
        assert_eq!(auc(&[1.0; 4], &labels), Some(0.5));
        // Pairs (p, n): (3,2) win, (3,1) win, (1,2) loss, (1,1) tie -> 2.5 / 4.
        assert_eq!(auc(&[3.0, 1.0, 2.0, 1.0], &labels), Some(0.625));
        assert_eq!(auc(&[1.0, 2.0], &[true, true]), None);
    }

    #[test]
    fn precision_and_recall_share_ties_in_proportion() {
        // Ranked: 0.9 (pos), then a tie of three at 0.5 holding one positive, then 0.1 (neg).
        let scores = [0.9, 0.5, 0.5, 0.5, 0.1];
        let labels = [true, true, false, false, false];
        assert_eq!(precision_at_k(&scores, &labels, 1), 1.0);
        // Top 2: the positive plus one of three tied rows (1/3 of a positive expected).
        assert!((precision_at_k(&scores, &labels, 2) - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        // Reach 40% of 5 rows = 2 rows: (1 + 1/3) of 2 positives.
        assert!((recall_at_reach(&scores, &labels, 0.4) - (4.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(recall_at_reach(&scores, &labels, 1.0), 1.0);
    }

    #[test]
    fn lift_is_precision_over_base_rate() {
        // 10 rows, 2 positives ranked first: top 10% = 1 row, precision 1, base rate 0.2 -> 5.
        let scores: Vec<f32> = (0..10).rev().map(|i| i as f32).collect();
        let mut labels = vec![false; 10];
        labels[0] = true;
        labels[1] = true;
        assert!((lift_at(&scores, &labels, 0.1) - 5.0).abs() < 1e-12);
        assert!((lift_at(&scores, &labels, 1.0) - 1.0).abs() < 1e-12);
        let e = Evaluation::of(&scores, &labels).unwrap();
        assert_eq!(e.lift_curve.len(), LIFT_CURVE_POINTS);
        // 20% reach = 2 rows, both positive: precision 1 over base rate 0.2 = 5 (the test used to
        // expect 2.5, which contradicts its own comment and the definition of lift).
        assert!((e.lift_curve[3].lift - 5.0).abs() < 1e-12, "20% reach: 2 rows, both positive");
        assert_eq!(e.recall(0.1), Some(0.5));
        assert_eq!(e.precision_at_k, 1.0);
        assert_eq!(e.base_rate, 0.2);
    }

    #[test]
    fn a_constant_scorer_gets_the_random_figures() {
        let labels: Vec<bool> = (0..100).map(|i| i % 4 == 0).collect();
        let e = Evaluation::of(&[0.3; 100], &labels).unwrap();
        assert_eq!(e.auc, 0.5);
        assert!((e.lift_at_10 - 1.0).abs() < 1e-12);
        for r in &e.recall_at {
            assert!((r.recall - r.random).abs() < 1e-12, "{r:?}");
        }
        assert!((e.precision_at_k - e.base_rate).abs() < 1e-12);
    }
}
