//! The key resolvers: which profile an event row belongs to.
//!
//! On a **resolved** store (`audience resolve` wrote `identity/identifiers.parquet`),
//! [`GraphKeys`] maps every identifier of the identity graph (customer id, loyalty card, e-mail
//! hash, cookie, device) to its unified profile: a cookie that never logged in has the profile
//! resolve gave it.
//!
//! On a store filled by `import` only, profiles are keyed by **customer id** (the store's
//! [`IdMap`], filled by `audience import --id customer_id`) and [`CustomerKeys`] maps the other
//! keys of the sources onto those pids:
//! - a customer id: through the id map;
//! - a loyalty card: through the CRM (`crm.loyalty_card` → `crm.customer_id`);
//! - an e-mail hash: the SHA-256 of the trimmed, lowercased CRM e-mail;
//! - a cookie: a cookie that logged in (a web event with a known `email_sha256`) belongs to that
//!   customer for all its events; when several customers logged in on one cookie, the smallest
//!   pid keeps it (deterministic);
//! - a mobile device id (MAID): seen on a web event row that resolved to a customer (smallest pid
//!   again when shared).
//!
//! Derivation only sees the [`KeyResolver`] trait. Raw e-mails are hashed on reading the CRM and
//! never kept.
//!
//! It does not own the id map (see [`crate::idmap`]), the identity graph (see
//! [`crate::identity`]) or probabilistic matching.

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hash::FxHashMap;
use crate::idmap::IdMap;
use crate::index::Pid;
use crate::store::Store;
use crate::table::{read_text_columns, SourceColumn, SourceTable, MISSING_CODE};

/// "No profile" in per-row and per-code pid arrays.
pub const NO_PID: Pid = Pid::MAX;

/// Maps identifiers found in sources to pids.
pub trait KeyResolver: Sync {
    /// The profile of a customer id.
    fn customer(&self, id: &str) -> Option<Pid>;
    /// The profile of a loyalty card number.
    fn loyalty_card(&self, card: &str) -> Option<Pid>;
    /// The profile of a hex SHA-256 of a normalised e-mail.
    fn email_sha256(&self, hash: &str) -> Option<Pid>;
    /// The profile of a first-party cookie.
    fn cookie(&self, cookie: &str) -> Option<Pid>;
    /// The profile of a mobile advertising id.
    fn device(&self, maid: &str) -> Option<Pid>;
    /// Number of cookies and devices known for each pid below `n`: `(cookies, devices)`.
    fn key_counts(&self, n: usize) -> (Vec<u32>, Vec<u32>);
}

/// The SHA-256 (lowercase hex) of an e-mail after trimming and lowercasing.
pub fn email_sha256(email: &str) -> String {
    hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

/// The pid of each key, by kind: what both resolvers are, filled differently (see
/// [`CustomerKeys`] and [`GraphKeys`]).
#[derive(Debug, Default)]
pub struct Keys {
    customers: FxHashMap<String, Pid>,
    loyalty: FxHashMap<String, Pid>,
    emails: FxHashMap<String, Pid>,
    cookies: FxHashMap<String, Pid>,
    devices: FxHashMap<String, Pid>,
}

/// The customer-keyed resolver (`CustomerKeys::new`, then `learn_web`); see the module docs.
pub type CustomerKeys = Keys;

/// For each code of a dictionary-encoded column, its pid by `f` (or [`NO_PID`]).
pub fn code_pids(dict: &[String], f: impl Fn(&str) -> Option<Pid> + Sync) -> Vec<Pid> {
    dict.par_iter().map(|s| f(s).unwrap_or(NO_PID)).collect()
}

/// The codes and dictionary of a [`SourceColumn::Codes`] column (others give none).
pub fn codes(col: Option<&SourceColumn>) -> Option<(&[u32], &[String])> {
    match col {
        Some(SourceColumn::Codes { codes, dict }) => Some((codes, dict)),
        _ => None,
    }
}

/// The pid of row `i` through per-code pids.
#[inline]
pub fn row_pid(codes: &[u32], pids: &[Pid], i: usize) -> Pid {
    match codes[i] {
        MISSING_CODE => NO_PID,
        c => pids[c as usize],
    }
}

impl Keys {
    /// Customer ids from the id map; loyalty cards and e-mail hashes from the CRM rows
    /// (columns `customer_id`, `email`, `loyalty_card`) whose customer id has a pid.
    pub fn new(idmap: &IdMap, crm: Option<&SourceTable>) -> Result<Keys> {
        let mut keys = Keys::default();
        let n = idmap.len();
        keys.customers.reserve(n);
        for pid in 0..n as Pid {
            if let Some(id) = idmap.id(pid) {
                keys.customers.insert(id.to_string(), pid);
            }
        }
        let Some(crm) = crm else { return Ok(keys) };
        let Some((ids, id_dict)) = codes(crm.get("customer_id")) else { return Ok(keys) };
        let id_pids = code_pids(id_dict, |s| keys.customer(s));
        if let Some((cards, dict)) = codes(crm.get("loyalty_card")) {
            for i in 0..crm.rows {
                let pid = row_pid(ids, &id_pids, i);
                if pid != NO_PID && cards[i] != MISSING_CODE {
                    keys.loyalty.entry(dict[cards[i] as usize].clone()).or_insert(pid);
                }
            }
        }
        if let Some((emails, dict)) = codes(crm.get("email")) {
            let hashes: Vec<String> = dict.par_iter().map(|e| email_sha256(e)).collect();
            for i in 0..crm.rows {
                let pid = row_pid(ids, &id_pids, i);
                if pid != NO_PID && emails[i] != MISSING_CODE {
                    let h = &hashes[emails[i] as usize];
                    let slot = keys.emails.entry(h.clone()).or_insert(pid);
                    *slot = (*slot).min(pid);
                }
            }
        }
        Ok(keys)
    }

    /// A resolver whose profiles are cookies: cookie `ids[p]` is pid `p` (batch scoring of new
    /// cookies). Devices are learnt from web events as usual; no customer, card or e-mail is
    /// known.
    pub fn for_cookies(ids: &[String]) -> CustomerKeys {
        let mut keys = Keys::default();
        keys.cookies.reserve(ids.len());
        for (p, id) in ids.iter().enumerate() {
            keys.cookies.insert(id.clone(), p as Pid);
        }
        keys
    }

    /// Learns cookies and devices from web events (columns `cookie`, `device_id`,
    /// `email_sha256`), as the module docs say. Returns the pid of every row.
    pub fn learn_web(&mut self, web: &SourceTable) -> Vec<Pid> {
        let email = codes(web.get("email_sha256"));
        let cookie = codes(web.get("cookie"));
        let device = codes(web.get("device_id"));
        let email_pids = email.map(|(_, d)| code_pids(d, |s| self.email_sha256(s)));
        // Cookies that logged in.
        let mut cookie_owner = cookie.map(|(_, d)| vec![NO_PID; d.len()]);
        if let (Some((ec, _)), Some(ep), Some((cc, _)), Some(owner)) =
            (email, &email_pids, cookie, cookie_owner.as_mut())
        {
            for i in 0..web.rows {
                let p = row_pid(ec, ep, i);
                if p != NO_PID && cc[i] != MISSING_CODE {
                    let o = &mut owner[cc[i] as usize];
                    *o = (*o).min(p);
                }
            }
        }
        // Cookies already known (from an earlier source) keep their pid when not logged in here.
        if let (Some((_, dict)), Some(owner)) = (cookie, cookie_owner.as_mut()) {
            for (c, o) in owner.iter_mut().enumerate() {
                if *o == NO_PID {
                    *o = self.cookie(&dict[c]).unwrap_or(NO_PID);
                }
            }
        }
        let mut pids: Vec<Pid> = (0..web.rows)
            .map(|i| {
                let by_email = match (email, &email_pids) {
                    (Some((ec, _)), Some(ep)) => row_pid(ec, ep, i),
                    _ => NO_PID,
                };
                if by_email != NO_PID {
                    return by_email;
                }
                match (cookie, &cookie_owner) {
                    (Some((cc, _)), Some(o)) => row_pid(cc, o, i),
                    _ => NO_PID,
                }
            })
            .collect();
        // Devices seen on resolved rows; then rows known only by their device.
        if let Some((dc, dict)) = device {
            let mut owner = vec![NO_PID; dict.len()];
            for i in 0..web.rows {
                if pids[i] != NO_PID && dc[i] != MISSING_CODE {
                    let o = &mut owner[dc[i] as usize];
                    *o = (*o).min(pids[i]);
                }
            }
            for (d, o) in owner.iter().enumerate() {
                if *o != NO_PID {
                    self.devices.entry(dict[d].clone()).or_insert(*o);
                }
            }
            for i in 0..web.rows {
                if pids[i] == NO_PID && dc[i] != MISSING_CODE {
                    pids[i] = owner[dc[i] as usize];
                }
            }
        }
        if let (Some((_, dict)), Some(owner)) = (cookie, cookie_owner) {
            for (c, o) in owner.into_iter().enumerate() {
                if o != NO_PID {
                    self.cookies.entry(dict[c].clone()).or_insert(o);
                }
            }
        }
        pids
    }
}

/// The resolver of a resolved store: every identifier of identity resolution's graph
/// (`identity/identifiers.parquet`: `key` as `kind:value`, `pid`) maps to its unified profile,
/// so a cookie that never logged in still has the profile resolve gave it (its own, or the one
/// a cross-device link joined). Built by `GraphKeys::load`.
pub type GraphKeys = Keys;

/// Where identity resolution writes its identifiers.
pub const IDENTIFIERS_FILE: &str = "identity/identifiers.parquet";

impl Keys {
    /// Reads the identifiers table; `None` when the store was never resolved.
    pub fn load(store: &Store) -> Result<Option<Keys>> {
        let path = store.path(IDENTIFIERS_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let cols = read_text_columns(&path, &["key", "pid"], &[])?;
        let mut keys = Keys::default();
        for (row, (key, pid)) in cols[0].iter().zip(&cols[1]).enumerate() {
            let (Some(key), Some(pid)) = (key, pid) else { continue };
            let bad = || {
                Error::user(format!(
                    "{}: row {}: `{key}` / `{pid}` is not a `kind:value` key with a pid; the \
                     identity tables are damaged: run `audience resolve` again",
                    path.display(),
                    row + 1
                ))
            };
            let pid: Pid = pid.parse().map_err(|_| bad())?;
            let (kind, value) = key.split_once(':').ok_or_else(bad)?;
            let map = match kind {
                "customer_id" => &mut keys.customers,
                "loyalty_card" => &mut keys.loyalty,
                "email" => &mut keys.emails,
                "cookie" => &mut keys.cookies,
                "device" => &mut keys.devices,
                _ => continue,
            };
            map.insert(value.to_string(), pid);
        }
        Ok(Some(keys))
    }

    /// The pid of every web event row: its cookie's, else its login's, else its device's.
    pub fn web_pids(&self, web: &SourceTable) -> Vec<Pid> {
        let by = |col: &str, f: &(dyn Fn(&str) -> Option<Pid> + Sync)| {
            codes(web.get(col)).map(|(c, d)| (c, code_pids(d, f)))
        };
        let cookie = by("cookie", &|s| self.cookie(s));
        let email = by("email_sha256", &|s| self.email_sha256(s));
        let device = by("device_id", &|s| self.device(s));
        (0..web.rows)
            .map(|i| {
                [&cookie, &email, &device]
                    .iter()
                    .filter_map(|k| k.as_ref().map(|(c, p)| row_pid(c, p, i)))
                    .find(|&p| p != NO_PID)
                    .unwrap_or(NO_PID)
            })
            .collect()
    }
}

impl KeyResolver for Keys {
    fn customer(&self, id: &str) -> Option<Pid> {
        self.customers.get(id).copied()
    }
    fn loyalty_card(&self, card: &str) -> Option<Pid> {
        self.loyalty.get(card).copied()
    }
    fn email_sha256(&self, hash: &str) -> Option<Pid> {
        self.emails.get(&hash.to_ascii_lowercase()).copied()
    }
    fn cookie(&self, cookie: &str) -> Option<Pid> {
        self.cookies.get(cookie).copied()
    }
    fn device(&self, maid: &str) -> Option<Pid> {
        self.devices.get(maid).copied()
    }
    fn key_counts(&self, n: usize) -> (Vec<u32>, Vec<u32>) {
        (count_per_pid(&self.cookies, n), count_per_pid(&self.devices, n))
    }
}

/// How many keys of `m` each pid below `n` has.
fn count_per_pid(m: &FxHashMap<String, Pid>, n: usize) -> Vec<u32> {
    let mut v = vec![0u32; n];
    for &p in m.values() {
        if (p as usize) < n {
            v[p as usize] += 1;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(values: &[&str]) -> SourceColumn {
        let mut dict: Vec<String> = Vec::new();
        let codes = values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    return MISSING_CODE;
                }
                match dict.iter().position(|d| d == v) {
                    Some(p) => p as u32,
                    None => {
                        dict.push(v.to_string());
                        (dict.len() - 1) as u32
                    }
                }
            })
            .collect();
        SourceColumn::Codes { codes, dict }
    }

    fn table(rows: usize, cols: Vec<(&str, SourceColumn)>) -> SourceTable {
        SourceTable {
            path: "t.csv".into(),
            is_csv: true,
            rows,
            columns: cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
        }
    }

    #[test]
    fn email_hash_normalises_first() {
        assert_eq!(email_sha256(" Ann@Example.COM "), email_sha256("ann@example.com"));
        assert_eq!(
            email_sha256("test@example.com"),
            "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
        );
    }

    #[test]
    fn a_cookie_that_logged_in_carries_all_its_events() {
        let mut idmap = IdMap::default();
        idmap.get_or_insert("c1").unwrap();
        idmap.get_or_insert("c2").unwrap();
        let crm = table(
            2,
            vec![
                ("customer_id", coded(&["c1", "c2"])),
                ("email", coded(&["A@x.org", "b@x.org"])),
                ("loyalty_card", coded(&["L1", ""])),
            ],
        );
        let mut keys = CustomerKeys::new(&idmap, Some(&crm)).unwrap();
        assert_eq!(keys.loyalty_card("L1"), Some(0));
        let a = email_sha256("a@x.org");
        let web = table(
            4,
            vec![
                ("cookie", coded(&["k1", "k1", "k2", "k3"])),
                ("device_id", coded(&["", "m1", "", "m1"])),
                ("email_sha256", coded(&["", &a, "", ""])),
            ],
        );
        let pids = keys.learn_web(&web);
        // Row 0: before the login, same cookie; row 3: unknown cookie, known device.
        assert_eq!(pids, vec![0, 0, NO_PID, 0]);
        assert_eq!(keys.cookie("k1"), Some(0));
        assert_eq!(keys.device("m1"), Some(0));
        assert_eq!(keys.key_counts(2), (vec![1, 0], vec![1, 0]));
    }
}
