//! Normalisation of identifiers and contact fields: the one place that decides what an email, a
//! phone number, a name or a birth date looks like before it is matched or hashed.
//!
//! Owns the rules below, their version ([`NORMALIZATION_SPEC`], written into every export
//! manifest) and SHA-256 hashing ([`sha256_hex`]). Identity resolution and export both call it,
//! so a value hashed for matching and the same value hashed for a destination agree.
//!
//! It does not own which destination wants which field (see [`crate::export`]), nor matching.
//!
//! Every identifier is a `(kind, value)` pair ([`Identifier`]); PII (email, phone) is SHA-256
//! hashed (lowercase hex) once normalised. A value that cannot be normalised is an [`Invalid`]
//! error value, which names the field and the rule that failed but never carries the raw value,
//! so it can be logged and counted without leaking PII. Invalid values are never passed on raw.
//!
//! # Rules (spec `audience-norm/1`)
//! - **email**: trim, lowercase; valid when it has exactly one `@`, a non-empty local part, a
//!   domain with a dot and no empty label, no whitespace, control characters or `,;<>()[]\"`, and
//!   at most 254 bytes. Options ([`EmailRules`]): remove the dots of the local part of
//!   `gmail.com`/`googlemail.com` addresses; strip a `+tag` (Gmail only, or every domain); map
//!   `googlemail.com` to `gmail.com`.
//! - **phone**: E.164 (`+` then 8 to 15 digits). Separators `space - . ( ) /` are ignored, an
//!   extension (`ext`, `x`, `#`) is cut. `+` or `00` starts an international number (and `011`
//!   when the country is US); a national number needs a country (the row's, else a default) and
//!   loses its trunk prefix. FR, DE, GB, ES, IT, US, BE, NL and CH have plans here (code, trunk
//!   prefix, national length); the numbers of every other country, national or international,
//!   are read with libphonenumber's metadata (the `phonenumber` crate) and must be valid numbers
//!   of their country. Letters or a national number without a country are invalid.
//!   [`Phone::e164`] gives `+33612345678` (Google), [`Phone::digits`] gives `33612345678` (Meta).
//! - **names**: [`fold_name`] for comparison (accents and case folded, punctuation to spaces);
//!   [`export_name`] for destinations: NFC, lowercase, only letters kept (`José` → `josé`,
//!   `Mary-Jane` → `maryjane`, `van der Berg` → `vanderberg`).
//! - **city**: folded to letters and digits without spaces (`Saint-Étienne` → `saintetienne`).
//! - **state**: 2-letter code, lowercase, where one exists (US states by name or code); other
//!   regions are folded like cities.
//! - **zip**: lowercase without spaces; per country: US 5 digits (ZIP+4 cut, leading zeros lost
//!   by spreadsheets restored), FR/DE/ES/IT 5 digits, BE/CH 4 digits, NL `1234ab`, GB 5 to 7
//!   letters and digits; other countries: letters, digits and `-`.
//! - **country**: ISO 3166-1 alpha-2 from an alpha-2 or alpha-3 code or an English (and a few
//!   French, German, Spanish, Italian, Dutch) names.
//! - **gender**: `m` or `f` from M/F, male/female, homme/femme, Mr/Mrs, Herr/Frau, ...
//! - **birth date**: `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`, `DD.MM.YYYY`; `DD/MM/YYYY` or
//!   `MM/DD/YYYY` when the day is over 12 or the order is given by [`DateOrder`]; a month's
//!   English name with a day and a four-digit year (`31-Jul-1980`, `July 31, 1980`); a
//!   two-digit year last (`31/07/80`, Oracle's `31-JUL-80`) or first where it is over 31
//!   (`80-07-31`), read as 20yy up to this year and 19yy before; a real calendar date from 1900
//!   up to today.
//! - **MAID** (IDFA/AAID): a UUID, lowercase with dashes; the all-zero id (tracking limited) is
//!   invalid.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The version of the rules in this module; every export manifest records it. Change it whenever
/// a rule changes the output for some input.
pub const NORMALIZATION_SPEC: &str = "audience-norm/2";

/// A field a value belongs to, as named in [`Invalid`] and in export counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// First or last name.
    Name,
    /// City.
    City,
    /// State or region.
    State,
    /// Postcode.
    Zip,
    /// Country.
    Country,
    /// Gender.
    Gender,
    /// Birth date.
    BirthDate,
    /// Mobile advertising id.
    Maid,
}

impl Field {
    /// The field's name in messages and counts.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Name => "name",
            Field::City => "city",
            Field::State => "state",
            Field::Zip => "zip",
            Field::Country => "country",
            Field::Gender => "gender",
            Field::BirthDate => "birth_date",
            Field::Maid => "maid",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that could not be normalised: the field and the rule it broke. It never holds the raw
/// value, so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct Invalid {
    /// The field.
    pub field: Field,
    /// The rule that failed.
    pub reason: &'static str,
}

fn invalid<T>(field: Field, reason: &'static str) -> Result<T, Invalid> {
    Err(Invalid { field, reason })
}

/// The kind of an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// SHA-256 of a normalised email.
    Email,
    /// SHA-256 of an E.164 phone number.
    Phone,
    /// A mobile advertising id (IDFA/AAID), normalised, not hashed.
    Maid,
    /// A cookie id, as set.
    Cookie,
    /// The advertiser's own customer id.
    FirstPartyId,
}

impl IdKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Email => "email",
            IdKind::Phone => "phone",
            IdKind::Maid => "maid",
            IdKind::Cookie => "cookie",
            IdKind::FirstPartyId => "first_party_id",
        }
    }
}

/// An identifier: its kind and its normalised (for PII: hashed) value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    /// What it is.
    pub kind: IdKind,
    /// The value: lowercase SHA-256 hex for emails and phones.
    pub value: String,
}

impl Identifier {
    /// The identifier of an email: SHA-256 of the address normalised with `rules`.
    ///
    /// ```
    /// use audience::normalize::{EmailRules, IdKind, Identifier};
    /// let id = Identifier::email(" Ann@Example.com ", EmailRules::PLAIN).unwrap();
    /// assert_eq!(id.kind, IdKind::Email);
    /// assert_eq!(id.value, audience::normalize::sha256_hex("ann@example.com"));
    /// assert!(Identifier::email("not-an-email", EmailRules::PLAIN).is_err());
    /// ```
    pub fn email(raw: &str, rules: EmailRules) -> Result<Identifier, Invalid> {
        Ok(Identifier { kind: IdKind::Email, value: sha256_hex(&normalize_email(raw, rules)?) })
    }

    /// The identifier of a phone number: SHA-256 of its E.164 form (`+` included).
    ///
    /// ```
    /// use audience::normalize::Identifier;
    /// let id = Identifier::phone("06 12 34 56 78", Some("FR")).unwrap();
    /// assert_eq!(id.value, audience::normalize::sha256_hex("+33612345678"));
    /// ```
    pub fn phone(raw: &str, default_country: Option<&str>) -> Result<Identifier, Invalid> {
        Ok(Identifier {
            kind: IdKind::Phone,
            value: sha256_hex(&parse_phone(raw, default_country)?.e164()),
        })
    }

    /// The identifier of a mobile advertising id (normalised, not hashed).
    pub fn maid(raw: &str) -> Result<Identifier, Invalid> {
        Ok(Identifier { kind: IdKind::Maid, value: normalize_maid(raw)? })
    }
}

/// SHA-256 of `s` as lowercase hex.
///
/// ```
/// assert_eq!(
///     audience::normalize::sha256_hex("abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(s: &str) -> String {
    let mut buf = [0u8; 64];
    sha256_hex_into(s.as_bytes(), &mut buf);
    String::from_utf8(buf.to_vec()).expect("hex is ASCII")
}

/// SHA-256 of `bytes` as lowercase hex into `out`, without allocating.
pub fn sha256_hex_into(bytes: &[u8], out: &mut [u8; 64]) {
    let digest = Sha256::digest(bytes);
    hex::encode_to_slice(digest, out).expect("64 bytes hold 32 bytes of hex");
}

// ---------------------------------------------------------------------------------------------
// Email

/// Optional email rules on top of trim + lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailRules {
    /// Remove the dots of the local part of `gmail.com` and `googlemail.com` addresses.
    pub gmail_dots: bool,
    /// Strip a `+tag` from the local part of `gmail.com` and `googlemail.com` addresses.
    pub gmail_plus_tag: bool,
    /// Strip a `+tag` from the local part of every address.
    pub any_plus_tag: bool,
    /// Rewrite `googlemail.com` to `gmail.com`.
    pub googlemail_to_gmail: bool,
}

impl EmailRules {
    /// Trim and lowercase only (Meta, LiveRamp).
    pub const PLAIN: EmailRules = EmailRules {
        gmail_dots: false,
        gmail_plus_tag: false,
        any_plus_tag: false,
        googlemail_to_gmail: false,
    };
    /// Google's documented Customer Match rule: also remove the dots before `@gmail.com` and
    /// `@googlemail.com`.
    pub const GOOGLE: EmailRules = EmailRules { gmail_dots: true, ..EmailRules::PLAIN };
    /// The UID2 rule (DSP hashed emails): Gmail dots and Gmail `+tag` removed.
    pub const UID2: EmailRules =
        EmailRules { gmail_dots: true, gmail_plus_tag: true, ..EmailRules::PLAIN };
    /// Identity matching: every rule, so that the variants of one mailbox meet.
    pub const IDENTITY: EmailRules = EmailRules {
        gmail_dots: true,
        gmail_plus_tag: true,
        any_plus_tag: true,
        googlemail_to_gmail: true,
    };
}

/// Normalises an email address (see the module docs).
///
/// ```
/// use audience::normalize::{normalize_email, EmailRules};
/// assert_eq!(normalize_email("  John.Doe@Example.COM ", EmailRules::PLAIN).unwrap(), "john.doe@example.com");
/// assert_eq!(normalize_email("J.Doe+news@googlemail.com", EmailRules::GOOGLE).unwrap(), "jdoe+news@googlemail.com");
/// assert_eq!(normalize_email("J.Doe+news@googlemail.com", EmailRules::IDENTITY).unwrap(), "jdoe@gmail.com");
/// assert!(normalize_email("john.doe@example", EmailRules::PLAIN).is_err());
/// ```
pub fn normalize_email(raw: &str, rules: EmailRules) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return invalid(Field::Email, "empty");
    }
    if s.len() > 254 {
        return invalid(Field::Email, "longer than 254 bytes");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control() || ",;<>()[]\\\"".contains(c)) {
        return invalid(Field::Email, "contains spaces or characters not allowed in an address");
    }
    let lower = if s.is_ascii() { s.to_ascii_lowercase() } else { s.to_lowercase() };
    let mut parts = lower.split('@');
    let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(d), None) => (l, d),
        (_, None, _) => return invalid(Field::Email, "no @"),
        _ => return invalid(Field::Email, "more than one @"),
    };
    if local.is_empty() {
        return invalid(Field::Email, "empty local part before @");
    }
    if !domain.contains('.') {
        return invalid(Field::Email, "domain without a dot");
    }
    if domain.split('.').any(str::is_empty) {
        return invalid(
            Field::Email,
            "domain with an empty label (leading, trailing or double dot)",
        );
    }
    let gmail = domain == "gmail.com" || domain == "googlemail.com";
    let mut local = local.to_string();
    if rules.any_plus_tag || (gmail && rules.gmail_plus_tag) {
        if let Some(p) = local.find('+') {
            local.truncate(p);
        }
    }
    if gmail && rules.gmail_dots {
        local.retain(|c| c != '.');
    }
    if local.is_empty() {
        return invalid(Field::Email, "empty local part once normalised");
    }
    let domain =
        if domain == "googlemail.com" && rules.googlemail_to_gmail { "gmail.com" } else { domain };
    Ok(format!("{local}@{domain}"))
}

// ---------------------------------------------------------------------------------------------
// Phone

/// A country's numbering plan, as far as normalisation needs it.
#[derive(Debug, Clone, Copy)]
struct Plan {
    country: &'static str,
    code: &'static str,
    /// The trunk prefix dialled before national numbers (dropped in E.164).
    trunk: Option<u8>,
    /// Allowed lengths of the national significant number.
    min: usize,
    max: usize,
}

const PLANS: [Plan; 9] = [
    Plan { country: "FR", code: "33", trunk: Some(b'0'), min: 9, max: 9 },
    Plan { country: "DE", code: "49", trunk: Some(b'0'), min: 6, max: 13 },
    Plan { country: "GB", code: "44", trunk: Some(b'0'), min: 9, max: 10 },
    Plan { country: "ES", code: "34", trunk: None, min: 9, max: 9 },
    Plan { country: "IT", code: "39", trunk: None, min: 6, max: 11 },
    Plan { country: "US", code: "1", trunk: Some(b'1'), min: 10, max: 10 },
    Plan { country: "BE", code: "32", trunk: Some(b'0'), min: 8, max: 9 },
    Plan { country: "NL", code: "31", trunk: Some(b'0'), min: 9, max: 9 },
    Plan { country: "CH", code: "41", trunk: Some(b'0'), min: 9, max: 9 },
];

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    digits: String,
}

impl Phone {
    /// `+` and the digits: `+33612345678`.
    pub fn e164(&self) -> String {
        format!("+{}", self.digits)
    }

    /// The digits with the country code, without `+` or leading zeros: `33612345678` (Meta).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The country of its calling code (ISO alpha-2): `FR` for `+33612345678`. `+1` is `US`;
    /// for other codes several countries share (`+7`), the one libphonenumber's metadata
    /// gives the number.
    ///
    /// ```
    /// use audience::normalize::parse_phone;
    /// assert_eq!(parse_phone("+33 6 12 34 56 78", None).unwrap().country(), Some("FR"));
    /// assert_eq!(parse_phone("+48 512 345 678", None).unwrap().country(), Some("PL"));
    /// ```
    pub fn country(&self) -> Option<&'static str> {
        if let Some(p) = PLANS.iter().find(|p| self.digits.starts_with(p.code)) {
            return Some(p.country);
        }
        let number = phonenumber::parse(None, format!("+{}", self.digits)).ok()?;
        normalize_country(number.country().id()?.as_ref()).ok()
    }
}

/// Parses a phone number to E.164; `default_country` (ISO alpha-2, any case) is used for
/// national numbers. See the module docs for the rules.
///
/// ```
/// use audience::normalize::parse_phone;
/// assert_eq!(parse_phone("06 12 34 56 78", Some("FR")).unwrap().e164(), "+33612345678");
/// assert_eq!(parse_phone("0033 6 12 34 56 78", Some("FR")).unwrap().e164(), "+33612345678");
/// assert_eq!(parse_phone("+44 (0)20 7946 0018", None).unwrap().e164(), "+442079460018");
/// assert_eq!(parse_phone("(415) 555-2671", Some("US")).unwrap().digits(), "14155552671");
/// assert!(parse_phone("06 12 34 56 78", None).is_err()); // national, but which country?
/// assert_eq!(parse_phone("+44 20 7946 0018", None).unwrap().country(), Some("GB"));
/// ```
pub fn parse_phone(raw: &str, default_country: Option<&str>) -> Result<Phone, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return invalid(Field::Phone, "empty");
    }
    let lower = s.to_ascii_lowercase();
    let cut = ["ext", "x", "#", ";"].iter().filter_map(|m| lower.find(m)).min();
    let body = &s[..cut.unwrap_or(s.len())];
    let mut digits = String::with_capacity(body.len());
    let mut plus = false;
    for (i, c) in body.trim().char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return invalid(Field::Phone, "contains letters or symbols"),
        }
    }
    if digits.is_empty() {
        return invalid(Field::Phone, "no digits");
    }
    if digits.len() > 18 {
        return invalid(Field::Phone, "too many digits");
    }
    let country = default_country.map(str::trim).filter(|c| !c.is_empty());
    let plan = country.and_then(|c| PLANS.iter().find(|p| p.country.eq_ignore_ascii_case(c)));
    let international = if plus {
        Some(digits.as_str())
    } else if let Some(rest) = digits.strip_prefix("00") {
        Some(rest)
    } else if matches!(plan, Some(p) if p.country == "US") {
        digits.strip_prefix("011")
    } else {
        None
    };
    if let Some(intl) = international {
        return international_number(intl);
    }
    let Some(country) = country else {
        return invalid(Field::Phone, "national number without a country");
    };
    let Some(plan) = plan else {
        return metadata_number(&digits, Some(country));
    };
    national_number(&digits, plan)
        .or_else(|e| match digits.strip_prefix(plan.code) {
            // Digits that already start with the country code ("33612345678" in FR).
            Some(rest) if plan.trunk.is_none_or(|t| !rest.starts_with(t as char)) => {
                national_number(rest, plan).map_err(|_| e)
            }
            _ => Err(e),
        })
        .map(|nsn| Phone { digits: format!("{}{nsn}", plan.code) })
}

/// The national significant number of `digits` dialled nationally in `plan`'s country.
fn national_number<'a>(digits: &'a str, plan: &Plan) -> Result<&'a str, Invalid> {
    let nsn = match plan.trunk {
        Some(t) if digits.as_bytes().first() == Some(&t) => &digits[1..],
        _ => digits,
    };
    check_nsn(nsn, plan)?;
    Ok(nsn)
}

fn check_nsn(nsn: &str, plan: &Plan) -> Result<(), Invalid> {
    if nsn.len() < plan.min || nsn.len() > plan.max {
        return invalid(Field::Phone, "wrong number of digits for the country");
    }
    let b = nsn.as_bytes();
    if plan.trunk == Some(b'0') && b[0] == b'0' {
        return invalid(Field::Phone, "national number starts with 0 after the trunk prefix");
    }
    if plan.country == "US" && (b[0] < b'2' || b[3] < b'2') {
        return invalid(Field::Phone, "US area code and exchange cannot start with 0 or 1");
    }
    Ok(())
}

fn international_number(intl: &str) -> Result<Phone, Invalid> {
    if let Some(plan) = PLANS.iter().find(|p| intl.starts_with(p.code)) {
        let rest = &intl[plan.code.len()..];
        // "+44 (0)20 ...": a trunk 0 written after the country code is dropped.
        let nsn = match plan.trunk {
            Some(b'0') => rest.strip_prefix('0').unwrap_or(rest),
            _ => rest,
        };
        check_nsn(nsn, plan)?;
        return Ok(Phone { digits: format!("{}{nsn}", plan.code) });
    }
    if intl.starts_with('0') {
        return invalid(Field::Phone, "country code cannot start with 0");
    }
    metadata_number(intl, None)
}

/// A number of a country without a plan here, read with libphonenumber's metadata: the national
/// `digits` of `country` (ISO alpha-2), or with `None`, international digits that start with the
/// calling code. It must be a valid number of its country (a known range, of the right length).
fn metadata_number(digits: &str, country: Option<&str>) -> Result<Phone, Invalid> {
    let number = match country {
        Some(c) => {
            let id = c.to_ascii_uppercase().parse::<phonenumber::country::Id>().map_err(|_| {
                Invalid { field: Field::Phone, reason: "unknown country code (want ISO alpha-2)" }
            })?;
            phonenumber::parse(Some(id), digits)
        }
        None => phonenumber::parse(None, format!("+{digits}")),
    };
    let number =
        number.map_err(|_| Invalid { field: Field::Phone, reason: "not a phone number" })?;
    if !phonenumber::is_valid(&number) {
        return invalid(Field::Phone, "not a valid number of its country");
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    Ok(Phone { digits: e164.trim_start_matches('+').to_string() })
}

// ---------------------------------------------------------------------------------------------
// Names, cities, states

fn special_fold(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// Folds a name for comparison: accents removed, lowercase, letters that do not decompose mapped
/// (`ß` → `ss`, `ø` → `o`, ...), every run of punctuation or spaces made one space, trimmed.
///
/// ```
/// use audience::normalize::fold_name;
/// assert_eq!(fold_name("  JOSÉ  María "), "jose maria");
/// assert_eq!(fold_name("Müller-Lüdenscheidt"), "muller ludenscheidt");
/// assert_eq!(fold_name("Øster, Straße"), "oster strasse");
/// ```
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            match special_fold(c) {
                Some(r) => out.push_str(r),
                None => out.push(c),
            }
        } else {
            space = true;
        }
    }
    out
}

/// A name as destinations want it: NFC, lowercase, letters only (UTF-8 letters and their accents
/// kept; spaces, punctuation and digits removed). Invalid when no letter is left.
///
/// ```
/// use audience::normalize::export_name;
/// assert_eq!(export_name("José").unwrap(), "josé");
/// assert_eq!(export_name(" O'Brien ").unwrap(), "obrien");
/// assert_eq!(export_name("Jean Paul").unwrap(), "jeanpaul");
/// assert!(export_name(" -- ").is_err());
/// ```
pub fn export_name(s: &str) -> Result<String, Invalid> {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        out.extend(
            s.bytes().filter(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase() as char),
        );
    } else {
        for c in s.nfc() {
            if c.is_alphabetic() || is_combining_mark(c) {
                out.extend(c.to_lowercase());
            }
        }
    }
    if out.is_empty() {
        return invalid(Field::Name, "no letters");
    }
    Ok(out)
}

/// The first letter of an exported name (Meta's `FI`).
pub fn first_initial(exported_name: &str) -> Option<String> {
    let mut it = exported_name.chars();
    let first = it.next()?;
    let mut out = first.to_string();
    out.extend(it.take_while(|c| is_combining_mark(*c)));
    Some(out)
}

fn compact(folded: &str) -> String {
    folded.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A city: accents folded, lowercase, letters and digits only.
///
/// ```
/// assert_eq!(audience::normalize::normalize_city(" Saint-Étienne ").unwrap(), "saintetienne");
/// assert_eq!(audience::normalize::normalize_city("New York").unwrap(), "newyork");
/// ```
pub fn normalize_city(s: &str) -> Result<String, Invalid> {
    let c = compact(&fold_name(s));
    if c.is_empty() {
        return invalid(Field::City, "no letters");
    }
    Ok(c)
}

const US_STATES: [(&str, &str); 57] = [
    ("alabama", "al"),
    ("alaska", "ak"),
    ("arizona", "az"),
    ("arkansas", "ar"),
    ("california", "ca"),
    ("colorado", "co"),
    ("connecticut", "ct"),
    ("delaware", "de"),
    ("florida", "fl"),
    ("georgia", "ga"),
    ("hawaii", "hi"),
    ("idaho", "id"),
    ("illinois", "il"),
    ("indiana", "in"),
    ("iowa", "ia"),
    ("kansas", "ks"),
    ("kentucky", "ky"),
    ("louisiana", "la"),
    ("maine", "me"),
    ("maryland", "md"),
    ("massachusetts", "ma"),
    ("michigan", "mi"),
    ("minnesota", "mn"),
    ("mississippi", "ms"),
    ("missouri", "mo"),
    ("montana", "mt"),
    ("nebraska", "ne"),
    ("nevada", "nv"),
    ("new hampshire", "nh"),
    ("new jersey", "nj"),
    ("new mexico", "nm"),
    ("new york", "ny"),
    ("north carolina", "nc"),
    ("north dakota", "nd"),
    ("ohio", "oh"),
    ("oklahoma", "ok"),
    ("oregon", "or"),
    ("pennsylvania", "pa"),
    ("rhode island", "ri"),
    ("south carolina", "sc"),
    ("south dakota", "sd"),
    ("tennessee", "tn"),
    ("texas", "tx"),
    ("utah", "ut"),
    ("vermont", "vt"),
    ("virginia", "va"),
    ("washington", "wa"),
    ("west virginia", "wv"),
    ("wisconsin", "wi"),
    ("wyoming", "wy"),
    ("district of columbia", "dc"),
    ("washington dc", "dc"),
    ("puerto rico", "pr"),
    ("guam", "gu"),
    ("us virgin islands", "vi"),
    ("american samoa", "as"),
    ("northern mariana islands", "mp"),
];

/// A state or region: the 2-letter code, lowercase, where one exists. For the US (or an unknown
/// country) state names become their code; elsewhere a 2-letter code is kept and a region name is
/// folded like a city. A US value that is neither a state code nor a name is invalid.
///
/// ```
/// use audience::normalize::normalize_state;
/// assert_eq!(normalize_state("California", Some("US")).unwrap(), "ca");
/// assert_eq!(normalize_state(" NY ", None).unwrap(), "ny");
/// assert_eq!(normalize_state("Île-de-France", Some("FR")).unwrap(), "iledefrance");
/// assert!(normalize_state("Bavaria", Some("US")).is_err());
/// ```
pub fn normalize_state(s: &str, country: Option<&str>) -> Result<String, Invalid> {
    let folded = fold_name(s);
    if folded.is_empty() {
        return invalid(Field::State, "no letters");
    }
    let us = country.is_some_and(|c| c.eq_ignore_ascii_case("US"));
    let known = country.is_some();
    if us || !known {
        if let Some((_, code)) = US_STATES.iter().find(|(n, c)| *n == folded || *c == folded) {
            return Ok(code.to_string());
        }
        if us {
            return invalid(Field::State, "not a US state name or code");
        }
    }
    Ok(compact(&folded))
}

// ---------------------------------------------------------------------------------------------
// Zip

/// A postcode, normalised for its country (see the module docs).
///
/// ```
/// use audience::normalize::normalize_zip;
/// assert_eq!(normalize_zip("94105-1234", Some("US")).unwrap(), "94105");
/// assert_eq!(normalize_zip("2134", Some("US")).unwrap(), "02134");
/// assert_eq!(normalize_zip("SW1A 1AA", Some("GB")).unwrap(), "sw1a1aa");
/// assert_eq!(normalize_zip("1012 AB", Some("NL")).unwrap(), "1012ab");
/// assert!(normalize_zip("7500", Some("CH")).is_ok());
/// assert!(normalize_zip("750", Some("FR")).is_err());
/// ```
pub fn normalize_zip(s: &str, country: Option<&str>) -> Result<String, Invalid> {
    let compacted: String =
        s.trim().chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    if compacted.is_empty() {
        return invalid(Field::Zip, "empty");
    }
    let all_digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let cc = country.map(str::to_ascii_uppercase);
    match cc.as_deref() {
        Some("US") => {
            let digits: String = compacted.chars().filter(|c| *c != '-').collect();
            match digits.len() {
                _ if !all_digits(&digits) => invalid(Field::Zip, "a US ZIP code has digits only"),
                3..=5 => Ok(format!("{digits:0>5}")),
                9 => Ok(digits[..5].to_string()),
                _ => invalid(Field::Zip, "a US ZIP code has 5 digits (or ZIP+4)"),
            }
        }
        Some("FR" | "DE" | "ES" | "IT") => match compacted.len() {
            _ if !all_digits(&compacted) => invalid(Field::Zip, "this postcode has digits only"),
            4 => Ok(format!("0{compacted}")),
            5 => Ok(compacted),
            _ => invalid(Field::Zip, "this country's postcodes have 5 digits"),
        },
        Some("BE" | "CH") => {
            if compacted.len() == 4 && all_digits(&compacted) {
                Ok(compacted)
            } else {
                invalid(Field::Zip, "this country's postcodes have 4 digits")
            }
        }
        Some("NL") => {
            let b = compacted.as_bytes();
            if b.len() == 6
                && all_digits(&compacted[..4])
                && b[4..].iter().all(u8::is_ascii_alphabetic)
            {
                Ok(compacted)
            } else {
                invalid(Field::Zip, "a Dutch postcode is 4 digits and 2 letters")
            }
        }
        Some("GB") => {
            let b = compacted.as_bytes();
            if (5..=7).contains(&b.len())
                && b.iter().all(u8::is_ascii_alphanumeric)
                && b[0].is_ascii_alphabetic()
                && b[b.len() - 3].is_ascii_digit()
                && b[b.len() - 2..].iter().all(u8::is_ascii_alphabetic)
            {
                Ok(compacted)
            } else {
                invalid(Field::Zip, "not a UK postcode (like SW1A 1AA)")
            }
        }
        _ => {
            if compacted.chars().all(|c| c.is_alphanumeric() || c == '-') {
                Ok(compacted)
            } else {
                invalid(Field::Zip, "a postcode has letters, digits and dashes only")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Country

/// ISO 3166-1: alpha-2, alpha-3, English short name (folded).
const COUNTRIES: [(&str, &str, &str); 249] = [
    ("AD", "AND", "andorra"),
    ("AE", "ARE", "united arab emirates"),
    ("AF", "AFG", "afghanistan"),
    ("AG", "ATG", "antigua and barbuda"),
    ("AI", "AIA", "anguilla"),
    ("AL", "ALB", "albania"),
    ("AM", "ARM", "armenia"),
    ("AO", "AGO", "angola"),
    ("AQ", "ATA", "antarctica"),
    ("AR", "ARG", "argentina"),
    ("AS", "ASM", "american samoa"),
    ("AT", "AUT", "austria"),
    ("AU", "AUS", "australia"),
    ("AW", "ABW", "aruba"),
    ("AX", "ALA", "aland islands"),
    ("AZ", "AZE", "azerbaijan"),
    ("BA", "BIH", "bosnia and herzegovina"),
    ("BB", "BRB", "barbados"),
    ("BD", "BGD", "bangladesh"),
    ("BE", "BEL", "belgium"),
    ("BF", "BFA", "burkina faso"),
    ("BG", "BGR", "bulgaria"),
    ("BH", "BHR", "bahrain"),
    ("BI", "BDI", "burundi"),
    ("BJ", "BEN", "benin"),
    ("BL", "BLM", "saint barthelemy"),
    ("BM", "BMU", "bermuda"),
    ("BN", "BRN", "brunei darussalam"),
    ("BO", "BOL", "bolivia"),
    ("BQ", "BES", "bonaire sint eustatius and saba"),
    ("BR", "BRA", "brazil"),
    ("BS", "BHS", "bahamas"),
    ("BT", "BTN", "bhutan"),
    ("BV", "BVT", "bouvet island"),
    ("BW", "BWA", "botswana"),
    ("BY", "BLR", "belarus"),
    ("BZ", "BLZ", "belize"),
    ("CA", "CAN", "canada"),
    ("CC", "CCK", "cocos keeling islands"),
    ("CD", "COD", "democratic republic of the congo"),
    ("CF", "CAF", "central african republic"),
    ("CG", "COG", "congo"),
    ("CH", "CHE", "switzerland"),
    ("CI", "CIV", "cote d ivoire"),
    ("CK", "COK", "cook islands"),
    ("CL", "CHL", "chile"),
    ("CM", "CMR", "cameroon"),
    ("CN", "CHN", "china"),
    ("CO", "COL", "colombia"),
    ("CR", "CRI", "costa rica"),
    ("CU", "CUB", "cuba"),
    ("CV", "CPV", "cabo verde"),
    ("CW", "CUW", "curacao"),
    ("CX", "CXR", "christmas island"),
    ("CY", "CYP", "cyprus"),
    ("CZ", "CZE", "czechia"),
    ("DE", "DEU", "germany"),
    ("DJ", "DJI", "djibouti"),
    ("DK", "DNK", "denmark"),
    ("DM", "DMA", "dominica"),
    ("DO", "DOM", "dominican republic"),
    ("DZ", "DZA", "algeria"),
    ("EC", "ECU", "ecuador"),
    ("EE", "EST", "estonia"),
    ("EG", "EGY", "egypt"),
    ("EH", "ESH", "western sahara"),
    ("ER", "ERI", "eritrea"),
    ("ES", "ESP", "spain"),
    ("ET", "ETH", "ethiopia"),
    ("FI", "FIN", "finland"),
    ("FJ", "FJI", "fiji"),
    ("FK", "FLK", "falkland islands"),
    ("FM", "FSM", "micronesia"),
    ("FO", "FRO", "faroe islands"),
    ("FR", "FRA", "france"),
    ("GA", "GAB", "gabon"),
    ("GB", "GBR", "united kingdom"),
    ("GD", "GRD", "grenada"),
    ("GE", "GEO", "georgia"),
    ("GF", "GUF", "french guiana"),
    ("GG", "GGY", "guernsey"),
    ("GH", "GHA", "ghana"),
    ("GI", "GIB", "gibraltar"),
    ("GL", "GRL", "greenland"),
    ("GM", "GMB", "gambia"),
    ("GN", "GIN", "guinea"),
    ("GP", "GLP", "guadeloupe"),
    ("GQ", "GNQ", "equatorial guinea"),
    ("GR", "GRC", "greece"),
    ("GS", "SGS", "south georgia and the south sandwich islands"),
    ("GT", "GTM", "guatemala"),
    ("GU", "GUM", "guam"),
    ("GW", "GNB", "guinea bissau"),
    ("GY", "GUY", "guyana"),
    ("HK", "HKG", "hong kong"),
    ("HM", "HMD", "heard island and mcdonald islands"),
    ("HN", "HND", "honduras"),
    ("HR", "HRV", "croatia"),
    ("HT", "HTI", "haiti"),
    ("HU", "HUN", "hungary"),
    ("ID", "IDN", "indonesia"),
    ("IE", "IRL", "ireland"),
    ("IL", "ISR", "israel"),
    ("IM", "IMN", "isle of man"),
    ("IN", "IND", "india"),
    ("IO", "IOT", "british indian ocean territory"),
    ("IQ", "IRQ", "iraq"),
    ("IR", "IRN", "iran"),
    ("IS", "ISL", "iceland"),
    ("IT", "ITA", "italy"),
    ("JE", "JEY", "jersey"),
    ("JM", "JAM", "jamaica"),
    ("JO", "JOR", "jordan"),
    ("JP", "JPN", "japan"),
    ("KE", "KEN", "kenya"),
    ("KG", "KGZ", "kyrgyzstan"),
    ("KH", "KHM", "cambodia"),
    ("KI", "KIR", "kiribati"),
    ("KM", "COM", "comoros"),
    ("KN", "KNA", "saint kitts and nevis"),
    ("KP", "PRK", "north korea"),
    ("KR", "KOR", "south korea"),
    ("KW", "KWT", "kuwait"),
    ("KY", "CYM", "cayman islands"),
    ("KZ", "KAZ", "kazakhstan"),
    ("LA", "LAO", "laos"),
    ("LB", "LBN", "lebanon"),
    ("LC", "LCA", "saint lucia"),
    ("LI", "LIE", "liechtenstein"),
    ("LK", "LKA", "sri lanka"),
    ("LR", "LBR", "liberia"),
    ("LS", "LSO", "lesotho"),
    ("LT", "LTU", "lithuania"),
    ("LU", "LUX", "luxembourg"),
    ("LV", "LVA", "latvia"),
    ("LY", "LBY", "libya"),
    ("MA", "MAR", "morocco"),
    ("MC", "MCO", "monaco"),
    ("MD", "MDA", "moldova"),
    ("ME", "MNE", "montenegro"),
    ("MF", "MAF", "saint martin"),
    ("MG", "MDG", "madagascar"),
    ("MH", "MHL", "marshall islands"),
    ("MK", "MKD", "north macedonia"),
    ("ML", "MLI", "mali"),
    ("MM", "MMR", "myanmar"),
    ("MN", "MNG", "mongolia"),
    ("MO", "MAC", "macao"),
    ("MP", "MNP", "northern mariana islands"),
    ("MQ", "MTQ", "martinique"),
    ("MR", "MRT", "mauritania"),
    ("MS", "MSR", "montserrat"),
    ("MT", "MLT", "malta"),
    ("MU", "MUS", "mauritius"),
    ("MV", "MDV", "maldives"),
    ("MW", "MWI", "malawi"),
    ("MX", "MEX", "mexico"),
    ("MY", "MYS", "malaysia"),
    ("MZ", "MOZ", "mozambique"),
    ("NA", "NAM", "namibia"),
    ("NC", "NCL", "new caledonia"),
    ("NE", "NER", "niger"),
    ("NF", "NFK", "norfolk island"),
    ("NG", "NGA", "nigeria"),
    ("NI", "NIC", "nicaragua"),
    ("NL", "NLD", "netherlands"),
    ("NO", "NOR", "norway"),
    ("NP", "NPL", "nepal"),
    ("NR", "NRU", "nauru"),
    ("NU", "NIU", "niue"),
    ("NZ", "NZL", "new zealand"),
    ("OM", "OMN", "oman"),
    ("PA", "PAN", "panama"),
    ("PE", "PER", "peru"),
    ("PF", "PYF", "french polynesia"),
    ("PG", "PNG", "papua new guinea"),
    ("PH", "PHL", "philippines"),
    ("PK", "PAK", "pakistan"),
    ("PL", "POL", "poland"),
    ("PM", "SPM", "saint pierre and miquelon"),
    ("PN", "PCN", "pitcairn"),
    ("PR", "PRI", "puerto rico"),
    ("PS", "PSE", "palestine"),
    ("PT", "PRT", "portugal"),
    ("PW", "PLW", "palau"),
    ("PY", "PRY", "paraguay"),
    ("QA", "QAT", "qatar"),
    ("RE", "REU", "reunion"),
    ("RO", "ROU", "romania"),
    ("RS", "SRB", "serbia"),
    ("RU", "RUS", "russia"),
    ("RW", "RWA", "rwanda"),
    ("SA", "SAU", "saudi arabia"),
    ("SB", "SLB", "solomon islands"),
    ("SC", "SYC", "seychelles"),
    ("SD", "SDN", "sudan"),
    ("SE", "SWE", "sweden"),
    ("SG", "SGP", "singapore"),
    ("SH", "SHN", "saint helena"),
    ("SI", "SVN", "slovenia"),
    ("SJ", "SJM", "svalbard and jan mayen"),
    ("SK", "SVK", "slovakia"),
    ("SL", "SLE", "sierra leone"),
    ("SM", "SMR", "san marino"),
    ("SN", "SEN", "senegal"),
    ("SO", "SOM", "somalia"),
    ("SR", "SUR", "suriname"),
    ("SS", "SSD", "south sudan"),
    ("ST", "STP", "sao tome and principe"),
    ("SV", "SLV", "el salvador"),
    ("SX", "SXM", "sint maarten"),
    ("SY", "SYR", "syria"),
    ("SZ", "SWZ", "eswatini"),
    ("TC", "TCA", "turks and caicos islands"),
    ("TD", "TCD", "chad"),
    ("TF", "ATF", "french southern territories"),
    ("TG", "TGO", "togo"),
    ("TH", "THA", "thailand"),
    ("TJ", "TJK", "tajikistan"),
    ("TK", "TKL", "tokelau"),
    ("TL", "TLS", "timor leste"),
    ("TM", "TKM", "turkmenistan"),
    ("TN", "TUN", "tunisia"),
    ("TO", "TON", "tonga"),
    ("TR", "TUR", "turkiye"),
    ("TT", "TTO", "trinidad and tobago"),
    ("TV", "TUV", "tuvalu"),
    ("TW", "TWN", "taiwan"),
    ("TZ", "TZA", "tanzania"),
    ("UA", "UKR", "ukraine"),
    ("UG", "UGA", "uganda"),
    ("UM", "UMI", "united states minor outlying islands"),
    ("US", "USA", "united states"),
    ("UY", "URY", "uruguay"),
    ("UZ", "UZB", "uzbekistan"),
    ("VA", "VAT", "holy see"),
    ("VC", "VCT", "saint vincent and the grenadines"),
    ("VE", "VEN", "venezuela"),
    ("VG", "VGB", "british virgin islands"),
    ("VI", "VIR", "us virgin islands"),
    ("VN", "VNM", "viet nam"),
    ("VU", "VUT", "vanuatu"),
    ("WF", "WLF", "wallis and futuna"),
    ("WS", "WSM", "samoa"),
    ("YE", "YEM", "yemen"),
    ("YT", "MYT", "mayotte"),
    ("ZA", "ZAF", "south africa"),
    ("ZM", "ZMB", "zambia"),
    ("ZW", "ZWE", "zimbabwe"),
];

/// Other names (folded) for countries, mostly in the languages of the supported phone plans.
const COUNTRY_ALIASES: [(&str, &str); 62] = [
    ("uk", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("royaume uni", "GB"),
    ("vereinigtes konigreich", "GB"),
    ("reino unido", "GB"),
    ("regno unito", "GB"),
    ("usa", "US"),
    ("united states of america", "US"),
    ("america", "US"),
    ("etats unis", "US"),
    ("vereinigte staaten", "US"),
    ("estados unidos", "US"),
    ("stati uniti", "US"),
    ("deutschland", "DE"),
    ("allemagne", "DE"),
    ("alemania", "DE"),
    ("germania", "DE"),
    ("duitsland", "DE"),
    ("frankreich", "FR"),
    ("francia", "FR"),
    ("frankrijk", "FR"),
    ("espagne", "ES"),
    ("espana", "ES"),
    ("spanien", "ES"),
    ("spagna", "ES"),
    ("spanje", "ES"),
    ("italie", "IT"),
    ("italia", "IT"),
    ("italien", "IT"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("belgien", "BE"),
    ("belgica", "BE"),
    ("belgio", "BE"),
    ("pays bas", "NL"),
    ("nederland", "NL"),
    ("holland", "NL"),
    ("niederlande", "NL"),
    ("the netherlands", "NL"),
    ("paises bajos", "NL"),
    ("paesi bassi", "NL"),
    ("suisse", "CH"),
    ("schweiz", "CH"),
    ("svizzera", "CH"),
    ("suiza", "CH"),
    ("zwitserland", "CH"),
    ("autriche", "AT"),
    ("osterreich", "AT"),
    ("czech republic", "CZ"),
    ("turkey", "TR"),
    ("vietnam", "VN"),
    ("ivory coast", "CI"),
    ("cape verde", "CV"),
    ("swaziland", "SZ"),
    ("russian federation", "RU"),
    ("luxemburg", "LU"),
    ("irlande", "IE"),
];

fn country_lookup() -> &'static HashMap<String, &'static str> {
    static MAP: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (a2, a3, name) in COUNTRIES {
            m.insert(a2.to_ascii_lowercase(), a2);
            m.insert(a3.to_ascii_lowercase(), a2);
            m.insert(name.to_string(), a2);
        }
        for (alias, a2) in COUNTRY_ALIASES {
            m.insert(alias.to_string(), a2);
        }
        m
    })
}

/// A default country a user gave for national phone numbers (`--default-country`,
/// `default_country` in a settings file), as [`normalize_country`] reads it; the error names
/// `what` (the flag or the file and key) and the value, and says how to write it.
///
/// ```
/// use audience::normalize::parse_default_country;
/// assert_eq!(parse_default_country("France", "--default-country").unwrap(), "FR");
/// let e = parse_default_country("Atlantis", "--default-country").unwrap_err().to_string();
/// assert!(e.contains("--default-country `Atlantis` is not an ISO 3166 country"));
/// ```
pub fn parse_default_country(c: &str, what: &str) -> crate::error::Result<&'static str> {
    normalize_country(c).map_err(|_| {
        crate::error::Error::user(format!(
            "{what} `{c}` is not an ISO 3166 country; give an alpha-2 code such as FR"
        ))
    })
}

/// A country as its ISO 3166-1 alpha-2 code (uppercase), from an alpha-2 or alpha-3 code or a
/// name. Lowercase it for Meta.
///
/// ```
/// use audience::normalize::normalize_country;
/// assert_eq!(normalize_country("fra").unwrap(), "FR");
/// assert_eq!(normalize_country(" Deutschland ").unwrap(), "DE");
/// assert_eq!(normalize_country("United Kingdom").unwrap(), "GB");
/// assert!(normalize_country("Atlantis").is_err());
/// ```
pub fn normalize_country(s: &str) -> Result<&'static str, Invalid> {
    let t = s.trim();
    let key = if t.len() <= 3 && t.is_ascii() { t.to_ascii_lowercase() } else { fold_name(t) };
    if key.is_empty() {
        return invalid(Field::Country, "empty");
    }
    country_lookup()
        .get(&key)
        .copied()
        .ok_or(Invalid { field: Field::Country, reason: "not an ISO 3166 country code or name" })
}

// ---------------------------------------------------------------------------------------------
// Gender, birth date, MAID

/// Gender as `'m'` or `'f'`, from codes and words in English, French, German, Spanish, Italian.
///
/// ```
/// use audience::normalize::normalize_gender;
/// assert_eq!(normalize_gender("Female").unwrap(), 'f');
/// assert_eq!(normalize_gender("homme").unwrap(), 'm');
/// assert_eq!(normalize_gender(" M ").unwrap(), 'm');
/// assert!(normalize_gender("x").is_err());
/// ```
pub fn normalize_gender(s: &str) -> Result<char, Invalid> {
    let f = fold_name(s);
    let m = [
        "m",
        "male",
        "man",
        "men",
        "masculin",
        "masculine",
        "homme",
        "h",
        "mr",
        "monsieur",
        "herr",
        "mann",
        "mannlich",
        "maennlich",
        "hombre",
        "masculino",
        "uomo",
        "maschio",
        "maschile",
        "varon",
    ];
    let w = [
        "f",
        "female",
        "woman",
        "women",
        "feminin",
        "feminine",
        "femme",
        "mme",
        "mrs",
        "ms",
        "miss",
        "madame",
        "mlle",
        "mademoiselle",
        "frau",
        "weiblich",
        "w",
        "mujer",
        "femenino",
        "donna",
        "femmina",
        "femminile",
    ];
    if m.contains(&f.as_str()) {
        Ok('m')
    } else if w.contains(&f.as_str()) {
        Ok('f')
    } else {
        invalid(Field::Gender, "not a known male or female value")
    }
}

/// A calendar date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BirthDate {
    /// Year (1900 or later).
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
}

impl BirthDate {
    /// `YYYY` (Meta's `DOBY`).
    pub fn yyyy(&self) -> String {
        format!("{:04}", self.year)
    }
    /// `MM` (Meta's `DOBM`).
    pub fn mm(&self) -> String {
        format!("{:02}", self.month)
    }
    /// `DD` (Meta's `DOBD`).
    pub fn dd(&self) -> String {
        format!("{:02}", self.day)
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Which of `a/b/YYYY` is the day, when both could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// Only accept `a/b/YYYY` when one of them is over 12 (or both are equal).
    Unambiguous,
    /// `DD/MM/YYYY` (Europe).
    DayFirst,
    /// `MM/DD/YYYY` (US).
    MonthFirst,
}

impl DateOrder {
    /// The usual order in a country: month first in the US, day first elsewhere, unambiguous
    /// only when the country is unknown.
    pub fn for_country(country: Option<&str>) -> DateOrder {
        match country {
            Some(c) if c.eq_ignore_ascii_case("US") => DateOrder::MonthFirst,
            Some(_) => DateOrder::DayFirst,
            None => DateOrder::Unambiguous,
        }
    }
}

/// Today's date (year, month, day) in UTC, read once.
pub(crate) fn today() -> (i64, u32, u32) {
    static TODAY: OnceLock<(i64, u32, u32)> = OnceLock::new();
    *TODAY.get_or_init(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        crate::store::civil_from_days(secs.div_euclid(86_400))
    })
}

/// Parses a birth date (see the module docs for the formats).
///
/// ```
/// use audience::normalize::{parse_birth_date, DateOrder};
/// let d = parse_birth_date("1980-07-31", DateOrder::Unambiguous).unwrap();
/// assert_eq!((d.year, d.month, d.day), (1980, 7, 31));
/// assert_eq!(parse_birth_date("31/07/1980", DateOrder::Unambiguous).unwrap(), d);
/// assert_eq!(parse_birth_date("07/31/1980", DateOrder::Unambiguous).unwrap(), d);
/// assert!(parse_birth_date("05/07/1980", DateOrder::Unambiguous).is_err()); // May or July?
/// assert_eq!(parse_birth_date("05/07/1980", DateOrder::DayFirst).unwrap().month, 7);
/// assert!(parse_birth_date("1980-02-30", DateOrder::Unambiguous).is_err());
/// ```
pub fn parse_birth_date(s: &str, order: DateOrder) -> Result<BirthDate, Invalid> {
    let s = s.trim();
    let bad = |reason| Invalid { field: Field::BirthDate, reason };
    let num = |p: &str| -> Result<u32, Invalid> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("not a date in a known format"));
        }
        Ok(p.parse().expect("checked digits"))
    };
    let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (num(&s[..4])?, num(&s[4..6])?, num(&s[6..])?)
    } else if let Some(ymd) = named_month_date(s) {
        ymd
    } else {
        let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'));
        let Some(sep) = sep else { return Err(bad("not a date in a known format")) };
        let mut parts: Vec<String> = s.split(sep).map(str::to_string).collect();
        if parts.len() != 3 {
            return Err(bad("not a date in a known format"));
        }
        // Oracle's `31-JUL-80`: the month's name, after the day.
        let named = month_from_name(&parts[1]).map(|m| parts[1] = m.to_string()).is_some();
        // A two-digit year, last (`31/07/80`) or first where it is over 31 (`80-07-31`): a birth
        // date is in the past, so 20yy up to this year and 19yy before.
        let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
        let widen = |yy: u32| if i64::from(2000 + yy) <= today().0 { 2000 + yy } else { 1900 + yy };
        let first_over_31 = parts[0].len() <= 2 && num(&parts[0])? > 31;
        if two_digits(&parts[2]) && parts[0].len() <= 2 && !first_over_31 {
            parts[2] = widen(num(&parts[2])?).to_string();
        } else if two_digits(&parts[0]) && first_over_31 && parts[2].len() <= 2 {
            parts[0] = widen(num(&parts[0])?).to_string();
        }
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        if parts[0].len() == 4 {
            (num(parts[0])?, num(parts[1])?, num(parts[2])?)
        } else if parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 {
            let (a, b, y) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
            let order = if sep == '.' || named { DateOrder::DayFirst } else { order };
            if a > 12 || order == DateOrder::DayFirst {
                (y, b, a)
            } else if b > 12 || order == DateOrder::MonthFirst || a == b {
                (y, a, b)
            } else {
                return Err(bad("ambiguous day and month: write YYYY-MM-DD"));
            }
        } else {
            return Err(bad("not a date in a known format"));
        }
    };
    if !(1..=12).contains(&m) {
        return Err(bad("month out of range"));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if d == 0 || d > days[m as usize - 1] {
        return Err(bad("day out of range for the month"));
    }
    if y < 1900 {
        return Err(bad("year before 1900"));
    }
    let (ty, tm, td) = today();
    if (y as i64, m, d) > (ty, tm, td) {
        return Err(bad("date in the future"));
    }
    Ok(BirthDate { year: y as u16, month: m as u8, day: d as u8 })
}

/// Months' names, by month, accents folded: English, French, German, Spanish, Italian,
/// Portuguese and Dutch.
const MONTHS: [&[&str]; 12] = [
    &["january", "janvier", "januar", "enero", "gennaio", "janeiro", "januari"],
    &["february", "fevrier", "februar", "febrero", "febbraio", "fevereiro", "februari"],
    &["march", "mars", "marz", "maerz", "marzo", "marco", "maart"],
    &["april", "avril", "abril", "aprile"],
    &["may", "mai", "mayo", "maggio", "maio", "mei"],
    &["june", "juin", "juni", "junio", "giugno", "junho"],
    &["july", "juillet", "juli", "julio", "luglio", "julho"],
    &["august", "aout", "agosto", "augustus"],
    &["september", "septembre", "septiembre", "setiembre", "settembre", "setembro"],
    &["october", "octobre", "oktober", "octubre", "ottobre", "outubro"],
    &["november", "novembre", "noviembre", "novembro"],
    &["december", "decembre", "dezember", "diciembre", "dicembre", "dezembro"],
];

/// The month (1 to 12) a month's name gives, in English, French, German, Spanish, Italian,
/// Portuguese or Dutch, with or without its accents: the name or its first three letters or
/// more (`Mar`, `März`, `Sept`, `févr`), not a longer word (`Julius`), and not letters that
/// begin two months' names (`jui`: juin, juillet).
///
/// ```
/// use audience::normalize::month_from_name;
/// assert_eq!(month_from_name("Sept"), Some(9));
/// assert_eq!(month_from_name("März"), Some(3));
/// assert_eq!(month_from_name("août"), Some(8));
/// assert_eq!(month_from_name("ma"), None);
/// assert_eq!(month_from_name("jui"), None);
/// ```
pub fn month_from_name(word: &str) -> Option<u32> {
    let word = word.trim();
    let folded = if word.is_ascii() { word.to_ascii_lowercase() } else { fold_name(word) };
    if !(3..=10).contains(&folded.len()) || !folded.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut months = (1..=12u32)
        .filter(|&m| MONTHS[m as usize - 1].iter().any(|name| name.starts_with(folded.as_str())));
    let month = months.next()?;
    months.next().is_none().then_some(month)
}

/// A date written with its month's name, in any order (`05-Mar-1961`, `5 March 1961`,
/// `March 5, 1961`, optionally followed by a time), as (year, month, day); the year has four
/// digits and the day one or two, neither checked further.
///
/// ```
/// use audience::normalize::named_month_date;
/// assert_eq!(named_month_date("05-MAR-1961 00:00:00"), Some((1961, 3, 5)));
/// assert_eq!(named_month_date("March 5, 1961"), Some((1961, 3, 5)));
/// assert_eq!(named_month_date("5 de marzo de 1961"), Some((1961, 3, 5)));
/// assert_eq!(named_month_date("5. März 1961"), Some((1961, 3, 5)));
/// assert_eq!(named_month_date("5 Mar 61"), None);
/// ```
pub fn named_month_date(s: &str) -> Option<(u32, u32, u32)> {
    // `5 de marzo de 1961`, `5. März 1961`: words between the parts are skipped.
    let filler = |t: &str| ["de", "del", "of"].contains(&t.to_ascii_lowercase().as_str());
    let mut tokens =
        s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty() && !filler(t));
    let (mut year, mut month, mut day) = (None, None, None);
    for t in tokens.by_ref().take(3) {
        let digits = t.bytes().all(|b| b.is_ascii_digit());
        match (digits, t.len()) {
            (true, 4) if year.is_none() => year = t.parse().ok(),
            (true, 1 | 2) if day.is_none() => day = t.parse().ok(),
            (false, _) if month.is_none() => month = Some(month_from_name(t)?),
            _ => return None,
        }
    }
    let time = |t: &str| {
        t.bytes().all(|b| b.is_ascii_digit())
            || t.eq_ignore_ascii_case("am")
            || t.eq_ignore_ascii_case("pm")
    };
    tokens.all(time).then_some(())?;
    Some((year?, month?, day?))
}

/// A mobile advertising id (IDFA, AAID): a UUID, lowercase with dashes (32 hex digits without
/// dashes are accepted and dashed). The all-zero id, sent when tracking is limited, is invalid.
///
/// ```
/// use audience::normalize::normalize_maid;
/// assert_eq!(
///     normalize_maid("AECE52E7-03EE-455A-B3C4-E57283966239").unwrap(),
///     "aece52e7-03ee-455a-b3c4-e57283966239"
/// );
/// assert!(normalize_maid("00000000-0000-0000-0000-000000000000").is_err());
/// ```
pub fn normalize_maid(s: &str) -> Result<String, Invalid> {
    let hex: String = s.trim().chars().filter(|c| *c != '-').collect();
    let dashes = s.trim().chars().filter(|c| *c == '-').count();
    if hex.len() != 32
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
        || !(dashes == 0 || dashes == 4)
    {
        return invalid(Field::Maid, "not a UUID (8-4-4-4-12 hex digits)");
    }
    if dashes == 4 {
        let t = s.trim();
        let groups: Vec<usize> = t.split('-').map(str::len).collect();
        if groups != [8, 4, 4, 4, 12] {
            return invalid(Field::Maid, "not a UUID (8-4-4-4-12 hex digits)");
        }
    }
    if hex.bytes().all(|b| b == b'0') {
        return invalid(Field::Maid, "all-zero id (ad tracking limited)");
    }
    let h = hex.to_ascii_lowercase();
    Ok(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_trim_lowercase_and_validate() {
        let p = |s| normalize_email(s, EmailRules::PLAIN);
        assert_eq!(p("\tUser@Sub.Domain.CO.UK\n").unwrap(), "user@sub.domain.co.uk");
        assert_eq!(p("Émilie.Dupont@Exemple.fr").unwrap(), "émilie.dupont@exemple.fr");
        for bad in [
            "",
            "   ",
            "not-an-email",
            "@example.com",
            "a@b@example.com",
            "john@localhost",
            "john.doe@example.com.",
            "john@.example.com",
            "john@example..com",
            "jo hn@example.com",
            "john,doe@example.com",
            "5f4dcc3b5aa765d61d8327deb882cf99",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be invalid");
        }
        let e = p("John Doe <john@example.com>").unwrap_err();
        assert_eq!(e.field, Field::Email);
        assert!(!e.to_string().contains("john"), "errors never carry the raw value");
    }

    #[test]
    fn gmail_rules_are_options() {
        let raw = " Jane.Smith+Promo@GoogleMail.com ";
        assert_eq!(
            normalize_email(raw, EmailRules::PLAIN).unwrap(),
            "jane.smith+promo@googlemail.com"
        );
        assert_eq!(
            normalize_email(raw, EmailRules::GOOGLE).unwrap(),
            "janesmith+promo@googlemail.com"
        );
        assert_eq!(normalize_email(raw, EmailRules::UID2).unwrap(), "janesmith@googlemail.com");
        assert_eq!(normalize_email(raw, EmailRules::IDENTITY).unwrap(), "janesmith@gmail.com");
        // Dots of other domains are kept by every rule; +tags only go for identity matching.
        let other = "jane.smith+x@example.com";
        assert_eq!(normalize_email(other, EmailRules::UID2).unwrap(), other);
        assert_eq!(normalize_email(other, EmailRules::IDENTITY).unwrap(), "jane.smith@example.com");
        assert!(normalize_email("+tag@gmail.com", EmailRules::IDENTITY).is_err());
    }

    #[test]
    fn national_and_international_phones() {
        let cases: [(&str, Option<&str>, &str); 34] = [
            ("06 12 34 56 78", Some("FR"), "+33612345678"),
            ("06.12.34.56.78", Some("fr"), "+33612345678"),
            ("0033 6 12 34 56 78", Some("FR"), "+33612345678"),
            ("0033 6 12 34 56 78", None, "+33612345678"),
            ("+33 (0)6 12 34 56 78", None, "+33612345678"),
            ("+33 6 12 34 56 78", Some("DE"), "+33612345678"),
            ("612345678", Some("FR"), "+33612345678"),
            ("33612345678", Some("FR"), "+33612345678"),
            ("+44 (0)20 7946 0018", None, "+442079460018"),
            ("020 7946 0018", Some("GB"), "+442079460018"),
            ("07700 900123", Some("GB"), "+447700900123"),
            ("(415) 555-2671", Some("US"), "+14155552671"),
            ("1-415-555-2671", Some("US"), "+14155552671"),
            ("011 33 6 12 34 56 78", Some("US"), "+33612345678"),
            ("+1 650 555 1234 ext. 99", None, "+16505551234"),
            ("030 1234567", Some("DE"), "+49301234567"),
            ("+49 (0)30 1234567", None, "+49301234567"),
            ("0151 23456789", Some("DE"), "+4915123456789"),
            ("612 34 56 78", Some("ES"), "+34612345678"),
            ("06 6982 1234", Some("IT"), "+390669821234"),
            ("+39 347 123 4567", None, "+393471234567"),
            ("0470 12 34 56", Some("BE"), "+32470123456"),
            ("06 12345678", Some("NL"), "+31612345678"),
            ("044 668 18 00", Some("CH"), "+41446681800"),
            // Countries without a plan here: libphonenumber's metadata.
            ("512 345 678", Some("PL"), "+48512345678"),
            ("0664 1234567", Some("at"), "+436641234567"),
            ("+43 (0)664 1234567", None, "+436641234567"),
            ("070-123 45 67", Some("SE"), "+46701234567"),
            ("087 123 4567", Some("IE"), "+353871234567"),
            ("912 345 678", Some("PT"), "+351912345678"),
            ("0412 345 678", Some("AU"), "+61412345678"),
            ("090-1234-5678", Some("JP"), "+819012345678"),
            ("(11) 91234-5678", Some("BR"), "+5511912345678"),
            ("00 48 512 345 678", Some("FR"), "+48512345678"),
        ];
        for (raw, cc, want) in cases {
            let got = parse_phone(raw, cc).map(|p| p.e164());
            assert_eq!(got.as_deref(), Ok(want), "{raw:?} in {cc:?}");
        }
        assert_eq!(parse_phone("+91 98765 43210", None).unwrap().digits(), "919876543210");
        for (raw, cc) in [
            ("06 12 34 56 78", None),
            ("06 12 34 56", Some("FR")),
            ("1-800-FLOWERS", Some("US")),
            ("(015) 555-2671", Some("US")),
            ("12345", Some("PT")),
            ("512 345 678", Some("XX")),
            ("+48 512 345", None),
            ("+999 1234 5678", None),
            ("+0 123 456 789", None),
            ("+123", None),
            ("", Some("FR")),
            ("phone", Some("FR")),
        ] {
            assert!(parse_phone(raw, cc).is_err(), "{raw:?} in {cc:?} should be invalid");
        }
    }

    #[test]
    fn names_fold_for_comparison_and_keep_letters_for_export() {
        assert_eq!(fold_name("FRANÇOIS"), "francois");
        assert_eq!(fold_name("  Zoë "), "zoe");
        assert_eq!(fold_name("Dvořák"), "dvorak");
        assert_eq!(fold_name("Ørjan"), "orjan");
        assert_eq!(fold_name("O'Brien"), "o brien");
        assert_eq!(export_name("FRANÇOIS").unwrap(), "françois");
        assert_eq!(export_name("  Zoë ").unwrap(), "zoë");
        assert_eq!(export_name("Mary-Jane").unwrap(), "maryjane");
        assert_eq!(export_name("García-López").unwrap(), "garcíalópez");
        assert_eq!(export_name("李").unwrap(), "李");
        assert_eq!(export_name("J.").unwrap(), "j");
        // Decomposed input (e + combining acute) is composed first: same bytes as precomposed.
        assert_eq!(export_name("Jose\u{301}").unwrap(), "josé");
        assert_eq!(first_initial("émilie").as_deref(), Some("é"));
        assert!(export_name("123").is_err());
    }

    #[test]
    fn cities_states_zips_countries() {
        assert_eq!(normalize_city("Zürich").unwrap(), "zurich");
        assert_eq!(normalize_city("ST. LOUIS").unwrap(), "stlouis");
        assert!(normalize_city(" - ").is_err());
        assert_eq!(normalize_state("new york", Some("us")).unwrap(), "ny");
        assert_eq!(normalize_state("District of Columbia", None).unwrap(), "dc");
        assert_eq!(normalize_state("BY", Some("DE")).unwrap(), "by");
        assert_eq!(normalize_zip(" 75001 ", Some("FR")).unwrap(), "75001");
        assert_eq!(normalize_zip("1000", Some("FR")).unwrap(), "01000");
        assert_eq!(normalize_zip("10115", Some("DE")).unwrap(), "10115");
        assert_eq!(normalize_zip("941051234", Some("US")).unwrap(), "94105");
        assert_eq!(normalize_zip("ec1a 1bb", Some("gb")).unwrap(), "ec1a1bb");
        assert_eq!(normalize_zip("H3Z 2Y7", Some("CA")).unwrap(), "h3z2y7");
        assert!(normalize_zip("ABCDE", Some("US")).is_err());
        assert!(normalize_zip("12345", Some("GB")).is_err());
        assert!(normalize_zip("1012", Some("NL")).is_err());
        assert_eq!(normalize_country("us").unwrap(), "US");
        assert_eq!(normalize_country("USA").unwrap(), "US");
        assert_eq!(normalize_country("États-Unis").unwrap(), "US");
        assert_eq!(normalize_country("UK").unwrap(), "GB");
        assert_eq!(normalize_country("España").unwrap(), "ES");
        assert_eq!(normalize_country("the Netherlands").unwrap(), "NL");
        assert_eq!(normalize_country("CHE").unwrap(), "CH");
        assert!(normalize_country("XX").is_err());
        assert!(normalize_country("").is_err());
    }

    #[test]
    fn country_table_is_complete_and_unique() {
        let mut a2: Vec<&str> = COUNTRIES.iter().map(|c| c.0).collect();
        let mut a3: Vec<&str> = COUNTRIES.iter().map(|c| c.1).collect();
        a2.sort();
        a2.dedup();
        a3.sort();
        a3.dedup();
        assert_eq!((a2.len(), a3.len()), (249, 249));
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0), "sorted by alpha-2");
        for (alias, code) in COUNTRY_ALIASES {
            assert!(a2.contains(&code), "{alias} -> {code}");
            assert_eq!(fold_name(alias), alias, "aliases are stored folded");
        }
        for (_, _, name) in COUNTRIES {
            assert_eq!(fold_name(name), name, "names are stored folded");
        }
    }

    #[test]
    fn genders_dates_maids() {
        for m in ["M", "male", "Homme", "Herr", "hombre", "MR."] {
            assert_eq!(normalize_gender(m), Ok('m'), "{m}");
        }
        for f in ["F", "Female", "femme", "Frau", "Mme", "mujer"] {
            assert_eq!(normalize_gender(f), Ok('f'), "{f}");
        }
        assert!(normalize_gender("unknown").is_err());
        let d = BirthDate { year: 1980, month: 7, day: 31 };
        for s in [
            "1980-07-31",
            "19800731",
            "1980/07/31",
            "31.07.1980",
            "31-07-1980",
            " 1980-7-31 ",
            "31-JUL-1980",
            "July 31, 1980",
            "31 Jul 1980 00:00:00",
            "31/07/80",
            "80-07-31",
            "31-JUL-80",
        ] {
            assert_eq!(parse_birth_date(s, DateOrder::Unambiguous), Ok(d), "{s}");
        }
        // A two-digit year is in the past: 20yy up to this year, 19yy after.
        assert_eq!(parse_birth_date("05/03/04", DateOrder::DayFirst).unwrap().year, 2004);
        assert_eq!(parse_birth_date("05/03/99", DateOrder::DayFirst).unwrap().year, 1999);
        assert_eq!(parse_birth_date("07/05/1980", DateOrder::MonthFirst).unwrap().month, 7);
        assert_eq!(parse_birth_date("05/05/1980", DateOrder::Unambiguous).unwrap().day, 5);
        assert_eq!(parse_birth_date("2000-02-29", DateOrder::Unambiguous).unwrap().day, 29);
        for bad in [
            "1900-02-29",
            "1980-13-01",
            "1980-00-10",
            "31/07/8",
            "07-31-80-1",
            "1899-12-31",
            "3000-01-01",
            "31 Jul 80",
            "31 Jul 1980 Paris",
            "31 Julius 1980",
        ] {
            assert!(parse_birth_date(bad, DateOrder::DayFirst).is_err(), "{bad}");
        }
        assert_eq!((d.yyyy(), d.mm(), d.dd()), ("1980".into(), "07".into(), "31".into()));
        assert_eq!(
            normalize_maid("aece52e703ee455ab3c4e57283966239").unwrap(),
            "aece52e7-03ee-455a-b3c4-e57283966239"
        );
        assert!(normalize_maid("aece52e7-03ee455a-b3c4-e57283966239-").is_err());
        assert!(normalize_maid("not-a-maid").is_err());
    }

    proptest! {
        #[test]
        fn email_normalisation_is_idempotent(s in "\\PC{0,40}") {
            for rules in [EmailRules::PLAIN, EmailRules::GOOGLE, EmailRules::UID2, EmailRules::IDENTITY] {
                if let Ok(n) = normalize_email(&s, rules) {
                    prop_assert_eq!(normalize_email(&n, rules), Ok(n.clone()));
                    prop_assert!(n.contains('@') && !n.contains(' '));
                }
            }
        }

        #[test]
        fn phone_parser_never_panics_and_gives_e164(s in "[+0-9 ().x-]{0,24}", cc in prop::sample::select(vec!["FR", "DE", "GB", "ES", "IT", "US", "BE", "NL", "CH", "PT", ""])) {
            let cc = (!cc.is_empty()).then_some(cc);
            if let Ok(p) = parse_phone(&s, cc) {
                let e = p.e164();
                prop_assert!(e.len() >= 9 && e.len() <= 16, "{}", e);
                prop_assert!(!p.digits().starts_with('0'));
                // E.164 output parses back to itself, with or without a country.
                prop_assert_eq!(parse_phone(&e, None), Ok(p.clone()));
            }
        }

        #[test]
        fn formatted_national_phones_round_trip(nsn in "[6-7][0-9]{8}", sep in prop::sample::select(vec!["", " ", ".", "-"])) {
            let spaced: Vec<String> = std::iter::once(format!("0{}", &nsn[..1]))
                .chain((0..4).map(|i| nsn[1 + 2 * i..3 + 2 * i].to_string()))
                .collect();
            let raw = spaced.join(sep);
            prop_assert_eq!(parse_phone(&raw, Some("FR")).unwrap().e164(), format!("+33{nsn}"));
        }

        #[test]
        fn dates_round_trip(y in 1900u16..2020, m in 1u8..=12, d in 1u8..=28) {
            let bd = BirthDate { year: y, month: m, day: d };
            prop_assert_eq!(parse_birth_date(&bd.to_string(), DateOrder::Unambiguous), Ok(bd));
            let compact = format!("{:04}{:02}{:02}", y, m, d);
            prop_assert_eq!(parse_birth_date(&compact, DateOrder::Unambiguous), Ok(bd));
            let eu = format!("{:02}/{:02}/{:04}", d, m, y);
            prop_assert_eq!(parse_birth_date(&eu, DateOrder::DayFirst), Ok(bd));
            let named = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let oracle = format!("{:02}-{}-{:04}", d, named[m as usize - 1], y);
            prop_assert_eq!(parse_birth_date(&oracle, DateOrder::Unambiguous), Ok(bd));
            if (1950..2000).contains(&y) {
                let short = format!("{:02}/{:02}/{:02}", d, m, y % 100);
                prop_assert_eq!(parse_birth_date(&short, DateOrder::DayFirst), Ok(bd));
                let oracle_short = format!("{:02}-{}-{:02}", d, named[m as usize - 1], y % 100);
                prop_assert_eq!(parse_birth_date(&oracle_short, DateOrder::Unambiguous), Ok(bd));
            }
        }

        #[test]
        fn other_parsers_never_panic(s in "\\PC{0,30}") {
            let _ = export_name(&s);
            let _ = fold_name(&s);
            let _ = normalize_city(&s);
            let _ = normalize_state(&s, Some("US"));
            let _ = normalize_zip(&s, Some("GB"));
            let _ = normalize_zip(&s, None);
            let _ = normalize_country(&s);
            let _ = normalize_gender(&s);
            let _ = parse_birth_date(&s, DateOrder::Unambiguous);
            let _ = normalize_maid(&s);
            let _ = parse_phone(&s, Some("US"));
        }
    }
}
