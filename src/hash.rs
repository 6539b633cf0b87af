//! Fast, deterministic, non-cryptographic hashing.
//!
//! Owns two small hash functions that need no dependency:
//! - [`FxHasher`] (the rustc hasher: multiply and rotate per word) for the hash maps of hot paths
//!   (key → code, key → pid), where SipHash's DoS resistance buys nothing and costs time;
//! - [`fnv1a`] (FNV-1a, 64 bit) for feature hashing, whose output must never change between
//!   builds or platforms because fitted feature views rely on it.
//!
//! It does not own cryptographic hashing of PII (SHA-256, see `sha2`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The rustc "Fx" hasher: fast for short keys, deterministic (no random seed).
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A `HashSet` with [`FxHasher`].
pub type FxHashSet<T> = std::collections::HashSet<T, BuildHasherDefault<FxHasher>>;

/// FNV-1a, 64 bit: a stable hash of `bytes` (the same value on every build and platform).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fx_map_works_as_a_map() {
        let mut m: FxHashMap<&str, u32> = FxHashMap::default();
        m.insert("cookie-1", 1);
        m.insert("cookie-2", 2);
        assert_eq!(m.get("cookie-1"), Some(&1));
        assert_eq!(m.get("cookie-3"), None);
    }
}
