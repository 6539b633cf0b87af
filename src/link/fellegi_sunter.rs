//! The Fellegi-Sunter model: m and u probabilities per comparison level, match weights, the
//! prior, and the posterior probability that a pair is a match.
//!
//! Owns:
//! - [`estimate_u`]: u (the level distribution among non-matches) from seeded random pairs, with
//!   the exact level computed from the value frequencies instead of sampled;
//! - [`train_m`]: m (the level distribution among matches) and the prior by expectation
//!   maximisation on the blocked pairs, u held fixed, no labels; [`model_from_known`]: m from
//!   known matches, EM for the prior and the fields that chose them;
//! - [`unmix`]: u freed of the matches among the random pairs ([`unmix_u`]) and m and the prior
//!   refitted, until the prior settles;
//! - [`Model`]: weights `ln(m/u)` summed by [`total_weight`] (location fields that agree count
//!   once), term-frequency adjustments of exact matches ([`tf_adjustments`], freed of the
//!   matches among the pairs sharing a value), posteriors.
//!
//! The model is the usual one over *all* pairs: blocking only chooses which pairs get scored.
//! When the blocking rules select pairs by their comparison levels, the posterior of a blocked
//! pair is the same as in the population of all pairs, so the prior is
//! `λ = expected matches / all pairs` and the E-step uses it directly.
//!
//! Missing levels are neutral (no factor). m and u are kept within `[FLOOR, 1 - FLOOR]`.
//!
//! It does not own how pairs are compared ([`super::compare`]) nor which pairs are scored
//! ([`super::blocking`]).

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::compare::{Comparer, Kind, PreparedField, EXACT, MISSING};
use super::strata::Strata;

/// Smallest m kept: no level is ever proof against a match.
pub const M_FLOOR: f64 = 1e-4;
/// Smallest u kept (besides the sampling resolution).
pub const U_FLOOR: f64 = 1e-6;
/// Below this u, a field's "different" level counts at most 0 (see [`FieldParams::differs`]).
pub const RARE_DIFFERENCE: f64 = 1e-3;

/// Trained parameters of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldParams {
    /// The field's name.
    pub name: String,
    /// How it is compared.
    pub kind: Kind,
    /// P(level | match), index = level (index 0, missing, is unused).
    pub m: Vec<f64>,
    /// P(level | non-match), index = level (index 0 unused).
    pub u: Vec<f64>,
    /// Whether exact matches get a term-frequency adjustment.
    pub tf: bool,
    /// Part of the location (street, postcode, city, country, ...): see [`total_weight`].
    pub location: bool,
    /// u among the members of one household (see [`super::household`]), used for pairs that
    /// agree on every location field; `None` when the field does not follow the address.
    pub home_u: Option<Vec<f64>>,
    /// A category that makes strata ([`super::strata`]).
    pub category: bool,
    /// For a field whose u is measured within strata, its u over all random pairs, used (where
    /// larger) for pairs whose categories differ: a district that follows the county always
    /// differs between two counties, so its u within one county would make that look like
    /// proof.
    pub u_across: Option<Vec<f64>>,
    /// `ln(u / max(u, u_across))` per level, computed with u: what a pair across strata takes
    /// off a level's weight.
    pub across_shift: Option<Vec<f64>>,
    /// The group of fields whose agreements follow one another ([`super::dependence`]): of
    /// its fields, only the strongest agreement and the strongest disagreement count.
    pub group: Option<usize>,
}

/// What the trainers need to know of a field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// The field's name.
    pub name: String,
    /// How it is compared.
    pub kind: Kind,
    /// Whether exact matches get a term-frequency adjustment.
    pub tf: bool,
    /// Part of the location (see [`total_weight`]).
    pub location: bool,
    /// See [`FieldParams::home_u`].
    pub home_u: Option<Vec<f64>>,
    /// See [`FieldParams::category`].
    pub category: bool,
    /// See [`FieldParams::u_across`].
    pub u_across: Option<Vec<f64>>,
    /// See [`FieldParams::group`].
    pub group: Option<usize>,
}

impl FieldDef {
    /// A field compared plainly: no term frequencies, no location, household, strata or group.
    pub fn new(name: &str, kind: Kind) -> Self {
        FieldDef {
            name: name.to_string(),
            kind,
            tf: false,
            location: false,
            home_u: None,
            category: false,
            u_across: None,
            group: None,
        }
    }

    fn params(&self, m: Vec<f64>, u: Vec<f64>) -> FieldParams {
        let across_shift = self.u_across.as_ref().map(|a| {
            u.iter()
                .zip(a)
                .map(|(&u, &a)| if u > 0.0 { (u / u.max(a)).ln() } else { 0.0 })
                .collect()
        });
        FieldParams {
            name: self.name.clone(),
            kind: self.kind,
            m,
            u,
            tf: self.tf,
            location: self.location,
            home_u: self.home_u.clone(),
            category: self.category,
            u_across: self.u_across.clone(),
            across_shift,
            group: self.group,
        }
    }
}

/// The summed field weights of a comparison vector; `weight(f, level)` is field `f`'s weight at
/// `level` (at the exact level, with its term-frequency adjustment if any).
///
/// Location fields are far from independent: two records on one street are in one postcode,
/// city and country, so counting each agreement would count one fact four times (and make
/// neighbours and household members look like duplicates). Of the location fields whose level
/// speaks for a match (positive weight: exact, or a partial agreement such as `Kirchstr. 120` /
/// `Kirchstraße 120` beside an exact postcode), only the strongest counts; the others follow
/// from it and count nothing. Disagreements all count against, but a "different" that random
/// pairs almost never reach counts at most 0 ([`FieldParams::differs`]).
///
/// Likewise, of the fields of one group that follow one another ([`FieldParams::group`]), only
/// the strongest agreement and the strongest disagreement count (two voters of other precincts
/// differ on every district of them: one fact). A pair whose categories differ (see
/// [`super::strata`]) weighs the fields measured within strata by their u over all pairs
/// ([`FieldParams::u_across`]) where that is the larger: never more than within strata.
///
/// A pair agreeing on every location field (exactly or at a level that speaks for a match) is
/// at one address: the fields that follow the address there (a family's surname, see
/// [`super::household`]) weigh no more than their u among the household's members allows.
pub fn total_weight(
    fields: &[FieldParams],
    levels: &[u8],
    weight: impl Fn(usize, u8) -> f64,
) -> f64 {
    Weigher::new(fields).total(levels, weight)
}

/// [`total_weight`] for many comparison vectors: what it asks of the fields on every vector
/// (which are categories, which are places) gathered once.
pub struct Weigher<'a> {
    fields: &'a [FieldParams],
    /// The category fields.
    categories: Vec<usize>,
    /// The location fields when some field has a household u (else none: no pair is at home).
    places: Vec<usize>,
    /// How many groups of fields that follow one another there are.
    groups: usize,
}

/// Groups [`Weigher::total`] keeps on the stack; more take a heap allocation per vector.
const STACK_GROUPS: usize = 8;

impl<'a> Weigher<'a> {
    /// The weigher of `fields`.
    pub fn new(fields: &'a [FieldParams]) -> Self {
        let n = fields.len();
        let home = fields.iter().any(|p| p.home_u.is_some());
        Weigher {
            fields,
            categories: (0..n).filter(|&f| fields[f].category).collect(),
            places: if home {
                (0..n).filter(|&f| fields[f].location).collect()
            } else {
                Vec::new()
            },
            groups: fields.iter().filter_map(|p| p.group).collect::<BTreeSet<_>>().len(),
        }
    }

    /// [`total_weight`] of `levels`.
    pub fn total(&self, levels: &[u8], weight: impl Fn(usize, u8) -> f64) -> f64 {
        let fields = self.fields;
        let mut x = 0.0;
        let mut location: Option<f64> = None;
        // Per group of fields that follow one another, in the order they are met, its strongest
        // agreement and its strongest disagreement (on the stack: this runs for every pattern
        // of every EM round).
        let mut stack = [(0, 0.0, 0.0); STACK_GROUPS];
        let mut heap = Vec::new();
        let groups: &mut [(usize, f64, f64)] = if self.groups <= STACK_GROUPS {
            &mut stack
        } else {
            heap.resize(self.groups, (0, 0.0, 0.0));
            &mut heap
        };
        let mut met = 0;
        let across = self.categories.iter().any(|&f| levels[f] != MISSING && levels[f] != EXACT);
        let at_home = !self.places.is_empty()
            && self.places.iter().all(|&f| {
                let (p, l) = (&fields[f], levels[f]);
                l != MISSING && !p.differs(l) && p.weight(l) > 0.0
            });
        for (f, (p, &l)) in fields.iter().zip(levels).enumerate() {
            // (An exact agreement with a term frequency is already weighed by the value's share
            // of all records.)
            let mut w = weight(f, l);
            if let (Some(shift), true) =
                (&p.across_shift, across && l != MISSING && !(l == EXACT && p.tf))
            {
                w += shift[l as usize];
            }
            if let (true, Some(home), false) = (at_home, &p.home_u, l == MISSING) {
                w = w.min((p.m[l as usize] / home[l as usize]).ln());
            }
            if l != MISSING && p.differs(l) && p.u[l as usize] < RARE_DIFFERENCE {
                w = w.min(0.0);
            }
            if p.location && l != MISSING && w > 0.0 {
                location = Some(location.map_or(w, |best| best.max(w)));
            } else if let (Some(g), true) = (p.group, l != MISSING) {
                let (agree, differ) = (w.max(0.0), w.min(0.0));
                match groups[..met].iter_mut().find(|x| x.0 == g) {
                    Some(best) => {
                        best.1 = best.1.max(agree);
                        best.2 = best.2.min(differ);
                    }
                    None => {
                        groups[met] = (g, agree, differ);
                        met += 1;
                    }
                }
            } else {
                x += w;
            }
        }
        x + location.unwrap_or(0.0) + groups[..met].iter().map(|x| x.1 + x.2).sum::<f64>()
    }
}

impl FieldParams {
    /// The match weight `ln(m/u)` of `level` (0 for the missing level). [`total_weight`] counts
    /// the "different" level at most 0 (see [`FieldParams::differs`]).
    pub fn weight(&self, level: u8) -> f64 {
        if level == MISSING {
            0.0
        } else {
            (self.m[level as usize] / self.u[level as usize]).ln()
        }
    }

    /// Whether `level` is the last, "different". Where fewer than one random pair in a thousand
    /// reaches it ([`RARE_DIFFERENCE`]: a field that non-matches almost never disagree on, such
    /// as a code whose values all share a prefix), [`total_weight`] counts it at most 0, not the
    /// large positive ratio of a guessed m (held at its start, or at its floor) to a u at its
    /// floor. Where random pairs do disagree, disagreeing can speak for a match: in a voter file,
    /// a person's two registrations differ on their status (one removed, one active) more often
    /// than two people do.
    pub fn differs(&self, level: u8) -> bool {
        level as usize == self.m.len() - 1
    }

    /// `m` as EM keeps it: each level within [`M_FLOOR`] and `1 - M_FLOOR`, summing to one, and
    /// for names, text and dates, exact agreement never weaker than another level
    /// ([`exact_strongest`]).
    fn shaped(&self, m: Vec<f64>) -> Vec<f64> {
        let m = summing_to_one(m.into_iter().map(|x| x.clamp(M_FLOOR, 1.0 - M_FLOOR)).collect());
        if matches!(self.kind, Kind::Name | Kind::Text | Kind::Date) {
            exact_strongest(m, &self.u)
        } else {
            m
        }
    }

    /// [`FieldParams::weight`] of every level, index = level.
    pub fn weights(&self) -> Vec<f64> {
        (0..self.m.len()).map(|l| self.weight(l as u8)).collect()
    }
}

/// A trained Fellegi-Sunter model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Per compared field.
    pub fields: Vec<FieldParams>,
    /// Prior: the probability that two records drawn at random (among all pairs) match.
    pub lambda: f64,
    /// EM iterations run.
    pub iterations: usize,
}

impl Model {
    /// Prior log-odds `ln(λ / (1 - λ))`.
    pub fn prior_log_odds(&self) -> f64 {
        logit(self.lambda)
    }

    /// Log-odds of a comparison vector (without term-frequency adjustments).
    pub fn log_odds(&self, levels: &[u8]) -> f64 {
        self.prior_log_odds() + total_weight(&self.fields, levels, |f, l| self.fields[f].weight(l))
    }

    /// Posterior match probability of a comparison vector (without term-frequency adjustments).
    pub fn probability(&self, levels: &[u8]) -> f64 {
        sigmoid(self.log_odds(levels))
    }
}

/// `ln(p / (1 - p))`.
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Total number of pairs: `n(n-1)/2` for a dedupe, `nl * nr` for a link.
pub fn all_pairs(n_left: usize, n_right: Option<usize>) -> f64 {
    match n_right {
        Some(nr) => n_left as f64 * nr as f64,
        None => n_left as f64 * (n_left as f64 - 1.0) / 2.0,
    }
}

/// u per field and level from `samples` random pairs drawn with `seed` (both sides when
/// `n_right` is given, else distinct records of the left side). The exact level's u is computed
/// from the value counts (the chance two random records share a value), the other levels are
/// rescaled to fill the rest. Levels never seen get the sampling resolution as their u.
///
/// With `strata`, the fields it measures within strata get their u from random pairs of records
/// in one stratum instead (see [`super::strata`]), and their u over all random pairs is returned
/// beside (`None` for the others): it is theirs for pairs across strata
/// ([`FieldParams::u_across`]).
pub fn estimate_u(
    comparer: &Comparer,
    n_left: usize,
    n_right: Option<usize>,
    samples: usize,
    seed: u64,
    strata: Option<&Strata>,
) -> (Vec<Vec<f64>>, Vec<Option<Vec<f64>>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total = all_pairs(n_left, n_right);
    let pairs: Vec<(u32, u32)> = if total <= samples as f64 {
        // Few records: take every pair.
        match n_right {
            Some(nr) => {
                (0..n_left as u32).flat_map(|i| (0..nr as u32).map(move |j| (i, j))).collect()
            }
            None => (0..n_left as u32)
                .flat_map(|i| (i + 1..n_left as u32).map(move |j| (i, j)))
                .collect(),
        }
    } else {
        (0..samples)
            .map(|_| match n_right {
                Some(nr) => (rng.gen_range(0..n_left) as u32, rng.gen_range(0..nr) as u32),
                None => {
                    let i = rng.gen_range(0..n_left);
                    let mut j = rng.gen_range(0..n_left - 1);
                    if j >= i {
                        j += 1;
                    }
                    (i as u32, j as u32)
                }
            })
            .collect()
    };
    let link = n_right.is_some();
    let fields = comparer.fields;
    let counts = level_counts(comparer, pairs, link);
    let mut u: Vec<Vec<f64>> = fields
        .iter()
        .zip(counts)
        .map(|(f, counts)| u_from_counts(&counts, exact_u(f, link)))
        .collect();
    let mut across = vec![None; fields.len()];
    if let Some(strata) = strata {
        let pairs = strata.random_pairs(link, samples, seed ^ 0x5354_5241_5441);
        let counts = level_counts(comparer, pairs, link);
        for (f, counts) in counts.iter().enumerate().filter(|x| strata.within[x.0]) {
            let within = u_from_counts(counts, strata.exact_u(&fields[f], link));
            across[f] = Some(std::mem::replace(&mut u[f], within));
        }
    }
    (u, across)
}

/// Level counts per field over `pairs` (left record, right record or second left record).
fn level_counts(comparer: &Comparer, mut pairs: Vec<(u32, u32)>, link: bool) -> Vec<Vec<u64>> {
    let fields = comparer.fields;
    // In record order, for locality (the counts do not depend on the order).
    pairs.par_sort_unstable();
    let sj = usize::from(link);
    // Over chunks of pairs in parallel (integer sums: the result does not depend on the split).
    let zero = || -> Vec<Vec<u64>> { fields.iter().map(|f| vec![0u64; f.kind.levels()]).collect() };
    pairs
        .par_chunks(super::compare::batch_size(pairs.len()))
        .map(|chunk| {
            let mut counts = zero();
            let mut rows = vec![0u8; chunk.len() * fields.len()];
            comparer.rows(chunk, sj, &mut rows, None);
            for row in rows.chunks_exact(fields.len().max(1)) {
                for (c, &l) in counts.iter_mut().zip(row) {
                    c[l as usize] += 1;
                }
            }
            counts
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p += q;
                }
            }
            a
        })
}

/// u of one field from its level counts among random pairs and the chance `exact` of agreeing
/// exactly: the exact level is `exact`, the other levels share the rest as counted.
fn u_from_counts(counts: &[u64], exact: f64) -> Vec<f64> {
    let present: u64 = counts[1..].iter().sum();
    let floor = (0.5 / present.max(1) as f64).max(U_FLOOR);
    let mut u: Vec<f64> = counts.iter().map(|&c| c as f64 / present.max(1) as f64).collect();
    u[0] = 0.0;
    let exact = exact.clamp(U_FLOOR, 1.0 - U_FLOOR);
    let rest: f64 = u[2..].iter().sum();
    for x in &mut u[2..] {
        *x = if rest > 0.0 { *x / rest * (1.0 - exact) } else { 0.0 };
    }
    u[1] = exact;
    let last = u.len() - 1;
    if rest == 0.0 {
        u[last] = 1.0 - exact;
    }
    for x in &mut u[1..] {
        *x = x.clamp(floor, 1.0 - U_FLOOR);
    }
    u
}

/// The chance that two random records (two sides, or two distinct records of one side) hold the
/// same value of `f`, among pairs where both are present.
pub fn exact_u(f: &PreparedField, link: bool) -> f64 {
    exact_u_of(f, link, |_| true)
}

/// [`exact_u`] counting only the agreements on the values `counted` keeps (by their counts).
fn exact_u_of(f: &PreparedField, link: bool, counted: impl Fn(&[u32; 2]) -> bool) -> f64 {
    let kept = |c: &&[u32; 2]| counted(c);
    if link {
        let nl: f64 = f.counts.iter().map(|c| c[0] as f64).sum();
        let nr: f64 = f.counts.iter().map(|c| c[1] as f64).sum();
        if nl == 0.0 || nr == 0.0 {
            return 0.0;
        }
        f.counts.iter().filter(kept).map(|c| c[0] as f64 * c[1] as f64).sum::<f64>() / (nl * nr)
    } else {
        let n: f64 = f.counts.iter().map(|c| c[0] as f64).sum();
        if n < 2.0 {
            return 0.0;
        }
        let agreeing: f64 =
            f.counts.iter().filter(kept).map(|c| c[0] as f64 * (c[0] as f64 - 1.0)).sum();
        agreeing / (n * (n - 1.0))
    }
}

/// The exact level's u of an identifier (an email, a national id: see `link`'s identifier
/// matches), counting only the values more records hold than `rare` says: pairs agreeing on a
/// value few records hold are taken as matches, so non-matching records agree only on common
/// values (a placeholder such as `none@none`). `rare(counts)` tells a value few records hold.
pub fn identifier_exact_u(f: &PreparedField, link: bool, rare: impl Fn(&[u32; 2]) -> bool) -> f64 {
    exact_u_of(f, link, |c| !rare(c))
}

/// `u` with its exact level (index 1) set to `exact` and the other agreeing and differing levels
/// scaled to fill the rest.
pub fn with_exact_u(u: &[f64], exact: f64) -> Vec<f64> {
    let exact = exact.clamp(U_FLOOR, 1.0 - U_FLOOR);
    let rest: f64 = u[2..].iter().sum();
    let mut out = u.to_vec();
    out[1] = exact;
    for x in &mut out[2..] {
        *x = (*x / rest * (1.0 - exact)).max(U_FLOOR);
    }
    out
}

/// u without the matches among the random pairs it was counted on: the level distribution over
/// all pairs is `λ m + (1 - λ) u`, so given a trained λ and m, `u = (u_random - λ m) / (1 - λ)`.
/// It matters where matches are a sizeable share of the pairs agreeing on a level (a person
/// appearing many times in a small file); each level keeps at least an eighth of its random-pair u.
/// `random_u`: per field, u as counted on the random pairs.
pub fn unmix_u(random_u: &[Vec<f64>], model: &Model) -> Vec<Vec<f64>> {
    let lambda = model.lambda;
    model
        .fields
        .iter()
        .zip(random_u)
        .map(|(f, random_u)| {
            let u: Vec<f64> = random_u
                .iter()
                .zip(&f.m)
                .map(|(&u, &m)| ((u - lambda * m).max(u / 8.0) / (1.0 - lambda)).max(U_FLOOR))
                .collect();
            summing_to_one(u)
        })
        .collect()
}

/// Term-frequency adjustment per dictionary entry of `f`, added to the exact level's weight: the
/// weight of agreeing on `v` is `ln(m p(v) / u(v))`, where `p(v)` is the share of records holding
/// `v` among the records whose value two records hold (both sides, in a link: only on those can
/// a matching pair agree), and `u(v)` the chance that two records that do not match both hold it.
/// Taking `p(v)` over all records instead made a title held once on each side of a product link,
/// where few values are on both sides, 5.7 bits weaker than the field's average exact match.
///
/// `u(v)` is not the share of all pairs agreeing on `v`: in a file where a person appears several
/// times, most pairs agreeing on a rare email are that person's own records. `matched[v]`, the
/// expected matches among the blocked pairs agreeing exactly on `v` (the model's posterior without
/// term frequencies, summed), is taken out of the pairs agreeing on `v` (keeping at least half a
/// pair). With `matched` empty it is `ln(u_exact / p(v))`, about zero on average.
pub fn tf_adjustments(
    f: &PreparedField,
    u_exact: f64,
    matched: &[f64],
    lambda: f64,
    link: bool,
) -> Vec<f64> {
    let side = |s: usize| f.counts.iter().map(|c| f64::from(c[s])).sum::<f64>();
    let (nl, nr) = (side(0), side(1));
    let total = nl + nr;
    let present_pairs = if link { nl * nr } else { nl * (nl - 1.0) / 2.0 };
    let agreeing = |c: &[u32; 2]| {
        let (a, b) = (f64::from(c[0]), f64::from(c[1]));
        if link {
            a * b
        } else {
            a * (a - 1.0) / 2.0
        }
    };
    // A matching pair agrees exactly on a value only if two records hold it (both sides, in a
    // link): the share of records holding such values, the mass `p(v)` is spread over.
    let can_agree: f64 =
        f.counts.iter().filter(|c| agreeing(c) >= 1.0).map(|c| f64::from(c[0] + c[1])).sum();
    let spread = (can_agree / total).clamp(1.0 / total, 1.0).ln();
    f.counts
        .iter()
        .enumerate()
        .map(|(v, c)| {
            let m = matched.get(v).copied().unwrap_or(0.0);
            let (a, b) = (f64::from(c[0]), f64::from(c[1]));
            let p = ((a + b) / total).max(1.0 / total);
            let agreeing = agreeing(c);
            if matched.is_empty() || agreeing < 1.0 || present_pairs <= 0.0 {
                return (u_exact / p).ln();
            }
            let u = (agreeing - m).max(0.5) / (present_pairs * (1.0 - lambda));
            (p * u_exact / u).ln() - spread
        })
        .collect()
}

/// For each field with term frequencies (`tf[f]`), the expected matches among the `blocked` pairs
/// that agree exactly, per dictionary entry: the model's posterior (without term frequencies)
/// summed: `probability` of a comparison vector), as [`tf_adjustments`] takes them.
pub fn matched_by_value(
    probability: impl Fn(&[u8]) -> f64 + Sync,
    fields: &[PreparedField],
    tf: &[bool],
    blocked: &[u64],
    levels: &[u8],
) -> Vec<Vec<f64>> {
    let width = fields.len();
    let zero = || -> Vec<Vec<f64>> {
        fields.iter().zip(tf).map(|(f, &t)| vec![0.0; if t { f.dict.len() } else { 0 }]).collect()
    };
    // A few large parts, each with its own sums (one array per dictionary: small parts made
    // allocating and adding them up the larger cost), added up in order: the result does not
    // depend on the threads.
    let part = blocked.len().div_ceil(MATCHED_PARTS).max(4096);
    let parts: Vec<Vec<Vec<f64>>> = blocked
        .par_chunks(part)
        .zip(levels.par_chunks(part * width))
        .map(|(pairs, rows)| {
            let mut out = zero();
            for (&p, row) in pairs.iter().zip(rows.chunks_exact(width)) {
                if !row.iter().zip(tf).any(|(&l, &t)| t && l == EXACT) {
                    continue;
                }
                let q = probability(row);
                let i = (p >> 32) as usize;
                for (f, &l) in row.iter().enumerate() {
                    if tf[f] && l == EXACT {
                        let v = fields[f].ids[0][i];
                        if let Some(x) = out[f].get_mut(v as usize) {
                            *x += q;
                        }
                    }
                }
            }
            out
        })
        .collect();
    parts.into_iter().fold(zero(), |mut a, b| {
        for (x, y) in a.iter_mut().zip(b) {
            for (p, q) in x.iter_mut().zip(y) {
                *p += q;
            }
        }
        a
    })
}

/// How many parts [`matched_by_value`] splits the pairs into.
const MATCHED_PARTS: usize = 16;

/// m with the exact level's ratio `m/u` raised to the largest of the field's levels: two
/// values that are the same are never weaker evidence of a match than two that are near or
/// different. Where EM finds otherwise (a file whose duplicates all carry a typo in the first
/// name, so that the only exact agreements left are between family members), the exact level is
/// pooled with the levels above it, largest first, until none is above: each level of the pool
/// gets the pool's ratio `Σm / Σu`, which keeps the pool's total m (the M step's maximum under
/// that order). EM ([`train_m`]) applies it to names, text and dates only: codes, numbers and
/// categories are often statuses, where a person's two records can differ more often than two
/// people's (in a voter file, one registration removed and one active, or an ethnicity code
/// `UN` filled in on the second).
pub fn exact_strongest(mut m: Vec<f64>, u: &[f64]) -> Vec<f64> {
    let ratio = |l: usize, m: &[f64]| m[l] / u[l];
    let mut others: Vec<usize> = (EXACT as usize + 1..m.len()).collect();
    others.sort_by(|&a, &b| ratio(b, &m).total_cmp(&ratio(a, &m)));
    let exact = EXACT as usize;
    let (mut pool_m, mut pool_u, mut pooled) = (m[exact], u[exact], 0);
    while let Some(&l) = others.get(pooled) {
        if ratio(l, &m) <= pool_m / pool_u {
            break;
        }
        pool_m += m[l];
        pool_u += u[l];
        pooled += 1;
    }
    let theta = pool_m / pool_u;
    for &l in std::iter::once(&exact).chain(&others[..pooled]) {
        m[l] = u[l] * theta;
    }
    m
}

/// A level distribution: the missing level 0 set to 0, levels 1.. scaled to sum to one.
fn summing_to_one(mut v: Vec<f64>) -> Vec<f64> {
    v[0] = 0.0;
    let s: f64 = v[1..].iter().sum();
    for x in &mut v[1..] {
        *x /= s;
    }
    v
}

/// The distinct comparison vectors of some pairs, each with the number of pairs that have it,
/// in sorted order, stored one after the other (EM reads them all on every round).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Patterns {
    /// Levels per vector.
    width: usize,
    /// The vectors, `width` levels each.
    levels: Vec<u8>,
    /// Per vector, its number of pairs.
    counts: Vec<u64>,
}

impl Patterns {
    /// The patterns of `(vector, count)` items (a vector given twice counts twice).
    pub fn from_counts<'a>(width: usize, items: impl IntoIterator<Item = (&'a [u8], u64)>) -> Self {
        let mut items: Vec<(&[u8], u64)> = items.into_iter().collect();
        items.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Patterns::from_sorted(width, items)
    }

    /// The patterns of items sorted by vector: equal neighbours summed.
    fn from_sorted<'a>(width: usize, sorted: impl IntoIterator<Item = (&'a [u8], u64)>) -> Self {
        let mut out = Patterns { width, levels: Vec::new(), counts: Vec::new() };
        for (row, count) in sorted {
            assert_eq!(row.len(), width, "a comparison vector of {width} levels");
            match out.counts.last_mut() {
                Some(last) if out.levels[out.levels.len() - width..] == *row => *last += count,
                _ => {
                    out.levels.extend_from_slice(row);
                    out.counts.push(count);
                }
            }
        }
        out
    }

    /// How many distinct vectors.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The vectors with their counts, in chunks of `n` vectors for parallel work, in order.
    fn par_chunks(&self, n: usize) -> impl IndexedParallelIterator<Item = (&[u8], &[u64])> {
        self.levels.par_chunks(n * self.width.max(1)).zip(self.counts.par_chunks(n))
    }
}

/// The [`Patterns`] of comparison vectors `levels`, `width` levels per pair: the vectors sorted
/// in parallel, then equal neighbours counted. Vectors that fit in 64 bits (a dozen fields or so)
/// are sorted as packed integers, the first level in the highest bits so that they sort as the
/// vectors do: the same patterns, several times faster than sorting slices.
pub fn patterns(levels: &[u8], width: usize) -> Patterns {
    let max = levels.iter().copied().max().unwrap_or(0);
    let bits = (u8::BITS - max.leading_zeros()).max(1) as usize;
    if width == 0 || width * bits > 64 {
        let mut rows: Vec<&[u8]> = levels.chunks_exact(width.max(1)).collect();
        rows.par_sort_unstable();
        return Patterns::from_sorted(width, rows.into_iter().map(|row| (row, 1)));
    }
    let mut keys: Vec<u64> = levels
        .par_chunks_exact(width)
        .map(|row| row.iter().fold(0, |key, &l| key << bits | u64::from(l)))
        .collect();
    keys.par_sort_unstable();
    let mask = u64::MAX >> (64 - bits);
    let mut out = Patterns { width, levels: Vec::new(), counts: Vec::new() };
    for run in keys.chunk_by(|a, b| a == b) {
        out.levels.extend((0..width).rev().map(|f| (run[0] >> (f * bits) & mask) as u8));
        out.counts.push(run.len() as u64);
    }
    out
}

/// Starting m: most matches agree exactly, a few are near, a few differ.
pub fn initial_m(kind: Kind) -> Vec<f64> {
    let n = kind.levels();
    let mut m = vec![0.0; n];
    if n < 3 {
        return m;
    }
    m[1] = 0.85;
    let partial = n - 3;
    for x in &mut m[2..n - 1] {
        *x = 0.10 / partial as f64;
    }
    m[n - 1] = if partial == 0 { 0.15 } else { 0.05 };
    m
}

/// Trains m and the prior by EM on the comparison `patterns` of the blocked pairs, u fixed, the
/// m of the `held` fields kept at their start ([`initial_m`]). `total_pairs` is the number of
/// pairs in the population (all pairs), `expected_matches` the starting guess for the number of
/// matches among them.
pub fn train_m(
    defs: &[FieldDef],
    u: Vec<Vec<f64>>,
    patterns: &Patterns,
    total_pairs: f64,
    expected_matches: f64,
    max_iter: usize,
    held: &[bool],
) -> Model {
    let fields: Vec<FieldParams> =
        defs.iter().zip(u).map(|(d, u)| d.params(initial_m(d.kind), u)).collect();
    let free: Vec<bool> = held.iter().map(|h| !h).collect();
    em(fields, &free, patterns, total_pairs, expected_matches, max_iter)
}

/// Most rounds of [`unmix`].
pub const UNMIX_ROUNDS: usize = 20;

/// A trained `model` (u as counted on random pairs) with u freed of the matches among those pairs
/// ([`unmix_u`]) and m and the prior refitted, round after round until the prior moves by less
/// than a ten-thousandth. One round is not enough where matches are most of the random pairs on
/// a level: freeing u there makes EM find more matches, whose share of the random pairs is then
/// larger than the first round took out. On Abt-Buy, where 784 of the 871 pairs sharing a rare
/// model number are matches, one round left that level's u at 2.8e-4 and the prior at 926
/// expected matches; eight rounds reach 8.0e-5 and 1,065 (the truth: 7.4e-5 and 1,097).
pub fn unmix(
    defs: &[FieldDef],
    model: Model,
    free: &[bool],
    patterns: &Patterns,
    total_pairs: f64,
    max_iter: usize,
) -> Model {
    let random_u: Vec<Vec<f64>> = model.fields.iter().map(|f| f.u.clone()).collect();
    let mut model = model;
    for _ in 0..UNMIX_ROUNDS {
        let before = model.lambda;
        let u = unmix_u(&random_u, &model);
        model = refit(defs, model, u, free, patterns, total_pairs, max_iter);
        if (model.lambda - before).abs() <= 1e-4 * before {
            break;
        }
    }
    model
}

/// EM again from a trained `model` with a new `u` (see [`unmix_u`]): m and the prior start
/// where the model left them, so EM needs a few rounds rather than a run from [`initial_m`];
/// the m of the fields not `free` stays as it is.
pub fn refit(
    defs: &[FieldDef],
    model: Model,
    u: Vec<Vec<f64>>,
    free: &[bool],
    patterns: &Patterns,
    total_pairs: f64,
    max_iter: usize,
) -> Model {
    let expected = model.lambda * total_pairs;
    let fields = defs.iter().zip(model.fields).zip(u).map(|((d, f), u)| d.params(f.m, u)).collect();
    em(fields, free, patterns, total_pairs, expected, max_iter)
}

/// Patterns per chunk of [`em`]'s parallel E step.
const EM_CHUNK: usize = 8192;

/// EM converges linearly: near its fixed point each round's step is a steady share `r` of the
/// one before. Once the step is below this and `r` has held (within [`STEADY`]) for two rounds,
/// the remaining steps, a geometric series, are taken at once (Aitken's extrapolation): m and the
/// prior move by `r / (1 - r)` times the last step. EM then goes on from there, so it stops at
/// the same fixed point, by the same test, in fewer rounds.
const EXTRAPOLATE_BELOW: f64 = 1e-3;

/// How far apart two rounds' shares `r` may be for EM's convergence to count as steady.
const STEADY: f64 = 0.05;

/// EM from `fields`: the E-step scores every pattern, the M-step re-estimates the prior and the
/// m of the `free` fields (the others keep theirs). u is fixed. Near the fixed point, the rest of
/// the way is extrapolated (see [`EXTRAPOLATE_BELOW`]).
fn em(
    mut fields: Vec<FieldParams>,
    free: &[bool],
    patterns: &Patterns,
    total_pairs: f64,
    expected_matches: f64,
    max_iter: usize,
) -> Model {
    let mut lambda = (expected_matches / total_pairs).clamp(1e-12, 0.5);
    // With no m to fit, the prior alone decides when to stop.
    let lambda_scale = if free.contains(&true) { 1e-2 } else { 1.0 };
    let mut iterations = 0;
    // The last round's step and the share of the one before it, once they are known.
    let (mut last_change, mut last_ratio): (Option<f64>, Option<f64>) = (None, None);
    // Whether extrapolating still helps, and the step of the round before the last jump.
    let (mut jumps, mut jumped_from) = (true, None);
    for it in 0..max_iter {
        iterations = it + 1;
        // Each level's weight once per round, not once per pattern.
        let weights: Vec<Vec<f64>> = fields.iter().map(FieldParams::weights).collect();
        let prior = logit(lambda);
        let weigher = Weigher::new(&fields);
        let zero = || -> Vec<Vec<f64>> { fields.iter().map(|f| vec![0.0; f.m.len()]).collect() };
        // The E step over chunks of patterns in parallel, summed in chunk order: the result does
        // not depend on the number of threads.
        let partial: Vec<(Vec<Vec<f64>>, f64)> = patterns
            .par_chunks(EM_CHUNK)
            .map(|(levels, counts)| {
                let (mut m_num, mut matches) = (zero(), 0.0);
                for (levels, count) in levels.chunks_exact(patterns.width.max(1)).zip(counts) {
                    let x = prior + weigher.total(levels, |f, l| weights[f][l as usize]);
                    let w = sigmoid(x) * *count as f64;
                    matches += w;
                    for (f, &l) in levels.iter().enumerate() {
                        m_num[f][l as usize] += w;
                    }
                }
                (m_num, matches)
            })
            .collect();
        let (mut m_num, mut matches) = (zero(), 0.0);
        for (num, w) in partial {
            matches += w;
            for (total, part) in m_num.iter_mut().zip(num) {
                for (t, p) in total.iter_mut().zip(part) {
                    *t += p;
                }
            }
        }
        let mut change: f64 = 0.0;
        let mut steps: Vec<(usize, Vec<f64>)> = Vec::new();
        for (i, ((f, num), _)) in
            fields.iter_mut().zip(&m_num).zip(free).enumerate().filter(|x| *x.1 .1)
        {
            let present: f64 = num[1..].iter().sum();
            if present <= 0.0 {
                continue;
            }
            let m = f.shaped(num.iter().map(|x| x / present).collect());
            for (a, b) in f.m.iter().zip(&m) {
                change = change.max((a - b).abs());
            }
            steps.push((i, m.iter().zip(&f.m).map(|(b, a)| b - a).collect()));
            f.m = m;
        }
        let new_lambda = (matches / total_pairs).clamp(1e-12, 0.5);
        change = change.max(((new_lambda - lambda) / lambda).abs() * lambda_scale);
        let lambda_step = new_lambda - lambda;
        lambda = new_lambda;
        if let Some(before) = jumped_from.take() {
            // The round after a jump moved more than the one before it: the jump overshot
            // (where levels are pooled, EM's path is not a smooth geometric series), so EM goes
            // on in plain rounds.
            jumps &= change <= before;
        }
        if change < 1e-6 {
            break;
        }
        match (last_change.map(|c| change / c), last_ratio) {
            (Some(r), Some(q))
                if jumps && change < EXTRAPOLATE_BELOW && r < 0.95 && (r - q).abs() < STEADY =>
            {
                let ahead = r / (1.0 - r);
                for (i, step) in steps {
                    let f = &mut fields[i];
                    f.m = f.shaped(f.m.iter().zip(&step).map(|(m, d)| m + ahead * d).collect());
                }
                lambda = (lambda + ahead * lambda_step).clamp(1e-12, 0.5);
                (last_change, last_ratio) = (None, None);
                jumped_from = Some(change);
            }
            (ratio, _) => (last_change, last_ratio) = (Some(change), ratio),
        }
    }
    Model { fields, lambda, iterations }
}

/// Pseudo-counts of [`initial_m`] added to the level counts of known matches.
pub const KNOWN_PSEUDO_COUNTS: f64 = 10.0;

/// A model whose m comes from known matches (`known`: their comparison levels, `width` per
/// pair): each level's share among them, smoothed by [`initial_m`] with [`KNOWN_PSEUDO_COUNTS`].
/// This is for data where EM alone would settle on the wrong structure (people of one household
/// or one town, who agree on many fields, instead of duplicates). The fields marked `free` are
/// the ones the known matches were chosen by (they all agree there, so their share says
/// nothing): their m starts from [`initial_m`] and is fitted by EM with the prior, the others' m
/// held, which keeps EM's latent class on the known matches' side.
#[allow(clippy::too_many_arguments)]
pub fn model_from_known(
    defs: &[FieldDef],
    u: Vec<Vec<f64>>,
    known: &[u8],
    width: usize,
    free: &[bool],
    patterns: &Patterns,
    total_pairs: f64,
    expected_matches: f64,
    max_iter: usize,
) -> Model {
    let fields: Vec<FieldParams> = defs
        .iter()
        .zip(u)
        .enumerate()
        .map(|(f, (d, u))| {
            let prior = initial_m(d.kind);
            let m = if free[f] {
                prior
            } else {
                let mut counts = vec![0.0; prior.len()];
                for row in known.chunks_exact(width) {
                    counts[row[f] as usize] += 1.0;
                }
                let present: f64 = counts[1..].iter().sum();
                let m: Vec<f64> = counts
                    .iter()
                    .zip(&prior)
                    .map(|(c, p)| {
                        ((c + KNOWN_PSEUDO_COUNTS * p) / (present + KNOWN_PSEUDO_COUNTS))
                            .clamp(M_FLOOR, 1.0 - M_FLOOR)
                    })
                    .collect();
                summing_to_one(m)
            };
            d.params(m, u)
        })
        .collect();
    em(fields, free, patterns, total_pairs, expected_matches, max_iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model {
            fields: vec![
                FieldParams {
                    name: "name".into(),
                    kind: Kind::Exact,
                    m: vec![0.0, 0.9, 0.1],
                    u: vec![0.0, 0.01, 0.99],
                    tf: false,
                    location: false,
                    home_u: None,
                    category: false,
                    u_across: None,
                    across_shift: None,
                    group: None,
                },
                FieldParams {
                    name: "dob".into(),
                    kind: Kind::Exact,
                    m: vec![0.0, 0.8, 0.2],
                    u: vec![0.0, 0.001, 0.999],
                    tf: false,
                    location: false,
                    home_u: None,
                    category: false,
                    u_across: None,
                    across_shift: None,
                    group: None,
                },
            ],
            lambda: 0.001,
            iterations: 0,
        }
    }

    fn defs() -> Vec<FieldDef> {
        model().fields.iter().map(|f| FieldDef::new(&f.name, f.kind)).collect()
    }

    #[test]
    fn agreeing_locations_count_once() {
        // Street and city both agreeing exactly: only the stronger (the street) counts.
        let mut m = model();
        for f in &mut m.fields {
            f.location = true;
        }
        let street = m.fields[1].weight(EXACT);
        assert!((m.log_odds(&[1, 1]) - (m.prior_log_odds() + street)).abs() < 1e-12);
        // A disagreement still counts against.
        let against = m.fields[0].weight(2);
        assert!((m.log_odds(&[2, 1]) - (m.prior_log_odds() + street + against)).abs() < 1e-12);
        // A partial agreement (`Kirchstr. 120` / `Kirchstraße 120`) beside an exact one is the
        // same place again: only the stronger counts.
        m.fields[0].m = vec![0.0, 0.6, 0.1, 0.3];
        m.fields[0].u = vec![0.0, 0.01, 0.02, 0.97];
        let partial = m.fields[0].weight(2);
        assert!(partial > 0.0 && partial < street);
        assert!((m.log_odds(&[2, 1]) - (m.prior_log_odds() + street)).abs() < 1e-12);
    }

    #[test]
    fn each_group_counts_its_strongest_agreement_and_disagreement() {
        // Groups of two fields, fewer and more than the weigher keeps on the stack.
        for groups in [2, STACK_GROUPS + 3] {
            let template = model().fields[1].clone();
            let fields: Vec<FieldParams> = (0..2 * groups)
                .map(|f| FieldParams { group: Some(f / 2), ..template.clone() })
                .collect();
            let m = Model { fields, lambda: 0.001, iterations: 0 };
            let (agree, differ) = (m.fields[0].weight(EXACT), m.fields[0].weight(2));
            // Per group: both agree; one agrees and one differs; both differ.
            let levels: Vec<u8> =
                (0..groups).flat_map(|g| [[1, 1], [1, 2], [2, 2]][g % 3]).collect();
            let expected: f64 = (0..groups).map(|g| [agree, agree + differ, differ][g % 3]).sum();
            let got = m.log_odds(&levels) - m.prior_log_odds();
            assert!((got - expected).abs() < 1e-9, "{groups} groups: {got} != {expected}");
        }
    }

    #[test]
    fn packed_and_sliced_vectors_give_the_same_patterns() {
        // Narrow vectors take the packed sort, wide ones (or large levels) the slices; both
        // must give what counting each vector gives.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (width, top) in [(1, 1u8), (3, 5), (10, 7), (16, 15), (13, 31), (40, 4), (8, 255)] {
            let levels: Vec<u8> = (0..width * 500).map(|_| rng.gen_range(0..=top)).collect();
            let counted = Patterns::from_counts(width, levels.chunks_exact(width).map(|r| (r, 1)));
            assert_eq!(patterns(&levels, width), counted, "width {width}, levels up to {top}");
        }
        assert!(patterns(&[], 4).is_empty());
    }

    #[test]
    fn weights_and_posterior_follow_the_formula() {
        let m = model();
        assert!((m.fields[0].weight(1) - (0.9f64 / 0.01).ln()).abs() < 1e-12);
        assert!((m.fields[0].weight(2) - (0.1f64 / 0.99).ln()).abs() < 1e-12);
        assert_eq!(m.fields[1].weight(MISSING), 0.0);
        // Both agree: odds = 0.001/0.999 * 90 * 800 = 72.07..., p = odds / (1 + odds).
        let odds = 0.001 / 0.999 * 90.0 * 800.0;
        assert!((m.probability(&[1, 1]) - odds / (1.0 + odds)).abs() < 1e-12);
        // Name agrees, dob missing: odds = 0.001/0.999 * 90.
        let odds = 0.001 / 0.999 * 90.0;
        assert!((m.probability(&[1, 0]) - odds / (1.0 + odds)).abs() < 1e-12);
        assert!(m.probability(&[2, 2]) < 1e-4);
    }

    #[test]
    fn a_difference_random_pairs_never_show_is_no_evidence_for_a_match() {
        // A code whose values all share a prefix: random pairs almost never reach "different",
        // so its u sits at the floor, while m was held at its start. Such a pair is not
        // evidence for a match: weight 0, not ln(0.05 / 1e-6) = +10.8. (Where random pairs do
        // disagree, below, disagreeing keeps its weight.)
        let prefixed = || {
            let mut m = model();
            m.fields[0].m = vec![0.0, 0.85, 0.1, 0.05];
            m.fields[0].u = vec![0.0, 0.07, 0.93 - U_FLOOR, U_FLOOR];
            m
        };
        let m = prefixed();
        assert!(m.fields[0].differs(3) && !m.fields[0].differs(2));
        assert!((m.log_odds(&[3, 0]) - m.prior_log_odds()).abs() < 1e-12);
        // The other levels keep their ratio, whatever its sign.
        let near = m.fields[0].weight(2);
        assert!(near < 0.0 && (m.log_odds(&[2, 0]) - m.prior_log_odds() - near).abs() < 1e-12);
        // Measured within strata (one county), a district's "different" has u at the floor;
        // between two counties it counts by its u over all pairs, ln(m / u_across), as before:
        // the cap applies to that, not to the within-strata ratio before the shift.
        let mut d = FieldDef::new("district", Kind::Exact);
        d.u_across = Some(vec![0.0, 0.2, 0.8]);
        let county = FieldDef { category: true, ..FieldDef::new("county", Kind::Exact) };
        let fields = vec![
            d.params(vec![0.0, 0.999, 0.001], vec![0.0, 1.0 - U_FLOOR, U_FLOOR]),
            county.params(vec![0.0, 0.9, 0.1], vec![0.0, 0.2, 0.8]),
        ];
        let m = Model { fields, lambda: 0.001, iterations: 0 };
        let across = m.log_odds(&[2, 2]) - m.prior_log_odds() - m.fields[1].weight(2);
        assert!((across - (0.001f64 / 0.8).ln()).abs() < 1e-9, "{across}");
        assert!((m.log_odds(&[2, 1]) - m.prior_log_odds() - m.fields[1].weight(1)).abs() < 1e-12);
        // Where random pairs do disagree (a registration's status: one removed, one active),
        // disagreeing keeps its weight, whatever its sign.
        let mut m = model();
        m.fields[0].m = vec![0.0, 0.1, 0.9];
        m.fields[0].u = vec![0.0, 0.5, 0.5];
        let status = (0.9f64 / 0.5).ln();
        assert!((m.log_odds(&[2, 0]) - m.prior_log_odds() - status).abs() < 1e-12);
        // As a location field, it does not put the pair at one address either.
        let mut m = prefixed();
        for f in &mut m.fields {
            f.location = true;
            f.home_u = Some(vec![0.0, 0.5, 0.3, 0.2]);
        }
        m.fields[1].home_u = Some(vec![0.0, 0.5, 0.5]);
        let dob = m.fields[1].weight(EXACT);
        assert!((m.log_odds(&[3, 1]) - (m.prior_log_odds() + dob)).abs() < 1e-12);
    }

    #[test]
    fn em_recovers_m_from_unlabelled_patterns() {
        // 1000 records each side, 100 true matches. Generated counts from m = (0.9, 0.1) and
        // (0.8, 0.2), u = (0.01, 0.99) and (0.001, 0.999), over 10,000 blocked pairs.
        let truth = model();
        let names = defs();
        let u = truth.fields.iter().map(|f| f.u.clone()).collect();
        let matches = [(vec![1, 1], 72), (vec![1, 2], 18), (vec![2, 1], 8), (vec![2, 2], 2)];
        let non = [(vec![1, 1], 0), (vec![1, 2], 99), (vec![2, 1], 10), (vec![2, 2], 9791)];
        let pats = Patterns::from_counts(2, matches.iter().chain(&non).map(|(k, c)| (&k[..], *c)));
        let model = train_m(&names, u, &pats, 10_000.0, 1000.0, 500, &[false; 2]);
        assert!((model.fields[0].m[1] - 0.9).abs() < 0.05, "{:?}", model.fields[0].m);
        assert!((model.fields[1].m[1] - 0.8).abs() < 0.05, "{:?}", model.fields[1].m);
        let expected = model.lambda * 10_000.0;
        assert!((expected - 100.0).abs() < 10.0, "{expected}");
    }

    #[test]
    fn an_exact_agreement_is_never_weaker_than_a_near_one() {
        // The census file's first names as EM left them: its duplicates almost all carry a typo
        // there, so exact agreement (0.0001 of matches) weighed -2.8 bits, below `jw>=0.92`.
        let u = [0.0, 0.000692, 0.001707, 0.001422, 0.044829, 0.95135];
        let m = vec![0.0, 0.0001, 0.5226, 0.2351, 0.2409, 0.0013];
        let fixed = exact_strongest(m.clone(), &u);
        let w = |m: &[f64], l: usize| (m[l] / u[l]).ln();
        let pooled = ((0.0001f64 + 0.5226) / (0.000692 + 0.001707)).ln();
        assert!((w(&fixed, 1) - pooled).abs() < 1e-12 && (w(&fixed, 2) - pooled).abs() < 1e-12);
        // The levels below the pool keep their m, and the pool its total.
        assert_eq!(&fixed[3..], &m[3..]);
        assert!((fixed.iter().sum::<f64>() - m.iter().sum::<f64>()).abs() < 1e-12);
        // A field already in order is left as it is.
        assert_eq!(exact_strongest(fixed.clone(), &u), fixed);
        let ordered = vec![0.0, 0.9, 0.05, 0.02, 0.02, 0.01];
        assert_eq!(exact_strongest(ordered.clone(), &u), ordered);

        // EM keeps the order on a name, and leaves a category free to weigh agreement below
        // difference. Of 100 matches, 85 agree on the name within a typo, 11 less closely, 1
        // exactly, 3 not at all; 80 differ on the status (one record removed, one active),
        // which 20% of the 9,900 other pairs do. Of those, 10 agree exactly on the name
        // (family), 17 nearly.
        let defs = [FieldDef::new("first_name", Kind::Name), FieldDef::new("status", Kind::Exact)];
        let u = vec![vec![0.0, 0.001, 0.0015, 0.0002, 0.0001, 0.9972], vec![0.0, 0.8, 0.2]];
        let mut counts: Vec<([u8; 2], u64)> = Vec::new();
        for (names, status) in [
            ([(1, 1), (2, 85), (3, 11), (5, 3)], [20, 80]),
            ([(1, 10), (2, 15), (3, 2), (5, 9873)], [80, 20]),
        ] {
            for (level, n) in names {
                counts
                    .extend([([level, 1], n * status[0] / 100), ([level, 2], n * status[1] / 100)]);
            }
        }
        let pats = Patterns::from_counts(2, counts.iter().map(|(k, c)| (&k[..], *c)));
        let model = train_m(&defs, u, &pats, 1e4, 100.0, 500, &[false; 2]);
        let (name, status) = (&model.fields[0], &model.fields[1]);
        assert!(name.weight(1) >= name.weight(2) - 1e-9, "{:?}", name.weights());
        assert!(status.weight(1) < 0.0 && status.weight(2) > 0.0, "{:?}", status.weights());
    }

    #[test]
    fn em_stops_at_its_fixed_point_and_a_refit_starts_there() {
        let pats = blocked_patterns();
        let u: Vec<Vec<f64>> = model().fields.iter().map(|f| f.u.clone()).collect();
        let trained = train_m(&defs(), u.clone(), &pats, 10_000.0, 1000.0, 500, &[false; 2]);
        // One more plain round of EM from the result hardly moves it, extrapolated or not.
        let lambda = trained.lambda;
        let again = em(trained.fields.clone(), &[true; 2], &pats, 10_000.0, lambda * 1e4, 1);
        for (a, b) in trained.fields.iter().zip(&again.fields) {
            for (x, y) in a.m.iter().zip(&b.m) {
                assert!((x - y).abs() < 1e-5, "{:?} moved to {:?}", a.m, b.m);
            }
        }
        assert!((again.lambda - lambda).abs() / lambda < 1e-5);
        // With u unchanged, a refit from the trained model is done at once.
        let refitted = refit(&defs(), trained, u, &[true; 2], &pats, 10_000.0, 500);
        assert!(refitted.iterations <= 2, "{} rounds", refitted.iterations);
    }

    #[test]
    fn unmixing_until_the_prior_settles_recovers_a_rare_codes_u() {
        // A small product link of 10,000 pairs, 100 of them matches. 70 matches share a rare
        // model number, which only 10 other pairs do (u 0.001); the names agree in 90% of the
        // matches and 5% of the rest, the prices in 60% and 10%. Counted on random pairs (all
        // pairs here), the code's u is 0.01 x 0.7 + 0.99 x 0.001 = 0.008: mostly the matches.
        let defs = ["code", "name", "price"].map(|n| FieldDef::new(n, Kind::Exact));
        let random_u: Vec<Vec<f64>> =
            [0.00799, 0.0585, 0.105].iter().map(|&a| vec![0.0, a, 1.0 - a]).collect();
        let matches = [
            ([1, 1, 1], 38),
            ([1, 1, 2], 25),
            ([1, 2, 1], 4),
            ([1, 2, 2], 3),
            ([2, 1, 1], 16),
            ([2, 1, 2], 11),
            ([2, 2, 1], 2),
            ([2, 2, 2], 1),
        ];
        let non = [([1, 2, 1], 1), ([1, 2, 2], 9), ([2, 1, 1], 50), ([2, 1, 2], 445)];
        let rest = [([2, 2, 1], 940), ([2, 2, 2], 8455)];
        let all = matches.iter().chain(&non).chain(&rest);
        let pats = Patterns::from_counts(3, all.map(|(k, c)| (&k[..], *c)));
        let trained = train_m(&defs, random_u, &pats, 1e4, 50.0, 500, &[false; 3]);
        let model = unmix(&defs, trained, &[true; 3], &pats, 1e4, 500);
        let expected = model.lambda * 1e4;
        assert!((expected - 100.0).abs() < 5.0, "{expected} expected matches");
        let code_u = model.fields[0].u[1];
        assert!((code_u - 0.001).abs() < 0.0005, "the code's u is {code_u}");
    }

    /// The patterns of 10,000 blocked pairs: 100 matches drawn from [`model`]'s m, the rest
    /// from its u.
    fn blocked_patterns() -> Patterns {
        let matches = [([1, 1], 72), ([1, 2], 18), ([2, 1], 8), ([2, 2], 2)];
        let non = [([1, 2], 99), ([2, 1], 10), ([2, 2], 9791)];
        Patterns::from_counts(2, matches.iter().chain(&non).map(|(k, c)| (&k[..], *c)))
    }

    #[test]
    fn known_matches_give_m_and_em_gives_the_prior() {
        let truth = model();
        let names = defs();
        let u = truth.fields.iter().map(|f| f.u.clone()).collect();
        // 1000 known matches drawn from m: name agrees 900 times, dob 800 times.
        let mut known = Vec::new();
        for i in 0..1000 {
            known.push(if i < 900 { 1 } else { 2 });
            known.push(if i % 10 < 8 { 1 } else { 2 });
        }
        let pats = blocked_patterns();
        let model = model_from_known(&names, u, &known, 2, &[false, false], &pats, 1e4, 1e3, 500);
        assert!((model.fields[0].m[1] - 0.9).abs() < 0.01, "{:?}", model.fields[0].m);
        assert!((model.fields[1].m[1] - 0.8).abs() < 0.01, "{:?}", model.fields[1].m);
        let expected = model.lambda * 10_000.0;
        assert!((expected - 100.0).abs() < 10.0, "{expected}");
    }

    #[test]
    fn a_field_that_chose_the_known_matches_gets_its_m_from_em() {
        // The known matches were chosen by agreeing on dob, so their dob says nothing: EM fits
        // dob's m (0.8 in truth) with name's m held at the known matches' 0.9.
        let truth = model();
        let names = defs();
        let u = truth.fields.iter().map(|f| f.u.clone()).collect();
        let known: Vec<u8> = (0..1000).flat_map(|i| [if i < 900 { 1 } else { 2 }, 1]).collect();
        let pats = blocked_patterns();
        let model = model_from_known(&names, u, &known, 2, &[false, true], &pats, 1e4, 1e3, 500);
        assert!((model.fields[0].m[1] - 0.9).abs() < 0.01, "{:?}", model.fields[0].m);
        assert!((model.fields[1].m[1] - 0.8).abs() < 0.05, "{:?}", model.fields[1].m);
    }

    #[test]
    fn u_of_exact_comes_from_value_counts() {
        let l: Vec<Option<String>> =
            ["a", "a", "b", "c"].iter().map(|s| Some(s.to_string())).collect();
        let f = PreparedField::new("x", Kind::Exact, &l, None);
        // Pairs of distinct records sharing a value: (a,a) once among 6 pairs.
        assert!((exact_u(&f, false) - 2.0 / 12.0).abs() < 1e-12);
        let (u, _) = estimate_u(&Comparer::new(&[f], None), 4, None, 1000, 7, None);
        assert!((u[0][1] - 1.0 / 6.0).abs() < 1e-12);
        assert!((u[0][2] - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn a_value_held_once_on_each_side_is_not_weaker_than_an_average_exact_match() {
        // A link of 1,000 + 1,000 titles: 50 held once on each side (the matches), 5 held twice
        // on each side (four pairs of non-matches each), the rest on one side only.
        let side = |tag: &str| -> Vec<Option<String>> {
            let mut v: Vec<Option<String>> = (0..50).map(|i| Some(format!("t{i}"))).collect();
            v.extend((0..10).map(|i| Some(format!("c{}", i / 2))));
            v.extend((v.len()..1000).map(|i| Some(format!("{tag}{i}"))));
            v
        };
        let f = PreparedField::new("title", Kind::Text, &side("l"), Some(&side("r")));
        let matched: Vec<f64> =
            f.dict.iter().map(|v| if v.starts_with('t') { 1.0 } else { 0.0 }).collect();
        let adj = tf_adjustments(&f, 2e-5, &matched, 5e-5, true);
        let of = |v: &str| adj[f.dict.iter().position(|d| d == v).unwrap()];
        // Matches agree only on values both sides hold (120 of 2,000 records): spread over those,
        // a value held once on each side is about as strong as the exact level (it was e^-3.2).
        assert!(of("t7") > -1.0, "{}", of("t7"));
        // A value non-matches share is weaker than one only a match shares.
        assert!(of("c1") < of("t7") - 1.0, "{} {}", of("c1"), of("t7"));
    }
}
