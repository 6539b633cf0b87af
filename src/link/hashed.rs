//! Emails and phone numbers written as digests in one file (`email_sha256`, as a partner, an
//! ad platform or a clean room exchanges them; SHA-256, or SHA-1 and MD5 as older email and
//! ad-tech tools do) and plain in the other. Which columns hold such digests, which plain
//! column of the other file they hash and how it was normalised first (found by trying each
//! way and keeping the one whose digests the hashed file holds), and that plain column hashed
//! the same way, so that the two compare.
//!
//! It owns only that hashing. Normalising emails and phones is [`crate::normalize`]'s;
//! comparing codes is [`super::compare`]'s. The plain values are hashed in memory only, for
//! the comparison.

use rayon::prelude::*;

use super::{fallbacks, PhoneReading, Records};
use crate::hash::FxHashSet;
use crate::normalize::{normalize_email, sha256_hex, EmailRules};
use md5::Md5;
use sha1::{Digest as _, Sha1};

/// A hash function whose digests a column holds, told by their length in hex.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Hash {
    Sha256,
    Sha1,
    Md5,
}

impl Hash {
    /// Every hash function read, in the order a column's digests are tried.
    const ALL: [Hash; 3] = [Hash::Sha256, Hash::Sha1, Hash::Md5];

    /// The lowercase hex digest of `s`.
    fn hex(self, s: &str) -> String {
        match self {
            Hash::Sha256 => sha256_hex(s),
            Hash::Sha1 => hex::encode(Sha1::digest(s.as_bytes())),
            Hash::Md5 => hex::encode(Md5::digest(s.as_bytes())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Hash::Sha256 => "SHA-256",
            Hash::Sha1 => "SHA-1",
            Hash::Md5 => "MD5",
        }
    }
}

/// The hash function `v` is a hex digest of (either case), by its length: 64 digits SHA-256,
/// 40 SHA-1, 32 MD5.
pub(super) fn digest_of(v: &str) -> Option<Hash> {
    let hash = match v.len() {
        64 => Hash::Sha256,
        40 => Hash::Sha1,
        32 => Hash::Md5,
        _ => return None,
    };
    v.bytes().all(|b| b.is_ascii_hexdigit()).then_some(hash)
}

/// Values of a plain column tried against the digests, to find how it was normalised.
const SAMPLE: usize = 50_000;

/// A way a plain value is normalised before it is hashed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    /// An email, with these rules (trimmed and lowercased at least).
    Email(EmailRules, &'static str),
    /// A phone number in E.164, with its `+` (Google's rule).
    PhoneE164,
    /// A phone number's digits with its country code, without `+` (Meta's rule).
    PhoneDigits,
}

const WAYS: [Way; 6] = [
    Way::Email(EmailRules::PLAIN, "emails trimmed and lowercased"),
    Way::Email(EmailRules::GOOGLE, "emails trimmed, lowercased, Gmail's dots removed"),
    Way::Email(EmailRules::UID2, "emails trimmed, lowercased, Gmail's dots and +tags removed"),
    Way::Email(EmailRules::IDENTITY, "emails trimmed, lowercased, +tags removed, Gmail canonical"),
    Way::PhoneE164,
    Way::PhoneDigits,
];

impl Way {
    /// The `hash` digest of record `i`'s value `v` normalised this way, if it normalises.
    fn digest(
        self,
        hash: Hash,
        phones: Option<&PhoneReading>,
        i: usize,
        v: &str,
    ) -> Option<String> {
        let normal = match self {
            Way::Email(rules, _) => normalize_email(v, rules).ok()?,
            Way::PhoneE164 => format!("+{}", phones?.parse(i, v)?),
            Way::PhoneDigits => phones?.parse(i, v)?,
        };
        Some(hash.hex(&normal))
    }

    fn describe(self) -> &'static str {
        match self {
            Way::Email(_, how) => how,
            Way::PhoneE164 => "phone numbers in E.164, `+` included",
            Way::PhoneDigits => "phone numbers in E.164 without the `+`",
        }
    }
}

/// The ways worth trying on a column's plain values (not digests), from the first 1,000: the
/// email ways where half of them hold `@`, else the phone ways where half have seven digits or
/// more.
fn ways_for(values: &[Option<String>]) -> &'static [Way] {
    let plain = values.iter().flatten().filter(|v| digest_of(v).is_none()).take(1000);
    let (mut n, mut emails, mut phones) = (0usize, 0usize, 0usize);
    for v in plain {
        n += 1;
        emails += usize::from(v.contains('@'));
        phones += usize::from(v.bytes().filter(u8::is_ascii_digit).count() >= 7);
    }
    match n {
        0 => &[],
        _ if emails * 2 >= n => &WAYS[..4],
        _ if phones * 2 >= n => &WAYS[4..],
        _ => &[],
    }
}

/// How many values of a column are present, and how many are digests of each hash function.
fn digest_counts(values: &[Option<String>]) -> (usize, [usize; 3]) {
    let mut counts = [0usize; 3];
    let mut present = 0usize;
    for v in values.iter().flatten() {
        present += 1;
        if let Some(h) = digest_of(v) {
            counts[h as usize] += 1;
        }
    }
    (present, counts)
}

/// How a file reads column `p`'s phone numbers, where the phone ways are worth trying on it.
fn phone_reading(r: &Records, p: usize) -> Option<PhoneReading<'_>> {
    let phones = ways_for(&r.columns[p]).contains(&Way::PhoneE164);
    phones.then(|| PhoneReading::of(r, fallbacks(&r.fields[p], r, None, None)[0]))
}

/// How many of column `p`'s first [`SAMPLE`] plain values, normalised `way`, have a `hash`
/// digest that `known` holds.
fn hits(
    r: &Records,
    p: usize,
    (way, hash): (Way, Hash),
    reading: Option<&PhoneReading>,
    known: &(dyn Fn(&str) -> bool + Sync),
) -> usize {
    let present = r.columns[p].iter().enumerate().filter_map(|(i, v)| Some((i, v.as_deref()?)));
    let plain = present.filter(|(_, v)| digest_of(v).is_none()).take(SAMPLE);
    plain.filter(|&(i, v)| way.digest(hash, reading, i, v).is_some_and(|d| known(&d))).count()
}

/// Column `p`'s plain values as their `hash` digests normalised `way` (none where they do not
/// normalise), its digests lowercased; phone numbers read by `reading`.
fn hashed_values(
    r: &Records,
    p: usize,
    (way, hash): (Way, Hash),
    reading: Option<&PhoneReading>,
) -> Vec<Option<String>> {
    r.columns[p]
        .par_iter()
        .enumerate()
        .map(|(i, v)| match v.as_deref()? {
            v if digest_of(v).is_some() => Some(v.to_ascii_lowercase()),
            v => way.digest(hash, reading, i, v),
        })
        .collect()
}

/// The candidate with the most hits (the first of equals), if it has two at least.
fn best(scored: &[usize]) -> Option<usize> {
    let k = (0..scored.len()).max_by_key(|&k| (scored[k], std::cmp::Reverse(k)))?;
    (scored[k] >= 2).then_some(k)
}

/// Lowercases the digests of every column of `r` nine in ten of whose values present are
/// digests of one hash function (some files write them in upper case); returns those columns
/// and their function.
fn hashed_columns(r: &mut Records) -> Vec<(usize, Hash)> {
    let mut hashed = Vec::new();
    for (f, column) in r.columns.iter_mut().enumerate() {
        let (present, digests) = digest_counts(column);
        let nine_in_ten = |h: &Hash| present > 0 && digests[*h as usize] * 10 >= present * 9;
        let Some(hash) = Hash::ALL.into_iter().find(nine_in_ten) else { continue };
        for v in column.iter_mut().flatten() {
            if v.bytes().any(|b| b.is_ascii_uppercase()) {
                v.make_ascii_lowercase();
            }
        }
        hashed.push((f, hash));
    }
    hashed
}

/// For a link, hashes the plain emails and phone numbers of one file that the other file's
/// digest columns hold digests of: each digest column is matched with the plain column and
/// normalisation ([`WAYS`]: an email trimmed and lowercased, with Gmail's rules or not; a
/// phone in E.164 with `+` or without) whose digests, over the first [`SAMPLE`] values, it
/// holds most often (twice at least). That column is then hashed that way and renamed as the
/// digest column, so that the two compare. Returns a note per column hashed.
///
/// ```
/// use audience::link::{hashed, Records};
/// use audience::normalize::sha256_hex;
/// let ids = |p: &str| vec![format!("{p}1"), format!("{p}2")];
/// let emails = vec![Some(" Ann@Example.com".into()), Some("bo@example.org".into())];
/// let mut crm = Records::new("crm.csv", ids("c"), vec!["email".into()], vec![emails]).unwrap();
/// let digests = ["ann@example.com", "bo@example.org"].map(|e| Some(sha256_hex(e))).to_vec();
/// let fields = vec!["email_sha256".into()];
/// let mut partner = Records::new("partner.csv", ids("p"), fields, vec![digests]).unwrap();
/// assert_eq!(hashed::hash_to_meet(&mut crm, &mut partner).len(), 1);
/// assert_eq!(crm.fields[0], "email_sha256");
/// assert_eq!(crm.columns[0], partner.columns[0]);
/// ```
pub fn hash_to_meet(left: &mut Records, right: &mut Records) -> Vec<String> {
    let (left_hashed, right_hashed) = (hashed_columns(left), hashed_columns(right));
    let mut notes = hash_plain(left, &left_hashed, right, &right_hashed);
    notes.extend(hash_plain(right, &right_hashed, left, &left_hashed));
    notes
}

/// [`hash_to_meet`] one way: the columns of `plain` (but its `plain_hashed`) that the
/// `hashed` columns of `digests` hold the digests of.
fn hash_plain(
    plain: &mut Records,
    plain_hashed: &[(usize, Hash)],
    digests: &Records,
    hashed: &[(usize, Hash)],
) -> Vec<String> {
    let mut notes = Vec::new();
    let mut used: Vec<usize> = plain_hashed.iter().map(|h| h.0).collect();
    for &(h, hash) in hashed {
        let theirs: FxHashSet<&str> =
            digests.columns[h].iter().flatten().map(String::as_str).collect();
        // Every (plain column, way) pair worth trying, scored by the digests found over the
        // sample.
        let candidates: Vec<(usize, Way)> = (0..plain.fields.len())
            .filter(|p| !used.contains(p))
            .flat_map(|p| ways_for(&plain.columns[p]).iter().map(move |&w| (p, w)))
            .collect();
        let readings: Vec<Option<PhoneReading>> =
            (0..plain.fields.len()).map(|p| phone_reading(plain, p)).collect();
        let known = |d: &str| theirs.contains(d);
        let scored: Vec<usize> = candidates
            .par_iter()
            .map(|&(p, way)| hits(plain, p, (way, hash), readings[p].as_ref(), &known))
            .collect();
        let Some(k) = best(&scored) else { continue };
        let (p, way) = candidates[k];
        plain.columns[p] = hashed_values(plain, p, (way, hash), readings[p].as_ref());
        let name = &digests.fields[h];
        notes.push(format!(
            "column `{}` of {} is compared with `{}` of {}, which holds {} digests of {} (those \
             of {} of its first {} records found there): hashed the same way",
            plain.fields[p],
            plain.source,
            name,
            digests.source,
            hash.name(),
            way.describe(),
            scored[k],
            plain.columns[p].len().min(SAMPLE),
        ));
        if plain.column(name).is_none() {
            plain.fields[p] = name.clone();
        }
        used.push(p);
    }
    notes
}

/// In one file, hashes the plain values of each column that mixes them with digests (a plain
/// CRM export and a partner's hashed one put together): a tenth of its values at least, and
/// fewer than nine in ten, are digests of one hash function. The plain values are hashed the way
/// ([`WAYS`]) that meets most of the column's own digests (twice at least), and the digests
/// lowercased. Returns a note per column hashed.
///
/// ```
/// use audience::link::{hashed, Records};
/// use audience::normalize::sha256_hex;
/// let emails = vec![Some("Ann@example.com".into()), Some(sha256_hex("ann@example.com")),
///     Some("bo@example.org".into()), Some(sha256_hex("bo@example.org"))];
/// let ids = (0..4).map(|k| k.to_string()).collect();
/// let mut r = Records::new("all.csv", ids, vec!["email".into()], vec![emails]).unwrap();
/// assert_eq!(hashed::hash_mixed(&mut r).len(), 1);
/// assert_eq!(r.columns[0][0], r.columns[0][1]);
/// ```
pub fn hash_mixed(r: &mut Records) -> Vec<String> {
    let mut notes = Vec::new();
    for p in 0..r.fields.len() {
        let (present, counts) = digest_counts(&r.columns[p]);
        let mixed = |h: &Hash| {
            let n = counts[*h as usize];
            n * 10 >= present && n * 10 < present * 9
        };
        let Some(hash) = Hash::ALL.into_iter().find(mixed) else {
            continue;
        };
        let ways = ways_for(&r.columns[p]);
        if ways.is_empty() {
            continue;
        }
        let digests: FxHashSet<String> = r.columns[p]
            .iter()
            .flatten()
            .filter(|v| digest_of(v) == Some(hash))
            .map(|v| v.to_ascii_lowercase())
            .collect();
        let known = |d: &str| digests.contains(d);
        let reading = phone_reading(r, p);
        let scored: Vec<usize> =
            ways.iter().map(|&w| hits(r, p, (w, hash), reading.as_ref(), &known)).collect();
        let Some(k) = best(&scored) else { continue };
        r.columns[p] = hashed_values(r, p, (ways[k], hash), reading.as_ref());
        notes.push(format!(
            "column `{}` of {} mixes {} digests with plain values, {} of which meet its digests \
             as {}: the plain values are hashed so",
            r.fields[p],
            r.source,
            hash.name(),
            scored[k],
            ways[k].describe(),
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(source: &str, fields: &[&str], rows: &[&[&str]]) -> Records {
        let ids = (0..rows.len()).map(|k| format!("{source}{k}")).collect();
        let columns = (0..fields.len())
            .map(|f| {
                rows.iter().map(|r| Some(r[f].to_string()).filter(|v| !v.is_empty())).collect()
            })
            .collect();
        Records::new(source, ids, fields.iter().map(|f| f.to_string()).collect(), columns).unwrap()
    }

    #[test]
    fn digests_find_the_plain_column_and_the_normalisation_they_hash() {
        // A partner writes Google's rules (Gmail dots removed) and Meta's phones (no `+`),
        // in upper case.
        let up = |s: &str| sha256_hex(s).to_ascii_uppercase();
        let partner_rows = [
            [up("johndoe@gmail.com"), up("33612345678")],
            [up("ann@example.com"), up("447911123456")],
            [up("unknown@example.com"), up("4915112345678")],
        ];
        let rows: Vec<Vec<&str>> =
            partner_rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let mut partner = records("partner", &["em", "ph"], &rows);
        let mut crm = records(
            "crm",
            &["email", "mobile", "country"],
            &[
                &["John.Doe@gmail.com", "06 12 34 56 78", "FR"],
                &["ANN@example.com ", "07911 123456", "GB"],
                &["not an email", "", "FR"],
            ],
        );
        let notes = hash_to_meet(&mut crm, &mut partner);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(crm.fields, ["em", "ph", "country"]);
        assert_eq!(crm.columns[0][..2], partner.columns[0][..2]);
        assert_eq!(crm.columns[1][..2], partner.columns[1][..2]);
        assert_eq!(crm.columns[0][2], None, "a malformed email has no digest");
        assert!(partner.columns[0][0].as_ref().unwrap().bytes().all(|b| !b.is_ascii_uppercase()));
        // MD5 digests (32 hex digits), as older email tools write them.
        let md5 = |s: &str| Some(Hash::Md5.hex(s));
        let mut old = Records::new(
            "old",
            vec!["o1".into(), "o2".into()],
            vec!["email_md5".into()],
            vec![vec![md5("ann@example.com"), md5("x@example.com")]],
        )
        .unwrap();
        let mut crm_again = records("crm", &["email"], &[&["ann@example.com"], &["x@example.com"]]);
        let notes = hash_to_meet(&mut crm_again, &mut old);
        assert!(notes.len() == 1 && notes[0].contains("MD5"), "{notes:?}");
        assert_eq!(crm_again.columns[0], old.columns[0]);
        assert_eq!(Hash::Md5.hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(Hash::Sha1.hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(digest_of("A9993E364706816ABA3E25717850C26C9CD0D89D"), Some(Hash::Sha1));
        // No plain column hashes to them: nothing changes.
        let mut other = records("other", &["email"], &[&["x@example.com"], &["y@example.com"]]);
        assert!(hash_to_meet(&mut other, &mut partner).is_empty());
        assert_eq!(other.columns[0][0].as_deref(), Some("x@example.com"));
    }
}
