//! Synthetic feature matrices with a planted look-alike group, for tests and benchmarks.
//!
//! Owns one deterministic generator: `n` people with `d` features; most are standard normals,
//! the last two are a uniform 0..10 and a 0/1 flag (as real tables mix scales and types). The
//! first `planted` rows are the group a look-alike model should find: shifted by +1.2 on features
//! 0, 1, 2 and by -0.8 on feature 3. Rows are generated in blocks of 65,536, each with its own
//! seeded generator, so the matrix is the same whatever the thread count.
//!
//! It does not own any model: see [`super`].

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Rows per generator block.
const BLOCK: usize = 65_536;

/// A standard normal (Box-Muller).
fn normal(rng: &mut impl Rng) -> f32 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// The matrix (`n` × `d`, `d` >= 6) and its feature names `f0..f{d-1}`.
pub fn planted(n: usize, d: usize, planted: usize, seed: u64) -> (Array2<f32>, Vec<String>) {
    assert!(d >= 6, "the planted features and the two odd ones need 6 columns");
    let mut data = vec![0f32; n * d];
    data.par_chunks_mut(BLOCK * d).enumerate().for_each(|(b, rows)| {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for (k, row) in rows.chunks_exact_mut(d).enumerate() {
            let inside = b * BLOCK + k < planted;
            for (j, v) in row.iter_mut().enumerate().take(d - 2) {
                let shift = match (inside, j) {
                    (true, 0..=2) => 1.2,
                    (true, 3) => -0.8,
                    _ => 0.0,
                };
                *v = normal(&mut rng) + shift;
            }
            row[d - 2] = if rng.gen_bool(0.3) { 1.0 } else { 0.0 };
            row[d - 1] = rng.gen_range(0.0..10.0);
        }
    });
    let x = Array2::from_shape_vec((n, d), data).expect("n * d values");
    (x, (0..d).map(|j| format!("f{j}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shifted_where_planted() {
        let (a, names) = planted(2_000, 8, 1_000, 4);
        assert_eq!(a, planted(2_000, 8, 1_000, 4).0);
        assert_eq!(names.len(), 8);
        let mean = |rows: std::ops::Range<usize>, j: usize| {
            rows.clone().map(|i| a[[i, j]]).sum::<f32>() / rows.len() as f32
        };
        assert!(mean(0..1_000, 0) > 1.0 && mean(1_000..2_000, 0).abs() < 0.15);
        assert!(mean(0..1_000, 3) < -0.6);
        assert!(a.column(6).iter().all(|v| *v == 0.0 || *v == 1.0));
    }
}
