//! Fields that follow one another: columns whose agreements come together among different
//! people, so that counting each would count one fact many times.
//!
//! A voter file holds some 60 columns of districts (house, senate, court, school, sewer, ward,
//! precinct, each as a code and a description) that all follow the address: two neighbours
//! agree on all of them, and summed as independent evidence those agreements outweigh
//! different names (HPI's NC voter sample: 30,357 pairs accepted among 1,417 records, F1
//! 0.014). The location columns named as such already count once ([`super::with_locations`]);
//! this finds the others from the data.
//!
//! Measured among seeded random pairs of records whose person names all differ (so that
//! duplicates, which agree on everything, do not make independent fields look dependent): two
//! fields follow one another when the rarer of their exact agreements comes with the other at
//! least [`MIN_FOLLOW`] of the time and at least [`MIN_LIFT`] times as often as chance. Such
//! fields form groups (transitively), and of a group's fields that agree only the strongest
//! agreement counts ([`super::fellegi_sunter::total_weight`]). Person names, the location and
//! files without a person-name column are left alone.
//!
//! Owns finding the groups. It does not own the weights.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::compare::{Kind, PreparedField, EXACT, MISSING};

/// Random pairs drawn to measure the dependence.
pub const SAMPLES: usize = 20_000;
/// Fewest pairs agreeing on a field for it to be judged.
pub const MIN_AGREEMENTS: u64 = 20;
/// Least share of the pairs agreeing on the rarer field that also agree on the other.
pub const MIN_FOLLOW: f64 = 0.8;
/// Least ratio of the joint agreement to the product of the two agreement rates.
pub const MIN_LIFT: f64 = 2.0;

/// Per field, its group of fields that follow one another (`None` when alone), given the
/// prepared `fields`, which are `located`, the records per side and a `seed`.
pub fn groups(
    fields: &[PreparedField],
    located: &[bool],
    n_left: usize,
    n_right: Option<usize>,
    seed: u64,
) -> Vec<Option<usize>> {
    let width = fields.len();
    let mut out = vec![None; width];
    let names: Vec<usize> = (0..width).filter(|&f| fields[f].kind == Kind::Name).collect();
    let judged: Vec<usize> = (0..width)
        .filter(|&f| !located[f] && !matches!(fields[f].kind, Kind::Name | Kind::Ignore))
        .collect();
    let n_right_side = n_right.unwrap_or(n_left);
    if names.is_empty() || judged.len() < 2 || n_left < 2 || n_right_side < 1 {
        return out;
    }
    let sj = usize::from(n_right.is_some());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4445_5045_4e44);
    let k = judged.len();
    let (mut pairs, mut agree, mut joint) = (0u64, vec![0u64; k], vec![0u64; k * k]);
    let mut row = vec![false; k];
    for _ in 0..SAMPLES {
        let (i, j) = (rng.gen_range(0..n_left), rng.gen_range(0..n_right_side));
        if sj == 0 && j == i {
            continue;
        }
        let levels = |f: usize| fields[f].compare(0, i, sj, j);
        let differ = names.iter().all(|&f| {
            let l = levels(f);
            l == MISSING || usize::from(l) == fields[f].kind.levels() - 1
        });
        if !differ || names.iter().all(|&f| levels(f) == MISSING) {
            continue;
        }
        pairs += 1;
        for (a, &f) in judged.iter().enumerate() {
            row[a] = levels(f) == EXACT;
            agree[a] += u64::from(row[a]);
        }
        for a in (0..k).filter(|&a| row[a]) {
            for b in (a + 1..k).filter(|&b| row[b]) {
                joint[a * k + b] += 1;
            }
        }
    }
    // Union-find over the fields that follow one another.
    let mut parent: Vec<usize> = (0..k).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for a in 0..k {
        for b in a + 1..k {
            let (na, nb, nab) = (agree[a], agree[b], joint[a * k + b]);
            if na.min(nb) < MIN_AGREEMENTS {
                continue;
            }
            let follows = nab as f64 >= MIN_FOLLOW * na.min(nb) as f64;
            let lift = nab as f64 * pairs as f64 / (na as f64 * nb as f64);
            if follows && lift >= MIN_LIFT {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra] = rb;
            }
        }
    }
    for a in 0..k {
        let r = root(&mut parent, a);
        if (0..k).any(|b| b != a && root(&mut parent, b) == r) {
            out[judged[a]] = Some(judged[r]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: Kind, values: &[String]) -> PreparedField {
        let v: Vec<Option<String>> = values.iter().map(|s| Some(s.clone())).collect();
        PreparedField::new(name, kind, &v, None)
    }

    #[test]
    fn districts_that_follow_the_precinct_form_one_group_and_birth_dates_stay_alone() {
        let n = 400;
        let col = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
        // A word of letters unlike the others' (names that differ, not variants).
        let word = |x: usize| -> String {
            (0..6)
                .map(|k| (b'a' + ((x * 7919 + k * 104_729) / (k + 1) % 26) as u8) as char)
                .collect()
        };
        let fields = vec![
            field("first_name", Kind::Name, &col(&|r| word(r % 97))),
            field("last_name", Kind::Name, &col(&|r| word(1000 + r % 89))),
            field("precinct", Kind::Code, &col(&|r| format!("p{}", r % 40))),
            field("school_district", Kind::Code, &col(&|r| format!("s{}", (r % 40) / 4))),
            field("school_desc", Kind::Text, &col(&|r| format!("school {}", (r % 40) / 4))),
            field(
                "birth_date",
                Kind::Date,
                &col(&|r| format!("19{:02}-01-{:02}", r % 60, 1 + r % 28)),
            ),
            field("street", Kind::Text, &col(&|r| format!("{} main street", r))),
        ];
        let located = [false, false, false, false, false, false, true];
        let g = groups(&fields, &located, n, None, 1);
        assert!(g[2].is_some() && g[2] == g[3] && g[3] == g[4], "{g:?}");
        assert_eq!((g[0], g[1], g[5], g[6]), (None, None, None, None), "{g:?}");
    }
}
