//! Standardisation of features against a reference population (the unlabelled pool sample).
//!
//! Owns the per-feature mean and scale (standard deviation; 1 for a constant feature) and the
//! transform `(x - mean) / scale`. Both scorers work in this standardised space, so a feature's
//! weight does not depend on its unit, and the average person of the pool sits at the origin.
//!
//! It does not choose which rows are the reference: the trainer passes them.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Per-feature mean and scale of a reference sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Standard deviation of each feature (1 when it is constant).
    pub scale: Vec<f32>,
}

impl Scaler {
    /// Fits the scaler on the rows `rows` of `x`.
    pub fn fit(x: ArrayView2<f32>, rows: &[usize]) -> Scaler {
        let d = x.ncols();
        let n = rows.len().max(1) as f64;
        let mut sum = vec![0f64; d];
        for &r in rows {
            for (s, v) in sum.iter_mut().zip(x.row(r)) {
                *s += *v as f64;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut sq = vec![0f64; d];
        for &r in rows {
            for ((s, v), m) in sq.iter_mut().zip(x.row(r)).zip(&mean) {
                let dv = *v as f64 - m;
                *s += dv * dv;
            }
        }
        let scale = sq
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-9 {
                    sd as f32
                } else {
                    1.0
                }
            })
            .collect();
        Scaler { mean: mean.iter().map(|m| *m as f32).collect(), scale }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// The standardised rows `rows` of `x`, as f64 (for the solvers), row-major.
    pub fn transform_rows(&self, x: ArrayView2<f32>, rows: &[usize]) -> ndarray::Array2<f64> {
        let mut out = ndarray::Array2::<f64>::zeros((rows.len(), self.len()));
        for (mut o, &r) in out.axis_iter_mut(Axis(0)).zip(rows) {
            for (j, v) in x.row(r).iter().enumerate() {
                o[j] = ((*v - self.mean[j]) / self.scale[j]) as f64;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standardises_against_the_reference_rows_only() {
        let x = array![[1.0f32, 5.0], [3.0, 5.0], [100.0, 0.0]];
        let s = Scaler::fit(x.view(), &[0, 1]);
        assert_eq!(s.mean, [2.0, 5.0]);
        assert_eq!(s.scale, [1.0, 1.0], "sd of 1,3 is 1; a constant feature gets 1");
        let z = s.transform_rows(x.view(), &[2]);
        assert_eq!(z.row(0).to_vec(), [98.0, -5.0]);
    }
}
