//! Strata: records grouped by their categories (country, gender, state), so that u can be
//! measured among pairs of one group.
//!
//! Fellegi-Sunter multiplies the fields' evidence as if they were independent among
//! non-matches. They are not when a category shapes the other values: in a file of customers
//! from five countries, two random records of one country share a first name 3.4 times as often
//! as two random records, a surname 4.2 times (measured on the 20k generated world's CRM file);
//! first names follow gender. Agreeing on the country and then on a Spanish first name and a
//! Spanish surname counts the country three times, and namesakes of one city look like
//! duplicates. So u of the other fields (and their term frequencies) is measured among pairs of
//! records in one stratum (the same value of every category), which is where the pairs that
//! matter are: `P(pattern | non-match) = P(categories agree) * P(rest | categories agree)`.
//! Pairs across strata get the same u (the category's own "different" weight speaks for them),
//! which understates their agreements slightly. A pair where a category is missing on one side
//! takes the term frequencies of the categories it agrees on: a record without a gender, against
//! one of its country, is compared among the records of that country, not among the whole
//! file's (where the names of a small country are rare; on the 20k world's customer file this
//! was 58 of the 106 false pairs).
//!
//! Owns: choosing the category fields ([`Strata::new`]), the records' strata, seeded random
//! pairs within strata, the chance of exact agreement within strata, and the per-record
//! term-frequency corrections. It does not own the model ([`super::fellegi_sunter`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::compare::{Kind, PreparedField, NONE};
use super::fellegi_sunter::all_pairs;
use crate::hash::FxHashMap;

/// Most distinct values a category may have.
pub const MAX_CATEGORY_VALUES: usize = 64;
/// Least share of the records holding a value of a category.
pub const MIN_CATEGORY_PRESENT: f64 = 0.5;
/// Largest share of the present values one value may have (a category nearly constant splits
/// nothing).
pub const MAX_CATEGORY_SHARE: f64 = 0.95;
/// A category makes strata when two records of one of its values agree exactly on some other
/// field at least this many times as often as two random records: it shapes that field's values
/// (the country a surname, 4.2 on the 20k world's customer file; gender a first name, about 2).
/// A category the other values do not follow (a consent flag; FEBRL's state, drawn
/// independently of the names) changes nothing and is left out.
pub const MIN_DEPENDENCE: f64 = 1.5;
/// Values held by at least this many records are common: a pair of duplicates weighs little
/// among the pairs agreeing on them.
pub const COMMON_VALUE: u32 = 10;
/// Least share of a field's records holding a common value for the field to speak in the
/// dependence test: a few common birth dates (FEBRL3 has 2, held by 10-12 records, mostly one
/// person's duplicates) are noise.
pub const MIN_COMMON_SHARE: f64 = 0.2;

/// The records of both sides grouped by the values of the file's category fields.
#[derive(Debug, Clone)]
pub struct Strata {
    /// Indexes of the category fields.
    pub fields: Vec<usize>,
    /// Per field: whether its u is measured within strata (not a category, not `located`).
    pub within: Vec<bool>,
    /// Records per side (left, right).
    records: [usize; 2],
    /// Per stratum, its records per side.
    members: Vec<[Vec<u32>; 2]>,
    /// The strata of each proper, non-empty subset of the categories, with the subset as a bit
    /// mask over [`Strata::fields`] (none when there are more than [`MAX_COARSER_CATEGORIES`]):
    /// two records, one of which misses a category, still share the stratum of the categories
    /// they agree on (see [`Strata::shared`]).
    pub coarser: Vec<(u32, Strata)>,
}

/// Most category fields for which [`Strata::coarser`] strata are kept (2^k - 2 of them).
pub const MAX_COARSER_CATEGORIES: usize = 3;

impl Strata {
    /// The strata of the fields of kind [`Kind::Exact`] with 2 to [`MAX_CATEGORY_VALUES`]
    /// values, present in at least [`MIN_CATEGORY_PRESENT`] of the records, none holding more
    /// than [`MAX_CATEGORY_SHARE`] of them, that some field not `located` (a part of the
    /// location, counted once) follows ([`MIN_DEPENDENCE`]); `None` when there is no such field
    /// or no two records share a stratum.
    pub fn new(
        fields: &[PreparedField],
        located: &[bool],
        n_left: usize,
        n_right: Option<usize>,
    ) -> Option<Self> {
        let n = [n_left, n_right.unwrap_or(0)];
        let link = n_right.is_some();
        let candidates: Vec<usize> = (0..fields.len())
            .filter(|&f| {
                let p = &fields[f];
                let held: Vec<u32> = p.counts.iter().map(|c| c[0] + c[1]).collect();
                let present: u32 = held.iter().sum();
                p.kind == Kind::Exact
                    && (2..=MAX_CATEGORY_VALUES).contains(&p.dict.len())
                    && f64::from(present) >= MIN_CATEGORY_PRESENT * (n[0] + n[1]) as f64
                    && held.iter().all(|&h| f64::from(h) <= MAX_CATEGORY_SHARE * f64::from(present))
            })
            .collect();
        let measured = |categories: &[usize]| -> Vec<bool> {
            (0..fields.len())
                .map(|f| !categories.contains(&f) && !located[f] && fields[f].kind != Kind::Ignore)
                .collect()
        };
        // Duplicates share their category, so agreement on an identifier is concentrated
        // within strata whatever the category: only common values tell whether a field follows
        // it.
        let all = Self::of_categories(fields, vec![], measured(&candidates), n);
        let speaks = |f: &PreparedField| {
            let held: Vec<u32> = f.counts.iter().map(|c| c[0] + c[1]).collect();
            let common: u32 = held.iter().filter(|&&h| h >= COMMON_VALUE).sum();
            f64::from(common) >= MIN_COMMON_SHARE * f64::from(held.iter().sum::<u32>())
        };
        // Per field that can speak, its agreement on common values over all records (else 0).
        let global: Vec<f64> = (0..fields.len())
            .map(|f| match all.within[f] && speaks(&fields[f]) {
                true => all.agreement(&fields[f], link, COMMON_VALUE),
                false => 0.0,
            })
            .collect();
        let followed = |c: usize| {
            let one = Self::of_categories(fields, vec![c], measured(&candidates), n);
            (0..fields.len()).filter(|&f| global[f] > 0.0).any(|f| {
                one.agreement(&fields[f], link, COMMON_VALUE) >= MIN_DEPENDENCE * global[f]
            })
        };
        let categories: Vec<usize> = candidates.iter().copied().filter(|&c| followed(c)).collect();
        if categories.is_empty() {
            return None;
        }
        let within = measured(&categories);
        let k = categories.len();
        let coarser = if k <= MAX_COARSER_CATEGORIES {
            let mut masks: Vec<u32> = (1..(1u32 << k) - 1).collect();
            masks.sort_by_key(|m| std::cmp::Reverse(m.count_ones())); // finest first
            masks
                .into_iter()
                .map(|mask| {
                    let subset =
                        (0..k).filter(|b| mask & (1 << b) != 0).map(|b| categories[b]).collect();
                    (mask, Self::of_categories(fields, subset, within.clone(), n))
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut strata = Self::of_categories(fields, categories, within, n);
        strata.coarser = coarser;
        (strata.pairs_within(link) > 0.0).then_some(strata)
    }

    /// The strata of the given category fields.
    fn of_categories(
        fields: &[PreparedField],
        categories: Vec<usize>,
        within: Vec<bool>,
        n: [usize; 2],
    ) -> Self {
        let mut index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut members: Vec<[Vec<u32>; 2]> = Vec::new();
        for (side, &records) in n.iter().enumerate() {
            for r in 0..records {
                let key: Vec<u32> = categories.iter().map(|&f| fields[f].ids[side][r]).collect();
                if key.contains(&NONE) {
                    continue;
                }
                let next = members.len() as u32;
                let s = *index.entry(key).or_insert(next);
                if s == next {
                    members.push([Vec::new(), Vec::new()]);
                }
                members[s as usize][side].push(r as u32);
            }
        }
        Strata { fields: categories, within, records: n, members, coarser: Vec::new() }
    }

    /// These strata, then each of [`Strata::coarser`]: the index [`Strata::shared`] gives.
    pub fn all(&self) -> impl Iterator<Item = &Strata> {
        std::iter::once(self).chain(self.coarser.iter().map(|c| &c.1))
    }

    /// The finest strata records `i` (left) and `j` (right side `sj`) share, as an index into
    /// [`Strata::all`]: these strata when they agree on every category, else, when the others are
    /// missing on one side, those of the categories they agree on; `None` when a category
    /// differs (its own weight speaks against the pair) or none agrees. `fields` are the
    /// prepared fields.
    pub fn shared(&self, fields: &[PreparedField], i: usize, sj: usize, j: usize) -> Option<usize> {
        let mut mask = 0u32;
        for (b, &f) in self.fields.iter().enumerate() {
            let (x, y) = (fields[f].ids[0][i], fields[f].ids[sj][j]);
            if x != NONE && x == y {
                mask |= 1 << b;
            } else if x != NONE && y != NONE {
                return None; // they differ: that category's own weight speaks
            }
        }
        if mask == (1 << self.fields.len()) - 1 {
            Some(0)
        } else {
            self.coarser.iter().position(|c| c.0 == mask).map(|k| k + 1)
        }
    }

    /// Number of pairs of records in one stratum.
    fn pairs_within(&self, link: bool) -> f64 {
        self.sizes(link).iter().sum()
    }

    /// Per stratum, its number of pairs of records.
    fn sizes(&self, link: bool) -> Vec<f64> {
        self.members.iter().map(|m| pairs_of(m[0].len(), m[1].len(), link)).collect()
    }

    /// `samples` random pairs of records in one stratum, drawn with `seed`, each pair of the
    /// population within strata equally likely (every such pair when there are no more).
    pub fn random_pairs(&self, link: bool, samples: usize, seed: u64) -> Vec<(u32, u32)> {
        let sizes = self.sizes(link);
        let total: f64 = sizes.iter().sum();
        let right = usize::from(link);
        if total <= samples as f64 {
            return self
                .members
                .iter()
                .flat_map(|m| {
                    let (l, r) = (&m[0], &m[right]);
                    l.iter().enumerate().flat_map(move |(a, &i)| {
                        let from = if link { 0 } else { a + 1 };
                        r[from..].iter().map(move |&j| (i, j))
                    })
                })
                .collect();
        }
        let mut cumulative = Vec::with_capacity(sizes.len());
        let mut acc = 0.0;
        for s in &sizes {
            acc += s;
            cumulative.push(acc);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..samples)
            .map(|_| {
                let x = rng.gen_range(0.0..total);
                let s = cumulative.partition_point(|&c| c <= x).min(sizes.len() - 1);
                let m = &self.members[s];
                if link {
                    (m[0][rng.gen_range(0..m[0].len())], m[1][rng.gen_range(0..m[1].len())])
                } else {
                    let a = rng.gen_range(0..m[0].len());
                    let mut b = rng.gen_range(0..m[0].len() - 1);
                    if b >= a {
                        b += 1;
                    }
                    (m[0][a], m[0][b])
                }
            })
            .collect()
    }

    /// The chance that two random records of one stratum (both holding a value of `f`) hold the
    /// same value: [`super::fellegi_sunter::exact_u`] within strata.
    pub fn exact_u(&self, f: &PreparedField, link: bool) -> f64 {
        self.agreement(f, link, 0)
    }

    /// [`Strata::exact_u`] counting only the agreements on values at least `holders` records
    /// hold.
    fn agreement(&self, f: &PreparedField, link: bool, holders: u32) -> f64 {
        let (mut agree, mut all) = (0.0, 0.0);
        let counted = |v: &u32| {
            let c = f.counts[*v as usize];
            c[0] + c[1] >= holders
        };
        for m in &self.members {
            let (by_value, held) = value_counts(m, f);
            agree += by_value
                .iter()
                .filter(|(v, _)| counted(v))
                .map(|(_, c)| pairs_of(c[0], c[1], link))
                .sum::<f64>();
            all += pairs_of(held[0], held[1], link);
        }
        if all > 0.0 {
            agree / all
        } else {
            0.0
        }
    }

    /// Per side, per record: the term-frequency correction of agreeing exactly on its value of
    /// `f` with a record of its own stratum, `ln(p(v) / p_s(v))`: the value's share of all
    /// records over its share of the stratum's records (both sides together). Zero for records
    /// without a stratum or a value.
    pub fn tf_corrections(&self, f: &PreparedField) -> [Vec<f32>; 2] {
        let total: f64 = f.counts.iter().map(|c| f64::from(c[0] + c[1])).sum();
        let mut out = [vec![0.0f32; self.records[0]], vec![0.0f32; self.records[1]]];
        for m in &self.members {
            let (by_value, held) = value_counts(m, f);
            let held = (held[0] + held[1]) as f64;
            for (side, records) in m.iter().enumerate() {
                for &r in records {
                    let v = f.ids[side][r as usize];
                    if v != NONE {
                        let c = f.counts[v as usize];
                        let p = f64::from(c[0] + c[1]) / total;
                        let p_s = (by_value[&v][0] + by_value[&v][1]) as f64 / held;
                        out[side][r as usize] = (p / p_s).ln() as f32;
                    }
                }
            }
        }
        out
    }
}

/// Pairs among `a` records (a dedupe) or between `a` and `b` records (a link).
fn pairs_of(a: usize, b: usize, link: bool) -> f64 {
    all_pairs(a, link.then_some(b))
}

/// Per value of `f` held in stratum `m`, its holders per side, and the stratum's records holding
/// a value per side (a dedupe has no right side).
fn value_counts(m: &[Vec<u32>; 2], f: &PreparedField) -> (FxHashMap<u32, [usize; 2]>, [usize; 2]) {
    let mut by_value: FxHashMap<u32, [usize; 2]> = FxHashMap::default();
    let mut held = [0; 2];
    for (side, records) in m.iter().enumerate() {
        for &r in records {
            let v = f.ids[side][r as usize];
            if v != NONE {
                by_value.entry(v).or_default()[side] += 1;
                held[side] += 1;
            }
        }
    }
    (by_value, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: Kind, values: &[&str]) -> PreparedField {
        let v: Vec<Option<String>> =
            values.iter().map(|s| (!s.is_empty()).then(|| s.to_string())).collect();
        PreparedField::new(name, kind, &v, None)
    }

    #[test]
    fn names_that_follow_the_country_are_commoner_within_it() {
        // 12 Spanish records (10 Jose, 2 Ana), 12 German ones (10 Jan, 2 Uwe), one without a
        // country.
        let mut countries = vec!["es"; 12];
        countries.extend(["de"; 12]);
        countries.push("");
        let mut names = vec!["jose"; 10];
        names.extend(["ana", "ana"]);
        names.extend(["jan"; 10]);
        names.extend(["uwe", "uwe", "x"]);
        let fields =
            [field("country", Kind::Exact, &countries), field("first", Kind::Name, &names)];
        let s = Strata::new(&fields, &[false, false], 25, None).expect("country is a category");
        assert_eq!((s.fields.clone(), s.within.clone()), (vec![0], vec![false, true]));
        let together = |i: usize, sj: usize, j: usize| s.shared(&fields, i, sj, j) == Some(0);
        assert!(together(0, 0, 11) && !together(0, 0, 12) && !together(24, 0, 24));
        // Within a country 46 of 66 pairs share a first name (45 Jose or Jan, 1 Ana or Uwe).
        assert!((s.exact_u(&fields[1], false) - 46.0 / 66.0).abs() < 1e-12);
        // Jose: 10 of 25 records, 10 of the 12 Spanish ones.
        let c = s.tf_corrections(&fields[1]);
        assert!((f64::from(c[0][0]) - ((10.0 / 25.0) / (10.0 / 12.0f64)).ln()).abs() < 1e-6);
        assert_eq!(c[0][24], 0.0);
        // Every pair within strata, each once.
        let mut pairs = s.random_pairs(false, 1000, 1);
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), 132);
        assert!(pairs.iter().all(|&(i, j)| i != j && together(i as usize, 0, j as usize)));
        // Sampled: only pairs within a stratum, deterministic by seed.
        let sampled = s.random_pairs(false, 30, 9);
        assert_eq!(sampled, s.random_pairs(false, 30, 9));
        assert!(sampled.iter().all(|&(i, j)| i != j && together(i as usize, 0, j as usize)));
    }

    #[test]
    fn strata_of_a_link_pair_records_across_the_two_files() {
        // Each file: 11 Spanish records named Jose, 11 German ones named Jan.
        let side = |c: &str, n: &str| -> Vec<Option<String>> {
            (0..22).map(|i| Some(if i < 11 { c } else { n }.to_string())).collect()
        };
        let fields = [
            PreparedField::new("country", Kind::Exact, &side("es", "de"), Some(&side("es", "de"))),
            PreparedField::new(
                "first",
                Kind::Name,
                &side("jose", "jan"),
                Some(&side("jose", "jan")),
            ),
        ];
        let s = Strata::new(&fields, &[false, false], 22, Some(22)).expect("country is a category");
        let together = |i: usize, sj: usize, j: usize| s.shared(&fields, i, sj, j) == Some(0);
        assert!(together(0, 1, 10) && !together(0, 1, 11));
        // Within a country every left-right pair shares the name; across the files, half.
        assert!((s.exact_u(&fields[1], true) - 1.0).abs() < 1e-12);
        let pairs = s.random_pairs(true, 100, 3);
        assert_eq!(pairs.len(), 100);
        assert!(pairs.iter().all(|&(i, j)| together(i as usize, 1, j as usize)));
    }

    #[test]
    fn records_missing_a_category_share_the_strata_of_the_others() {
        // Names follow the country and the gender: 10 records of each (es, de) x (m, f), then
        // four Spanish records and one German one without a gender.
        let mut country = Vec::new();
        let mut gender = Vec::new();
        let mut first = Vec::new();
        for (c, g, n) in
            [("es", "m", "jose"), ("es", "f", "ana"), ("de", "m", "jan"), ("de", "f", "uta")]
        {
            country.extend([c; 10]);
            gender.extend([g; 10]);
            first.extend([n; 10]);
        }
        country.extend(["es", "es", "es", "es", "de"]);
        gender.extend([""; 5]);
        first.extend(["jose", "ana", "jose", "ana", "jan"]);
        let fields = [
            field("country", Kind::Exact, &country),
            field("gender", Kind::Exact, &gender),
            field("first", Kind::Name, &first),
        ];
        let s = Strata::new(&fields, &[false; 3], 45, None).expect("two categories");
        assert_eq!(s.fields, vec![0, 1]);
        let index = |mask: u32| 1 + s.coarser.iter().position(|c| c.0 == mask).expect("a subset");
        // Both categories agree: these strata; the gender missing: the country's; a category
        // that differs, or none in common: none.
        assert_eq!(s.shared(&fields, 0, 0, 1), Some(0));
        assert_eq!(s.shared(&fields, 0, 0, 40), Some(index(0b01)));
        assert_eq!(s.shared(&fields, 40, 0, 0), Some(index(0b01)));
        assert_eq!(s.shared(&fields, 0, 0, 10), None);
        assert_eq!(s.shared(&fields, 0, 0, 20), None);
        assert_eq!(s.shared(&fields, 40, 0, 44), None);
        // A Jose without a gender, against the Spanish records: 12 of 45 records, 12 of 24.
        let country_only = s.all().nth(index(0b01)).expect("the country's strata");
        let c = country_only.tf_corrections(&fields[2]);
        assert!((f64::from(c[0][40]) - ((12.0 / 45.0) / (12.0 / 24.0f64)).ln()).abs() < 1e-6);
    }

    #[test]
    fn a_nearly_constant_or_rare_category_makes_no_strata() {
        let constant = field("country", Kind::Exact, &["es"; 40]);
        assert!(Strata::new(&[constant], &[false], 40, None).is_none());
        let sparse = field("gender", Kind::Exact, &["m", "f", "", "", "", ""]);
        assert!(Strata::new(&[sparse], &[false], 6, None).is_none());
        let names = field("first", Kind::Name, &["a", "b", "a", "b"]);
        assert!(Strata::new(&[names], &[false], 4, None).is_none());
        // A consent flag the names do not follow.
        let consent: Vec<&str> = (0..40).map(|i| if i % 2 == 0 { "y" } else { "n" }).collect();
        let first: Vec<&str> = (0..40).map(|i| if i % 4 < 2 { "a" } else { "b" }).collect();
        let fields = [field("consent", Kind::Exact, &consent), field("first", Kind::Name, &first)];
        assert!(Strata::new(&fields, &[false, false], 40, None).is_none());
        // One person's ten duplicates share a birth date and a country: the date is common but
        // held by a tenth of the records only, which says nothing of the country (FEBRL3).
        let country: Vec<&str> = (0..100).map(|i| if i % 2 == 0 { "es" } else { "de" }).collect();
        let births: Vec<String> = (0..100)
            .map(|i| if i < 20 && i % 2 == 0 { "d0".into() } else { format!("d{i}") })
            .collect();
        let births: Vec<&str> = births.iter().map(String::as_str).collect();
        let first: Vec<&str> = (0..100).map(|i| if i % 4 < 2 { "a" } else { "b" }).collect();
        let fields = [
            field("country", Kind::Exact, &country),
            field("birth", Kind::Code, &births),
            field("first", Kind::Name, &first),
        ];
        assert!(Strata::new(&fields, &[false; 3], 100, None).is_none());
    }
}
