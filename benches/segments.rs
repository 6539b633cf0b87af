//! Segment evaluation speed on 10 million profiles.
//!
//! What it measures: parsing is done once outside the timings; each benchmark times only the
//! evaluation of a checked expression over the in-memory bitmap index (single-threaded), either
//! counting (`Evaluator::count`) or listing the pids (`Vec<u32>`), and the overlap figures of 10
//! segments (`segment::overlap`).
//!
//! On what data: `audience::widetable::wide_table(10_000_000, 1)`, 10 booleans `b0..b9` whose
//! share of `true` goes from 0.01% to 50%, and 10 integers `i0..i9` (`iK` in `0..10^(1+K%5)`, 1%
//! missing in odd columns), indexed with `BitmapIndex::build` once per run (about a minute).
//!
//! Targets (issue 5): `b7 and (b5 or b4) and not b6` count ≤ 10 ms and ids ≤ 30 ms (DuckDB: 92 ms
//! and 78 ms); booleans with two integer ranges count ≤ 15 ms; overlap of 10 segments < 100 ms;
//! plus a selectivity sweep `bK and i4 < 50000` for K = 0..6 (0.01% .. 30%).
//!
//! How to run: `cargo bench --bench segments` (criterion, 10 samples each; about 4 minutes
//! including the build of the table and the index).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use roaring::RoaringBitmap;

use audience::expr::{self, Evaluator, Expr};
use audience::index::{BitmapIndex, Pid};
use audience::widetable::wide_table;

const ROWS: usize = 10_000_000;

fn index() -> &'static BitmapIndex {
    static INDEX: OnceLock<BitmapIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let t0 = Instant::now();
        let cols = wide_table(ROWS, 1);
        let named: Vec<(String, &audience::table::ColumnData)> =
            cols.iter().skip(1).map(|c| (c.name.clone(), &c.data)).collect();
        let pids: Vec<Pid> = (0..ROWS as Pid).collect();
        let index = BitmapIndex::build(&named, &pids);
        eprintln!("built the 10M-row table and its index in {:.1} s", t0.elapsed().as_secs_f64());
        index
    })
}

fn checked(index: &BitmapIndex, text: &str) -> Expr {
    let e = expr::parse(text).expect("parses");
    expr::check(&e, text, &index.manifest, &[]).expect("checks");
    expr::check_loaded(&e, text, index).expect("checks");
    e
}

fn bench_queries(c: &mut Criterion) {
    let index = index();
    let segments = HashMap::new();
    let ev = Evaluator::new(index, &segments);
    let queries = [
        ("and_or_not", "b7 and (b5 or b4) and not b6"),
        ("bool_two_ranges", "b8 and i2 between 100 and 500 and i3 < 5000"),
    ];
    let mut g = c.benchmark_group("segments");
    for (label, text) in queries {
        let e = checked(index, text);
        eprintln!("{label}: `{text}` holds for {} profiles", ev.count(&e));
        g.bench_function(format!("{label}/count"), |b| b.iter(|| black_box(ev.count(&e))));
        g.bench_function(format!("{label}/ids"), |b| {
            b.iter(|| black_box(ev.eval(&e).iter().collect::<Vec<u32>>()))
        });
    }
    g.finish();
}

fn bench_selectivity(c: &mut Criterion) {
    let index = index();
    let segments = HashMap::new();
    let ev = Evaluator::new(index, &segments);
    let mut g = c.benchmark_group("selectivity");
    for k in 0..=6 {
        let text = format!("b{k} and i4 < 50000");
        let e = checked(index, &text);
        let n = ev.count(&e);
        eprintln!("`{text}`: {n} profiles ({:.3}%)", n as f64 * 100.0 / ROWS as f64);
        g.bench_function(format!("b{k}/count"), |b| b.iter(|| black_box(ev.count(&e))));
        g.bench_function(format!("b{k}/ids"), |b| {
            b.iter(|| black_box(ev.eval(&e).iter().collect::<Vec<u32>>()))
        });
    }
    g.finish();
}

fn bench_overlap(c: &mut Criterion) {
    let index = index();
    let segs: Vec<(String, &RoaringBitmap)> = (0..10)
        .map(|k| {
            let name = format!("b{k}");
            let bm = &index.traits[&name].values["true"];
            (name, bm)
        })
        .collect();
    let refs: Vec<(&str, &RoaringBitmap)> = segs.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    c.bench_function("overlap/10_segments", |b| {
        b.iter(|| black_box(audience::segment::overlap(&refs)))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_queries, bench_selectivity, bench_overlap
}
criterion_main!(benches);
