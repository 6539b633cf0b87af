//! Batch scoring speed of look-alike models (`LookalikeModel::predict_inplace`).
//!
//! What it measures: rows scored per second from a precomputed, row-major 32-feature f32 matrix
//! of 1,000,000 rows (128 MB, larger than any cache), by a model trained on a planted synthetic
//! pool (200,000 rows, seed of 10,000; `audience::model::synthetic::planted`):
//! - `ensemble/1-thread` and `logistic/1-thread`: on one core (a one-thread rayon pool), the
//!   per-core figure; the target is at least 5M rows/s per core;
//! - `ensemble/all-threads`: on every core;
//! - `read-only/1-thread`: summing the same matrix, one core: the memory-read bound for this
//!   access pattern (128 B per row), to compare the scorers with.
//!
//! Run: `cargo bench --bench score` (criterion prints time and throughput in elements = rows/s).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use audience::model::synthetic::planted;
use audience::model::{LookalikeParams, Method};

const ROWS: usize = 1_000_000;
const FEATURES: usize = 32;

fn bench(c: &mut Criterion) {
    let (train, names) = planted(200_000, FEATURES, 20_000, 1);
    let seed: Vec<usize> = (0..10_000).collect();
    let pool: Vec<usize> = (10_000..200_000).collect();
    let fit = |m| {
        LookalikeParams::new(m)
            .holdout(0.0)
            .check()
            .unwrap()
            .fit(train.view(), &names, &seed, &pool)
            .unwrap()
    };
    let ensemble = fit(Method::Ensemble);
    let logistic = fit(Method::Logistic);
    let (x, _) = planted(ROWS, FEATURES, ROWS / 20, 2);
    let mut out = vec![0f32; ROWS];
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();

    let mut g = c.benchmark_group("score-1M-x-32");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(20);
    g.bench_function("ensemble/1-thread", |b| {
        b.iter(|| one.install(|| ensemble.predict_inplace(x.view(), &mut out)))
    });
    g.bench_function("logistic/1-thread", |b| {
        b.iter(|| one.install(|| logistic.predict_inplace(x.view(), &mut out)))
    });
    g.bench_function("ensemble/all-threads", |b| {
        b.iter(|| ensemble.predict_inplace(x.view(), &mut out))
    });
    let flat = x.as_slice().unwrap();
    g.bench_function("read-only/1-thread", |b| {
        b.iter(|| {
            // Eight accumulators so the sum is bound by memory, not by the add latency.
            let mut acc = [0f32; 8];
            for c in flat.chunks_exact(8) {
                for k in 0..8 {
                    acc[k] += c[k];
                }
            }
            black_box(acc)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
