//! The logistic scorer: seed against unlabelled, L2-regularised, classes balanced.
//!
//! Owns fitting with linfa-logistic on standardised features and the fast scoring kernel. The
//! seed is the positive class and the unlabelled pool sample the negative one (positive-unlabelled
//! learning: the ranking is what matters, not the probability). Classes are balanced by
//! resampling: each seed row is repeated `round(unlabelled / seed)` times, which is what class
//! weights do to the loss. The L2 strength is `lambda × rows` (linfa sums the loss over rows), so
//! one `lambda` means the same on any data size; the trainer picks it on an inner validation split.
//!
//! After fitting, the scaler is folded into the weights (`w / scale`, and the means into the
//! intercept), so scoring is one dot product per row on the raw features.
//!
//! Optionally the model also has **interactions**: products of pairs of standardised features
//! (squares included), each factor clipped to ±[`CLIP`] so a rare indicator cannot blow a product
//! up. Linear scores miss "high income *and* graduate"; a handful of products among the strongest
//! features catches most of it at little cost. The trainer decides on its inner validation split
//! whether they earn their place ([`LogisticScorer::strongest_pairs`] proposes them).
//!
//! It does not own the choice of rows nor of `lambda` (see [`super::train`]).

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::scale::Scaler;
use crate::error::{Error, Result};

/// A fitted logistic scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticScorer {
    /// The L2 strength per row it was fitted with.
    pub lambda: f64,
    /// Coefficients on standardised features (comparable across features: the card shows them).
    pub standardised: Vec<f32>,
    /// Coefficients on raw features (the scaler folded in).
    pub weights: Vec<f32>,
    /// Intercept on raw features.
    pub intercept: f32,
    /// Products of pairs of standardised features, with their coefficients (none: a linear model).
    #[serde(default)]
    pub interactions: Vec<Interaction>,
    /// The solver's own parameters (coefficients then intercept, in linfa's class orientation):
    /// the warm start of a refit of the same terms on more rows. Not stored.
    #[serde(skip)]
    pub solver_params: Option<Array1<f64>>,
}

/// A product of two standardised features (`a == b`: a square) and its coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The feature columns.
    pub a: usize,
    /// The second feature column (may equal `a`).
    pub b: usize,
    /// Mean of each factor (the scaler's).
    pub mean: [f32; 2],
    /// Scale of each factor (the scaler's).
    pub scale: [f32; 2],
    /// Coefficient of the clipped product.
    pub weight: f32,
    /// Coefficient of the product once standardised (comparable with
    /// [`LogisticScorer::standardised`]: the card ranks them together).
    #[serde(default)]
    pub standardised: f32,
}

/// Each standardised factor of an interaction is clipped to this many standard deviations.
pub const CLIP: f32 = 4.0;

impl Interaction {
    /// The clipped product for one raw row.
    #[inline]
    fn product(&self, row: &[f32]) -> f32 {
        let za = ((row[self.a] - self.mean[0]) / self.scale[0]).clamp(-CLIP, CLIP);
        let zb = ((row[self.b] - self.mean[1]) / self.scale[1]).clamp(-CLIP, CLIP);
        za * zb
    }
}

/// Appends the clipped products of `pairs` to standardised rows `z`.
fn with_products(z: &Array2<f64>, pairs: &[(usize, usize)]) -> Array2<f64> {
    if pairs.is_empty() {
        return z.clone();
    }
    let d = z.ncols();
    let c = CLIP as f64;
    let mut out = Array2::<f64>::zeros((z.nrows(), d + pairs.len()));
    for (mut o, row) in out.rows_mut().into_iter().zip(z.rows()) {
        for j in 0..d {
            o[j] = row[j];
        }
        for (k, &(a, b)) in pairs.iter().enumerate() {
            o[d + k] = row[a].clamp(-c, c) * row[b].clamp(-c, c);
        }
    }
    out
}

/// Most solver iterations; L-BFGS on a few dozen standardised features converges well before.
const MAX_ITERATIONS: u64 = 100;

impl LogisticScorer {
    /// Fits on standardised `pos` (seed) and `neg` (unlabelled) rows, with the products of
    /// `pairs` of features as extra terms (none: a linear model). `start`, a model of the same
    /// terms fitted on other rows (the inner validation split), is where the solver starts: the
    /// optimum is the same, reached in fewer iterations.
    pub fn fit(
        pos: &Array2<f64>,
        neg: &Array2<f64>,
        scaler: &Scaler,
        lambda: f64,
        pairs: &[(usize, usize)],
        start: Option<&LogisticScorer>,
    ) -> Result<Self> {
        let d = scaler.len();
        let (mut pos, mut neg) = (with_products(pos, pairs), with_products(neg, pairs));
        // The products are standardised on the unlabelled rows too (the solver converges in a
        // tenth of the iterations); their mean and scale are folded back below.
        let mut product_scale = Vec::with_capacity(pairs.len());
        for j in d..d + pairs.len() {
            let col = neg.column(j);
            let mean = col.mean().unwrap_or(0.0);
            let sd = col.mapv(|v| (v - mean) * (v - mean)).mean().unwrap_or(0.0).sqrt();
            let sd = if sd > 1e-9 { sd } else { 1.0 };
            pos.column_mut(j).mapv_inplace(|v| (v - mean) / sd);
            neg.column_mut(j).mapv_inplace(|v| (v - mean) / sd);
            product_scale.push((mean, sd));
        }
        let cols = d + pairs.len();
        let repeat = ((neg.nrows() as f64 / pos.nrows().max(1) as f64).round() as usize).max(1);
        let rows = pos.nrows() * repeat + neg.nrows();
        let mut x = Array2::<f64>::zeros((rows, cols));
        let mut y = Array1::<bool>::from_elem(rows, false);
        let mut r = 0;
        for _ in 0..repeat {
            for row in pos.rows() {
                x.row_mut(r).assign(&row);
                y[r] = true;
                r += 1;
            }
        }
        for row in neg.rows() {
            x.row_mut(r).assign(&row);
            r += 1;
        }
        let mut solver = LogisticRegression::default();
        if let Some(p) =
            start.and_then(|m| m.solver_params.as_ref()).filter(|p| p.len() == cols + 1)
        {
            solver = solver.initial_params(p.clone());
        }
        let fitted = solver
            .alpha(lambda * rows as f64)
            .max_iterations(MAX_ITERATIONS)
            .gradient_tolerance(1e-5 * rows as f64)
            .fit(&Dataset::new(x, y))
            .map_err(|e| Error::internal(format!("fitting the logistic scorer: {e}")))?;
        // linfa decides which label is its "positive" class (by class order/size), not us: when it
        // picked `false` (the unlabelled side), its coefficients point away from the seed, so flip
        // them so that a higher logit always means "more like the seed".
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let beta: Array1<f64> = fitted.params().mapv(|b| sign * b);
        let mut weights = Vec::with_capacity(d);
        let mut intercept = sign * fitted.intercept();
        for j in 0..d {
            weights.push((beta[j] / scaler.scale[j] as f64) as f32);
            intercept -= beta[j] * scaler.mean[j] as f64 / scaler.scale[j] as f64;
        }
        let interactions = pairs
            .iter()
            .zip(&product_scale)
            .enumerate()
            .map(|(k, (&(a, b), &(mean, sd)))| {
                intercept -= beta[d + k] * mean / sd;
                Interaction {
                    a,
                    b,
                    mean: [scaler.mean[a], scaler.mean[b]],
                    scale: [scaler.scale[a], scaler.scale[b]],
                    weight: (beta[d + k] / sd) as f32,
                    standardised: beta[d + k] as f32,
                }
            })
            .collect();
        let mut solver_params = fitted.params().to_vec();
        solver_params.push(fitted.intercept());
        Ok(LogisticScorer {
            lambda,
            standardised: beta.iter().take(d).map(|b| *b as f32).collect(),
            weights,
            intercept: intercept as f32,
            interactions,
            solver_params: Some(Array1::from(solver_params)),
        })
    }

    /// The pairs (squares included) among the `k` features with the largest standardised
    /// coefficients: the interactions worth trying after this linear fit.
    pub fn strongest_pairs(&self, k: usize) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> =
            (0..self.standardised.len()).filter(|&j| self.standardised[j] != 0.0).collect();
        order.sort_by(|&i, &j| {
            self.standardised[j].abs().total_cmp(&self.standardised[i].abs()).then(i.cmp(&j))
        });
        order.truncate(k);
        order.sort_unstable();
        let mut pairs = Vec::new();
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i..] {
                pairs.push((a, b));
            }
        }
        pairs
    }

    /// The pairs of features this model multiplies.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        self.interactions.iter().map(|i| (i.a, i.b)).collect()
    }

    /// Writes the logit (log-odds, before the sigmoid) of each row of `x` into `out`.
    pub fn logits(&self, x: ArrayView2<f32>, out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(x.rows()) {
            *o = self.intercept
                + match row.as_slice() {
                    Some(s) => dot(s, &self.weights),
                    None => row.iter().zip(&self.weights).map(|(a, b)| a * b).sum(),
                };
        }
        if self.interactions.is_empty() {
            return;
        }
        let mut buf = Vec::new();
        for (o, row) in out.iter_mut().zip(x.rows()) {
            let s = match row.as_slice() {
                Some(s) => s,
                None => {
                    buf.clear();
                    buf.extend(row.iter());
                    &buf
                }
            };
            *o += self.interactions.iter().map(|i| i.weight * i.product(s)).sum::<f32>();
        }
    }
}

/// Dot product written for auto-vectorisation: eight independent accumulators.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The logistic function.
pub(crate) fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn folded_weights_score_raw_rows_like_standardised_ones() {
        let x = array![[1.0f32, 10.0], [2.0, 30.0], [3.0, 20.0], [4.0, 40.0], [5.0, 60.0]];
        let scaler = Scaler::fit(x.view(), &[0, 1, 2, 3, 4]);
        let pos = scaler.transform_rows(x.view(), &[3, 4]);
        let neg = scaler.transform_rows(x.view(), &[0, 1, 2]);
        let m = LogisticScorer::fit(&pos, &neg, &scaler, 0.01, &[], None).unwrap();
        let mut raw = [0f32; 5];
        m.logits(x.view(), &mut raw);
        let z = scaler.transform_rows(x.view(), &[0, 1, 2, 3, 4]);
        for (i, r) in raw.iter().enumerate() {
            let std: f64 = z.row(i).iter().zip(&m.standardised).map(|(a, b)| a * *b as f64).sum();
            let b0 = m.intercept as f64
                + (0..2)
                    .map(|j| {
                        m.standardised[j] as f64 * scaler.mean[j] as f64 / scaler.scale[j] as f64
                    })
                    .sum::<f64>();
            assert!((std + b0 - *r as f64).abs() < 1e-3, "row {i}");
        }
        assert!(raw[4] > raw[0], "the seed side scores higher");
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }
}
