//! Comparison levels: how two values of one field are compared.
//!
//! Owns the comparison [`Kind`]s, the normalisation of raw values for each kind, the interning of
//! normalised values into a per-field dictionary ([`PreparedField`]) and the function that puts
//! a pair of values into a level ([`Kind::level`]).
//!
//! Levels are small integers. Level [`MISSING`] (0) means one side is missing: it is neutral (no
//! evidence either way) and is left out of the Fellegi-Sunter product. Level [`EXACT`] (1) is an
//! exact match of the normalised values; then come the partial levels of the kind, best first; the
//! last level is "different". Every level has a name shown by `--explain`.
//!
//! It does not own the weights (see [`super::fellegi_sunter`]) nor the choice of kind for a
//! column (see [`super::autoconfig`]).

use std::collections::HashMap;
use std::fmt;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

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
    /// Free text and addresses: exact, Jaro-Winkler ≥ 0.92, ≥ 0.80 or half the words shared,
    /// different.
    Text,
    /// Codes and identifiers (postcodes, social security numbers, phones): exact,
    /// Damerau-Levenshtein ≤ 1, ≤ 2, different. Spaces and punctuation are ignored.
    Code,
    /// Dates: exact, one digit off (or two adjacent digits transposed), day and month swapped,
    /// same year and month, different.
    Date,
    /// Numbers: exact, within 1 %, within 10 %, different.
    Number,
    /// Not compared.
    Ignore,
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
            Kind::Name => &["missing", "exact", "jw>=0.92", "jw>=0.88", "jw>=0.70", "different"],
            Kind::Text => &["missing", "exact", "jw>=0.92", "jw>=0.80|words>=0.5", "different"],
            Kind::Code => &["missing", "exact", "dl<=1", "dl<=2", "different"],
            Kind::Date => &[
                "missing",
                "exact",
                "one digit off",
                "day/month swapped",
                "same month",
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

    /// Normalises a raw value for this kind; `None` when nothing is left (treated as missing).
    pub fn normalise(self, raw: &str) -> Option<String> {
        let s = match self {
            Kind::Ignore => return None,
            Kind::Code => fold(raw).chars().filter(|c| c.is_alphanumeric()).collect(),
            Kind::Date => normalise_date(raw),
            Kind::Number => {
                let t = raw.trim().replace([',', '_', ' '], "");
                t.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| x.to_string())?
            }
            Kind::Exact | Kind::Name | Kind::Text => words(raw),
        };
        (!s.is_empty()).then_some(s)
    }

    /// The level of two normalised, non-missing, different-looking values (exact equality is
    /// detected by the caller through the dictionary ids).
    pub fn level(self, a: &str, b: &str) -> u8 {
        if a == b {
            return EXACT;
        }
        match self {
            Kind::Ignore => MISSING,
            Kind::Exact => 2,
            Kind::Name => {
                let jw = jaro_winkler(a, b);
                if jw >= 0.92 {
                    2
                } else if jw >= 0.88 {
                    3
                } else if jw >= 0.70 {
                    4
                } else {
                    5
                }
            }
            Kind::Text => {
                let jw = jaro_winkler(a, b);
                if jw >= 0.92 {
                    2
                } else if jw >= 0.80 || word_overlap(a, b) >= 0.5 {
                    3
                } else {
                    4
                }
            }
            Kind::Code => match bounded_dl(a, b, 2) {
                1 => 2,
                2 => 3,
                _ => 4,
            },
            Kind::Date => {
                if bounded_dl(a, b, 1) <= 1 {
                    2
                } else if a.len() == 8 && b.len() == 8 {
                    let (ab, bb) = (a.as_bytes(), b.as_bytes());
                    if ab[..4] == bb[..4] && ab[4..6] == bb[6..8] && ab[6..8] == bb[4..6] {
                        3
                    } else if ab[..6] == bb[..6] {
                        4
                    } else {
                        5
                    }
                } else {
                    5
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

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lowercase, accents removed (NFKD without combining marks).
pub fn fold(s: &str) -> String {
    s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Folded, punctuation turned into spaces, runs of spaces collapsed.
pub fn words(s: &str) -> String {
    let folded: String =
        fold(s).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A date as `YYYYMMDD` when it can be read as one (`YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD`,
/// `DD/MM/YYYY`, `DD.MM.YYYY`, optionally followed by a time); otherwise its digits.
pub fn normalise_date(raw: &str) -> String {
    let raw = raw.trim();
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

/// Share of the words of the shorter value found in the other.
fn word_overlap(a: &str, b: &str) -> f64 {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut n = 0;
    let mut hit = 0;
    for w in short.split(' ') {
        n += 1;
        if long.split(' ').any(|x| x == w) {
            hit += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// Longest ASCII value compared on the allocation-free paths.
const FAST_LEN: usize = 64;

/// Damerau-Levenshtein distance (optimal string alignment: adjacent transpositions count one
/// edit), or `max + 1` as soon as it is known to exceed `max`. ASCII values up to 64 bytes are
/// compared on the stack, row by row, stopping when a whole row exceeds `max`; others go through
/// `strsim`.
pub fn bounded_dl(a: &str, b: &str, max: usize) -> usize {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() < FAST_LEN && y.len() < FAST_LEN) {
        let (la, lb) = (a.chars().count(), b.chars().count());
        if la.abs_diff(lb) > max {
            return max + 1;
        }
        return strsim::osa_distance(a, b).min(max + 1);
    }
    if x.len().abs_diff(y.len()) > max {
        return max + 1;
    }
    let n = y.len();
    let mut prev2 = [0usize; FAST_LEN];
    let mut prev = [0usize; FAST_LEN];
    let mut cur = [0usize; FAST_LEN];
    for (j, p) in prev.iter_mut().enumerate().take(n + 1) {
        *p = j;
    }
    for i in 1..=x.len() {
        cur[0] = i;
        let mut row_min = i;
        for j in 1..=n {
            let cost = usize::from(x[i - 1] != y[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[n].min(max + 1)
}

/// Jaro-Winkler similarity, the same as `strsim::jaro_winkler`, without allocating for ASCII
/// values up to 64 bytes.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() <= FAST_LEN && y.len() <= FAST_LEN) {
        return strsim::jaro_winkler(a, b);
    }
    let (la, lb) = (x.len(), y.len());
    if la == 0 && lb == 0 {
        return 1.0;
    } else if la == 0 || lb == 0 {
        return 0.0;
    }
    let range = (la.max(lb) / 2).saturating_sub(1);
    let mut fa = [false; FAST_LEN];
    let mut fb = [false; FAST_LEN];
    let mut matches = 0usize;
    for i in 0..la {
        let lo = i.saturating_sub(range);
        let hi = lb.min(i + range + 1);
        for j in lo..hi {
            if !fb[j] && x[i] == y[j] {
                fa[i] = true;
                fb[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut j = 0usize;
    for i in 0..la {
        if fa[i] {
            while !fb[j] {
                j += 1;
            }
            if x[i] != y[j] {
                t += 1;
            }
            j += 1;
        }
    }
    let m = matches as f64;
    let sim = (m / la as f64 + m / lb as f64 + (matches - t / 2) as f64 / m) / 3.0;
    if sim > 0.7 {
        let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
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
}

impl PreparedField {
    /// Normalises and interns the values of one field on the left and (optionally) right side.
    pub fn new(
        name: &str,
        kind: Kind,
        left: &[Option<String>],
        right: Option<&[Option<String>]>,
    ) -> Self {
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut dict = Vec::new();
        let mut counts: Vec<[u32; 2]> = Vec::new();
        let mut intern = |values: &[Option<String>], side: usize| -> Vec<u32> {
            values
                .iter()
                .map(|v| match v.as_deref().and_then(|v| kind.normalise(v)) {
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
        PreparedField { name: name.to_string(), kind, dict, ids: [l, r], counts }
    }

    /// The level of record `i` on side `si` against record `j` on side `sj`.
    #[inline]
    pub fn compare(&self, si: usize, i: usize, sj: usize, j: usize) -> u8 {
        let (a, b) = (self.ids[si][i], self.ids[sj][j]);
        if a == NONE || b == NONE {
            MISSING
        } else if a == b {
            EXACT
        } else {
            self.kind.level(&self.dict[a as usize], &self.dict[b as usize])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn names_fall_into_jaro_winkler_bands() {
        let k = Kind::Name;
        assert_eq!(k.level("michaela", "michaela"), EXACT);
        assert_eq!(k.level("michaela", "micheala"), 2);
        assert_eq!(k.level("neumann", "zhang"), 5);
        assert_eq!(k.normalise("  Zoë-Ann "), Some("zoe ann".into()));
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
        assert_eq!(k.level("19151103", "19151108"), 2);
        assert_eq!(k.level("19151103", "19150311"), 3);
        assert_eq!(k.level("19151103", "19151127"), 4);
        assert_eq!(k.level("19151103", "19620216"), 5);
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
