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
}

/// Most solver iterations; L-BFGS on a few dozen standardised features converges well before.
const MAX_ITERATIONS: u64 = 100;

impl LogisticScorer {
    /// Fits on standardised `pos` (seed) and `neg` (unlabelled) rows.
    pub fn fit(pos: &Array2<f64>, neg: &Array2<f64>, scaler: &Scaler, lambda: f64) -> Result<Self> {
        let d = scaler.len();
        let repeat = ((neg.nrows() as f64 / pos.nrows().max(1) as f64).round() as usize).max(1);
        let rows = pos.nrows() * repeat + neg.nrows();
        let mut x = Array2::<f64>::zeros((rows, d));
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
        let fitted = LogisticRegression::default()
            .alpha(lambda * rows as f64)
            .max_iterations(MAX_ITERATIONS)
            .gradient_tolerance(1e-6 * rows as f64)
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
        Ok(LogisticScorer {
            lambda,
            standardised: beta.iter().map(|b| *b as f32).collect(),
            weights,
            intercept: intercept as f32,
        })
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
        let m = LogisticScorer::fit(&pos, &neg, &scaler, 0.01).unwrap();
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
