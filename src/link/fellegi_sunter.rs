//! The Fellegi-Sunter model: m and u probabilities per comparison level, match weights, the
//! prior, and the posterior probability that a pair is a match.
//!
//! Owns:
//! - [`estimate_u`]: u (the level distribution among non-matches) from seeded random pairs, with
//!   the exact level computed from the value frequencies instead of sampled;
//! - [`train_m`]: m (the level distribution among matches) and the prior by expectation
//!   maximisation on the blocked pairs, u held fixed, no labels;
//! - [`Model`]: weights `ln(m/u)`, term-frequency adjustments of exact matches, posteriors.
//!
//! The model is the usual one over *all* pairs: blocking only chooses which pairs get scored.
//! When the blocking rules select pairs by their comparison levels, the posterior of a blocked
//! pair is the same as in the population of all pairs, so the prior is
//! `λ = expected matches / all pairs` and the E-step uses it directly.
//!
//! Missing levels are neutral (no factor). m and u are kept within `[FLOOR, 1 - FLOOR]`.
//!
//! It does not own how pairs are compared ([`super::compare`]) nor which pairs are scored
//! ([`super::blocking`]).

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::compare::{compare_row, Kind, PreparedField, MISSING};

/// Smallest m kept: no level is ever proof against a match.
pub const M_FLOOR: f64 = 1e-4;
/// Smallest u kept (besides the sampling resolution).
pub const U_FLOOR: f64 = 1e-6;

/// Trained parameters of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldParams {
    /// The field's name.
    pub name: String,
    /// How it is compared.
    pub kind: Kind,
    /// P(level | match), index = level (index 0, missing, is unused).
    pub m: Vec<f64>,
    /// P(level | non-match), index = level (index 0 unused).
    pub u: Vec<f64>,
    /// Whether exact matches get a term-frequency adjustment.
    pub tf: bool,
}

impl FieldParams {
    /// The match weight `ln(m/u)` of `level` (0 for the missing level).
    pub fn weight(&self, level: u8) -> f64 {
        if level == MISSING {
            0.0
        } else {
            (self.m[level as usize] / self.u[level as usize]).ln()
        }
    }
}

/// A trained Fellegi-Sunter model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Per compared field.
    pub fields: Vec<FieldParams>,
    /// Prior: the probability that two records drawn at random (among all pairs) match.
    pub lambda: f64,
    /// EM iterations run.
    pub iterations: usize,
}

impl Model {
    /// Prior log-odds `ln(λ / (1 - λ))`.
    pub fn prior_log_odds(&self) -> f64 {
        logit(self.lambda)
    }

    /// Log-odds of a comparison vector (without term-frequency adjustments).
    pub fn log_odds(&self, levels: &[u8]) -> f64 {
        self.prior_log_odds()
            + self.fields.iter().zip(levels).map(|(f, &l)| f.weight(l)).sum::<f64>()
    }

    /// Posterior match probability of a comparison vector (without term-frequency adjustments).
    pub fn probability(&self, levels: &[u8]) -> f64 {
        sigmoid(self.log_odds(levels))
    }
}

/// `ln(p / (1 - p))`.
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Total number of pairs: `n(n-1)/2` for a dedupe, `nl * nr` for a link.
pub fn all_pairs(n_left: usize, n_right: Option<usize>) -> f64 {
    match n_right {
        Some(nr) => n_left as f64 * nr as f64,
        None => n_left as f64 * (n_left as f64 - 1.0) / 2.0,
    }
}

/// u per field and level from `samples` random pairs drawn with `seed` (both sides when
/// `n_right` is given, else distinct records of the left side). The exact level's u is computed
/// from the value counts (the chance two random records share a value), the other levels are
/// rescaled to fill the rest. Levels never seen get the sampling resolution as their u.
pub fn estimate_u(
    fields: &[PreparedField],
    swap: Option<(usize, usize)>,
    n_left: usize,
    n_right: Option<usize>,
    samples: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total = all_pairs(n_left, n_right);
    let pairs: Vec<(u32, u32)> = if total <= samples as f64 {
        // Few records: take every pair.
        match n_right {
            Some(nr) => {
                (0..n_left as u32).flat_map(|i| (0..nr as u32).map(move |j| (i, j))).collect()
            }
            None => (0..n_left as u32)
                .flat_map(|i| (i + 1..n_left as u32).map(move |j| (i, j)))
                .collect(),
        }
    } else {
        (0..samples)
            .map(|_| match n_right {
                Some(nr) => (rng.gen_range(0..n_left) as u32, rng.gen_range(0..nr) as u32),
                None => {
                    let i = rng.gen_range(0..n_left);
                    let mut j = rng.gen_range(0..n_left - 1);
                    if j >= i {
                        j += 1;
                    }
                    (i as u32, j as u32)
                }
            })
            .collect()
    };
    // In record order, for locality (the counts do not depend on the order).
    let mut pairs = pairs;
    pairs.par_sort_unstable();
    let sj = usize::from(n_right.is_some());
    // Level counts per field, over chunks of pairs in parallel (integer sums: the result does
    // not depend on the split).
    let zero = || -> Vec<Vec<u64>> { fields.iter().map(|f| vec![0u64; f.kind.levels()]).collect() };
    let all_counts = pairs
        .par_chunks(4096)
        .map(|chunk| {
            let mut counts = zero();
            let mut row = vec![0u8; fields.len()];
            for &(i, j) in chunk {
                compare_row(fields, swap, i as usize, sj, j as usize, &mut row);
                for (c, &l) in counts.iter_mut().zip(&row) {
                    c[l as usize] += 1;
                }
            }
            counts
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p += q;
                }
            }
            a
        });
    fields
        .iter()
        .zip(all_counts)
        .map(|(f, counts)| {
            let present: u64 = counts[1..].iter().sum();
            let floor = (0.5 / present.max(1) as f64).max(U_FLOOR);
            let mut u: Vec<f64> =
                counts.iter().map(|&c| c as f64 / present.max(1) as f64).collect();
            u[0] = 0.0;
            let exact = exact_u(f, sj == 1).clamp(U_FLOOR, 1.0 - U_FLOOR);
            let rest: f64 = u[2..].iter().sum();
            for x in &mut u[2..] {
                *x = if rest > 0.0 { *x / rest * (1.0 - exact) } else { 0.0 };
            }
            u[1] = exact;
            let last = u.len() - 1;
            if rest == 0.0 {
                u[last] = 1.0 - exact;
            }
            for x in &mut u[1..] {
                *x = x.clamp(floor, 1.0 - U_FLOOR);
            }
            u
        })
        .collect()
}

/// The chance that two random records (two sides, or two distinct records of one side) hold the
/// same value of `f`, among pairs where both are present.
pub fn exact_u(f: &PreparedField, link: bool) -> f64 {
    if link {
        let nl: f64 = f.counts.iter().map(|c| c[0] as f64).sum();
        let nr: f64 = f.counts.iter().map(|c| c[1] as f64).sum();
        if nl == 0.0 || nr == 0.0 {
            return 0.0;
        }
        f.counts.iter().map(|c| c[0] as f64 * c[1] as f64).sum::<f64>() / (nl * nr)
    } else {
        let n: f64 = f.counts.iter().map(|c| c[0] as f64).sum();
        if n < 2.0 {
            return 0.0;
        }
        f.counts.iter().map(|c| c[0] as f64 * (c[0] as f64 - 1.0)).sum::<f64>() / (n * (n - 1.0))
    }
}

/// Term-frequency adjustment per dictionary entry of `f`: `ln(u_exact / p(v))`, where `p(v)` is
/// the share of records holding `v`. A rare value agreeing is stronger evidence than a common
/// one; on average the adjustment is about zero.
pub fn tf_adjustments(f: &PreparedField, u_exact: f64) -> Vec<f64> {
    let total: f64 = f.counts.iter().map(|c| (c[0] + c[1]) as f64).sum();
    f.counts
        .iter()
        .map(|c| {
            let p = ((c[0] + c[1]) as f64 / total).max(1.0 / total);
            (u_exact / p).ln()
        })
        .collect()
}

/// Distinct comparison vectors with their counts.
pub fn patterns(levels: &[u8], width: usize) -> Vec<(Vec<u8>, u64)> {
    let mut map: HashMap<&[u8], u64> = HashMap::new();
    for row in levels.chunks_exact(width) {
        *map.entry(row).or_insert(0) += 1;
    }
    let mut out: Vec<(Vec<u8>, u64)> = map.into_iter().map(|(k, v)| (k.to_vec(), v)).collect();
    out.sort_unstable();
    out
}

/// Starting m: most matches agree exactly, a few are near, a few differ.
pub fn initial_m(kind: Kind) -> Vec<f64> {
    let n = kind.levels();
    let mut m = vec![0.0; n];
    if n < 3 {
        return m;
    }
    m[1] = 0.85;
    let partial = n - 3;
    for x in &mut m[2..n - 1] {
        *x = 0.10 / partial as f64;
    }
    m[n - 1] = if partial == 0 { 0.15 } else { 0.05 };
    m
}

/// Trains m and the prior by EM on the comparison `patterns` of the blocked pairs, u fixed.
/// `total_pairs` is the number of pairs in the population (all pairs), `expected_matches` the
/// starting guess for the number of matches among them.
pub fn train_m(
    names: &[(String, Kind, bool)],
    u: Vec<Vec<f64>>,
    patterns: &[(Vec<u8>, u64)],
    total_pairs: f64,
    expected_matches: f64,
    max_iter: usize,
) -> Model {
    let mut fields: Vec<FieldParams> = names
        .iter()
        .zip(u)
        .map(|((name, kind, tf), u)| FieldParams {
            name: name.clone(),
            kind: *kind,
            m: initial_m(*kind),
            u,
            tf: *tf,
        })
        .collect();
    let mut lambda = (expected_matches / total_pairs).clamp(1e-12, 0.5);
    let mut iterations = 0;
    for it in 0..max_iter {
        iterations = it + 1;
        let model = Model { fields: fields.clone(), lambda, iterations };
        let mut m_num: Vec<Vec<f64>> = fields.iter().map(|f| vec![0.0; f.m.len()]).collect();
        let mut matches = 0.0;
        for (levels, count) in patterns {
            let w = model.probability(levels) * *count as f64;
            matches += w;
            for (f, &l) in levels.iter().enumerate() {
                m_num[f][l as usize] += w;
            }
        }
        let mut change: f64 = 0.0;
        for (f, num) in fields.iter_mut().zip(&m_num) {
            let present: f64 = num[1..].iter().sum();
            if present <= 0.0 {
                continue;
            }
            let mut m: Vec<f64> =
                num.iter().map(|x| (x / present).clamp(M_FLOOR, 1.0 - M_FLOOR)).collect();
            m[0] = 0.0;
            let s: f64 = m[1..].iter().sum();
            for x in &mut m[1..] {
                *x /= s;
            }
            for (a, b) in f.m.iter().zip(&m) {
                change = change.max((a - b).abs());
            }
            f.m = m;
        }
        let new_lambda = (matches / total_pairs).clamp(1e-12, 0.5);
        change = change.max(((new_lambda - lambda) / lambda).abs() * 1e-2);
        lambda = new_lambda;
        if change < 1e-6 {
            break;
        }
    }
    Model { fields, lambda, iterations }
}

/// Pseudo-counts of [`initial_m`] added to the level counts of known matches.
pub const KNOWN_PSEUDO_COUNTS: f64 = 10.0;

/// A model whose m comes from pairs known to match instead of EM: `known` holds their levels
/// (`width` per pair), so m of a level is its share among them (smoothed towards
/// [`initial_m`] by [`KNOWN_PSEUDO_COUNTS`]). This is for data where EM alone would settle on
/// another common structure (people of one city, one household) rather than on duplicates, and
/// some matches are already known by other means. The known pairs must not have been found
/// through the compared fields, or m of those fields would be biased. The prior is then fitted
/// by EM on the blocked `patterns` with m and u fixed.
#[allow(clippy::too_many_arguments)]
pub fn model_from_known(
    names: &[(String, Kind, bool)],
    u: Vec<Vec<f64>>,
    known: &[u8],
    width: usize,
    patterns: &[(Vec<u8>, u64)],
    total_pairs: f64,
    expected_matches: f64,
    max_iter: usize,
) -> Model {
    let fields: Vec<FieldParams> = names
        .iter()
        .zip(u)
        .enumerate()
        .map(|(f, ((name, kind, tf), u))| {
            let prior = initial_m(*kind);
            let mut counts = vec![0.0; prior.len()];
            for row in known.chunks_exact(width) {
                counts[row[f] as usize] += 1.0;
            }
            let present: f64 = counts[1..].iter().sum();
            let mut m: Vec<f64> = counts
                .iter()
                .zip(&prior)
                .map(|(c, p)| {
                    ((c + KNOWN_PSEUDO_COUNTS * p) / (present + KNOWN_PSEUDO_COUNTS))
                        .clamp(M_FLOOR, 1.0 - M_FLOOR)
                })
                .collect();
            m[0] = 0.0;
            let s: f64 = m[1..].iter().sum();
            for x in &mut m[1..] {
                *x /= s;
            }
            FieldParams { name: name.clone(), kind: *kind, m, u, tf: *tf }
        })
        .collect();
    let mut model =
        Model { fields, lambda: (expected_matches / total_pairs).clamp(1e-12, 0.5), iterations: 0 };
    for it in 0..max_iter {
        model.iterations = it + 1;
        let matches: f64 =
            patterns.iter().map(|(levels, count)| model.probability(levels) * *count as f64).sum();
        let lambda = (matches / total_pairs).clamp(1e-12, 0.5);
        let change = ((lambda - model.lambda) / model.lambda).abs();
        model.lambda = lambda;
        if change < 1e-6 {
            break;
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model {
            fields: vec![
                FieldParams {
                    name: "name".into(),
                    kind: Kind::Exact,
                    m: vec![0.0, 0.9, 0.1],
                    u: vec![0.0, 0.01, 0.99],
                    tf: false,
                },
                FieldParams {
                    name: "dob".into(),
                    kind: Kind::Exact,
                    m: vec![0.0, 0.8, 0.2],
                    u: vec![0.0, 0.001, 0.999],
                    tf: false,
                },
            ],
            lambda: 0.001,
            iterations: 0,
        }
    }

    #[test]
    fn weights_and_posterior_follow_the_formula() {
        let m = model();
        assert!((m.fields[0].weight(1) - (0.9f64 / 0.01).ln()).abs() < 1e-12);
        assert!((m.fields[0].weight(2) - (0.1f64 / 0.99).ln()).abs() < 1e-12);
        assert_eq!(m.fields[1].weight(MISSING), 0.0);
        // Both agree: odds = 0.001/0.999 * 90 * 800 = 72.07..., p = odds / (1 + odds).
        let odds = 0.001 / 0.999 * 90.0 * 800.0;
        assert!((m.probability(&[1, 1]) - odds / (1.0 + odds)).abs() < 1e-12);
        // Name agrees, dob missing: odds = 0.001/0.999 * 90.
        let odds = 0.001 / 0.999 * 90.0;
        assert!((m.probability(&[1, 0]) - odds / (1.0 + odds)).abs() < 1e-12);
        assert!(m.probability(&[2, 2]) < 1e-4);
    }

    #[test]
    fn em_recovers_m_from_unlabelled_patterns() {
        // 1000 records each side, 100 true matches. Generated counts from m = (0.9, 0.1) and
        // (0.8, 0.2), u = (0.01, 0.99) and (0.001, 0.999), over 10,000 blocked pairs.
        let truth = model();
        let names = vec![("name".into(), Kind::Exact, false), ("dob".into(), Kind::Exact, false)];
        let u = truth.fields.iter().map(|f| f.u.clone()).collect();
        let matches = [(vec![1, 1], 72), (vec![1, 2], 18), (vec![2, 1], 8), (vec![2, 2], 2)];
        let non = [(vec![1, 1], 0), (vec![1, 2], 99), (vec![2, 1], 10), (vec![2, 2], 9791)];
        let mut pats: HashMap<Vec<u8>, u64> = HashMap::new();
        for (k, c) in matches.iter().chain(&non) {
            *pats.entry(k.clone()).or_default() += c;
        }
        let pats: Vec<_> = pats.into_iter().collect();
        let model = train_m(&names, u, &pats, 10_000.0, 1000.0, 500);
        assert!((model.fields[0].m[1] - 0.9).abs() < 0.05, "{:?}", model.fields[0].m);
        assert!((model.fields[1].m[1] - 0.8).abs() < 0.05, "{:?}", model.fields[1].m);
        let expected = model.lambda * 10_000.0;
        assert!((expected - 100.0).abs() < 10.0, "{expected}");
    }

    #[test]
    fn known_matches_give_m_and_em_gives_the_prior() {
        let truth = model();
        let names = vec![("name".into(), Kind::Exact, false), ("dob".into(), Kind::Exact, false)];
        let u = truth.fields.iter().map(|f| f.u.clone()).collect();
        // 1000 known matches drawn from m: name agrees 900 times, dob 800 times.
        let mut known = Vec::new();
        for i in 0..1000 {
            known.push(if i < 900 { 1 } else { 2 });
            known.push(if i % 10 < 8 { 1 } else { 2 });
        }
        let matches = [(vec![1, 1], 72), (vec![1, 2], 18), (vec![2, 1], 8), (vec![2, 2], 2)];
        let non = [(vec![1, 2], 99), (vec![2, 1], 10), (vec![2, 2], 9791)];
        let pats: Vec<(Vec<u8>, u64)> =
            matches.iter().chain(&non).map(|(k, c)| (k.clone(), *c as u64)).collect();
        let model = model_from_known(&names, u, &known, 2, &pats, 10_000.0, 1000.0, 500);
        assert!((model.fields[0].m[1] - 0.9).abs() < 0.01, "{:?}", model.fields[0].m);
        assert!((model.fields[1].m[1] - 0.8).abs() < 0.01, "{:?}", model.fields[1].m);
        let expected = model.lambda * 10_000.0;
        assert!((expected - 100.0).abs() < 10.0, "{expected}");
    }

    #[test]
    fn u_of_exact_comes_from_value_counts() {
        let l: Vec<Option<String>> =
            ["a", "a", "b", "c"].iter().map(|s| Some(s.to_string())).collect();
        let f = PreparedField::new("x", Kind::Exact, &l, None);
        // Pairs of distinct records sharing a value: (a,a) once among 6 pairs.
        assert!((exact_u(&f, false) - 2.0 / 12.0).abs() < 1e-12);
        let u = estimate_u(&[f], None, 4, None, 1000, 7);
        assert!((u[0][1] - 1.0 / 6.0).abs() < 1e-12);
        assert!((u[0][2] - 5.0 / 6.0).abs() < 1e-12);
    }
}
