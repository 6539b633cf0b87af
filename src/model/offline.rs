//! The standard offline evaluation of a look-alike method on a labelled table.
//!
//! Owns the protocol behind `audience lookalike evaluate`: in each repeat (seeded), the seed is a
//! random share of the positives; the pool is every other labelled row (the other positives and
//! all negatives) with the label hidden; the model trained on the seed ranks the pool, and the
//! metrics say how high the hidden positives came. It reports means and standard deviations over
//! the repeats, next to what random ranking gets.
//!
//! Rows with a missing label are left out. It does not own the metrics' arithmetic
//! ([`super::metrics`]) nor the training ([`super::ValidLookalikeParams::fit`]).

use serde::Serialize;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::matrix::{feature_matrix, EncodeOptions};
use super::metrics::Evaluation;
use super::{LookalikeParams, Method, MIN_SEED};
use crate::error::{Error, Result};
use crate::table::{ColumnData, Table};

/// What to evaluate and how.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineParams {
    /// The label column.
    pub label: String,
    /// The label value that marks a positive (`None`: `true` for a bool label, 1 for a 0/1 one).
    pub positive: Option<String>,
    /// The id column, never a feature.
    pub id: Option<String>,
    /// Other columns that are never features.
    pub exclude: Vec<String>,
    /// Share of the positives used as the seed in each repeat.
    pub seed_fraction: f64,
    /// Number of repeats.
    pub repeats: usize,
    /// The method evaluated.
    pub method: Method,
    /// Seed of every random step.
    pub seed: u64,
}

/// Mean and standard deviation (n - 1) over the repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 with one repeat).
    pub std: f64,
}

impl Stat {
    fn of(v: &[f64]) -> Stat {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Stat { mean, std: var.sqrt() }
    }
}

/// The result of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineReport {
    /// The method evaluated.
    pub method: Method,
    /// Labelled rows used.
    pub rows: usize,
    /// Positives among them.
    pub positives: usize,
    /// Seed members per repeat.
    pub seed_size: usize,
    /// Hidden positives in each pool (= K of precision at K).
    pub hidden: usize,
    /// Pool rows per repeat.
    pub pool: usize,
    /// Number of features.
    pub features: usize,
    /// Columns skipped as features, with the reason.
    pub skipped: Vec<(String, String)>,
    /// AUC over the repeats.
    pub auc: Stat,
    /// Precision at K.
    pub precision_at_k: Stat,
    /// Lift at reach 10%.
    pub lift_at_10: Stat,
    /// Recall at reach 1%, 5%, 10%, 20%: (reach, stat).
    pub recall_at: Vec<(f64, Stat)>,
    /// Share of hidden positives in the pool: what random gets for precision at K.
    pub base_rate: f64,
    /// Mean cumulative lift curve over the repeats: (reach, lift).
    pub lift_curve: Vec<(f64, f64)>,
    /// Warnings from training (a small seed).
    pub warnings: Vec<String>,
}

/// Runs the protocol on `table`.
pub fn evaluate(table: &Table, p: &OfflineParams) -> Result<OfflineReport> {
    if !(p.seed_fraction > 0.0 && p.seed_fraction < 1.0) {
        return Err(Error::user(format!(
            "--seed-fraction must be over 0 and under 1 (the rest of the positives are hidden in \
             the pool); got {}",
            p.seed_fraction
        )));
    }
    if p.repeats == 0 {
        return Err(Error::user("--repeats must be at least 1"));
    }
    let labels = positives(table, &p.label, p.positive.as_deref())?;
    let rows: Vec<usize> = (0..table.rows).filter(|&i| labels[i].is_some()).collect();
    let pos: Vec<usize> = rows.iter().copied().filter(|&i| labels[i] == Some(true)).collect();
    let file = table.path.display();
    if pos.is_empty() {
        return Err(Error::user(format!(
            "{file}: column `{}` has no positive row; check --positive",
            p.label
        )));
    }
    let seed_size = (p.seed_fraction * pos.len() as f64).round() as usize;
    let hidden = pos.len() - seed_size;
    if seed_size < MIN_SEED || hidden == 0 {
        return Err(Error::user(format!(
            "{file}: {} positives with --seed-fraction {} give a seed of {seed_size} and {hidden} \
             hidden in the pool; a seed needs at least {MIN_SEED} members and at least one \
             positive must stay hidden: use a table with more positives or change --seed-fraction",
            pos.len(),
            p.seed_fraction
        )));
    }
    let mut exclude = vec![p.label.clone()];
    exclude.extend(p.id.iter().cloned());
    exclude.extend(p.exclude.iter().filter(|c| **c != p.label).cloned());
    let opts = EncodeOptions { exclude, ..Default::default() };
    let (enc, m) = feature_matrix(table, &opts)?;
    let params = LookalikeParams::new(p.method).holdout(0.0);

    let mut evals: Vec<Evaluation> = Vec::with_capacity(p.repeats);
    let mut warnings = Vec::new();
    let mut pool_size = 0;
    for r in 0..p.repeats {
        let repeat_seed = p.seed.wrapping_mul(1_000_003).wrapping_add(r as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(repeat_seed);
        let mut shuffled = pos.clone();
        shuffled.shuffle(&mut rng);
        let seed = &shuffled[..seed_size];
        let mut in_seed = vec![false; table.rows];
        seed.iter().for_each(|&i| in_seed[i] = true);
        let pool: Vec<usize> = rows.iter().copied().filter(|&i| !in_seed[i]).collect();
        pool_size = pool.len();
        let model =
            params.clone().seed(repeat_seed).check()?.fit(m.x.view(), &m.names, seed, &pool)?;
        if r == 0 {
            warnings = model.warnings.clone();
        }
        let xp = m.x.select(ndarray::Axis(0), &pool);
        let scores = model.score(xp.view())?;
        let truth: Vec<bool> = pool.iter().map(|&i| labels[i] == Some(true)).collect();
        evals.push(
            Evaluation::of(&scores, &truth)
                .ok_or_else(|| Error::internal("a pool without both positives and negatives"))?,
        );
    }
    let stat = |f: &dyn Fn(&Evaluation) -> f64| Stat::of(&evals.iter().map(f).collect::<Vec<_>>());
    let recall_at = super::metrics::REACHES
        .iter()
        .map(|&reach| (reach, stat(&|e| e.recall(reach).unwrap_or(0.0))))
        .collect();
    let lift_curve = (0..evals[0].lift_curve.len())
        .map(|i| {
            let reach = evals[0].lift_curve[i].reach;
            (reach, evals.iter().map(|e| e.lift_curve[i].lift).sum::<f64>() / evals.len() as f64)
        })
        .collect();
    Ok(OfflineReport {
        method: p.method,
        rows: rows.len(),
        positives: pos.len(),
        seed_size,
        hidden,
        pool: pool_size,
        features: m.names.len(),
        skipped: enc.skipped,
        auc: stat(&|e| e.auc),
        precision_at_k: stat(&|e| e.precision_at_k),
        lift_at_10: stat(&|e| e.lift_at_10),
        recall_at,
        base_rate: hidden as f64 / pool_size as f64,
        lift_curve,
        warnings,
    })
}

/// Per row: `Some(true)` positive, `Some(false)` negative, `None` missing label.
fn positives(table: &Table, label: &str, positive: Option<&str>) -> Result<Vec<Option<bool>>> {
    let col = table.column(label)?;
    let file = table.path.display();
    let n = table.rows;
    let values = |limit: usize| {
        let mut seen: Vec<String> = Vec::new();
        for i in 0..n {
            if let Some(v) = col.data.text(i) {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            if seen.len() > limit {
                break;
            }
        }
        seen.truncate(limit);
        seen.join(", ")
    };
    match positive {
        Some(want) => {
            let want = want.trim();
            let out: Vec<Option<bool>> = (0..n)
                .map(|i| {
                    col.data.text(i).map(|v| {
                        v == want
                            || matches!((&col.data, want.parse::<f64>()), (ColumnData::Float(_) | ColumnData::Int(_), Ok(w)) if col.data.number(i) == Some(w))
                            || matches!(&col.data, ColumnData::Bool(_) if v.eq_ignore_ascii_case(want))
                    })
                })
                .collect();
            if !out.contains(&Some(true)) {
                return Err(Error::user(format!(
                    "{file}: column `{label}` never holds the positive value `{want}`; its values \
                     include: {}",
                    values(10)
                )));
            }
            Ok(out)
        }
        None => match &col.data {
            ColumnData::Bool(v) => Ok(v.clone()),
            ColumnData::Int(v) if v.iter().flatten().all(|x| *x == 0 || *x == 1) => {
                Ok(v.iter().map(|x| x.map(|x| x == 1)).collect())
            }
            _ => Err(Error::user(format!(
                "{file}: column `{label}` is not a true/false or 0/1 label; say which value marks \
                 a positive with --positive VALUE (its values include: {})",
                values(10)
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;

    fn table(label: ColumnData) -> Table {
        let n = label.len();
        Table {
            path: "t.csv".into(),
            is_csv: true,
            rows: n,
            columns: vec![
                Column {
                    name: "x".into(),
                    data: ColumnData::Int((0..n as i64).map(Some).collect()),
                },
                Column { name: "y".into(), data: label },
            ],
        }
    }

    #[test]
    fn the_positive_value_is_found_or_explained() {
        let t = table(ColumnData::Int(vec![Some(0), Some(1), None, Some(1)]));
        assert_eq!(positives(&t, "y", None).unwrap(), [Some(false), Some(true), None, Some(true)]);
        assert_eq!(positives(&t, "y", Some("1")).unwrap()[1], Some(true));
        let e = positives(&t, "y", Some("yes")).unwrap_err().to_string();
        assert!(e.contains("never holds the positive value `yes`") && e.contains("0, 1"), "{e}");
        let t = table(ColumnData::Str(vec![Some("buyer".into()), Some("no".into())]));
        let e = positives(&t, "y", None).unwrap_err().to_string();
        assert!(e.contains("--positive VALUE"), "{e}");
        assert_eq!(positives(&t, "y", Some("buyer")).unwrap(), [Some(true), Some(false)]);
        let e = positives(&t, "label", None).unwrap_err().to_string();
        assert!(e.contains("no column `label`"), "{e}");
    }

    #[test]
    fn too_few_positives_for_a_seed_are_refused() {
        let t = table(ColumnData::Int((0..500).map(|i| Some((i % 5 == 0) as i64)).collect()));
        let p = OfflineParams {
            label: "y".into(),
            positive: None,
            id: None,
            exclude: vec![],
            seed_fraction: 0.5,
            repeats: 1,
            method: Method::Logistic,
            seed: 1,
        };
        let e = evaluate(&t, &p).unwrap_err().to_string();
        assert!(e.contains("100 positives") && e.contains("seed of 50"), "{e}");
    }
}
