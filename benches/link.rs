//! Record-linkage inner loops: comparing blocked pairs field by field, and EM over the distinct
//! comparison patterns.
//!
//! Data: synthetic person records (first name, surname, date of birth, postcode, an id code)
//! generated with a fixed seed, 20,000 pairs of records where half are noisy copies (typos) and
//! half are random; EM runs on the patterns of those pairs.
//!
//! Run: `cargo bench --bench link` (add `-- compare` or `-- em` to run one group).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use audience::link::compare::{Comparer, Kind, PreparedField};
use audience::link::fellegi_sunter::{estimate_u, patterns, train_m, FieldDef};

const N: usize = 20_000;

fn word(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len).map(|_| (b'a' + rng.gen_range(0..26u8)) as char).collect()
}

fn typo(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut b: Vec<char> = s.chars().collect();
    if rng.gen_bool(0.3) && b.len() > 1 {
        let i = rng.gen_range(0..b.len() - 1);
        b.swap(i, i + 1);
    }
    b.into_iter().collect()
}

fn data() -> (Vec<PreparedField>, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let specs = [
        ("first_name", Kind::Name),
        ("surname", Kind::Name),
        ("dob", Kind::Date),
        ("postcode", Kind::Code),
        ("ssn", Kind::Code),
    ];
    let mut left: Vec<Vec<Option<String>>> = vec![Vec::new(); specs.len()];
    let mut right: Vec<Vec<Option<String>>> = vec![Vec::new(); specs.len()];
    for k in 0..N {
        let values = [
            word(&mut rng, 6),
            word(&mut rng, 7),
            format!(
                "19{:02}{:02}{:02}",
                rng.gen_range(20..99),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            ),
            format!("{}", rng.gen_range(2000..8000)),
            format!("{}", rng.gen_range(1_000_000..9_999_999)),
        ];
        for (f, v) in values.iter().enumerate() {
            left[f].push(Some(v.clone()));
            let r = if k % 2 == 0 { typo(&mut rng, v) } else { word(&mut rng, v.len()) };
            right[f].push(Some(r));
        }
    }
    let fields = specs
        .iter()
        .enumerate()
        .map(|(f, (name, kind))| PreparedField::new(name, *kind, &left[f], Some(&right[f])))
        .collect();
    (fields, specs.len())
}

fn bench(c: &mut Criterion) {
    let (fields, width) = data();
    let mut levels = vec![0u8; N * width];
    c.bench_function("compare 20k pairs x 5 fields", |b| {
        b.iter(|| {
            for (i, row) in levels.chunks_exact_mut(width).enumerate() {
                for (o, f) in row.iter_mut().zip(&fields) {
                    *o = f.compare(0, i, 1, i);
                }
            }
            black_box(&levels);
        })
    });
    let pats = patterns(&levels, width);
    let (u, _) = estimate_u(&Comparer::new(&fields, None), N, Some(N), 20_000, 1, None);
    let names: Vec<FieldDef> = fields.iter().map(|f| FieldDef::new(&f.name, f.kind)).collect();
    c.bench_function("em 100 iterations over the patterns", |b| {
        let held = vec![false; names.len()];
        b.iter(|| {
            black_box(train_m(&names, u.clone(), &pats, (N * N) as f64, N as f64 / 2.0, 100, &held))
        })
    });
    c.bench_function("patterns of 20k pairs", |b| b.iter(|| black_box(patterns(&levels, width))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
