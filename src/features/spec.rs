//! Feature view specifications: the `[view]` section of a model spec file (`models/*.toml`).
//!
//! Owns the file format and its checks. A view is an ordered list of features; each names a trait
//! (or a `*` pattern over trait names, expanded in name order when the view is fitted) and how to
//! encode it:
//!
//! ```toml
//! [view]
//! name = "lookalike"
//! description = "who they are"
//!
//! [[view.features]]
//! trait = "purchase.monetary_365d"
//! log1p = true            # sign(x) * ln(1 + |x|), after clip
//! clip = [0.0, 5000.0]    # optional, applied first
//! standardise = true      # (x - mean) / std, fitted; the default for numeric features
//! missing = "indicator"   # "impute" (default): the fitted mean; "indicator": also a 0/1 column
//!
//! [[view.features]]
//! trait = "city"
//! encode = "hash"         # "numeric", "onehot" or "hash"; default: numeric for numbers and
//! buckets = 32            # booleans, onehot up to max_levels values, hash above
//!
//! [[view.features]]
//! trait = "provider.*.age_band"
//! encode = "onehot"
//! max_levels = 16         # the most frequent values; the rest share an `=other` column
//! optional = true         # a pattern that matches nothing is not an error
//! ```
//!
//! Other sections of the file (model kind, hyperparameters) belong to the training code and are
//! ignored here. It does not own fitting or applying (see [`super::transform`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

/// How a feature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encode {
    /// One column of numbers (booleans as 0/1).
    Numeric,
    /// One column per frequent value, plus `=other`.
    Onehot,
    /// `buckets` columns; a value adds 1 to bucket `fnv1a(value) % buckets`.
    Hash,
}

/// What to do with a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// Numeric: the fitted mean (0 after standardising); categorical: all zeros.
    #[default]
    Impute,
    /// As `impute`, plus a 0/1 column `TRAIT#missing`.
    Indicator,
}

/// One feature of a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// The trait name, or a pattern with `*`.
    #[serde(rename = "trait")]
    pub name: String,
    /// Encoding; default chosen from the trait's values.
    #[serde(default)]
    pub encode: Option<Encode>,
    /// Apply sign(x) ln(1 + |x|).
    #[serde(default)]
    pub log1p: bool,
    /// Clip to [lo, hi] first.
    #[serde(default)]
    pub clip: Option<[f64; 2]>,
    /// Standardise with the fitted mean and standard deviation (default true for numeric).
    #[serde(default)]
    pub standardise: Option<bool>,
    /// Missing values.
    #[serde(default)]
    pub missing: Missing,
    /// One-hot: the most frequent values kept (default 16).
    #[serde(default)]
    pub max_levels: Option<usize>,
    /// Hash: number of buckets (default 16).
    #[serde(default)]
    pub buckets: Option<u32>,
    /// A pattern matching nothing (or an absent trait) is skipped instead of refused.
    #[serde(default)]
    pub optional: bool,
}

/// A parsed view spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewSpec {
    /// The file it came from (for messages).
    pub origin: String,
    /// The view's name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The features, in order.
    pub features: Vec<FeatureSpec>,
}

#[derive(Deserialize)]
struct File {
    view: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    name: Option<String>,
    #[serde(default)]
    description: String,
    features: Vec<FeatureSpec>,
}

/// Default number of one-hot levels.
pub const DEFAULT_LEVELS: usize = 16;
/// Default number of hash buckets.
pub const DEFAULT_BUCKETS: u32 = 16;

impl ViewSpec {
    /// Reads the `[view]` of a spec file.
    pub fn load(path: impl AsRef<Path>) -> Result<ViewSpec> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).at(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the `[view]` of a spec; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ViewSpec> {
        let file: File = toml::from_str(text)
            .map_err(|e| Error::user(format!("{origin}: not a valid view spec: {e}")))?;
        let section = file.view.ok_or_else(|| {
            Error::user(format!("{origin}: no [view] section; add [view] with [[view.features]]"))
        })?;
        if section.features.is_empty() {
            return Err(Error::user(format!("{origin}: the view has no [[view.features]]")));
        }
        let spec = ViewSpec {
            origin: origin.to_string(),
            name: section.name.unwrap_or_else(|| {
                Path::new(origin).file_stem().map_or("view".into(), |s| s.to_string_lossy().into())
            }),
            description: section.description,
            features: section.features,
        };
        spec.check()?;
        Ok(spec)
    }

    /// The rules on each feature, one error per broken rule.
    fn check(&self) -> Result<()> {
        for (i, f) in self.features.iter().enumerate() {
            let bad = |rule: &str| {
                Error::user(format!("{}: feature {} (`{}`): {rule}", self.origin, i + 1, f.name))
            };
            if f.name.trim().is_empty() {
                return Err(bad("the trait name is empty"));
            }
            if let Some([lo, hi]) = f.clip {
                if lo.is_nan() || hi.is_nan() || lo >= hi {
                    return Err(bad("clip = [lo, hi] needs lo < hi"));
                }
            }
            let categorical = matches!(f.encode, Some(Encode::Onehot | Encode::Hash));
            if categorical && (f.log1p || f.clip.is_some() || f.standardise == Some(true)) {
                return Err(bad("log1p, clip and standardise apply to numeric features only"));
            }
            if f.max_levels.is_some() && f.encode == Some(Encode::Hash) {
                return Err(bad("max_levels is for onehot; hash takes buckets"));
            }
            if f.buckets.is_some() && f.encode != Some(Encode::Hash) {
                return Err(bad("buckets needs encode = \"hash\""));
            }
            if f.buckets.is_some_and(|b| !(1..=4096).contains(&b)) {
                return Err(bad("buckets must be between 1 and 4096"));
            }
            if f.max_levels.is_some_and(|m| !(1..=1024).contains(&m)) {
                return Err(bad("max_levels must be between 1 and 1024"));
            }
        }
        Ok(())
    }
}

/// Whether `name` fits `pattern`, where `*` stands for any text (possibly empty).
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head)
                && (head.len()..=name.len())
                    .filter(|&k| name.is_char_boundary(k))
                    .any(|k| glob(tail, &name[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_ignores_other_sections() {
        let s = ViewSpec::parse(
            "[model]\nkind = \"logistic\"\n[view]\nname = \"v\"\n[[view.features]]\ntrait = \"a\"\nlog1p = true\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(s.features.len(), 1);
        assert!(s.features[0].log1p);
    }

    #[test]
    fn broken_rules_name_the_file_and_feature() {
        let e = ViewSpec::parse(
            "[view]\n[[view.features]]\ntrait = \"a\"\nclip = [5.0, 1.0]\n",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("m.toml: feature 1 (`a`)") && e.contains("lo < hi"), "{e}");
        let e = ViewSpec::parse(
            "[view]\n[[view.features]]\ntrait = \"a\"\nencode = \"onehot\"\nlog1p = true\n",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("numeric features only"), "{e}");
        let e = ViewSpec::parse("[view]\n[[view.features]]\ntrait = \"a\"\nscale = 1\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("scale"), "{e}");
    }

    #[test]
    fn glob_patterns() {
        assert!(glob("purchase.spend.*_365d", "purchase.spend.shoes_365d"));
        assert!(!glob("purchase.spend.*_365d", "purchase.spend.shoes_90d"));
        assert!(glob("provider.*.interest.*", "provider.acme.interest.golf"));
        assert!(glob("a", "a") && !glob("a", "ab"));
    }
}
