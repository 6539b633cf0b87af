//! The bitmap index: how traits answer questions without a scan.
//!
//! Owns, per trait:
//! - a categorical (text or boolean) trait: one [`RoaringBitmap`] per value;
//! - a numeric trait: a **bit-sliced index** ([`Bsi`], as in Pilosa/FeatureBase) that answers
//!   `=, !=, <, <=, >, >=` and `between` with one pass over its bit slices;
//! - every trait: an explicit `missing` bitmap;
//! - the store-wide `universe`: every pid that has a row in the profile table.
//!
//! On disk (`profiles/index.json` + `profiles/index/NNNN.trait`) every trait is one file, so a
//! query loads only the traits it names. The format is portable roaring plus little-endian
//! integers, written in a fixed order, so the same rows give byte-identical files.
//!
//! It does not own the traits table (Parquet, see [`crate::import`]) or the expression language.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::store::{write_atomic, Store};
use crate::table::ColumnData;

/// A profile id: dense, assigned by the store, stable across runs.
pub type Pid = u32;

/// A comparison operator on a numeric trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Whether `a op b` holds (the brute-force reference).
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// Maps an integer to an order-preserving unsigned key.
pub fn int_key(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

/// Maps a float to an order-preserving unsigned key (-0.0 and 0.0 share a key).
pub fn float_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Whether a bitmap is dense enough for the order comparison pass that holds at least half the
/// candidates to keep bitmap containers (roaring turns a container into a sorted array under
/// 4,096 of 65,536 values, a sixteenth): a density over its span above an eighth.
fn is_dense(b: &RoaringBitmap) -> bool {
    match (b.min(), b.max()) {
        (Some(lo), Some(hi)) => b.len() * 8 > u64::from(hi - lo) + 1,
        _ => false,
    }
}

/// A bit-sliced index over unsigned keys: `slices[i]` holds the pids whose `key - base` has bit
/// `i` set; `exists` holds every pid with a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bsi {
    /// The smallest key; stored keys are offsets from it, so few slices are needed.
    pub base: u64,
    /// Bit slices, least significant first.
    pub slices: Vec<RoaringBitmap>,
    /// Pids that have a value.
    pub exists: RoaringBitmap,
}

impl Bsi {
    /// Builds from (pid, key) pairs; pids must be distinct.
    pub fn build(pairs: &mut [(Pid, u64)]) -> Bsi {
        pairs.sort_unstable_by_key(|p| p.0);
        let Some(base) = pairs.iter().map(|p| p.1).min() else {
            return Bsi::default();
        };
        let max = pairs.iter().map(|p| p.1 - base).max().unwrap_or(0);
        let depth = 64 - max.leading_zeros() as usize;
        let exists = RoaringBitmap::from_sorted_iter(pairs.iter().map(|p| p.0)).expect("sorted");
        // One pass over the pairs, visiting only the set bits of each offset.
        let mut bits: Vec<Vec<Pid>> = vec![Vec::new(); depth];
        for &(pid, key) in pairs.iter() {
            let mut off = key - base;
            while off != 0 {
                bits[off.trailing_zeros() as usize].push(pid);
                off &= off - 1;
            }
        }
        let slices = bits
            .into_par_iter()
            .map(|pids| RoaringBitmap::from_sorted_iter(pids).expect("sorted"))
            .collect();
        Bsi { base, slices, exists }
    }

    /// The pids whose key compares to `key` by `op` (O'Neil's algorithm: one pass over the
    /// slices from the most significant bit, keeping "equal so far" and "less than" sets).
    pub fn compare(&self, op: CmpOp, key: u64) -> RoaringBitmap {
        self.compare_from(op, key, self.exists.clone())
    }

    /// Like [`Bsi::compare`], but only among the pids of `within`: the slice pass starts from
    /// `exists & within`, so a small `within` makes it cheap (AND narrowing in expressions).
    pub fn compare_within(&self, op: CmpOp, key: u64, within: &RoaringBitmap) -> RoaringBitmap {
        self.compare_from(op, key, &self.exists & within)
    }

    /// The comparison among `candidates`, a subset of `exists`.
    ///
    /// Order comparisons use the one-pass recurrences from the least significant slice, which
    /// keep the running answer as large as the result (dense stays dense): with `c` the offset of
    /// `key`, `v <= c` over bits `0..=i` is `R | !S_i` where `c_i = 1` and `R & !S_i` where
    /// `c_i = 0`; `v >= c` is `R & S_i` where `c_i = 1` and `R | S_i` where `c_i = 0`. Equality
    /// narrows an "equal so far" set from the most significant slice, which can stop early.
    fn compare_from(&self, op: CmpOp, key: u64, candidates: RoaringBitmap) -> RoaringBitmap {
        let dense = is_dense(&candidates);
        self.compare_by(op, key, candidates, dense)
    }

    /// [`Bsi::compare_from`] by the pass for dense candidates or the one for sparse ones (both
    /// give the same answer; they differ in speed).
    fn compare_by(
        &self,
        op: CmpOp,
        key: u64,
        candidates: RoaringBitmap,
        dense: bool,
    ) -> RoaringBitmap {
        let depth = self.slices.len();
        if key < self.base {
            return match op {
                CmpOp::Gt | CmpOp::Ge | CmpOp::Ne => candidates,
                _ => RoaringBitmap::new(),
            };
        }
        let c = key - self.base;
        if depth < 64 && c >> depth != 0 {
            return match op {
                CmpOp::Lt | CmpOp::Le | CmpOp::Ne => candidates,
                _ => RoaringBitmap::new(),
            };
        }
        if !dense {
            let (lt, eq) = self.narrow(c, candidates.clone());
            return match op {
                CmpOp::Eq => eq,
                CmpOp::Ne => candidates - eq,
                CmpOp::Lt => lt,
                CmpOp::Le => lt | eq,
                CmpOp::Gt => candidates - (lt | eq),
                CmpOp::Ge => candidates - lt,
            };
        }
        match op {
            CmpOp::Eq => self.narrow(c, candidates).1,
            CmpOp::Ne => {
                let eq = self.narrow(c, candidates.clone()).1;
                candidates - eq
            }
            CmpOp::Le => self.at_most(c, candidates, true),
            CmpOp::Lt if c == 0 => RoaringBitmap::new(),
            CmpOp::Lt => self.at_most(c - 1, candidates, true),
            CmpOp::Gt => self.at_most(c, candidates, false),
            CmpOp::Ge if c == 0 => candidates,
            CmpOp::Ge => self.at_most(c - 1, candidates, false),
        }
    }

    /// O'Neil's pass from the most significant slice: the candidates whose offset is below `c`
    /// and those equal to it. The "equal so far" set shrinks at every slice and the pass stops
    /// when it is empty, which suits sparse candidates.
    fn narrow(&self, c: u64, mut eq: RoaringBitmap) -> (RoaringBitmap, RoaringBitmap) {
        let mut lt = RoaringBitmap::new();
        for (bit, slice) in self.slices.iter().enumerate().rev() {
            if eq.is_empty() {
                break;
            }
            if c >> bit & 1 == 1 {
                lt |= &eq - slice;
                eq &= slice;
            } else {
                eq -= slice;
            }
        }
        (lt, eq)
    }

    /// The candidates whose offset is at most `c` (`le`) or above it (`!le`), by the one-pass
    /// recurrence from the least significant slice: over bits `0..=i`, "at most" is
    /// `R & !S_i` where `c_i = 0` and `R | !S_i` where `c_i = 1`, and its complement "above" is
    /// `Q | S_i` and `Q & S_i`. The pass holds whichever of the two is larger, so the running set
    /// never shrinks below half the candidates (dense containers stay dense). Trailing one bits
    /// of `c` keep every candidate, so the pass starts above them.
    fn at_most(&self, c: u64, candidates: RoaringBitmap, le: bool) -> RoaringBitmap {
        let mut x = candidates.clone();
        let mut x_is_le = true;
        for (bit, slice) in self.slices.iter().enumerate().skip(c.trailing_ones() as usize) {
            match (x_is_le, c >> bit & 1 == 1) {
                (true, false) => x -= slice,
                (true, true) => x |= &candidates - slice,
                (false, false) => x |= slice & &candidates,
                (false, true) => x &= slice,
            }
            if x.len() * 2 < candidates.len() {
                x = &candidates - &x;
                x_is_le = !x_is_le;
            }
        }
        if x_is_le == le {
            x
        } else {
            candidates - x
        }
    }

    /// The smallest stored key (`max = false`) or the largest (`max = true`): one pass from
    /// the most significant slice, keeping the pids that can still hold the extreme.
    pub fn extreme(&self, max: bool) -> Option<u64> {
        if self.exists.is_empty() {
            return None;
        }
        let mut holders = self.exists.clone();
        let mut off = 0u64;
        for (bit, slice) in self.slices.iter().enumerate().rev() {
            let with = &holders & slice;
            // The extreme has this bit set when, for the max, some holder has it, and for the
            // min, every holder has it.
            let set = if max { !with.is_empty() } else { with.len() == holders.len() };
            if set {
                off |= 1 << bit;
                holders = with;
            } else {
                holders -= slice;
            }
        }
        Some(self.base + off)
    }

    /// The key stored for `pid`, if any (reads one bit per slice).
    pub fn get(&self, pid: Pid) -> Option<u64> {
        if !self.exists.contains(pid) {
            return None;
        }
        let off = self
            .slices
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, s)| acc | (u64::from(s.contains(pid)) << i));
        Some(self.base + off)
    }

    /// Removes `pid` everywhere.
    pub fn remove(&mut self, pid: Pid) {
        self.exists.remove(pid);
        for s in &mut self.slices {
            s.remove(pid);
        }
    }
}

/// What kind of values a trait holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraitKind {
    /// Text or boolean values, one bitmap each.
    Categorical,
    /// Integers, in a bit-sliced index.
    Int,
    /// Floats, in a bit-sliced index over order-preserving keys.
    Float,
}

/// The index of one trait.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitIndex {
    /// The trait's name.
    pub name: String,
    /// Its kind.
    pub kind: TraitKind,
    /// Categorical values and their pids (empty for numeric traits).
    pub values: BTreeMap<String, RoaringBitmap>,
    /// The bit-sliced index (numeric traits only).
    pub bsi: Bsi,
    /// Pids in the universe with no value.
    pub missing: RoaringBitmap,
}

/// Where a trait came from, for party and provider filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraitOrigin {
    /// "first", "second" or "third".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The provider's name, for bought (3rd-party) and partner data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Which command wrote the trait (`import`, `resolve`, `derive`); a command's next run
    /// replaces all the traits it wrote before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
}

/// A trait's entry in `profiles/index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitMeta {
    /// The trait's name.
    pub name: String,
    /// Its kind.
    pub kind: TraitKind,
    /// The file under `profiles/index/`.
    pub file: String,
    /// Profiles with a value.
    pub present: u64,
    /// Profiles without.
    pub missing: u64,
    /// Distinct values (categorical) or `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardinality: Option<u64>,
    /// Smallest value (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Party and provider.
    #[serde(default, flatten)]
    pub origin: TraitOrigin,
}

/// `profiles/index.json`: the list of indexed traits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexManifest {
    /// Profiles in the universe.
    pub universe: u64,
    /// Traits, sorted by name.
    pub traits: Vec<TraitMeta>,
}

impl IndexManifest {
    /// The trait called `name`.
    pub fn get(&self, name: &str) -> Option<&TraitMeta> {
        self.traits.iter().find(|t| t.name == name)
    }

    /// All trait names, for validation and suggestions.
    pub fn names(&self) -> Vec<&str> {
        self.traits.iter().map(|t| t.name.as_str()).collect()
    }
}

impl TraitIndex {
    /// Builds the index of one column whose row `i` belongs to `pids[i]`. `universe` is every
    /// pid of the table (rows may not cover all pids of the store).
    pub fn build(name: &str, data: &ColumnData, pids: &[Pid], universe: &RoaringBitmap) -> Self {
        let mut present = Vec::with_capacity(pids.len());
        let (kind, values, bsi) = match data {
            ColumnData::Int(v) => {
                let mut pairs: Vec<(Pid, u64)> =
                    v.iter().zip(pids).filter_map(|(x, &p)| x.map(|x| (p, int_key(x)))).collect();
                present.extend(pairs.iter().map(|p| p.0));
                (TraitKind::Int, BTreeMap::new(), Bsi::build(&mut pairs))
            }
            ColumnData::Float(v) => {
                let mut pairs: Vec<(Pid, u64)> =
                    v.iter().zip(pids).filter_map(|(x, &p)| x.map(|x| (p, float_key(x)))).collect();
                present.extend(pairs.iter().map(|p| p.0));
                (TraitKind::Float, BTreeMap::new(), Bsi::build(&mut pairs))
            }
            ColumnData::Bool(v) => {
                let (mut yes, mut no) = (Vec::new(), Vec::new());
                for (x, &p) in v.iter().zip(pids) {
                    match x {
                        Some(true) => yes.push(p),
                        Some(false) => no.push(p),
                        None => {}
                    }
                }
                let map = [("true", yes), ("false", no)]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                (TraitKind::Categorical, bitmaps(map), Bsi::default())
            }
            ColumnData::Str(v) => {
                let mut map: HashMap<&str, Vec<Pid>> = HashMap::new();
                for (x, &p) in v.iter().zip(pids) {
                    if let Some(s) = x {
                        map.entry(s.as_str()).or_default().push(p);
                    }
                }
                let map = map.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                (TraitKind::Categorical, bitmaps(map), Bsi::default())
            }
        };
        let has_value = match kind {
            TraitKind::Categorical => values.values().fold(RoaringBitmap::new(), |a, b| a | b),
            _ => bsi.exists.clone(),
        };
        let missing = universe - &has_value;
        TraitIndex { name: name.to_string(), kind, values, bsi, missing }
    }

    /// Pids with any value.
    pub fn present(&self) -> RoaringBitmap {
        match self.kind {
            TraitKind::Categorical => self.values.values().fold(RoaringBitmap::new(), |a, b| a | b),
            _ => self.bsi.exists.clone(),
        }
    }

    /// Pids whose value equals the text `value` (categorical), or the number it parses to.
    pub fn equals(&self, value: &str) -> RoaringBitmap {
        match self.kind {
            TraitKind::Categorical => self.values.get(value).cloned().unwrap_or_default(),
            _ => match value.trim().parse::<f64>() {
                Ok(x) => self.compare(CmpOp::Eq, x),
                Err(_) => RoaringBitmap::new(),
            },
        }
    }

    /// Pids whose numeric value compares to `x` by `op`. Categorical traits give nothing.
    /// On an integer trait a fractional `x` is handled exactly (`n > 2.5` is `n >= 3`).
    pub fn compare(&self, op: CmpOp, x: f64) -> RoaringBitmap {
        self.compare_in(op, x, None)
    }

    /// Like [`TraitIndex::compare`], but only among the pids of `within` (cheaper when `within`
    /// is small).
    pub fn compare_within(&self, op: CmpOp, x: f64, within: &RoaringBitmap) -> RoaringBitmap {
        self.compare_in(op, x, Some(within))
    }

    fn compare_in(&self, op: CmpOp, x: f64, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        let bsi = |op, key| match within {
            Some(w) => self.bsi.compare_within(op, key, w),
            None => self.bsi.compare(op, key),
        };
        let all = || match within {
            Some(w) => &self.bsi.exists & w,
            None => self.bsi.exists.clone(),
        };
        match self.kind {
            TraitKind::Categorical => RoaringBitmap::new(),
            TraitKind::Float => bsi(op, float_key(x)),
            TraitKind::Int => {
                if x.is_nan() {
                    return RoaringBitmap::new();
                }
                let (op, v) = if x.fract() == 0.0 {
                    (op, x)
                } else {
                    match op {
                        CmpOp::Eq => return RoaringBitmap::new(),
                        CmpOp::Ne => return all(),
                        CmpOp::Lt | CmpOp::Le => (CmpOp::Le, x.floor()),
                        CmpOp::Gt | CmpOp::Ge => (CmpOp::Ge, x.ceil()),
                    }
                };
                if v >= i64::MAX as f64 {
                    return match op {
                        CmpOp::Lt | CmpOp::Le | CmpOp::Ne => all(),
                        _ => RoaringBitmap::new(),
                    };
                }
                if v < i64::MIN as f64 {
                    return match op {
                        CmpOp::Gt | CmpOp::Ge | CmpOp::Ne => all(),
                        _ => RoaringBitmap::new(),
                    };
                }
                bsi(op, int_key(v as i64))
            }
        }
    }

    /// Pids with `lo <= value <= hi`.
    pub fn between(&self, lo: f64, hi: f64) -> RoaringBitmap {
        self.compare(CmpOp::Ge, lo) & self.compare(CmpOp::Le, hi)
    }

    /// Pids of `within` with `lo <= value <= hi`: the upper bound is only tested on the pids
    /// that passed the lower one.
    pub fn between_within(&self, lo: f64, hi: f64, within: &RoaringBitmap) -> RoaringBitmap {
        let ge = self.compare_within(CmpOp::Ge, lo, within);
        self.compare_within(CmpOp::Le, hi, &ge)
    }

    /// Removes `pid` from every bitmap (used by `forget`); it is then neither present nor missing.
    pub fn remove(&mut self, pid: Pid) {
        for b in self.values.values_mut() {
            b.remove(pid);
        }
        self.bsi.remove(pid);
        self.missing.remove(pid);
    }

    /// The entry for `profiles/index.json`.
    pub fn meta(&self, file: String, origin: TraitOrigin) -> TraitMeta {
        let present = self.present().len();
        let (min, max) = match self.kind {
            TraitKind::Categorical => (None, None),
            _ => {
                let decode = |k: u64| match self.kind {
                    TraitKind::Int => ((k ^ (1 << 63)) as i64) as f64,
                    _ => f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k }),
                };
                (self.bsi.extreme(false).map(decode), self.bsi.extreme(true).map(decode))
            }
        };
        TraitMeta {
            name: self.name.clone(),
            kind: self.kind,
            file,
            present,
            missing: self.missing.len(),
            cardinality: (self.kind == TraitKind::Categorical).then_some(self.values.len() as u64),
            min,
            max,
            origin,
        }
    }

    /// Serialises to the portable on-disk format.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&[match self.kind {
            TraitKind::Categorical => 0,
            TraitKind::Int => 1,
            TraitKind::Float => 2,
        }])?;
        write_str(w, &self.name)?;
        write_bitmap(w, &self.missing)?;
        w.write_all(&(self.values.len() as u32).to_le_bytes())?;
        for (value, bm) in &self.values {
            write_str(w, value)?;
            write_bitmap(w, bm)?;
        }
        w.write_all(&self.bsi.base.to_le_bytes())?;
        w.write_all(&[self.bsi.slices.len() as u8])?;
        write_bitmap(w, &self.bsi.exists)?;
        for s in &self.bsi.slices {
            write_bitmap(w, s)?;
        }
        Ok(())
    }

    /// Reads what [`TraitIndex::write_to`] wrote; `what` names the file in errors.
    pub fn read_from(bytes: &[u8], what: &str) -> Result<TraitIndex> {
        let corrupt = |why: &str| {
            Error::user(format!(
                "{what} is corrupt ({why}); rebuild the index by importing the profile table again"
            ))
        };
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len()).ok_or_else(|| corrupt("truncated"))? != MAGIC {
            return Err(corrupt("not a trait index file"));
        }
        let kind = match r.take(1).ok_or_else(|| corrupt("truncated"))?[0] {
            0 => TraitKind::Categorical,
            1 => TraitKind::Int,
            2 => TraitKind::Float,
            _ => return Err(corrupt("unknown trait kind")),
        };
        let name = r.string().ok_or_else(|| corrupt("bad name"))?;
        let missing = r.bitmap().ok_or_else(|| corrupt("bad missing bitmap"))?;
        let n = r.u32().ok_or_else(|| corrupt("truncated"))?;
        let mut values = BTreeMap::new();
        for _ in 0..n {
            let v = r.string().ok_or_else(|| corrupt("bad value"))?;
            let bm = r.bitmap().ok_or_else(|| corrupt("bad value bitmap"))?;
            values.insert(v, bm);
        }
        let base = u64::from_le_bytes(
            r.take(8).ok_or_else(|| corrupt("truncated"))?.try_into().expect("8 bytes"),
        );
        let depth = r.take(1).ok_or_else(|| corrupt("truncated"))?[0];
        let exists = r.bitmap().ok_or_else(|| corrupt("bad exists bitmap"))?;
        let slices = (0..depth)
            .map(|_| r.bitmap().ok_or_else(|| corrupt("bad slice")))
            .collect::<Result<_>>()?;
        if r.pos != bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(TraitIndex { name, kind, values, bsi: Bsi { base, slices, exists }, missing })
    }
}

const MAGIC: &[u8] = b"AUDTRAIT1\n";

fn bitmaps(map: BTreeMap<String, Vec<Pid>>) -> BTreeMap<String, RoaringBitmap> {
    map.into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            (k, RoaringBitmap::from_sorted_iter(v).expect("sorted"))
        })
        .collect()
}

fn write_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn write_bitmap(w: &mut impl Write, b: &RoaringBitmap) -> std::io::Result<()> {
    w.write_all(&(b.serialized_size() as u64).to_le_bytes())?;
    b.serialize_into(w)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn bitmap(&mut self) -> Option<RoaringBitmap> {
        let n = u64::from_le_bytes(self.take(8)?.try_into().ok()?) as usize;
        RoaringBitmap::deserialize_from(self.take(n)?).ok()
    }
}

/// The loaded index: the manifest, the universe and the traits asked for.
#[derive(Debug, Clone, Default)]
pub struct BitmapIndex {
    /// `profiles/index.json`.
    pub manifest: IndexManifest,
    /// Every pid with a row in the profile table.
    pub universe: RoaringBitmap,
    /// Loaded traits by name.
    pub traits: HashMap<String, TraitIndex>,
}

/// Path of the manifest inside the store.
pub const MANIFEST: &str = "profiles/index.json";
/// Path of the universe bitmap inside the store.
pub const UNIVERSE: &str = "profiles/universe.roar";

impl BitmapIndex {
    /// Builds an in-memory index (no origins) from columns whose row `i` is `pids[i]`.
    pub fn build(columns: &[(String, &ColumnData)], pids: &[Pid]) -> BitmapIndex {
        let mut sorted = pids.to_vec();
        sorted.sort_unstable();
        let universe = RoaringBitmap::from_sorted_iter(sorted).expect("sorted");
        let built: Vec<TraitIndex> = columns
            .par_iter()
            .map(|(name, data)| TraitIndex::build(name, data, pids, &universe))
            .collect();
        let mut manifest = IndexManifest { universe: universe.len(), traits: Vec::new() };
        let mut traits = HashMap::new();
        for t in built {
            manifest.traits.push(t.meta(String::new(), TraitOrigin::default()));
            traits.insert(t.name.clone(), t);
        }
        manifest.traits.sort_by(|a, b| a.name.cmp(&b.name));
        BitmapIndex { manifest, universe, traits }
    }

    /// Writes the manifest, the universe and one file per trait under `profiles_dir` (the staging
    /// directory given by [`Store::replace_dir`]). Origins are looked up by trait name.
    pub fn save(
        &mut self,
        profiles_dir: &Path,
        origins: &HashMap<String, TraitOrigin>,
    ) -> Result<()> {
        let index_dir = profiles_dir.join("index");
        std::fs::create_dir_all(&index_dir).at(&index_dir)?;
        let mut names: Vec<&String> = self.traits.keys().collect();
        names.sort();
        let mut metas = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            let t = &self.traits[name];
            let file = format!("{i:04}.trait");
            let path = index_dir.join(&file);
            write_atomic(&path, |w| t.write_to(w).at(&path))?;
            metas.push(t.meta(file, origins.get(name).cloned().unwrap_or_default()));
        }
        self.manifest = IndexManifest { universe: self.universe.len(), traits: metas };
        let uni = profiles_dir.join("universe.roar");
        write_atomic(&uni, |w| self.universe.serialize_into(w).at(&uni))?;
        let json = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| Error::internal(format!("serialising index.json: {e}")))?;
        let man = profiles_dir.join("index.json");
        write_atomic(&man, |w| w.write_all(&json).at(&man))
    }

    /// Reads the manifest of the store (empty when nothing was imported yet).
    pub fn manifest(store: &Store) -> Result<IndexManifest> {
        let path = store.path(MANIFEST);
        if !path.exists() {
            return Ok(IndexManifest::default());
        }
        let bytes = std::fs::read(&path).at(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::user(format!(
                "{} is corrupt ({e}); import the profile table again to rebuild it",
                path.display()
            ))
        })
    }

    /// Opens the index and loads the traits named in `names` (all when `None`).
    pub fn open(store: &Store, names: Option<&[&str]>) -> Result<BitmapIndex> {
        let manifest = Self::manifest(store)?;
        let uni_path = store.path(UNIVERSE);
        let universe = if uni_path.exists() {
            let bytes = std::fs::read(&uni_path).at(&uni_path)?;
            RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| {
                Error::user(format!("{} is corrupt ({e}); import again", uni_path.display()))
            })?
        } else {
            RoaringBitmap::new()
        };
        let mut index = BitmapIndex { manifest, universe, traits: HashMap::new() };
        let wanted: Vec<String> = match names {
            Some(n) => n.iter().map(|s| s.to_string()).collect(),
            None => index.manifest.traits.iter().map(|t| t.name.clone()).collect(),
        };
        for name in wanted {
            index.load(store, &name)?;
        }
        Ok(index)
    }

    /// Loads one trait from the store if not loaded yet. Unknown names give an error with the
    /// nearest known name.
    pub fn load(&mut self, store: &Store, name: &str) -> Result<&TraitIndex> {
        if !self.traits.contains_key(name) {
            let meta =
                self.manifest.get(name).ok_or_else(|| unknown_trait(&self.manifest, name))?;
            let rel = format!("profiles/index/{}", meta.file);
            let bytes = store.read_file(&rel)?;
            let t = TraitIndex::read_from(&bytes, &store.path(&rel).display().to_string())?;
            self.traits.insert(name.to_string(), t);
        }
        Ok(&self.traits[name])
    }

    /// A loaded trait, or an error naming the nearest trait.
    pub fn get(&self, name: &str) -> Result<&TraitIndex> {
        self.traits.get(name).ok_or_else(|| unknown_trait(&self.manifest, name))
    }
}

/// "unknown trait `x` (did you mean `y`?)".
pub fn unknown_trait(manifest: &IndexManifest, name: &str) -> Error {
    let hint = crate::table::nearest(name, &manifest.names())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Error::user(format!(
        "unknown trait `{name}`{hint}; `audience info` lists the traits of this store"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(values: &[Option<i64>], op: CmpOp, c: i64) -> RoaringBitmap {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some_and(|v| op.holds(v, c)))
            .map(|(i, _)| i as u32)
            .collect()
    }

    const OPS: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];

    proptest! {
        #[test]
        fn bsi_int_matches_brute_force(
            values in proptest::collection::vec(proptest::option::of(-1000i64..1000), 0..300),
            c in -1100i64..1100,
        ) {
            let pids: Vec<Pid> = (0..values.len() as u32).collect();
            let t = TraitIndex::build("x", &ColumnData::Int(values.clone()), &pids, &pids.iter().copied().collect());
            for op in OPS {
                prop_assert_eq!(t.compare(op, c as f64), brute(&values, op, c), "op {:?} c {}", op, c);
            }
            let lo = c - 50;
            let between: RoaringBitmap = brute(&values, CmpOp::Ge, lo) & brute(&values, CmpOp::Le, c);
            prop_assert_eq!(t.between(lo as f64, c as f64), between);
        }

        #[test]
        fn extremes_are_the_min_and_max_keys(
            mut pairs in proptest::collection::vec((0u32..400, any::<u64>()), 0..100),
        ) {
            pairs.sort_unstable_by_key(|p| p.0);
            pairs.dedup_by_key(|p| p.0);
            let bsi = Bsi::build(&mut pairs);
            prop_assert_eq!(bsi.extreme(false), pairs.iter().map(|p| p.1).min());
            prop_assert_eq!(bsi.extreme(true), pairs.iter().map(|p| p.1).max());
        }

        #[test]
        fn dense_and_sparse_passes_agree(
            mut pairs in proptest::collection::vec((0u32..400, 0u64..5000), 0..300),
            c in 0u64..6000,
        ) {
            pairs.sort_unstable_by_key(|p| p.0);
            pairs.dedup_by_key(|p| p.0);
            let bsi = Bsi::build(&mut pairs);
            for op in OPS {
                let dense = bsi.compare_by(op, c, bsi.exists.clone(), true);
                prop_assert_eq!(&dense, &bsi.compare_by(op, c, bsi.exists.clone(), false), "op {:?} c {}", op, c);
                let brute: RoaringBitmap = pairs.iter().filter(|p| op.holds(p.1, c)).map(|p| p.0).collect();
                prop_assert_eq!(dense, brute, "op {:?} c {}", op, c);
            }
        }

        #[test]
        fn compare_within_is_compare_intersected(
            values in proptest::collection::vec(proptest::option::of(-100i64..100), 0..300),
            within in proptest::collection::vec(0u32..320, 0..100),
            c in -110f64..110.0,
        ) {
            let pids: Vec<Pid> = (0..values.len() as u32).collect();
            let t = TraitIndex::build("x", &ColumnData::Int(values.clone()), &pids, &pids.iter().copied().collect());
            let within: RoaringBitmap = within.into_iter().collect();
            for op in OPS {
                prop_assert_eq!(t.compare_within(op, c, &within), t.compare(op, c) & &within);
            }
            prop_assert_eq!(t.between_within(c - 20.0, c, &within), t.between(c - 20.0, c) & &within);
        }

        #[test]
        fn bsi_float_matches_brute_force(
            values in proptest::collection::vec(proptest::option::of(-1e6f64..1e6), 0..200),
            c in -1.1e6f64..1.1e6,
        ) {
            let pids: Vec<Pid> = (0..values.len() as u32).collect();
            let t = TraitIndex::build("x", &ColumnData::Float(values.clone()), &pids, &pids.iter().copied().collect());
            for op in OPS {
                let want: RoaringBitmap = values.iter().enumerate()
                    .filter(|(_, v)| v.is_some_and(|v| op.holds(v, c)))
                    .map(|(i, _)| i as u32).collect();
                prop_assert_eq!(t.compare(op, c), want);
            }
        }

        #[test]
        fn int_trait_with_fractional_bound_is_exact(
            values in proptest::collection::vec(proptest::option::of(-50i64..50), 0..100),
            c in -60f64..60.0,
        ) {
            let pids: Vec<Pid> = (0..values.len() as u32).collect();
            let t = TraitIndex::build("x", &ColumnData::Int(values.clone()), &pids, &pids.iter().copied().collect());
            for op in OPS {
                let want: RoaringBitmap = values.iter().enumerate()
                    .filter(|(_, v)| v.is_some_and(|v| op.holds(v as f64, c)))
                    .map(|(i, _)| i as u32).collect();
                prop_assert_eq!(t.compare(op, c), want);
            }
        }
    }

    #[test]
    fn extreme_integers_and_missing() {
        let values = vec![Some(i64::MIN), Some(0), None, Some(i64::MAX)];
        let pids = [10, 11, 12, 13];
        let t = TraitIndex::build(
            "x",
            &ColumnData::Int(values),
            &pids,
            &pids.iter().copied().collect(),
        );
        assert_eq!(t.compare(CmpOp::Gt, 0.0).iter().collect::<Vec<_>>(), [13]);
        assert_eq!(t.compare(CmpOp::Lt, 0.0).iter().collect::<Vec<_>>(), [10]);
        assert_eq!(t.missing.iter().collect::<Vec<_>>(), [12]);
        assert_eq!(t.bsi.get(13), Some(int_key(i64::MAX)));
    }

    #[test]
    fn categorical_and_serialisation_round_trip() {
        let data =
            ColumnData::Str(vec![Some("FR".into()), None, Some("DE".into()), Some("FR".into())]);
        let pids = [0, 1, 2, 3];
        let t = TraitIndex::build("country", &data, &pids, &pids.iter().copied().collect());
        assert_eq!(t.equals("FR").iter().collect::<Vec<_>>(), [0, 3]);
        assert_eq!(t.missing.iter().collect::<Vec<_>>(), [1]);
        let mut bytes = Vec::new();
        t.write_to(&mut bytes).unwrap();
        assert_eq!(TraitIndex::read_from(&bytes, "f").unwrap(), t);
        let err = TraitIndex::read_from(&bytes[..bytes.len() - 3], "f.trait").unwrap_err();
        assert!(err.to_string().contains("f.trait is corrupt"), "{err}");
    }
}
