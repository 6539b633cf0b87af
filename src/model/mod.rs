//! Look-alike models: who in a pool looks like a seed audience.
//!
//! Owns the store-independent core on an `Array2<f32>` feature matrix whose rows are people (the
//! row index is the pid in a store): training, batch scoring and evaluation. The store, feature
//! views and model cards on disk are the caller's.
//!
//! **Positive-unlabelled learning.** The seed rows are the positives. The pool minus the seed is
//! unlabelled: it holds people like the seed that nobody has labelled yet, which is the point. A
//! seeded sample of it (`unlabelled_per_seed` × seed, within `min_unlabelled..=max_unlabelled`)
//! plays the negatives. Only the ranking of the pool is used, never a probability.
//!
//! **Methods** ([`Method`]):
//! - `logistic` ([`logistic`]): L2-regularised logistic regression (linfa-logistic) on
//!   standardised features, classes balanced by resampling; optionally with the pairwise products
//!   of its six strongest features when they earn their place on the validation split;
//! - `similarity` ([`similarity`]): cosine to the seed centroid plus the mean cosine to the `k`
//!   nearest seed prototypes, in a standardised space weighted by how the seed differs from the pool;
//! - `ensemble` (the default, [`ensemble`]): the weighted average of the two scorers' percentiles
//!   in the pool (Pinterest found an ensemble best for every seed size).
//!
//! **Robustness without tuning to one data set.** The L2 strength, the interactions and the
//! ensemble weight are
//! chosen on an inner validation split (seeded; a quarter of the seed and of the unlabelled sample
//! held out; PU AUC, which ranks models like the true AUC). Ties go to the stronger regularisation,
//! to the linear model and to the even average: each richer setting must gain 0.001 AUC.
//!
//! **Evaluation inside training.** With `holdout` > 0 (0.2 by default) that share of the seed is
//! held out (seeded) and mixed into the pool; the model trained on the rest ranks them, and the
//! [`metrics::Evaluation`] (AUC, precision at K, recall at reach, lift) goes on the model's card.
//! The model evaluated is the model returned (no refit on the whole seed: the card describes
//! exactly what scores, and training costs one fit, not two).
//!
//! **Seed size.** A seed under [`MIN_SEED`] members is refused and one under [`WARN_SEED`] gets a
//! warning, as Meta and Google do for look-alike and similar audiences.
//!
//! **Scoring** ([`LookalikeModel::predict_inplace`]) writes into the caller's buffer, in parallel
//! over blocks of rows: one dot product per row for `logistic`, `P + 2` for `ensemble`.

pub mod ensemble;
pub mod logistic;
pub mod matrix;
pub mod metrics;
pub mod offline;
pub mod scale;
pub mod similarity;
pub mod synthetic;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use ndarray::{s, ArrayView2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use ensemble::{Ensemble, Percentiles, WEIGHT_GRID};
use logistic::{sigmoid, LogisticScorer};
use metrics::Evaluation;
use scale::Scaler;
use similarity::SimilarityScorer;

/// Fewest seed members a model is trained on.
pub const MIN_SEED: usize = 100;
/// Under this many seed members training warns that the model will be weak.
pub const WARN_SEED: usize = 1000;
/// Fewest pool rows (the seed excluded) a model is trained against.
pub const MIN_POOL: usize = 100;

/// Most seed members in the fitting part of the inner validation split.
const SEARCH_SEED: usize = 6_000;
/// The strongest features whose pairwise products the logistic scorer may add
/// (6 features: 21 products, squares included).
const INTERACTION_FEATURES: usize = 6;
/// Most unlabelled rows in the fitting part of the inner validation split.
const SEARCH_UNLABELLED: usize = 40_000;

/// Rows per scoring block (one rayon task).
const BLOCK: usize = 4096;

/// How a model ranks the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The average of the logistic and similarity percentiles (the default).
    Ensemble,
    /// L2-regularised, class-balanced logistic regression.
    Logistic,
    /// Cosine similarity to the seed's centroid and nearest prototypes.
    Similarity,
}

impl Method {
    fn uses_logistic(self) -> bool {
        matches!(self, Method::Ensemble | Method::Logistic)
    }
    fn uses_similarity(self) -> bool {
        matches!(self, Method::Ensemble | Method::Similarity)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Ensemble => "ensemble",
            Method::Logistic => "logistic",
            Method::Similarity => "similarity",
        })
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        match s {
            "ensemble" => Ok(Method::Ensemble),
            "logistic" => Ok(Method::Logistic),
            "similarity" => Ok(Method::Similarity),
            _ => Err(Error::user(format!(
                "unknown look-alike method `{s}`; use ensemble, logistic or similarity"
            ))),
        }
    }
}

/// A broken rule of the training parameters or of the training data; the message states the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The seed is under [`MIN_SEED`] members.
    #[error(
        "a seed needs at least {min} members (look-alike models learn nothing reliable from \
         fewer; Meta and Google refuse them too); this one has {0}: give a larger seed",
        min = MIN_SEED
    )]
    SeedTooSmall(usize),
    /// The pool minus the seed is under [`MIN_POOL`] rows.
    #[error(
        "the pool needs at least {min} people outside the seed to learn what is not like the \
         seed; this one has {0}: give a larger pool",
        min = MIN_POOL
    )]
    PoolTooSmall(usize),
    /// The hold-out share is not in `[0, 0.5)`.
    #[error("the hold-out share of the seed must be at least 0 and under 0.5; got {0}")]
    Holdout(f64),
    /// The inner validation share is not in `(0, 0.5)`.
    #[error("the inner validation share must be over 0 and under 0.5; got {0}")]
    Validation(f64),
    /// No L2 strength to try, or one that is not a positive finite number.
    #[error("the L2 strengths to try must be one or more positive finite numbers; got {0:?}")]
    Lambdas(Vec<f64>),
    /// Zero prototypes.
    #[error("the similarity scorer needs at least 1 prototype; got 0")]
    Prototypes,
    /// Neighbours outside `1..=prototypes`.
    #[error("the neighbours averaged must be between 1 and the prototypes ({prototypes}); got {neighbours}")]
    Neighbours {
        /// Neighbours asked for.
        neighbours: usize,
        /// Prototypes kept.
        prototypes: usize,
    },
    /// The unlabelled sample bounds are empty or reversed.
    #[error("the unlabelled sample needs 1 <= min ({min}) <= max ({max}) and a ratio of at least 1 per seed member ({ratio})")]
    Unlabelled {
        /// Smallest sample.
        min: usize,
        /// Largest sample.
        max: usize,
        /// Unlabelled rows per seed member.
        ratio: usize,
    },
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Error {
        Error::user(e.to_string())
    }
}

/// Training parameters, validated (see [`LookalikeParams::check`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidLookalikeParams {
    /// The method.
    pub method: Method,
    /// Seed of every random step (sampling, splits, k-means).
    pub seed: u64,
    /// Share of the seed held out for the evaluation inside training (0 = none).
    pub holdout: f64,
    /// Share of the training rows held out to choose the L2 strength and the ensemble weight.
    pub validation: f64,
    /// Unlabelled rows sampled per seed member.
    pub unlabelled_per_seed: usize,
    /// Fewest unlabelled rows sampled (when the pool has them).
    pub min_unlabelled: usize,
    /// Most unlabelled rows sampled.
    pub max_unlabelled: usize,
    /// L2 strengths per row to try, strongest first.
    pub lambdas: Vec<f64>,
    /// Seed prototypes of the similarity scorer.
    pub prototypes: usize,
    /// Nearest prototypes averaged.
    pub neighbours: usize,
}

/// Training parameters, unchecked: build with the setters, then [`LookalikeParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct LookalikeParams(ValidLookalikeParams);

impl Default for LookalikeParams {
    fn default() -> Self {
        LookalikeParams(ValidLookalikeParams {
            method: Method::Ensemble,
            seed: 42,
            holdout: 0.2,
            validation: 0.25,
            unlabelled_per_seed: 10,
            min_unlabelled: 10_000,
            max_unlabelled: 200_000,
            lambdas: vec![1e-1, 1e-2, 1e-3, 1e-4],
            prototypes: 32,
            neighbours: 3,
        })
    }
}

impl LookalikeParams {
    /// The defaults for `method`.
    pub fn new(method: Method) -> Self {
        let mut p = Self::default();
        p.0.method = method;
        p
    }
    /// Sets the random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Sets the hold-out share (0 = no evaluation inside training).
    pub fn holdout(mut self, share: f64) -> Self {
        self.0.holdout = share;
        self
    }
    /// Sets the inner validation share.
    pub fn validation(mut self, share: f64) -> Self {
        self.0.validation = share;
        self
    }
    /// Sets the unlabelled sample: rows per seed member, and its bounds.
    pub fn unlabelled(mut self, per_seed: usize, min: usize, max: usize) -> Self {
        self.0.unlabelled_per_seed = per_seed;
        self.0.min_unlabelled = min;
        self.0.max_unlabelled = max;
        self
    }
    /// Sets the L2 strengths to try.
    pub fn lambdas(mut self, lambdas: Vec<f64>) -> Self {
        self.0.lambdas = lambdas;
        self
    }
    /// Sets the similarity scorer's prototypes and neighbours.
    pub fn prototypes(mut self, prototypes: usize, neighbours: usize) -> Self {
        self.0.prototypes = prototypes;
        self.0.neighbours = neighbours;
        self
    }

    /// Checks every rule, one [`ParamError`] per broken rule.
    pub fn check(self) -> Result<ValidLookalikeParams, ParamError> {
        let p = self.0;
        if !(0.0..0.5).contains(&p.holdout) {
            return Err(ParamError::Holdout(p.holdout));
        }
        if !(p.validation > 0.0 && p.validation < 0.5) {
            return Err(ParamError::Validation(p.validation));
        }
        if p.lambdas.is_empty() || p.lambdas.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(ParamError::Lambdas(p.lambdas));
        }
        if p.prototypes == 0 {
            return Err(ParamError::Prototypes);
        }
        if p.neighbours == 0 || p.neighbours > p.prototypes {
            return Err(ParamError::Neighbours {
                neighbours: p.neighbours,
                prototypes: p.prototypes,
            });
        }
        if p.min_unlabelled == 0
            || p.min_unlabelled > p.max_unlabelled
            || p.unlabelled_per_seed == 0
        {
            return Err(ParamError::Unlabelled {
                min: p.min_unlabelled,
                max: p.max_unlabelled,
                ratio: p.unlabelled_per_seed,
            });
        }
        Ok(p)
    }
}

/// Checks the seed's and the pool's sizes; gives the warnings (a seed under [`WARN_SEED`]).
pub fn check_sizes(seed: usize, pool_outside_seed: usize) -> Result<Vec<String>, ParamError> {
    if seed < MIN_SEED {
        return Err(ParamError::SeedTooSmall(seed));
    }
    if pool_outside_seed < MIN_POOL {
        return Err(ParamError::PoolTooSmall(pool_outside_seed));
    }
    let mut warnings = Vec::new();
    if seed < WARN_SEED {
        warnings.push(format!(
            "the seed has {seed} members, under {WARN_SEED}: the model will be noisy \
             (Meta and Google recommend 1,000 to 50,000)"
        ));
    }
    Ok(warnings)
}

/// Row counts of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCounts {
    /// Seed members given (duplicates removed).
    pub seed: usize,
    /// Seed members held out for the evaluation (the model is trained on the others).
    pub holdout: usize,
    /// Pool rows outside the seed.
    pub pool: usize,
    /// Unlabelled rows sampled from them for training.
    pub unlabelled: usize,
}

/// A feature with its weight in the model (on standardised features).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeight {
    /// The feature's name.
    pub name: String,
    /// Its weight: logistic coefficient per pool standard deviation, or the similarity weight.
    pub weight: f32,
}

/// A trained look-alike model: serialisable (the store keeps it with its card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookalikeModel {
    /// The method.
    pub method: Method,
    /// The feature names, in the column order the model reads.
    pub features: Vec<String>,
    /// The parameters it was trained with.
    pub params: ValidLookalikeParams,
    /// The L2 strength chosen (logistic side).
    pub lambda: Option<f64>,
    /// The logistic scorer (ensemble, logistic).
    pub logistic: Option<LogisticScorer>,
    /// The similarity scorer (ensemble, similarity).
    pub similarity: Option<SimilarityScorer>,
    /// The combination (ensemble).
    pub ensemble: Option<Ensemble>,
    /// The most important features, largest weight first (at most 10).
    pub top_features: Vec<FeatureWeight>,
    /// Training counts.
    pub counts: TrainingCounts,
    /// The evaluation on the held-out seed mixed into the pool (when `holdout` > 0).
    pub evaluation: Option<Evaluation>,
    /// Warnings raised while training (a small seed).
    pub warnings: Vec<String>,
    /// Seconds the training took.
    pub seconds: f64,
}

/// The settings chosen on the inner validation split.
#[derive(Debug, Clone)]
struct Chosen {
    lambda: f64,
    weight: f32,
    /// The chosen logistic scorer of the validation split: its feature pairs are the final
    /// fit's (none: linear) and it is that fit's warm start.
    start: Option<LogisticScorer>,
}

impl ValidLookalikeParams {
    /// Trains a model on the rows of `x`: `seed` are the positives, `pool` the candidates (seed
    /// members in it are left out). `features` names the columns of `x`.
    pub fn fit(
        &self,
        x: ArrayView2<f32>,
        features: &[String],
        seed: &[usize],
        pool: &[usize],
    ) -> Result<LookalikeModel> {
        let start = Instant::now();
        if features.len() != x.ncols() {
            return Err(Error::internal(format!(
                "{} feature names for {} columns",
                features.len(),
                x.ncols()
            )));
        }
        if let Some(&r) = seed.iter().chain(pool).find(|&&r| r >= x.nrows()) {
            return Err(Error::internal(format!("row {r} is beyond the {} rows", x.nrows())));
        }
        let mut in_seed = vec![false; x.nrows()];
        let mut seed_rows = Vec::with_capacity(seed.len());
        for &r in seed {
            if !in_seed[r] {
                in_seed[r] = true;
                seed_rows.push(r);
            }
        }
        let mut taken = in_seed.clone();
        let mut outside = Vec::with_capacity(pool.len());
        for &r in pool {
            if !taken[r] {
                taken[r] = true;
                outside.push(r);
            }
        }
        drop(taken);
        let warnings = check_sizes(seed_rows.len(), outside.len())?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        seed_rows.shuffle(&mut rng);
        let n_hold = (self.holdout * seed_rows.len() as f64).round() as usize;
        let (held, train_seed) = seed_rows.split_at(n_hold);

        let unl = self.sample_unlabelled(&outside, train_seed.len(), &mut rng);
        let chosen = self.choose(x, train_seed, &unl, &mut rng)?;
        let mut scorers = self.fit_with(x, train_seed, &unl, &chosen)?;
        let evaluation =
            (!held.is_empty()).then(|| scorers.evaluate_holdout(x, held, &outside, &unl, &mut rng));
        let top_features = scorers.top_features(features);
        scorers.lambda = self.method.uses_logistic().then_some(chosen.lambda);
        Ok(LookalikeModel {
            method: self.method,
            features: features.to_vec(),
            params: self.clone(),
            lambda: scorers.lambda,
            logistic: scorers.logistic,
            similarity: scorers.similarity,
            ensemble: scorers.ensemble,
            top_features,
            counts: TrainingCounts {
                seed: seed_rows.len(),
                holdout: held.len(),
                pool: outside.len(),
                unlabelled: unl.len(),
            },
            evaluation,
            warnings,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// A seeded sample of `outside`, sorted (for memory locality).
    fn sample_unlabelled(
        &self,
        outside: &[usize],
        seed: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<usize> {
        let want = (seed * self.unlabelled_per_seed)
            .clamp(self.min_unlabelled, self.max_unlabelled)
            .min(outside.len());
        let mut rows: Vec<usize> = rand::seq::index::sample(rng, outside.len(), want)
            .into_iter()
            .map(|i| outside[i])
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Chooses the L2 strength and the ensemble weight on an inner validation split.
    fn choose(
        &self,
        x: ArrayView2<f32>,
        seed: &[usize],
        unl: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Result<Chosen> {
        let mut chosen = Chosen {
            lambda: self.lambdas[0],
            weight: match self.method {
                Method::Logistic => 1.0,
                Method::Similarity => 0.0,
                Method::Ensemble => 0.5,
            },
            start: None,
        };
        let search_lambda = self.method.uses_logistic() && self.lambdas.len() > 1;
        if !search_lambda && self.method != Method::Ensemble {
            return Ok(chosen);
        }
        let split = |rows: &[usize], rng: &mut ChaCha8Rng| {
            let mut r = rows.to_vec();
            r.shuffle(rng);
            let n_val = ((self.validation * r.len() as f64).round() as usize).max(1);
            let train = r.split_off(n_val);
            (train, r)
        };
        // The choice needs a few thousand rows, not all: at most SEARCH_SEED seed members and
        // SEARCH_UNLABELLED unlabelled rows (a seeded sample) take part.
        let (seed_fit, mut seed_val) = split(seed, rng);
        let (unl_fit, mut unl_val) = split(unl, rng);
        let mut seed_fit = seed_fit;
        let mut unl_fit = unl_fit;
        for (v, cap) in [
            (&mut seed_fit, SEARCH_SEED),
            (&mut seed_val, SEARCH_SEED / 3),
            (&mut unl_fit, SEARCH_UNLABELLED),
            (&mut unl_val, SEARCH_UNLABELLED / 3),
        ] {
            v.truncate(cap); // already shuffled
            v.sort_unstable();
        }
        let val_rows: Vec<usize> = seed_val.iter().chain(&unl_val).copied().collect();
        let labels: Vec<bool> = (0..val_rows.len()).map(|i| i < seed_val.len()).collect();
        let xv = x.select(ndarray::Axis(0), &val_rows);

        let scaler = Scaler::fit(x, &unl_fit);
        let pos = scaler.transform_rows(x, &seed_fit);
        let neg = scaler.transform_rows(x, &unl_fit);
        let mut best: Option<(f64, LogisticScorer)> = None;
        if self.method.uses_logistic() {
            let lambdas: &[f64] = if search_lambda { &self.lambdas } else { &self.lambdas[..1] };
            // Linear first, then with the products of the strongest features: weaker
            // regularisation and the extra terms each have to earn their place.
            // The strengths are fitted in parallel, then judged in order (the same choice as one
            // after the other).
            let try_all = |pairs: &[(usize, usize)], best: &mut Option<(f64, LogisticScorer)>| {
                let fits: Vec<(f64, LogisticScorer)> = lambdas
                    .par_iter()
                    .map(|&lambda| {
                        let m = LogisticScorer::fit(&pos, &neg, &scaler, lambda, pairs, None)?;
                        let mut out = vec![0f32; val_rows.len()];
                        m.logits(xv.view(), &mut out);
                        Ok((metrics::auc(&out, &labels).unwrap_or(0.5), m))
                    })
                    .collect::<Result<_>>()?;
                for (auc, m) in fits {
                    if best.as_ref().is_none_or(|(b, _)| auc > *b + 1e-3) {
                        *best = Some((auc, m));
                    }
                }
                Ok::<(), Error>(())
            };
            try_all(&[], &mut best)?;
            let pairs = best.as_ref().map(|(_, m)| m.strongest_pairs(INTERACTION_FEATURES));
            if let Some(pairs) = pairs.filter(|p| !p.is_empty()) {
                try_all(&pairs, &mut best)?;
            }
            if let Some((_, m)) = &best {
                chosen.lambda = m.lambda;
                chosen.start = Some(m.clone());
            }
        }
        if self.method == Method::Ensemble {
            let Some((_, lm)) = best else {
                return Err(Error::internal("the ensemble has no logistic side"));
            };
            let sim =
                SimilarityScorer::fit(&pos, &scaler, self.prototypes, self.neighbours, self.seed);
            let ens = Ensemble {
                logistic_weight: 0.5,
                logistic: reference(x, &unl_fit, |b, o| lm.logits(b, o)),
                similarity: reference(x, &unl_fit, |b, o| sim.scores(b, o)),
            };
            let mut l = vec![0f32; val_rows.len()];
            let mut s = vec![0f32; val_rows.len()];
            lm.logits(xv.view(), &mut l);
            sim.scores(xv.view(), &mut s);
            let mut best_w: Option<(f64, f32)> = None;
            for &w in &WEIGHT_GRID {
                let mut out = vec![0f32; val_rows.len()];
                Ensemble { logistic_weight: w, ..ens.clone() }.combine(&l, &s, &mut out);
                let auc = metrics::auc(&out, &labels).unwrap_or(0.5);
                if best_w.is_none_or(|(b, _)| auc > b + 1e-3) {
                    best_w = Some((auc, w));
                }
            }
            chosen.weight = best_w.map(|(_, w)| w).unwrap_or(0.5);
        }
        Ok(chosen)
    }

    /// Fits the scorers of the method on `seed` against `unl` with the chosen settings.
    fn fit_with(
        &self,
        x: ArrayView2<f32>,
        seed: &[usize],
        unl: &[usize],
        chosen: &Chosen,
    ) -> Result<Scorers> {
        let scaler = Scaler::fit(x, unl);
        let pos = scaler.transform_rows(x, seed);
        let logistic = if self.method.uses_logistic() {
            let neg = scaler.transform_rows(x, unl);
            let start = chosen.start.as_ref();
            let pairs = start.map(LogisticScorer::pairs).unwrap_or_default();
            let mut m = LogisticScorer::fit(&pos, &neg, &scaler, chosen.lambda, &pairs, start)?;
            m.solver_params = None; // what a saved model holds
            Some(m)
        } else {
            None
        };
        let similarity = self.method.uses_similarity().then(|| {
            SimilarityScorer::fit(&pos, &scaler, self.prototypes, self.neighbours, self.seed)
        });
        let ensemble = match (&logistic, &similarity) {
            (Some(l), Some(s)) if self.method == Method::Ensemble => Some(Ensemble {
                logistic_weight: chosen.weight,
                logistic: reference(x, unl, |b, o| l.logits(b, o)),
                similarity: reference(x, unl, |b, o| s.scores(b, o)),
            }),
            _ => None,
        };
        Ok(Scorers { method: self.method, lambda: None, logistic, similarity, ensemble })
    }
}

/// The percentile table of a scorer over `rows`.
fn reference(
    x: ArrayView2<f32>,
    rows: &[usize],
    score: impl Fn(ArrayView2<f32>, &mut [f32]) + Sync,
) -> Percentiles {
    let xs = x.select(ndarray::Axis(0), rows);
    let mut out = vec![0f32; rows.len()];
    out.par_chunks_mut(BLOCK).enumerate().for_each(|(c, o)| {
        let start = c * BLOCK;
        score(xs.slice(s![start..start + o.len(), ..]), o)
    });
    Percentiles::of(&out)
}

/// The fitted scorers, before they become a [`LookalikeModel`].
struct Scorers {
    method: Method,
    lambda: Option<f64>,
    logistic: Option<LogisticScorer>,
    similarity: Option<SimilarityScorer>,
    ensemble: Option<Ensemble>,
}

impl Scorers {
    fn block(&self, x: ArrayView2<f32>, out: &mut [f32]) {
        score_block(
            self.method,
            self.logistic.as_ref(),
            self.similarity.as_ref(),
            self.ensemble.as_ref(),
            x,
            out,
        )
    }

    fn top_features(&self, names: &[String]) -> Vec<FeatureWeight> {
        let weights: &[f32] = match (&self.logistic, &self.similarity) {
            (Some(l), _) => &l.standardised,
            (None, Some(s)) => &s.feature_weights,
            (None, None) => &[],
        };
        let products = self.logistic.iter().flat_map(|l| &l.interactions).map(|i| {
            let name = if i.a == i.b {
                format!("{}²", names[i.a])
            } else {
                format!("{} × {}", names[i.a], names[i.b])
            };
            (name, i.standardised)
        });
        let mut v: Vec<FeatureWeight> = names
            .iter()
            .cloned()
            .zip(weights.iter().copied())
            .chain(products)
            .filter(|(_, w)| *w != 0.0)
            .map(|(name, weight)| FeatureWeight { name, weight })
            .collect();
        v.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()).then(a.name.cmp(&b.name)));
        v.truncate(10);
        v
    }

    /// Ranks the held-out seed among pool rows not used in training (the whole pool outside the
    /// seed when fewer than 1,000 of those are left), at most 1,000,000 of them (seeded sample).
    fn evaluate_holdout(
        &self,
        x: ArrayView2<f32>,
        held: &[usize],
        outside: &[usize],
        unl: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Evaluation {
        let unused: Vec<usize> =
            outside.iter().filter(|r| unl.binary_search(r).is_err()).copied().collect();
        let mut pool = if unused.len() >= 1000 { unused } else { outside.to_vec() };
        if pool.len() > 1_000_000 {
            pool.shuffle(rng);
            pool.truncate(1_000_000);
        }
        let rows: Vec<usize> = held.iter().chain(&pool).copied().collect();
        let labels: Vec<bool> = (0..rows.len()).map(|i| i < held.len()).collect();
        let xs = x.select(ndarray::Axis(0), &rows);
        let mut out = vec![0f32; rows.len()];
        out.par_chunks_mut(BLOCK).enumerate().for_each(|(c, o)| {
            let start = c * BLOCK;
            self.block(xs.slice(s![start..start + o.len(), ..]), o)
        });
        Evaluation::of(&out, &labels).expect("held-out seed and pool rows are both present")
    }
}

/// Scores one block of rows with the method's scorers.
fn score_block(
    method: Method,
    logistic: Option<&LogisticScorer>,
    similarity: Option<&SimilarityScorer>,
    ensemble: Option<&Ensemble>,
    x: ArrayView2<f32>,
    out: &mut [f32],
) {
    match (method, logistic, similarity, ensemble) {
        (Method::Logistic, Some(l), _, _) => {
            l.logits(x, out);
            out.iter_mut().for_each(|v| *v = sigmoid(*v));
        }
        (Method::Similarity, _, Some(s), _) => s.scores(x, out),
        (Method::Ensemble, Some(l), Some(s), Some(e)) => {
            let mut logits = vec![0f32; out.len()];
            let mut sims = vec![0f32; out.len()];
            l.logits(x, &mut logits);
            s.scores(x, &mut sims);
            e.combine(&logits, &sims, out);
        }
        _ => panic!("a {method} model without its scorers (a corrupt model file?)"),
    }
}

impl LookalikeModel {
    /// Scores every row of `x` (columns in [`LookalikeModel::features`] order) into `out`, higher
    /// meaning more like the seed: the logistic probability, the similarity (-1..1), or the
    /// ensemble's average percentile in the training pool (0..1, a little beyond at the ends).
    /// Runs in parallel over blocks of rows.
    ///
    /// # Panics
    /// When `x` does not have one column per feature or `out` one value per row (see
    /// [`LookalikeModel::score`] for the checked version).
    pub fn predict_inplace(&self, x: ArrayView2<f32>, out: &mut [f32]) {
        assert_eq!(x.ncols(), self.features.len(), "one column per model feature");
        assert_eq!(x.nrows(), out.len(), "one output per row");
        out.par_chunks_mut(BLOCK).enumerate().for_each(|(c, o)| {
            let start = c * BLOCK;
            score_block(
                self.method,
                self.logistic.as_ref(),
                self.similarity.as_ref(),
                self.ensemble.as_ref(),
                x.slice(s![start..start + o.len(), ..]),
                o,
            )
        });
    }

    /// Scores every row of `x` into a new vector, checking the shape first.
    pub fn score(&self, x: ArrayView2<f32>) -> Result<Vec<f32>> {
        if x.ncols() != self.features.len() {
            return Err(Error::user(format!(
                "the model reads {} features ({}...) but the matrix has {} columns; build the \
                 matrix with the model's feature view",
                self.features.len(),
                self.features.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                x.ncols()
            )));
        }
        let mut out = vec![0f32; x.nrows()];
        self.predict_inplace(x, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
