//! Feature views: the ordered numeric features a model reads, as an `ndarray::Array2<f32>` whose
//! row index is the pid.
//!
//! Owns:
//! - [`Traits`]: trait columns aligned to pids (row `p` is pid `p`; pids without a row are
//!   missing everywhere), loaded from `profiles/traits.parquet` or built in memory;
//! - [`fit`]: a [`ViewSpec`] (from `models/*.toml`, see [`spec`]) plus traits give
//!   [`ViewParams`]: the expanded trait list and every fitted transform ([`transform`]);
//! - [`apply`]: parameters plus traits give the matrix. The parameters are saved with any model
//!   (`ViewParams::save` / `load`, JSON), so new cookies are scored with exactly the transforms
//!   the model was trained with; [`build`] is fit then apply.
//!
//! A trait named by the spec but absent from the traits is an error naming the spec file, the
//! feature and the nearest trait name.
//!
//! It does not own models, scoring or the traits table's content.

pub mod spec;
pub mod transform;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::import::PID_COLUMN;
use crate::store::Store;
use crate::table::{read_table, ColumnData};

pub use spec::{FeatureSpec, ViewSpec};
pub use transform::Fitted;

/// Trait columns aligned to pids.
#[derive(Debug, Clone, Default)]
pub struct Traits {
    rows: usize,
    names: Vec<String>,
    columns: HashMap<String, ColumnData>,
}

impl Traits {
    /// Columns that already have one row per pid (`rows` rows each).
    pub fn from_columns(rows: usize, columns: Vec<(String, ColumnData)>) -> Result<Traits> {
        let mut t = Traits { rows, ..Default::default() };
        for (name, col) in columns {
            if col.len() != rows {
                return Err(Error::internal(format!(
                    "trait `{name}` has {} rows, expected {rows}",
                    col.len()
                )));
            }
            t.names.push(name.clone());
            t.columns.insert(name, col);
        }
        t.names.sort();
        Ok(t)
    }

    /// Loads the store's traits table, scattering its rows to their pids (`rows` = largest pid
    /// + 1).
    pub fn load(store: &Store) -> Result<Traits> {
        let path = store.path("profiles/traits.parquet");
        if !path.exists() {
            return Err(Error::user(
                "the store has no traits yet: run `audience import` (and `audience derive`) first",
            ));
        }
        let table = read_table(&path)?;
        let pids: Vec<usize> = match &table.column(PID_COLUMN)?.data {
            ColumnData::Int(v) => v.iter().map(|p| p.unwrap_or(0) as usize).collect(),
            _ => return Err(Error::internal("traits.parquet: _pid is not an integer column")),
        };
        let rows = pids.iter().max().map_or(0, |m| m + 1);
        let columns = table
            .columns
            .into_par_iter()
            .filter(|c| c.name != PID_COLUMN)
            .map(|c| {
                let data = scatter(&c.data, &pids, rows);
                (c.name, data)
            })
            .collect();
        Traits::from_columns(rows, columns)
    }

    /// Number of rows (pids).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Trait names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column of `name`.
    pub fn get(&self, name: &str) -> Option<&ColumnData> {
        self.columns.get(name)
    }
}

fn scatter(col: &ColumnData, pids: &[usize], rows: usize) -> ColumnData {
    fn go<T: Clone>(v: &[Option<T>], pids: &[usize], rows: usize) -> Vec<Option<T>> {
        let mut out = vec![None; rows];
        for (x, &p) in v.iter().zip(pids) {
            out[p] = x.clone();
        }
        out
    }
    match col {
        ColumnData::Bool(v) => ColumnData::Bool(go(v, pids, rows)),
        ColumnData::Int(v) => ColumnData::Int(go(v, pids, rows)),
        ColumnData::Float(v) => ColumnData::Float(go(v, pids, rows)),
        ColumnData::Str(v) => ColumnData::Str(go(v, pids, rows)),
    }
}

/// A fitted view: everything needed to rebuild the same matrix on other profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewParams {
    /// The view's name.
    pub view: String,
    /// The spec file it was fitted from.
    pub spec: String,
    /// Fitted features, in column order.
    pub features: Vec<Fitted>,
    /// Output column names, in order.
    pub columns: Vec<String>,
}

impl ViewParams {
    /// Writes the parameters as JSON, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("serialising view parameters: {e}")))?;
        crate::store::write_atomic(path, |w| w.write_all(&json).at(path))
    }

    /// Reads parameters written by [`ViewParams::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<ViewParams> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).at(path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::user(format!("{} is not a saved feature view ({e})", path.display()))
        })
    }
}

/// The error for a trait the spec names but the traits lack.
fn missing_trait(spec: &ViewSpec, i: usize, name: &str, traits: &Traits) -> Error {
    let nearest = traits
        .names()
        .iter()
        .min_by_key(|n| strsim::damerau_levenshtein(name, n))
        .map(|n| format!(" (the nearest trait is `{n}`)"))
        .unwrap_or_default();
    let what = if name.contains('*') { "no trait matches" } else { "no trait" };
    Error::user(format!(
        "{}: feature {}: {what} `{name}`{nearest}; `audience traits` lists the traits of the \
         store (derive them with `audience derive`, or mark the feature optional = true)",
        spec.origin,
        i + 1
    ))
}

/// Fits the view `spec` on `traits`: expands patterns, checks every trait exists, learns the
/// transforms.
pub fn fit(spec: &ViewSpec, traits: &Traits) -> Result<ViewParams> {
    let mut plan: Vec<(&FeatureSpec, String)> = Vec::new();
    for (i, f) in spec.features.iter().enumerate() {
        let names: Vec<String> = if f.name.contains('*') {
            traits.names().iter().filter(|n| spec::glob(&f.name, n)).cloned().collect()
        } else if traits.get(&f.name).is_some() {
            vec![f.name.clone()]
        } else {
            Vec::new()
        };
        if names.is_empty() && !f.optional {
            return Err(missing_trait(spec, i, &f.name, traits));
        }
        plan.extend(names.into_iter().map(|n| (f, n)));
    }
    let features: Vec<Fitted> = plan
        .par_iter()
        .map(|(f, name)| transform::fit(f, name, traits.get(name).expect("checked above")))
        .collect();
    let columns = features.iter().flat_map(|f| f.columns()).collect();
    Ok(ViewParams { view: spec.name.clone(), spec: spec.origin.clone(), features, columns })
}

/// A fitted view bound to trait columns, ready to write rows of the matrix (level lookups built
/// once). [`apply`] writes every row; batch scoring writes one chunk at a time into a reused
/// buffer ([`PreparedView::write_rows`]).
pub struct PreparedView<'a> {
    features: Vec<(transform::Prepared<'a>, usize)>,
    width: usize,
    rows: usize,
}

impl<'a> PreparedView<'a> {
    /// Binds `params` to `traits`; every trait the view reads must be there.
    pub fn new(params: &'a ViewParams, traits: &'a Traits) -> Result<PreparedView<'a>> {
        let features = params
            .features
            .iter()
            .map(|f| {
                let col = traits.get(f.trait_name()).ok_or_else(|| {
                    Error::user(format!(
                        "the feature view `{}` (from {}) needs trait `{}`, which these profiles \
                         lack; derive it before scoring",
                        params.view,
                        params.spec,
                        f.trait_name()
                    ))
                })?;
                Ok((f.prepare(col), f.columns().len()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PreparedView { features, width: params.columns.len(), rows: traits.rows() })
    }

    /// Columns of the matrix.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows of the matrix (of the traits).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes rows `first..first + out.len() / width` into `out` (row-major, `width` values a
    /// row), overwriting it.
    pub fn write_rows(&self, first: usize, out: &mut [f32]) {
        if self.width == 0 {
            return;
        }
        out.fill(0.0);
        let mut offset = 0;
        for (p, w) in &self.features {
            for (r, row) in out.chunks_mut(self.width).enumerate() {
                p.write(first + r, &mut row[offset..offset + w]);
            }
            offset += w;
        }
    }
}

/// Builds the matrix of `params` over `traits` (row = pid).
pub fn apply(params: &ViewParams, traits: &Traits) -> Result<Array2<f32>> {
    let prepared = PreparedView::new(params, traits)?;
    let width = prepared.width();
    let rows = traits.rows();
    let mut data = vec![0f32; rows * width];
    const BLOCK: usize = 4096;
    if width > 0 {
        data.par_chunks_mut(BLOCK * width)
            .enumerate()
            .for_each(|(b, chunk)| prepared.write_rows(b * BLOCK, chunk));
    }
    Array2::from_shape_vec((rows, width), data)
        .map_err(|e| Error::internal(format!("feature matrix shape: {e}")))
}

/// Fits and applies: the matrix and the parameters to save with a model.
pub fn build(spec: &ViewSpec, traits: &Traits) -> Result<(Array2<f32>, ViewParams)> {
    let params = fit(spec, traits)?;
    Ok((apply(&params, traits)?, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits() -> Traits {
        let s = |v: &str| Some(v.to_string());
        Traits::from_columns(
            3,
            vec![
                (
                    "purchase.monetary_365d".into(),
                    ColumnData::Float(vec![Some(10.0), None, Some(30.0)]),
                ),
                ("country".into(), ColumnData::Str(vec![s("FR"), s("DE"), None])),
                (
                    "purchase.spend.books_365d".into(),
                    ColumnData::Float(vec![Some(1.0), Some(2.0), Some(3.0)]),
                ),
                (
                    "purchase.spend.shoes_365d".into(),
                    ColumnData::Float(vec![Some(0.0), Some(0.0), Some(3.0)]),
                ),
            ],
        )
        .unwrap()
    }

    const SPEC: &str = r#"
[view]
name = "t"
[[view.features]]
trait = "purchase.monetary_365d"
log1p = true
missing = "indicator"
[[view.features]]
trait = "country"
[[view.features]]
trait = "purchase.spend.*_365d"
[[view.features]]
trait = "provider.*.age_band"
optional = true
"#;

    #[test]
    fn params_round_trip_gives_the_same_matrix() {
        let spec = ViewSpec::parse(SPEC, "models/t.toml").unwrap();
        let t = traits();
        let (m, params) = build(&spec, &t).unwrap();
        assert_eq!(m.dim(), (3, 2 + 3 + 2));
        assert_eq!(
            params.columns,
            [
                "purchase.monetary_365d",
                "purchase.monetary_365d#missing",
                "country=DE",
                "country=FR",
                "country=other",
                "purchase.spend.books_365d",
                "purchase.spend.shoes_365d"
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("view.json");
        params.save(&p).unwrap();
        let back = ViewParams::load(&p).unwrap();
        assert_eq!(back, params);
        assert_eq!(apply(&back, &t).unwrap(), m);
        // The missing monetary value is imputed to 0 (the standardised mean) and flagged.
        assert_eq!((m[[1, 0]], m[[1, 1]]), (0.0, 1.0));
    }

    #[test]
    fn a_missing_trait_names_the_spec_and_the_nearest_trait() {
        let spec = ViewSpec::parse(
            "[view]\n[[view.features]]\ntrait = \"country\"\n[[view.features]]\ntrait = \"purchase.monetry_365d\"\n",
            "models/lookalike.toml",
        )
        .unwrap();
        let e = fit(&spec, &traits()).unwrap_err().to_string();
        assert!(
            e.contains("models/lookalike.toml: feature 2")
                && e.contains("`purchase.monetry_365d`")
                && e.contains("nearest trait is `purchase.monetary_365d`"),
            "{e}"
        );
    }
}
