//! Batch scoring of new cookies with a stored model: `audience score MODEL --input NEW`.
//!
//! Owns turning new cookies into the matrix a stored model reads, and scoring it in chunks:
//! - **feature rows** ([`ScoreInput::Rows`]): a CSV/Parquet table with a cookie id column and the
//!   traits the model reads (every one is required);
//! - **raw events** ([`ScoreInput::Events`]): a directory of sources (`web_events`,
//!   `ad_exposures`, ... as `audience derive` reads them); the traits are derived per cookie by
//!   [`crate::derive::derive_cookie_traits`] (the same pipeline and names as the store's traits),
//!   and traits that events cannot give (CRM, imported demographics) are missing for every new
//!   cookie and imputed by the model's own transforms, as they are for profiles without them.
//!
//! Either way the model's stored transforms ([`crate::lookalike::FeatureSource`]) build the matrix,
//! so a saved model scores exactly as it did in memory. Scoring runs over chunks of
//! [`CHUNK`] rows (one pid shard) in parallel (rayon): each chunk's features are written into a
//! reused buffer and scored with [`crate::model::LookalikeModel::predict_inplace`] into the
//! caller's output slice, so memory stays at one chunk's matrix per thread for feature views.
//!
//! A cookie **qualifies** when its score is at least the threshold: `--threshold`, or the
//! model's stored one (the score at the top 5% of its training pool, see
//! [`crate::lookalike::QUALIFY_REACH`]).
//!
//! It does not own the models ([`crate::model`]) or trait derivation ([`crate::derive`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{s, ArrayView2};
use rayon::prelude::*;

use crate::derive::{derive_cookie_traits, DeriveOptions};
use crate::error::{Error, IoContext, Result};
use crate::features::PreparedView;
use crate::lookalike::{view_traits, FeatureSource, StoredModel};
use crate::model::matrix::EncodedColumn;
use crate::model::LookalikeModel;
use crate::table::{read_table, Column, ColumnData, Table};

/// Rows scored per chunk (one pid shard: one roaring container).
pub const CHUNK: usize = 65_536;

/// What to score.
#[derive(Debug, Clone)]
pub enum ScoreInput {
    /// A table of feature rows: an id column and the traits the model reads.
    Rows {
        /// The CSV/Parquet file.
        path: PathBuf,
        /// The id column (the cookie).
        id: String,
    },
    /// A directory of raw sources; traits derived per cookie.
    Events {
        /// The directory.
        dir: PathBuf,
        /// Derivation options (as-of day, windows).
        derive: DeriveOptions,
    },
}

/// The scores of a batch.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The cookie ids, in row order.
    pub ids: Vec<String>,
    /// The scores, one per id.
    pub scores: Vec<f32>,
    /// The threshold applied.
    pub threshold: f32,
    /// Cookies scoring at least the threshold.
    pub qualifying: usize,
    /// Traits the model reads that the input could not give (missing for every cookie).
    pub imputed_traits: Vec<String>,
    /// Seconds building the traits (reading, deriving).
    pub prepare_secs: f64,
    /// Seconds building features and scoring.
    pub score_secs: f64,
}

/// Scores `input` with `stored`; `threshold` overrides the model's. `quiet` hides the progress
/// bar (it is hidden anyway when stderr is not a terminal).
pub fn score_new(
    stored: &StoredModel,
    input: &ScoreInput,
    threshold: Option<f32>,
    quiet: bool,
) -> Result<Scored> {
    let t0 = Instant::now();
    let (ids, table, imputed) = match input {
        ScoreInput::Rows { path, id } => {
            let (ids, table) = read_rows(path, id)?;
            let lacking: Vec<String> = stored
                .source
                .traits()
                .into_iter()
                .filter(|t| table.columns.iter().all(|c| &c.name != t))
                .collect();
            if !lacking.is_empty() {
                return Err(Error::user(format!(
                    "{}: the model reads {} trait(s) this table lacks: {}; give one column per \
                     trait the model reads (`audience score` on a directory of raw events \
                     derives them instead)",
                    path.display(),
                    lacking.len(),
                    lacking.join(", ")
                )));
            }
            (ids, table, Vec::new())
        }
        ScoreInput::Events { dir, derive } => {
            let (ids, derived) = derive_cookie_traits(dir, derive)?;
            if ids.is_empty() {
                return Err(Error::user(format!(
                    "{}: the sources hold no cookie (web_events or ad_exposures with a `cookie` \
                     column); nothing to score",
                    dir.display()
                )));
            }
            let mut columns: Vec<Column> =
                derived.columns.into_iter().map(|(name, data)| Column { name, data }).collect();
            let imputed = missing_columns(&stored.source, &mut columns, ids.len());
            let table = Table { path: dir.clone(), is_csv: false, rows: ids.len(), columns };
            (ids, table, imputed)
        }
    };
    let prepare_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut scores = vec![0f32; ids.len()];
    let pb = crate::progress::bar(ids.len() as u64, "scoring", quiet);
    match &stored.source {
        FeatureSource::View { params } => {
            let traits = view_traits(table)?;
            let prepared = PreparedView::new(params, &traits)?;
            score_chunks(&stored.model, Rows::View(&prepared), &mut scores, &|n| pb.inc(n));
        }
        FeatureSource::Traits { encoding } => {
            let x = encoding.apply(&table)?.x;
            score_chunks(&stored.model, Rows::Matrix(x.view()), &mut scores, &|n| pb.inc(n));
        }
    }
    pb.finish_and_clear();
    let threshold = threshold.unwrap_or(stored.threshold);
    let qualifying = scores.iter().filter(|&&s| s >= threshold).count();
    Ok(Scored {
        ids,
        scores,
        threshold,
        qualifying,
        imputed_traits: imputed,
        prepare_secs,
        score_secs: t1.elapsed().as_secs_f64(),
    })
}

/// Where the rows of a batch come from.
pub enum Rows<'a> {
    /// A precomputed matrix (row-major).
    Matrix(ArrayView2<'a, f32>),
    /// A feature view written chunk by chunk.
    View(&'a PreparedView<'a>),
}

/// Scores every row of `rows` into `out` (one value per row), over chunks of [`CHUNK`] rows in
/// parallel; `progress` is told the rows of each finished chunk.
pub fn score_chunks(
    model: &LookalikeModel,
    rows: Rows<'_>,
    out: &mut [f32],
    progress: &(dyn Fn(u64) + Sync),
) {
    out.par_chunks_mut(CHUNK).enumerate().for_each_init(Vec::new, |buf: &mut Vec<f32>, (c, o)| {
        let first = c * CHUNK;
        match &rows {
            Rows::Matrix(x) => model.predict_inplace(x.slice(s![first..first + o.len(), ..]), o),
            Rows::View(v) => {
                let w = v.width();
                buf.resize(o.len() * w, 0.0);
                v.write_rows(first, buf);
                let x = ArrayView2::from_shape((o.len(), w), &buf[..])
                    .expect("the buffer holds one chunk of rows");
                model.predict_inplace(x, o);
            }
        }
        progress(o.len() as u64);
    });
}

/// Reads a feature-row table: the ids of column `id` (non-empty, unique) and the table.
fn read_rows(path: &Path, id: &str) -> Result<(Vec<String>, Table)> {
    let table = read_table(path)?;
    let col = table
        .column(id)
        .map_err(|e| Error::user(format!("{e}; name the cookie id column with --id COLUMN")))?;
    let mut seen = std::collections::HashMap::with_capacity(table.rows);
    let mut ids = Vec::with_capacity(table.rows);
    for i in 0..table.rows {
        let v = col.data.text(i).ok_or_else(|| {
            Error::user(format!(
                "{}: {}, column `{id}`: the cookie id is empty; every row needs one",
                path.display(),
                table.row_label(i)
            ))
        })?;
        if let Some(first) = seen.insert(v.clone(), i) {
            return Err(Error::user(format!(
                "{}: cookie `{v}` is on {} and {} (column `{id}`); give one row per cookie",
                path.display(),
                table.row_label(first),
                table.row_label(i)
            )));
        }
        ids.push(v);
    }
    Ok((ids, table))
}

/// Adds an all-missing column for every trait `source` reads that `columns` lacks (typed so the
/// source imputes it: a number for numeric encodings, text for categorical ones); returns their
/// names.
fn missing_columns(source: &FeatureSource, columns: &mut Vec<Column>, rows: usize) -> Vec<String> {
    let numeric: Vec<(String, bool)> = match source {
        FeatureSource::Traits { encoding } => encoding
            .columns
            .iter()
            .map(|c| match c {
                EncodedColumn::Numeric { column, .. } => (column.clone(), true),
                EncodedColumn::Categorical { column, .. } => (column.clone(), false),
            })
            .collect(),
        // Views read numbers and text alike through `number` / `text`: all-missing text is
        // missing for both.
        FeatureSource::View { .. } => source.traits().into_iter().map(|t| (t, false)).collect(),
    };
    let mut added = Vec::new();
    for (name, is_number) in numeric {
        if columns.iter().any(|c| c.name == name) || added.contains(&name) {
            continue;
        }
        let data = if is_number {
            ColumnData::Float(vec![None; rows])
        } else {
            ColumnData::Str(vec![None; rows])
        };
        columns.push(Column { name: name.clone(), data });
        added.push(name);
    }
    added
}

/// Checks that `path` names an output format [`write_scores`] writes (before any work is done).
pub fn check_output(path: &Path) -> Result<()> {
    let lower = path.to_string_lossy().to_lowercase();
    if lower.ends_with(".parquet") || lower.ends_with(".csv") {
        Ok(())
    } else {
        Err(Error::user(format!(
            "{}: unknown output format; name the file .parquet or .csv",
            path.display()
        )))
    }
}

/// Writes `cookie`, `score`, `qualifies` to `path`: Parquet for `.parquet`, CSV for `.csv`
/// (atomically either way).
pub fn write_scores(path: &Path, scored: &Scored, id_name: &str) -> Result<()> {
    let lower = path.to_string_lossy().to_lowercase();
    if lower.ends_with(".parquet") {
        let columns = vec![
            Column {
                name: id_name.to_string(),
                data: ColumnData::Str(scored.ids.iter().map(|s| Some(s.clone())).collect()),
            },
            Column {
                name: "score".into(),
                data: ColumnData::Float(
                    scored.scores.iter().map(|&s| Some(f64::from(s))).collect(),
                ),
            },
            Column {
                name: "qualifies".into(),
                data: ColumnData::Bool(
                    scored.scores.iter().map(|&s| Some(s >= scored.threshold)).collect(),
                ),
            },
        ];
        crate::table::write_parquet(path, &columns)
    } else if lower.ends_with(".csv") {
        crate::store::write_atomic(path, |w| {
            writeln!(w, "{},score,qualifies", csv_field(id_name)).at(path)?;
            for (id, s) in scored.ids.iter().zip(&scored.scores) {
                writeln!(w, "{},{s},{}", csv_field(id), *s >= scored.threshold).at(path)?;
            }
            Ok(())
        })
    } else {
        Err(Error::user(format!(
            "{}: unknown output format; name the file .parquet or .csv",
            path.display()
        )))
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::synthetic::planted;
    use crate::model::{LookalikeParams, Method};

    #[test]
    fn chunked_scoring_equals_one_call_and_reports_every_row() {
        let (x, names) = planted(CHUNK + 5_000, 6, 3_000, 3);
        let seed: Vec<usize> = (0..1_500).collect();
        let pool: Vec<usize> = (1_500..20_000).collect();
        let model = LookalikeParams::new(Method::Ensemble)
            .holdout(0.0)
            .check()
            .unwrap()
            .fit(x.view(), &names, &seed, &pool)
            .unwrap();
        let mut whole = vec![0f32; x.nrows()];
        model.predict_inplace(x.view(), &mut whole);
        let mut chunked = vec![0f32; x.nrows()];
        let seen = std::sync::atomic::AtomicU64::new(0);
        score_chunks(&model, Rows::Matrix(x.view()), &mut chunked, &|n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(whole, chunked);
        assert_eq!(seen.into_inner(), x.nrows() as u64);
    }

    #[test]
    fn csv_ids_are_quoted_when_needed() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("a,\"b"), "\"a,\"\"b\"");
    }
}
