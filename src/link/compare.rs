//! Comparison levels: how two values of one field are compared.
//!
//! Owns the comparison [`Kind`]s, the normalisation of raw values for each kind, the interning of
//! normalised values into a per-field dictionary ([`PreparedField`]), the function that puts
//! a pair of values into a level ([`Kind::level`]), and the comparison of two records field by
//! field ([`Comparer`]).
//!
//! Levels are small integers. Level [`MISSING`] (0) means one side is missing: it is neutral (no
//! evidence either way) and is left out of the Fellegi-Sunter product. Level [`EXACT`] (1) is an
//! exact match of the normalised values; then come the partial levels of the kind, best first; the
//! last level is "different". Every level has a name shown by `--explain`.
//!
//! It does not own the weights (see [`super::fellegi_sunter`]) nor the choice of kind for a
//! column (see [`super::autoconfig`]).

use std::cell::RefCell;
use std::fmt;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::moved_values::Seams;
use super::nicknames;
use crate::hash::FxHashMap;

/// Level of a pair where one side (or both) is missing: neutral.
pub const MISSING: u8 = 0;
/// Level of an exact match of the normalised values.
pub const EXACT: u8 = 1;

/// How a field is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Exact or different (categories: state, gender, country).
    Exact,
    /// Person or organisation names: exact, Jaro-Winkler ≥ 0.92, ≥ 0.88, ≥ 0.70, different.
    Name,
    /// Free text and addresses: exact, a rare code shared, a rare word shared (see
    /// [`RARE_HOLDERS`]), Jaro-Winkler ≥ 0.92, ≥ 0.80 or half the words shared, different.
    Text,
    /// Codes and identifiers (postcodes, social security numbers, phones): exact,
    /// Damerau-Levenshtein ≤ 1, ≤ 2, different. Spaces and punctuation are ignored.
    Code,
    /// Dates: exact, one digit off (or two adjacent digits transposed), day and month swapped,
    /// within a week (a transaction booked a few days later), same year and month, within a
    /// year, same day and month in another year, different.
    Date,
    /// Numbers: exact, within 1 %, within 10 %, different.
    Number,
    /// Not compared.
    Ignore,
}

/// A number written with a currency sign, thousands separators or as a percentage (`$1,299.00`,
/// `£ 45`, `12 500`, `5.2 %`: 5.2).
///
/// ```
/// use audience::link::compare::number_value;
/// assert_eq!(number_value("$1,299.00"), Some(1299.0));
/// assert_eq!(number_value("5.20 %"), number_value("5.2%"));
/// assert_eq!(number_value("5 % 2"), None);
/// ```
pub fn number_value(raw: &str) -> Option<f64> {
    let t = raw.trim();
    let t = t.strip_suffix('%').unwrap_or(t);
    let t: String = t.chars().filter(|c| !"$€£¥,_ ".contains(*c)).collect();
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

impl Kind {
    /// All kinds, in the order they are documented.
    pub const ALL: [Kind; 7] =
        [Kind::Exact, Kind::Name, Kind::Text, Kind::Code, Kind::Date, Kind::Number, Kind::Ignore];

    /// The kind's name as written in `--compare COL:KIND` and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::Name => "name",
            Kind::Text => "text",
            Kind::Code => "code",
            Kind::Date => "date",
            Kind::Number => "number",
            Kind::Ignore => "ignore",
        }
    }

    /// Parses a kind name (also accepts a few aliases: `postcode`, `zip`, `id`, `address`,
    /// `category`).
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "exact" | "category" | "categorical" => Kind::Exact,
            "name" => Kind::Name,
            "text" | "address" => Kind::Text,
            "code" | "id" | "postcode" | "zip" => Kind::Code,
            "date" => Kind::Date,
            "number" | "numeric" => Kind::Number,
            "ignore" | "none" | "skip" => Kind::Ignore,
            _ => return None,
        })
    }

    /// The names of the levels, index = level number (index 0 is the missing level).
    pub fn level_names(self) -> &'static [&'static str] {
        match self {
            Kind::Exact => &["missing", "exact", "different"],
            Kind::Name => {
                &["missing", "exact", "jw>=0.92", "jw>=0.88", "jw>=0.70|words>=0.5", "different"]
            }
            Kind::Text => &[
                "missing",
                "exact",
                "a rare code shared",
                "a rare word shared",
                "jw>=0.92|all words held (long: words>=0.9)",
                "jw>=0.80|words>=0.5",
                "different",
            ],
            Kind::Code => &["missing", "exact", "dl<=1", "dl<=2", "different"],
            Kind::Date => &[
                "missing",
                "exact",
                "one digit off",
                "day/month swapped",
                "within a week",
                "same month",
                "within a year",
                "same day and month",
                "different",
            ],
            Kind::Number => &["missing", "exact", "within 1%", "within 10%", "different"],
            Kind::Ignore => &["missing"],
        }
    }

    /// Number of levels including the missing level.
    pub fn levels(self) -> usize {
        self.level_names().len()
    }

    /// Normalises a raw value for this kind; `None` when nothing is left or the value is a
    /// placeholder for a missing one ([`PLACEHOLDERS`]): both are treated as missing.
    pub fn normalise(self, raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        if PLACEHOLDERS.iter().any(|p| trimmed.eq_ignore_ascii_case(p)) {
            return None;
        }
        let s = match self {
            Kind::Ignore => return None,
            Kind::Code => {
                let code: String = fold(raw).chars().filter(|c| c.is_alphanumeric()).collect();
                // A code of digits only, without its leading zeros: `007` and `7` are one track
                // number, `01234` and `1234` one postcode after a spreadsheet has read it.
                match code.trim_start_matches('0') {
                    t if code.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() => t.to_string(),
                    _ => code,
                }
            }
            Kind::Date => normalise_date(raw),
            Kind::Number => number_value(raw)?.to_string(),
            Kind::Exact | Kind::Name | Kind::Text => words(raw),
        };
        (!s.is_empty()).then_some(s)
    }

    /// The level of two normalised, non-missing values (exact equality is detected by the
    /// caller through the dictionary ids, or here).
    pub fn level(self, a: &str, b: &str) -> u8 {
        if a == b {
            return EXACT;
        }
        self.level_distinct(a, b)
    }

    /// The level of two normalised, non-missing values known to differ (interned values with
    /// different ids): [`Kind::level`] without the equality test.
    pub fn level_distinct(self, a: &str, b: &str) -> u8 {
        match self {
            Kind::Ignore => MISSING,
            Kind::Exact => 2,
            Kind::Name | Kind::Text if a.len().max(b.len()) > LONG_TEXT => {
                // A description: Jaro-Winkler would cost the product of the lengths and mean
                // little; the share of words shared stands for it.
                let o = word_set_overlap(a, b);
                self.jw_level(if o >= 0.9 { 1.0 } else { 0.0 }, || (o, 0))
            }
            Kind::Text if other_numbers(a.as_bytes(), b.as_bytes()) => TEXT_DIFFERENT,
            Kind::Name | Kind::Text => {
                let jw = self.words_in_any_order(
                    jaro_winkler(a, b),
                    a.as_bytes(),
                    b.as_bytes(),
                    |x, y| jaro_winkler(as_str(x), as_str(y)),
                );
                let level = self.jw_level(jw, || word_overlap(a, b));
                if self == Kind::Name && level > 2 && nicknames::alike(a, b) {
                    2
                } else {
                    level
                }
            }
            Kind::Code if renumbered(a.as_bytes(), b.as_bytes()) => 4,
            Kind::Code => edit_level(bounded_dl(a, b, 2)),
            Kind::Date => {
                if bounded_dl(a, b, 1) <= 1 {
                    2
                } else {
                    self.level_distinct_date(a.as_bytes(), b.as_bytes())
                }
            }
            Kind::Number => {
                let (x, y) = (a.parse::<f64>().unwrap_or(f64::NAN), b.parse().unwrap_or(f64::NAN));
                let rel = (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE);
                if rel <= 0.01 {
                    2
                } else if rel <= 0.10 {
                    3
                } else {
                    4
                }
            }
        }
    }
}

/// Whole values that stand for a missing one (compared ignoring case and surrounding spaces), as
/// exports from databases, pandas and R write them: a `null` year is no year, not a year that
/// differs. `NA`, `unknown` and `unk` are not among them: a surname, a country code, or a
/// category of its own (a voter file's `unk` sex agreeing is evidence). Values of punctuation
/// only (`--`, `?`) normalise to nothing anyway.
pub const PLACEHOLDERS: [&str; 6] = ["null", "nan", "none", "n/a", "#n/a", "<na>"];

/// Two codes with the same letters in the same order (at least three) and other digits: a
/// name-based email or user id and its namesake's (`karl.rossi158` / `karl.rossi174`). They are
/// different codes, not one code with a typo, whatever their edit distance. Codes of digits
/// (phones, national ids) or with a letter or two (`C118908148`) keep their edit levels.
fn renumbered(a: &[u8], b: &[u8]) -> bool {
    fn letters(s: &[u8]) -> impl Iterator<Item = u8> + '_ {
        s.iter().copied().filter(|c| !c.is_ascii_digit())
    }
    a != b && letters(a).filter(u8::is_ascii_alphabetic).count() >= 3 && letters(a).eq(letters(b))
}

/// Two texts that both hold numbers and share none: `109 boulevard voltaire` and `22 boulevard
/// voltaire` are two addresses of one street (neighbours, or namesakes of one town), `flat 68`
/// and `flat 86` two flats, `iphone 12` and `iphone 13` two products. Their words say one place
/// or one product line, their numbers that it is another; whatever their similarity or the
/// rare words they share, they differ. Not for descriptions (over [`LONG_TEXT`] bytes), whose
/// numbers are many and incidental. Two numbers one space apart are also read as one, since
/// thousands are written with a separator or without (`950 000` / `950000`, `059 03871` /
/// `05903871`).
fn other_numbers(a: &[u8], b: &[u8]) -> bool {
    numbers_differ(&number_hashes(a), &number_hashes(b))
}

/// [`other_numbers`] of two values from their [`number_hashes`]: both have numbers, none shared.
fn numbers_differ(x: &[u64], y: &[u64]) -> bool {
    !x.is_empty() && !y.is_empty() && largest_shared(x, y).is_none()
}

/// The numbers of a text (runs of digits), and each two one space apart written as one, as
/// sorted hashes, each once: the numbers [`other_numbers`] compares.
fn number_hashes(s: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut previous: Option<(usize, usize)> = None;
    let mut i = 0;
    while let Some(k) = s[i..].iter().position(u8::is_ascii_digit) {
        let start = i + k;
        let end = start + s[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        out.push(fnv(&s[start..end]));
        if let Some((p, e)) = previous.filter(|&(_, e)| e + 1 == start && s[e] == b' ') {
            out.push(fnv(&[&s[p..e], &s[start..end]].concat()));
        }
        previous = Some((start, end));
        i = end;
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The level of two different codes `d` edits apart.
fn edit_level(d: usize) -> u8 {
    match d {
        1 => 2,
        2 => 3,
        _ => 4,
    }
}

/// Most words of a name compared word by word ([`words_matched`]).
const MAX_NAME_WORDS: usize = 6;

/// Whether every word of the value with fewer words (two or more, at most [`MAX_NAME_WORDS`])
/// finds a word of its own in the other that is near-identical (`similarity` at least 0.92), in
/// any order: `cook oliver` / `oliver cook`, `oliver cok` / `cook oliver`. Words are the
/// normalised value's parts between spaces; each word takes the most similar free word of the
/// other, an equal one first.
fn words_matched(a: &[u8], b: &[u8], similarity: impl Fn(&[u8], &[u8]) -> f64) -> bool {
    if !(a.contains(&b' ') && b.contains(&b' ')) {
        return false;
    }
    fn split(v: &[u8]) -> Option<([&[u8]; MAX_NAME_WORDS], usize)> {
        let mut out: [&[u8]; MAX_NAME_WORDS] = [&[]; MAX_NAME_WORDS];
        let mut n = 0;
        for w in v.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
            *out.get_mut(n)? = w;
            n += 1;
        }
        Some((out, n))
    }
    let (Some((wa, na)), Some((wb, nb))) = (split(a), split(b)) else {
        return false;
    };
    let (short, long) = if na <= nb { (&wa[..na], &wb[..nb]) } else { (&wb[..nb], &wa[..na]) };
    let mut used = 0u32;
    short.iter().all(|w| {
        let best = (0..long.len())
            .filter(|&k| used & 1 << k == 0)
            .map(|k| (k, if long[k] == *w { 1.0 } else { similarity(w, long[k]) }))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        match best {
            Some((k, s)) if s >= 0.92 => {
                used |= 1 << k;
                true
            }
            _ => false,
        }
    })
}

/// A part of a UTF-8 value cut at spaces, as text.
fn as_str(v: &[u8]) -> &str {
    std::str::from_utf8(v).expect("a value cut at ASCII spaces stays UTF-8")
}

/// The lowest Jaro-Winkler band of [`Kind::Name`].
const NAME_FLOOR: f64 = 0.70;
/// The lowest Jaro-Winkler band of [`Kind::Text`].
const TEXT_FLOOR: f64 = 0.80;

impl Kind {
    /// The level of two different values of a Jaro-Winkler kind ([`Kind::Name`], [`Kind::Text`])
    /// of similarity `jw` (any value below the kind's lowest band, [`NAME_FLOOR`] or
    /// [`TEXT_FLOOR`], gives the same level); `overlap` gives their word overlap and the number
    /// of words of the shorter value, asked only when the level depends on it.
    ///
    /// A text whose words (two or more) are all in the other is as close as a near-identical
    /// spelling: `hoyle board games` in `encore 10027 hoyle board games win 98 me`, a title
    /// within a catalogue line, a street without its flat. A single word is not (`oconee` in
    /// `6041 2 oconee`).
    fn jw_level(self, jw: f64, overlap: impl FnOnce() -> (f64, usize)) -> u8 {
        if jw >= 0.92 {
            if self == Kind::Name {
                2
            } else {
                TEXT_CLOSE
            }
        } else if self == Kind::Name {
            if jw >= 0.88 {
                3
            } else if jw >= NAME_FLOOR || overlap().0 >= 0.5 {
                4
            } else {
                5
            }
        } else {
            let (o, words) = overlap();
            if o >= 1.0 && words >= 2 {
                TEXT_CLOSE
            } else if jw >= TEXT_FLOOR || o >= 0.5 {
                TEXT_ALIKE
            } else {
                TEXT_DIFFERENT
            }
        }
    }

    /// [`Kind::level_distinct`] of two different ASCII values shorter than 64 bytes: the same
    /// level, on the allocation-free paths without re-checking the values. The Jaro-Winkler
    /// kinds read the values' `bags`, which skip the similarity when they rule the bands out,
    /// and their [`word_counts`] (`words`), which give the word overlap without splitting the
    /// values again; codes read their bags ([`LetterBag::code`]), which skip the edit distance
    /// when they rule two edits out. Kinds without a fast path return `None`.
    fn level_fast(
        self,
        x: &[u8],
        y: &[u8],
        (ba, bb): (&LetterBag, &LetterBag),
        (wa, wb): (&[WordCount], &[WordCount]),
    ) -> Option<u8> {
        Some(match self {
            Kind::Name | Kind::Text => {
                let jw = self.banded_similarity(x, y, (ba, bb), || jaro_winkler_ascii(x, y));
                // (A value of one word has a single word counted once: no need to look for spaces.)
                let several =
                    |w: &[WordCount]| w.len() > 1 || w.first().is_some_and(|w| w.count > 1);
                let jw = if several(wa) && several(wb) {
                    self.words_in_any_order(jw, x, y, jaro_winkler_ascii)
                } else {
                    jw
                };
                self.jw_level(jw, || WordMerge::new(wa, wb).overlap(x.len() <= y.len()))
            }
            Kind::Code => {
                if x.len().abs_diff(y.len()) > 2
                    || ba.edits_above_two(bb, x.len(), y.len())
                    || renumbered(x, y)
                {
                    return Some(4);
                }
                edit_level(osa_bit_parallel(x, y))
            }
            Kind::Date => {
                // One edit apart: of two values of one length, at most two bytes differ (a
                // substitution, or two neighbours swapped), which rules most pairs out cheaply.
                let near = match x.len().abs_diff(y.len()) {
                    0 => x.iter().zip(y).filter(|(p, q)| p != q).count() <= 2,
                    1 => true,
                    _ => false,
                };
                if near && osa_bit_parallel(x, y) <= 1 {
                    2
                } else {
                    self.level_distinct_date(x, y)
                }
            }
            _ => return None,
        })
    }

    /// The levels of two dates more than one edit apart.
    fn level_distinct_date(self, ab: &[u8], bb: &[u8]) -> u8 {
        if ab.len() == 8 && bb.len() == 8 {
            if ab[..4] == bb[..4] && ab[4..6] == bb[6..8] && ab[6..8] == bb[4..6] {
                return 3;
            }
            // The year written wrong (more than one digit of it): the day and month still
            // say one birthday in 365.
            if ab[4..8] == bb[4..8] {
                return 7;
            }
            // Years two or more apart are more than 366 days apart, whatever the days: most
            // pairs of birth dates, without reading their days.
            let year = |d: &[u8]| {
                d[..4].iter().try_fold(0u32, |n, &c| {
                    c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
                })
            };
            if year(ab).zip(year(bb)).is_some_and(|(x, y)| x.abs_diff(y) >= 2) {
                return 8;
            }
            let apart = day_number(ab).zip(day_number(bb)).map(|(x, y)| x.abs_diff(y));
            if apart.is_some_and(|d| d <= 7) {
                4
            } else if ab[..6] == bb[..6] {
                5
            } else if apart.is_some_and(|d| d <= 366) {
                6
            } else {
                8
            }
        } else {
            8
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lowercase, accents removed (NFKD without combining marks).
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        // ASCII has no decomposition: lowercasing is all there is to do.
        return s.to_ascii_lowercase();
    }
    s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Folded, punctuation turned into spaces, runs of spaces collapsed.
pub fn words(s: &str) -> String {
    if s.is_ascii() {
        // The same in one pass: ASCII letters and digits are the alphanumeric ASCII characters.
        let mut out = String::with_capacity(s.len());
        for w in s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(w.bytes().map(|b| b.to_ascii_lowercase() as char));
        }
        return out;
    }
    let folded: String =
        fold(s).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A date as `YYYYMMDD` when it can be read as one (`YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD`,
/// `DD/MM/YYYY`, `DD.MM.YYYY`, a month's name with a day and a four-digit year as in
/// `05-Mar-1961` or `March 5, 1961`, optionally followed by a time); otherwise its digits.
pub fn normalise_date(raw: &str) -> String {
    let raw = raw.trim();
    if raw.bytes().any(|b| b.is_ascii_alphabetic()) {
        if let Some((y, m, d)) = crate::normalize::named_month_date(raw) {
            return format!("{y:04}{m:02}{d:02}");
        }
    }
    let date_part = raw.split(['T', ' ']).next().unwrap_or(raw);
    let parts: Vec<&str> = date_part.split(['-', '/', '.']).filter(|p| !p.is_empty()).collect();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 3 && parts.iter().all(|p| digits(p)) {
        let (y, m, d) = if parts[0].len() == 4 {
            (parts[0], parts[1], parts[2])
        } else if parts[2].len() == 4 {
            (parts[2], parts[1], parts[0])
        } else {
            return parts.concat();
        };
        if m.len() <= 2 && d.len() <= 2 {
            return format!("{y}{m:0>2}{d:0>2}");
        }
    }
    date_part.chars().filter(char::is_ascii_digit).collect()
}

/// Days since 0000-03-01 of a `YYYYMMDD` date (Howard Hinnant's days-from-civil), or `None`
/// when it is not a calendar date.
fn day_number(d: &[u8]) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        d[r].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (y, m, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    Some(era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy)
}

/// Share of the words of the shorter value found in the other, and the number of its words.
/// Numbers are left out (unless the shorter value has nothing else): [`other_numbers`] weighs
/// them, and a shared track or catalogue number (`007 high wave` / `007 accident`) is not half
/// of one title.
fn word_overlap(a: &str, b: &str) -> (f64, usize) {
    word_overlap_bytes(a.as_bytes(), b.as_bytes())
}

/// Whether dates normalised by [`normalise_date`] read their day and month the wrong way round:
/// at least 5% of them have a month over 12 and a day that could be one, and at most a twentieth
/// as many a day over 12 with a valid month (typos: a month-first `MM/DD/YYYY` column, which is
/// read day first).
fn month_first(normalised: &[Option<String>]) -> bool {
    let (mut dates, mut swapped, mut day_first) = (0usize, 0usize, 0usize);
    for d in normalised.iter().flatten().filter(|d| d.len() == 8 && d.is_ascii()) {
        let (Ok(m), Ok(day)) = (d[4..6].parse::<u8>(), d[6..8].parse::<u8>()) else {
            continue;
        };
        dates += 1;
        swapped += usize::from(m > 12 && (1..=12).contains(&day));
        day_first += usize::from((1..=12).contains(&m) && day > 12);
    }
    swapped > 0 && swapped * 20 >= dates && day_first * 20 <= swapped
}

/// A column's dates as [`normalise_date`] reads them (`None` where missing), turned back where
/// the column writes them month first ([`month_first`]).
pub fn normalise_dates(values: &[Option<String>]) -> Vec<Option<String>> {
    let mut dates: Vec<Option<String>> =
        values.iter().map(|v| v.as_deref().and_then(|v| Kind::Date.normalise(v))).collect();
    if month_first(&dates) {
        dates.iter_mut().flatten().for_each(swap_day_month);
    }
    dates
}

/// `YYYYMMDD` from `YYYYDDMM`, in place (other values unchanged).
fn swap_day_month(s: &mut String) {
    if s.len() == 8 && s.is_ascii() {
        *s = format!("{}{}{}", &s[..4], &s[6..8], &s[4..6]);
    }
}

/// Values longer than this (in bytes) are compared by their words only ([`word_set_overlap`]).
pub const LONG_TEXT: usize = 200;

/// The share of the distinct words of the value with fewer that the other has too.
fn word_set_overlap(a: &str, b: &str) -> f64 {
    fn set(s: &str) -> Vec<&str> {
        let mut w: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
        w.sort_unstable();
        w.dedup();
        w
    }
    let (x, y) = (set(a), set(b));
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    if short.is_empty() {
        return 0.0;
    }
    let shared = short.iter().filter(|w| long.binary_search(w).is_ok()).count();
    shared as f64 / short.len() as f64
}

/// A word of digits only.
fn is_number(w: &[u8]) -> bool {
    !w.is_empty() && w.iter().all(u8::is_ascii_digit)
}

/// [`word_overlap`] on the bytes of the values.
fn word_overlap_bytes(a: &[u8], b: &[u8]) -> (f64, usize) {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if !long.contains(&b' ') && !short.contains(&b' ') {
        // Two single words (most names): the overlap is their equality.
        return (if short == long { 1.0 } else { 0.0 }, 1);
    }
    let mut n = 0;
    let mut hit = 0;
    let only_numbers = short.split(|&c| c == b' ').all(is_number);
    for w in short.split(|&c| c == b' ').filter(|w| only_numbers || !is_number(w)) {
        n += 1;
        if long.split(|&c| c == b' ').any(|x| x == w) {
            hit += 1;
        }
    }
    (if n == 0 { 0.0 } else { hit as f64 / n as f64 }, n)
}

/// Longest ASCII value compared on the allocation-free paths (one bit per position in a `u64`).
const FAST_LEN: usize = 64;

/// Damerau-Levenshtein distance (optimal string alignment: adjacent transpositions count one
/// edit), capped at `max + 1`. ASCII values shorter than 64 bytes are compared bit-parallel
/// (Hyyrö 2003: one machine word holds a whole column of the matrix, so the cost is one step per
/// byte of `b`); longer ASCII values (SHA-256 digests) are first bounded by their byte counts
/// and stripped of their common prefix and suffix; the rest go through `strsim`.
pub fn bounded_dl(a: &str, b: &str, max: usize) -> usize {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    let ascii = a.is_ascii() && b.is_ascii();
    if ascii && (x.len() >= FAST_LEN || y.len() >= FAST_LEN) {
        // Each edit changes at most two byte counts by one (a transposition none).
        let mut counts = [0i32; 128];
        x.iter().for_each(|&c| counts[c as usize] += 1);
        y.iter().for_each(|&c| counts[c as usize] -= 1);
        let apart: i32 = counts.iter().map(|c| c.abs()).sum();
        if apart as usize > 2 * max {
            return max + 1;
        }
        let prefix = x.iter().zip(y).take_while(|(p, q)| p == q).count();
        (x, y) = (&x[prefix..], &y[prefix..]);
        let suffix = x.iter().rev().zip(y.iter().rev()).take_while(|(p, q)| p == q).count();
        (x, y) = (&x[..x.len() - suffix], &y[..y.len() - suffix]);
    }
    if !(ascii && x.len() < FAST_LEN && y.len() < FAST_LEN) {
        // Cut only where ASCII: still UTF-8.
        let (a, b) = (as_str(x), as_str(y));
        let (la, lb) = (a.chars().count(), b.chars().count());
        if la.abs_diff(lb) > max {
            return max + 1;
        }
        return strsim::osa_distance(a, b).min(max + 1);
    }
    if x.len().abs_diff(y.len()) > max {
        return max + 1;
    }
    osa_bit_parallel(x, y).min(max + 1)
}

thread_local! {
    /// Per ASCII byte, a bit mask of its positions in a value; all zero between uses.
    static MASKS: RefCell<[u64; 128]> = const { RefCell::new([0; 128]) };
}

/// Calls `f` with the positions of each byte of `v` (ASCII, at most 64 bytes) as bit masks.
/// The table is kept per thread and cleared after use, byte by byte, which is cheaper than
/// zeroing a fresh 1 KiB table per comparison.
fn with_masks<R>(v: &[u8], f: impl FnOnce(&[u64; 128]) -> R) -> R {
    MASKS.with(|m| {
        let mut pm = m.borrow_mut();
        for (i, &c) in v.iter().enumerate() {
            pm[c as usize] |= 1 << i;
        }
        let out = f(&pm);
        for &c in v {
            pm[c as usize] = 0;
        }
        out
    })
}

/// Optimal string alignment distance of two ASCII values, `x` shorter than 64 bytes, after
/// Hyyrö, "A bit-vector algorithm for computing Levenshtein and Damerau edit distances" (2003).
fn osa_bit_parallel(x: &[u8], y: &[u8]) -> usize {
    if x.is_empty() {
        return y.len();
    }
    with_masks(x, |pm| {
        let last = 1u64 << (x.len() - 1);
        let (mut vp, mut vn, mut d0, mut pm_old) = (u64::MAX, 0u64, 0u64, 0u64);
        let mut dist = x.len();
        for &c in y {
            let pm_j = pm[c as usize];
            let tr = (((!d0) & pm_j) << 1) & pm_old;
            d0 = ((((pm_j & vp).wrapping_add(vp)) ^ vp) | pm_j | vn) | tr;
            let mut hp = vn | !(d0 | vp);
            let mut hn = d0 & vp;
            if hp & last != 0 {
                dist += 1;
            } else if hn & last != 0 {
                dist -= 1;
            }
            hp = (hp << 1) | 1;
            hn <<= 1;
            vp = hn | !(d0 | hp);
            vn = hp & d0;
            pm_old = pm_j;
        }
        dist
    })
}

/// How many times each byte class occurs in a value (letters one class each, the space one,
/// digits folded four ways, the rest one): a cheap signature bounding the Jaro-Winkler matches
/// of two values from above. Folding classes only loosens the bound, never breaks it.
/// Values that are not ASCII or longer than [`LONG_TEXT`] bytes get no bag (class 31 holds
/// [`NO_BAG`]); up to that length every count fits in a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LetterBag([u8; 32]);

/// Marker of a value without a usable bag.
const NO_BAG: u8 = u8::MAX;

impl LetterBag {
    /// The bag of `v`.
    pub fn new(v: &str) -> Self {
        Self::of(v, |b| match b {
            b'a'..=b'z' => b - b'a',
            b' ' => 26,
            b'0'..=b'9' => 27 + (b - b'0') % 4,
            _ => 31,
        })
    }

    /// The bag of a code (`v` as [`Kind::Code`] normalises it): each digit a class of its own,
    /// letters folded onto 21 classes, the rest one. Only [`LetterBag::edits_above_two`] reads
    /// it.
    pub fn code(v: &str) -> Self {
        Self::of(v, |b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => 10 + (b - b'a') % 21,
            _ => 31,
        })
    }

    /// The counts of `v`'s bytes per `class` (0 to 31; 31 for the rest), or no bag.
    fn of(v: &str, class: impl Fn(u8) -> u8) -> Self {
        let mut h = [0u8; 32];
        if !v.is_ascii() || v.len() > LONG_TEXT {
            h[31] = NO_BAG;
            return LetterBag(h);
        }
        for b in v.bytes() {
            h[class(b) as usize] += 1;
        }
        LetterBag(h)
    }

    /// Whether two codes of `la` and `lb` bytes with these [`LetterBag::code`] bags are surely
    /// more than two edits apart: a substitution changes the counts by two, an insertion or a
    /// deletion by one and a transposition not at all, so the edits are at least half the counts'
    /// difference (folded classes only make that difference smaller). Most pairs of different
    /// codes (national ids, postcodes) are ruled out so, without the edit distance.
    fn edits_above_two(&self, other: &LetterBag, la: usize, lb: usize) -> bool {
        self.usable() && other.usable() && la + lb > 2 * self.common(other) + 4
    }

    /// Whether the bag is usable.
    fn usable(&self) -> bool {
        self.0[31] != NO_BAG
    }

    /// An upper bound on the number of equal bytes the two values could pair up.
    fn common(&self, other: &LetterBag) -> usize {
        self.0.iter().zip(&other.0).map(|(&p, &q)| p.min(q) as usize).sum()
    }
}

/// Whether `jaro_winkler(a, b)` is surely below `floor` (0.7 or more), from the values' usable
/// bags: an upper bound of the similarity (no transposition, every common byte matched within
/// the window) is below it. Used to skip pairs that cannot reach a band.
///
/// Worked in integers, without the three divisions of the similarity: with `m` common bytes the
/// Jaro similarity is at most `S / 3L` (`S = m(la + lb) + L`, `L = la lb`), and with the Winkler
/// boost of a common prefix `p` (when above 0.7) `(S(10 - p) + 3pL) / 30L`. A tie is not below:
/// the real similarity decides it.
fn jaro_winkler_below(a: &[u8], b: &[u8], ba: &LetterBag, bb: &LetterBag, floor: f64) -> bool {
    let (la, lb) = (a.len() as u64, b.len() as u64);
    if la == 0 || lb == 0 {
        return false;
    }
    debug_assert!(floor >= 0.7, "below 0.7 the Winkler boost is not bounded here");
    debug_assert!(ba.usable() && bb.usable(), "values without a bag take the general path");
    let m = (ba.common(bb) as u64).min(la).min(lb);
    let (l, tenths) = (la * lb, (floor * 10.0 + 0.5) as u64);
    let s = m * (la + lb) + l;
    if 10 * s < 21 * l {
        return true; // Jaro below 0.7: no boost, below any floor from 0.7
    }
    if 10 * s == 21 * l {
        return false;
    }
    let p = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as u64;
    s * (10 - p) + 3 * p * l < 3 * tenths * l
}

/// Jaro-Winkler similarity, the same as `strsim::jaro_winkler`, without allocating for ASCII
/// values up to 64 bytes: the positions of each byte of `b` are a bit mask, so the first
/// unmatched equal byte within the window is found with a few bit operations instead of a scan
/// (the same greedy matching as the textbook loop, hence the same result to the last bit).
/// ASCII values up to [`WIDE_LEN`] bytes (titles, product names) take four-word masks.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii()) || x.len().max(y.len()) > WIDE_LEN {
        return strsim::jaro_winkler(a, b);
    }
    if x.len() <= FAST_LEN && y.len() <= FAST_LEN {
        jaro_winkler_ascii(x, y)
    } else {
        jaro_winkler_wide(x, y)
    }
}

/// Longest ASCII value [`jaro_winkler_wide`] takes (four 64-bit words per mask).
const WIDE_LEN: usize = 256;

thread_local! {
    /// [`MASKS`] for values up to [`WIDE_LEN`] bytes.
    static WIDE_MASKS: RefCell<Box<[[u64; 4]; 128]>> = RefCell::new(Box::new([[0; 4]; 128]));
}

/// [`with_masks`] for a value of up to [`WIDE_LEN`] bytes: four words per byte.
fn with_wide_masks<R>(v: &[u8], f: impl FnOnce(&[[u64; 4]; 128]) -> R) -> R {
    WIDE_MASKS.with(|m| {
        let mut pm = m.borrow_mut();
        for (j, &c) in v.iter().enumerate() {
            pm[c as usize][j / 64] |= 1 << (j % 64);
        }
        let out = f(&pm);
        for &c in v {
            pm[c as usize] = [0; 4];
        }
        out
    })
}

/// [`jaro_winkler_ascii`] for ASCII values up to [`WIDE_LEN`] bytes: the same greedy matching,
/// the window's first unmatched equal byte searched word by word.
fn jaro_winkler_wide(x: &[u8], y: &[u8]) -> f64 {
    debug_assert!(x.len().max(y.len()) <= WIDE_LEN && x.is_ascii() && y.is_ascii());
    let (la, lb) = (x.len(), y.len());
    let range = match jaro_window(la, lb) {
        Ok(range) => range,
        Err(sim) => return sim,
    };
    let (fa, fb, matches) = with_wide_masks(y, |pm| {
        let (mut fa, mut fb, mut matches) = ([0u64; 4], [0u64; 4], 0usize);
        for (i, &c) in x.iter().enumerate() {
            let lo = i.saturating_sub(range);
            let hi = lb.min(i + range + 1);
            if lo >= hi {
                continue;
            }
            for w in lo / 64..=(hi - 1) / 64 {
                let start = w * 64;
                let window = low_bits(hi - start) & !low_bits(lo.saturating_sub(start));
                let cand = pm[c as usize][w] & window & !fb[w];
                if cand != 0 {
                    fb[w] |= cand & cand.wrapping_neg();
                    fa[i / 64] |= 1 << (i % 64);
                    matches += 1;
                    break;
                }
            }
        }
        (fa, fb, matches)
    });
    if matches == 0 {
        return 0.0;
    }
    // Transpositions: the k-th matched byte of `x` against the k-th matched byte of `y`.
    let positions = |words: [u64; 4]| {
        words.into_iter().enumerate().flat_map(|(w, mut bits)| {
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    };
    let t = positions(fa).zip(positions(fb)).filter(|&(i, j)| x[i] != y[j]).count();
    winkler(x, y, matches, t)
}

/// The match window of Jaro's greedy matching for values of `la` and `lb` bytes (each byte
/// matches an equal one at most this far away), or the similarity when a value is empty.
fn jaro_window(la: usize, lb: usize) -> std::result::Result<usize, f64> {
    match (la, lb) {
        (0, 0) => Err(1.0),
        (0, _) | (_, 0) => Err(0.0),
        _ => Ok((la.max(lb) / 2).saturating_sub(1)),
    }
}

/// The `n` lowest bits set (all of them from 64 on).
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Jaro-Winkler similarity from the number of matched bytes and of transposed ones (`t`, each
/// transposition counted at both ends), as `strsim` computes it.
fn winkler(x: &[u8], y: &[u8], matches: usize, t: usize) -> f64 {
    let m = matches as f64;
    let sim = (m / x.len() as f64 + m / y.len() as f64 + (matches - t / 2) as f64 / m) / 3.0;
    if sim > 0.7 {
        let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// [`jaro_winkler`] of two ASCII values of at most 64 bytes.
fn jaro_winkler_ascii(x: &[u8], y: &[u8]) -> f64 {
    debug_assert!(x.len() <= FAST_LEN && y.len() <= FAST_LEN && x.is_ascii() && y.is_ascii());
    let (la, lb) = (x.len(), y.len());
    let range = match jaro_window(la, lb) {
        Ok(range) => range,
        Err(sim) => return sim,
    };
    // Matched positions of `x` and `y`, from the positions of each byte in `y`.
    let (fa, fb, matches) = with_masks(y, |pm| {
        let mut fa = 0u64;
        let mut fb = 0u64;
        let mut matches = 0usize;
        for (i, &c) in x.iter().enumerate() {
            let lo = i.saturating_sub(range);
            let hi = lb.min(i + range + 1);
            if lo >= hi {
                continue;
            }
            let cand = pm[c as usize] & low_bits(hi) & !low_bits(lo) & !fb;
            if cand != 0 {
                fb |= cand & cand.wrapping_neg();
                fa |= 1 << i;
                matches += 1;
            }
        }
        (fa, fb, matches)
    });
    if matches == 0 {
        return 0.0;
    }
    // Transpositions: the k-th matched byte of `x` against the k-th matched byte of `y`.
    let mut t = 0usize;
    let (mut ma, mut mb) = (fa, fb);
    while ma != 0 {
        let (i, j) = (ma.trailing_zeros() as usize, mb.trailing_zeros() as usize);
        t += usize::from(x[i] != y[j]);
        ma &= ma - 1;
        mb &= mb - 1;
    }
    winkler(x, y, matches, t)
}

/// American Soundex of the first word (letters only); `None` when it has no letter.
pub fn soundex(s: &str) -> Option<String> {
    let code = |c: u8| match c {
        b'b' | b'f' | b'p' | b'v' => b'1',
        b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
        b'd' | b't' => b'3',
        b'l' => b'4',
        b'm' | b'n' => b'5',
        b'r' => b'6',
        b'h' | b'w' => b'h',
        _ => b'0',
    };
    let word = s.split(' ').next()?;
    let letters: Vec<u8> =
        word.bytes().filter(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase()).collect();
    let first = *letters.first()?;
    let mut out = vec![first.to_ascii_uppercase()];
    let mut last = code(first);
    for &c in &letters[1..] {
        let k = code(c);
        if k == b'h' {
            continue; // h and w do not separate equal codes
        }
        if k != b'0' && k != last {
            out.push(k);
            if out.len() == 4 {
                break;
            }
        }
        last = k;
    }
    while out.len() < 4 {
        out.push(b'0');
    }
    Some(String::from_utf8(out).expect("ascii"))
}

/// Id of a missing value in [`PreparedField::ids`].
pub const NONE: u32 = u32::MAX;

/// One field of both sides, normalised and interned into one dictionary.
#[derive(Debug, Clone)]
pub struct PreparedField {
    /// The field's name.
    pub name: String,
    /// How it is compared.
    pub kind: Kind,
    /// Distinct normalised values.
    pub dict: Vec<String>,
    /// Per side (left, right), per record: index into `dict`, or [`NONE`] when missing.
    pub ids: [Vec<u32>; 2],
    /// Per dictionary entry: how many records of (left, right) hold it.
    pub counts: Vec<[u32; 2]>,
    /// Per dictionary entry, what a comparison reads about it besides its bytes, in one cache
    /// line (see [`Entry`]).
    entries: Vec<Entry>,
    /// The bytes of the dictionary's ASCII entries shorter than 64 bytes, one after the other,
    /// so that comparing them reads one compact array instead of chasing one allocation per
    /// value.
    arena: Vec<u8>,
    /// The entries' [`word_counts`], one after the other.
    words: Vec<WordCount>,
    /// The entries' number hashes and rare words, one after the other.
    hashes: Vec<u64>,
    /// For [`Kind::Name`], per dictionary entry the formal names it is or may stand for
    /// ([`nicknames::groups`]; none for a name of several words). Empty for the other kinds.
    nicknames: Vec<nicknames::Groups>,
}

/// One dictionary entry of a [`PreparedField`]: spans `(start, len)` into the field's arrays.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Entry {
    /// For the Jaro-Winkler kinds (name, text): its [`LetterBag`], which rules out most pairs
    /// below the lowest band without computing the similarity; for codes, its
    /// [`LetterBag::code`], which rules out most pairs more than two edits apart. Unused for the
    /// other kinds.
    bag: LetterBag,
    /// Its bytes in `arena`, or `(0, FAST_LEN)` when it is not there (not ASCII, or too long):
    /// those take the general path.
    bytes: (u32, u32),
    /// For the Jaro-Winkler kinds, its distinct words in `words`, as sorted hashes with their
    /// counts, so that word overlaps need no splitting and searching at each comparison. Empty
    /// for the other kinds.
    words: (u32, u32),
    /// For [`Kind::Text`] entries no longer than [`LONG_TEXT`], its [`number_hashes`] in
    /// `hashes` (two entries that both have numbers and share none differ, see
    /// [`other_numbers`]; descriptions are not compared so). Empty otherwise.
    numbers: (u32, u32),
    /// For [`Kind::Text`], its rare words (see [`RARE_HOLDERS`]) in `hashes`, as sorted
    /// hashes. Empty for the other kinds.
    rare: (u32, u32),
}

/// The part of `all` that `span` marks.
#[inline]
fn spanned<T>(all: &[T], (start, len): (u32, u32)) -> &[T] {
    &all[start as usize..(start + len) as usize]
}

/// Appends `items` to `all` and returns their span.
fn append<T>(all: &mut Vec<T>, items: impl IntoIterator<Item = T>) -> (u32, u32) {
    let start = all.len();
    all.extend(items);
    (start as u32, (all.len() - start) as u32)
}

/// The distinct words of a normalised value (split at spaces) as sorted hashes, with counts.
fn word_counts(v: &str) -> Vec<WordCount> {
    let mut words: Vec<(u64, bool)> = v
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| (fnv(w.as_bytes()), is_number(w.as_bytes())))
        .collect();
    words.sort_unstable();
    let mut out: Vec<WordCount> = Vec::with_capacity(words.len());
    for (hash, number) in words {
        match out.last_mut() {
            Some(last) if last.hash == hash => last.count += 1,
            _ => out.push(WordCount { hash, count: 1, number }),
        }
    }
    out
}

/// A distinct word of a value: its hash, how often the value has it, and whether it is a number.
#[derive(Debug, Clone, Copy)]
struct WordCount {
    hash: u64,
    count: u32,
    number: bool,
}

/// The words two values share, from their [`word_counts`] (one merge of the sorted hashes).
struct WordMerge<'a> {
    words: [&'a [WordCount]; 2],
    /// Per value, whether its numbers are left out of its count (see [`word_overlap`]).
    counted: [fn(&WordCount) -> bool; 2],
    /// Distinct words shared.
    shared: usize,
    /// Per value, its counted words (repeats counted) that the other has.
    hits: [u32; 2],
}

impl<'a> WordMerge<'a> {
    fn new(wa: &'a [WordCount], wb: &'a [WordCount]) -> Self {
        // `word_overlap` counts the shorter value's words, numbers only when it has nothing else.
        let counted = |w: &[WordCount]| -> fn(&WordCount) -> bool {
            if w.iter().all(|x| x.number) {
                |_| true
            } else {
                |x| !x.number
            }
        };
        let mut m = WordMerge {
            words: [wa, wb],
            counted: [counted(wa), counted(wb)],
            shared: 0,
            hits: [0, 0],
        };
        let (mut i, mut j) = (0, 0);
        while i < wa.len() && j < wb.len() {
            match wa[i].hash.cmp(&wb[j].hash) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    m.shared += 1;
                    m.hits[0] += if (m.counted[0])(&wa[i]) { wa[i].count } else { 0 };
                    m.hits[1] += if (m.counted[1])(&wb[j]) { wb[j].count } else { 0 };
                    i += 1;
                    j += 1;
                }
            }
        }
        m
    }

    /// `word_overlap`: the share of the shorter value's words (repeats counted) in the other,
    /// and how many words that value counts; `first_shorter` when the first value is the
    /// shorter (ties go to the first).
    fn overlap(&self, first_shorter: bool) -> (f64, usize) {
        let s = usize::from(!first_shorter);
        let counted = self.counted[s];
        let n: u32 = self.words[s].iter().filter(|x| counted(x)).map(|x| x.count).sum();
        (if n == 0 { 0.0 } else { f64::from(self.hits[s]) / f64::from(n) }, n as usize)
    }

    /// `word_set_overlap`: the share of the distinct words of the value with fewer.
    fn set_overlap(&self) -> f64 {
        let fewer = self.words[0].len().min(self.words[1].len());
        if fewer == 0 {
            0.0
        } else {
            self.shared as f64 / fewer as f64
        }
    }
}

impl Kind {
    /// [`Kind::level_distinct`] of two different values of a Jaro-Winkler kind, with their
    /// bags and [`word_counts`]: the same level, the word overlaps counted by one merge, the
    /// similarity skipped where the bags rule the bands out (as on the fast path).
    fn level_by_words(
        self,
        a: &str,
        b: &str,
        (ba, bb): (&LetterBag, &LetterBag),
        (wa, wb): (&[WordCount], &[WordCount]),
    ) -> u8 {
        let merge = WordMerge::new(wa, wb);
        if a.len().max(b.len()) > LONG_TEXT {
            let o = merge.set_overlap();
            return self.jw_level(if o >= 0.9 { 1.0 } else { 0.0 }, || (o, 0));
        }
        let jw =
            self.banded_similarity(a.as_bytes(), b.as_bytes(), (ba, bb), || jaro_winkler(a, b));
        let jw = self.words_in_any_order(jw, a.as_bytes(), b.as_bytes(), |x, y| {
            jaro_winkler(as_str(x), as_str(y))
        });
        self.jw_level(jw, || merge.overlap(a.len() <= b.len()))
    }

    /// The similarity [`Kind::jw_level`] reads for two names of several words: that of a
    /// near-identical spelling (1.0) when [`words_matched`] (by `similarity`), as first and
    /// last names in columns of their own are compared crosswise too; else `jw`. Other kinds,
    /// and names already near-identical, keep `jw`.
    fn words_in_any_order(
        self,
        jw: f64,
        a: &[u8],
        b: &[u8],
        similarity: impl Fn(&[u8], &[u8]) -> f64,
    ) -> f64 {
        if self == Kind::Name && jw < 0.92 && words_matched(a, b, similarity) {
            1.0
        } else {
            jw
        }
    }

    /// The Jaro-Winkler similarity of `x` and `y` as [`Kind::jw_level`] reads it: 0.0 where
    /// their bags rule every band of this kind out (any similarity below the floor gives the
    /// same level), else `similarity()`.
    fn banded_similarity(
        self,
        x: &[u8],
        y: &[u8],
        (ba, bb): (&LetterBag, &LetterBag),
        similarity: impl FnOnce() -> f64,
    ) -> f64 {
        let floor = if self == Kind::Name { NAME_FLOOR } else { TEXT_FLOOR };
        if ba.usable() && bb.usable() && jaro_winkler_below(x, y, ba, bb, floor) {
            0.0
        } else {
            similarity()
        }
    }
}

/// A word of a text (or two adjacent words joined: `ps lx350h` has `pslx350h`) held by at most
/// this many records of each side, and by two records or more in all, is rare. Two texts sharing
/// a rare code (letters and digits: a model number, see [`word_hashes`]) get the level "a rare
/// code shared"; sharing another rare word (an unusual word of a title, a brand), "a rare word
/// shared". Of Abt-Buy's true pairs, 71% share a rare code and 13% only a rare word.
pub const RARE_HOLDERS: u32 = 2;

/// The FNV-1a hash of some bytes (blocking keys, words).
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// Text's level "a rare code shared".
pub const TEXT_CODE: u8 = 2;

/// Text's level "a rare word shared".
pub const TEXT_WORD: u8 = 3;

/// Text's level "near-identical spelling, or every word held in the other".
const TEXT_CLOSE: u8 = 4;

/// Text's level "alike, or half the words shared".
const TEXT_ALIKE: u8 = 5;

/// Text's level "different".
pub const TEXT_DIFFERENT: u8 = 6;

/// The bit [`word_hashes`] sets on a code's hash.
const CODE_BIT: u64 = 1 << 63;

/// Whether a [`word_hashes`] hash is a code's (a model or part number).
pub fn is_code(hash: u64) -> bool {
    hash & CODE_BIT != 0
}

/// Whether a word mixes letters and digits, as codes do; an English ordinal (`52nd`, `18th`: a
/// street of Manhattan, an edition) does not count, being a number. (`1000st` does.)
fn mixed(w: &[u8]) -> bool {
    w.iter().any(u8::is_ascii_digit) && w.iter().any(|c| !c.is_ascii_digit()) && !ordinal(w)
}

/// Whether a word is a number with its English ordinal suffix (`1st`, `12th`, `52nd`, `103rd`).
fn ordinal(w: &[u8]) -> bool {
    let digits = w.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return false;
    }
    let tens = digits >= 2 && w[digits - 2] == b'1';
    let suffix: &[u8] = match w[digits - 1] {
        b'1' if !tens => b"st",
        b'2' if !tens => b"nd",
        b'3' if !tens => b"rd",
        _ => b"th",
    };
    &w[digits..] == suffix
}

/// A word's hash, with [`CODE_BIT`] set where it is a code (a model or part number: letters
/// and digits, four characters or more, not an ordinal) and clear elsewhere. Two adjacent words
/// joined (`parts`) make a code only where one of them mixes letters and digits (`kx tg1033s`),
/// not a house number and its street (`3700 w`).
fn word_hash(w: &[u8], parts: Option<(&[u8], &[u8])>) -> u64 {
    let code = w.len() >= 4 && mixed(w) && parts.is_none_or(|(a, b)| mixed(a) || mixed(b));
    let h = fnv(w) & !CODE_BIT;
    if code {
        h | CODE_BIT
    } else {
        h
    }
}

/// The words of a value, each two adjacent words joined, and each three or four joined where
/// one of them mixes letters and digits, as hashes ([`word_hash`]), sorted, each once.
pub fn word_hashes(v: &str) -> Vec<u64> {
    let w: Vec<&[u8]> = v.as_bytes().split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
    let mut out: Vec<u64> = w.iter().map(|w| word_hash(w, None)).collect();
    out.extend(w.windows(2).map(|p| word_hash(&[p[0], p[1]].concat(), Some((p[0], p[1])))));
    // A model number written in parts (`dvp-nc800h/b`, `mb13-clr-see-v2`) against the same
    // number written whole (`dvpnc800hb`): three or four adjacent words joined, where one mixes
    // letters and digits.
    for n in 3..=4 {
        let coded = w.windows(n).filter(|p| p.iter().any(|x| mixed(x)));
        out.extend(coded.map(|p| word_hash(&p.concat(), None)));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Per dictionary entry its [`word_hashes`], and per word the records holding it on each side.
pub fn word_holders(
    dict: &[String],
    counts: &[[u32; 2]],
) -> (Vec<Vec<u64>>, FxHashMap<u64, [u32; 2]>) {
    let words: Vec<Vec<u64>> = dict.iter().map(|v| word_hashes(v)).collect();
    let mut held: FxHashMap<u64, [u32; 2]> = FxHashMap::default();
    for (ws, c) in words.iter().zip(counts) {
        for w in ws {
            let h = held.entry(*w).or_default();
            h[0] += c[0];
            h[1] += c[1];
        }
    }
    (words, held)
}

/// Whether two sorted lists of [`word_hashes`] share an element: `Some(true)` where they share
/// a code, `Some(false)` where they share words only.
fn shared(a: &[u64], b: &[u64]) -> Option<bool> {
    // Codes have the top bit set, so they sort last: the largest element shared tells.
    largest_shared(a, b).map(|h| h & CODE_BIT != 0)
}

/// The largest element two sorted lists share, merged from the end.
fn largest_shared(a: &[u64], b: &[u64]) -> Option<u64> {
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        match a[i - 1].cmp(&b[j - 1]) {
            std::cmp::Ordering::Greater => i -= 1,
            std::cmp::Ordering::Less => j -= 1,
            std::cmp::Ordering::Equal => return Some(a[i - 1]),
        }
    }
    None
}

/// The [`word_hashes`] of a text running columns together that are no rare words: its words of
/// digits only, each two adjacent ones joined, and each two adjacent words at a seam.
fn loose_words(v: &str, seams: &Seams) -> Vec<u64> {
    let w: Vec<&[u8]> = v.as_bytes().split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
    let mut out: Vec<u64> = w.iter().filter(|w| is_number(w)).map(|w| word_hash(w, None)).collect();
    for p in w.windows(2) {
        let h = word_hash(&[p[0], p[1]].concat(), Some((p[0], p[1])));
        if (is_number(p[0]) && is_number(p[1])) || (!is_code(h) && seams.contains(p[0], p[1])) {
            out.push(h);
        }
    }
    out
}

impl PreparedField {
    /// Normalises and interns the values of one field on the left and (optionally) right side.
    pub fn new(
        name: &str,
        kind: Kind,
        left: &[Option<String>],
        right: Option<&[Option<String>]>,
    ) -> Self {
        Self::build(name, kind, left, right, None)
    }

    /// [`PreparedField::new`] for a field whose values run several columns together (the
    /// columns between which values moved, and their joined text: see
    /// [`super::moved_values`]). Its numbers are no rare words: a phone's exchange, a price's
    /// cents or a year, thrown together with the other columns' words, say little when shared
    /// (DeepMatcher-style dirty Fodors-Zagat: F1 0.715 without this, 0.788 with it). Neither
    /// are two adjacent words at one of the `seams`, where one column's value meets another's.
    pub fn run_together(
        name: &str,
        kind: Kind,
        left: &[Option<String>],
        right: Option<&[Option<String>]>,
        seams: &Seams,
    ) -> Self {
        Self::build(name, kind, left, right, Some(seams))
    }

    fn build(
        name: &str,
        kind: Kind,
        left: &[Option<String>],
        right: Option<&[Option<String>]>,
        run_together: Option<&Seams>,
    ) -> Self {
        let mut index: FxHashMap<String, u32> = FxHashMap::default();
        let mut dict = Vec::new();
        let mut counts: Vec<[u32; 2]> = Vec::new();
        let mut intern = |values: &[Option<String>], side: usize| -> Vec<u32> {
            // Dates written month first (`MM/DD/YYYY`) were read day first: turned back, which
            // takes a look at the whole column's dates first.
            let normalised: Box<dyn Iterator<Item = Option<String>>> = if kind == Kind::Date {
                Box::new(normalise_dates(values).into_iter())
            } else {
                Box::new(values.iter().map(|v| v.as_deref().and_then(|v| kind.normalise(v))))
            };
            normalised
                .map(|s| match s {
                    None => NONE,
                    Some(s) => {
                        let id = *index.entry(s.clone()).or_insert_with(|| {
                            dict.push(s);
                            counts.push([0, 0]);
                            (dict.len() - 1) as u32
                        });
                        counts[id as usize][side] += 1;
                        id
                    }
                })
                .collect()
        };
        let l = intern(left, 0);
        let r = right.map(|r| intern(r, 1)).unwrap_or_default();
        let jw = matches!(kind, Kind::Name | Kind::Text);
        let rare: Vec<Vec<u64>> = if kind == Kind::Text {
            let (words, held) = word_holders(&dict, &counts);
            words
                .into_iter()
                .zip(&dict)
                .map(|(ws, v)| {
                    let numbers = run_together.map(|s| loose_words(v, s)).unwrap_or_default();
                    ws.into_iter()
                        .filter(|w| {
                            let h = held[w];
                            h[0] <= RARE_HOLDERS
                                && h[1] <= RARE_HOLDERS
                                && h[0] + h[1] >= 2
                                && !numbers.contains(w)
                        })
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let (mut arena, mut words, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
        let entries = dict
            .iter()
            .enumerate()
            .map(|(e, v)| Entry {
                bag: match kind {
                    Kind::Name | Kind::Text => LetterBag::new(v),
                    Kind::Code => LetterBag::code(v),
                    _ => LetterBag([0; 32]),
                },
                bytes: if v.is_ascii() && v.len() < FAST_LEN {
                    append(&mut arena, v.bytes())
                } else {
                    (0, FAST_LEN as u32)
                },
                words: if jw { append(&mut words, word_counts(v)) } else { (0, 0) },
                numbers: if kind == Kind::Text && v.len() <= LONG_TEXT {
                    append(&mut hashes, number_hashes(v.as_bytes()))
                } else {
                    (0, 0)
                },
                rare: match rare.get(e) {
                    Some(r) => append(&mut hashes, r.iter().copied()),
                    None => (0, 0),
                },
            })
            .collect();
        let nicknames = if kind == Kind::Name {
            let one_word = |v: &String| !v.contains(' ');
            dict.iter()
                .map(|v| if one_word(v) { nicknames::groups(v) } else { Default::default() })
                .collect()
        } else {
            Vec::new()
        };
        PreparedField {
            name: name.to_string(),
            kind,
            dict,
            ids: [l, r],
            counts,
            entries,
            arena,
            words,
            hashes,
            nicknames,
        }
    }

    /// Entry `e`'s rare words.
    fn rare(&self, e: usize) -> &[u64] {
        spanned(&self.hashes, self.entries[e].rare)
    }

    /// The level of record `i` on side `si` against record `j` on side `sj`.
    #[inline]
    pub fn compare(&self, si: usize, i: usize, sj: usize, j: usize) -> u8 {
        self.compare_entries(self.ids[si][i], self.ids[sj][j])
    }

    /// [`PreparedField::compare`] by spelling alone: for a text, without its rare words and
    /// without the rule that texts with numbers, none shared, differ (see [`other_numbers`]).
    /// For columns whose values moved ([`super::moved_values::Layout`]).
    pub fn compare_spelling(&self, si: usize, i: usize, sj: usize, j: usize) -> u8 {
        let (a, b) = (self.ids[si][i], self.ids[sj][j]);
        if a == NONE || b == NONE {
            MISSING
        } else if a == b {
            EXACT
        } else {
            self.entry_level(a as usize, self, b as usize, true)
        }
    }

    /// The level of dictionary entry `a` against entry `b` (either [`NONE`]: missing).
    #[inline]
    fn compare_entries(&self, a: u32, b: u32) -> u8 {
        if a == NONE || b == NONE {
            MISSING
        } else if a == b {
            EXACT
        } else {
            let (a, b) = (a as usize, b as usize);
            if self.kind == Kind::Text {
                let (ea, eb) = (&self.entries[a], &self.entries[b]);
                let numbers = |e: &Entry| spanned(&self.hashes, e.numbers);
                if numbers_differ(numbers(ea), numbers(eb)) {
                    return TEXT_DIFFERENT; // whatever else they share
                }
                match shared(self.rare(a), self.rare(b)) {
                    Some(true) => return TEXT_CODE,
                    Some(false) => return TEXT_WORD,
                    None => {}
                }
            }
            self.entry_level(a, self, b, true)
        }
    }

    /// The level of this field's dictionary entry `a` against `other`'s entry `b` (`other` is
    /// this field, or the other name field), on the fast path where both values allow it;
    /// `distinct` when the two are known to differ (two different entries of one dictionary).
    #[inline]
    fn entry_level(&self, a: usize, other: &PreparedField, b: usize, distinct: bool) -> u8 {
        let level = self.spelling_level(a, other, b, distinct);
        // A diminutive (`kathy` / `catherine`) is as near as a near-identical spelling.
        let nicknamed = !self.nicknames.is_empty() && !other.nicknames.is_empty();
        if level > 2 && nicknamed && self.nicknames[a].alike(other.nicknames[b]) {
            return 2;
        }
        level
    }

    /// [`Self::entry_level`] by the values' spelling alone.
    #[inline]
    fn spelling_level(&self, a: usize, other: &PreparedField, b: usize, distinct: bool) -> u8 {
        let (ea, eb) = (&self.entries[a], &other.entries[b]);
        let words = (spanned(&self.words, ea.words), spanned(&other.words, eb.words));
        let ((sa, la), (sb, lb)) = (ea.bytes, eb.bytes);
        if la < FAST_LEN as u32 && lb < FAST_LEN as u32 {
            let x = &self.arena[sa as usize..(sa + la) as usize];
            let y = &other.arena[sb as usize..(sb + lb) as usize];
            if !distinct && x == y {
                return EXACT;
            }
            if let Some(level) = self.kind.level_fast(x, y, (&ea.bag, &eb.bag), words) {
                return level;
            }
        }
        let (x, y) = (&self.dict[a], &other.dict[b]);
        if !distinct && x == y {
            return EXACT;
        }
        match words {
            (wa, wb) if !wa.is_empty() && !wb.is_empty() => {
                self.kind.level_by_words(x, y, (&ea.bag, &eb.bag), (wa, wb))
            }
            _ => self.kind.level_distinct(x, y),
        }
    }

    /// The level of this field's value of left record `i` against `other`'s value of record `j`
    /// on side `sj` (first name against last name), compared as this field's kind: the level
    /// [`Kind::level`] gives, on the fast path where both values allow it.
    fn compare_across(&self, i: usize, other: &PreparedField, sj: usize, j: usize) -> u8 {
        let (a, b) = (self.ids[0][i], other.ids[sj][j]);
        if a == NONE || b == NONE {
            return MISSING;
        }
        self.entry_level(a as usize, other, b as usize, false)
    }
}

/// The first-name and last-name fields of a record layout, whose values are also compared
/// crosswise since forms and clerks swap them: the two name fields when there are exactly two,
/// else the one named like a first name (`first`, `given`, `forename`, `fname`) and the one
/// named like a last name (`last`, `surname`, `family`, `lname`) when both are there.
pub fn swappable_names(fields: &[PreparedField]) -> Option<(usize, usize)> {
    let names: Vec<usize> = (0..fields.len()).filter(|&f| fields[f].kind == Kind::Name).collect();
    if let [a, b] = names[..] {
        return Some((a, b));
    }
    use super::autoconfig::{only_named, FIRST_NAME_WORDS, LAST_NAME_WORDS};
    let named = |words| only_named(names.iter().map(|&f| (f, fields[f].name.as_str())), words);
    let first = named(&FIRST_NAME_WORDS)?;
    let last = named(&LAST_NAME_WORDS)?;
    (first != last).then_some((first.min(last), first.max(last)))
}

/// Slots per text field of a [`LevelMemo`].
const MEMO_SLOTS: usize = 1 << 12;

/// The levels of value pairs already compared, for the text fields, whose comparison is the
/// costliest (words, numbers, similarity): a level is a function of the two values alone, and
/// among the blocked pairs the same two values (a patent's classes, an employer, a list of
/// co-authors) meet again and again. Direct-mapped: a slot keeps the last pair that fell in it.
/// One per thread; it changes no level, only how often one is worked out.
pub struct LevelMemo {
    /// Per field, its slots of (first entry << 32 | second entry, level); none for the fields
    /// that are not texts. An empty slot holds a key no pair has (both entries [`NONE`]).
    slots: Vec<Vec<(u64, u8)>>,
}

impl LevelMemo {
    /// An empty memo for `fields`.
    pub fn new(fields: &[PreparedField]) -> LevelMemo {
        let slots = fields
            .iter()
            .map(
                |f| if f.kind == Kind::Text { vec![(u64::MAX, 0); MEMO_SLOTS] } else { Vec::new() },
            )
            .collect();
        LevelMemo { slots }
    }
}

/// Pairs per batch of [`Comparer::rows`], at most, for callers that split their pairs (between
/// threads): enough for the batch to pay for reading each field's dictionary into the cache.
const BATCH: usize = 1 << 16;

/// The batch size for `n` pairs split between threads: at most [`BATCH`] pairs, in a number of
/// batches that the threads share evenly.
pub fn batch_size(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let batches = n.div_ceil(BATCH).div_ceil(threads) * threads;
    n.div_ceil(batches.max(1)).max(1)
}

/// What comparing many pairs of records reads: the prepared fields and the name fields compared
/// crosswise.
///
/// Pairs are compared in batches, one field at a time ([`Comparer::rows`]): a field's dictionary
/// (a few hundred kilobytes on a file of ten thousand records) then stays in the core's cache
/// through the batch, where record by record every field's dictionary is read in turn and each
/// evicts the others. That pays only over batches of many pairs ([`batch_size`]): with a few
/// thousand, each field's dictionary is read back at every batch (FEBRL4, the 200,000 random
/// pairs of u on one core: 188 ms record by record, 183 ms field by field in batches of 4,096,
/// 97 ms in one).
pub struct Comparer<'a> {
    /// The fields compared.
    pub fields: &'a [PreparedField],
    /// The first and last name fields, compared crosswise too (see [`swappable_names`]).
    swap: Option<(usize, usize)>,
    /// Columns compared one by one or joined, as two records spread their values
    /// ([`super::moved_values::Layout`]).
    layout: Option<&'a super::moved_values::Layout>,
}

impl<'a> Comparer<'a> {
    /// The comparer of `fields`, with `swap` (see [`Comparer::rows`]).
    pub fn new(fields: &'a [PreparedField], swap: Option<(usize, usize)>) -> Self {
        Comparer { fields, swap, layout: None }
    }

    /// This comparer, with `layout` applied to every row after the other rules.
    pub fn with_layout(self, layout: Option<&'a super::moved_values::Layout>) -> Self {
        Comparer { layout, ..self }
    }

    /// The levels of record `i` (left) against record `j` on side `sj`, one per field, into
    /// `out`: [`Comparer::rows`] of one pair.
    pub fn row(&self, i: usize, sj: usize, j: usize, out: &mut [u8]) {
        self.rows(&[(i as u32, j as u32)], sj, out, None);
    }

    /// The levels of each pair `(i, j)` of `pairs` (left record `i`, record `j` on side `sj`),
    /// one row of one level per field each, into `out`; the text fields' levels are looked up
    /// in `memo` first when one is given.
    ///
    /// With `swap` (see [`swappable_names`]), when all four names are present and the two
    /// fields compared crosswise (`a` of one record against `b` of the other) agree better than
    /// straight, the crosswise levels stand: `Ryan Wright` and `Wright Ryan` agree on both
    /// names.
    pub fn rows(
        &self,
        pairs: &[(u32, u32)],
        sj: usize,
        out: &mut [u8],
        mut memo: Option<&mut LevelMemo>,
    ) {
        let width = self.fields.len();
        assert_eq!(out.len(), pairs.len() * width, "one row of levels per pair");
        for (k, f) in self.fields.iter().enumerate() {
            let slots = memo.as_deref_mut().map_or(&mut [][..], |m| &mut m.slots[k][..]);
            let (left, right) = (&f.ids[0], &f.ids[sj]);
            for (row, &(i, j)) in out.chunks_exact_mut(width).zip(pairs) {
                let (a, b) = (left[i as usize], right[j as usize]);
                row[k] = if slots.is_empty() || a == NONE || b == NONE || a == b {
                    f.compare_entries(a, b)
                } else {
                    let key = u64::from(a) << 32 | u64::from(b);
                    let slot = &mut slots[(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize];
                    if slot.0 != key {
                        *slot = (key, f.compare_entries(a, b));
                    }
                    slot.1
                };
            }
        }
        self.swap_names(pairs, sj, out);
        if let Some(layout) = self.layout {
            layout.apply(self.fields, pairs, sj, out);
        }
    }

    /// The crosswise pass of [`Comparer::rows`].
    fn swap_names(&self, pairs: &[(u32, u32)], sj: usize, out: &mut [u8]) {
        let width = self.fields.len();
        let Some((a, b)) = self.swap else { return };
        let (fa, fb) = (&self.fields[a], &self.fields[b]);
        for (row, &(i, j)) in out.chunks_exact_mut(width).zip(pairs) {
            let (i, j) = (i as usize, j as usize);
            let straight = (row[a], row[b]);
            if straight.0 == MISSING || straight.1 == MISSING || straight == (EXACT, EXACT) {
                continue;
            }
            // Levels run from exact (1) to different (the last): a smaller sum agrees better.
            // When the first crosswise level leaves no room for a smaller sum, the second is
            // not needed (a pair agreeing on one name straight, as blocking proposes them).
            let straight_sum = u32::from(straight.0) + u32::from(straight.1);
            let first = fa.compare_across(i, fb, sj, j);
            if first == MISSING || u32::from(first) + u32::from(EXACT) >= straight_sum {
                continue;
            }
            let crossed = (first, fb.compare_across(i, fa, sj, j));
            if crossed.1 == MISSING {
                continue;
            }
            if u32::from(crossed.0) + u32::from(crossed.1) < straight_sum {
                row[a] = crossed.0;
                row[b] = crossed.1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_renumbered_are_different_not_typos() {
        let lv = |a: &str, b: &str| Kind::Code.level(a, b);
        assert_eq!(lv("karlrossi158mailexample", "karlrossi174mailexample"), 4);
        assert_eq!(lv("c118908148", "c118908147"), 2);
        // A typo in the letters, or digits alone (a phone, a national id), stay near matches.
        assert_eq!(lv("karlrossi158mailexample", "karlrosi158mailexample"), 2);
        assert_eq!(lv("0612345678", "0612345687"), 2);
    }

    #[test]
    fn addresses_with_other_numbers_are_different_places() {
        let pairs = [
            ("109 boulevard voltaire", "22 boulevard voltaire", true),
            ("flat 68 queens court", "flat 86 queens court", true),
            // A number shared, or on one side only: the words decide.
            ("12 main street", "12 main st apt 4", false),
            ("main street", "12 main street", false),
            // Thousands written with a separator or without: one number.
            ("clip art 250 000 images", "clipart 250000", false),
            ("art 250 000 images", "art 25000 images", true),
        ];
        let left: Vec<Option<String>> = pairs.iter().map(|p| Some(p.0.to_string())).collect();
        let right: Vec<Option<String>> = pairs.iter().map(|p| Some(p.1.to_string())).collect();
        // Every word is rare in four records: the numbers overrule a rare word shared too.
        let f = PreparedField::new("street", Kind::Text, &left, Some(&right));
        for (i, &(a, b, different)) in pairs.iter().enumerate() {
            assert_eq!(Kind::Text.level(a, b) == TEXT_DIFFERENT, different, "{a} / {b}");
            assert_eq!(f.compare(0, i, 1, i) == TEXT_DIFFERENT, different, "{a} / {b}, prepared");
        }
    }

    #[test]
    fn a_text_held_whole_in_another_is_a_close_level() {
        // Two words or more of the shorter text, all in the other: the near-spelling level.
        let held = Kind::Text.level("hoyle board games", "encore 10027 hoyle board games win xp");
        assert_eq!(held, TEXT_CLOSE);
        assert_eq!(Kind::Text.level("main street", "main street flat b"), TEXT_CLOSE);
        // One word held, or most words only: no more than the loose level.
        assert_eq!(Kind::Text.level("oconee", "6041 2 oconee"), TEXT_ALIKE);
        assert_eq!(Kind::Text.level("hoyle card games", "hoyle board games deluxe"), TEXT_ALIKE);
        // Names take their own rule: every word near-identical, in any order, is a near-identical
        // name (see `names_fall_into_jaro_winkler_bands`); some words held, the lowest band.
        assert_eq!(Kind::Name.level("anna maria", "maria anna lopez"), 2);
        assert_eq!(Kind::Name.level("anna maria", "maria lopez"), 4);
    }

    #[test]
    fn placeholders_are_missing_values() {
        for raw in ["NULL", " null ", "NaN", "None", "N/A", "#N/A", "<NA>", "--"] {
            for kind in [Kind::Code, Kind::Text, Kind::Name, Kind::Exact, Kind::Date] {
                assert_eq!(kind.normalise(raw), None, "{raw} as {kind}");
            }
        }
        // A surname, a country code, a category of its own.
        assert_eq!(Kind::Name.normalise("Na").as_deref(), Some("na"));
        assert_eq!(Kind::Exact.normalise("unk").as_deref(), Some("unk"));
        assert_eq!(Kind::Text.normalise("unknown pleasures").as_deref(), Some("unknown pleasures"));
    }

    #[test]
    fn codes_of_digits_lose_their_leading_zeros() {
        assert_eq!(Kind::Code.normalise("007").as_deref(), Some("7"));
        assert_eq!(Kind::Code.normalise("01234"), Kind::Code.normalise("1234"));
        assert_eq!(Kind::Code.normalise("000").as_deref(), Some("000"));
        // Codes with letters keep them.
        assert_eq!(Kind::Code.normalise("0a7").as_deref(), Some("0a7"));
    }

    #[test]
    fn a_shared_number_is_not_half_of_a_title() {
        // Track numbers written into titles: only the words count towards the overlap.
        let pairs = [
            ("007 high wave", "007 accident", TEXT_DIFFERENT),
            ("007 feeling good", "019 feeling good andy bey", TEXT_DIFFERENT), // other numbers
            ("1984", "1984 remastered", TEXT_ALIKE), // a value of numbers only keeps them
            ("street hype 11", "street hype groove city 11", TEXT_CLOSE),
        ];
        // More titles of these numbers and words, so that none is a rare word shared.
        let more = |side: &'static str| {
            (0..3).map(move |k| format!("007 11 019 1984 feeling street hype {side}{k}"))
        };
        let left: Vec<Option<String>> =
            pairs.iter().map(|p| p.0.to_string()).chain(more("l")).map(Some).collect();
        let right: Vec<Option<String>> =
            pairs.iter().map(|p| p.1.to_string()).chain(more("r")).map(Some).collect();
        let f = PreparedField::new("title", Kind::Text, &left, Some(&right));
        for (i, &(a, b, level)) in pairs.iter().enumerate() {
            assert_eq!(Kind::Text.level(a, b), level, "{a} / {b}");
            assert_eq!(f.compare(0, i, 1, i), level, "{a} / {b}, prepared");
        }
    }

    #[test]
    fn fast_string_measures_agree_with_strsim() {
        let words = [
            "",
            "a",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "jellyfish",
            "smellyfish",
            "19800102",
            "19800201",
            "19810102",
            "abc",
            "ca",
            "2000",
            "4223",
            "4232",
            "crate",
            "trace",
            "ab",
            "ba",
            "éclair",
            "eclair",
        ];
        for a in words {
            for b in words {
                let want = strsim::jaro_winkler(a, b);
                assert!((jaro_winkler(a, b) - want).abs() < 1e-12, "jw {a} {b}");
                let osa = strsim::osa_distance(a, b);
                for max in 0..3 {
                    assert_eq!(bounded_dl(a, b, max), osa.min(max + 1), "dl {a} {b} {max}");
                }
            }
        }
    }

    #[test]
    fn long_descriptions_are_compared_by_their_words() {
        let words: Vec<String> = (0..60).map(|i| format!("word{i}")).collect();
        let desc = |from: usize, to: usize| words[from..to].join(" ");
        let a = desc(0, 50);
        assert!(a.len() > LONG_TEXT);
        // 48 of 50 words shared, in another order: near-identical.
        let mut b: Vec<&str> = a.split(' ').skip(2).collect();
        b.reverse();
        assert_eq!(Kind::Text.level(&a, &b.join(" ")), TEXT_CLOSE);
        // 30 of 50 shared: similar.
        assert_eq!(Kind::Text.level(&a, &desc(20, 60)), TEXT_ALIKE);
        // 5 of 50: different.
        let other: Vec<String> = (0..45).map(|i| format!("other{i}")).collect();
        let few = format!("{} {}", desc(45, 50), other.join(" "));
        assert_eq!(Kind::Text.level(&a, &few), TEXT_DIFFERENT);
        // Short text keeps Jaro-Winkler: one typo in a title.
        assert_eq!(Kind::Text.level("a study of joins", "a study of jions"), TEXT_CLOSE);
    }

    #[test]
    fn a_shared_rare_code_and_a_shared_rare_word_are_levels_of_their_own() {
        // The model number, written apart on one side, is the one rare word the names share: a
        // code. "sony" and "turntable" are on three records of a side and count for nothing;
        // "clock" is rare but no code.
        let l: Vec<Option<String>> = [
            "Sony Turntable - PSLX350H",
            "Sony Turntable - PSLX250",
            "Sony Turntable - PSLX100",
            "Sony Radio",
            "Sony Alarm Clock",
        ]
        .map(|s| Some(s.into()))
        .into();
        let r: Vec<Option<String>> =
            ["Sony PS-LX350H Belt-Drive Turntable", "Sony Turntable Clock"]
                .map(|s| Some(s.into()))
                .into();
        let f = PreparedField::new("name", Kind::Text, &l, Some(&r));
        assert_eq!(f.compare(0, 0, 1, 0), 2);
        assert_eq!(f.compare(0, 4, 1, 1), 3);
        assert_eq!(f.compare(0, 1, 1, 0), Kind::Text.level(&f.dict[1], &f.dict[5]));
        assert!(f.compare(0, 1, 1, 0) > 3);
        assert_eq!(Kind::Text.level_names()[2..4], ["a rare code shared", "a rare word shared"]);
        // A house number and its street joined are no code (`3700 w` in two addresses).
        let (a, b) = (word_hashes("3700 w flamingo"), word_hashes("3700 w flamingo rd"));
        assert_eq!(shared(&a, &b), Some(false));
        assert_eq!(shared(&word_hashes("kx tg1033s"), &word_hashes("kxtg1033s")), Some(true));
        // Written in three or four parts too; four words without a code are not joined.
        for parts in ["dvp nc800h b", "mb13 clr see v2"] {
            let whole = parts.replace(' ', "");
            assert_eq!(shared(&word_hashes(parts), &word_hashes(&whole)), Some(true), "{parts}");
        }
        assert_eq!(shared(&word_hashes("ab cd ef gh"), &word_hashes("abcdefgh")), None);
        // A street's ordinal is no code: two restaurants of 52nd Street share a word only.
        let (a, b) = (word_hashes("405 e 52nd st"), word_hashes("3 e 52nd st"));
        assert_eq!(shared(&a, &b), Some(false));
        assert!(ordinal(b"111th") && ordinal(b"21st") && !ordinal(b"1000st") && !ordinal(b"th"));
        assert_eq!(shared(&word_hashes("sx 1000st"), &word_hashes("sx1000st")), Some(true));
    }

    #[test]
    fn numbers_run_together_with_other_columns_are_no_rare_words() {
        // Two restaurants' names with their phones appended: they share the exchange `433`
        // (and `415 433`), held by no other record.
        let l: Vec<Option<String>> =
            ["vertigo 415/433-7250", "stars cafe 415/861-4344"].map(|s| Some(s.into())).into();
        let r: Vec<Option<String>> =
            ["campo santo 415-433-9623", "dotties 415-885-2767"].map(|s| Some(s.into())).into();
        let plain = PreparedField::new("name", Kind::Text, &l, Some(&r));
        assert_eq!(plain.compare(0, 0, 1, 0), TEXT_WORD);
        let together =
            PreparedField::run_together("name", Kind::Text, &l, Some(&r), &Seams::default());
        assert_eq!(together.compare(0, 0, 1, 0), TEXT_DIFFERENT);
    }

    /// Random values over small alphabets (many shared bytes, repeats and transpositions),
    /// compared with `strsim` and with the bags' bound.
    #[test]
    fn fast_measures_agree_with_strsim_on_random_values() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let alphabets: [&[u8]; 4] =
            [b"ab", b"abc d", b"0123456789", b"abcdefghijklmnopqrstuvwxyz "];
        // Pairs and floors the bags rule out without the similarity.
        let mut ruled_out = 0;
        for round in 0..40_000 {
            let abc = alphabets[round % alphabets.len()];
            let value = |rng: &mut rand_chacha::ChaCha8Rng| -> String {
                let n = match round % 50 {
                    0 => rng.gen_range(55..=70),
                    1 => rng.gen_range(60..=270),
                    _ => rng.gen_range(0..14),
                };
                (0..n).map(|_| abc[rng.gen_range(0..abc.len())] as char).collect()
            };
            let a = value(&mut rng);
            let b = if rng.gen_bool(0.3) {
                // A near copy: one or two edits.
                let mut v: Vec<u8> = a.clone().into_bytes();
                for _ in 0..rng.gen_range(1..3) {
                    if v.len() > 1 && rng.gen_bool(0.5) {
                        let k = rng.gen_range(0..v.len() - 1);
                        v.swap(k, k + 1);
                    } else if !v.is_empty() {
                        let k = rng.gen_range(0..v.len());
                        v[k] = abc[rng.gen_range(0..abc.len())];
                    }
                }
                String::from_utf8(v).unwrap()
            } else {
                value(&mut rng)
            };
            let want = strsim::jaro_winkler(&a, &b);
            let got = jaro_winkler(&a, &b);
            assert_eq!(got.to_bits(), want.to_bits(), "jw {a:?} {b:?}");
            let (ba, bb) = (LetterBag::new(&a), LetterBag::new(&b));
            for floor in [NAME_FLOOR, TEXT_FLOOR] {
                let below = ba.usable()
                    && bb.usable()
                    && jaro_winkler_below(a.as_bytes(), b.as_bytes(), &ba, &bb, floor);
                assert!(!below || want < floor, "jw {want} of {a:?} {b:?} is not below {floor}");
                ruled_out += usize::from(below);
            }
            let osa = strsim::osa_distance(&a, &b);
            if a.len() < FAST_LEN && b.len() < FAST_LEN {
                assert_eq!(osa_bit_parallel(a.as_bytes(), b.as_bytes()), osa, "osa {a:?} {b:?}");
            }
            for max in 0..4 {
                assert_eq!(bounded_dl(&a, &b, max), osa.min(max + 1), "dl {a:?} {b:?} {max}");
            }
        }
        assert!(ruled_out > 20_000, "the bags rule out {ruled_out} of 80,000");
    }

    /// The prepared comparison (bags, fast paths) gives the same level as [`Kind::level`].
    #[test]
    fn prepared_levels_agree_with_the_plain_levels() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut l: Vec<Option<String>> = ["michaela", "courtney", "stanley street", "miami", "jo"]
            .map(|s| Some(s.into()))
            .into();
        let mut r: Vec<Option<String>> = ["micheala", "painter", "stanly st", "bega flats", "joe"]
            .map(|s| Some(s.into()))
            .into();
        // Letters v-z share the code bags' classes of a-e.
        let abc = b"abcdevwxyz 0123";
        for _ in 0..60 {
            for side in [&mut l, &mut r] {
                let top = if rng.gen_bool(0.05) { 80 } else { 12 };
                let n = rng.gen_range(1..top);
                side.push(Some((0..n).map(|_| abc[rng.gen_range(0..abc.len())] as char).collect()));
            }
        }
        // Titles and descriptions (65-400 bytes) sharing some of their words.
        let vocab = ["data", "joins", "fast", "a", "study", "of", "graph", "streams", "zoë", "x1"];
        for k in 0..30 {
            let n = 12 + k * 2;
            let words: Vec<&str> = (0..n).map(|_| vocab[rng.gen_range(0..vocab.len())]).collect();
            let mut other = words.clone();
            for w in other.iter_mut().take(k % 7 * 3) {
                *w = vocab[rng.gen_range(0..vocab.len())];
            }
            l.push(Some(words.join(" ")));
            r.push(Some(other.join(" ")));
        }
        l.push(Some("zoë ann".into()));
        r.push(Some("zoe ann".into()));
        for kind in [Kind::Name, Kind::Text, Kind::Code, Kind::Date, Kind::Number, Kind::Exact] {
            let f = PreparedField::new("f", kind, &l, Some(&r));
            for i in 0..l.len() {
                for j in 0..r.len() {
                    let (a, b) = (f.ids[0][i], f.ids[1][j]);
                    if a == NONE || b == NONE {
                        continue;
                    }
                    // A rare code or word shared is a level only the prepared field knows.
                    let rare = if kind == Kind::Text && a != b {
                        shared(f.rare(a as usize), f.rare(b as usize))
                    } else {
                        None
                    };
                    let (a, b) = (&f.dict[a as usize], &f.dict[b as usize]);
                    let rare = rare.filter(|_| !other_numbers(a.as_bytes(), b.as_bytes()));
                    let plain = rare.map_or_else(
                        || kind.level(a, b),
                        |code| if code { TEXT_CODE } else { TEXT_WORD },
                    );
                    assert_eq!(f.compare(0, i, 1, j), plain, "{kind} {a:?} {b:?}");
                }
            }
        }
        // Across two fields (first name against last name), as the crosswise comparison does.
        let rev: Vec<Option<String>> = r.iter().rev().cloned().collect();
        let first = PreparedField::new("first", Kind::Name, &l, Some(&r));
        let last = PreparedField::new("last", Kind::Name, &rev, Some(&l));
        let level = |a: &Option<String>, b: &Option<String>| {
            let norm = |v: &Option<String>| v.as_deref().and_then(|v| Kind::Name.normalise(v));
            match (norm(a), norm(b)) {
                (Some(a), Some(b)) => Kind::Name.level(&a, &b),
                _ => MISSING,
            }
        };
        for i in 0..l.len() {
            for j in 0..l.len() {
                assert_eq!(first.compare_across(i, &last, 1, j), level(&l[i], &l[j]));
                assert_eq!(last.compare_across(i, &first, 0, j), level(&rev[i], &l[j]));
            }
        }
    }

    #[test]
    fn memoised_rows_are_the_rows() {
        // 40 texts drawn from few words, compared 200 x 200 twice over: the memo's slots fill,
        // collide and are overwritten, and every row stays what the fields' levels are.
        let vocab = ["inventional", "additional", "h04n", "g06f", "1", "2", "a", "b"];
        let text = |k: usize| -> Option<String> {
            let words: Vec<&str> = (0..1 + k % 5).map(|w| vocab[(k * 7 + w * 3) % 8]).collect();
            (!k.is_multiple_of(9)).then(|| words.join(" "))
        };
        let l: Vec<Option<String>> = (0..200).map(|k| text(k % 40)).collect();
        let r: Vec<Option<String>> = (0..200).map(|k| text((k * 13) % 40)).collect();
        let fields = [
            PreparedField::new("classes", Kind::Text, &l, Some(&r)),
            PreparedField::new("name", Kind::Name, &l, Some(&r)),
        ];
        let mut memo = LevelMemo::new(&fields);
        let comparer = Comparer::new(&fields, None);
        let (mut plain, mut memoised) = ([0u8; 2], [0u8; 2]);
        for _ in 0..2 {
            for (i, a) in l.iter().enumerate() {
                for (j, b) in r.iter().enumerate() {
                    comparer.row(i, 1, j, &mut plain);
                    comparer.rows(&[(i as u32, j as u32)], 1, &mut memoised, Some(&mut memo));
                    assert_eq!(plain, memoised, "{a:?} / {b:?}");
                    let fresh = [fields[0].compare(0, i, 1, j), fields[1].compare(0, i, 1, j)];
                    assert_eq!(plain, fresh, "{a:?} / {b:?}");
                }
            }
        }
    }

    #[test]
    fn ascii_folding_shortcuts_match_unicode_folding() {
        let general_fold = |s: &str| -> String {
            s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
        };
        let general_words = |s: &str| -> String {
            let folded: String = general_fold(s)
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                .collect();
            folded.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        for s in [
            "",
            "  ",
            "Zoe-Ann  O'Neil",
            "\tMAIN st.,\r\n12b ",
            "a_b~c|d",
            "ALL CAPS 123",
            "x\x0b\x0cy",
            "½ ﬁ",
        ] {
            assert_eq!(fold(s), general_fold(s), "{s:?}");
            assert_eq!(words(s), general_words(s), "{s:?}");
        }
    }

    #[test]
    fn names_fall_into_jaro_winkler_bands() {
        let k = Kind::Name;
        assert_eq!(k.level("michaela", "michaela"), EXACT);
        assert_eq!(k.level("michaela", "micheala"), 2);
        assert_eq!(k.level("neumann", "zhang"), 5);
        // A diminutive is as near as a near-identical spelling, in a prepared field too; two
        // diminutives of one formal name are not.
        assert_eq!(k.level("kathy", "catherine"), 2);
        assert_eq!(k.level("freddie", "alfie"), 5);
        let col = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        let f = PreparedField::new(
            "first",
            k,
            &col(&["Bob", "Freddie"]),
            Some(&col(&["ROBERT", "Alfie"])),
        );
        assert_eq!((f.compare(0, 0, 1, 0), f.compare(0, 1, 1, 1)), (2, 5));
        // A name of several words whose every word has a near-identical word of its own in the
        // other, in any order, is a near-identical name (as split first and last names are
        // compared crosswise); one word is not a whole name, and half the words shared is the
        // lowest band.
        assert_eq!(k.level("cook oliver", "oliver cook"), 2);
        assert_eq!(k.level("oliver cok", "cook oliver"), 2);
        assert_eq!(k.level("the palm", "palm the los angeles"), 2);
        assert_eq!(k.level("oliver", "cook oliver"), 4);
        assert_eq!(k.level("palm springs", "the palm los angeles"), 4);
        assert_eq!(k.level("john smith", "mary jones"), 5);
        assert_eq!(k.normalise("  Zoë-Ann "), Some("zoe ann".into()));
    }

    #[test]
    fn swapped_first_and_last_names_agree_crosswise() {
        let first = [Some("ryan".to_string()), Some("wright".to_string()), Some("rya".into())];
        let last = [Some("wright".to_string()), Some("ryan".to_string()), None];
        let fields = vec![
            PreparedField::new("first_name", Kind::Name, &first, None),
            PreparedField::new("last_name", Kind::Name, &last, None),
        ];
        let swap = swappable_names(&fields);
        assert_eq!(swap, Some((0, 1)));
        let middle = PreparedField::new("middle_name", Kind::Name, &first, None);
        let three = vec![fields[0].clone(), middle, fields[1].clone()];
        assert_eq!(swappable_names(&three), Some((0, 2)), "first and last of three");
        let mut row = [0u8; 2];
        Comparer::new(&fields, None).row(0, 0, 1, &mut row);
        assert_eq!(row, [5, 5], "straight, the names differ");
        let crosswise = Comparer::new(&fields, swap);
        crosswise.row(0, 0, 1, &mut row);
        assert_eq!(row, [EXACT, EXACT]);
        // A missing name leaves the straight levels.
        crosswise.row(2, 0, 1, &mut row);
        assert_eq!(row[1], MISSING);
    }

    #[test]
    fn codes_count_edits_ignoring_punctuation() {
        let k = Kind::Code;
        assert_eq!(k.normalise("53-04 218").as_deref(), Some("5304218"));
        assert_eq!(k.level("5304218", "5304281"), 2);
        assert_eq!(k.level("5304218", "5304200"), 3);
        assert_eq!(k.level("5304218", "1111111"), 4);
    }

    #[test]
    fn dates_have_partial_levels() {
        let k = Kind::Date;
        assert_eq!(k.normalise("1915-11-03").as_deref(), Some("19151103"));
        assert_eq!(k.normalise("03/11/1915").as_deref(), Some("19151103"));
        assert_eq!(k.normalise("03-NOV-1915").as_deref(), Some("19151103"));
        assert_eq!(k.normalise("November 3, 1915").as_deref(), Some("19151103"));
        assert_eq!(k.level("19151103", "19151108"), 2);
        assert_eq!(k.level("19151103", "19150311"), 3);
        assert_eq!(k.level("19151129", "19151203"), 4, "4 days apart, across a month's end");
        assert_eq!(k.level("19151103", "19151127"), 5);
        assert_eq!(k.level("19151103", "19160201"), 6, "90 days apart, across a year's end");
        assert_eq!(k.level("19151231", "19170101"), 8, "367 days apart");
        assert_eq!(k.level("19151103", "19620216"), 8);
        assert_eq!(k.level("19151103", "19621103"), 7, "the year written wrong");
        assert_eq!(k.level("19191103", "19201103"), 7, "a year apart, to the day");
        assert_eq!(day_number(b"20000301").unwrap() - day_number(b"20000228").unwrap(), 2);
        // A month-first column is read back the right way round; a day-first one is left.
        let col = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        let us = col(&["11/29/1915", "12/03/1915", "01/05/1950"]);
        let f = PreparedField::new("dob", k, &us, None);
        assert_eq!(f.dict, ["19151129", "19151203", "19500105"]);
        assert_eq!(k.level(&f.dict[0], &f.dict[1]), 4, "4 days apart");
        let eu = col(&["29/11/1915", "03/12/1915", "05/01/1950"]);
        assert_eq!(PreparedField::new("dob", k, &eu, None).dict, f.dict);
        assert_eq!(day_number(b"19151340"), None);
        // A typo (`13/03/1915`, month 13) does not hide a month-first column.
        let mut typo: Vec<String> =
            (1..=56).map(|d| format!("{:02}/{:02}/1950", 1 + d / 29, 1 + d % 28)).collect();
        typo.push("13/03/1915".into());
        let typo: Vec<Option<String>> = typo.into_iter().map(Some).collect();
        let f = PreparedField::new("dob", k, &typo, None);
        assert!(f.dict.contains(&"19500120".to_string()), "{:?}", f.dict);
        // Nor do a few month-first typos make a day-first column month first.
        let mut eu: Vec<String> = (1..=28).map(|d| format!("{d:02}/01/1950")).collect();
        eu.push("11/29/1915".into());
        let eu: Vec<Option<String>> = eu.into_iter().map(Some).collect();
        let f = PreparedField::new("dob", k, &eu, None);
        assert!(f.dict.contains(&"19500120".to_string()), "{:?}", f.dict);
    }

    #[test]
    fn numbers_compare_by_relative_difference() {
        let k = Kind::Number;
        assert_eq!(k.level("100", "100.5"), 2);
        assert_eq!(k.level("100", "95"), 3);
        assert_eq!(k.level("100", "50"), 4);
        assert_eq!(k.normalise("abc"), None);
    }

    #[test]
    fn soundex_matches_the_reference() {
        assert_eq!(soundex("robert").as_deref(), Some("R163"));
        assert_eq!(soundex("rupert").as_deref(), Some("R163"));
        assert_eq!(soundex("ashcraft").as_deref(), Some("A261"));
        assert_eq!(soundex("tymczak").as_deref(), Some("T522"));
        assert_eq!(soundex("123"), None);
    }

    #[test]
    fn prepared_field_interns_both_sides() {
        let l = vec![Some("Ann".to_string()), None];
        let r = vec![Some("ann ".to_string()), Some("Bob".to_string())];
        let f = PreparedField::new("n", Kind::Name, &l, Some(&r));
        assert_eq!(f.dict.len(), 2);
        assert_eq!(f.counts[0], [1, 1]);
        assert_eq!(f.compare(0, 0, 1, 0), EXACT);
        assert_eq!(f.compare(0, 1, 1, 0), MISSING);
    }
}
