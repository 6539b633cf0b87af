//! Dates written with two-digit years (`05/03/61`, `61-03-05`, Oracle's `05-MAR-61`): which
//! part of a column's dates is the year, which century each year falls in, and the column
//! rewritten with four-digit years, for [`compare::normalise_date`] to read as dates.
//!
//! It owns only that rewriting. Comparing dates is [`compare`]'s; dates with four-digit years
//! need no rewriting; a column's kind is [`autoconfig`]'s.

use super::{autoconfig, compare, Records};
use crate::hash::FxHashSet;
use crate::normalize::month_from_name;

/// A part of a date: a number of one or two digits, or a month's name.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Part {
    Number(u32),
    Month(u32),
}

/// The three parts of a date written with `-`, `/` or `.` and one- or two-digit numbers (at
/// most one part a month's name), with any time after a space left out.
fn parts(v: &str) -> Option<[Part; 3]> {
    let date = v.split_whitespace().next()?;
    let mut out = [Part::Number(0); 3];
    let mut split = date.split(['-', '/', '.']);
    for slot in &mut out {
        let p = split.next()?;
        *slot = if (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
            Part::Number(p.parse().ok()?)
        } else {
            Part::Month(month_from_name(p)?)
        };
    }
    let months = out.iter().filter(|p| matches!(p, Part::Month(_))).count();
    (split.next().is_none() && months <= 1).then_some(out)
}

/// Where a column's two-digit years are.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    /// In this part (0 or 2).
    Year(usize),
    /// First or last: no part goes over 31 (dates of 2000 to 2031).
    Unclear,
}

/// Which part (first or last) of a column's dates is a two-digit year: nine in ten of its
/// first 1,000 values present are dates, a tenth with a two-digit year as [`parts`] reads them
/// (the others with the year in full); of those, a tenth have a number over 31 in that part and
/// at most one in a hundred in the others. [`Layout::Unclear`] when no part has a number over 31
/// in more than one in a hundred.
fn year_part(values: &[Option<String>]) -> Option<Layout> {
    let (mut present, mut full, mut dates, mut over_31) = (0usize, 0usize, 0usize, [0usize; 3]);
    for v in values.iter().flatten().take(1000) {
        present += 1;
        let Some(p) = parts(v) else {
            full += usize::from(autoconfig::is_date(v));
            continue;
        };
        dates += 1;
        for (k, part) in p.iter().enumerate() {
            over_31[k] += usize::from(matches!(part, Part::Number(n) if *n > 31));
        }
    }
    if dates == 0 || 10 * dates < present || 10 * (dates + full) < 9 * present {
        return None;
    }
    if over_31.iter().all(|&n| 100 * n <= dates) {
        return Some(Layout::Unclear);
    }
    [2, 0]
        .into_iter()
        .find(|&y| 10 * over_31[y] >= dates && (0..3).all(|k| k == y || 100 * over_31[k] <= dates))
        .map(Layout::Year)
}

/// For a column of [`Layout::Unclear`]: the part (0 or 2) read as the year that makes more of
/// its dates (first 5,000) dates of `reference` (with day and month either way round), at least
/// a twentieth of them and twice as many as the other reading.
fn year_by_overlap(
    values: &[Option<String>],
    reference: &[Option<String>],
    years: &[u32; 100],
) -> Option<usize> {
    // A date as its year, then its day and month in either order.
    let key = |v: &str| -> Option<String> {
        let d = compare::normalise_date(v);
        let (a, b) = (d.get(4..6)?, d.get(6..8)?);
        (d.len() == 8).then(|| format!("{}{}{}", &d[..4], a.min(b), a.max(b)))
    };
    let known: FxHashSet<String> = reference.iter().flatten().filter_map(|v| key(v)).collect();
    let short: Vec<&str> = values
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|v| parts(v).is_some())
        .take(5000)
        .collect();
    let hits = |year: usize| {
        let found = short.iter().filter_map(|v| key(&widened(v, year, years)?));
        found.filter(|k| known.contains(k)).count()
    };
    let (last, first) = (hits(2), hits(0));
    let (best, year, other) = if last >= first { (last, 2, first) } else { (first, 0, last) };
    (20 * best >= short.len() && best > 2 * other).then_some(year)
}

/// The four-digit years of the dates among `values` (first 1,000 present).
fn written_years(values: &[Option<String>]) -> Vec<u32> {
    values
        .iter()
        .flatten()
        .take(1000)
        .filter(|v| autoconfig::is_date(v))
        .filter_map(|v| compare::normalise_date(v).get(..4)?.parse().ok())
        .collect()
}

/// For each two-digit year, the year it stands for. With years written in full (`reference`,
/// sorted): the one of 18yy, 19yy and 20yy with the most of them within ten years, ties to the
/// nearest to their median. Without: 20yy up to `last` (the last two digits of a year before
/// which 20yy is read) and 19yy after.
fn centuries(reference: &[u32], last: u32) -> [u32; 100] {
    std::array::from_fn(|yy| {
        let yy = yy as u32;
        let Some(&median) = reference.get(reference.len() / 2) else {
            return if yy > last { 1900 + yy } else { 2000 + yy };
        };
        let near = |y: u32| {
            let lo = reference.partition_point(|&r| r + 10 < y);
            let hi = reference.partition_point(|&r| r <= y + 10);
            hi - lo
        };
        [1800, 1900, 2000]
            .map(|c| c + yy)
            .into_iter()
            .max_by_key(|&y| (near(y), std::cmp::Reverse(y.abs_diff(median))))
            .expect("three centuries")
    })
}

/// The date `v` rewritten with a four-digit year at `year` (0 or 2): `DD/MM/YYYY` when the
/// year is last (day and month as written, a month's name as its number, after the day), or
/// `YYYY-MM-DD` when first; `None` when `v` is not such a date.
fn widened(v: &str, year: usize, years: &[u32; 100]) -> Option<String> {
    let p = parts(v)?;
    let Part::Number(yy) = p[year] else { return None };
    let full = years[yy as usize];
    let (a, b) = if year == 0 { (p[1], p[2]) } else { (p[0], p[1]) };
    let (first, second) = match (a, b) {
        (Part::Number(x), Part::Number(y)) => (x, y),
        (Part::Month(m), Part::Number(d)) | (Part::Number(d), Part::Month(m)) => {
            return Some(format!("{d:02}/{m:02}/{full}"));
        }
        (Part::Month(_), Part::Month(_)) => return None,
    };
    Some(if year == 0 {
        format!("{full}-{first:02}-{second:02}")
    } else {
        format!("{first:02}/{second:02}/{full}")
    })
}

/// Rewrites with four-digit years the columns of `r` that write dates with two-digit years and
/// are named as dates (`date_of_birth`, `dob`), or, in a link, share the name of a date column
/// of `other`. The century of each year is taken from the years written in full in the column
/// itself or in `other`'s column of that name (so `61` is 1961 against birth dates of the 1900s);
/// else a birth date is taken to be in the past, and other dates are read as POSIX `strptime`
/// reads `%y`. Where no part goes over 31 (dates of 2000 to 2031), `other`'s dates tell which
/// part is the year ([`year_by_overlap`]); without `other`, the last. Values that are not such
/// dates are left as written. Returns a note per column.
///
/// ```
/// use audience::link::{short_years::widen, Records};
/// let dob = vec![Some("05/03/61".to_string()), Some("17/11/04".to_string())];
/// let ids = vec!["1".to_string(), "2".to_string()];
/// let mut r = Records::new("a.csv", ids, vec!["dob".to_string()], vec![dob]).unwrap();
/// let notes = widen(&mut r, None);
/// assert_eq!(r.columns[0][0].as_deref(), Some("05/03/1961"));
/// assert_eq!(r.columns[0][1].as_deref(), Some("17/11/2004"));
/// assert_eq!(notes.len(), 1);
/// ```
pub fn widen(r: &mut Records, other: Option<&Records>) -> Vec<String> {
    let mut notes = Vec::new();
    for f in 0..r.fields.len() {
        let Some(layout) = year_part(&r.columns[f]) else { continue };
        let name = &r.fields[f];
        let dated = autoconfig::named_as_date(name)
            || other.is_some_and(|o| super::has_date_column(o, name));
        if !dated {
            continue;
        }
        let their_values = other.and_then(|o| o.column(name)).unwrap_or_default();
        let mut reference = written_years(&r.columns[f]);
        reference.extend(written_years(their_values));
        reference.sort_unstable();
        // Without years in full: a birth date is not in the future; other dates as POSIX
        // `strptime` reads `%y` (20yy before 69).
        let birth = ["birth", "dob", "born", "birthday"];
        let last = if autoconfig::name_words(name).iter().any(|w| birth.contains(&w.as_str())) {
            (crate::normalize::today().0 % 100) as u32
        } else {
            68
        };
        let years = centuries(&reference, last);
        let year = match layout {
            Layout::Year(year) => year,
            // Dates of this century alone: the other file's dates tell which part is the year;
            // in a dedupe, the year is taken to be last, as most such dates write it
            // (`DD/MM/YY`, `MM/DD/YY`).
            Layout::Unclear if other.is_none() => 2,
            Layout::Unclear => {
                let Some(year) = year_by_overlap(&r.columns[f], their_values, &years) else {
                    continue;
                };
                year
            }
        };
        let mut changed = 0usize;
        for v in r.columns[f].iter_mut().flatten() {
            if let Some(w) = widened(v, year, &years) {
                *v = w;
                changed += 1;
            }
        }
        let how = if reference.is_empty() {
            format!("20yy up to 20{last:02} and 19yy after")
        } else {
            format!("the century that puts them among {} years written in full", reference.len())
        };
        notes.push(format!(
            "column `{}` of {} writes {changed} dates with two-digit years ({}), read as {how}",
            r.fields[f],
            r.source,
            match (layout, year) {
                (Layout::Year(0), _) => "year first",
                (Layout::Year(_), _) => "year last",
                (Layout::Unclear, 0) =>
                    "year first, as more of them are then dates of the other file",
                (Layout::Unclear, _) if other.is_none() => {
                    "year last, as most such dates are written: no part goes over 31"
                }
                (Layout::Unclear, _) =>
                    "year last, as more of them are then dates of the other file",
            }
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| (!v.is_empty()).then(|| v.to_string())).collect()
    }

    #[test]
    fn reads_the_parts_of_short_dates() {
        assert_eq!(parts("05/03/61"), Some([Part::Number(5), Part::Number(3), Part::Number(61)]));
        assert_eq!(
            parts("05-MAR-61 00:00:00"),
            Some([Part::Number(5), Part::Month(3), Part::Number(61)])
        );
        assert_eq!(parts("1961-03-05"), None);
        assert_eq!(parts("1.2.3.4"), None);
        assert_eq!(parts("MAR-APR-61"), None);
        assert_eq!(parts("ab/03/61"), None);
    }

    #[test]
    fn the_year_is_the_part_over_31() {
        let last = column(&["05/03/61", "17/11/04", "01/01/99", "", "28/02/45"]);
        assert_eq!(year_part(&last), Some(Layout::Year(2)));
        let first = column(&["61-03-05", "04-11-17", "99-01-01", "45-02-28"]);
        assert_eq!(year_part(&first), Some(Layout::Year(0)));
        // Years of this century alone could be first or last.
        assert_eq!(
            year_part(&column(&["05/03/21", "17/11/04", "01/01/19"])),
            Some(Layout::Unclear)
        );
        // Nor is a part over 31 in too few values the year.
        assert_eq!(
            year_part(&column(&[
                "05/03/21", "17/11/04", "01/01/19", "1/2/45", "3/4/5", "6/7/8", "9/10/11",
                "12/1/2", "3/4/6", "7/8/9", "1/1/1"
            ])),
            None
        );
        // An empty column, or one with every year in full, needs nothing.
        assert_eq!(year_part(&column(&["", ""])), None);
        assert_eq!(year_part(&column(&["05/03/1961", "2004-11-17"])), None);
        // Mostly other values: not a column of dates.
        assert_eq!(year_part(&column(&["05/03/61", "x", "y", "z"])), None);
        // Some years written in full among them.
        let mixed = column(&["05/03/61", "17/11/1904", "01/01/99", "28/02/1945"]);
        assert_eq!(year_part(&mixed), Some(Layout::Year(2)));
    }

    #[test]
    fn the_other_files_dates_tell_where_a_year_of_this_century_is() {
        let years = centuries(&(2015..=2023).collect::<Vec<_>>(), 68);
        let theirs = column(&["2021-03-05", "2019-11-17", "2020-01-02", "2022-12-25"]);
        let last = column(&["05/03/21", "17/11/19", "02/01/20", "24/12/22"]);
        assert_eq!(year_by_overlap(&last, &theirs, &years), Some(2));
        let first = column(&["21-03-05", "19-11-17", "20-01-02", "22-12-24"]);
        assert_eq!(year_by_overlap(&first, &theirs, &years), Some(0));
        // Dates the other file does not have tell nothing.
        let unknown = column(&["05/03/21", "07/11/19", "02/01/20", "24/12/22"]);
        assert_eq!(year_by_overlap(&unknown, &column(&["2001-01-01"]), &years), None);
    }

    #[test]
    fn a_dedupe_reads_dates_of_this_century_year_last() {
        let ids = vec!["1".to_string(), "2".to_string()];
        let dates = column(&["05/03/21", "17/11/19"]);
        let mut r = Records::new("a.csv", ids, vec!["order_date".into()], vec![dates]).unwrap();
        let notes = widen(&mut r, None);
        assert_eq!(r.columns[0], column(&["05/03/2021", "17/11/2019"]));
        assert!(notes[0].contains("year last, as most such dates are written"), "{notes:?}");
    }

    #[test]
    fn centuries_follow_the_years_written_in_full() {
        let births: Vec<u32> = (1900..=1999).collect();
        let years = centuries(&births, 68);
        assert_eq!((years[61], years[5], years[99]), (1961, 1905, 1999));
        let recent: Vec<u32> = (1995..=2025).collect();
        assert_eq!(centuries(&recent, 68)[5], 2005);
        let none = centuries(&[], 68);
        assert_eq!((none[68], none[69]), (2068, 1969));
    }

    #[test]
    fn dates_are_rewritten_with_the_year_in_full() {
        let years = centuries(&(1920..=1999).collect::<Vec<_>>(), 68);
        assert_eq!(widened("5/3/61", 2, &years).as_deref(), Some("05/03/1961"));
        assert_eq!(widened("61-03-05", 0, &years).as_deref(), Some("1961-03-05"));
        assert_eq!(widened("05-MAR-61", 2, &years).as_deref(), Some("05/03/1961"));
        assert_eq!(widened("MAR-05-61", 2, &years).as_deref(), Some("05/03/1961"));
        assert_eq!(widened("1961-03-05", 2, &years), None);
    }
}
