//! The wide benchmark table: N rows of 10 boolean and 10 integer columns, deterministic by seed.
//!
//! Import and segment benchmarks run on it (10M rows in the issues' targets), so its shape is
//! fixed: `id` (text), `b0..b9` booleans whose share of `true` goes from 0.01% to 50%
//! (`b0` 0.01%, `b1` 0.1%, `b2` 1%, `b3` 5%, `b4` 10%, `b5` 20%, `b6`..`b9` 30%, 40%, 50%, 50%),
//! and `i0..i9` integers, `iK` uniform in `0 .. 10^(1 + K % 5)` (so 10 to 100,000 distinct values),
//! with 1% missing values in the odd integer columns.
//!
//! It does not write files: the caller writes the columns with [`crate::table::write_parquet`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::table::{Column, ColumnData};

/// Share of `true` in `b0..b9`.
pub const BOOL_DENSITY: [f64; 10] = [0.0001, 0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5];

/// Exclusive upper bound of `iK`.
pub fn int_range(k: usize) -> i64 {
    10i64.pow(1 + (k % 5) as u32)
}

/// Builds the table's 21 columns for `rows` rows.
pub fn wide_table(rows: usize, seed: u64) -> Vec<Column> {
    let mut cols: Vec<Column> = (0..20usize)
        .into_par_iter()
        .map(|c| {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            if c < 10 {
                let p = BOOL_DENSITY[c];
                Column {
                    name: format!("b{c}"),
                    data: ColumnData::Bool((0..rows).map(|_| Some(rng.gen_bool(p))).collect()),
                }
            } else {
                let k = c - 10;
                let hi = int_range(k);
                let data = (0..rows)
                    .map(|_| {
                        let v = rng.gen_range(0..hi);
                        (k % 2 == 0 || rng.gen_range(0..100) != 0).then_some(v)
                    })
                    .collect();
                Column { name: format!("i{k}"), data: ColumnData::Int(data) }
            }
        })
        .collect();
    let ids = (0..rows).map(|i| Some(format!("u{i:08}"))).collect();
    cols.insert(0, Column { name: "id".into(), data: ColumnData::Str(ids) });
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_density_and_determinism() {
        let a = wide_table(20_000, 7);
        assert_eq!(a.len(), 21);
        assert_eq!(a, wide_table(20_000, 7));
        let ColumnData::Bool(b7) = &a[8].data else { panic!("b7 is bool") };
        let share = b7.iter().filter(|v| **v == Some(true)).count() as f64 / 20_000.0;
        assert!((share - 0.4).abs() < 0.02, "{share}");
        let ColumnData::Int(i1) = &a[12].data else { panic!("i1 is int") };
        assert!(i1.iter().flatten().all(|v| (0..100).contains(v)));
        assert!(i1.iter().any(|v| v.is_none()));
    }
}
