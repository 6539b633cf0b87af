//! Audience export: a stream of [`Contact`] records into a destination's file, with consent
//! applied, identifiers normalised and hashed, a minimum audience size, and a `manifest.json`.
//!
//! Owns the destination formats, the consent and size rules of an export, and the manifest. It
//! calls [`crate::normalize`] for every value (so export and identity resolution hash the same
//! way) and does not own where contacts come from: [`crate::contacts`] reads contact lists, and
//! the store's identity graph will feed the same [`export_contacts`] later.
//!
//! # Formats (one file `DEST.csv` plus `manifest.json` per export directory)
//! - **google** (Customer Match CSV): `Email,Phone,First Name,Last Name,Country,Zip`. Email
//!   (Google's documented rule: Gmail dots removed), phone (E.164 with `+`) and names are SHA-256
//!   hex; Country (alpha-2, uppercase) and Zip are not hashed. A row needs an email, a phone, or
//!   first name + last name + country + zip. Rows are not deduplicated: Google accepts a
//!   repeated Email or Phone.
//! - **meta** (Custom Audiences multi-key CSV):
//!   `EXTERN_ID,EMAIL,PHONE,GEN,DOBY,DOBM,DOBD,LN,FN,FI,CT,ST,ZIP,MADID,COUNTRY`; every value is
//!   SHA-256 hex of its normalised form (phone: digits with country code, no `+`; country: alpha-2
//!   lowercase), except MADID (lowercase UUID, not hashed). A row needs an email, a phone, a
//!   MADID, or first + last name with a zip, a city or a birth date.
//! - **dsp**: `kind,value,segment,expires`, one identifier per row: `cookie` (as given),
//!   `maid`, `first_party_id` (the extern id), `hashed_email` (UID2 style: Gmail dots and `+tag`
//!   removed, SHA-256, base64). `expires` is the creation time plus `ttl_days`.
//! - **liveramp**: `EMAIL_SHA256,PHONE_SHA256,MAID,<SEGMENT>`, the segment column holding `1`.
//!   Its header is the audience name made of letters, digits and `_` (others become `_`), at most
//!   128 characters ([`liveramp_segment_header`]).
//!
//! # Rules
//! - Consent: only contacts with `consent == Some(true)` are exported; the others are counted as
//!   excluded (`no_consent` for an explicit no, `consent_unknown` when missing).
//! - An invalid email, phone or other value is dropped from its row and counted under
//!   `dropped_values`; a raw value is never written. A contact left without a usable identifier
//!   is excluded (`no_identifier`).
//! - Fewer exported contacts than `min_size`: refused with an error, nothing is written (the file
//!   is streamed to a temporary file that is then removed).
//! - Streaming: contacts are read in blocks of 65,536 and normalised in parallel (rayon), so
//!   memory stays bounded whatever the audience size; the file's SHA-256 is computed while writing.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::normalize::{
    self, export_name, first_initial, normalize_city, normalize_country, normalize_email,
    normalize_gender, normalize_maid, normalize_state, normalize_zip, parse_birth_date,
    parse_default_country, parse_phone, BirthDate, DateOrder, EmailRules, Phone,
    NORMALIZATION_SPEC,
};
use crate::store::{iso_from_unix, write_atomic};

/// The default minimum audience size (`--min-size`).
pub const DEFAULT_MIN_SIZE: u64 = 100;
/// The default time to live of DSP rows, in days (`--ttl-days`).
pub const DEFAULT_TTL_DAYS: u32 = 30;
/// The manifest's file name in an export directory.
pub const MANIFEST: &str = "manifest.json";
/// The longest LiveRamp segment header.
pub const LIVERAMP_MAX_HEADER: usize = 128;

/// One person to export, with raw (not yet normalised) values. `None` or blank is missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    /// The advertiser's own id of the person.
    pub extern_id: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number, national or international.
    pub phone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Postcode.
    pub zip: Option<String>,
    /// Country (code or name); also the country of national phone numbers.
    pub country: Option<String>,
    /// Birth date (`YYYY-MM-DD` and the other formats of [`parse_birth_date`]).
    pub birth_date: Option<String>,
    /// Gender (m/f, male/female, ...).
    pub gender: Option<String>,
    /// Mobile advertising id.
    pub maid: Option<String>,
    /// Cookie ids.
    pub cookies: Vec<String>,
    /// Ad consent: `Some(true)` only is exported.
    pub consent: Option<bool>,
}

/// Where an audience goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    /// Google Customer Match CSV.
    Google,
    /// Meta Custom Audiences multi-key CSV.
    Meta,
    /// A DSP ID list, one identifier per row.
    Dsp,
    /// LiveRamp onboarding file with a segment column.
    LiveRamp,
}

impl Destination {
    /// Every destination.
    pub const ALL: [Destination; 4] =
        [Destination::Google, Destination::Meta, Destination::Dsp, Destination::LiveRamp];

    /// The destination's name (`google`, `meta`, `dsp`, `liveramp`).
    pub fn name(self) -> &'static str {
        match self {
            Destination::Google => "google",
            Destination::Meta => "meta",
            Destination::Dsp => "dsp",
            Destination::LiveRamp => "liveramp",
        }
    }

    /// Parses a destination name (any case).
    pub fn parse(s: &str) -> Result<Destination> {
        Destination::ALL.into_iter().find(|d| d.name().eq_ignore_ascii_case(s.trim())).ok_or_else(
            || {
                Error::user(format!(
                    "unknown destination `{s}`; use one of google, meta, dsp, liveramp"
                ))
            },
        )
    }

    /// The data file's name in the export directory.
    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The audience (segment) name: in the manifest, the DSP rows and the LiveRamp header.
    pub audience: String,
    /// The directory that receives `DEST.csv` and `manifest.json` (created when missing).
    pub out_dir: PathBuf,
    /// Fewer exported contacts than this: refused, nothing written.
    pub min_size: u64,
    /// DSP rows expire this many days after `created_unix`.
    pub ttl_days: u32,
    /// Country (alpha-2) for national phone numbers and postcodes of rows without a country.
    pub default_country: Option<String>,
    /// The consent rule that selected the contacts, as recorded in the manifest.
    pub consent_rule: String,
    /// Creation time (unix seconds), for the manifest and the DSP expiry.
    pub created_unix: i64,
}

impl ExportOptions {
    /// Options with the defaults, created now.
    pub fn new(audience: impl Into<String>, out_dir: impl Into<PathBuf>) -> ExportOptions {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        ExportOptions {
            audience: audience.into(),
            out_dir: out_dir.into(),
            min_size: DEFAULT_MIN_SIZE,
            ttl_days: DEFAULT_TTL_DAYS,
            default_country: None,
            consent_rule: "only contacts with ad consent (consent = true)".into(),
            created_unix: now,
        }
    }
}

/// One written file, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name inside the export directory.
    pub name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows (without the header).
    pub rows: u64,
}

/// `manifest.json`: what an export wrote and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// The destination's name.
    pub destination: String,
    /// The audience (segment) name.
    pub audience: String,
    /// LiveRamp only: the segment column's header.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub segment_header: Option<String>,
    /// When it was written (UTC, ISO 8601).
    pub created: String,
    /// DSP only: when the rows expire.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires: Option<String>,
    /// [`NORMALIZATION_SPEC`] of the build that wrote it.
    pub normalization_spec: String,
    /// The consent rule applied.
    pub consent_rule: String,
    /// The minimum audience size checked.
    pub min_size: u64,
    /// Contacts read.
    pub records_read: u64,
    /// Contacts exported (the audience size).
    pub records_exported: u64,
    /// Identifier values written, by kind (column).
    pub identifiers: BTreeMap<String, u64>,
    /// Contacts not exported, by reason.
    pub excluded: BTreeMap<String, u64>,
    /// Values dropped from exported or excluded rows because they did not normalise, by field.
    pub dropped_values: BTreeMap<String, u64>,
    /// The files written (the manifest excepted).
    pub files: Vec<ManifestFile>,
}

/// Output columns and identifier kinds that are counted.
#[derive(Debug, Clone, Copy)]
enum Key {
    ExternId,
    Email,
    Phone,
    Gender,
    BirthDate,
    LastName,
    FirstName,
    City,
    State,
    Zip,
    Country,
    Maid,
    Cookie,
}

const KEYS: [&str; 13] = [
    "extern_id",
    "email",
    "phone",
    "gender",
    "birth_date",
    "last_name",
    "first_name",
    "city",
    "state",
    "zip",
    "country",
    "maid",
    "cookie",
];

/// Counts of one block of contacts, merged across blocks.
#[derive(Debug, Clone, Default)]
struct Tally {
    read: u64,
    exported: u64,
    rows: u64,
    no_consent: u64,
    consent_unknown: u64,
    no_identifier: u64,
    suppressed: u64,
    ids: [u64; 13],
    dropped: [u64; 13],
}

impl Tally {
    /// True when the contact gave ad consent; otherwise counts why it is excluded.
    fn consented(&mut self, consent: Option<bool>) -> bool {
        match consent {
            Some(true) => return true,
            Some(false) => self.no_consent += 1,
            None => self.consent_unknown += 1,
        }
        false
    }

    fn merge(&mut self, o: &Tally) {
        self.read += o.read;
        self.exported += o.exported;
        self.rows += o.rows;
        self.no_consent += o.no_consent;
        self.consent_unknown += o.consent_unknown;
        self.no_identifier += o.no_identifier;
        self.suppressed += o.suppressed;
        for k in 0..KEYS.len() {
            self.ids[k] += o.ids[k];
            self.dropped[k] += o.dropped[k];
        }
    }
}

/// What a destination needs normalised, and the per-export constants.
struct Ctx {
    dest: Destination,
    default_country: Option<&'static str>,
    email_rules: EmailRules,
    segment: String,
    expires: String,
}

/// A contact's values once normalised for a destination (only those it needs).
#[derive(Default)]
struct Norm {
    extern_id: Option<String>,
    email: Option<String>,
    phone: Option<Phone>,
    first: Option<String>,
    last: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    country: Option<&'static str>,
    birth: Option<BirthDate>,
    gender: Option<char>,
    maid: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Normalises `raw` with `f`, counting a present but invalid value as dropped under `key`.
fn norm<T>(
    raw: &Option<String>,
    key: Key,
    t: &mut Tally,
    f: impl FnOnce(&str) -> std::result::Result<T, normalize::Invalid>,
) -> Option<T> {
    let s = present(raw)?;
    match f(s) {
        Ok(v) => Some(v),
        Err(_) => {
            t.dropped[key as usize] += 1;
            None
        }
    }
}

fn normalize_contact(c: &Contact, ctx: &Ctx, t: &mut Tally) -> Norm {
    use Destination::*;
    let d = ctx.dest;
    let mut n = Norm::default();
    let country_out = matches!(d, Google | Meta);
    if country_out || d == LiveRamp {
        let mut scratch = Tally::default();
        let counted = if country_out { &mut *t } else { &mut scratch };
        n.country = norm(&c.country, Key::Country, counted, normalize_country);
    }
    let country = n.country.or(ctx.default_country);
    if d != Google {
        n.maid = norm(&c.maid, Key::Maid, t, normalize_maid);
    }
    if matches!(d, Meta | Dsp) {
        n.extern_id = present(&c.extern_id).map(str::to_string);
    }
    n.email = norm(&c.email, Key::Email, t, |s| normalize_email(s, ctx.email_rules));
    if d != Dsp {
        n.phone = norm(&c.phone, Key::Phone, t, |s| parse_phone(s, country));
    }
    if matches!(d, Google | Meta) {
        n.first = norm(&c.first_name, Key::FirstName, t, export_name);
        n.last = norm(&c.last_name, Key::LastName, t, export_name);
        n.zip = norm(&c.zip, Key::Zip, t, |s| normalize_zip(s, country));
    }
    if d == Meta {
        n.city = norm(&c.city, Key::City, t, normalize_city);
        n.state = norm(&c.state, Key::State, t, |s| normalize_state(s, country));
        n.gender = norm(&c.gender, Key::Gender, t, normalize_gender);
        let order = DateOrder::for_country(country);
        n.birth = norm(&c.birth_date, Key::BirthDate, t, |s| parse_birth_date(s, order));
    }
    n
}

/// Appends SHA-256 hex of `s`. Short values (birth years, months and days, gender, initials,
/// country codes: 5 of Meta's 14 hashes a row) come from a table computed once.
fn push_hash(out: &mut Vec<u8>, s: &str) {
    if s.len() <= 4 {
        if let Some(h) = short_hashes().get(s.as_bytes()) {
            out.extend_from_slice(h);
            return;
        }
    }
    let mut buf = [0u8; 64];
    normalize::sha256_hex_into(s.as_bytes(), &mut buf);
    out.extend_from_slice(&buf);
}

/// SHA-256 hex of every string of 1 to 4 digits and of 1 or 2 lowercase ASCII letters.
fn short_hashes() -> &'static std::collections::HashMap<Vec<u8>, [u8; 64]> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<Vec<u8>, [u8; 64]>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for width in 1..=4u32 {
            for n in 0..10u32.pow(width) {
                keys.push(format!("{n:0w$}", w = width as usize).into_bytes());
            }
        }
        for a in b'a'..=b'z' {
            keys.push(vec![a]);
            for b in b'a'..=b'z' {
                keys.push(vec![a, b]);
            }
        }
        keys.into_iter()
            .map(|k| {
                let mut buf = [0u8; 64];
                normalize::sha256_hex_into(&k, &mut buf);
                (k, buf)
            })
            .collect()
    })
}

/// Appends a CSV field, quoted when it holds a comma, a quote or a line break.
fn push_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Standard base64 (with padding) of a SHA-256 digest.
fn base64_32(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The header line of a destination's file.
fn header(ctx: &Ctx) -> String {
    match ctx.dest {
        Destination::Google => "Email,Phone,First Name,Last Name,Country,Zip\n".into(),
        Destination::Meta => {
            "EXTERN_ID,EMAIL,PHONE,GEN,DOBY,DOBM,DOBD,LN,FN,FI,CT,ST,ZIP,MADID,COUNTRY\n".into()
        }
        Destination::Dsp => "kind,value,segment,expires\n".into(),
        Destination::LiveRamp => format!("EMAIL_SHA256,PHONE_SHA256,MAID,{}\n", ctx.segment),
    }
}

/// Writes the contact's row(s) into `out`; counts it as exported or excluded.
fn write_contact(c: &Contact, ctx: &Ctx, out: &mut Vec<u8>, t: &mut Tally) {
    t.read += 1;
    if !t.consented(c.consent) {
        return;
    }
    let n = normalize_contact(c, ctx, t);
    let start = out.len();
    let mut ids = [0u64; 13];
    let put_hash = |out: &mut Vec<u8>, ids: &mut [u64; 13], key: Key, v: Option<&str>| {
        if let Some(v) = v {
            push_hash(out, v);
            ids[key as usize] += 1;
        }
    };
    let rows = match ctx.dest {
        Destination::Google => {
            let address =
                n.first.is_some() && n.last.is_some() && n.country.is_some() && n.zip.is_some();
            if n.email.is_none() && n.phone.is_none() && !address {
                0
            } else {
                put_hash(out, &mut ids, Key::Email, n.email.as_deref());
                out.push(b',');
                put_hash(out, &mut ids, Key::Phone, n.phone.as_ref().map(Phone::e164).as_deref());
                out.push(b',');
                put_hash(out, &mut ids, Key::FirstName, n.first.as_deref());
                out.push(b',');
                put_hash(out, &mut ids, Key::LastName, n.last.as_deref());
                out.push(b',');
                if let Some(cc) = n.country {
                    out.extend_from_slice(cc.as_bytes());
                    ids[Key::Country as usize] += 1;
                }
                out.push(b',');
                if let Some(z) = &n.zip {
                    out.extend_from_slice(z.as_bytes());
                    ids[Key::Zip as usize] += 1;
                }
                out.push(b'\n');
                1
            }
        }
        Destination::Meta => {
            let names = n.first.is_some()
                && n.last.is_some()
                && (n.zip.is_some() || n.city.is_some() || n.birth.is_some());
            if n.email.is_none() && n.phone.is_none() && n.maid.is_none() && !names {
                0
            } else {
                let gender = n.gender.map(String::from);
                let (y, m, d) = match n.birth {
                    Some(b) => (Some(b.yyyy()), Some(b.mm()), Some(b.dd())),
                    None => (None, None, None),
                };
                let fi = n.first.as_deref().and_then(first_initial);
                let country = n.country.map(str::to_ascii_lowercase);
                let cols: [(Key, Option<&str>); 12] = [
                    (Key::ExternId, n.extern_id.as_deref()),
                    (Key::Email, n.email.as_deref()),
                    (Key::Phone, n.phone.as_ref().map(Phone::digits)),
                    (Key::Gender, gender.as_deref()),
                    (Key::BirthDate, y.as_deref()),
                    (Key::BirthDate, m.as_deref()),
                    (Key::BirthDate, d.as_deref()),
                    (Key::LastName, n.last.as_deref()),
                    (Key::FirstName, n.first.as_deref()),
                    (Key::FirstName, fi.as_deref()),
                    (Key::City, n.city.as_deref()),
                    (Key::State, n.state.as_deref()),
                ];
                for (i, (key, v)) in cols.into_iter().enumerate() {
                    // DOBM, DOBD and FI are parts of fields already counted.
                    if matches!(i, 5 | 6 | 9) {
                        if let Some(v) = v {
                            push_hash(out, v);
                        }
                    } else {
                        put_hash(out, &mut ids, key, v);
                    }
                    out.push(b',');
                }
                put_hash(out, &mut ids, Key::Zip, n.zip.as_deref());
                out.push(b',');
                if let Some(m) = &n.maid {
                    out.extend_from_slice(m.as_bytes());
                    ids[Key::Maid as usize] += 1;
                }
                out.push(b',');
                put_hash(out, &mut ids, Key::Country, country.as_deref());
                out.push(b'\n');
                1
            }
        }
        Destination::Dsp => {
            let mut rows = 0;
            let mut row = |out: &mut Vec<u8>, kind: &str, value: &str| {
                out.extend_from_slice(kind.as_bytes());
                out.push(b',');
                push_field(out, value);
                out.push(b',');
                out.extend_from_slice(ctx.segment.as_bytes());
                out.push(b',');
                out.extend_from_slice(ctx.expires.as_bytes());
                out.push(b'\n');
                rows += 1;
            };
            for cookie in c.cookies.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                row(out, "cookie", cookie);
                ids[Key::Cookie as usize] += 1;
            }
            if let Some(m) = &n.maid {
                row(out, "maid", m);
                ids[Key::Maid as usize] += 1;
            }
            if let Some(e) = &n.extern_id {
                row(out, "first_party_id", e);
                ids[Key::ExternId as usize] += 1;
            }
            if let Some(e) = &n.email {
                row(out, "hashed_email", &base64_32(&Sha256::digest(e.as_bytes())));
                ids[Key::Email as usize] += 1;
            }
            rows
        }
        Destination::LiveRamp => {
            if n.email.is_none() && n.phone.is_none() && n.maid.is_none() {
                0
            } else {
                put_hash(out, &mut ids, Key::Email, n.email.as_deref());
                out.push(b',');
                put_hash(out, &mut ids, Key::Phone, n.phone.as_ref().map(Phone::e164).as_deref());
                out.push(b',');
                if let Some(m) = &n.maid {
                    out.extend_from_slice(m.as_bytes());
                    ids[Key::Maid as usize] += 1;
                }
                out.extend_from_slice(b",1\n");
                1
            }
        }
    };
    if rows == 0 {
        out.truncate(start);
        t.no_identifier += 1;
    } else {
        t.exported += 1;
        t.rows += rows;
        for (k, v) in ids.iter().enumerate() {
            t.ids[k] += v;
        }
    }
}

/// The LiveRamp segment header for an audience name: accents folded, every character other than
/// a letter, a digit or `_` made `_` (runs collapsed, trimmed). Refused when nothing is left or
/// when longer than [`LIVERAMP_MAX_HEADER`].
///
/// ```
/// use audience::export::liveramp_segment_header;
/// assert_eq!(liveramp_segment_header("Été 2026 – shoes").unwrap(), "Ete_2026_shoes");
/// assert!(liveramp_segment_header("***").is_err());
/// assert!(liveramp_segment_header(&"a".repeat(129)).is_err());
/// ```
pub fn liveramp_segment_header(name: &str) -> Result<String> {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        return Err(Error::user(format!(
            "audience name `{name}` has no letters or digits for a LiveRamp segment header; \
             pass --name with letters, digits or _"
        )));
    }
    if out.len() > LIVERAMP_MAX_HEADER {
        return Err(Error::user(format!(
            "the LiveRamp segment header would be {} characters; at most {LIVERAMP_MAX_HEADER} are \
             allowed: pass a shorter --name",
            out.len()
        )));
    }
    if ["EMAIL_SHA256", "PHONE_SHA256", "MAID"].iter().any(|h| h.eq_ignore_ascii_case(&out)) {
        return Err(Error::user(format!(
            "the LiveRamp segment header `{out}` is also an identifier column; pass another --name"
        )));
    }
    Ok(out)
}

/// Counts bytes and SHA-256 of everything written through it, and starts the disk writeback of
/// every [`WRITEBACK`] bytes as soon as they are written, so the final fsync of a multi-gigabyte
/// file does not wait for all of it (the disk works while the next rows are formatted).
struct Hashing<'a> {
    inner: &'a mut std::io::BufWriter<fs::File>,
    hasher: Sha256,
    bytes: u64,
    synced: u64,
}

/// Bytes between two writeback requests.
const WRITEBACK: u64 = 64 << 20;

impl Hashing<'_> {
    fn put(&mut self, buf: &[u8], path: &Path) -> Result<()> {
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        self.inner.write_all(buf).at(path)?;
        if self.bytes - self.synced >= WRITEBACK {
            self.inner.flush().at(path)?;
            start_writeback(self.inner.get_ref(), self.synced, self.bytes - self.synced);
            self.synced = self.bytes;
        }
        Ok(())
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk, without waiting.
#[cfg(target_os = "linux")]
fn start_writeback(file: &fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range only reads the descriptor and the range; a failure (e.g. a file
    // system without support) is harmless because the final fsync writes everything anyway.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &fs::File, _offset: u64, _len: u64) {}

/// Contacts per block read from the stream and normalised in parallel (one pid shard).
const BLOCK: usize = 65_536;
/// Contacts per parallel task inside a block.
const TASK: usize = 2_048;

/// Exports `records` to `dest`; see the module docs. Returns the manifest it wrote.
pub fn export_contacts(
    records: impl Iterator<Item = Contact>,
    dest: Destination,
    opts: &ExportOptions,
) -> Result<ExportManifest> {
    try_export_contacts(records.map(Ok), dest, opts)
}

/// [`export_contacts`] over a fallible stream (a file being read): the first error stops the
/// export and nothing is written.
pub fn try_export_contacts(
    records: impl Iterator<Item = Result<Contact>>,
    dest: Destination,
    opts: &ExportOptions,
) -> Result<ExportManifest> {
    let ctx = make_ctx(dest, opts)?;
    in_out_dir(opts, || write_export(records, &ctx, opts))
}

/// Checks the options and builds the per-export constants.
fn make_ctx(dest: Destination, opts: &ExportOptions) -> Result<Ctx> {
    if opts.audience.trim().is_empty() {
        return Err(Error::user("the audience name is empty; pass --name NAME"));
    }
    if opts.min_size == 0 {
        return Err(Error::user("--min-size must be at least 1"));
    }
    let default_country = match opts.default_country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(parse_default_country(c, "--default-country")?),
    };
    let segment = match dest {
        Destination::LiveRamp => liveramp_segment_header(&opts.audience)?,
        _ => {
            let mut s = Vec::new();
            push_field(&mut s, opts.audience.trim());
            String::from_utf8(s).map_err(|e| Error::internal(e.to_string()))?
        }
    };
    let expires_unix = opts.created_unix + i64::from(opts.ttl_days) * 86_400;
    Ok(Ctx {
        dest,
        default_country,
        email_rules: match dest {
            Destination::Google => EmailRules::GOOGLE,
            Destination::Dsp => EmailRules::UID2,
            Destination::Meta | Destination::LiveRamp => EmailRules::PLAIN,
        },
        segment,
        expires: iso_from_unix(expires_unix),
    })
}

/// Runs `write` with the output directory created; directories it created are removed again
/// when it fails.
fn in_out_dir(
    opts: &ExportOptions,
    write: impl FnOnce() -> Result<ExportManifest>,
) -> Result<ExportManifest> {
    let created_dir = first_missing_ancestor(&opts.out_dir);
    fs::create_dir_all(&opts.out_dir).at(&opts.out_dir)?;
    let result = write();
    if result.is_err() {
        if let Some(dir) = created_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result
}

/// The outermost directory of `dir` that does not exist yet (to remove it again on failure).
fn first_missing_ancestor(dir: &Path) -> Option<PathBuf> {
    let mut missing = None;
    for a in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if a.exists() {
            break;
        }
        missing = Some(a.to_path_buf());
    }
    missing
}

fn write_export(
    mut records: impl Iterator<Item = Result<Contact>>,
    ctx: &Ctx,
    opts: &ExportOptions,
) -> Result<ExportManifest> {
    let mut block: Vec<Contact> = Vec::with_capacity(BLOCK);
    write_blocks(ctx, opts, || {
        block.clear();
        for r in records.by_ref().take(BLOCK) {
            block.push(r?);
        }
        if block.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            block
                .par_chunks(TASK)
                .map(|cs| {
                    let mut out = Vec::with_capacity(cs.len() * 200);
                    let mut t = Tally::default();
                    for c in cs {
                        write_contact(c, ctx, &mut out, &mut t);
                    }
                    (out, t)
                })
                .collect(),
        ))
    })
}

/// Streams the blocks of rows that `next_block` produces (each a list of written bytes and their
/// counts, in order) into the destination's file, then checks the size and writes the manifest.
fn write_blocks(
    ctx: &Ctx,
    opts: &ExportOptions,
    mut next_block: impl FnMut() -> Result<Option<Vec<(Vec<u8>, Tally)>>>,
) -> Result<ExportManifest> {
    let file_name = ctx.dest.file_name();
    let path = opts.out_dir.join(&file_name);
    let mut total = Tally::default();
    let mut digest = String::new();
    let mut bytes = 0u64;
    write_atomic(&path, |w| {
        let mut hw = Hashing { inner: w, hasher: Sha256::new(), bytes: 0, synced: 0 };
        hw.put(header(ctx).as_bytes(), &path)?;
        // A writer thread hashes and writes block k while block k+1 is formatted; the bounded
        // channel keeps at most a few blocks in memory.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, Tally)>>(2);
        std::thread::scope(|scope| -> Result<()> {
            let path = &path;
            let writer = scope.spawn(move || -> Result<Hashing<'_>> {
                for parts in rx {
                    for (out, _) in &parts {
                        hw.put(out, path)?;
                    }
                }
                Ok(hw)
            });
            let produced = (|| -> Result<()> {
                while let Some(parts) = next_block()? {
                    for (_, t) in &parts {
                        total.merge(t);
                    }
                    if tx.send(parts).is_err() {
                        break; // the writer failed: its error is reported below
                    }
                }
                Ok(())
            })();
            drop(tx);
            let written =
                writer.join().map_err(|_| Error::internal("the export writer panicked"))?;
            let mut hw = written?;
            produced?;
            digest = hex::encode(hw.hasher.finalize_reset());
            bytes = hw.bytes;
            Ok(())
        })?;
        if total.exported < opts.min_size {
            let suppressed = if total.suppressed > 0 {
                format!(", {} forgotten (suppressed)", total.suppressed)
            } else {
                String::new()
            };
            return Err(Error::user(format!(
                "audience `{}` has {} exportable contacts out of {} read ({} without ad consent, \
                 {} with unknown consent, {} without a usable identifier{suppressed}); the \
                 minimum is {} (--min-size): nothing was written",
                opts.audience,
                total.exported,
                total.read,
                total.no_consent,
                total.consent_unknown,
                total.no_identifier,
                opts.min_size
            )));
        }
        Ok(())
    })?;
    let count = |v: &[u64; 13]| -> BTreeMap<String, u64> {
        KEYS.iter().zip(v).filter(|(_, n)| **n > 0).map(|(k, n)| (k.to_string(), *n)).collect()
    };
    let mut excluded: BTreeMap<String, u64> = [
        ("no_consent", total.no_consent),
        ("consent_unknown", total.consent_unknown),
        ("no_identifier", total.no_identifier),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if total.suppressed > 0 {
        excluded.insert("suppressed".into(), total.suppressed);
    }
    let manifest = ExportManifest {
        destination: ctx.dest.name().into(),
        audience: opts.audience.clone(),
        segment_header: (ctx.dest == Destination::LiveRamp).then(|| ctx.segment.clone()),
        created: iso_from_unix(opts.created_unix),
        expires: (ctx.dest == Destination::Dsp).then(|| ctx.expires.clone()),
        normalization_spec: NORMALIZATION_SPEC.into(),
        consent_rule: opts.consent_rule.clone(),
        min_size: opts.min_size,
        records_read: total.read,
        records_exported: total.exported,
        identifiers: count(&total.ids),
        excluded,
        dropped_values: count(&total.dropped),
        files: vec![ManifestFile { name: file_name, sha256: digest, bytes, rows: total.rows }],
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::internal(format!("serialising the manifest: {e}")))?;
    let mpath = opts.out_dir.join(MANIFEST);
    write_atomic(&mpath, |w| w.write_all(&json).at(&mpath))?;
    Ok(manifest)
}

// ---------------------------------------------------------------------------------------------
// Hashed contacts: a profile's identifiers normalised and hashed once for every destination.

/// The values of a [`HashedContact`], each feeding one destination column. Hash fields hold the
/// 32-byte SHA-256 digest of the normalised value; the others (ids, MAIDs, the zip and country
/// Google takes unhashed) hold normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HField {
    /// SHA-256 of the email under Google's rule (Gmail dots removed).
    GoogleEmail,
    /// SHA-256 of the phone in E.164 with `+` (Google, LiveRamp).
    GooglePhone,
    /// SHA-256 of the trimmed, lowercase email (Meta, LiveRamp).
    MetaEmail,
    /// SHA-256 of the phone's digits with the country code, no `+` (Meta).
    MetaPhone,
    /// SHA-256 of the email under the UID2 rule (Gmail dots and `+tag` removed; DSP).
    Uid2Email,
    /// The advertiser's customer id (DSP first-party id).
    ExternId,
    /// SHA-256 of the customer id (Meta's `EXTERN_ID`).
    MetaExternId,
    /// Mobile advertising id, lowercase UUID.
    Maid,
    /// First-party cookie.
    Cookie,
    /// SHA-256 of the first name.
    FirstName,
    /// SHA-256 of the last name.
    LastName,
    /// SHA-256 of the first name's initial (Meta's `FI`).
    FirstInitial,
    /// SHA-256 of the city.
    City,
    /// SHA-256 of the state.
    State,
    /// SHA-256 of `m` or `f`.
    Gender,
    /// SHA-256 of the birth year (YYYY).
    BirthYear,
    /// SHA-256 of the birth month (MM).
    BirthMonth,
    /// SHA-256 of the birth day (DD).
    BirthDay,
    /// The normalised zip, unhashed (Google).
    Zip,
    /// SHA-256 of the normalised zip (Meta).
    MetaZip,
    /// ISO alpha-2 country, uppercase, unhashed (Google).
    Country,
    /// SHA-256 of the lowercase alpha-2 country (Meta).
    MetaCountry,
}

/// Number of [`HField`]s.
pub const HFIELDS: usize = 22;
/// At most this many values of one list field are kept per profile (emails, phones, ids).
pub const MAX_VALUES: usize = 5;
/// Longer values (an odd cookie) are not stored.
pub const MAX_VALUE_BYTES: usize = 255;

impl HField {
    /// Every field, in storage order.
    pub const ALL: [HField; HFIELDS] = [
        HField::GoogleEmail,
        HField::GooglePhone,
        HField::MetaEmail,
        HField::MetaPhone,
        HField::Uid2Email,
        HField::ExternId,
        HField::MetaExternId,
        HField::Maid,
        HField::Cookie,
        HField::FirstName,
        HField::LastName,
        HField::FirstInitial,
        HField::City,
        HField::State,
        HField::Gender,
        HField::BirthYear,
        HField::BirthMonth,
        HField::BirthDay,
        HField::Zip,
        HField::MetaZip,
        HField::Country,
        HField::MetaCountry,
    ];

    /// True for fields holding a SHA-256 digest.
    pub fn is_hash(self) -> bool {
        !matches!(
            self,
            HField::ExternId | HField::Maid | HField::Cookie | HField::Zip | HField::Country
        )
    }

    /// True for fields that keep several values; the others keep one.
    pub fn is_list(self) -> bool {
        (self as u8) <= HField::Cookie as u8
    }

    /// How many values a profile keeps: 32 cookies (they churn), 8 MAIDs, [`MAX_VALUES`] of the
    /// other lists, 1 of the rest.
    pub fn capacity(self) -> usize {
        match self {
            HField::Cookie => 32,
            HField::Maid => 8,
            f if f.is_list() => MAX_VALUES,
            _ => 1,
        }
    }
}

/// A profile's identifiers, ready for every destination (see [`HField`]). Built at resolve time
/// from the raw CRM and the identity graph, stored by [`crate::identity::contact_store`], and
/// written by [`export_records`] without normalising or hashing anything again. Holds no raw PII.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HashedContact {
    /// The profile.
    pub pid: u32,
    values: [Vec<Vec<u8>>; HFIELDS],
}

impl HashedContact {
    /// An empty contact of `pid`.
    pub fn new(pid: u32) -> HashedContact {
        HashedContact { pid, ..Default::default() }
    }

    /// Adds a value; false when not kept (a duplicate, a single field already set, a full list,
    /// an empty or too long value, a hash field given anything but 32 bytes).
    pub fn add(&mut self, f: HField, v: &[u8]) -> bool {
        let list = &mut self.values[f as usize];
        let cap = f.capacity();
        if v.is_empty()
            || v.len() > MAX_VALUE_BYTES
            || (f.is_hash() && v.len() != 32)
            || list.len() >= cap
            || list.iter().any(|x| x == v)
        {
            return false;
        }
        list.push(v.to_vec());
        true
    }

    /// Adds the SHA-256 digest of `s`.
    pub fn add_hash_of(&mut self, f: HField, s: &str) -> bool {
        self.add(f, &Sha256::digest(s.as_bytes()))
    }

    /// The values of `f`.
    pub fn values(&self, f: HField) -> &[Vec<u8>] {
        &self.values[f as usize]
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Vec::is_empty)
    }

    /// Adds every value of `other` (its pid is ignored).
    pub fn merge(&mut self, other: &HashedContact) {
        for f in HField::ALL {
            for v in other.values(f) {
                self.add(f, v);
            }
        }
    }

    /// Normalises and hashes a raw contact for every destination, with the same rules as the
    /// contact-list export (invalid values are left out). `default_country` is the country of
    /// national phones and zips when the contact has none.
    pub fn from_contact(c: &Contact, default_country: Option<&'static str>) -> HashedContact {
        use HField::*;
        let mut h = HashedContact::default();
        let country = present(&c.country).and_then(|s| normalize_country(s).ok());
        if let Some(cc) = country {
            h.add(Country, cc.as_bytes());
            h.add_hash_of(MetaCountry, &cc.to_ascii_lowercase());
        }
        let cc = country.or(default_country);
        if let Some(m) = present(&c.maid).and_then(|s| normalize_maid(s).ok()) {
            h.add(Maid, m.as_bytes());
        }
        if let Some(e) = present(&c.extern_id) {
            h.add(ExternId, e.as_bytes());
            h.add_hash_of(MetaExternId, e);
        }
        if let Some(e) = present(&c.email) {
            for (f, rules) in [
                (GoogleEmail, EmailRules::GOOGLE),
                (MetaEmail, EmailRules::PLAIN),
                (Uid2Email, EmailRules::UID2),
            ] {
                if let Ok(n) = normalize_email(e, rules) {
                    h.add_hash_of(f, &n);
                }
            }
        }
        if let Some(p) = present(&c.phone).and_then(|s| parse_phone(s, cc).ok()) {
            h.add_hash_of(GooglePhone, &p.e164());
            h.add_hash_of(MetaPhone, p.digits());
        }
        if let Some(f) = present(&c.first_name).and_then(|s| export_name(s).ok()) {
            h.add_hash_of(FirstName, &f);
            if let Some(i) = first_initial(&f) {
                h.add_hash_of(FirstInitial, &i);
            }
        }
        if let Some(l) = present(&c.last_name).and_then(|s| export_name(s).ok()) {
            h.add_hash_of(LastName, &l);
        }
        if let Some(z) = present(&c.zip).and_then(|s| normalize_zip(s, cc).ok()) {
            h.add(Zip, z.as_bytes());
            h.add_hash_of(MetaZip, &z);
        }
        if let Some(v) = present(&c.city).and_then(|s| normalize_city(s).ok()) {
            h.add_hash_of(City, &v);
        }
        if let Some(v) = present(&c.state).and_then(|s| normalize_state(s, cc).ok()) {
            h.add_hash_of(State, &v);
        }
        if let Some(g) = present(&c.gender).and_then(|s| normalize_gender(s).ok()) {
            h.add_hash_of(Gender, &g.to_string());
        }
        let order = DateOrder::for_country(cc);
        if let Some(b) = present(&c.birth_date).and_then(|s| parse_birth_date(s, order).ok()) {
            h.add_hash_of(BirthYear, &b.yyyy());
            h.add_hash_of(BirthMonth, &b.mm());
            h.add_hash_of(BirthDay, &b.dd());
        }
        for cookie in c.cookies.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            h.add(Cookie, cookie.as_bytes());
        }
        h
    }

    /// Appends the record's encoding: pid (u32 LE), body length (u32 LE), then per field in
    /// [`HField::ALL`] order a count byte and each value as a length byte and its bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pid.to_le_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        for list in &self.values {
            out.push(list.len() as u8);
            for v in list {
                out.push(v.len() as u8);
                out.extend_from_slice(v);
            }
        }
        let body = (out.len() - len_at - 4) as u32;
        out[len_at..len_at + 4].copy_from_slice(&body.to_le_bytes());
    }
}

/// A stored [`HashedContact`] read in place, without copying (see [`HashedContact::encode`]).
#[derive(Debug, Clone, Copy)]
pub struct HashedRecord<'a> {
    /// The profile.
    pub pid: u32,
    fields: [&'a [u8]; HFIELDS],
}

impl<'a> HashedRecord<'a> {
    /// Decodes the record at the start of `bytes`; returns it and its encoded length, or `None`
    /// when the bytes are not a well-formed record.
    pub fn decode(bytes: &'a [u8]) -> Option<(HashedRecord<'a>, usize)> {
        let pid = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?) as usize;
        let body = bytes.get(8..8 + len)?;
        let mut fields = [&body[..0]; HFIELDS];
        let mut pos = 0;
        for f in fields.iter_mut() {
            let start = pos;
            let n = *body.get(pos)?;
            pos += 1;
            for _ in 0..n {
                pos += 1 + *body.get(pos)? as usize;
            }
            *f = body.get(start..pos)?;
        }
        (pos == len).then_some((HashedRecord { pid, fields }, 8 + len))
    }

    /// Number of values of `f`.
    pub fn count(&self, f: HField) -> usize {
        self.fields[f as usize][0] as usize
    }

    /// The values of `f`.
    pub fn iter(&self, f: HField) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = &self.fields[f as usize][1..];
        std::iter::from_fn(move || {
            let (&n, tail) = rest.split_first()?;
            let (v, tail) = tail.split_at(n as usize);
            rest = tail;
            Some(v)
        })
    }

    /// The `i`-th value of `f`, or its last one when it has fewer (a repeated value), or `None`.
    pub fn pick(&self, f: HField, i: usize) -> Option<&'a [u8]> {
        let mut last = None;
        for (k, v) in self.iter(f).enumerate() {
            last = Some(v);
            if k == i {
                break;
            }
        }
        last
    }

    /// Copies the record into an owned [`HashedContact`].
    pub fn to_owned_contact(&self) -> HashedContact {
        let mut h = HashedContact::new(self.pid);
        for f in HField::ALL {
            for v in self.iter(f) {
                h.add(f, v);
            }
        }
        h
    }
}

/// Appends the lowercase hex of a digest (nothing when `None`).
fn push_hex(out: &mut Vec<u8>, d: Option<&[u8]>) {
    if let Some(d) = d {
        let mut buf = [0u8; 64];
        if hex::encode_to_slice(d, &mut buf).is_ok() {
            out.extend_from_slice(&buf);
        }
    }
}

/// Appends a text value as a CSV field (nothing when `None`).
fn push_text(out: &mut Vec<u8>, v: Option<&[u8]>) {
    if let Some(v) = v {
        push_field(out, &String::from_utf8_lossy(v));
    }
}

/// Writes a stored record's rows; returns the number of rows (0: nothing usable).
fn write_record(r: &HashedRecord, ctx: &Ctx, out: &mut Vec<u8>, ids: &mut [u64; 13]) -> u64 {
    use HField as F;
    let has = |f: F| r.count(f) > 0;
    let mut count = |key: Key, n: usize| ids[key as usize] += n as u64;
    match ctx.dest {
        Destination::Google => {
            let (ne, np) = (r.count(F::GoogleEmail), r.count(F::GooglePhone));
            let address = has(F::FirstName) && has(F::LastName) && has(F::Country) && has(F::Zip);
            let n = ne.max(np).max(usize::from(address));
            if n == 0 {
                return 0;
            }
            count(Key::Email, ne);
            count(Key::Phone, np);
            for (f, k) in [
                (F::FirstName, Key::FirstName),
                (F::LastName, Key::LastName),
                (F::Country, Key::Country),
                (F::Zip, Key::Zip),
            ] {
                count(k, r.count(f));
            }
            for i in 0..n {
                push_hex(out, r.pick(F::GoogleEmail, i));
                out.push(b',');
                push_hex(out, r.pick(F::GooglePhone, i));
                out.push(b',');
                push_hex(out, r.pick(F::FirstName, 0));
                out.push(b',');
                push_hex(out, r.pick(F::LastName, 0));
                out.push(b',');
                push_text(out, r.pick(F::Country, 0));
                out.push(b',');
                push_text(out, r.pick(F::Zip, 0));
                out.push(b'\n');
            }
            n as u64
        }
        Destination::Meta => {
            let (ne, np, nm) = (r.count(F::MetaEmail), r.count(F::MetaPhone), r.count(F::Maid));
            let names = has(F::FirstName)
                && has(F::LastName)
                && (has(F::MetaZip) || has(F::City) || has(F::BirthYear));
            let n = ne.max(np).max(nm).max(usize::from(names));
            if n == 0 {
                return 0;
            }
            for (f, k) in [
                (F::MetaExternId, Key::ExternId),
                (F::MetaEmail, Key::Email),
                (F::MetaPhone, Key::Phone),
                (F::Gender, Key::Gender),
                (F::BirthYear, Key::BirthDate),
                (F::LastName, Key::LastName),
                (F::FirstName, Key::FirstName),
                (F::City, Key::City),
                (F::State, Key::State),
                (F::MetaZip, Key::Zip),
                (F::Maid, Key::Maid),
                (F::MetaCountry, Key::Country),
            ] {
                count(k, r.count(f));
            }
            for i in 0..n {
                for (j, f) in [
                    F::MetaExternId,
                    F::MetaEmail,
                    F::MetaPhone,
                    F::Gender,
                    F::BirthYear,
                    F::BirthMonth,
                    F::BirthDay,
                    F::LastName,
                    F::FirstName,
                    F::FirstInitial,
                    F::City,
                    F::State,
                    F::MetaZip,
                ]
                .into_iter()
                .enumerate()
                {
                    push_hex(out, r.pick(f, if j < 3 { i } else { 0 }));
                    out.push(b',');
                }
                push_text(out, r.pick(F::Maid, i));
                out.push(b',');
                push_hex(out, r.pick(F::MetaCountry, 0));
                out.push(b'\n');
            }
            n as u64
        }
        Destination::Dsp => {
            let mut rows = 0;
            let mut row = |out: &mut Vec<u8>, kind: &str, value: &[u8]| {
                out.extend_from_slice(kind.as_bytes());
                out.push(b',');
                out.extend_from_slice(value);
                out.push(b',');
                out.extend_from_slice(ctx.segment.as_bytes());
                out.push(b',');
                out.extend_from_slice(ctx.expires.as_bytes());
                out.push(b'\n');
                rows += 1;
            };
            let mut field = Vec::new();
            for (f, kind, key) in [
                (F::Cookie, "cookie", Key::Cookie),
                (F::Maid, "maid", Key::Maid),
                (F::ExternId, "first_party_id", Key::ExternId),
            ] {
                for v in r.iter(f) {
                    field.clear();
                    push_text(&mut field, Some(v));
                    row(out, kind, &field);
                    count(key, 1);
                }
            }
            for d in r.iter(F::Uid2Email) {
                row(out, "hashed_email", base64_32(d).as_bytes());
                count(Key::Email, 1);
            }
            rows
        }
        Destination::LiveRamp => {
            let (ne, np, nm) = (r.count(F::MetaEmail), r.count(F::GooglePhone), r.count(F::Maid));
            let n = ne.max(np).max(nm);
            count(Key::Email, ne);
            count(Key::Phone, np);
            count(Key::Maid, nm);
            for i in 0..n {
                push_hex(out, r.pick(F::MetaEmail, i));
                out.push(b',');
                push_hex(out, r.pick(F::GooglePhone, i));
                out.push(b',');
                push_text(out, r.pick(F::Maid, i));
                out.extend_from_slice(b",1\n");
            }
            n as u64
        }
    }
}

/// One member of an audience being exported from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Where its stored record starts in the block's bytes (`None`: no contact data).
    pub offset: Option<usize>,
    /// Its ad consent (`Some(true)` only is exported).
    pub consent: Option<bool>,
    /// Forgotten (`audience forget`): never exported.
    pub suppressed: bool,
}

/// A block of audience members (one pid shard) and the encoded records they point into.
#[derive(Debug, Clone, Default)]
pub struct RecordBlock {
    /// Encoded [`HashedContact`]s.
    pub bytes: Vec<u8>,
    /// The members, in pid order.
    pub members: Vec<Member>,
}

fn write_member(m: &Member, bytes: &[u8], ctx: &Ctx, out: &mut Vec<u8>, t: &mut Tally) {
    t.read += 1;
    if m.suppressed {
        t.suppressed += 1;
        return;
    }
    if !t.consented(m.consent) {
        return;
    }
    let record = m.offset.and_then(|o| bytes.get(o..)).and_then(HashedRecord::decode);
    let mut ids = [0u64; 13];
    let rows = match record {
        Some((r, _)) => write_record(&r, ctx, out, &mut ids),
        None => 0,
    };
    if rows == 0 {
        t.no_identifier += 1;
    } else {
        t.exported += 1;
        t.rows += rows;
        for (k, v) in ids.iter().enumerate() {
            t.ids[k] += v;
        }
    }
}

/// Exports audience members whose identifiers are stored already hashed (a store segment; see
/// [`crate::identity::contact_store`]). Same rules, files and manifest as [`export_contacts`];
/// a profile with several emails or phones gets several rows (Google, Meta, LiveRamp), the
/// other values repeated. Blocks are written in order, each one's members in parallel.
pub fn export_records(
    mut blocks: impl Iterator<Item = Result<RecordBlock>>,
    dest: Destination,
    opts: &ExportOptions,
) -> Result<ExportManifest> {
    let ctx = make_ctx(dest, opts)?;
    let ctx = &ctx;
    in_out_dir(opts, || {
        write_blocks(ctx, opts, || {
            let Some(block) = blocks.next().transpose()? else { return Ok(None) };
            Ok(Some(
                block
                    .members
                    .par_chunks(TASK)
                    .map(|ms| {
                        let mut out = Vec::with_capacity(ms.len() * 300);
                        let mut t = Tally::default();
                        for m in ms {
                            write_member(m, &block.bytes, ctx, &mut out, &mut t);
                        }
                        (out, t)
                    })
                    .collect(),
            ))
        })
    })
}

/// The consent rule of a store export, as written in the manifest.
pub const STORE_CONSENT_RULE: &str = "trait `consent.ads` = true; profiles with false or no \
                                      consent are excluded, forgotten profiles (audience forget) \
                                      are never exported";

/// Exports the store segment `segment`: its members' stored contact records
/// ([`crate::identity::contact_store`]) with the trait `consent.ads` and the suppressions of
/// `audience forget` applied, streamed shard by shard (bounded memory). See [`export_records`].
pub fn export_segment(
    store: &crate::store::Store,
    segment: &str,
    dest: Destination,
    opts: &ExportOptions,
) -> Result<ExportManifest> {
    use crate::identity::contact_store::{ContactReader, SHARD};
    let seg = crate::segment::load(store, segment)?;
    let Some(mut reader) = ContactReader::open(store)? else {
        return Err(Error::user(format!(
            "the store {} has no contact table (identity/contacts.bin) yet: run `audience resolve \
             SOURCES_DIR` first, which stores each profile's hashed identifiers; or onboard a \
             contact list with `audience export --contacts FILE.csv`",
            store.root().display()
        )));
    };
    let manifest = crate::index::BitmapIndex::manifest(store)?;
    let (yes, no) = if manifest.get(crate::import::CONSENT_TRAIT).is_some() {
        let index = crate::index::BitmapIndex::open(store, Some(&[crate::import::CONSENT_TRAIT]))?;
        let t = index.get(crate::import::CONSENT_TRAIT)?;
        (t.equals("true"), t.equals("false"))
    } else {
        (roaring::RoaringBitmap::new(), roaring::RoaringBitmap::new())
    };
    let sup = crate::forget::Suppression::load(store)?;
    let forgotten: roaring::RoaringBitmap = sup.pids.iter().copied().collect();
    let digests = sup.digests();
    let ranges: std::collections::HashMap<u32, crate::identity::contact_store::ShardRange> =
        reader.index.shards.iter().map(|r| (r.shard, r.clone())).collect();
    let mut pids = seg.pids.iter().peekable();
    let blocks = std::iter::from_fn(move || {
        let first = *pids.peek()?;
        let shard = first / SHARD;
        let mut members: Vec<u32> = Vec::new();
        while let Some(&p) = pids.peek() {
            if p / SHARD != shard {
                break;
            }
            members.push(p);
            pids.next();
        }
        let mut block = RecordBlock::default();
        let result = (|| {
            let offsets = match ranges.get(&shard) {
                Some(range) => {
                    reader.read_shard(range, &mut block.bytes)?;
                    reader.offsets(&block.bytes)?
                }
                None => Vec::new(),
            };
            let mut j = 0;
            for p in members {
                while j < offsets.len() && offsets[j].0 < p {
                    j += 1;
                }
                let offset = (j < offsets.len() && offsets[j].0 == p).then(|| offsets[j].1);
                let mut suppressed = forgotten.contains(p);
                if !suppressed && !digests.is_empty() {
                    if let Some((r, _)) =
                        offset.and_then(|o| HashedRecord::decode(&block.bytes[o..]))
                    {
                        suppressed = r
                            .iter(HField::MetaEmail)
                            .chain(r.iter(HField::GooglePhone))
                            .any(|d| <[u8; 32]>::try_from(d).is_ok_and(|d| digests.contains(&d)));
                    }
                }
                let consent = if yes.contains(p) {
                    Some(true)
                } else if no.contains(p) {
                    Some(false)
                } else {
                    None
                };
                block.members.push(Member { offset, consent, suppressed });
            }
            Ok(())
        })();
        Some(result.map(|()| block))
    });
    export_records(blocks, dest, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::sha256_hex;

    fn contact(email: &str, phone: &str) -> Contact {
        Contact {
            email: Some(email.into()),
            phone: Some(phone.into()),
            consent: Some(true),
            ..Contact::default()
        }
    }

    fn ctx(dest: Destination) -> Ctx {
        Ctx {
            dest,
            default_country: Some("FR"),
            email_rules: match dest {
                Destination::Google => EmailRules::GOOGLE,
                Destination::Dsp => EmailRules::UID2,
                _ => EmailRules::PLAIN,
            },
            segment: "seg".into(),
            expires: "2026-12-29T00:00:00Z".into(),
        }
    }

    fn row(c: &Contact, dest: Destination) -> (String, Tally) {
        let mut out = Vec::new();
        let mut t = Tally::default();
        write_contact(c, &ctx(dest), &mut out, &mut t);
        (String::from_utf8(out).unwrap(), t)
    }

    #[test]
    fn google_row_hashes_pii_and_keeps_country_and_zip() {
        let c = Contact {
            first_name: Some("José".into()),
            last_name: Some("García-López".into()),
            country: Some("Spain".into()),
            zip: Some("28013".into()),
            ..contact(" John.Doe@Gmail.com ", "612 34 56 78")
        };
        let (r, t) = row(&c, Destination::Google);
        let want = format!(
            "{},{},{},{},ES,28013\n",
            sha256_hex("johndoe@gmail.com"),
            sha256_hex("+34612345678"),
            sha256_hex("josé"),
            sha256_hex("garcíalópez")
        );
        assert_eq!(r, want);
        assert_eq!((t.exported, t.rows), (1, 1));
    }

    #[test]
    fn meta_row_has_every_column_hashed_but_madid() {
        let c = Contact {
            extern_id: Some("C-1".into()),
            first_name: Some("Émilie".into()),
            last_name: Some("Dupont".into()),
            city: Some("Saint-Étienne".into()),
            state: Some("ARA".into()),
            zip: Some("42000".into()),
            country: Some("FR".into()),
            birth_date: Some("1985-03-07".into()),
            gender: Some("Femme".into()),
            maid: Some("AECE52E7-03EE-455A-B3C4-E57283966239".into()),
            ..contact("Emilie.Dupont@Example.fr", "06 12 34 56 78")
        };
        let (r, _) = row(&c, Destination::Meta);
        let h = sha256_hex;
        let want = [
            h("C-1"),
            h("emilie.dupont@example.fr"),
            h("33612345678"),
            h("f"),
            h("1985"),
            h("03"),
            h("07"),
            h("dupont"),
            h("émilie"),
            h("é"),
            h("saintetienne"),
            h("ara"),
            h("42000"),
            "aece52e7-03ee-455a-b3c4-e57283966239".into(),
            h("fr"),
        ]
        .join(",");
        assert_eq!(r, want + "\n");
    }

    #[test]
    fn dsp_rows_one_identifier_each() {
        let c = Contact {
            extern_id: Some("C,1".into()),
            cookies: vec!["ck1".into(), " ".into()],
            maid: Some("AECE52E7-03EE-455A-B3C4-E57283966239".into()),
            ..contact("Jane.Smith+x@gmail.com", "")
        };
        let (r, t) = row(&c, Destination::Dsp);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "cookie,ck1,seg,2026-12-29T00:00:00Z");
        assert_eq!(lines[1], "maid,aece52e7-03ee-455a-b3c4-e57283966239,seg,2026-12-29T00:00:00Z");
        assert_eq!(lines[2], "first_party_id,\"C,1\",seg,2026-12-29T00:00:00Z");
        let b64 = base64_32(&Sha256::digest(b"janesmith@gmail.com"));
        assert_eq!(lines[3], format!("hashed_email,{b64},seg,2026-12-29T00:00:00Z"));
        assert_eq!((t.exported, t.rows), (1, 4));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64_32(b""), "");
        assert_eq!(base64_32(b"f"), "Zg==");
        assert_eq!(base64_32(b"fo"), "Zm8=");
        assert_eq!(base64_32(b"foo"), "Zm9v");
        assert_eq!(base64_32(b"foobar"), "Zm9vYmFy");
        // UID2's documented example: SHA-256 of "user@example.com", base64.
        assert_eq!(
            base64_32(&Sha256::digest(b"user@example.com")),
            "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="
        );
    }

    #[test]
    fn invalid_values_are_dropped_and_counted_never_written() {
        let c = contact("not-an-email", "06 12 34 56 78");
        let (r, t) = row(&c, Destination::Google);
        assert!(r.starts_with(&format!(",{}", sha256_hex("+33612345678"))));
        assert_eq!(t.dropped[Key::Email as usize], 1);
        let c = contact("bad@", "12");
        let (r, t) = row(&c, Destination::LiveRamp);
        assert_eq!(r, "");
        assert_eq!(
            (t.no_identifier, t.dropped[Key::Email as usize], t.dropped[Key::Phone as usize]),
            (1, 1, 1)
        );
    }

    #[test]
    fn no_consent_is_never_exported() {
        for consent in [Some(false), None] {
            let c = Contact { consent, ..contact("a@example.com", "") };
            for d in Destination::ALL {
                let (r, t) = row(&c, d);
                assert_eq!(r, "");
                assert_eq!(t.no_consent + t.consent_unknown, 1);
            }
        }
    }

    fn sample(i: u64) -> Contact {
        Contact {
            extern_id: Some(format!("C{i}")),
            email: Some(if i % 9 == 4 {
                format!("broken{i}.example.com")
            } else {
                format!(" First.Last{i}@GMail.com ")
            }),
            phone: Some(format!("06 12 34 {:02} {:02}", i / 100 % 100, i % 100)),
            first_name: Some(["José", "Émilie", "Zoë"][(i % 3) as usize].into()),
            last_name: Some("García-López".into()),
            city: Some("Saint-Étienne".into()),
            state: None,
            zip: Some(format!("{:05}", 42000 + i)),
            country: Some(if i.is_multiple_of(5) { "Spain" } else { "FR" }.into()),
            birth_date: Some(format!("1980-05-{:02}", 1 + i % 28)),
            gender: Some(if i.is_multiple_of(2) { "F" } else { "male" }.into()),
            maid: (!i.is_multiple_of(4)).then(|| format!("AECE52E7-03EE-455A-B3C4-{:012X}", i + 1)),
            cookies: vec![format!("ck{i}a"), format!("ck{i}b")],
            consent: [Some(true), Some(true), Some(false), None][(i % 4) as usize],
        }
    }

    /// The stored-record path writes byte for byte what the contact-list path writes.
    #[test]
    fn stored_records_export_exactly_like_contacts() {
        let contacts: Vec<Contact> = (0..400).map(sample).collect();
        let mut block = RecordBlock::default();
        for (i, c) in contacts.iter().enumerate() {
            let mut h = HashedContact::from_contact(c, Some("FR"));
            h.pid = i as u32;
            block.members.push(Member {
                offset: Some(block.bytes.len()),
                consent: c.consent,
                suppressed: false,
            });
            h.encode(&mut block.bytes);
        }
        let dir = tempfile::tempdir().unwrap();
        for dest in Destination::ALL {
            let mut a = ExportOptions::new("Été shoes", dir.path().join("a").join(dest.name()));
            a.default_country = Some("FR".into());
            a.created_unix = 1_790_000_000;
            let mut b = a.clone();
            b.out_dir = dir.path().join("b").join(dest.name());
            let ma = export_contacts(contacts.iter().cloned(), dest, &a).unwrap();
            let mb = export_records(std::iter::once(Ok(block.clone())), dest, &b).unwrap();
            let fa = fs::read(a.out_dir.join(dest.file_name())).unwrap();
            let fb = fs::read(b.out_dir.join(dest.file_name())).unwrap();
            assert!(fa == fb, "{}: files differ", dest.name());
            assert_eq!(ma.identifiers, mb.identifiers, "{}", dest.name());
            assert_eq!(ma.excluded, mb.excluded, "{}", dest.name());
            assert_eq!(ma.files[0].sha256, mb.files[0].sha256);
        }
    }

    fn digest(s: &str) -> Vec<u8> {
        Sha256::digest(s.as_bytes()).to_vec()
    }

    #[test]
    fn several_emails_and_phones_give_several_rows_repeating_the_others() {
        let mut h = HashedContact::new(7);
        for e in ["a@x.com", "b@x.com"] {
            assert!(h.add(HField::GoogleEmail, &digest(e)));
            assert!(h.add(HField::MetaEmail, &digest(e)));
        }
        assert!(!h.add(HField::MetaEmail, &digest("a@x.com")), "duplicates are dropped");
        h.add(HField::GooglePhone, &digest("+33612345678"));
        h.add(HField::MetaPhone, &digest("33612345678"));
        h.add(HField::Country, b"FR");
        assert!(!h.add(HField::Country, b"DE"), "one country");
        assert!(!h.add(HField::FirstName, b"short"), "hash fields take 32 bytes");
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        let (r, len) = HashedRecord::decode(&bytes).unwrap();
        assert_eq!((r.pid, len), (7, bytes.len()));
        assert_eq!(r.to_owned_contact(), h);
        let mut ids = [0u64; 13];
        let mut out = Vec::new();
        let rows = write_record(&r, &ctx(Destination::Google), &mut out, &mut ids);
        let text = String::from_utf8(out).unwrap();
        let p = sha256_hex("+33612345678");
        let want =
            format!("{},{p},,,FR,\n{},{p},,,FR,\n", sha256_hex("a@x.com"), sha256_hex("b@x.com"));
        assert_eq!((rows, text), (2, want));
        assert_eq!((ids[Key::Email as usize], ids[Key::Phone as usize]), (2, 1));
        for cut in [0, 3, 8, bytes.len() - 1] {
            assert!(HashedRecord::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn suppressed_members_are_never_written() {
        let mut h = HashedContact::from_contact(&sample(0), Some("FR"));
        h.pid = 1;
        let mut block = RecordBlock::default();
        h.encode(&mut block.bytes);
        block.members.push(Member { offset: Some(0), consent: Some(true), suppressed: true });
        block.members.push(Member { offset: None, consent: Some(true), suppressed: false });
        let c = ctx(Destination::Meta);
        let mut out = Vec::new();
        let mut t = Tally::default();
        for m in &block.members {
            write_member(m, &block.bytes, &c, &mut out, &mut t);
        }
        assert!(out.is_empty());
        assert_eq!((t.read, t.suppressed, t.no_identifier, t.exported), (2, 1, 1, 0));
    }

    #[test]
    fn short_values_hash_like_any_other() {
        for v in ["0", "07", "1985", "m", "fr", "é", "12345", "ab1"] {
            let mut out = Vec::new();
            push_hash(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), sha256_hex(v), "{v}");
        }
    }
}
