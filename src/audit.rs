//! The 3rd-party provider audit: `audience audit-providers [--model NAME]`.
//!
//! Owns the measures a manager needs before paying a provider, computed on the store's traits
//! (provider files become `provider.{P}.{COLUMN}` traits through `audience derive`):
//! - **match rate**: the provider's rows (ids) that found one of our profiles, from the last
//!   derive's counts (`profiles/derive.json`); and the share of our profiles it covers;
//! - **fill rate** of each attribute among the profiles it covers (`interests`: at least one);
//! - **accuracy** of each attribute that 1st-party truth can check, on the profiles holding both:
//!   - `age_band` against the age from the CRM birth date (`demo.age`): right when inside the band;
//!   - `city` against the imported CRM city (`city`), both folded by
//!     [`crate::normalize::normalize_city`] (accents, case, punctuation);
//!   - `interests` against 1st-party behaviour: the share of listed interests the profile bought
//!     (`purchase.count.{X}_365d` > 0) or browsed (`web.pageviews.{X}_decay` > 0), on profiles
//!     with any such behaviour;
//!
//!   other attributes (`income_band`) have no 1st-party truth and are reported as unchecked. The
//!   provider's **accuracy** is the mean of its checked attributes' accuracies, and providers are
//!   ranked by it;
//! - **cost per accurate profile**: what one matched, accurate profile costs:
//!   `CPM / 1000 / (match rate × accuracy)` (junk ids that match nobody are paid for too);
//! - **share of a model's lift** (with `--model`): the model ranks its pool (seed included) and
//!   its lift at 10% (seed share in the top 10% over the seed share in the pool, 1 = random) is
//!   measured with every feature intact, then with the provider's features set to their pool mean
//!   (as if it had not been bought). The provider's share is the lift lost over the lift above
//!   random. In-sample (the seed trained the model), so it is for comparing providers, not a
//!   forecast.
//!
//! It does not own the provider traits (derive) or the models (lookalike).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lookalike::{self, StoredModel};
use crate::normalize::normalize_city;
use crate::segment;
use crate::store::Store;
use crate::table::{ColumnData, Table};

/// The fill rate of one attribute.
#[derive(Debug, Clone, Serialize)]
pub struct Fill {
    /// The attribute (the provider file's column; `interests` for the interest flags).
    pub attribute: String,
    /// Share of the covered profiles that have it.
    pub fill: f64,
}

/// The accuracy of one attribute against 1st-party truth.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// The attribute.
    pub attribute: String,
    /// The 1st-party truth it is checked against.
    pub truth: String,
    /// Profiles (or listed interests) checked.
    pub checked: u64,
    /// Share right.
    pub accuracy: f64,
}

/// One provider's audit.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderAudit {
    /// The provider.
    pub provider: String,
    /// Rank by accuracy (1 = most accurate).
    pub rank: usize,
    /// Rows of its file, and rows whose id found a profile (from the last derive).
    pub rows: Option<(usize, usize)>,
    /// Matched rows over rows.
    pub match_rate: Option<f64>,
    /// Our profiles it covers.
    pub profiles: u64,
    /// Covered profiles over our profiles.
    pub coverage: f64,
    /// Fill rate per attribute.
    pub fill: Vec<Fill>,
    /// Accuracy per checkable attribute.
    pub accuracy: Vec<Accuracy>,
    /// Attributes without 1st-party truth.
    pub unchecked: Vec<String>,
    /// Mean of the checked attributes' accuracies.
    pub overall_accuracy: Option<f64>,
    /// Its CPM (EUR per 1,000 profiles), when the store knows it.
    pub cpm_eur: Option<f64>,
    /// EUR per accurate, matched profile.
    pub cost_per_accurate_profile: Option<f64>,
    /// Share of the model's lift above random that is lost without its features.
    pub lift_share: Option<f64>,
    /// The model's lift at 10% without its features.
    pub lift_without: Option<f64>,
}

/// The audit of every provider.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Profiles in the store.
    pub profiles: usize,
    /// The model whose lift is shared out.
    pub model: Option<String>,
    /// That model's in-sample lift at 10% with every feature.
    pub model_lift: Option<f64>,
    /// Providers, most accurate first.
    pub providers: Vec<ProviderAudit>,
}

/// The provider of a trait name `provider.{P}.{...}` and the rest.
fn split_provider(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("provider.")?.split_once('.')
}

/// `18-24` → (18, 24); `65+` → (65, MAX).
fn parse_band(s: &str) -> Option<(i64, i64)> {
    let s = s.trim();
    if let Some(lo) = s.strip_suffix('+') {
        return Some((lo.trim().parse().ok()?, i64::MAX));
    }
    let (a, b) = s.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn present(col: &ColumnData, i: usize) -> bool {
    !col.is_missing(i)
}

/// Audits every provider found in the store's traits; see the module docs.
pub fn audit_providers(store: &Store, model: Option<&str>) -> Result<AuditReport> {
    let (table, pids) = crate::import::read_traits(store)?.ok_or_else(|| {
        Error::user("the store has no profiles yet: import them and run `audience derive` first")
    })?;
    let col = |name: &str| table.columns.iter().find(|c| c.name == name).map(|c| &c.data);
    let mut providers: BTreeMap<String, Vec<(String, &ColumnData)>> = BTreeMap::new();
    for c in &table.columns {
        if let Some((p, rest)) = split_provider(&c.name) {
            providers.entry(p.to_string()).or_default().push((rest.to_string(), &c.data));
        }
    }
    if providers.is_empty() {
        return Err(Error::user(
            "the store holds no 3rd-party provider traits (`provider.P.*`); derive them from the \
             provider files with `audience derive SOURCES_DIR` (files under SOURCES_DIR/providers/)",
        ));
    }
    let derive_counts: HashMap<String, (usize, usize)> = crate::derive::load_record(store)?
        .map(|r| {
            r.sources
                .into_iter()
                .filter_map(|s| {
                    s.name.strip_prefix("providers/").map(|p| (p.to_string(), (s.rows, s.matched)))
                })
                .collect()
        })
        .unwrap_or_default();
    let cpms = lookalike::provider_cpms(store)?;
    let age = col("demo.age");
    let city = col("city");
    // 1st-party categories of each profile: bought or browsed in the year.
    let mut behaviour: BTreeMap<String, Vec<&ColumnData>> = BTreeMap::new();
    for c in &table.columns {
        let cat =
            c.name.strip_prefix("purchase.count.").and_then(|r| r.strip_suffix("_365d")).or_else(
                || c.name.strip_prefix("web.pageviews.").and_then(|r| r.strip_suffix("_decay")),
            );
        if let Some(cat) = cat {
            behaviour.entry(cat.to_string()).or_default().push(&c.data);
        }
    }
    let active = |cat: &str, i: usize| -> bool {
        behaviour
            .get(cat)
            .is_some_and(|cols| cols.iter().any(|c| c.number(i).is_some_and(|v| v > 0.0)))
    };
    let has_behaviour: Vec<bool> =
        (0..table.rows).map(|i| behaviour.keys().any(|cat| active(cat, i))).collect();

    let mut audits = Vec::new();
    for (provider, attrs) in &providers {
        let covered: Vec<usize> =
            (0..table.rows).filter(|&i| attrs.iter().any(|(_, c)| present(c, i))).collect();
        let n = covered.len().max(1) as f64;
        let interests: Vec<(&str, &ColumnData)> = attrs
            .iter()
            .filter_map(|(a, c)| a.strip_prefix("interest.").map(|x| (x, *c)))
            .collect();
        let plain: Vec<(&str, &ColumnData)> = attrs
            .iter()
            .filter(|(a, _)| !a.starts_with("interest."))
            .map(|(a, c)| (a.as_str(), *c))
            .collect();
        let mut fill: Vec<Fill> = plain
            .iter()
            .map(|(a, c)| Fill {
                attribute: a.to_string(),
                fill: covered.iter().filter(|&&i| present(c, i)).count() as f64 / n,
            })
            .collect();
        if !interests.is_empty() {
            let with = covered
                .iter()
                .filter(|&&i| {
                    interests
                        .iter()
                        .any(|(_, c)| matches!(c, ColumnData::Bool(v) if v[i] == Some(true)))
                })
                .count();
            fill.push(Fill { attribute: "interests".into(), fill: with as f64 / n });
        }
        let mut accuracy = Vec::new();
        let mut unchecked = Vec::new();
        for (a, c) in &plain {
            let (checked, right, truth) = match (*a, age, city) {
                ("age_band", Some(age), _) => {
                    let (mut k, mut r) = (0u64, 0u64);
                    for &i in &covered {
                        let (Some(band), Some(y)) = (c.text(i), age.number(i)) else { continue };
                        let Some((lo, hi)) = parse_band(&band) else { continue };
                        k += 1;
                        r += u64::from((lo..=hi).contains(&(y as i64)));
                    }
                    (k, r, "age from the CRM birth date (demo.age)")
                }
                ("city", _, Some(city)) => {
                    let (mut k, mut r) = (0u64, 0u64);
                    for &i in &covered {
                        let (Some(p), Some(t)) = (c.text(i), city.text(i)) else { continue };
                        let (Ok(p), Ok(t)) = (normalize_city(&p), normalize_city(&t)) else {
                            continue;
                        };
                        k += 1;
                        r += u64::from(p == t);
                    }
                    (k, r, "CRM city (city)")
                }
                _ => {
                    unchecked.push(a.to_string());
                    continue;
                }
            };
            if checked > 0 {
                accuracy.push(Accuracy {
                    attribute: a.to_string(),
                    truth: truth.into(),
                    checked,
                    accuracy: right as f64 / checked as f64,
                });
            } else {
                unchecked.push(a.to_string());
            }
        }
        if !interests.is_empty() {
            let (mut k, mut r) = (0u64, 0u64);
            for &i in covered.iter().filter(|&&i| has_behaviour[i]) {
                for (x, c) in &interests {
                    if matches!(c, ColumnData::Bool(v) if v[i] == Some(true)) {
                        k += 1;
                        r += u64::from(active(x, i));
                    }
                }
            }
            if k > 0 {
                accuracy.push(Accuracy {
                    attribute: "interests".into(),
                    truth: "categories bought or browsed in the year (purchase.count.X_365d, \
                            web.pageviews.X_decay)"
                        .into(),
                    checked: k,
                    accuracy: r as f64 / k as f64,
                });
            } else {
                unchecked.push("interests".into());
            }
        }
        let overall = (!accuracy.is_empty())
            .then(|| accuracy.iter().map(|a| a.accuracy).sum::<f64>() / accuracy.len() as f64);
        let rows = derive_counts.get(provider).copied();
        let match_rate = rows.filter(|r| r.0 > 0).map(|(r, m)| m as f64 / r as f64);
        let cpm = cpms.get(provider).copied();
        let cost = match (cpm, overall) {
            (Some(c), Some(a)) if a > 0.0 => {
                let m = match_rate.unwrap_or(1.0);
                (m > 0.0).then(|| c / 1000.0 / (m * a))
            }
            _ => None,
        };
        audits.push(ProviderAudit {
            provider: provider.clone(),
            rank: 0,
            rows,
            match_rate,
            profiles: covered.len() as u64,
            coverage: covered.len() as f64 / table.rows.max(1) as f64,
            fill,
            accuracy,
            unchecked,
            overall_accuracy: overall,
            cpm_eur: cpm,
            cost_per_accurate_profile: cost,
            lift_share: None,
            lift_without: None,
        });
    }
    audits.sort_by(|a, b| {
        b.overall_accuracy
            .unwrap_or(-1.0)
            .total_cmp(&a.overall_accuracy.unwrap_or(-1.0))
            .then(a.provider.cmp(&b.provider))
    });
    for (i, a) in audits.iter_mut().enumerate() {
        a.rank = i + 1;
    }
    let profiles = table.rows;
    let mut model_lift = None;
    if let Some(name) = model {
        let (card, stored) = lookalike::load(store, name)?;
        let shares = lift_shares(store, &card, &stored, table, &pids, &audits)?;
        model_lift = Some(shares.0);
        for (a, (share, without)) in audits.iter_mut().zip(shares.1) {
            a.lift_share = share;
            a.lift_without = without;
        }
    }
    Ok(AuditReport { profiles, model: model.map(str::to_string), model_lift, providers: audits })
}

/// The report as text: one block per provider, most accurate first.
pub fn render(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    let _ = writeln!(
        s,
        "{} providers audited against {} profiles, ranked by accuracy against 1st-party truth",
        r.providers.len(),
        r.profiles
    );
    for p in &r.providers {
        let _ = writeln!(s, "{}. {}", p.rank, p.provider);
        let matched = match (p.rows, p.match_rate) {
            (Some((rows, m)), Some(rate)) => format!("{m} of {rows} rows matched ({})", pct(rate)),
            _ => "match rate unknown (no derive counts)".into(),
        };
        let _ = writeln!(
            s,
            "   match: {matched}; covers {} profiles ({})",
            p.profiles,
            pct(p.coverage)
        );
        let fill: Vec<String> =
            p.fill.iter().map(|f| format!("{} {}", f.attribute, pct(f.fill))).collect();
        let _ = writeln!(s, "   fill: {}", fill.join(", "));
        for a in &p.accuracy {
            let _ = writeln!(
                s,
                "   accuracy {:<10} {:>6}  on {} checked, against {}",
                a.attribute,
                pct(a.accuracy),
                a.checked,
                a.truth
            );
        }
        if !p.unchecked.is_empty() {
            let _ = writeln!(s, "   unchecked (no 1st-party truth): {}", p.unchecked.join(", "));
        }
        let overall = p.overall_accuracy.map_or("n/a".to_string(), pct);
        let cost = match (p.cpm_eur, p.cost_per_accurate_profile) {
            (Some(cpm), Some(c)) => {
                format!(
                    "CPM {cpm:.2} EUR; {:.2} EUR per 1,000 accurate matched profiles",
                    1000.0 * c
                )
            }
            (Some(cpm), None) => format!("CPM {cpm:.2} EUR"),
            _ => "CPM unknown (resolve reads it from the providers table)".into(),
        };
        let _ = writeln!(s, "   overall accuracy {overall}; {cost}");
        if let (Some(share), Some(without)) = (p.lift_share, p.lift_without) {
            let _ = writeln!(
                s,
                "   share of the model's lift: {} (lift at 10% without it: {without:.2})",
                pct(share)
            );
        }
    }
    if let (Some(m), Some(l)) = (&r.model, r.model_lift) {
        let _ = writeln!(s, "model `{m}`: in-sample lift at 10% with every provider: {l:.2}");
    }
    s
}

/// Lift at 10% of `labels` ranked by `scores` (1 = random).
fn lift_at_10(scores: &[f32], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let top = ((scores.len() as f64 * 0.1).ceil() as usize).max(1);
    let pos = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let hit = order[..top].iter().filter(|&&i| labels[i]).count() as f64;
    (hit / top as f64) / (pos / labels.len() as f64)
}

/// The model's lift, and per provider (in `audits` order) its share and the lift without it.
#[allow(clippy::type_complexity)]
fn lift_shares(
    store: &Store,
    card: &lookalike::ModelCard,
    stored: &StoredModel,
    table: Table,
    pids: &[crate::Pid],
    audits: &[ProviderAudit],
) -> Result<(f64, Vec<(Option<f64>, Option<f64>)>)> {
    let seed = segment::load(store, &card.seed_segment)?.pids;
    let pool = segment::evaluate(store, &card.pool, &HashMap::new())?.pids;
    let rows: Vec<usize> = (0..pids.len()).filter(|&r| pool.contains(pids[r])).collect();
    let labels: Vec<bool> = rows.iter().map(|&r| seed.contains(pids[r])).collect();
    if !labels.iter().any(|&l| l) {
        return Err(Error::user(format!(
            "model `{}`: no member of its seed segment `{}` is in its pool any more; retrain it",
            card.name, card.seed_segment
        )));
    }
    let x = stored.source.matrix(table)?;
    let mut x = x.select(ndarray::Axis(0), &rows);
    let mut scores = vec![0f32; rows.len()];
    stored.model.predict_inplace(x.view(), &mut scores);
    let full = lift_at_10(&scores, &labels);
    let names = &stored.model.features;
    let mut out = Vec::new();
    for a in audits {
        let prefix = format!("provider.{}.", a.provider);
        let cols: BTreeSet<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with(&prefix))
            .map(|(j, _)| j)
            .collect();
        if cols.is_empty() {
            out.push((Some(0.0), Some(full)));
            continue;
        }
        let saved: Vec<(usize, Vec<f32>)> =
            cols.iter().map(|&j| (j, x.column(j).to_vec())).collect();
        for &j in &cols {
            let mean = x.column(j).iter().map(|&v| f64::from(v)).sum::<f64>() / rows.len() as f64;
            x.column_mut(j).fill(mean as f32);
        }
        stored.model.predict_inplace(x.view(), &mut scores);
        let without = lift_at_10(&scores, &labels);
        for (j, v) in saved {
            x.column_mut(j).assign(&ndarray::Array1::from(v));
        }
        let share = if full > 1.0 { ((full - without) / (full - 1.0)).max(0.0) } else { 0.0 };
        out.push((Some(share), Some(without)));
    }
    Ok((full, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_provider_names_parse() {
        assert_eq!(parse_band("18-24"), Some((18, 24)));
        assert_eq!(parse_band("65+"), Some((65, i64::MAX)));
        assert_eq!(parse_band("young"), None);
        assert_eq!(split_provider("provider.acme_data.age_band"), Some(("acme_data", "age_band")));
        assert_eq!(
            split_provider("provider.acme_data.interest.golf"),
            Some(("acme_data", "interest.golf"))
        );
        assert_eq!(split_provider("purchase.monetary"), None);
    }

    #[test]
    fn lift_of_a_perfect_ranking_is_the_inverse_base_rate() {
        let scores: Vec<f32> = (0..100).map(|i| -(i as f32)).collect();
        let labels: Vec<bool> = (0..100).map(|i| i < 5).collect();
        assert!(
            (lift_at_10(&scores, &labels) - 10.0).abs() < 1e-9,
            "5 of 5 in the top 10 of 100: 0.5 / 0.05"
        );
    }
}
