//! Look-alike and act-alike models on the store: train from a seed segment, expand into pools.
//!
//! Owns the store side of [`crate::model`]: `models/NAME/model.json` (the fitted model and the
//! feature encoding, so new rows are scored with exactly the same transforms) and
//! `models/NAME/card.json` (method, top features, counts, the hold-out evaluation, the seed, the
//! pool and the data version), and expansion: scoring the pool, leaving out the seed and every
//! profile without ad consent, filtering parties and providers, and choosing members under a
//! reach, a size, a minimum score or a budget.
//!
//! **Features.** With a model spec (`--spec models/lookalike.toml` for a look-alike, who they
//! are; `models/actalike.toml` for an act-alike, what they do), the model reads that spec's
//! feature view ([`crate::features`]), fitted on the store's profiles and saved with the model.
//! Without one, it reads every trait of the traits table encoded by [`crate::model::matrix`]
//! (numbers as they are, categoricals one-hot), minus the system traits (`party`, `provider`,
//! `consent.ads`) and the `identity.*` counts. Either way the fitted transforms are in
//! `model.json` ([`FeatureSource`]), so batch scoring ([`crate::score`]) rebuilds exactly the same
//! matrix on new cookies.
//!
//! **Qualifying threshold.** Training also stores the score a candidate needs to be in the top
//! [`QUALIFY_REACH`] (5%) of the training pool outside the seed: the score at the reach an
//! expansion typically takes. Batch scoring uses it as the default `--threshold`, so "qualifies"
//! means "would have made a 5% expansion of this model's pool".
//!
//! It does not own the learning itself ([`crate::model`]) or segments ([`crate::segment`]).

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{self, ViewParams, ViewSpec};
use crate::import::{CONSENT_TRAIT, PARTY_TRAIT, PID_COLUMN, PROVIDER_TRAIT};
use crate::index::{BitmapIndex, Pid};
use crate::model::matrix::{feature_matrix, EncodeOptions, Encoding};
use crate::model::metrics::Evaluation;
use crate::model::{LookalikeModel, LookalikeParams, Method};
use crate::segment;
use crate::store::{now_iso, Store};
use crate::table::Table;

/// The reach whose score is a model's default qualifying threshold: the top 5% of its pool.
pub const QUALIFY_REACH: f64 = 0.05;

/// What a trained model's card says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// The model's name.
    pub name: String,
    /// When it was trained.
    pub created: String,
    /// The method.
    pub method: Method,
    /// The seed segment.
    pub seed_segment: String,
    /// The pool expression.
    pub pool: String,
    /// The feature view (`None`: every trait of the traits table).
    #[serde(default)]
    pub view: Option<String>,
    /// The spec file of the view.
    #[serde(default)]
    pub spec: Option<String>,
    /// The features, in column order.
    pub features: Vec<String>,
    /// The score at [`QUALIFY_REACH`] of the training pool outside the seed: batch scoring's
    /// default threshold.
    #[serde(default)]
    pub threshold: f32,
    /// The most important features with their weights.
    pub top_features: Vec<crate::model::FeatureWeight>,
    /// Training counts.
    pub counts: crate::model::TrainingCounts,
    /// The hold-out evaluation.
    pub evaluation: Option<Evaluation>,
    /// Warnings raised while training.
    pub warnings: Vec<String>,
    /// The random seed.
    pub seed: u64,
    /// `store.json`'s `updated` at training time: the data it learnt from.
    pub data_version: String,
    /// Seconds spent training.
    pub seconds: f64,
}

/// How profile traits become the matrix a model reads, with every fitted parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureSource {
    /// Every trait of the traits table, encoded by [`crate::model::matrix`].
    Traits {
        /// The learnt encoding.
        encoding: Encoding,
    },
    /// A model spec's feature view ([`crate::features`]).
    View {
        /// The fitted view.
        params: ViewParams,
    },
}

impl FeatureSource {
    /// The feature matrix of a table of traits (one row per table row; `_pid` and other
    /// columns the source does not read are ignored).
    pub fn matrix(&self, table: Table) -> Result<ndarray::Array2<f32>> {
        match self {
            FeatureSource::Traits { encoding } => Ok(encoding.apply(&table)?.x),
            FeatureSource::View { params } => features::apply(params, &view_traits(table)?),
        }
    }

    /// The trait names it reads.
    pub fn traits(&self) -> Vec<String> {
        match self {
            FeatureSource::Traits { encoding } => encoding
                .columns
                .iter()
                .map(|c| match c {
                    crate::model::matrix::EncodedColumn::Numeric { column, .. }
                    | crate::model::matrix::EncodedColumn::Categorical { column, .. } => {
                        column.clone()
                    }
                })
                .collect(),
            FeatureSource::View { params } => {
                params.features.iter().map(|f| f.trait_name().to_string()).collect()
            }
        }
    }
}

/// A table's columns (minus `_pid`) as [`features::Traits`], one row per table row.
pub fn view_traits(table: Table) -> Result<features::Traits> {
    let rows = table.rows;
    features::Traits::from_columns(
        rows,
        table
            .columns
            .into_iter()
            .filter(|c| c.name != PID_COLUMN)
            .map(|c| (c.name, c.data))
            .collect(),
    )
}

/// What `models/NAME/model.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredModel {
    /// How traits become the matrix.
    pub source: FeatureSource,
    /// The fitted model.
    pub model: LookalikeModel,
    /// The default qualifying threshold (see [`ModelCard::threshold`]).
    pub threshold: f32,
}

/// How to train: everything but the model's name and seed segment.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The pool expression (`all()` when `None`).
    pub pool: Option<String>,
    /// The method.
    pub method: Method,
    /// The random seed.
    pub seed: u64,
    /// The model spec whose feature view the model reads (`None`: every trait).
    pub spec: Option<ViewSpec>,
}

/// The score at the top `reach` share of `scores` (the value a member needs to be in it).
pub fn score_at_reach(scores: &[f32], reach: f64) -> f32 {
    if scores.is_empty() {
        return f32::INFINITY;
    }
    let mut s = scores.to_vec();
    let k = (((reach * s.len() as f64).ceil() as usize).max(1)).min(s.len());
    let (_, v, _) = s.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    *v
}

/// Traits that are never features.
fn excluded(traits: &Table) -> Vec<String> {
    traits
        .columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| {
            [PID_COLUMN, PARTY_TRAIT, PROVIDER_TRAIT, CONSENT_TRAIT].contains(&n.as_str())
                || n.starts_with("identity.")
        })
        .collect()
}

fn traits_table(store: &Store) -> Result<(Table, Vec<Pid>)> {
    crate::import::read_traits(store)?.ok_or_else(|| {
        Error::user(
            "the store has no profiles yet: run `audience import` or `audience resolve` first",
        )
    })
}

/// Trains model `name` from the members of `seed_segment` against the pool `pool` (an
/// expression; `all()` by default) on every trait, and stores it with its card.
pub fn train(
    store: &mut Store,
    name: &str,
    seed_segment: &str,
    pool: Option<&str>,
    method: Method,
    seed: u64,
) -> Result<ModelCard> {
    let opts = TrainOptions { pool: pool.map(str::to_string), method, seed, spec: None };
    train_with(store, name, seed_segment, &opts)
}

/// Trains model `name` from the members of `seed_segment` with `opts` (a feature view from a
/// model spec, or every trait) and stores it with its card.
pub fn train_with(
    store: &mut Store,
    name: &str,
    seed_segment: &str,
    opts: &TrainOptions,
) -> Result<ModelCard> {
    segment::validate_name(name)?;
    let seed_pids = segment::load(store, seed_segment)?.pids;
    let pool_expr = opts.pool.clone().unwrap_or_else(|| "all()".to_string());
    let pool_pids = segment::evaluate(store, &pool_expr, &HashMap::new())?.pids;
    let (traits, pids) = traits_table(store)?;
    let seed_rows: Vec<usize> =
        pids.iter().enumerate().filter(|(_, p)| seed_pids.contains(**p)).map(|(i, _)| i).collect();
    let pool_rows: Vec<usize> =
        pids.iter().enumerate().filter(|(_, p)| pool_pids.contains(**p)).map(|(i, _)| i).collect();
    let params = LookalikeParams::new(opts.method)
        .seed(opts.seed)
        .check()
        .map_err(|e| Error::user(e.to_string()))?;
    crate::model::check_sizes(seed_rows.len(), pool_rows.len().saturating_sub(seed_rows.len()))
        .map_err(|e| Error::user(format!("seed segment `{seed_segment}`: {e}")))?;
    let (source, x, names) = match &opts.spec {
        None => {
            let eopts = EncodeOptions { exclude: excluded(&traits), ..EncodeOptions::default() };
            let (encoding, fm) = feature_matrix(&traits, &eopts)?;
            (FeatureSource::Traits { encoding }, fm.x, fm.names)
        }
        Some(spec) => {
            let t = view_traits(traits)?;
            let (x, params) = features::build(spec, &t)?;
            let names = params.columns.clone();
            (FeatureSource::View { params }, x, names)
        }
    };
    if names.is_empty() {
        return Err(Error::user(format!(
            "model `{name}`: the feature view has no column on this store's traits; derive the \
             traits it reads (`audience derive`) or use another spec"
        )));
    }
    let model = params.fit(x.view(), &names, &seed_rows, &pool_rows)?;
    // The default qualifying threshold: the score at the top 5% of the pool outside the seed.
    let mut all = vec![0f32; x.nrows()];
    model.predict_inplace(x.view(), &mut all);
    drop(x);
    let outside: Vec<f32> =
        pool_rows.iter().filter(|&&r| !seed_pids.contains(pids[r])).map(|&r| all[r]).collect();
    let threshold = score_at_reach(&outside, QUALIFY_REACH);
    let (view, spec) = match &source {
        FeatureSource::View { params } => (Some(params.view.clone()), Some(params.spec.clone())),
        FeatureSource::Traits { .. } => (None, None),
    };
    let card = ModelCard {
        name: name.to_string(),
        created: now_iso(),
        method: opts.method,
        seed_segment: seed_segment.to_string(),
        pool: pool_expr,
        view,
        spec,
        features: names,
        threshold,
        top_features: model.top_features.clone(),
        counts: model.counts.clone(),
        evaluation: model.evaluation.clone(),
        warnings: model.warnings.clone(),
        seed: opts.seed,
        data_version: store.meta().updated.clone(),
        seconds: model.seconds,
    };
    store.write_json(
        format!("models/{name}/model.json"),
        &StoredModel { source, model, threshold },
    )?;
    store.write_json(format!("models/{name}/card.json"), &card)?;
    let n = std::fs::read_dir(store.path("models")).map(|d| d.count()).unwrap_or(0) as u64;
    store.update_counts(|c| c.models = n)?;
    Ok(card)
}

/// Reads a model's card and fitted model.
pub fn load(store: &Store, name: &str) -> Result<(ModelCard, StoredModel)> {
    let read = |file: &str| -> Result<Vec<u8>> {
        let rel = format!("models/{name}/{file}");
        if !store.path(&rel).exists() {
            return Err(Error::user(format!(
                "no model `{name}` in this store; train it with `audience train {name} --seed-segment SEG`"
            )));
        }
        store.read_file(&rel)
    };
    let bad = |e: serde_json::Error| {
        Error::user(format!("model `{name}` is corrupt ({e}); train it again"))
    };
    let card = serde_json::from_slice(&read("card.json")?).map_err(bad)?;
    let model = serde_json::from_slice(&read("model.json")?).map_err(bad)?;
    Ok((card, model))
}

/// Scores every profile of the traits table with a stored model: (pids, scores).
pub fn score_profiles(store: &Store, stored: &StoredModel) -> Result<(Vec<Pid>, Vec<f32>)> {
    let (traits, pids) = traits_table(store)?;
    let x = stored.source.matrix(traits)?;
    let mut scores = vec![0f32; x.nrows()];
    stored.model.predict_inplace(x.view(), &mut scores);
    Ok((pids, scores))
}

/// How many candidates an expansion takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// A share of the candidates (0.05 = 5%).
    Share(f64),
    /// A number of members.
    Size(u64),
    /// Every candidate scoring at least this.
    MinScore(f32),
}

/// Filters and budget of an expansion.
#[derive(Debug, Clone, Default)]
pub struct ExpandOptions {
    /// Parties allowed (`first`, `second`, `third`); empty = all.
    pub parties: Vec<String>,
    /// Providers allowed for 3rd-party members; empty = all.
    pub providers: Vec<String>,
    /// Most euros to spend on 3rd-party members.
    pub max_cost: Option<f64>,
    /// CPM (EUR per 1,000 members) by provider.
    pub cpm: BTreeMap<String, f64>,
}

/// What an expansion gave.
#[derive(Debug, Clone, Serialize)]
pub struct ExpandReport {
    /// Candidates after filters (pool minus seed, consented).
    pub candidates: u64,
    /// Profiles left out for lack of ad consent.
    pub excluded_no_consent: u64,
    /// Members chosen.
    pub size: u64,
    /// Members by party.
    pub by_party: BTreeMap<String, u64>,
    /// 3rd-party members by provider.
    pub by_provider: BTreeMap<String, u64>,
    /// Cost in EUR: 3rd-party members × their provider's CPM / 1,000.
    pub cost_eur: f64,
    /// Reach as a share of the candidates.
    pub reach: f64,
    /// Expected recall of seed-like people at that reach, from the hold-out curve.
    pub expected_recall: Option<f64>,
    /// Expected lift at that reach, from the hold-out curve.
    pub expected_lift: Option<f64>,
}

/// The cost of one member of `provider` (0 when it has no CPM).
fn member_cost(cpm: &BTreeMap<String, f64>, provider: Option<&String>) -> f64 {
    provider.and_then(|p| cpm.get(p)).map_or(0.0, |c| c / 1000.0)
}

/// Expands model `model` into segment `out`: see the module docs. Returns the report.
pub fn expand(
    store: &mut Store,
    model: &str,
    reach: Reach,
    opts: &ExpandOptions,
    out: &str,
) -> Result<ExpandReport> {
    segment::validate_name(out)?;
    let (card, stored) = load(store, model)?;
    let seed = segment::load(store, &card.seed_segment)?.pids;
    let pool = segment::evaluate(store, &card.pool, &HashMap::new())?.pids;
    let index = BitmapIndex::open(store, Some(&[PARTY_TRAIT, PROVIDER_TRAIT, CONSENT_TRAIT]))
        .map_err(|e| {
            Error::user(format!("{e} (expansion needs party, provider and consent.ads traits)"))
        })?;
    let consented = index.get(CONSENT_TRAIT)?.equals("true");
    let mut candidates = &pool - &seed;
    let excluded_no_consent = candidates.len() - candidates.intersection_len(&consented);
    candidates &= &consented;
    let party_of: HashMap<Pid, String> = index
        .get(PARTY_TRAIT)?
        .values
        .iter()
        .flat_map(|(v, b)| b.iter().map(move |p| (p, v.clone())))
        .collect();
    let provider_of: HashMap<Pid, String> = index
        .get(PROVIDER_TRAIT)?
        .values
        .iter()
        .flat_map(|(v, b)| b.iter().map(move |p| (p, v.clone())))
        .collect();
    if !opts.parties.is_empty() {
        candidates = candidates
            .iter()
            .filter(|p| party_of.get(p).is_some_and(|x| opts.parties.contains(x)))
            .collect();
    }
    if !opts.providers.is_empty() {
        candidates = candidates
            .iter()
            .filter(|p| {
                party_of.get(p).map(String::as_str) != Some("third")
                    || provider_of.get(p).is_some_and(|x| opts.providers.contains(x))
            })
            .collect();
    }
    let (pids, scores) = score_profiles(store, &stored)?;
    let mut ranked: Vec<(Pid, f32)> =
        pids.into_iter().zip(scores).filter(|(p, _)| candidates.contains(*p)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let n = ranked.len() as u64;
    let want = match reach {
        Reach::Share(s) => ((s * n as f64).round() as u64).min(n),
        Reach::Size(k) => k.min(n),
        Reach::MinScore(m) => ranked.iter().filter(|r| r.1 >= m).count() as u64,
    };
    // Free (1st/2nd-party) members in score order; paid ones while the budget lasts, best
    // score per euro first.
    let cost_of = |p: Pid| {
        if party_of.get(&p).map(String::as_str) == Some("third") {
            member_cost(&opts.cpm, provider_of.get(&p))
        } else {
            0.0
        }
    };
    let mut chosen = RoaringBitmap::new();
    let mut cost = 0.0;
    match opts.max_cost {
        None => {
            for &(p, _) in ranked.iter().take(want as usize) {
                chosen.insert(p);
                cost += cost_of(p);
            }
        }
        Some(budget) => {
            let top: Vec<(Pid, f32)> = ranked.iter().take(want as usize).copied().collect();
            let mut paid: Vec<(Pid, f32, f64)> = Vec::new();
            for (p, s) in top {
                let c = cost_of(p);
                if c == 0.0 {
                    chosen.insert(p);
                } else {
                    paid.push((p, s, c));
                }
            }
            paid.sort_by(|a, b| {
                (b.1 as f64 / b.2).total_cmp(&(a.1 as f64 / a.2)).then(a.0.cmp(&b.0))
            });
            for (p, _, c) in paid {
                if cost + c <= budget + 1e-9 {
                    chosen.insert(p);
                    cost += c;
                }
            }
        }
    }
    let mut by_party = BTreeMap::new();
    let mut by_provider = BTreeMap::new();
    for p in &chosen {
        let party = party_of.get(&p).cloned().unwrap_or_else(|| "unknown".into());
        if party == "third" {
            *by_provider.entry(provider_of.get(&p).cloned().unwrap_or_default()).or_insert(0) += 1;
        }
        *by_party.entry(party).or_insert(0) += 1;
    }
    let share = if n == 0 { 0.0 } else { chosen.len() as f64 / n as f64 };
    let curve = card.evaluation.as_ref().map(|e| &e.lift_curve);
    let expected_lift =
        curve.and_then(|c| c.iter().find(|pt| pt.reach >= share - 1e-9).map(|pt| pt.lift));
    let report = ExpandReport {
        candidates: n,
        excluded_no_consent,
        size: chosen.len(),
        by_party,
        by_provider,
        cost_eur: cost,
        reach: share,
        expected_recall: expected_lift.map(|l| (l * share).min(1.0)),
        expected_lift,
    };
    let now = now_iso();
    let meta = segment::SegmentMeta {
        name: out.to_string(),
        definition: format!("@expand({model})"),
        description: Some(format!(
            "look-alike expansion of `{}` by model `{model}`: {} members, {:.2} EUR",
            card.seed_segment, report.size, report.cost_eur
        )),
        size: chosen.len(),
        size_by_party: report.by_party.clone(),
        created: now.clone(),
        updated: now,
        lineage: segment::Lineage { segments: vec![card.seed_segment.clone()], traits: Vec::new() },
        data_version: store.meta().updated.clone(),
        checksum: String::new(),
    };
    segment::save(store, &meta, &chosen)?;
    Ok(report)
}

/// Where provider CPMs live inside the store (written by `resolve` from the `providers` source).
pub const PROVIDERS_FILE: &str = "identity/providers.json";

/// Provider CPMs (EUR per 1,000 members) known to the store; empty when none were read.
pub fn provider_cpms(store: &Store) -> Result<BTreeMap<String, f64>> {
    let path = store.path(PROVIDERS_FILE);
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_slice(&store.read_file(PROVIDERS_FILE)?)
        .map_err(|e| Error::user(format!("{} is corrupt ({e}); run resolve again", path.display())))
}

/// Records provider CPMs in the store (from a `providers` table: `provider`, `cpm_eur`).
pub fn save_provider_cpms(
    store: &Store,
    providers_table: &std::path::Path,
) -> Result<BTreeMap<String, f64>> {
    let cols = crate::table::read_text_columns(providers_table, &["provider", "cpm_eur"], &[])?;
    let mut cpm = BTreeMap::new();
    for (i, (p, c)) in cols[0].iter().zip(&cols[1]).enumerate() {
        let (Some(p), Some(c)) = (p, c) else { continue };
        let v: f64 =
            c.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                Error::user(format!(
                    "{}: row {}, column `cpm_eur`: `{c}` is not a price in EUR",
                    providers_table.display(),
                    i + 1
                ))
            })?;
        cpm.insert(p.clone(), v);
    }
    store.write_json(PROVIDERS_FILE, &cpm)?;
    Ok(cpm)
}

/// The profile view: every trait of the traits table encoded (numbers as they are, categoricals
/// one-hot), minus the system and identity traits, then standardised per column (mean 0,
/// standard deviation 1), for clustering. Returns the pids of the rows and the matrix.
pub fn profile_matrix(store: &Store) -> Result<(Vec<Pid>, crate::model::matrix::FeatureMatrix)> {
    let (traits, pids) = traits_table(store)?;
    let opts = EncodeOptions { exclude: excluded(&traits), ..EncodeOptions::default() };
    let (_, mut fm) = feature_matrix(&traits, &opts)?;
    for mut col in fm.x.columns_mut() {
        if col.iter().all(|&v| v == 0.0 || v == 1.0) {
            continue;
        }
        let n = col.len().max(1) as f64;
        let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        col.mapv_inplace(|v| if sd > 0.0 { ((v as f64 - mean) / sd) as f32 } else { 0.0 });
    }
    Ok((pids, fm))
}
