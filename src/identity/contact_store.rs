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
use crate::normalize::{normalize_maid, parse_default_country, NORMALIZATION_SPEC};
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
/// (`identity/identifiers.parquet`) and the CRM of `sources_dir`, in pid order (see
/// [`build_from`]).
pub fn build(store: &Store, sources_dir: &Path, default_country: Option<&str>) -> Result<Contacts> {
    let ids_path = store.path("identity/identifiers.parquet");
    if !ids_path.exists() {
        return build_from(sources_dir, default_country, Vec::<(Pid, String, String)>::new());
    }
    let [keys, kinds, pids]: [Vec<Option<String>>; 3] =
        read_text_columns(&ids_path, &["key", "kind", "pid"], &[])?
            .try_into()
            .map_err(|_| Error::internal("three columns asked, three returned"))?;
    let mut rows = IdRows::default();
    for (i, ((key, kind), pid)) in keys.into_iter().zip(kinds).zip(pids).enumerate() {
        let (Some(key), Some(kind), Some(pid)) = (key, kind, pid) else { continue };
        let pid: Pid = pid.parse().map_err(|_| {
            Error::user(format!(
                "{}: row {}: pid `{pid}` is not a number; run `audience resolve` again",
                ids_path.display(),
                i + 1
            ))
        })?;
        let value = key.split_once(':').map_or(key.as_str(), |(_, v)| v);
        rows.push(pid, &kind, value);
    }
    Contacts::new(sources_dir, default_country, rows)
}

/// Builds every profile's [`HashedContact`] from an identifier table (`(pid, kind, value)`, kinds
/// and values as in the identity graph: `customer_id`, `cookie`, `device`, `email` and `phone`
/// as SHA-256 hex; other kinds are ignored) and the raw CRM of `sources_dir`, whose records reach
/// a profile through its customer ids. The records come out in pid order, one at a time: the
/// caller streams them into [`write`], so only the identifiers and the CRM columns are in memory.
pub fn build_from<K: AsRef<str>, V: AsRef<str>>(
    sources_dir: &Path,
    default_country: Option<&str>,
    ids: impl IntoIterator<Item = (Pid, K, V)>,
) -> Result<Contacts> {
    let mut rows = IdRows::default();
    for (pid, kind, value) in ids {
        rows.push(pid, kind.as_ref(), value.as_ref());
    }
    Contacts::new(sources_dir, default_country, rows)
}

/// The identifier kinds a contact record reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    CustomerId,
    Cookie,
    Device,
    Email,
    Phone,
}

/// Identifier rows, compact: one text arena instead of a `String` per value.
#[derive(Default)]
struct IdRows {
    pid: Vec<Pid>,
    kind: Vec<IdKind>,
    /// End of each value in `text`.
    ends: Vec<usize>,
    text: String,
}

impl IdRows {
    fn push(&mut self, pid: Pid, kind: &str, value: &str) {
        let kind = match kind {
            "customer_id" => IdKind::CustomerId,
            "cookie" => IdKind::Cookie,
            "device" => IdKind::Device,
            "email" => IdKind::Email,
            "phone" => IdKind::Phone,
            _ => return,
        };
        self.pid.push(pid);
        self.kind.push(kind);
        self.text.push_str(value);
        self.ends.push(self.text.len());
    }

    fn value(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// The CRM roles a contact record reads, in column order.
const CRM_ROLES: [&str; 10] = [
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

/// The contact records of [`build_from`], built one profile at a time in pid order: first the
/// profile's CRM records (file order; so its own emails and phones come before login hashes),
/// then its identifiers (table order).
pub struct Contacts {
    ids: IdRows,
    /// Identifier rows by (pid, row).
    id_order: Vec<u32>,
    /// CRM columns ([`CRM_ROLES`]); a record's values are taken when its profile is built.
    crm: Vec<Vec<Option<String>>>,
    /// (pid, CRM row) of the CRM records that reach a profile, sorted.
    crm_order: Vec<(Pid, u32)>,
    default_country: Option<&'static str>,
    next_id: usize,
    next_crm: usize,
}

impl Contacts {
    fn new(sources_dir: &Path, default_country: Option<&str>, ids: IdRows) -> Result<Contacts> {
        let cfg = crate::identity::sources::SourcesConfig::load(sources_dir)?;
        let country = default_country.map(str::to_string).or_else(|| cfg.default_country.clone());
        let default_country = match country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(parse_default_country(c, "default country")?),
        };
        let mut id_order: Vec<u32> = (0..ids.pid.len() as u32).collect();
        id_order.sort_by_key(|&i| ids.pid[i as usize]); // stable: table order within a pid
        let mut crm = Vec::new();
        let mut crm_order = Vec::new();
        let crm_file = cfg.file(sources_dir, "crm").filter(|_| !ids.pid.is_empty());
        if let Some(path) = crm_file {
            let names: Vec<String> =
                CRM_ROLES.iter().map(|r| cfg.column("crm", r).to_string()).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            crm = read_text_columns(&path, &refs, &refs[1..])?;
            let customer: HashMap<&str, Pid> = (0..ids.pid.len())
                .filter(|&i| ids.kind[i] == IdKind::CustomerId)
                .map(|i| (ids.value(i), ids.pid[i]))
                .collect();
            crm_order = crm[0]
                .iter()
                .enumerate()
                .filter_map(|(row, cid)| Some((*customer.get(cid.as_deref()?)?, row as u32)))
                .collect();
            crm_order.sort_unstable();
        }
        Ok(Contacts { ids, id_order, crm, crm_order, default_country, next_id: 0, next_crm: 0 })
    }

    /// Adds CRM record `row` to `h`.
    fn add_crm(&mut self, h: &mut HashedContact, row: usize) {
        let mut take = |col: usize| self.crm[col][row].take();
        let contact = Contact {
            email: take(1),
            phone: take(2),
            first_name: take(3),
            last_name: take(4),
            city: take(5),
            zip: take(6),
            country: take(7),
            birth_date: take(8),
            gender: take(9),
            ..Contact::default()
        };
        h.merge(&HashedContact::from_contact(&contact, self.default_country));
    }

    /// Adds identifier row `i` to `h`.
    fn add_identifier(&self, h: &mut HashedContact, i: usize) {
        let value = self.ids.value(i);
        match self.ids.kind[i] {
            IdKind::CustomerId => {
                h.add(HField::ExternId, value.as_bytes());
                h.add_hash_of(HField::MetaExternId, value);
            }
            IdKind::Cookie => {
                h.add(HField::Cookie, value.as_bytes());
            }
            IdKind::Device => {
                if let Ok(m) = normalize_maid(value) {
                    h.add(HField::Maid, m.as_bytes());
                }
            }
            // Hashes of trim + lowercase emails (CRM and logins): Meta's and LiveRamp's form.
            IdKind::Email => {
                if let Ok(d) = hex::decode(value) {
                    h.add(HField::MetaEmail, &d);
                }
            }
            // Hashes of E.164 phones with `+`: Google's and LiveRamp's form.
            IdKind::Phone => {
                if let Ok(d) = hex::decode(value) {
                    h.add(HField::GooglePhone, &d);
                }
            }
        }
    }
}

impl Iterator for Contacts {
    type Item = HashedContact;

    fn next(&mut self) -> Option<HashedContact> {
        loop {
            let next_id = self.id_order.get(self.next_id).map(|&i| self.ids.pid[i as usize]);
            let next_crm = self.crm_order.get(self.next_crm).map(|&(p, _)| p);
            let pid = match (next_id, next_crm) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
            let mut h = HashedContact::new(pid);
            while let Some(&(p, row)) = self.crm_order.get(self.next_crm) {
                if p != pid {
                    break;
                }
                self.add_crm(&mut h, row as usize);
                self.next_crm += 1;
            }
            while let Some(&i) = self.id_order.get(self.next_id) {
                if self.ids.pid[i as usize] != pid {
                    break;
                }
                self.add_identifier(&mut h, i as usize);
                self.next_id += 1;
            }
            if !h.is_empty() {
                return Some(h);
            }
        }
    }
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
        let out: Vec<HashedContact> = build_from(dir.path(), None, ids).unwrap().collect();
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
