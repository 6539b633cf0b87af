//! Numbers written with a decimal comma (`18,32`, `1.299,00 €`), as European exports write
//! them: which columns do, and those columns rewritten with a decimal point, for
//! [`compare::number_value`](super::compare::number_value) to read (it takes a comma for a
//! thousands separator, as in `$1,299.00`).
//!
//! It owns only that rewriting. Comparing numbers is [`super::compare`]'s; a column's kind is
//! [`super::autoconfig`]'s.

use super::Records;

/// How a value writes a number, if it is one.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Reading {
    /// A decimal comma for certain: `18,32`, `0,5`, `1.299,00`.
    Comma,
    /// A decimal point for certain: `18.32`, `1,299.00`.
    Point,
    /// A number either way, or the same number: `1,299` (thousands or three decimals), `42`.
    Either,
}

/// Whether `whole` is digits in groups of three after the first (of one to three) at `sep`.
fn thousands(whole: &str, sep: char) -> bool {
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(sep);
    let first = groups.next().unwrap_or_default();
    (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
}

/// How `v` writes a number (currency signs and spaces aside), or `None` when it is no number.
fn reading(v: &str) -> Option<Reading> {
    let t: String = v.chars().filter(|c| !"$€£¥ \u{a0}".contains(*c)).collect();
    let t = t.strip_prefix(['-', '+']).unwrap_or(&t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'.') {
        return None;
    }
    let as_decimal = |sep: char| if sep == ',' { Reading::Comma } else { Reading::Point };
    match (t.matches(',').count(), t.matches('.').count()) {
        (0, 0) => Some(Reading::Either),
        // `1,299`, `1.299`, `1,234,567`: thousands (or three decimals).
        _ if thousands(t, ',') || thousands(t, '.') => Some(Reading::Either),
        // `18,32`, `18.32`.
        (1, 0) | (0, 1) => {
            let sep = if t.contains(',') { ',' } else { '.' };
            let (whole, decimals) = t.split_once(sep)?;
            (!whole.is_empty() && !decimals.is_empty()).then(|| as_decimal(sep))
        }
        // `1.299,00`, `1,299.00`: the last separator is the decimal one, once.
        _ => {
            let (sep, other) = if t.rfind(',') > t.rfind('.') { (',', '.') } else { ('.', ',') };
            let (whole, decimals) = t.rsplit_once(sep)?;
            let ok = !whole.contains(sep) && !decimals.is_empty() && thousands(whole, other);
            ok.then(|| as_decimal(sep))
        }
    }
}

/// Which of a column's values to rewrite with a decimal point.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Rewrite {
    /// Every number with a separator: a twentieth at least of the values have a decimal comma
    /// for certain, at most one in a hundred a decimal point, so `1,299` is 1.299 and `1.299`
    /// is 1299.
    All,
    /// Only the numbers with a decimal comma for certain: the column writes both (two files put
    /// together), and `1,299` or `1.299` could be either.
    Certain,
}

/// Which values of a column to rewrite: none unless nine in ten of its values present are
/// numbers, some with a decimal comma for certain ([`Rewrite`]). Every value is read, not the
/// first thousand: two files put together write their numbers apart.
fn decimal_comma(values: &[Option<String>]) -> Option<Rewrite> {
    if !values.iter().flatten().any(|v| v.contains(',')) {
        return None;
    }
    let (mut present, mut numbers, mut comma, mut point) = (0usize, 0usize, 0usize, 0usize);
    for v in values.iter().flatten() {
        present += 1;
        if let Some(r) = reading(v) {
            numbers += 1;
            comma += usize::from(r == Reading::Comma);
            point += usize::from(r == Reading::Point);
        }
    }
    if present == 0 || numbers * 10 < present * 9 || comma == 0 {
        None
    } else if comma * 20 >= present && point * 100 <= present {
        Some(Rewrite::All)
    } else {
        Some(Rewrite::Certain)
    }
}

/// `v` with a decimal point: thousands points left out, the comma turned into a point.
fn with_point(v: &str) -> String {
    v.chars().filter(|&c| c != '.').map(|c| if c == ',' { '.' } else { c }).collect()
}

/// Rewrites with a decimal point the numbers of `r` written with a decimal comma: every number
/// of a column that writes them so, only those that cannot be read otherwise (`18,32`) in a
/// column that mixes both (see [`decimal_comma`]); returns a note per column rewritten.
///
/// ```
/// use audience::link::{decimal_commas, Records};
/// let ids = vec!["a".into(), "b".into(), "c".into()];
/// let amounts = vec![Some("18,32".into()), Some("1.299,00 €".into()), None];
/// let mut r = Records::new("eu.csv", ids, vec!["amount".into()], vec![amounts]).unwrap();
/// let notes = decimal_commas::rewrite(&mut r);
/// assert_eq!(r.columns[0][0].as_deref(), Some("18.32"));
/// assert_eq!(r.columns[0][1].as_deref(), Some("1299.00 €"));
/// assert_eq!(notes.len(), 1);
/// ```
pub fn rewrite(r: &mut Records) -> Vec<String> {
    let mut notes = Vec::new();
    for f in 0..r.fields.len() {
        let Some(which) = decimal_comma(&r.columns[f]) else { continue };
        let mut changed = 0usize;
        for v in r.columns[f].iter_mut().flatten() {
            let rewrite = match (reading(v), which) {
                (Some(Reading::Comma), _) => true,
                (Some(_), Rewrite::All) => v.contains([',', '.']),
                _ => false,
            };
            if rewrite {
                *v = with_point(v);
                changed += 1;
            }
        }
        notes.push(format!(
            "column `{}` of {} writes {changed} numbers with a decimal comma (`18,32`), read as \
             18.32",
            r.fields[f], r.source
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_tell_their_decimal_separator_or_not() {
        for (v, want) in [
            ("18,32", Some(Reading::Comma)),
            ("0,5", Some(Reading::Comma)),
            ("-3,75", Some(Reading::Comma)),
            ("1.299,00", Some(Reading::Comma)),
            ("12.345.678,9 €", Some(Reading::Comma)),
            ("18.32", Some(Reading::Point)),
            ("$1,299.00", Some(Reading::Point)),
            ("1,299", Some(Reading::Either)),
            ("1.299", Some(Reading::Either)),
            ("1,234,567", Some(Reading::Either)),
            ("1.234.567", Some(Reading::Either)),
            ("42", Some(Reading::Either)),
            ("12.03.2021", None),
            ("1,2,3", None),
            ("smith, john", None),
            ("12,", None),
            ("1.2345,6", None),
        ] {
            assert_eq!(reading(v), want, "{v}");
        }
    }

    fn column(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| (!v.is_empty()).then(|| v.to_string())).collect()
    }

    #[test]
    fn a_column_writes_decimal_commas_when_some_values_say_so() {
        let all = Some(Rewrite::All);
        assert_eq!(decimal_comma(&column(&["18,32", "1.299,00", "7", "", "1,299"])), all);
        // Thousands commas only, or decimal points: left as they are.
        assert_eq!(decimal_comma(&column(&["1,299", "12,500", "7"])), None);
        assert_eq!(decimal_comma(&column(&["18.32", "1,299.00", "7"])), None);
        // Text with commas is not a number.
        assert_eq!(decimal_comma(&column(&["smith, john", "doe, jane", "1,5"])), None);
        // Two files' numbers put together: only those that cannot be read otherwise.
        let mut r = Records::new(
            "both.csv",
            (0..4).map(|k| k.to_string()).collect(),
            vec!["amount".into()],
            vec![column(&["18,32", "18.32", "1,299", "1.299,5"])],
        )
        .unwrap();
        assert_eq!(decimal_comma(&r.columns[0]), Some(Rewrite::Certain));
        rewrite(&mut r);
        assert_eq!(r.columns[0], column(&["18.32", "18.32", "1,299", "1299.5"]));
    }

    /// `1234567.89` as `1.234.567,89` (European) or `1,234,567.89` (US).
    fn written(cents: u64, european: bool) -> String {
        let whole = (cents / 100).to_string();
        let mut grouped = String::new();
        for (k, c) in whole.chars().enumerate() {
            if k > 0 && (whole.len() - k).is_multiple_of(3) {
                grouped.push(if european { '.' } else { ',' });
            }
            grouped.push(c);
        }
        format!("{grouped}{}{:02}", if european { ',' } else { '.' }, cents % 100)
    }

    proptest::proptest! {
        #[test]
        fn european_amounts_read_as_the_same_numbers_written_the_us_way(
            cents in proptest::collection::vec(0u64..100_000_000_000, 1..30)
        ) {
            let ids: Vec<String> = (0..cents.len()).map(|k| k.to_string()).collect();
            let column = |european| cents.iter().map(|&c| Some(written(c, european))).collect();
            let mut eu = Records::new("eu.csv", ids, vec!["amount".into()], vec![column(true)])
                .unwrap();
            rewrite(&mut eu);
            let us: Vec<Option<String>> = column(false);
            for (e, u) in eu.columns[0].iter().zip(&us) {
                let read = |v: &Option<String>| super::super::compare::number_value(v.as_deref().unwrap());
                proptest::prop_assert_eq!(read(e), read(u), "{:?} {:?}", e, u);
            }
        }
    }
}
