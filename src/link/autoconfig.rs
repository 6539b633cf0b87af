//! Automatic configuration: which comparison [`Kind`] each column gets, from its name and its
//! contents, so that a user needs no settings.
//!
//! The name is read first, as words (`date_of_birth` → date, of, birth): words that mark dates,
//! codes and identifiers, postcodes, person names, addresses, categories and amounts decide the
//! kind when the contents do not contradict them (a "date" column must mostly read as dates, an
//! "amount" column as numbers, a "title" or "type" column of many distinct sentences is text).
//! Otherwise the contents decide: dates, numbers with decimals, digit codes, few distinct values
//! (categories), several words (free text), single words (names), letters and digits (codes).
//! Last, [`repeated_fields`] finds the columns that only repeat others.
//!
//! It does not own the comparison levels ([`super::compare`]) nor the blocking rules
//! ([`super::blocking`]), which follow from the kinds.

use rayon::prelude::*;

use super::compare::{normalise_date, number_value, Kind};
use crate::hash::FxHashSet;

/// Statistics of a column's non-missing values.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Non-missing values.
    pub present: usize,
    /// Distinct values.
    pub distinct: usize,
    /// Share of values that read as a calendar date.
    pub dates: f64,
    /// Share of values that are numbers.
    pub numbers: f64,
    /// Share of numbers with a decimal point.
    pub decimals: f64,
    /// Share of values made only of digits (and separators such as spaces and dashes).
    pub digit_codes: f64,
    /// Mean number of words.
    pub words: f64,
    /// Share of values with both letters and digits.
    pub alnum: f64,
    /// Share of values holding a digit.
    pub digits: f64,
}

/// Computes the [`Profile`] of some values.
pub fn profile<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Profile {
    let mut p = Profile::default();
    let mut distinct: FxHashSet<&str> = FxHashSet::default();
    let (mut dates, mut numbers, mut decimals, mut codes, mut words, mut alnum, mut digits) =
        (0, 0, 0, 0, 0, 0, 0);
    for v in values.flatten() {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        p.present += 1;
        distinct.insert(v);
        if is_date(v) {
            dates += 1;
        }
        if number_value(v).is_some() {
            numbers += 1;
            if v.contains('.') {
                decimals += 1;
            }
        }
        if v.chars().all(|c| c.is_ascii_digit() || " -+()./".contains(c))
            && v.chars().any(|c| c.is_ascii_digit())
        {
            codes += 1;
        }
        words += v.split_whitespace().count();
        let digit = v.chars().any(|c| c.is_ascii_digit());
        digits += usize::from(digit);
        if v.chars().any(char::is_alphabetic) && digit {
            alnum += 1;
        }
    }
    let n = p.present.max(1) as f64;
    p.distinct = distinct.len();
    p.dates = dates as f64 / n;
    p.numbers = numbers as f64 / n;
    p.decimals = decimals as f64 / numbers.max(1) as f64;
    p.digit_codes = codes as f64 / n;
    p.words = words as f64 / n;
    p.alnum = alnum as f64 / n;
    p.digits = digits as f64 / n;
    p
}

/// Whether `v` reads as a calendar date between the years 1000 and 2999 (day or month first).
pub fn is_date(v: &str) -> bool {
    let has_sep = v.contains(['-', '/', '.']);
    let digits_only = v.bytes().all(|b| b.is_ascii_digit());
    let named = || crate::normalize::named_month_date(v).is_some();
    if !(has_sep || (digits_only && v.len() == 8) || named()) {
        return false;
    }
    let d = normalise_date(v);
    if d.len() != 8 {
        return false;
    }
    let y: u32 = d[..4].parse().unwrap_or(0);
    let m: u32 = d[4..6].parse().unwrap_or(0);
    let day: u32 = d[6..8].parse().unwrap_or(0);
    // Month first (`MM/DD/YYYY`, read day first) counts too.
    let valid = |m: u32, day: u32| (1..=12).contains(&m) && (1..=31).contains(&day);
    (1000..3000).contains(&y) && (valid(m, day) || valid(day, m))
}

const DATE_WORDS: &[&str] = &["date", "dob", "birth", "birthday", "born", "dt", "day"];

/// Whether a column's name says date (`date_of_birth`, `dob`, `BirthDay`).
pub fn named_as_date(name: &str) -> bool {
    name_words(name).iter().any(|w| DATE_WORDS.contains(&w.as_str()))
}

const POSTCODE_WORDS: &[&str] = &["postcode", "zip", "zipcode", "postal", "plz", "postalcode"];
const CODE_WORDS: &[&str] = &[
    "id", "ssn", "sec", "soc", "code", "number", "no", "nr", "num", "iban", "passport", "licence",
    "license", "email", "mail", "account", "card", "nin", "nino", "tax", "vat", "uuid", "key",
];
/// Words of a phone column's name; such a column is a code.
const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "fax",
    "msisdn",
    "telefon",
    "telefono",
    "telefone",
    "gsm",
];
const NAME_WORDS: &[&str] = &[
    "name",
    "surname",
    "forename",
    "firstname",
    "lastname",
    "given",
    "family",
    "middle",
    "initials",
    "fname",
    "lname",
    "maiden",
];
const TEXT_WORDS: &[&str] = &[
    "address",
    "addr",
    "street",
    "road",
    "city",
    "suburb",
    "town",
    "locality",
    "place",
    "description",
    "comment",
    "line",
    "building",
    "district",
    "village",
];
const CATEGORY_WORDS: &[&str] =
    &["state", "country", "gender", "sex", "region", "county", "province", "title", "type"];
const AMOUNT_WORDS: &[&str] = &[
    "age", "amount", "income", "price", "salary", "weight", "height", "value", "score", "total",
    "balance", "revenue", "spend", "quantity", "qty",
];

const LOCATION_WORDS: &[&str] = &[
    "address", "addr", "street", "road", "city", "suburb", "town", "locality", "district",
    "village", "building", "state", "country", "region", "county", "province",
];

/// Whether a column names a part of a location (a street, a city, a postcode, a country): such
/// columns agree together, see [`super::fellegi_sunter::total_weight`].
pub fn is_location(name: &str) -> bool {
    let words = name_words(name);
    let joined = words.concat();
    let has = |list: &[&str]| {
        words.iter().any(|w| list.contains(&w.as_str()))
            || list.iter().any(|w| w.len() >= 5 && joined.contains(w))
    };
    has(LOCATION_WORDS) || has(POSTCODE_WORDS)
}

/// Whether a column's name says it holds postcodes (`postcode`, `zip`, `ZipCode`, `PLZ`).
pub fn named_as_postcode(name: &str) -> bool {
    let words = name_words(name);
    let joined = words.concat();
    words.iter().any(|w| POSTCODE_WORDS.contains(&w.as_str()))
        || POSTCODE_WORDS.iter().any(|w| w.len() >= 5 && joined.contains(w))
}

/// Whether a column's name says it holds codes: a postcode, an identifier, a phone number
/// (`birth_zip`, `date_id`).
pub fn named_as_code(name: &str) -> bool {
    let words = name_words(name);
    let lists = [POSTCODE_WORDS, CODE_WORDS, PHONE_WORDS];
    words.iter().any(|w| lists.iter().any(|l| l.contains(&w.as_str())))
}

/// Whether a column's name says it holds phone numbers (`phone`, `tel`, `mobile_no`, `fax`,
/// `telefon`).
pub fn is_phone(name: &str) -> bool {
    name_words(name).iter().any(|w| PHONE_WORDS.contains(&w.as_str()))
}

/// Whether a column's name says it holds a country (`country`, `country_code`).
pub fn is_country(name: &str) -> bool {
    name_words(name).iter().any(|w| w == "country")
}

/// Whether a column's name says it holds a gender (`gender`, `sex`, `customerGender`).
pub fn is_gender(name: &str) -> bool {
    name_words(name).iter().any(|w| GENDER_WORDS.contains(&w.as_str()))
}

/// Words of a column name that say gender.
pub const GENDER_WORDS: [&str; 2] = ["gender", "sex"];

/// Whether a column holds email addresses: nine in ten of its values (of the first 1,000 not
/// empty) read as one (see [`normalize_email`](crate::normalize::normalize_email)).
pub fn holds_emails(values: &[Option<String>]) -> bool {
    let plain = crate::normalize::EmailRules::PLAIN;
    nine_in_ten(values, |_, v| crate::normalize::normalize_email(v, plain).is_ok())
}

/// Whether nine in ten of the first 1,000 values present pass `test` (given the record).
pub fn nine_in_ten(values: &[Option<String>], test: impl Fn(usize, &str) -> bool) -> bool {
    let (passed, n) = passing(values, test);
    n > 0 && 10 * passed >= 9 * n
}

/// A part of a calendar date written in a column of its own (RLdata's `by`, `bm`, `bd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    /// A year between 1800 and 2100.
    Year,
    /// A month, 1 to 12 or an English month name (`Mar`, `march`).
    Month,
    /// A day of the month, 1 to 31.
    Day,
}

impl DatePart {
    /// The number `v` writes as this part (`1999`, `1999.0`, `03`, `Mar`), if it is one.
    ///
    /// ```
    /// use audience::link::autoconfig::DatePart;
    /// assert_eq!(DatePart::Year.read("1999.0"), Some(1999));
    /// assert_eq!(DatePart::Month.read("March"), Some(3));
    /// assert_eq!(DatePart::Day.read("32"), None);
    /// ```
    pub fn read(self, v: &str) -> Option<u32> {
        let n = Self::digits(v);
        match self {
            DatePart::Year => n.filter(|y| (1800..=2100).contains(y)),
            DatePart::Month => {
                n.filter(|m| (1..=12).contains(m)).or_else(|| crate::normalize::month_from_name(v))
            }
            DatePart::Day => n.filter(|d| (1..=31).contains(d)),
        }
    }

    /// `v` read as this part without checking its range, so that a typo (`1680`, month `0`,
    /// day `71`) is kept to be compared: up to four digits (or `NNNN.0`), or a month's name.
    pub fn read_any(self, v: &str) -> Option<u32> {
        Self::digits(v).or_else(|| {
            if self == DatePart::Month {
                crate::normalize::month_from_name(v)
            } else {
                None
            }
        })
    }

    fn digits(v: &str) -> Option<u32> {
        let v = v.trim();
        let digits = v.strip_suffix(".0").unwrap_or(v);
        let plain = !digits.is_empty() && digits.len() <= 4;
        (plain && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
    }

    /// The part a column's values write: nine in ten of them (of the first 1,000 present) read
    /// as it, and for days, a fifth are over 12, so that a month column is not a day column.
    /// `None` for any other column.
    pub fn of_column(values: &[Option<String>]) -> Option<DatePart> {
        let over_12 = |_, v: &str| DatePart::Day.read(v).is_some_and(|d| d > 12);
        [DatePart::Year, DatePart::Month, DatePart::Day].into_iter().find(|&part| {
            nine_in_ten(values, |_, v| part.read(v).is_some())
                && (part != DatePart::Day || {
                    let (over, n) = passing(values, over_12);
                    5 * over >= n
                })
        })
    }
}

/// How many of the first 1,000 values present pass `test` (given the record), and how many
/// were tested.
pub fn passing(values: &[Option<String>], test: impl Fn(usize, &str) -> bool) -> (usize, usize) {
    let present = values.iter().enumerate().filter_map(|(i, v)| Some((i, v.as_deref()?)));
    present.take(1000).fold((0, 0), |(k, n), (i, v)| (k + usize::from(test(i, v)), n + 1))
}

/// Words of a column name that say first name (`first_name`, `GivenName`, `fname`).
pub const FIRST_NAME_WORDS: [&str; 5] = ["first", "given", "forename", "firstname", "fname"];
/// Words of a column name that say last name (`last_name`, `surname`, `lname`).
pub const LAST_NAME_WORDS: [&str; 5] = ["last", "surname", "family", "lastname", "lname"];

/// Of `columns` (index and name), the one whose name has a word of `words`
/// ([`FIRST_NAME_WORDS`], [`LAST_NAME_WORDS`]); none when no column or several do.
pub fn only_named<'a>(
    columns: impl IntoIterator<Item = (usize, &'a str)>,
    words: &[&str],
) -> Option<usize> {
    let mut hits = columns
        .into_iter()
        .filter(|(_, name)| name_words(name).iter().any(|w| words.contains(&w.as_str())))
        .map(|(f, _)| f);
    hits.next().filter(|_| hits.next().is_none())
}

/// Splits a column name into lowercase words (`dateOfBirth`, `date_of_birth` → date, of, birth).
pub fn name_words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The kind of a column and the reason, for `--explain`.
pub fn infer_kind(name: &str, p: &Profile) -> (Kind, String) {
    let words = name_words(name);
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let joined = words.concat();
    let has_joined = |list: &[&str]| list.iter().any(|w| w.len() >= 5 && joined.contains(w));
    if named_as_date(name) && p.dates >= 0.5 {
        return (Kind::Date, "name and values read as dates".into());
    }
    if named_as_postcode(name) {
        return (Kind::Code, "name says postcode".into());
    }
    if has(AMOUNT_WORDS) && p.numbers >= 0.95 {
        return (Kind::Number, "name says amount and values are numbers".into());
    }
    if named_as_code(name) {
        return (Kind::Code, "name says code or identifier".into());
    }
    if has(NAME_WORDS) || has_joined(NAME_WORDS) {
        // A product's or a paper's "name" is a line of words and model numbers, not a person's.
        if p.words >= 3.5 || p.alnum >= 0.3 {
            return (Kind::Text, "name column of long values or model numbers".into());
        }
        return (Kind::Name, "name says person name".into());
    }
    if has(TEXT_WORDS) || has_joined(TEXT_WORDS) {
        return (Kind::Text, "name says address or text".into());
    }
    let categorical = p.distinct <= 30 || (p.distinct as f64) < 0.01 * p.present as f64;
    // A "title" or "type" column of sentences (a paper's title, a product's type line) is free
    // text whatever its name says: a category has short values that repeat.
    let sentences = p.words >= 2.5 && !categorical;
    if has(CATEGORY_WORDS) && !sentences {
        return (Kind::Exact, "name says category".into());
    }
    if p.dates >= 0.9 {
        return (Kind::Date, "values read as dates".into());
    }
    if p.numbers >= 0.95 && p.decimals >= 0.2 {
        return (Kind::Number, "values are decimal numbers".into());
    }
    if categorical {
        return (Kind::Exact, format!("few distinct values ({})", p.distinct));
    }
    if p.digit_codes >= 0.9 {
        return (Kind::Code, "values are digit codes".into());
    }
    if p.words >= 1.5 {
        return (Kind::Text, format!("values have {:.1} words on average", p.words));
    }
    if p.alnum >= 0.3 {
        return (Kind::Code, "values mix letters and digits".into());
    }
    // A journal's volume (`5(2)`, `82,`, `vol. 5,`) is a number written many ways, not a name.
    if p.digits >= 0.5 {
        return (Kind::Code, "values are mostly numbers".into());
    }
    (Kind::Name, "values are single words".into())
}

/// A field that repeats others, found by [`repeated_fields`].
#[derive(Debug, Clone, PartialEq)]
pub struct Repeated {
    /// The repeating field (an index into the fields given).
    pub field: usize,
    /// The fields it repeats.
    pub of: Vec<usize>,
    /// Share of the records where its words are all words of those fields.
    pub share: f64,
}

/// Records enough for [`repeated_fields`] to judge (a caller samples this many).
pub const REPEAT_SAMPLE: usize = 20_000;

/// Fields that repeat others: a `full_name` next to `first_name` and `surname`, a
/// `first_and_surname`, a copied column. A field repeats the fields each of whose words are
/// words of it in at least 80% of the records where both have a value, when in at least 60% of
/// the records where it has a value all its words are theirs. Comparing it as well would count
/// the same evidence twice, and the Fellegi-Sunter model (fields independent given the match
/// status) would turn that into confident false matches. Longer fields are looked at first, and
/// a repeating field explains no other, so of two copies one stays. `columns[f]` holds field
/// `f`'s values in some records (the same records for every field); fields marked `fixed` (set
/// by the user) are kept.
pub fn repeated_fields(columns: &[Vec<Option<&str>>], fixed: &[bool]) -> Vec<Repeated> {
    // Per field, per record: its distinct words as sorted hashes (empty when missing).
    let words: Vec<Vec<Vec<u64>>> = columns
        .par_iter()
        .map(|col| {
            col.iter()
                .map(|v| {
                    let v = v.map(super::compare::words);
                    let mut w: Vec<u64> = v
                        .as_deref()
                        .unwrap_or("")
                        .split(' ')
                        .filter(|w| !w.is_empty())
                        .map(|w| super::compare::fnv(w.as_bytes()))
                        .collect();
                    w.sort_unstable();
                    w.dedup();
                    w
                })
                .collect()
        })
        .collect();
    let within = |a: &[u64], b: &[u64]| a.iter().all(|w| b.binary_search(w).is_ok());
    let total_words = |f: usize| words[f].iter().map(Vec::len).sum::<usize>();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&f| std::cmp::Reverse(total_words(f)));
    let mut out: Vec<Repeated> = Vec::new();
    for &c in &order {
        if fixed.get(c).copied().unwrap_or(false) {
            continue;
        }
        let of: Vec<usize> = (0..columns.len())
            .into_par_iter()
            .filter(|&o| o != c && !out.iter().any(|r| r.field == o))
            .filter(|&o| {
                let (mut both, mut inside) = (0, 0);
                for (wc, wo) in words[c].iter().zip(&words[o]) {
                    if !wc.is_empty() && !wo.is_empty() {
                        both += 1;
                        inside += usize::from(within(wo, wc));
                    }
                }
                both >= 20 && inside * 5 >= both * 4
            })
            .collect();
        if of.is_empty() {
            continue;
        }
        let (mut present, mut explained) = (0, 0);
        for (i, wc) in words[c].iter().enumerate().filter(|(_, w)| !w.is_empty()) {
            present += 1;
            explained += usize::from(
                wc.iter().all(|w| of.iter().any(|&o| words[o][i].binary_search(w).is_ok())),
            );
        }
        if present >= 20 && explained * 5 >= present * 3 {
            out.push(Repeated { field: c, of, share: explained as f64 / present as f64 });
        }
    }
    out.sort_by_key(|r| r.field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, values: &[&str]) -> Kind {
        infer_kind(name, &profile(values.iter().map(|v| Some(*v)))).0
    }

    #[test]
    fn febrl_like_columns_get_their_kinds() {
        assert_eq!(kind("given_name", &["michaela", "courtney"]), Kind::Name);
        assert_eq!(kind("surname", &["neumann", "painter"]), Kind::Name);
        assert_eq!(kind("street_number", &["8", "12"]), Kind::Code);
        assert_eq!(kind("address_1", &["stanley street", "pinkerton circuit"]), Kind::Text);
        assert_eq!(kind("suburb", &["winston hills", "richlands"]), Kind::Text);
        assert_eq!(kind("postcode", &["4223", "4560"]), Kind::Code);
        assert_eq!(kind("state", &["nsw", "vic"]), Kind::Exact);
        assert_eq!(kind("date_of_birth", &["19151111", "19161214"]), Kind::Date);
        assert_eq!(kind("soc_sec_id", &["5304218", "4066625"]), Kind::Code);
    }

    #[test]
    fn month_first_dates_read_as_dates() {
        assert!(is_date("11/29/1915") && is_date("29/11/1915") && is_date("1915-11-29"));
        assert!(!is_date("13/13/1915") && !is_date("11/32/1915"));
    }

    #[test]
    fn contents_decide_when_the_name_says_nothing() {
        assert_eq!(kind("c1", &["2001-02-03", "1999-12-31"]), Kind::Date);
        let decimals: Vec<String> = (0..50).map(|i| format!("{i}.5")).collect();
        let decimals: Vec<&str> = decimals.iter().map(String::as_str).collect();
        assert_eq!(kind("c2", &decimals), Kind::Number);
        let many: Vec<String> = (0..100).map(|i| format!("{}", 100_000 + i * 7)).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(kind("c3", &many), Kind::Code);
        assert_eq!(kind("c4", &["a", "b", "a"]), Kind::Exact);
        let words: Vec<String> = (0..100).map(|i| format!("word{i} other{i}x")).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_eq!(kind("c5", &words), Kind::Text);
        assert_eq!(kind("dateOfBirth", &["1990-01-02"]), Kind::Date);
        assert_eq!(kind("c2", &["05-Mar-1961", "March 5, 1961", "5 mar 1961"]), Kind::Date);
        assert_eq!(kind("age", &["31", "45"]), Kind::Number);
        // A journal's volume, written many ways (Cora's citations), is no name.
        let volumes: Vec<String> = (0..60)
            .map(|i| match i % 4 {
                0 => format!("{i}({})", i % 3),
                3 => format!("vol. {i},"),
                _ => format!("{i},"),
            })
            .collect();
        let volumes: Vec<&str> = volumes.iter().map(String::as_str).collect();
        assert_eq!(kind("volume", &volumes), Kind::Code);
    }

    #[test]
    fn a_category_name_over_sentences_is_free_text() {
        assert_eq!(kind("title", &["mr", "mrs", "dr", "mr"]), Kind::Exact);
        let titles: Vec<String> =
            (0..100).map(|i| format!("A study of query plan {i} in stream systems")).collect();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        assert_eq!(kind("title", &titles), Kind::Text);
        assert_eq!(
            kind("type", &["coffee shops/diners", "italian", "american (new)"]),
            Kind::Exact
        );
    }

    #[test]
    fn a_full_name_next_to_its_parts_and_a_copied_column_are_repeats() {
        let first = ["Ann", "Bob", "Eve", "Ian", "Joe"];
        let last = ["Smith", "Jones", "Brown", "Evans", "Kirk"];
        let (mut f, mut l, mut full, mut city, mut town, mut note) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for i in 0..100 {
            f.push(first[i % 5].to_string());
            l.push(last[i / 20].to_string());
            // Every fourth full name carries a title the parts do not have.
            let title = if i % 4 == 0 { "Dr " } else { "" };
            full.push(format!("{title}{} {}", first[i % 5], last[i / 20]));
            city.push(["Leeds", "York"][i % 2].to_string());
            town.push(["Leeds", "York"][i % 2].to_string());
            // A note that mentions the surname but says more.
            note.push(format!("met {} on day {i}", last[i / 20]));
        }
        fn col(v: &[String]) -> Vec<Option<&str>> {
            v.iter().map(|s| Some(s.as_str())).collect()
        }
        let columns = [col(&f), col(&l), col(&full), col(&city), col(&town), col(&note)];
        let found = repeated_fields(&columns, &[false; 6]);
        assert_eq!(
            found,
            vec![
                Repeated { field: 2, of: vec![0, 1], share: 0.75 },
                Repeated { field: 3, of: vec![4], share: 1.0 },
            ],
            "the full name repeats first and last name; one of the two copies goes"
        );
        // A field the user set is kept.
        let fixed = [false, false, true, false, false, false];
        assert_eq!(repeated_fields(&columns, &fixed).len(), 1);
    }

    #[test]
    fn name_words_split_snake_and_camel_case() {
        assert_eq!(name_words("dateOfBirth"), ["date", "of", "birth"]);
        assert_eq!(name_words("soc_sec_id"), ["soc", "sec", "id"]);
    }
}
