//! Households: the surname that the people of one address share.
//!
//! Fellegi-Sunter takes the fields as independent among non-matches, so two records agreeing on
//! the address and on a rare surname look like one person twice over. Among the people of one
//! address they are not independent: a family shares its surname. In Winkler's census test file
//! (841 records, 376 true pairs) most pairs agreeing on surname, street and house number are
//! parents, children and siblings, and accepting them cost most of the precision (0.18); in a
//! customer file, siblings at one address.
//!
//! The dependence is measured, not assumed: the pairs of records sharing every location field
//! exactly (an address) whose first names differ, and that agree on no date or code (a birth
//! date, an id), are people of one household: one person's records agree on the first name, or
//! on the birth date when the first name was mistyped. Among them, how often a name field (the
//! surname; not the first name itself) agrees at each level is that field's u *at home*. When
//! it is at least [`MIN_HOME_DEPENDENCE`] times its u at the exact level, a pair at home gets
//! that field's weight from it ([`super::fellegi_sunter::total_weight`]): an agreement counts
//! for as much as it is rarer among the household's other members, never more than elsewhere.
//! In a file drawn without households (FEBRL draws names and addresses independently) nothing
//! changes.
//!
//! Owns measuring u at home. It does not own the weights ([`super::fellegi_sunter`]) nor which
//! fields are locations ([`super::with_locations`]).

use super::compare::{Kind, PreparedField, EXACT, MISSING, NONE};
use crate::hash::FxHashMap;

/// Largest number of records at one address taken as a household: a value held by more (a
/// block of flats without a flat number, a PO box) is not one.
pub const MAX_HOUSEHOLD: usize = 50;
/// Fewest pairs of household members (first names differing) a field's u at home needs.
pub const MIN_HOME_PAIRS: usize = 20;
/// A field's exact agreement among household members must be at least this many times as
/// common as among random pairs for its u at home to be used.
pub const MIN_HOME_DEPENDENCE: f64 = 1.5;

/// Per field, its u at home (index = level; `None` for the fields it does not apply to), given
/// the prepared `fields`, which of them are `located`, the first-name field `first`, the
/// fields' `u` and, for a link, `sj = 1` (pairs across the two files).
pub fn home_u(
    fields: &[PreparedField],
    located: &[bool],
    first: usize,
    u: &[Vec<f64>],
    sj: usize,
) -> Vec<Option<Vec<f64>>> {
    let none = vec![None; fields.len()];
    let places: Vec<usize> = (0..fields.len()).filter(|&f| located[f]).collect();
    let candidates: Vec<usize> = (0..fields.len())
        .filter(|&f| f != first && !located[f] && fields[f].kind == Kind::Name)
        .collect();
    if places.is_empty() || candidates.is_empty() {
        return none;
    }
    // Records per address (every location field held), per side.
    let mut homes: FxHashMap<Vec<u32>, [Vec<u32>; 2]> = FxHashMap::default();
    for side in 0..=sj {
        for r in 0..fields[first].ids[side].len() {
            let key: Vec<u32> = places.iter().map(|&f| fields[f].ids[side][r]).collect();
            if !key.contains(&NONE) {
                homes.entry(key).or_default()[side].push(r as u32);
            }
        }
    }
    // Per candidate field, level counts among household members.
    let mut counts: Vec<Vec<u64>> = candidates.iter().map(|&f| vec![0; u[f].len()]).collect();
    let different = |f: usize| u[f].len() as u8 - 1;
    // Agreeing exactly on a date (of birth) or a code (an id, a phone) outside the location
    // tells one person whose first name was mistyped or left out, not two.
    let identifying: Vec<usize> = (0..fields.len())
        .filter(|&f| !located[f] && matches!(fields[f].kind, Kind::Date | Kind::Code))
        .collect();
    let level = |f: usize, i: u32, j: u32| fields[f].compare(0, i as usize, sj, j as usize);
    for members in homes.values() {
        let (left, right) = (&members[0], &members[sj]);
        if left.len() + if sj == 1 { right.len() } else { 0 } > MAX_HOUSEHOLD {
            continue;
        }
        for (a, &i) in left.iter().enumerate() {
            let others = if sj == 1 { &right[..] } else { &right[a + 1..] };
            for &j in others {
                if level(first, i, j) != different(first)
                    || identifying.iter().any(|&f| level(f, i, j) == EXACT)
                {
                    continue; // one person, or first names missing or alike
                }
                for (c, &f) in counts.iter_mut().zip(&candidates) {
                    let l = level(f, i, j);
                    if l != MISSING {
                        c[l as usize] += 1;
                    }
                }
            }
        }
    }
    let mut out = none;
    for (c, &f) in counts.iter().zip(&candidates) {
        let pairs: u64 = c.iter().sum();
        if pairs < MIN_HOME_PAIRS as u64 {
            continue;
        }
        let measured: Vec<f64> = c.iter().map(|&k| k as f64 / pairs as f64).collect();
        let exact = EXACT as usize;
        if measured[exact] >= MIN_HOME_DEPENDENCE * u[f][exact] {
            out[f] = Some(u[f].iter().zip(&measured).map(|(&a, &b)| a.max(b)).collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: Kind, values: &[&str]) -> PreparedField {
        let v: Vec<Option<String>> =
            values.iter().map(|s| (!s.is_empty()).then(|| s.to_string())).collect();
        PreparedField::new(name, kind, &v, None)
    }

    /// `families` households of four (two parents, two children: four first names, one
    /// surname), each at its own address.
    fn families(n: usize, shared_surname: bool) -> Vec<PreparedField> {
        let (mut first, mut last, mut street) = (Vec::new(), Vec::new(), Vec::new());
        let given = ["anna", "bruno", "clara", "dario", "elena", "fabio", "greta", "hugo"];
        for h in 0..n {
            for k in 0..4 {
                first.push(given[(h + k * 2) % given.len()].to_string());
                let surname = if shared_surname { h } else { h * 4 + k };
                last.push(format!("surname{surname}"));
                street.push(format!("{h} main street"));
            }
        }
        fn s(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        vec![
            field("first_name", Kind::Name, &s(&first)),
            field("last_name", Kind::Name, &s(&last)),
            field("street", Kind::Text, &s(&street)),
        ]
    }

    #[test]
    fn a_family_sharing_its_surname_makes_it_weak_evidence_at_home() {
        let fields = families(20, true);
        let u = vec![vec![0.0, 0.01, 0.01, 0.01, 0.01, 0.96]; 3];
        let home = home_u(&fields, &[false, false, true], 0, &u, 0);
        let last = home[1].as_ref().expect("the surname follows the address");
        assert!(last[1] > 0.9, "household members share the surname: {last:?}");
        assert!(home[0].is_none() && home[2].is_none(), "first name and address are not changed");
    }

    #[test]
    fn surnames_independent_of_the_address_are_left_alone() {
        let fields = families(20, false);
        let u = vec![vec![0.0, 0.01, 0.01, 0.01, 0.01, 0.96]; 3];
        let home = home_u(&fields, &[false, false, true], 0, &u, 0);
        assert!(home.iter().all(Option::is_none));
    }
}
