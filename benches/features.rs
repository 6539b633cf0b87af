//! Feature view benchmark: fitting and applying a 32-column view (24 numeric traits, 4 of them
//! with missing-value indicators, log1p/clip/standardise, and a 3-level one-hot) over 1,000,000
//! profiles held in memory (synthetic traits, 10% missing, deterministic seed). Measures
//! `features::build` (fit + apply) and `features::apply` alone, which is what scoring new cookies
//! costs. Target: under 2 s for the 1M x 32 build.
//!
//! Run: `cargo bench --bench features` (release profile).

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use audience::features::{apply, build, Traits, ViewSpec};
use audience::table::ColumnData;

const ROWS: usize = 1_000_000;

fn traits() -> Traits {
    let mut r = ChaCha8Rng::seed_from_u64(7);
    let mut cols: Vec<(String, ColumnData)> = (0..24)
        .map(|k| {
            let v = (0..ROWS)
                .map(|_| r.gen_bool(0.9).then(|| r.gen_range(0.0..1000.0) * (k + 1) as f64))
                .collect();
            (format!("n{k:02}"), ColumnData::Float(v))
        })
        .collect();
    let countries = ["FR", "DE", "ES"];
    cols.push((
        "country".into(),
        ColumnData::Str(
            (0..ROWS).map(|_| Some(countries[r.gen_range(0..3)].to_string())).collect(),
        ),
    ));
    Traits::from_columns(ROWS, cols).unwrap()
}

fn spec() -> ViewSpec {
    let mut text = String::from("[view]\nname = \"bench\"\n");
    for k in 0..24 {
        text += &format!("[[view.features]]\ntrait = \"n{k:02}\"\n");
        match k % 6 {
            0 => text += "log1p = true\nmissing = \"indicator\"\n",
            1 => text += "clip = [0.0, 500.0]\n",
            2 => text += "log1p = true\n",
            _ => {}
        }
    }
    text += "[[view.features]]\ntrait = \"country\"\nencode = \"onehot\"\nmax_levels = 3\n";
    ViewSpec::parse(&text, "bench.toml").unwrap()
}

fn bench(c: &mut Criterion) {
    let t = traits();
    let s = spec();
    let (m, params) = build(&s, &t).unwrap();
    assert_eq!(m.dim(), (ROWS, 32));
    let mut g = c.benchmark_group("features");
    g.sample_size(10);
    g.bench_function("build_1M_x_32", |b| b.iter(|| build(&s, &t).unwrap()));
    g.bench_function("apply_1M_x_32", |b| b.iter(|| apply(&params, &t).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
