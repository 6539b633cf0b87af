//! `audience forget`: the right to be forgotten.
//!
//! Owns the suppression list (`identity/suppression.json`), the audit log
//! (`identity/forget.log`) and the erasure of profiles from every table of the store.
//!
//! A request names one identifier (an email, a phone, or `KIND:VALUE`), which is normalised and
//! hashed exactly as identity resolution does ([`crate::normalize`]). The profiles holding it are
//! found in the identity graph (and through the id map for customer ids and profile ids), then:
//! 1. the suppression list records, as hashes only, every identifier of those profiles and their
//!    pids (written first, so an interrupted erasure is still never exported, and is completed by
//!    the next `forget`, `resolve` or export);
//! 2. [`erase`] removes the pids from `identity/identifiers.parquet`, `identity/links.parquet`
//!    (links name identifiers by row: those of the removed rows go, the others are renumbered),
//!    `identity/aliases.json`, the traits table and its bitmap index (rebuilt aside and swapped in
//!    whole), every segment bitmap, and the contact table `identity/contacts.bin`;
//! 3. the id map entry of each pid becomes a tombstone `forgotten:PID` (pids are never reused);
//! 4. a line is appended to the audit log: time, the hash of the request, counts. No PII.
//!
//! Later runs keep them out: `resolve` applies the suppressions to what it just built
//! ([`apply_suppressions`]), `import` drops rows whose id is suppressed ([`filter_import`]), and
//! `export` never writes a forgotten pid or a suppressed email or phone hash.
//!
//! Suppressed forms ([`suppressed_form`]): `email:`, `email_canon:` and `phone:` keys as the
//! identity graph stores them (their value is already a SHA-256 of the normalised value), every
//! other kind as `kind:` + SHA-256 of the value, external profile ids as `extid:` + SHA-256.
//!
//! It does not own normalisation, the identity graph's construction or the export formats.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::export::HashedRecord;
use crate::identity::contact_store::SHARD;
use crate::idmap::IdMap;
use crate::import::{read_traits, PID_COLUMN};
use crate::index::{BitmapIndex, Pid, TraitOrigin};
use crate::normalize::{normalize_email, normalize_maid, parse_phone, sha256_hex, EmailRules};
use crate::segment;
use crate::store::{now_iso, Store};
use crate::table::{read_text_columns, write_parquet, Column, ColumnData, Table};

/// The suppression list inside the store.
pub const SUPPRESSION: &str = "identity/suppression.json";
/// The audit log inside the store (one line per request, no PII).
pub const AUDIT_LOG: &str = "identity/forget.log";
const IDENTIFIERS: &str = "identity/identifiers.parquet";
const LINKS: &str = "identity/links.parquet";
const ALIASES: &str = "identity/aliases.json";

/// `identity/suppression.json`: what must never come back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Suppressed identifiers in their [`suppressed_form`].
    pub keys: BTreeSet<String>,
    /// Pids of forgotten profiles.
    pub pids: BTreeSet<Pid>,
}

impl Suppression {
    /// The store's suppression list (empty when nothing was forgotten).
    pub fn load(store: &Store) -> Result<Suppression> {
        let path = store.path(SUPPRESSION);
        if !path.exists() {
            return Ok(Suppression::default());
        }
        let bytes = std::fs::read(&path).at(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::user(format!(
                "{} is corrupt ({e}); restore it from a backup: it is the list of people who must \
                 never be exported",
                path.display()
            ))
        })
    }

    /// Writes it atomically.
    pub fn save(&self, store: &Store) -> Result<()> {
        store.write_json(SUPPRESSION, self)
    }

    /// True when nothing is suppressed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.pids.is_empty()
    }

    /// True when the identity-graph key (`kind:value`) is suppressed.
    pub fn holds_key(&self, key: &str) -> bool {
        self.keys.contains(&suppressed_form(key))
    }

    /// The SHA-256 digests of suppressed emails (trim + lowercase) and phones (E.164 with `+`),
    /// as export rows carry them, so an export can refuse them without hashing anything.
    pub fn digests(&self) -> HashSet<[u8; 32]> {
        self.keys
            .iter()
            .filter_map(|k| k.strip_prefix("email:").or_else(|| k.strip_prefix("phone:")))
            .filter_map(|h| hex::decode(h).ok()?.try_into().ok())
            .collect()
    }
}

/// The form in which a key is suppressed (see the module docs).
pub fn suppressed_form(key: &str) -> String {
    match key.split_once(':') {
        Some((kind @ ("email" | "email_canon" | "phone"), v)) => format!("{kind}:{v}"),
        Some(("profile", v)) => extid_form(v),
        Some((kind, v)) => format!("{kind}:{}", sha256_hex(v)),
        None => format!("key:{}", sha256_hex(key)),
    }
}

fn extid_form(id: &str) -> String {
    format!("extid:{}", sha256_hex(id))
}

/// What to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A raw email address.
    Email(String),
    /// A raw phone number.
    Phone(String),
    /// `KIND:VALUE`: `customer_id`, `cookie`, `maid` (or `device`), `loyalty_card`,
    /// `partner_cookie`, `profile` (the store's external profile id), `email`, `phone`,
    /// `email_sha256` or `phone_sha256` (a hash given as 64 hex digits).
    Id(String, String),
}

const ID_KINDS: &str = "customer_id, cookie, maid, loyalty_card, partner_cookie, profile, email, \
                        phone, email_sha256, phone_sha256";

impl Request {
    /// Parses `--id KIND:VALUE`.
    pub fn parse_id(s: &str) -> Result<Request> {
        let (kind, value) = s.split_once(':').ok_or_else(|| {
            Error::user(format!(
                "--id takes KIND:VALUE (e.g. cookie:3f2a...); KIND is one of {ID_KINDS}"
            ))
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::user("--id KIND:VALUE: the value is empty"));
        }
        Ok(Request::Id(kind.trim().to_lowercase(), value.to_string()))
    }

    /// The identity-graph keys the request stands for (emails and phones normalised and hashed).
    pub fn keys(&self, default_country: Option<&str>) -> Result<Vec<String>> {
        let email = |raw: &str| -> Result<Vec<String>> {
            let bad = |_| {
                Error::user(
                    "the email given is not a valid address (expected name@domain.tld); nothing \
                     was changed",
                )
            };
            Ok(vec![
                format!(
                    "email:{}",
                    sha256_hex(&normalize_email(raw, EmailRules::PLAIN).map_err(bad)?)
                ),
                format!(
                    "email_canon:{}",
                    sha256_hex(&normalize_email(raw, EmailRules::IDENTITY).map_err(bad)?)
                ),
            ])
        };
        let phone = |raw: &str| -> Result<Vec<String>> {
            let p = parse_phone(raw, default_country).map_err(|_| {
                Error::user(
                    "the phone given is not a phone number this build can read; give it in \
                     international form (+33 6 12 34 56 78), or pass --default-country CC for a \
                     national number; nothing was changed",
                )
            })?;
            Ok(vec![format!("phone:{}", sha256_hex(&p.e164()))])
        };
        let hash = |kind: &str, v: &str| -> Result<Vec<String>> {
            let v = v.to_lowercase();
            if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::user(format!(
                    "--id {kind}_sha256:VALUE takes a SHA-256 as 64 hex digits"
                )));
            }
            Ok(vec![format!("{kind}:{v}")])
        };
        match self {
            Request::Email(e) => email(e),
            Request::Phone(p) => phone(p),
            Request::Id(kind, v) => match kind.as_str() {
                "email" => email(v),
                "phone" => phone(v),
                "email_sha256" => hash("email", v),
                "phone_sha256" => hash("phone", v),
                "maid" | "device" => {
                    let mut keys = vec![format!("device:{v}")];
                    if let Ok(m) = normalize_maid(v) {
                        if m != *v {
                            keys.push(format!("device:{m}"));
                        }
                    }
                    Ok(keys)
                }
                "customer_id" | "cookie" | "loyalty_card" | "partner_cookie" | "profile" => {
                    Ok(vec![format!("{kind}:{v}")])
                }
                _ => {
                    Err(Error::user(format!("--id: unknown kind `{kind}`; use one of {ID_KINDS}")))
                }
            },
        }
    }
}

/// What [`erase`] removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EraseReport {
    /// Identifiers removed from the identity graph.
    pub identifiers: u64,
    /// Links removed.
    pub links: u64,
    /// Aliases removed.
    pub aliases: u64,
    /// Rows removed from the traits table (and the bitmap index).
    pub trait_rows: u64,
    /// Segments changed, with the members removed from each.
    pub segments: BTreeMap<String, u64>,
    /// Records removed from the contact table.
    pub contacts: u64,
}

/// What [`forget`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForgetReport {
    /// The hash of the request (its suppressed form), as written to the audit log.
    pub request: String,
    /// Profiles found and erased.
    pub profiles: u64,
    /// True when the request had already been suppressed by an earlier run.
    pub already_suppressed: bool,
    /// What was removed.
    pub erased: EraseReport,
}

/// Forgets the person named by `req`; see the module docs.
pub fn forget(
    store: &mut Store,
    req: &Request,
    default_country: Option<&str>,
) -> Result<ForgetReport> {
    let keys = req.keys(default_country)?;
    let request = suppressed_form(&keys[0]);
    let mut sup = Suppression::load(store)?;
    let already_suppressed = keys.iter().any(|k| sup.holds_key(k));
    let mut idmap = IdMap::load(store)?;
    let wanted: HashSet<&str> = keys.iter().map(String::as_str).collect();
    let ids = read_identifiers(store)?;
    let mut pids = RoaringBitmap::new();
    for (key, pid) in &ids {
        if wanted.contains(key.as_str()) {
            pids.insert(*pid);
        }
    }
    for k in &keys {
        if let Some(("customer_id" | "profile", v)) = k.split_once(':') {
            if let Some(p) = idmap.get(v) {
                pids.insert(p);
            }
        }
    }
    for p in &sup.pids {
        pids.remove(*p);
    }
    // The request itself is suppressed even when nobody holds it yet.
    sup.keys.extend(keys.iter().map(|k| suppressed_form(k)));
    let erased = suppress_and_erase(store, &mut sup, &mut idmap, &pids, &ids)?;
    let report = ForgetReport { request, profiles: pids.len(), already_suppressed, erased };
    audit(store, &report)?;
    Ok(report)
}

/// Records `pids` and every identifier they hold in the suppression list, then erases them and
/// puts tombstones in the id map.
fn suppress_and_erase(
    store: &mut Store,
    sup: &mut Suppression,
    idmap: &mut IdMap,
    pids: &RoaringBitmap,
    ids: &[(String, Pid)],
) -> Result<EraseReport> {
    for (key, pid) in ids {
        if pids.contains(*pid) {
            sup.keys.insert(suppressed_form(key));
        }
    }
    for p in pids {
        if let Some(id) = idmap.id(p) {
            sup.keys.insert(extid_form(id));
        }
        sup.pids.insert(p);
    }
    sup.save(store)?;
    let erased = erase(store, pids)?;
    let mut renamed = false;
    for p in pids {
        if idmap.id(p).is_some_and(|id| !id.starts_with("forgotten:")) {
            idmap.rename(p, &format!("forgotten:{p}"))?;
            renamed = true;
        }
    }
    if renamed {
        idmap.save(store)?;
    }
    Ok(erased)
}

/// Appends one line to the audit log: time, the request's hash, what was found. No PII.
fn audit(store: &Store, r: &ForgetReport) -> Result<()> {
    let path = store.path(AUDIT_LOG);
    let mut log = if path.exists() { std::fs::read(&path).at(&path)? } else { Vec::new() };
    let line = format!(
        "{}\tforget\t{}\tprofiles={}\tidentifiers={}\ttrait_rows={}\tsegments={}\tcontacts={}\n",
        now_iso(),
        r.request,
        r.profiles,
        r.erased.identifiers,
        r.erased.trait_rows,
        r.erased.segments.len(),
        r.erased.contacts
    );
    log.extend_from_slice(line.as_bytes());
    store.write_file(AUDIT_LOG, |w| w.write_all(&log).at(&path))
}

/// Runs after `resolve`: erases every profile that holds a suppressed identifier or a forgotten
/// pid, so a forgotten person never comes back. Returns the number of profiles erased.
pub fn apply_suppressions(store: &mut Store) -> Result<u64> {
    let mut sup = Suppression::load(store)?;
    if sup.is_empty() {
        return Ok(0);
    }
    let ids = read_identifiers(store)?;
    let mut pids = RoaringBitmap::new();
    for (key, pid) in &ids {
        if !pids.contains(*pid) && (sup.pids.contains(pid) || sup.holds_key(key)) {
            pids.insert(*pid);
        }
    }
    let mut idmap = IdMap::load(store)?;
    for p in 0..idmap.len() as Pid {
        if !pids.contains(p) && idmap.id(p).is_some_and(|id| sup.keys.contains(&extid_form(id))) {
            pids.insert(p);
        }
    }
    if pids.is_empty() {
        return Ok(0);
    }
    suppress_and_erase(store, &mut sup, &mut idmap, &pids, &ids)?;
    Ok(pids.len())
}

/// Drops the rows of a profile table being imported whose id is suppressed; `None` when no row
/// is (the table is imported as it is). Returns the filtered table and the rows dropped.
pub fn filter_import(store: &Store, table: &Table, id_col: &str) -> Result<Option<(Table, usize)>> {
    let sup = Suppression::load(store)?;
    if sup.is_empty() {
        return Ok(None);
    }
    let Ok(col) = table.column(id_col) else { return Ok(None) };
    let keep: Vec<usize> = (0..table.rows)
        .filter(|&i| {
            col.data.text(i).is_none_or(|id| {
                !sup.keys.contains(&extid_form(&id))
                    && !sup.keys.contains(&suppressed_form(&format!("customer_id:{id}")))
            })
        })
        .collect();
    if keep.len() == table.rows {
        return Ok(None);
    }
    let dropped = table.rows - keep.len();
    let columns =
        table.columns.iter().map(|c| Column { name: c.name.clone(), data: select(&c.data, &keep) });
    Ok(Some((
        Table {
            path: table.path.clone(),
            is_csv: table.is_csv,
            rows: keep.len(),
            columns: columns.collect(),
        },
        dropped,
    )))
}

/// `(key, pid)` of every identifier of the graph (empty before the first resolve).
fn read_identifiers(store: &Store) -> Result<Vec<(String, Pid)>> {
    let path = store.path(IDENTIFIERS);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut c = read_text_columns(&path, &["key", "pid"], &[])?;
    let pids = std::mem::take(&mut c[1]);
    Ok(std::mem::take(&mut c[0])
        .into_iter()
        .zip(pids)
        .filter_map(|(k, p)| Some((k?, p?.parse().ok()?)))
        .collect())
}

fn select(data: &ColumnData, keep: &[usize]) -> ColumnData {
    match data {
        ColumnData::Bool(v) => ColumnData::Bool(keep.iter().map(|&i| v[i]).collect()),
        ColumnData::Int(v) => ColumnData::Int(keep.iter().map(|&i| v[i]).collect()),
        ColumnData::Float(v) => ColumnData::Float(keep.iter().map(|&i| v[i]).collect()),
        ColumnData::Str(v) => ColumnData::Str(keep.iter().map(|&i| v[i].clone()).collect()),
    }
}

/// Removes `pids` from every table of the store (see the module docs); each file is rewritten
/// atomically, and only when it changes.
pub fn erase(store: &mut Store, pids: &RoaringBitmap) -> Result<EraseReport> {
    let mut r = EraseReport::default();
    if pids.is_empty() {
        return Ok(r);
    }
    // Identity graph. The links name identifiers by row, so the links of the forgotten rows go
    // and the others are renumbered (`new_row[old]`; empty when no row goes).
    let ipath = store.path(IDENTIFIERS);
    let mut new_row: Vec<Option<i64>> = Vec::new();
    if ipath.exists() {
        let c = read_text_columns(&ipath, &["key", "kind", "pid", "evidence"], &["evidence"])?;
        let n = c[0].len();
        let gone = |i: usize| {
            c[2][i].as_deref().and_then(|p| p.parse::<Pid>().ok()).is_some_and(|p| pids.contains(p))
        };
        let keep: Vec<usize> = (0..n).filter(|&i| !gone(i)).collect();
        if keep.len() < n {
            r.identifiers = (n - keep.len()) as u64;
            new_row = vec![None; n];
            for (new, &old) in keep.iter().enumerate() {
                new_row[old] = Some(new as i64);
            }
            let pick = |col: usize| keep.iter().map(|&i| c[col][i].clone()).collect::<Vec<_>>();
            let pid_col: Vec<Option<i64>> =
                keep.iter().map(|&i| c[2][i].as_deref().and_then(|p| p.parse().ok())).collect();
            let evidence: Vec<Option<bool>> =
                keep.iter().map(|&i| c[3][i].as_deref().map(|e| e == "true")).collect();
            write_parquet(
                &ipath,
                &[
                    Column { name: "key".into(), data: ColumnData::Str(pick(0)) },
                    Column { name: "kind".into(), data: ColumnData::Str(pick(1)) },
                    Column { name: "pid".into(), data: ColumnData::Int(pid_col) },
                    Column { name: "evidence".into(), data: ColumnData::Bool(evidence) },
                ],
            )?;
        }
    }
    let lpath = store.path(LINKS);
    if lpath.exists() && !new_row.is_empty() {
        let c = read_text_columns(&lpath, &["a", "b", "rule", "score"], &[])?;
        let row = |v: &Option<String>| {
            let old: usize = v.as_deref()?.parse().ok()?;
            new_row.get(old).copied().flatten()
        };
        let keep: Vec<(usize, i64, i64)> =
            (0..c[0].len()).filter_map(|i| Some((i, row(&c[0][i])?, row(&c[1][i])?))).collect();
        r.links = (c[0].len() - keep.len()) as u64;
        let score: Vec<Option<f64>> =
            keep.iter().map(|k| c[3][k.0].as_deref().and_then(|s| s.parse().ok())).collect();
        write_parquet(
            &lpath,
            &[
                Column {
                    name: "a".into(),
                    data: ColumnData::Int(keep.iter().map(|k| Some(k.1)).collect()),
                },
                Column {
                    name: "b".into(),
                    data: ColumnData::Int(keep.iter().map(|k| Some(k.2)).collect()),
                },
                Column {
                    name: "rule".into(),
                    data: ColumnData::Str(keep.iter().map(|k| c[2][k.0].clone()).collect()),
                },
                Column { name: "score".into(), data: ColumnData::Float(score) },
            ],
        )?;
    }
    if store.path(ALIASES).exists() {
        let bytes = store.read_file(ALIASES)?;
        let mut aliases: BTreeMap<Pid, Pid> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::user(format!(
                "{} is corrupt ({e}); run resolve again",
                store.path(ALIASES).display()
            ))
        })?;
        let before = aliases.len();
        aliases.retain(|a, b| !pids.contains(*a) && !pids.contains(*b));
        if aliases.len() < before {
            r.aliases = (before - aliases.len()) as u64;
            store.write_json(ALIASES, &aliases)?;
        }
    }
    r.trait_rows = erase_traits(store, pids)?;
    for name in segment::names(store)? {
        let seg = segment::load(store, &name)?;
        let kept = &seg.pids - pids;
        let removed = seg.pids.len() - kept.len();
        if removed > 0 {
            let mut meta = seg.meta.clone();
            meta.size = kept.len();
            meta.size_by_party = segment::size_by_party(store, &kept)?;
            meta.updated = now_iso();
            segment::save(store, &meta, &kept)?;
            r.segments.insert(name, removed);
        }
    }
    if let Some(mut reader) = crate::identity::contact_store::ContactReader::open(store)? {
        // Rewritten shard by shard (one shard in memory), only when it holds a forgotten pid.
        let mut buf = Vec::new();
        let mut hit = false;
        for range in reader.index.shards.clone() {
            if pids
                .range(range.shard * SHARD..(range.shard + 1).saturating_mul(SHARD))
                .next()
                .is_some()
            {
                reader.read_shard(&range, &mut buf)?;
                hit |= reader.offsets(&buf)?.iter().any(|(p, _)| pids.contains(*p));
            }
        }
        if hit {
            let before = reader.index.profiles;
            let mut failed = None;
            let shards = reader.index.shards.clone();
            let records = shards.into_iter().flat_map(|range| {
                let mut kept = Vec::new();
                let read = reader.read_shard(&range, &mut buf).and_then(|()| reader.offsets(&buf));
                match read {
                    Ok(offsets) => {
                        for (p, off) in offsets {
                            if !pids.contains(p) {
                                if let Some((rec, _)) = HashedRecord::decode(&buf[off..]) {
                                    kept.push(rec.to_owned_contact());
                                }
                            }
                        }
                    }
                    Err(e) => failed = Some(e),
                }
                kept
            });
            let path = store.path(crate::identity::contact_store::FILE);
            let tmp = path.with_extension("bin.rewrite");
            let index = crate::identity::contact_store::write_to(&tmp, records);
            if let Some(e) = failed {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            let index = index?;
            std::fs::rename(&tmp, &path).at(&path)?;
            r.contacts = before - index.profiles;
        }
    }
    Ok(r)
}

/// Removes `pids` from the traits table and rebuilds the bitmap index, the profiles directory
/// swapped in whole. Returns the rows removed.
fn erase_traits(store: &mut Store, pids: &RoaringBitmap) -> Result<u64> {
    let Some((table, tpids)) = read_traits(store)? else { return Ok(0) };
    let keep: Vec<usize> = (0..tpids.len()).filter(|&i| !pids.contains(tpids[i])).collect();
    if keep.len() == tpids.len() {
        return Ok(0);
    }
    let manifest = BitmapIndex::manifest(store)?;
    let origins: HashMap<String, TraitOrigin> =
        manifest.traits.iter().map(|t| (t.name.clone(), t.origin.clone())).collect();
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|c| Column { name: c.name.clone(), data: select(&c.data, &keep) })
        .collect();
    let kept_pids: Vec<Pid> = keep.iter().map(|&i| tpids[i]).collect();
    let named: Vec<(String, &ColumnData)> = columns
        .iter()
        .filter(|c| c.name != PID_COLUMN)
        .map(|c| (c.name.clone(), &c.data))
        .collect();
    let mut index = BitmapIndex::build(&named, &kept_pids);
    store.replace_dir("profiles", |dir| {
        write_parquet(dir.join("traits.parquet"), &columns)?;
        index.save(dir, &origins)
    })?;
    Ok((tpids.len() - keep.len()) as u64)
}
