//! Postcodes written more precisely on one side than on the other: US ZIP+4 (`94105-1234`)
//! against ZIP (`94105`), which a code comparison finds four edits apart. Which columns mix the
//! two, and those columns cut to the ZIP by [`normalize_zip`].
//!
//! It owns only that cutting. Comparing codes is [`super::compare`]'s; a column's kind is
//! [`super::autoconfig`]'s; other countries' postcodes need no cutting.

use super::{autoconfig, Records};
use crate::normalize::normalize_zip;

/// Whether `v` is a ZIP+4: five digits, a dash or nothing, four digits.
fn zip_plus_four(v: &str) -> bool {
    let digits: String = v.trim().chars().filter(|&c| c != '-').collect();
    let dashes = v.trim().len() - digits.len();
    digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) && dashes <= 1
}

/// Whether `v` is a five-digit ZIP.
fn zip(v: &str) -> bool {
    let v = v.trim();
    v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit())
}

/// Share of a column's values present that pass `test`. Every value is read, not the first
/// thousand: a file sorted by state, or two exports put together, may write ZIP+4 in its first
/// thousand rows and ZIPs after.
fn share(values: &[Option<String>], test: fn(&str) -> bool) -> f64 {
    let (passed, present) = values
        .iter()
        .flatten()
        .fold((0usize, 0usize), |(k, n), v| (k + usize::from(test(v)), n + 1));
    passed as f64 / present.max(1) as f64
}

/// Cuts to the ZIP every ZIP+4 of each postcode column of `r` (named so) where a tenth at least
/// of its values are ZIP+4 and a tenth at least of the ZIPs around are five digits only: in the
/// column itself, or in a postcode column of `other`. Where every value has its four digits,
/// they are kept (they tell neighbours apart). Returns a note per column cut.
///
/// ```
/// use audience::link::{postcodes, Records};
/// let ids = vec!["a".into(), "b".into()];
/// let zips = vec![Some("94105-1234".into()), Some("02134".into())];
/// let mut r = Records::new("crm.csv", ids, vec!["zip".into()], vec![zips]).unwrap();
/// postcodes::cut_zip_plus_four(&mut r, None);
/// assert_eq!(r.columns[0][0].as_deref(), Some("94105"));
/// ```
pub fn cut_zip_plus_four(r: &mut Records, other: Option<&Records>) -> Vec<String> {
    let theirs_short = other.is_some_and(|o| {
        (0..o.fields.len()).any(|c| {
            autoconfig::named_as_postcode(&o.fields[c]) && share(&o.columns[c], zip) >= 0.1
        })
    });
    let mut notes = Vec::new();
    for f in 0..r.fields.len() {
        if !autoconfig::named_as_postcode(&r.fields[f]) {
            continue;
        }
        let (long, short) = (share(&r.columns[f], zip_plus_four), share(&r.columns[f], zip));
        if long < 0.1 || (short < 0.1 && !theirs_short) {
            continue;
        }
        let mut cut = 0usize;
        for v in r.columns[f].iter_mut().flatten() {
            if zip_plus_four(v) {
                if let Ok(z) = normalize_zip(v, Some("US")) {
                    *v = z;
                    cut += 1;
                }
            }
        }
        notes.push(format!(
            "column `{}` of {} writes {cut} ZIP+4 codes (`94105-1234`), compared as their ZIP: \
             ZIP codes are written without the four digits too",
            r.fields[f], r.source
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(name: &str, zips: &[&str]) -> Records {
        let ids = (0..zips.len()).map(|k| k.to_string()).collect();
        let column = zips.iter().map(|z| Some(z.to_string())).collect();
        Records::new(name, ids, vec!["zip_code".into()], vec![column]).unwrap()
    }

    #[test]
    fn zip_plus_four_is_cut_only_where_zips_are_written_without_it() {
        assert!(zip_plus_four("94105-1234") && zip_plus_four("941051234"));
        assert!(
            !zip_plus_four("94105") && !zip_plus_four("12345-678") && !zip_plus_four("9410-51234-")
        );
        // Both files write ZIP+4: the four digits stay.
        let mut left = records("l.csv", &["94105-1234", "02134-0001"]);
        let right = records("r.csv", &["94105-1234", "10001-0001"]);
        assert!(cut_zip_plus_four(&mut left, Some(&right)).is_empty());
        assert_eq!(left.columns[0][0].as_deref(), Some("94105-1234"));
        // The other file writes ZIPs: ours are cut.
        let right = records("r.csv", &["94105", "10001"]);
        assert_eq!(cut_zip_plus_four(&mut left, Some(&right)).len(), 1);
        assert_eq!(left.columns[0][0].as_deref(), Some("94105"));
        // A Brazilian CEP (`12345-678`) is no ZIP+4.
        let mut cep = records("br.csv", &["12345-678", "01310-100"]);
        assert!(cut_zip_plus_four(&mut cep, Some(&right)).is_empty());
        // A thousand ZIP+4 first, ZIPs after (two exports put together): cut, alone too.
        let mixed: Vec<&str> = [["94105-1234"; 1000].as_slice(), &["10001"; 200]].concat();
        let mut appended = records("crm.csv", &mixed);
        assert_eq!(cut_zip_plus_four(&mut appended, None).len(), 1);
        assert_eq!(appended.columns[0][999].as_deref(), Some("94105"));
    }
}
