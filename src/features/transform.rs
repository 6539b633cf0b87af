//! Fitted transforms: what turns one trait column into feature columns, with the arithmetic.
//!
//! Owns [`Fitted`] (the parameters learnt when a view is fitted, saved with any model) and the
//! two steps on them: [`fit`] learns them from trait values, [`Fitted::write`] writes a row's
//! feature values. Numeric pipeline, in this order: clip to `[lo, hi]`, then
//! `log1p` = sign(x) ln(1 + |x|), then standardise `(x - mean) / std` (population std; a
//! constant column gets std 1). A missing value becomes the fitted mean of the transformed
//! values (so 0 when standardised); with an indicator, an extra column is 1 for missing.
//! One-hot keeps the `max_levels` most frequent values (ties by value), the rest go to `=other`.
//! Hashing puts a value into bucket `fnv1a(value) % buckets`.
//!
//! It does not own the spec format ([`super::spec`]) or the matrix layout ([`super`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hash::fnv1a;
use crate::table::ColumnData;

use super::spec::{Encode, FeatureSpec, Missing, DEFAULT_BUCKETS, DEFAULT_LEVELS};

/// The fitted parameters of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "encode", rename_all = "lowercase")]
pub enum Fitted {
    /// A numeric column.
    Numeric {
        /// The trait.
        #[serde(rename = "trait")]
        name: String,
        /// Clip bounds.
        clip: Option<[f64; 2]>,
        /// sign(x) ln(1 + |x|) after clipping.
        log1p: bool,
        /// Subtracted after clip and log1p (0 when not standardising).
        mean: f64,
        /// Divided by after subtracting (1 when not standardising).
        std: f64,
        /// The value (before standardising) given to missing values: the fitted mean.
        fill: f64,
        /// Adds a `#missing` column.
        indicator: bool,
    },
    /// One column per kept level, then `=other`.
    Onehot {
        /// The trait.
        #[serde(rename = "trait")]
        name: String,
        /// The kept levels, in column order.
        levels: Vec<String>,
        /// Adds a `#missing` column.
        indicator: bool,
    },
    /// `buckets` columns.
    Hash {
        /// The trait.
        #[serde(rename = "trait")]
        name: String,
        /// Number of buckets.
        buckets: u32,
        /// Adds a `#missing` column.
        indicator: bool,
    },
}

/// sign(x) ln(1 + |x|).
pub fn signed_log1p(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

/// The text of a categorical value (booleans and numbers as text).
fn text_at(col: &ColumnData, i: usize) -> Option<std::borrow::Cow<'_, str>> {
    match col {
        ColumnData::Str(v) => v[i].as_deref().map(std::borrow::Cow::Borrowed),
        _ => col.text(i).map(std::borrow::Cow::Owned),
    }
}

/// Learns the parameters of `spec` for the trait `name` from its values `col`.
pub fn fit(spec: &FeatureSpec, name: &str, col: &ColumnData) -> Fitted {
    let indicator = spec.missing == Missing::Indicator;
    let encode = spec.encode.unwrap_or(match col {
        ColumnData::Str(v) => {
            let mut distinct: HashMap<&str, ()> = HashMap::new();
            for s in v.iter().flatten() {
                distinct.insert(s, ());
                if distinct.len() > spec.max_levels.unwrap_or(DEFAULT_LEVELS) {
                    break;
                }
            }
            if distinct.len() > spec.max_levels.unwrap_or(DEFAULT_LEVELS) {
                Encode::Hash
            } else {
                Encode::Onehot
            }
        }
        _ => Encode::Numeric,
    });
    match encode {
        Encode::Numeric => {
            let (clip, log1p) = (spec.clip, spec.log1p);
            let pre = |x: f64| {
                let x = clip.map_or(x, |[lo, hi]| x.clamp(lo, hi));
                if log1p {
                    signed_log1p(x)
                } else {
                    x
                }
            };
            let (mut n, mut sum, mut sq) = (0u64, 0.0f64, 0.0f64);
            for i in 0..col.len() {
                if let Some(x) = col.number(i) {
                    let x = pre(x);
                    n += 1;
                    sum += x;
                    sq += x * x;
                }
            }
            let mean = if n > 0 { sum / n as f64 } else { 0.0 };
            let var = if n > 0 { (sq / n as f64 - mean * mean).max(0.0) } else { 0.0 };
            let standardise = spec.standardise.unwrap_or(true);
            let std = if standardise && var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
            Fitted::Numeric {
                name: name.to_string(),
                clip,
                log1p,
                mean: if standardise { mean } else { 0.0 },
                std,
                fill: mean,
                indicator,
            }
        }
        Encode::Onehot => {
            let mut freq: HashMap<std::borrow::Cow<'_, str>, u64> = HashMap::new();
            for i in 0..col.len() {
                if let Some(s) = text_at(col, i) {
                    *freq.entry(s).or_default() += 1;
                }
            }
            let mut levels: Vec<(std::borrow::Cow<'_, str>, u64)> = freq.into_iter().collect();
            levels.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            levels.truncate(spec.max_levels.unwrap_or(DEFAULT_LEVELS));
            Fitted::Onehot {
                name: name.to_string(),
                levels: levels.into_iter().map(|(s, _)| s.into_owned()).collect(),
                indicator,
            }
        }
        Encode::Hash => Fitted::Hash {
            name: name.to_string(),
            buckets: spec.buckets.unwrap_or(DEFAULT_BUCKETS),
            indicator,
        },
    }
}

/// A fitted feature ready to write rows: level lookups built once.
pub struct Prepared<'a> {
    fitted: &'a Fitted,
    col: &'a ColumnData,
    levels: HashMap<&'a str, usize>,
}

impl Fitted {
    /// The trait it reads.
    pub fn trait_name(&self) -> &str {
        match self {
            Fitted::Numeric { name, .. }
            | Fitted::Onehot { name, .. }
            | Fitted::Hash { name, .. } => name,
        }
    }

    /// Its output column names, in order.
    pub fn columns(&self) -> Vec<String> {
        let (name, indicator, mut cols) = match self {
            Fitted::Numeric { name, indicator, .. } => (name, *indicator, vec![name.clone()]),
            Fitted::Onehot { name, levels, indicator } => {
                let mut c: Vec<String> = levels.iter().map(|l| format!("{name}={l}")).collect();
                c.push(format!("{name}=other"));
                (name, *indicator, c)
            }
            Fitted::Hash { name, buckets, indicator } => {
                (name, *indicator, (0..*buckets).map(|b| format!("{name}#h{b}")).collect())
            }
        };
        if indicator {
            cols.push(format!("{name}#missing"));
        }
        cols
    }

    /// Binds the parameters to a trait column.
    pub fn prepare<'a>(&'a self, col: &'a ColumnData) -> Prepared<'a> {
        let levels = match self {
            Fitted::Onehot { levels, .. } => {
                levels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect()
            }
            _ => HashMap::new(),
        };
        Prepared { fitted: self, col, levels }
    }
}

impl Prepared<'_> {
    /// Writes row `i`'s feature values into `out` (exactly `columns().len()` values, zeroed by
    /// the caller).
    #[inline]
    pub fn write(&self, i: usize, out: &mut [f32]) {
        match self.fitted {
            Fitted::Numeric { clip, log1p, mean, std, fill, indicator, .. } => {
                let x = match self.col.number(i) {
                    Some(x) => {
                        let x = clip.map_or(x, |[lo, hi]| x.clamp(lo, hi));
                        if *log1p {
                            signed_log1p(x)
                        } else {
                            x
                        }
                    }
                    None => {
                        if *indicator {
                            out[1] = 1.0;
                        }
                        *fill
                    }
                };
                out[0] = ((x - mean) / std) as f32;
            }
            Fitted::Onehot { levels, indicator, .. } => match text_at(self.col, i) {
                Some(s) => out[self.levels.get(s.as_ref()).copied().unwrap_or(levels.len())] = 1.0,
                None => {
                    if *indicator {
                        out[levels.len() + 1] = 1.0;
                    }
                }
            },
            Fitted::Hash { buckets, indicator, .. } => match text_at(self.col, i) {
                Some(s) => out[(fnv1a(s.as_bytes()) % u64::from(*buckets)) as usize] += 1.0,
                None => {
                    if *indicator {
                        out[*buckets as usize] = 1.0;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_line: &str) -> FeatureSpec {
        toml::from_str(&format!("trait = \"x\"\n{toml_line}")).unwrap()
    }

    fn rows(f: &Fitted, col: &ColumnData) -> Vec<Vec<f32>> {
        let p = f.prepare(col);
        (0..col.len())
            .map(|i| {
                let mut out = vec![0.0; f.columns().len()];
                p.write(i, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn standardise_uses_population_std_and_imputes_the_mean() {
        let col = ColumnData::Float(vec![Some(1.0), Some(3.0), None]);
        let f = fit(&spec("missing = \"indicator\""), "x", &col);
        // mean 2, std 1
        assert_eq!(rows(&f, &col), vec![vec![-1.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(f.columns(), vec!["x", "x#missing"]);
    }

    #[test]
    fn clip_then_log1p_then_standardise() {
        let col = ColumnData::Int(vec![Some(-5), Some(0), Some(100)]);
        let f = fit(&spec("clip = [0.0, 9.0]\nlog1p = true\nstandardise = false"), "x", &col);
        let r = rows(&f, &col);
        assert_eq!(r[0], vec![0.0]);
        assert_eq!(r[2], vec![10f64.ln() as f32]);
        assert!((signed_log1p(-(std::f64::consts::E - 1.0)) + 1.0).abs() < 1e-12);
        let constant = ColumnData::Float(vec![Some(4.0), Some(4.0)]);
        let f = fit(&spec(""), "x", &constant);
        assert_eq!(rows(&f, &constant), vec![vec![0.0], vec![0.0]]);
    }

    #[test]
    fn onehot_keeps_the_most_frequent_levels() {
        let s = |v: &str| Some(v.to_string());
        let col = ColumnData::Str(vec![s("b"), s("a"), s("b"), s("c"), None, s("a")]);
        let f =
            fit(&spec("encode = \"onehot\"\nmax_levels = 2\nmissing = \"indicator\""), "x", &col);
        assert_eq!(f.columns(), vec!["x=a", "x=b", "x=other", "x#missing"]);
        let r = rows(&f, &col);
        assert_eq!(r[0], vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(r[3], vec![0.0, 0.0, 1.0, 0.0]);
        assert_eq!(r[4], vec![0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn hashing_is_stable_fnv_and_default_encodings_follow_cardinality() {
        let values: Vec<Option<String>> = (0..40).map(|i| Some(format!("city{i}"))).collect();
        let col = ColumnData::Str(values);
        let f = fit(&spec("encode = \"hash\"\nbuckets = 8"), "x", &col);
        let r = rows(&f, &col);
        let want = (fnv1a(b"city0") % 8) as usize;
        assert_eq!(r[0].iter().position(|&v| v == 1.0), Some(want));
        assert_eq!(r[0].iter().sum::<f32>(), 1.0);
        assert!(matches!(fit(&spec(""), "x", &col), Fitted::Hash { buckets: 16, .. }));
        let few = ColumnData::Str(vec![Some("FR".into()), Some("DE".into())]);
        assert!(matches!(fit(&spec(""), "x", &few), Fitted::Onehot { .. }));
        let flags = ColumnData::Bool(vec![Some(true), Some(false), None]);
        let f = fit(&spec("standardise = false"), "x", &flags);
        assert_eq!(rows(&f, &flags), vec![vec![1.0], vec![0.0], vec![0.5]]);
    }
}
