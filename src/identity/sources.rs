//! Column roles of the raw sources: which column of which file plays which part.
//!
//! Owns `sources.toml`: an optional file in the sources directory that maps a user's file and
//! column names to canonical roles, source by source. Anything not given keeps the default, which
//! fits `audience generate`'s output:
//!
//! ```toml
//! default_country = "FR"          # for national phone numbers
//! [crm]
//! file = "customers"              # customers.parquet / .csv / .csv.gz
//! email = "EmailAddress"
//! ```
//!
//! It does not own reading the files ([`crate::table`]) or what the roles are used for.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Every source and its roles with their default column names.
pub const DEFAULTS: &[(&str, &[&str])] = &[
    (
        "crm",
        &[
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "street",
            "city",
            "postcode",
            "country",
            "birth_date",
            "gender",
            "loyalty_card",
            "ad_consent",
        ],
    ),
    ("receipts", &["ts", "loyalty_card", "customer_id", "channel", "category"]),
    (
        "web_events",
        &[
            "ts",
            "cookie",
            "device_id",
            "device_type",
            "ip",
            "user_agent",
            "category",
            "email_sha256",
            "event_type",
        ],
    ),
    ("email_events", &["email_sha256"]),
    ("ad_exposures", &["ts", "cookie", "device_id", "ip", "user_agent"]),
    ("partner_syncs", &["partner", "partner_cookie", "cookie"]),
    ("partner_events", &["partner", "partner_cookie"]),
];

/// The parsed `sources.toml` (or the defaults).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourcesConfig {
    /// Country for national phone numbers without one (ISO alpha-2).
    #[serde(default)]
    pub default_country: Option<String>,
    /// Per source: `file` and role → column overrides.
    #[serde(flatten)]
    pub sources: BTreeMap<String, HashMap<String, String>>,
}

impl SourcesConfig {
    /// Reads `DIR/sources.toml` when present, checking every source and role name.
    pub fn load(dir: &Path) -> Result<SourcesConfig> {
        let path = dir.join("sources.toml");
        if !path.exists() {
            return Ok(SourcesConfig::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let cfg: SourcesConfig =
            toml::from_str(&text).map_err(|e| Error::user(format!("{}: {e}", path.display())))?;
        for (source, roles) in &cfg.sources {
            let Some((_, known)) = DEFAULTS.iter().find(|(s, _)| s == source) else {
                let names: Vec<&str> = DEFAULTS.iter().map(|(s, _)| *s).collect();
                return Err(Error::user(format!(
                    "{}: unknown source [{source}]; the sources are: {}",
                    path.display(),
                    names.join(", ")
                )));
            };
            for role in roles.keys() {
                if role != "file" && !known.contains(&role.as_str()) {
                    return Err(Error::user(format!(
                        "{}: [{source}] has no role `{role}`; its roles are: file, {}",
                        path.display(),
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(cfg)
    }

    /// The column playing `role` in `source`.
    pub fn column<'a>(&'a self, source: &str, role: &'a str) -> &'a str {
        self.sources.get(source).and_then(|r| r.get(role)).map_or(role, String::as_str)
    }

    /// The file of `source` in `dir`, if it exists.
    pub fn file(&self, dir: &Path, source: &str) -> Option<PathBuf> {
        let base =
            self.sources.get(source).and_then(|r| r.get("file")).map_or(source, String::as_str);
        crate::table::find_source(dir, base)
    }
}
