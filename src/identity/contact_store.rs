//! The contact table: each profile's identifiers, normalised and SHA-256 hashed once for every
//! destination, so that `audience export SEGMENT` streams them without touching raw PII.
//!
//! Owns `identity/contacts.bin`, written at the end of `audience resolve` by [`after_resolve`]
//! (the one call resolve makes into this module), and its reader [`ContactReader`].
//!
//! # What a profile's record holds ([`HashedContact`], [`HField`])
//! From the raw CRM records of the profile (read again from the sources directory, never stored):
//! email hashed three ways (Google: Gmail dots removed; Meta/LiveRamp: trim + lowercase; UID2 for
//! DSPs), phone hashed two ways (E.164 with `+` for Google/LiveRamp, digits only for Meta), hashed
//! first and last name, first initial, city, gender, birth year/month/day, the zip and country
//! both unhashed (Google takes them so) and hashed (Meta). From the identity graph
//! (`identity/identifiers.parquet`): customer ids (the extern id, and its hash for Meta), MAIDs,
//! cookies, and the login email hashes of profiles known only online (Meta/LiveRamp form; Google's
//! Gmail rule cannot be applied to a hash). Lists keep at most [`MAX_VALUES`] values (cookies
//! 32, MAIDs 8); a profile with nothing exportable has no record. Names and address come from the
//! profile's first CRM record that has them.
//!
//! # File format
//! `AUDCONT1\n`, then the records sorted by pid ([`HashedContact::encode`]), then a JSON
//! [`ContactIndex`] (byte range of every pid shard of 65,536), its length (u64 LE) and
//! `AUDCONTEND`. One file, written atomically: the index can never disagree with the records.
//!
//! It does not own the normalisation rules ([`crate::normalize`]), the destination formats
//! ([`crate::export`]) or suppressions ([`crate::forget`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::export::{Contact, HField, HashedContact, HashedRecord};
use crate::index::Pid;
use crate::normalize::{normalize_country, normalize_maid, NORMALIZATION_SPEC};
use crate::store::{AtomicFile, Store};
use crate::table::read_text_columns;

pub use crate::export::MAX_VALUES;

/// The contact table inside the store.
pub const FILE: &str = "identity/contacts.bin";
const MAGIC: &[u8] = b"AUDCONT1\n";
const END: &[u8] = b"AUDCONTEND";
/// Pids per shard (one roaring container).
pub const SHARD: u32 = 65_536;

/// The byte range of one pid shard's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRange {
    /// `pid / 65,536`.
    pub shard: u32,
    /// Offset of its first record in the file.
    pub offset: u64,
    /// Bytes of its records.
    pub bytes: u64,
    /// Records (profiles).
    pub profiles: u64,
}

/// The table's footer: what it holds and where each shard is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactIndex {
    /// The normalisation spec the hashes follow ([`NORMALIZATION_SPEC`]).
    pub normalization_spec: String,
    /// Profiles with a record.
    pub profiles: u64,
    /// Profiles holding each field at least once, by field name.
    pub fields: BTreeMap<String, u64>,
    /// Shards with records, in pid order.
    pub shards: Vec<ShardRange>,
}

/// Writes the contact table into the store from records sorted by pid (empty records skipped),
/// atomically. Returns its index.
pub fn write(
    store: &Store,
    records: impl IntoIterator<Item = HashedContact>,
) -> Result<ContactIndex> {
    write_to(&store.path(FILE), records)
}

/// [`write`] to any path.
pub fn write_to(
    path: &Path,
    records: impl IntoIterator<Item = HashedContact>,
) -> Result<ContactIndex> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).at(dir)?;
    }
    let mut file = AtomicFile::create(path)?;
    let mut index =
        ContactIndex { normalization_spec: NORMALIZATION_SPEC.into(), ..Default::default() };
    let mut counts = [0u64; crate::export::HFIELDS];
    let mut offset = MAGIC.len() as u64;
    file.writer().write_all(MAGIC).at(path)?;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut last: Option<Pid> = None;
    for r in records {
        if r.is_empty() {
            continue;
        }
        if last.is_some_and(|l| l >= r.pid) {
            return Err(Error::internal(format!(
                "contact records out of pid order ({} after {})",
                r.pid,
                last.unwrap_or_default()
            )));
        }
        last = Some(r.pid);
        let shard = r.pid / SHARD;
        if index.shards.last().is_none_or(|s| s.shard != shard) {
            index.shards.push(ShardRange { shard, offset, bytes: 0, profiles: 0 });
        }
        buf.clear();
        r.encode(&mut buf);
        file.writer().write_all(&buf).at(path)?;
        let s = index.shards.last_mut().expect("pushed above");
        s.bytes += buf.len() as u64;
        s.profiles += 1;
        offset += buf.len() as u64;
        index.profiles += 1;
        for f in HField::ALL {
            counts[f as usize] += u64::from(!r.values(f).is_empty());
        }
    }
    index.fields = HField::ALL
        .iter()
        .map(|f| (format!("{f:?}"), counts[*f as usize]))
        .filter(|(_, n)| *n > 0)
        .collect();
    let json = serde_json::to_vec(&index)
        .map_err(|e| Error::internal(format!("serialising the contact index: {e}")))?;
    let w = file.writer();
    w.write_all(&json).at(path)?;
    w.write_all(&(json.len() as u64).to_le_bytes()).at(path)?;
    w.write_all(END).at(path)?;
    file.commit()?;
    Ok(index)
}

/// An open contact table.
#[derive(Debug)]
pub struct ContactReader {
    file: File,
    path: PathBuf,
    /// Its index.
    pub index: ContactIndex,
}

impl ContactReader {
    /// Opens the store's contact table; `None` when the store has none (no resolve yet).
    pub fn open(store: &Store) -> Result<Option<ContactReader>> {
        let path = store.path(FILE);
        if !path.exists() {
            return Ok(None);
        }
        ContactReader::open_path(&path).map(Some)
    }

    /// Opens a contact table file.
    pub fn open_path(path: &Path) -> Result<ContactReader> {
        let corrupt = |why: &str| {
            Error::user(format!(
                "{} is corrupt ({why}); run `audience resolve SOURCES_DIR` again to rebuild it",
                path.display()
            ))
        };
        let mut file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        let tail = (END.len() + 8) as u64;
        if len < MAGIC.len() as u64 + tail {
            return Err(corrupt("too short"));
        }
        let mut magic = vec![0u8; MAGIC.len()];
        file.read_exact(&mut magic).at(path)?;
        let mut end = vec![0u8; tail as usize];
        file.seek(SeekFrom::Start(len - tail)).at(path)?;
        file.read_exact(&mut end).at(path)?;
        if magic != MAGIC || &end[8..] != END {
            return Err(corrupt("not a contact table of this version"));
        }
        let json_len = u64::from_le_bytes(end[..8].try_into().expect("8 bytes"));
        if json_len > len - tail - MAGIC.len() as u64 {
            return Err(corrupt("bad index length"));
        }
        let mut json = vec![0u8; json_len as usize];
        file.seek(SeekFrom::Start(len - tail - json_len)).at(path)?;
        file.read_exact(&mut json).at(path)?;
        let index: ContactIndex =
            serde_json::from_slice(&json).map_err(|e| corrupt(&e.to_string()))?;
        if index.normalization_spec != NORMALIZATION_SPEC {
            return Err(Error::user(format!(
                "{} was hashed under normalisation spec {} but this build uses {}; run \
                 `audience resolve SOURCES_DIR` again",
                path.display(),
                index.normalization_spec,
                NORMALIZATION_SPEC
            )));
        }
        Ok(ContactReader { file, path: path.to_path_buf(), index })
    }

    /// Reads the records of one shard into `buf` (replacing its content).
    pub fn read_shard(&mut self, range: &ShardRange, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        buf.resize(range.bytes as usize, 0);
        self.file.seek(SeekFrom::Start(range.offset)).at(&self.path)?;
        self.file.read_exact(buf).at(&self.path)
    }

    /// The `(pid, offset)` of every record in a shard's bytes, checking that they decode.
    pub fn offsets(&self, buf: &[u8]) -> Result<Vec<(Pid, usize)>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let (r, len) = HashedRecord::decode(&buf[pos..]).ok_or_else(|| {
                Error::user(format!(
                    "{} is corrupt (a record does not decode); run `audience resolve` again",
                    self.path.display()
                ))
            })?;
            out.push((r.pid, pos));
            pos += len;
        }
        Ok(out)
    }

    /// Every record, owned, in pid order (for rewriting the table).
    pub fn all(&mut self) -> Result<Vec<HashedContact>> {
        let mut out = Vec::with_capacity(self.index.profiles as usize);
        let mut buf = Vec::new();
        for range in self.index.shards.clone() {
            self.read_shard(&range, &mut buf)?;
            for (_, off) in self.offsets(&buf)? {
                let (r, _) = HashedRecord::decode(&buf[off..]).expect("checked by offsets");
                out.push(r.to_owned_contact());
            }
        }
        Ok(out)
    }
}

/// What [`after_resolve`] did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContactStats {
    /// Profiles erased again because they match a suppression (`audience forget`).
    pub suppressed_profiles: u64,
    /// Profiles with a contact record.
    pub profiles: u64,
    /// Profiles holding each field.
    pub fields: BTreeMap<String, u64>,
}

/// Runs at the end of `audience resolve`: applies the suppressions of `audience forget` to what
/// resolve just wrote (the identity graph, traits, segments), then writes the contact table from
/// the CRM of `sources_dir` and `identity/identifiers.parquet`.
pub fn after_resolve(
    store: &mut Store,
    sources_dir: &Path,
    default_country: Option<&str>,
) -> Result<ContactStats> {
    let suppressed = crate::forget::apply_suppressions(store)?;
    let contacts = build(store, sources_dir, default_country)?;
    let index = write(store, contacts)?;
    Ok(ContactStats {
        suppressed_profiles: suppressed,
        profiles: index.profiles,
        fields: index.fields,
    })
}

/// Builds every profile's [`HashedContact`] from the store's identity graph
/// (`identity/identifiers.parquet`) and the CRM of `sources_dir`, sorted by pid.
pub fn build(
    store: &Store,
    sources_dir: &Path,
    default_country: Option<&str>,
) -> Result<Vec<HashedContact>> {
    let ids_path = store.path("identity/identifiers.parquet");
    if !ids_path.exists() {
        return Ok(Vec::new());
    }
    let mut ids = read_text_columns(&ids_path, &["key", "kind", "pid"], &[])?;
    let mut rows: Vec<(Pid, String, String)> = Vec::with_capacity(ids[0].len());
    let pids = std::mem::take(&mut ids[2]);
    let kinds = std::mem::take(&mut ids[1]);
    for (i, ((key, kind), pid)) in
        std::mem::take(&mut ids[0]).into_iter().zip(kinds).zip(pids).enumerate()
    {
        let (Some(key), Some(kind), Some(pid)) = (key, kind, pid) else { continue };
        let pid: Pid = pid.parse().map_err(|_| {
            Error::user(format!(
                "{}: row {}: pid `{pid}` is not a number; run `audience resolve` again",
                ids_path.display(),
                i + 1
            ))
        })?;
        let value = match key.split_once(':') {
            Some((_, v)) => v.to_string(),
            None => key,
        };
        rows.push((pid, kind, value));
    }
    build_from(sources_dir, default_country, &rows)
}

/// Builds every profile's [`HashedContact`] from an identifier table (`(pid, kind, value)`, kinds
/// and values as in the identity graph: `customer_id`, `cookie`, `device`, `email` and `phone`
/// as SHA-256 hex) and the raw CRM of `sources_dir`, whose records reach a profile through its
/// customer ids. Sorted by pid.
pub fn build_from(
    sources_dir: &Path,
    default_country: Option<&str>,
    ids: &[(Pid, String, String)],
) -> Result<Vec<HashedContact>> {
    let cfg = crate::identity::sources::SourcesConfig::load(sources_dir)?;
    let country = default_country.map(str::to_string).or_else(|| cfg.default_country.clone());
    let default_country = match country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(normalize_country(c).map_err(|_| {
            Error::user(format!(
                "default country `{c}` is not an ISO 3166 country; give an alpha-2 code such as FR"
            ))
        })?),
    };
    let mut by_pid: HashMap<Pid, HashedContact> = HashMap::new();
    let customer: HashMap<&str, Pid> = ids
        .iter()
        .filter(|(_, kind, _)| kind == "customer_id")
        .map(|(pid, _, v)| (v.as_str(), *pid))
        .collect();

    // The CRM first, so that a profile's own emails and phones come before login hashes.
    if let Some(crm) = cfg.file(sources_dir, "crm") {
        let roles = [
            "customer_id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "city",
            "postcode",
            "country",
            "birth_date",
            "gender",
        ];
        let names: Vec<String> = roles.iter().map(|r| cfg.column("crm", r).to_string()).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut c = read_text_columns(&crm, &refs, &refs[1..])?;
        let rows = c[0].len();
        let mut take = |col: usize, i: usize| c[col][i].take();
        for i in 0..rows {
            let Some(cid) = take(0, i) else { continue };
            let Some(&pid) = customer.get(cid.as_str()) else { continue };
            let contact = Contact {
                email: take(1, i),
                phone: take(2, i),
                first_name: take(3, i),
                last_name: take(4, i),
                city: take(5, i),
                zip: take(6, i),
                country: take(7, i),
                birth_date: take(8, i),
                gender: take(9, i),
                ..Contact::default()
            };
            let h = HashedContact::from_contact(&contact, default_country);
            by_pid.entry(pid).or_insert_with(|| HashedContact::new(pid)).merge(&h);
        }
    }

    for (pid, kind, value) in ids {
        let (pid, value) = (*pid, value.as_str());
        let h = by_pid.entry(pid).or_insert_with(|| HashedContact::new(pid));
        match kind.as_str() {
            "customer_id" => {
                h.add(HField::ExternId, value.as_bytes());
                h.add_hash_of(HField::MetaExternId, value);
            }
            "cookie" => {
                h.add(HField::Cookie, value.as_bytes());
            }
            "device" => {
                if let Ok(m) = normalize_maid(value) {
                    h.add(HField::Maid, m.as_bytes());
                }
            }
            // Hashes of trim + lowercase emails (CRM and logins): Meta's and LiveRamp's form.
            "email" => {
                if let Ok(d) = hex::decode(value) {
                    h.add(HField::MetaEmail, &d);
                }
            }
            // Hashes of E.164 phones with `+`: Google's and LiveRamp's form.
            "phone" => {
                if let Ok(d) = hex::decode(value) {
                    h.add(HField::GooglePhone, &d);
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<HashedContact> = by_pid.into_values().filter(|h| !h.is_empty()).collect();
    out.sort_unstable_by_key(|h| h.pid);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(pid: Pid, email: &str) -> HashedContact {
        let c = Contact {
            email: Some(email.into()),
            phone: Some("06 12 34 56 78".into()),
            cookies: vec![format!("ck{pid}")],
            ..Contact::default()
        };
        let mut h = HashedContact::from_contact(&c, Some("FR"));
        h.pid = pid;
        h
    }

    #[test]
    fn records_round_trip_shard_by_shard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contacts.bin");
        let pids = [3, 9, 70_000, 70_001, 200_000];
        let records: Vec<HashedContact> =
            pids.iter().map(|&p| contact(p, &format!("p{p}@example.com"))).collect();
        let index = write_to(&path, records.clone()).unwrap();
        assert_eq!(index.profiles, 5);
        assert_eq!(index.shards.iter().map(|s| s.shard).collect::<Vec<_>>(), [0, 1, 3]);
        assert_eq!(index.fields["MetaEmail"], 5);
        let mut r = ContactReader::open_path(&path).unwrap();
        assert_eq!(r.index, index);
        assert_eq!(r.all().unwrap(), records);
        let mut buf = Vec::new();
        let range = r.index.shards[1].clone();
        r.read_shard(&range, &mut buf).unwrap();
        let offsets = r.offsets(&buf).unwrap();
        assert_eq!(offsets.iter().map(|o| o.0).collect::<Vec<_>>(), [70_000, 70_001]);
        // Out of order records are a bug, and a damaged file is refused with the fix.
        let e = write_to(&path, vec![contact(5, "a@b.co"), contact(4, "c@d.co")]).unwrap_err();
        assert!(e.to_string().contains("out of pid order"), "{e}");
        assert_eq!(ContactReader::open_path(&path).unwrap().index, index, "old file kept");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let e = ContactReader::open_path(&path).unwrap_err().to_string();
        assert!(e.contains("corrupt") && e.contains("audience resolve"), "{e}");
    }

    #[test]
    fn crm_and_graph_identifiers_meet_in_one_record() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("crm.csv"),
            "customer_id,email,phone,first_name,last_name,postcode,country,gender\n\
             C1,Ann.Lee@GMail.com,06 12 34 56 78,Ann,Lee,75001,FR,F\n\
             C2,bob@example.com,,Bob,Roe,,FR,\n\
             C9,nobody@example.com,,,,,,\n",
        )
        .unwrap();
        let ids: Vec<(Pid, String, String)> = vec![
            (0, "customer_id".into(), "C1".into()),
            (0, "cookie".into(), "abc".into()),
            (0, "device".into(), "AECE52E7-03EE-455A-B3C4-E57283966239".into()),
            (0, "email".into(), crate::normalize::sha256_hex("ann.lee@gmail.com")),
            (0, "email".into(), crate::normalize::sha256_hex("login@example.com")),
            (5, "customer_id".into(), "C2".into()),
            (8, "cookie".into(), "def".into()),
        ];
        let out = build_from(dir.path(), None, &ids).unwrap();
        assert_eq!(out.iter().map(|h| h.pid).collect::<Vec<_>>(), [0, 5, 8]);
        let a = &out[0];
        let d = |s: &str| crate::normalize::sha256_hex(s);
        let hexes = |f: HField| a.values(f).iter().map(hex::encode).collect::<Vec<_>>();
        assert_eq!(hexes(HField::GoogleEmail), [d("annlee@gmail.com")]);
        // The CRM's own email first, then the login hash the graph knows.
        assert_eq!(hexes(HField::MetaEmail), [d("ann.lee@gmail.com"), d("login@example.com")]);
        assert_eq!(hexes(HField::GooglePhone), [d("+33612345678")]);
        assert_eq!(hexes(HField::MetaPhone), [d("33612345678")]);
        assert_eq!(a.values(HField::Zip), [b"75001".to_vec()]);
        assert_eq!(a.values(HField::Maid), [b"aece52e7-03ee-455a-b3c4-e57283966239".to_vec()]);
        assert_eq!(a.values(HField::ExternId), [b"C1".to_vec()]);
        assert_eq!(out[2].values(HField::Cookie), [b"def".to_vec()]);
        assert!(out[2].values(HField::MetaEmail).is_empty());
    }
}
