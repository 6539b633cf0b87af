//! Clustering: k-means auto-segmentation over a feature matrix.
//!
//! Owns the k-means fit, the choice of k by silhouette on a seeded sample, and the assignment of
//! rows to clusters. Parameters are linfa-clustering's own ([`KMeansParams`], checked into
//! [`KMeansValidParams`], squared Euclidean distance, k-means++ or random initialisation), so a
//! caller can run linfa's reference implementation with the same settings ([`fit_linfa`]); the
//! fit itself is our faster path ([`fit`]): Lloyd iterations whose assignment step runs in
//! parallel over pid shards of 65,536 rows, each shard summing its members, the partial sums then
//! merged in shard order. The merge order is fixed, so the result does not depend on the number of
//! threads: the same data and seed give the same clusters.
//!
//! It does not own feature views (the matrix comes from them), segments (the caller stores each
//! cluster as one), or the cluster report's trait lifts.

use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit, KMeansParams, KMeansValidParams};
use linfa_nn::distance::L2Dist;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per shard: one roaring container of pids.
pub const SHARD: usize = 65_536;

/// linfa's k-means parameters with our seeded RNG: `k` clusters, at most `max_iter` Lloyd
/// iterations, k-means++ initialisation.
pub fn params(k: usize, max_iter: u64, seed: u64) -> KMeansParams<f32, ChaCha8Rng, L2Dist> {
    KMeans::params_with_rng(k, ChaCha8Rng::seed_from_u64(seed))
        .max_n_iterations(max_iter)
        .tolerance(1e-4)
        .init_method(KMeansInit::KMeansPlusPlus)
}

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// One row per cluster.
    pub centroids: Array2<f32>,
    /// The cluster of every input row.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centroid.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: u64,
}

impl Clusters {
    /// Rows per cluster.
    pub fn sizes(&self) -> Vec<u64> {
        let mut s = vec![0u64; self.centroids.nrows()];
        for &l in &self.labels {
            s[l as usize] += 1;
        }
        s
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The nearest centroid of `row` and its squared distance.
fn nearest(row: &[f32], centroids: &[f32], dim: usize) -> (u32, f32) {
    let mut best = (0u32, f32::INFINITY);
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        let d = sq_dist(row, centroid);
        if d < best.1 {
            best = (c as u32, d);
        }
    }
    best
}

fn check_input(x: &ArrayView2<f32>, k: usize) -> Result<()> {
    if x.nrows() < k {
        return Err(Error::user(format!(
            "cannot make {k} clusters from {} rows; lower --k or widen the universe",
            x.nrows()
        )));
    }
    if x.ncols() == 0 {
        return Err(Error::user("the feature view has no columns; add traits to the view spec"));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::user(
            "the feature matrix holds NaN or infinite values; give the view's traits a transform \
             with missing-value handling",
        ));
    }
    Ok(())
}

/// Fits k-means with linfa's checked parameters on our parallel, shard-merged Lloyd loop.
/// `x` must be in standard (row-major) layout.
pub fn fit(
    params: &KMeansValidParams<f32, ChaCha8Rng, L2Dist>,
    x: ArrayView2<f32>,
) -> Result<Clusters> {
    let k = params.n_clusters();
    check_input(&x, k)?;
    let x = x.as_standard_layout();
    let data = x.as_slice().expect("standard layout");
    let (n, dim) = (x.nrows(), x.ncols());
    let mut rng = params.rng().clone();
    let mut centroids = match params.init_method() {
        KMeansInit::Random => {
            let picks = rand::seq::index::sample(&mut rng, n, k);
            picks.iter().flat_map(|i| data[i * dim..(i + 1) * dim].to_vec()).collect()
        }
        KMeansInit::Precomputed(c) if c.dim() == (k, dim) => c.iter().copied().collect(),
        KMeansInit::Precomputed(c) => {
            return Err(Error::user(format!(
                "precomputed centroids are {:?}, expected ({k}, {dim})",
                c.dim()
            )))
        }
        _ => kmeans_plus_plus(data, dim, k, &mut rng),
    };
    let mut labels = vec![0u32; n];
    let mut iterations = 0;
    loop {
        iterations += 1;
        // Assignment and partial sums per shard, merged in shard order.
        let partials: Vec<(Vec<f64>, Vec<u64>)> = labels
            .par_chunks_mut(SHARD)
            .enumerate()
            .map(|(s, lab)| {
                let mut sums = vec![0f64; k * dim];
                let mut counts = vec![0u64; k];
                for (j, l) in lab.iter_mut().enumerate() {
                    let row = &data[(s * SHARD + j) * dim..(s * SHARD + j + 1) * dim];
                    let (c, _) = nearest(row, &centroids, dim);
                    *l = c;
                    counts[c as usize] += 1;
                    for (acc, v) in
                        sums[c as usize * dim..(c as usize + 1) * dim].iter_mut().zip(row)
                    {
                        *acc += *v as f64;
                    }
                }
                (sums, counts)
            })
            .collect();
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0u64; k];
        for (s, c) in &partials {
            for (a, b) in sums.iter_mut().zip(s) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(c) {
                *a += b;
            }
        }
        let mut new = vec![0f32; k * dim];
        for c in 0..k {
            if counts[c] == 0 {
                // An empty cluster takes the row farthest from its centroid (lowest index on ties).
                let far = (0..n)
                    .map(|i| {
                        (
                            i,
                            sq_dist(
                                &data[i * dim..(i + 1) * dim],
                                &centroids[labels[i] as usize * dim..][..dim],
                            ),
                        )
                    })
                    .fold((0, -1.0f32), |b, x| if x.1 > b.1 { x } else { b })
                    .0;
                new[c * dim..(c + 1) * dim].copy_from_slice(&data[far * dim..(far + 1) * dim]);
            } else {
                for d in 0..dim {
                    new[c * dim + d] = (sums[c * dim + d] / counts[c] as f64) as f32;
                }
            }
        }
        let shift: f32 =
            new.iter().zip(&centroids).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
        centroids = new;
        if shift < params.tolerance() || iterations >= params.max_n_iterations() {
            break;
        }
    }
    // Final assignment against the final centroids.
    let inertia = labels
        .par_chunks_mut(SHARD)
        .enumerate()
        .map(|(s, lab)| {
            let mut cost = 0f64;
            for (j, l) in lab.iter_mut().enumerate() {
                let (c, d) = nearest(&data[(s * SHARD + j) * dim..][..dim], &centroids, dim);
                *l = c;
                cost += d as f64;
            }
            cost
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    let centroids = Array2::from_shape_vec((k, dim), centroids).expect("k x dim");
    Ok(Clusters { centroids, labels, inertia, iterations })
}

/// k-means++ seeding: each next centroid is a row drawn with probability proportional to its
/// squared distance to the nearest centroid so far. Sums are per shard, in shard order.
fn kmeans_plus_plus(data: &[f32], dim: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = data.len() / dim;
    let first = rng.gen_range(0..n);
    let mut centroids = data[first * dim..(first + 1) * dim].to_vec();
    let mut best: Vec<f32> = vec![f32::INFINITY; n];
    for _ in 1..k {
        let last = centroids[centroids.len() - dim..].to_vec();
        let shard_sums: Vec<f64> = best
            .par_chunks_mut(SHARD)
            .enumerate()
            .map(|(s, b)| {
                let mut sum = 0f64;
                for (j, d) in b.iter_mut().enumerate() {
                    let i = s * SHARD + j;
                    *d = d.min(sq_dist(&data[i * dim..(i + 1) * dim], &last));
                    sum += *d as f64;
                }
                sum
            })
            .collect();
        let total: f64 = shard_sums.iter().sum();
        let pick = if total <= 0.0 {
            rng.gen_range(0..n)
        } else {
            let mut target = rng.gen::<f64>() * total;
            let mut chosen = n - 1;
            'outer: for (s, &ss) in shard_sums.iter().enumerate() {
                if target >= ss {
                    target -= ss;
                    continue;
                }
                for (j, &d) in best[s * SHARD..((s + 1) * SHARD).min(n)].iter().enumerate() {
                    target -= d as f64;
                    if target < 0.0 {
                        chosen = s * SHARD + j;
                        break 'outer;
                    }
                }
            }
            chosen
        };
        centroids.extend_from_slice(&data[pick * dim..(pick + 1) * dim]);
    }
    centroids
}

/// linfa-clustering's own fit, for comparison (benches, tests): centroids and inertia.
pub fn fit_linfa(
    params: &KMeansValidParams<f32, ChaCha8Rng, L2Dist>,
    x: ArrayView2<f32>,
) -> Result<(Array2<f32>, f32)> {
    let ds = DatasetBase::from(x.to_owned());
    let model = params.fit(&ds).map_err(|e| Error::internal(format!("linfa k-means: {e}")))?;
    Ok((model.centroids().clone(), model.inertia()))
}

/// Mean silhouette of a seeded sample of at most `sample` rows under `labels`.
pub fn silhouette(x: ArrayView2<f32>, labels: &[u32], k: usize, sample: usize, seed: u64) -> f64 {
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = rand::seq::index::sample(&mut rng, n, sample.min(n)).into_vec();
    idx.sort_unstable();
    let rows: Vec<ArrayView1<f32>> = idx.iter().map(|&i| x.index_axis(Axis(0), i)).collect();
    let scores: Vec<f64> = (0..idx.len())
        .into_par_iter()
        .map(|a| {
            let mut sum = vec![0f64; k];
            let mut cnt = vec![0u64; k];
            for b in 0..idx.len() {
                if a != b {
                    let d = rows[a]
                        .iter()
                        .zip(rows[b].iter())
                        .map(|(p, q)| (p - q) * (p - q))
                        .sum::<f32>()
                        .sqrt();
                    sum[labels[idx[b]] as usize] += d as f64;
                    cnt[labels[idx[b]] as usize] += 1;
                }
            }
            let own = labels[idx[a]] as usize;
            if cnt[own] == 0 {
                return 0.0;
            }
            let ai = sum[own] / cnt[own] as f64;
            let bi = (0..k)
                .filter(|&c| c != own && cnt[c] > 0)
                .map(|c| sum[c] / cnt[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !bi.is_finite() {
                return 0.0;
            }
            (bi - ai) / ai.max(bi).max(f64::MIN_POSITIVE)
        })
        .collect();
    scores.iter().sum::<f64>() / scores.len().max(1) as f64
}

/// Fits every k in `ks` and picks the one with the best silhouette on a seeded sample.
/// Returns the chosen clustering and every (k, silhouette) tried.
pub fn fit_best_k(
    x: ArrayView2<f32>,
    ks: std::ops::RangeInclusive<usize>,
    max_iter: u64,
    seed: u64,
) -> Result<(Clusters, Vec<(usize, f64)>)> {
    if ks.is_empty() || *ks.start() < 2 {
        return Err(Error::user("--k-range needs 2 <= FROM <= TO, e.g. 2..12"));
    }
    let mut tried = Vec::new();
    let mut best: Option<(f64, Clusters)> = None;
    for k in ks {
        let p = params(k, max_iter, seed).check().map_err(|e| Error::user(e.to_string()))?;
        let c = fit(&p, x)?;
        let s = silhouette(x, &c.labels, k, 2000, seed);
        tried.push((k, s));
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, c));
        }
    }
    Ok((best.expect("at least one k").1, tried))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well separated blobs in 4 dimensions.
    fn blobs(n: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centers = [[0.0, 0.0, 0.0, 0.0], [10.0, 10.0, 0.0, 0.0], [0.0, 10.0, 10.0, 10.0]];
        let mut truth = Vec::new();
        let mut v = Vec::new();
        for i in 0..n {
            let c = i % 3;
            truth.push(c as u32);
            for m in centers[c] {
                v.push(m + rng.gen_range(-1.0f32..1.0));
            }
        }
        (Array2::from_shape_vec((n, 4), v).unwrap(), truth)
    }

    #[test]
    fn recovers_planted_blobs_and_matches_linfa() {
        let (x, truth) = blobs(3000, 1);
        let p = params(3, 50, 7).check().unwrap();
        let c = fit(&p, x.view()).unwrap();
        // Same partition as the truth, up to label names.
        let mut map = std::collections::HashMap::new();
        for (l, t) in c.labels.iter().zip(&truth) {
            assert_eq!(*map.entry(*l).or_insert(*t), *t);
        }
        let (_, linfa_inertia) = fit_linfa(&p, x.view()).unwrap();
        let ours = c.inertia / 3000.0;
        assert!((ours - linfa_inertia as f64).abs() / ours < 0.01, "{ours} vs {linfa_inertia}");
    }

    #[test]
    fn deterministic_by_seed_and_thread_count() {
        let (x, _) = blobs(5000, 2);
        let p = params(4, 20, 3).check().unwrap();
        let a = fit(&p, x.view()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| fit(&p, x.view()).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn silhouette_picks_the_planted_k() {
        let (x, _) = blobs(1500, 3);
        let (c, tried) = fit_best_k(x.view(), 2..=6, 30, 1).unwrap();
        assert_eq!(c.centroids.nrows(), 3, "{tried:?}");
    }

    #[test]
    fn bad_inputs_are_refused() {
        let x = Array2::<f32>::zeros((2, 3));
        let p = params(3, 10, 1).check().unwrap();
        assert!(fit(&p, x.view()).unwrap_err().to_string().contains("cannot make 3 clusters"));
        let mut y = Array2::<f32>::zeros((10, 2));
        y[[4, 1]] = f32::NAN;
        assert!(fit(&p, y.view()).unwrap_err().to_string().contains("NaN"));
        assert!(params(0, 10, 1).check().is_err());
    }
}
