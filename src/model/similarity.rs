//! The similarity scorer: how close a row is to the seed, in a weighted standardised space.
//!
//! Owns fitting and the scoring kernel. A row `x` becomes `u = (x - mean) / scale ∘ g`, where the
//! scaler is the pool's (the average pool member sits at the origin) and `g` weighs each feature
//! by how far the seed's mean is from the pool's, in pool standard deviations, less the noise of
//! a seed mean (`1/√seed`); noise-level features get weight 0 (all get 1 when none stands out).
//! The score is the mean of two cosines:
//! - to the seed centroid (who the seed is on average);
//! - the mean of the `k` best cosines to the seed prototypes (which part of the seed it is near).
//!
//! The prototypes stand for the seed's members: up to `P` (32 by default) spherical k-means
//! centroids of the seed, seeded. Exact k nearest seed members would cost one dot product per seed
//! member for every scored row (10,000 for a 10k seed); `P` prototypes keep scoring at about
//! `P + 1` dot products per row, computed as one matrix product per block of rows.
//!
//! It does not own the choice of rows (see [`super::train`]).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::scale::Scaler;

/// A fitted similarity scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityScorer {
    /// Per-feature weight `g` on standardised features.
    pub feature_weights: Vec<f32>,
    /// Per-feature multiplier on raw features: `g / scale`.
    pub multiplier: Vec<f32>,
    /// Per-feature offset: the pool mean.
    pub offset: Vec<f32>,
    /// Unit-length seed centroid in the weighted space.
    pub centroid: Vec<f32>,
    /// Unit-length prototypes, one per row, in the weighted space.
    pub prototypes: Vec<Vec<f32>>,
    /// How many best prototype cosines are averaged.
    pub neighbours: usize,
}

/// Lloyd iterations of the spherical k-means.
const KMEANS_ITERATIONS: usize = 15;

impl SimilarityScorer {
    /// Fits on standardised seed rows `pos` (the scaler's reference is the pool sample).
    pub fn fit(
        pos: &Array2<f64>,
        scaler: &Scaler,
        prototypes: usize,
        neighbours: usize,
        seed: u64,
    ) -> SimilarityScorer {
        let d = scaler.len();
        let n = pos.nrows().max(1) as f64;
        let means = pos.mean_axis(Axis(0)).unwrap_or_else(|| ndarray::Array1::zeros(d));
        let noise = 1.0 / n.sqrt();
        let mut g: Vec<f64> = means.iter().map(|m| (m.abs() - noise).max(0.0)).collect();
        if g.iter().all(|&w| w == 0.0) {
            g = vec![1.0; d];
        }
        let max = g.iter().cloned().fold(0.0, f64::max);
        g.iter_mut().for_each(|w| *w /= max);
        // Seed rows in the weighted space, unit length.
        let mut u: Vec<Vec<f64>> = pos
            .rows()
            .into_iter()
            .map(|r| r.iter().zip(&g).map(|(a, b)| a * b).collect())
            .collect();
        let mut centroid = vec![0f64; d];
        for r in &u {
            for (c, v) in centroid.iter_mut().zip(r) {
                *c += v;
            }
        }
        normalise(&mut centroid);
        u.iter_mut().for_each(|r| normalise(r));
        let protos = spherical_kmeans(&u, prototypes.min(u.len()).max(1), seed);
        SimilarityScorer {
            feature_weights: g.iter().map(|w| *w as f32).collect(),
            multiplier: g.iter().zip(&scaler.scale).map(|(w, s)| (*w / *s as f64) as f32).collect(),
            offset: scaler.mean.clone(),
            centroid: centroid.iter().map(|c| *c as f32).collect(),
            neighbours: neighbours.min(protos.len()).max(1),
            prototypes: protos
                .into_iter()
                .map(|p| p.into_iter().map(|v| v as f32).collect())
                .collect(),
        }
    }

    /// Writes the similarity (in [-1, 1]) of each row of `x` into `out`.
    ///
    /// The hot loops run on plain contiguous slices (they vectorise); the row × prototype cosines
    /// are one matrix product per block.
    pub fn scores(&self, x: ArrayView2<f32>, out: &mut [f32]) {
        let (n, d) = x.dim();
        let p = self.prototypes.len();
        let w = p + 1;
        // Weighted rows, row-major.
        let mut u = vec![0f32; n * d];
        for (ur, xr) in u.chunks_exact_mut(d.max(1)).zip(x.rows()) {
            let fill = |o: &mut f32, v: f32, m: f32, g: f32| *o = (v - m) * g;
            match xr.as_slice() {
                Some(xs) => {
                    for (((o, v), m), g) in
                        ur.iter_mut().zip(xs).zip(&self.offset).zip(&self.multiplier)
                    {
                        fill(o, *v, *m, *g);
                    }
                }
                None => {
                    for (((o, v), m), g) in
                        ur.iter_mut().zip(xr.iter()).zip(&self.offset).zip(&self.multiplier)
                    {
                        fill(o, *v, *m, *g);
                    }
                }
            }
        }
        // Prototypes as columns, the centroid last (column p).
        let mut a = vec![0f32; d * w];
        for (k, proto) in self.prototypes.iter().chain(std::iter::once(&self.centroid)).enumerate()
        {
            for (j, v) in proto.iter().enumerate() {
                a[j * w + k] = *v;
            }
        }
        // Cosines (before dividing by the row's norm) transposed: row k of `st` is prototype k
        // against every row of the block, so the k-best selection below runs across rows
        // (contiguous, branch-free, vectorised) instead of along each row's prototypes.
        let mut st = vec![0f32; w * n];
        {
            let uv = ArrayView2::from_shape((n, d), &u[..]).expect("n x d");
            let av = ArrayView2::from_shape((d, w), &a[..]).expect("d x (p + 1)");
            let mut sv = ArrayViewMut2::from_shape((w, n), &mut st[..]).expect("(p + 1) x n");
            general_mat_mul(1.0, &av.t(), &uv.t(), 0.0, &mut sv);
        }
        // The k best prototype cosines of each row, as k sorted (descending) lanes: each
        // prototype's value bubbles down through them (max stays, min moves on).
        let k = self.neighbours;
        let mut best = vec![f32::NEG_INFINITY; k * n];
        let mut cur = vec![0f32; n];
        for proto in st.chunks_exact(n.max(1)).take(p) {
            cur.copy_from_slice(proto);
            for lane in best.chunks_exact_mut(n.max(1)) {
                for (b, c) in lane.iter_mut().zip(cur.iter_mut()) {
                    let (hi, lo) = if *c > *b { (*c, *b) } else { (*b, *c) };
                    *b = hi;
                    *c = lo;
                }
            }
        }
        let centroid = &st[p * n..];
        for (r, (o, ur)) in out.iter_mut().zip(u.chunks_exact(d.max(1))).enumerate() {
            let norm = sum_squares(ur).sqrt();
            if norm <= f32::EPSILON {
                *o = 0.0;
                continue;
            }
            let mut knn = 0f32;
            for i in 0..k {
                knn += best[i * n + r];
            }
            *o = 0.5 * (centroid[r] + knn / k as f32) / norm;
        }
    }
}

/// Sum of squares, written for auto-vectorisation: eight independent accumulators.
fn sum_squares(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = v.chunks_exact(8);
    let rest = c.remainder();
    for x in c {
        for j in 0..8 {
            acc[j] += x[j] * x[j];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|x| x * x).sum::<f32>()
}

fn normalise(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 1e-12 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn cos(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Spherical k-means on unit rows: k-means++ seeding by cosine distance, then Lloyd iterations
/// with normalised means. Deterministic for a given `seed`.
fn spherical_kmeans(rows: &[Vec<f64>], k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres: Vec<Vec<f64>> = vec![rows[rng.gen_range(0..rows.len())].clone()];
    let mut dist: Vec<f64> = rows.iter().map(|r| 1.0 - cos(r, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = dist.iter().sum();
        if total <= 1e-12 {
            break; // every row is on a centre already
        }
        let mut pick = rng.gen_range(0.0..total);
        let mut chosen = rows.len() - 1;
        for (i, dv) in dist.iter().enumerate() {
            if pick < *dv {
                chosen = i;
                break;
            }
            pick -= dv;
        }
        centres.push(rows[chosen].clone());
        let c = centres.last().unwrap();
        for (dv, r) in dist.iter_mut().zip(rows) {
            *dv = dv.min(1.0 - cos(r, c));
        }
    }
    let d = rows[0].len();
    for _ in 0..KMEANS_ITERATIONS {
        let mut sums = vec![vec![0f64; d]; centres.len()];
        for r in rows {
            let best = (0..centres.len())
                .max_by(|&a, &b| cos(r, &centres[a]).total_cmp(&cos(r, &centres[b])))
                .unwrap_or(0);
            for (s, v) in sums[best].iter_mut().zip(r) {
                *s += v;
            }
        }
        for (c, mut s) in centres.iter_mut().zip(sums) {
            if s.iter().any(|v| *v != 0.0) {
                normalise(&mut s);
                *c = s;
            }
        }
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_near_the_seed_score_higher() {
        // Pool around the origin; seed at +x.
        let pool = array![[0.0f32, 0.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]];
        let scaler = Scaler::fit(pool.view(), &[0, 1, 2, 3, 4]);
        let seed = array![[3.0f32, 0.2], [3.5, -0.2], [2.5, 0.0]];
        let z = scaler.transform_rows(seed.view(), &[0, 1, 2]);
        let s = SimilarityScorer::fit(&z, &scaler, 2, 1, 7);
        let rows = array![[3.0f32, 0.0], [-3.0, 0.0], [0.0, 0.0]];
        let mut out = [0f32; 3];
        s.scores(rows.view(), &mut out);
        assert!(out[0] > 0.9 && out[1] < -0.9, "{out:?}");
        assert_eq!(out[2], 0.0, "the pool's average member has no direction");
    }

    #[test]
    fn kmeans_is_deterministic_and_finds_two_directions() {
        let rows: Vec<Vec<f64>> =
            (0..20).map(|i| if i % 2 == 0 { vec![1.0, 0.0] } else { vec![0.0, 1.0] }).collect();
        let a = spherical_kmeans(&rows, 2, 3);
        assert_eq!(a, spherical_kmeans(&rows, 2, 3));
        let mut found: Vec<(i64, i64)> =
            a.iter().map(|c| (c[0].round() as i64, c[1].round() as i64)).collect();
        found.sort();
        assert_eq!(found, [(0, 1), (1, 0)]);
    }
}
