//! Tables to feature matrices: any [`Table`] (labelled or not) to an `Array2<f32>` with names.
//!
//! Owns the encoding rules, learnt once on a table ([`Encoding::fit`]) and applied the same way to
//! any other table with those columns ([`Encoding::apply`]), so that a model trained on one file
//! scores another:
//! - numeric columns (int, float, bool as 0/1) as they are; a missing value becomes the column's
//!   mean, and a `NAME.missing` indicator column (1 = missing) is added when any value is missing;
//! - text columns one-hot, one `NAME=LEVEL` column per level held by at least
//!   [`EncodeOptions::min_level_rows`] rows (at most [`EncodeOptions::max_levels`], the most
//!   frequent); rarer levels, and levels unseen at fit, are pooled into `NAME=other`; missing gets
//!   `NAME=missing`. A text column without any such level (an id, free text) is skipped, and the
//!   reason is reported;
//! - the excluded columns (the label, the id, anything the caller lists) are never features.
//!
//! It does not own scaling (models standardise on their own) nor what the label means.

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::{ColumnData, Table};

/// How a table is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// Columns that are never features: the label, the id, anything else to leave out.
    pub exclude: Vec<String>,
    /// Most one-hot levels kept per text column (others pool into `other`).
    pub max_levels: usize,
    /// Fewest rows a text level needs to get its own column.
    pub min_level_rows: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { exclude: Vec::new(), max_levels: 20, min_level_rows: 10 }
    }
}

/// How one source column becomes feature columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EncodedColumn {
    /// A number as it is; missing values become `mean`, with a `.missing` indicator when
    /// `indicator` is set.
    Numeric {
        /// The source column.
        column: String,
        /// The mean of the present values at fit (0 when none).
        mean: f64,
        /// Whether a `NAME.missing` feature follows.
        indicator: bool,
    },
    /// One-hot text: one feature per level, then `NAME=other` and `NAME=missing` when set.
    Categorical {
        /// The source column.
        column: String,
        /// The levels with their own feature, most frequent first.
        levels: Vec<String>,
        /// Whether a `NAME=other` feature follows (rare or unseen levels).
        other: bool,
        /// Whether a `NAME=missing` feature follows.
        missing: bool,
    },
}

impl EncodedColumn {
    fn names(&self) -> Vec<String> {
        match self {
            EncodedColumn::Numeric { column, indicator, .. } => {
                let mut v = vec![column.clone()];
                if *indicator {
                    v.push(format!("{column}.missing"));
                }
                v
            }
            EncodedColumn::Categorical { column, levels, other, missing } => {
                let mut v: Vec<String> = levels.iter().map(|l| format!("{column}={l}")).collect();
                if *other {
                    v.push(format!("{column}=other"));
                }
                if *missing {
                    v.push(format!("{column}=missing"));
                }
                v
            }
        }
    }
}

/// The encoding learnt on a table: which columns, in which order, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// The encoded columns, in the table's order.
    pub columns: Vec<EncodedColumn>,
    /// Columns left out and why (excluded ones are not listed).
    pub skipped: Vec<(String, String)>,
}

/// A feature matrix: one row per table row, one column per feature name.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    /// The values, rows × features.
    pub x: Array2<f32>,
    /// The feature names, one per column of `x`.
    pub names: Vec<String>,
}

impl Encoding {
    /// Learns the encoding of `table`. Every excluded column must exist (a typo would otherwise
    /// let a label leak into the features).
    pub fn fit(table: &Table, opts: &EncodeOptions) -> Result<Encoding> {
        for name in &opts.exclude {
            table.column(name)?;
        }
        let mut columns = Vec::new();
        let mut skipped = Vec::new();
        for col in &table.columns {
            if opts.exclude.iter().any(|e| e == &col.name) {
                continue;
            }
            match &col.data {
                ColumnData::Str(values) => {
                    let mut counts: HashMap<&str, usize> = HashMap::new();
                    let mut missing = false;
                    for v in values {
                        match v {
                            Some(s) => *counts.entry(s.as_str()).or_default() += 1,
                            None => missing = true,
                        }
                    }
                    let mut frequent: Vec<(&str, usize)> =
                        counts.iter().map(|(k, v)| (*k, *v)).collect();
                    frequent.retain(|&(_, n)| n >= opts.min_level_rows);
                    if frequent.is_empty() {
                        skipped.push((
                            col.name.clone(),
                            format!(
                                "text with no value in at least {} rows (an id or free text?)",
                                opts.min_level_rows
                            ),
                        ));
                        continue;
                    }
                    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                    frequent.truncate(opts.max_levels);
                    let other = frequent.len() < counts.len();
                    columns.push(EncodedColumn::Categorical {
                        column: col.name.clone(),
                        levels: frequent.iter().map(|(l, _)| l.to_string()).collect(),
                        other,
                        missing,
                    });
                }
                data => {
                    let (mut sum, mut n) = (0.0, 0usize);
                    for i in 0..data.len() {
                        if let Some(x) = data.number(i) {
                            sum += x;
                            n += 1;
                        }
                    }
                    let mean = if n > 0 { sum / n as f64 } else { 0.0 };
                    columns.push(EncodedColumn::Numeric {
                        column: col.name.clone(),
                        mean,
                        indicator: n < data.len(),
                    });
                }
            }
        }
        if columns.is_empty() {
            return Err(Error::user(format!(
                "{}: no column is left to use as a feature (all are excluded or skipped); \
                 exclude fewer columns",
                table.path.display()
            )));
        }
        Ok(Encoding { columns, skipped })
    }

    /// The feature names, in column order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().flat_map(EncodedColumn::names).collect()
    }

    /// Encodes `table`, which must have every encoded column with a compatible type.
    pub fn apply(&self, table: &Table) -> Result<FeatureMatrix> {
        let names = self.names();
        let mut x = Array2::<f32>::zeros((table.rows, names.len()));
        let mut f = 0;
        for enc in &self.columns {
            match enc {
                EncodedColumn::Numeric { column, mean, indicator } => {
                    let data = &table.column(column)?.data;
                    if let ColumnData::Str(_) = data {
                        return Err(Error::user(format!(
                            "{}: column `{column}` is text here but was numeric when the \
                             encoding was learnt; give a table with the same column types",
                            table.path.display()
                        )));
                    }
                    for i in 0..table.rows {
                        match data.number(i) {
                            Some(v) => x[[i, f]] = v as f32,
                            None => {
                                x[[i, f]] = *mean as f32;
                                if *indicator {
                                    x[[i, f + 1]] = 1.0;
                                }
                            }
                        }
                    }
                    f += 1 + *indicator as usize;
                }
                EncodedColumn::Categorical { column, levels, other, missing } => {
                    let data = &table.column(column)?.data;
                    let index: HashMap<&str, usize> =
                        levels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
                    let other_at = levels.len();
                    let missing_at = levels.len() + *other as usize;
                    for i in 0..table.rows {
                        match data.text(i) {
                            Some(v) => match index.get(v.as_str()) {
                                Some(&j) => x[[i, f + j]] = 1.0,
                                None if *other => x[[i, f + other_at]] = 1.0,
                                None => {}
                            },
                            None if *missing => x[[i, f + missing_at]] = 1.0,
                            None => {}
                        }
                    }
                    f += levels.len() + *other as usize + *missing as usize;
                }
            }
        }
        debug_assert_eq!(f, names.len());
        Ok(FeatureMatrix { x, names })
    }
}

/// Learns the encoding of `table` and applies it: the usual one-step path.
pub fn feature_matrix(table: &Table, opts: &EncodeOptions) -> Result<(Encoding, FeatureMatrix)> {
    let enc = Encoding::fit(table, opts)?;
    let m = enc.apply(table)?;
    Ok((enc, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;

    fn table(columns: Vec<Column>) -> Table {
        let rows = columns[0].data.len();
        Table { path: "t.csv".into(), is_csv: true, rows, columns }
    }

    fn col(name: &str, data: ColumnData) -> Column {
        Column { name: name.into(), data }
    }

    #[test]
    fn numbers_one_hot_missing_and_exclusions() {
        let mut city: Vec<Option<String>> =
            (0..24).map(|i| Some(if i % 2 == 0 { "Paris" } else { "Lyon" }.into())).collect();
        city[3] = Some("Nice".into()); // rare: pooled into other
        city[5] = None;
        let t = table(vec![
            col("id", ColumnData::Str((0..24).map(|i| Some(format!("c{i}"))).collect())),
            col("age", ColumnData::Int((0..24).map(|i| (i != 1).then_some(i as i64)).collect())),
            col("vip", ColumnData::Bool((0..24).map(|i| Some(i % 3 == 0)).collect())),
            col("city", ColumnData::Str(city)),
            col("label", ColumnData::Int(vec![Some(1); 24])),
        ]);
        let opts = EncodeOptions { exclude: vec!["label".into()], ..Default::default() };
        let (enc, m) = feature_matrix(&t, &opts).unwrap();
        assert_eq!(
            m.names,
            ["age", "age.missing", "vip", "city=Paris", "city=Lyon", "city=other", "city=missing"]
        );
        assert_eq!(enc.skipped.len(), 1, "the id column is text with unique values");
        let mean_age = (0..24).filter(|&i| i != 1).sum::<i32>() as f32 / 23.0;
        assert_eq!(m.x.row(1).to_vec(), [mean_age, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(m.x.row(3).to_vec(), [3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(m.x.row(5).to_vec(), [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        // Applying to another table: unseen levels pool into other.
        let t2 = table(vec![
            col("age", ColumnData::Int(vec![Some(40)])),
            col("vip", ColumnData::Bool(vec![Some(true)])),
            col("city", ColumnData::Str(vec![Some("Brest".into())])),
        ]);
        assert_eq!(enc.apply(&t2).unwrap().x.row(0).to_vec(), [40.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_misspelt_exclusion_is_refused() {
        let t = table(vec![col("age", ColumnData::Int(vec![Some(1)]))]);
        let opts = EncodeOptions { exclude: vec!["agee".into()], ..Default::default() };
        let e = Encoding::fit(&t, &opts).unwrap_err().to_string();
        assert!(e.contains("no column `agee`") && e.contains("did you mean `age`"), "{e}");
        let opts = EncodeOptions { exclude: vec!["age".into()], ..Default::default() };
        assert!(Encoding::fit(&t, &opts).unwrap_err().to_string().contains("no column is left"));
    }
}
