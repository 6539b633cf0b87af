//! The id map: external id → pid, dense and stable.
//!
//! Owns the assignment of pids. A known id keeps its pid forever; a new id gets the next pid.
//! Pids are never reused, so bitmaps written earlier stay meaningful. Stored as
//! `identity/idmap.bin`: a magic line, a count, then each id as length + UTF-8 bytes, in pid order.
//!
//! It does not own identity resolution (which decides that two identifiers are one person) nor
//! aliases of merged pids.

use std::collections::HashMap;
use std::io::Write;

use crate::error::{Error, IoContext, Result};
use crate::index::Pid;
use crate::store::Store;

/// Where the id map lives inside the store.
pub const IDMAP: &str = "identity/idmap.bin";
const MAGIC: &[u8] = b"AUDIDMAP1\n";

/// External ids and their pids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdMap {
    ids: Vec<String>,
    pids: HashMap<String, Pid>,
}

impl IdMap {
    /// The pid of `id`, if known.
    pub fn get(&self, id: &str) -> Option<Pid> {
        self.pids.get(id).copied()
    }

    /// The external id of `pid`.
    pub fn id(&self, pid: Pid) -> Option<&str> {
        self.ids.get(pid as usize).map(String::as_str)
    }

    /// The pid of `id`, assigning the next one when it is new.
    pub fn get_or_insert(&mut self, id: &str) -> Result<Pid> {
        if let Some(p) = self.pids.get(id) {
            return Ok(*p);
        }
        let pid = Pid::try_from(self.ids.len())
            .map_err(|_| Error::user("the store is full: more than 4,294,967,295 profiles"))?;
        self.ids.push(id.to_string());
        self.pids.insert(id.to_string(), pid);
        Ok(pid)
    }

    /// Gives `pid` a new external id (`audience forget` replaces a forgotten person's id by a
    /// tombstone). Refused when `new_id` is already taken or `pid` is unknown.
    pub fn rename(&mut self, pid: Pid, new_id: &str) -> Result<()> {
        if self.pids.contains_key(new_id) {
            return Err(Error::internal(format!("id map: `{new_id}` is already taken")));
        }
        let old = self
            .ids
            .get_mut(pid as usize)
            .ok_or_else(|| Error::internal(format!("id map: no pid {pid}")))?;
        self.pids.remove(old.as_str());
        *old = new_id.to_string();
        self.pids.insert(new_id.to_string(), pid);
        Ok(())
    }

    /// Number of pids assigned.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no pid was assigned.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Loads the store's id map (empty when none was written yet).
    pub fn load(store: &Store) -> Result<IdMap> {
        let path = store.path(IDMAP);
        if !path.exists() {
            return Ok(IdMap::default());
        }
        let bytes = std::fs::read(&path).at(&path)?;
        Self::decode(&bytes).ok_or_else(|| {
            Error::user(format!(
                "{} is corrupt; restore the store from a backup (pids cannot be rebuilt)",
                path.display()
            ))
        })
    }

    fn decode(bytes: &[u8]) -> Option<IdMap> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let n = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
        let mut pos = 8;
        let mut ids = Vec::with_capacity(n);
        let mut pids = HashMap::with_capacity(n);
        for pid in 0..n {
            let len = u32::from_le_bytes(rest.get(pos..pos + 4)?.try_into().ok()?) as usize;
            pos += 4;
            let id = std::str::from_utf8(rest.get(pos..pos + len)?).ok()?.to_string();
            pos += len;
            pids.insert(id.clone(), pid as Pid);
            ids.push(id);
        }
        (pos == rest.len()).then_some(IdMap { ids, pids })
    }

    /// Writes the id map atomically to `path` (inside the store or a staging directory).
    pub fn save_to(&self, path: &std::path::Path) -> Result<()> {
        crate::store::write_atomic(path, |w| {
            w.write_all(MAGIC).at(path)?;
            w.write_all(&(self.ids.len() as u64).to_le_bytes()).at(path)?;
            for id in &self.ids {
                w.write_all(&(id.len() as u32).to_le_bytes()).at(path)?;
                w.write_all(id.as_bytes()).at(path)?;
            }
            Ok(())
        })
    }

    /// Writes the id map into the store.
    pub fn save(&self, store: &Store) -> Result<()> {
        self.save_to(&store.path(IDMAP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_dense_stable_and_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let mut m = IdMap::default();
        assert_eq!(m.get_or_insert("c-1").unwrap(), 0);
        assert_eq!(m.get_or_insert("c-2").unwrap(), 1);
        assert_eq!(m.get_or_insert("c-1").unwrap(), 0);
        m.save(&store).unwrap();
        let mut back = IdMap::load(&store).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.get_or_insert("c-3").unwrap(), 2);
        assert_eq!(back.id(1), Some("c-2"));
    }

    #[test]
    fn corrupt_file_is_refused() {
        assert!(IdMap::decode(b"AUDIDMAP1\n\x05\0\0\0\0\0\0\0").is_none());
        assert!(IdMap::decode(b"garbage").is_none());
    }
}
