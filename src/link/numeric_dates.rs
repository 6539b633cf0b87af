//! Dates written as numbers: Unix times in seconds or milliseconds (`1568273820`,
//! `1568273820000`, negative before 1970), as event logs and JSON exports write them (a date
//! exported so is the midnight of one time zone, read back as that day), and spreadsheet
//! serial days (`43720`: days since 1899-12-30, as Excel and LibreOffice count them), as a
//! spreadsheet saved to CSV writes a date cell without its format. Which columns do, and those
//! columns rewritten as ISO dates, for
//! [`compare::normalise_date`](super::compare::normalise_date).
//!
//! It owns only that rewriting. Comparing dates is [`super::compare`]'s; dates written as text
//! need none, or [`super::short_years`]'s; a column's kind is [`super::autoconfig`]'s.

use super::{autoconfig, Records};
use crate::store::{civil_from_days, iso_from_unix};

/// How a column counts its dates.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Count {
    /// Unix seconds of 1900 to 2099: nine or ten digits for 1973 on, eight to ten with a minus
    /// sign before 1970 (a birth date exported by JavaScript or a document store).
    Seconds,
    /// Unix milliseconds of 1900 to 2099: twelve or thirteen digits for 1973 on, eleven to
    /// thirteen with a minus sign before 1970.
    Millis,
    /// Spreadsheet serial days of 1902 to 2099 (four or five digits, maybe a fraction of a
    /// day).
    SerialDays,
}

/// The first Unix second of 2100.
const END_SECONDS: i64 = 4_102_444_800;
/// The Unix second of 1900-01-01 (negative).
const START_SECONDS: i64 = -2_208_988_800;
/// The serial day of 2099-12-31.
const END_SERIAL: u64 = 73_050;
/// Days from 1899-12-30 (serial day 0) to 1970-01-01.
const SERIAL_EPOCH: i64 = 25_569;
/// Seconds in a day.
const DAY: i64 = 86_400;

impl Count {
    /// Seconds per unit, for Unix times.
    fn per_second(self) -> i64 {
        if self == Count::Millis {
            1000
        } else {
            1
        }
    }
}

/// How `v` counts a date, if it is such a number.
fn count_of(v: &str) -> Option<Count> {
    let v = v.trim();
    let (sign, unsigned) = v.strip_prefix('-').map_or((1, v), |u| (-1, u));
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let n = sign * whole.parse::<i64>().ok()?;
    let unix =
        |c: Count| (START_SECONDS * c.per_second()..END_SECONDS * c.per_second()).contains(&n);
    match (sign, whole.len(), fraction.is_empty()) {
        (1, 9 | 10, true) if n >= 100_000_000 && unix(Count::Seconds) => Some(Count::Seconds),
        (1, 12 | 13, true) if n >= 100_000_000_000 && unix(Count::Millis) => Some(Count::Millis),
        (-1, 8..=10, true) if unix(Count::Seconds) => Some(Count::Seconds),
        (-1, 11..=13, true) if unix(Count::Millis) => Some(Count::Millis),
        (1, 4 | 5, _) if (1_000..=END_SERIAL as i64).contains(&n) => Some(Count::SerialDays),
        _ => None,
    }
}

/// The Unix second `v` writes, in a column counting `count` (Seconds or Millis): any integer of
/// 1900 to 2099 that is not a date written as digits, so that a column of Unix times also
/// reads the few values of 1969 to 1973 (`-86400`, `31536000`) that [`count_of`] leaves out.
fn unix_second(v: &str, count: Count) -> Option<i64> {
    if count == Count::SerialDays || autoconfig::is_date(v) {
        return None;
    }
    let n: i64 = v.trim().parse().ok()?;
    let secs = n.div_euclid(count.per_second());
    (START_SECONDS..END_SECONDS).contains(&secs).then_some(secs)
}

/// How a column counts its dates: a tenth at least of its values present are numbers of one
/// [`Count`], and nine in ten are such numbers or dates written as text (two files put together
/// may write them both ways). Serial days need a tenth of them of five digits (1927 on): a
/// column of four-digit numbers is years. Every value is read, not the first thousand.
fn column_count(values: &[Option<String>]) -> Option<Count> {
    let (mut present, mut dates, mut five_digits) = (0usize, 0usize, 0usize);
    let mut counts = [0usize; 3];
    for v in values.iter().flatten() {
        present += 1;
        match count_of(v) {
            Some(c) => {
                counts[c as usize] += 1;
                five_digits += usize::from(c == Count::SerialDays && v.trim().len() >= 5);
            }
            None => dates += usize::from(autoconfig::is_date(v)),
        }
    }
    let serial = counts[Count::SerialDays as usize];
    [Count::Seconds, Count::Millis, Count::SerialDays]
        .into_iter()
        .filter(|&c| c != Count::SerialDays || five_digits * 10 >= serial)
        .find(|&c| {
            let n = counts[c as usize];
            present > 0 && n * 10 >= present && (n + dates) * 10 >= present * 9
        })
}

/// `v`, counted as `count`, as an ISO date (with the UTC time for Unix times).
fn iso(v: &str, count: Count) -> Option<String> {
    if count != Count::SerialDays {
        return unix_second(v, count).map(iso_from_unix);
    }
    let whole: i64 = v.trim().split('.').next()?.parse().ok()?;
    let (y, m, d) = civil_from_days(whole - SERIAL_EPOCH);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Whether Unix times hold dates rather than moments: nine in ten of them at times of day
/// within three hours of each other, and three in four at a whole quarter hour. That is the
/// midnight of one time zone, in winter and in summer and under its past offsets (Paris's dates
/// are 23:00 or 22:00 UTC the day before, or 00:00 and 23:50:39 UTC in older years). Such a
/// column is read as dates rounded to the nearest midnight (noon to its own), so that each
/// keeps its day. Moments, even those of office hours, spread over more of the day or over its
/// minutes.
fn midnights(secs: &[i64]) -> bool {
    let quarters = secs.iter().filter(|s| s.rem_euclid(900) == 0).count();
    if quarters * 4 < secs.len() * 3 {
        return false;
    }
    let mut times: Vec<i64> = secs.iter().map(|s| s.rem_euclid(DAY)).collect();
    times.sort_unstable();
    // The window may wrap past midnight: each time again a day later.
    let n = times.len();
    times.extend_from_within(..);
    times[n..].iter_mut().for_each(|t| *t += DAY);
    let mut end = 0;
    let widest = (0..n)
        .map(|start| {
            while end < times.len() && times[end] - times[start] <= WINDOW {
                end += 1;
            }
            end - start
        })
        .max()
        .unwrap_or(0);
    n > 0 && widest * 10 >= n * 9
}

/// The times of day of Unix times that hold dates ([`midnights`]) are within this many seconds.
const WINDOW: i64 = 3 * 3600;

/// Words of a column's name that say it holds times (besides [`autoconfig::named_as_date`]).
const TIME_WORDS: &[&str] = &["time", "timestamp", "ts", "epoch", "created", "updated"];

/// Rewrites as ISO dates every column of `r` that writes its dates as numbers ([`Count`]) and
/// is named as a date (or as a time, for Unix times), or shares its name with a date column of
/// `other`, and is not named as a code; returns a note per column rewritten. A column of numbers
/// named otherwise (an amount, an id, a postcode) is left alone.
///
/// ```
/// use audience::link::{numeric_dates, Records};
/// let ids = vec!["a".into(), "b".into()];
/// let dates = vec![Some("1568273820".into()), Some("1568360220".into())];
/// let mut r = Records::new("log.csv", ids, vec!["event_date".into()], vec![dates]).unwrap();
/// numeric_dates::rewrite(&mut r, None);
/// assert_eq!(r.columns[0][0].as_deref(), Some("2019-09-12T07:37:00Z"));
/// ```
pub fn rewrite(r: &mut Records, other: Option<&Records>) -> Vec<String> {
    let mut notes = Vec::new();
    for f in 0..r.fields.len() {
        let name = &r.fields[f];
        // Five-digit postcodes are serial days too (`birth_zip`). The cheap tests first.
        let numbers = || r.columns[f].iter().flatten().any(|v| count_of(v).is_some());
        if autoconfig::named_as_code(name) || !numbers() {
            continue;
        }
        let timed = autoconfig::name_words(name).iter().any(|w| TIME_WORDS.contains(&w.as_str()));
        let dated = autoconfig::named_as_date(name)
            || other.is_some_and(|o| super::has_date_column(o, name));
        if !dated && !timed {
            continue;
        }
        let Some(count) = column_count(&r.columns[f]) else { continue };
        // A `time` may be a duration (`time_on_page` in milliseconds: five digits, as serial
        // days); a Unix time is not.
        if count == Count::SerialDays && !dated {
            continue;
        }
        let mut changed = 0usize;
        // Each value's Unix second, read once (none for serial days).
        let secs: Vec<Option<i64>> =
            r.columns[f].iter().map(|v| unix_second(v.as_deref()?, count)).collect();
        let unix: Vec<i64> = secs.iter().flatten().copied().collect();
        // A column named as a time may hold moments of a few hours' activity.
        let dates_at_midnight = count != Count::SerialDays && !timed && midnights(&unix);
        for (v, s) in r.columns[f].iter_mut().zip(secs) {
            let Some(v) = v else { continue };
            let read = match (count, s) {
                (Count::SerialDays, _) => {
                    count_of(v).filter(|&c| c == count).and_then(|c| iso(v, c))
                }
                (_, Some(s)) if dates_at_midnight => {
                    // Noon is the day's own (dates written at 12:00 UTC, to be safe from
                    // time zones); later, the next day's midnight east of UTC.
                    let (y, m, d) = civil_from_days((s + DAY / 2 - 1).div_euclid(DAY));
                    Some(format!("{y:04}-{m:02}-{d:02}"))
                }
                (_, s) => s.map(iso_from_unix),
            };
            if let Some(date) = read {
                *v = date;
                changed += 1;
            }
        }
        let how = match count {
            Count::Seconds if dates_at_midnight => {
                "Unix times in seconds (`1568246400`), each at a midnight: read as dates"
            }
            Count::Millis if dates_at_midnight => {
                "Unix times in milliseconds (`1568246400000`), each at a midnight: read as dates"
            }
            Count::Seconds => "Unix times in seconds (`1568273820`), read as UTC dates",
            Count::Millis => "Unix times in milliseconds (`1568273820000`), read as UTC dates",
            Count::SerialDays => "spreadsheet serial days (`43720`: days since 1899-12-30)",
        };
        notes.push(format!(
            "column `{}` of {} writes {changed} dates as {how}",
            r.fields[f], r.source
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_count_dates() {
        assert_eq!(count_of("1568273820"), Some(Count::Seconds));
        assert_eq!(count_of("1568273820000"), Some(Count::Millis));
        assert_eq!(count_of("43720"), Some(Count::SerialDays));
        assert_eq!(count_of("43720.5"), Some(Count::SerialDays));
        // A date written as digits, a price, a negative number, a number too large: none.
        // Before 1970, negative (a birth date exported by JavaScript).
        assert_eq!(count_of("-133178400"), Some(Count::Seconds));
        assert_eq!(count_of("-133178400000"), Some(Count::Millis));
        assert_eq!(iso("-133178400000", Count::Millis).unwrap(), "1965-10-12T14:00:00Z");
        assert_eq!(iso("31536000", Count::Seconds).unwrap(), "1971-01-01T00:00:00Z");
        for v in ["19651013", "12.50", "-43720", "5000000000", "99999", "999", "-3000000000"] {
            assert_eq!(count_of(v), None, "{v}");
        }
        // Years are four-digit serial days too, but a column of them is years.
        let years: Vec<Option<String>> = (1950..2000).map(|y| Some(y.to_string())).collect();
        assert_eq!(column_count(&years), None);
        let births: Vec<Option<String>> =
            (9_000..11_000).step_by(50).map(|d| Some(d.to_string())).collect();
        assert_eq!(column_count(&births), Some(Count::SerialDays));
        // Two files put together: half the dates as text, half as Unix times.
        let both: Vec<Option<String>> =
            ["2019-09-12", "1568273820"].repeat(10).into_iter().map(|v| Some(v.into())).collect();
        assert_eq!(column_count(&both), Some(Count::Seconds));
        assert_eq!(iso("1568273820", Count::Seconds).unwrap(), "2019-09-12T07:37:00Z");
        assert_eq!(iso("1568273820123", Count::Millis).unwrap(), "2019-09-12T07:37:00Z");
        assert_eq!(iso("43720", Count::SerialDays).unwrap(), "2019-09-12");
        assert_eq!(iso("25569.75", Count::SerialDays).unwrap(), "1970-01-01");
    }

    #[test]
    fn unix_times_at_one_zones_midnights_are_dates() {
        let day = |d: i64| d * DAY;
        // Sydney's midnights, in winter and in summer; Paris's, with an old offset of 23:50:39.
        let sydney: Vec<i64> =
            (0..100).map(|d| day(d) - if d % 3 == 0 { 39_600 } else { 36_000 }).collect();
        assert!(midnights(&sydney));
        let paris: Vec<i64> =
            (0..100).map(|d| day(d) - if d % 8 == 0 { 561 } else { 3600 }).collect();
        assert!(midnights(&paris));
        // Moments: office hours to the second, or whole hours around the clock.
        let office: Vec<i64> = (0..100).map(|d| day(d) + 32_400 + d * 97).collect();
        assert!(!midnights(&office));
        let hourly: Vec<i64> = (0..100).map(|h| h * 3600).collect();
        assert!(!midnights(&hourly));
        // Read as dates: Sydney's midnight is the next day in UTC, noon the day itself.
        let ids: Vec<String> = (0..4).map(|k| k.to_string()).collect();
        let at = |secs: i64| Some((secs * 1000).to_string());
        // 1965-10-13 to 15 at Sydney's midnights; 2019-09-12 to 14 at noon UTC.
        let births =
            vec![at(day(-1541) - 36_000), at(day(-1540) - 39_600), at(day(-1539) - 36_000), None];
        let noons = (18_151..18_154).map(|d| at(day(d) + DAY / 2)).chain([None]).collect();
        let fields = vec!["birth_date".to_string(), "payment_date".into()];
        let mut r = Records::new("app.json.csv", ids, fields, vec![births, noons]).unwrap();
        let notes = rewrite(&mut r, None);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let days = |d: [&str; 3]| d.map(|d| Some(d.to_string()));
        assert_eq!(r.columns[0][..3], days(["1965-10-13", "1965-10-14", "1965-10-15"]));
        assert_eq!(r.columns[1][..3], days(["2019-09-12", "2019-09-13", "2019-09-14"]));
    }

    #[test]
    fn only_columns_named_as_dates_or_sharing_a_date_columns_name_are_rewritten() {
        let ids: Vec<String> = (0..3).map(|k| k.to_string()).collect();
        let serials = vec![Some("43720".to_string()), Some("43721".into()), None];
        let fields = vec!["paid_on".to_string(), "order_total".into(), "birth_zip".into()];
        let columns = vec![serials.clone(), serials.clone(), serials.clone()];
        let mut r = Records::new("sheet.csv", ids.clone(), fields, columns).unwrap();
        assert!(rewrite(&mut r, None).is_empty());
        assert_eq!(r.columns[0], serials);
        // The other file's `paid_on` holds dates: ours are its dates too.
        let theirs = vec![Some("2019-09-12".to_string()), Some("2019-09-13".into()), None];
        let other = Records::new("bank.csv", ids, vec!["paid_on".into()], vec![theirs]).unwrap();
        let notes = rewrite(&mut r, Some(&other));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(r.columns[0][1].as_deref(), Some("2019-09-13"));
        assert_eq!(r.columns[1], serials, "an amount is left alone");
        assert_eq!(r.columns[2], serials, "a postcode is left alone");
        // A time of five digits is a duration; of ten, a Unix time.
        let ids: Vec<String> = (0..2).map(|k| k.to_string()).collect();
        let times = |v: &str| vec![Some(v.to_string()), Some(v.to_string())];
        let fields = vec!["time_on_page".to_string(), "event_time".into()];
        let columns = vec![times("43720"), times("1568273820")];
        let mut r = Records::new("log.csv", ids, fields, columns).unwrap();
        assert_eq!(rewrite(&mut r, None).len(), 1);
        assert_eq!(r.columns[0][0].as_deref(), Some("43720"));
        assert_eq!(r.columns[1][0].as_deref(), Some("2019-09-12T07:37:00Z"));
    }
}
