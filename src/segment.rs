//! Stored segments: a named set of profiles with its definition and metadata.
//!
//! Owns `segments/NAME.roar` (the pids, portable roaring format) and `segments/NAME.json`
//! ([`SegmentMeta`]: definition, description, size, size by party, created/updated time,
//! lineage, data version, checksum of the `.roar` file), the rules for names, evaluating a
//! definition against the store ([`evaluate`]), creating, refreshing (in dependency order) and
//! deleting segments, and overlap figures ([`overlap`]).
//!
//! Writes go through [`Store::write_file`]: the bitmap first, then the metadata. If the metadata
//! cannot be written, the previous bitmap is put back, so a failed write leaves the previous
//! segment readable. A crash between the two writes is detected on reading (the checksum in the
//! metadata no longer matches the bitmap) and reported with the fix (`audience segment refresh`).
//!
//! It does not own the expression language ([`crate::expr`]) nor the index ([`crate::index`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::time::Instant;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::expr::{self, Expr};
use crate::import::PARTY_TRAIT;
use crate::index::BitmapIndex;
use crate::store::{now_iso, Store};

/// The directory of segments inside the store.
pub const DIR: &str = "segments";

/// What a segment was built from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// Segments its definition references.
    pub segments: Vec<String>,
    /// Traits its definition reads.
    pub traits: Vec<String>,
}

/// `segments/NAME.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// The segment's name.
    pub name: String,
    /// The expression it was evaluated from.
    pub definition: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Profiles in the segment.
    pub size: u64,
    /// Profiles by party (`first`, `second`, `third`, `unknown`), when the store has parties.
    pub size_by_party: BTreeMap<String, u64>,
    /// When it was first created (UTC).
    pub created: String,
    /// When it was last evaluated (UTC).
    pub updated: String,
    /// The segments and traits its definition reads.
    pub lineage: Lineage,
    /// `store.json`'s `updated` when it was evaluated: the data it reflects.
    pub data_version: String,
    /// SHA-256 of `NAME.roar`, which detects a bitmap and metadata out of step.
    pub checksum: String,
}

/// A segment: its metadata and its pids.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The metadata.
    pub meta: SegmentMeta,
    /// The pids.
    pub pids: RoaringBitmap,
}

/// Checks a segment name: 1 to 128 of letters, digits, `_`, `-`, `.`, not starting with `.`.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > 128 || name.starts_with('.') || !name.chars().all(ok_char) {
        return Err(Error::user(format!(
            "`{name}` is not a valid segment name: use 1 to 128 letters, digits, `_`, `-` or `.`, \
             not starting with `.` (for example `fr_buyers-2026`)"
        )));
    }
    Ok(())
}

fn roar_path(name: &str) -> String {
    format!("{DIR}/{name}.roar")
}

fn json_path(name: &str) -> String {
    format!("{DIR}/{name}.json")
}

/// Names of the stored segments, sorted.
pub fn names(store: &Store) -> Result<Vec<String>> {
    let dir = store.path(DIR);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .at(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(String::from)
        })
        .filter(|n| validate_name(n).is_ok())
        .collect();
    out.sort();
    Ok(out)
}

/// True when the segment exists.
pub fn exists(store: &Store, name: &str) -> bool {
    store.path(json_path(name)).exists()
}

fn unknown_segment(store: &Store, name: &str) -> Error {
    let all = names(store).unwrap_or_default();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let hint = crate::table::nearest(name, &refs)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Error::user(format!(
        "no segment `{name}`{hint}; `audience segment list` lists the stored segments"
    ))
}

/// Reads a segment's metadata.
pub fn load_meta(store: &Store, name: &str) -> Result<SegmentMeta> {
    validate_name(name)?;
    if !exists(store, name) {
        return Err(unknown_segment(store, name));
    }
    let bytes = store.read_file(json_path(name))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::user(format!(
            "{} is corrupt ({e}); delete the segment with `audience segment delete {name}` and \
             create it again",
            store.path(json_path(name)).display()
        ))
    })
}

/// Reads a segment: metadata and pids, checking that they belong together.
pub fn load(store: &Store, name: &str) -> Result<Segment> {
    let meta = load_meta(store, name)?;
    let bytes = store.read_file(roar_path(name))?;
    if hex::encode(Sha256::digest(&bytes)) != meta.checksum {
        return Err(Error::user(format!(
            "segment `{name}`: {} does not match its metadata (a write was interrupted); run \
             `audience segment refresh {name}` to rebuild it",
            store.path(roar_path(name)).display()
        )));
    }
    let pids = RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| {
        Error::user(format!(
            "{} is corrupt ({e}); run `audience segment refresh {name}`",
            store.path(roar_path(name)).display()
        ))
    })?;
    Ok(Segment { meta, pids })
}

/// Writes a segment: the bitmap, then the metadata (with the bitmap's checksum). If the metadata
/// write fails, the previous bitmap is restored (or the new one removed when there was none).
pub fn save(store: &Store, meta: &SegmentMeta, pids: &RoaringBitmap) -> Result<SegmentMeta> {
    save_with(store, meta, pids, |w, json| w.write_all(json).at(json_path(&meta.name)))
}

/// [`save`] with the metadata writer given, so tests can make it fail.
fn save_with(
    store: &Store,
    meta: &SegmentMeta,
    pids: &RoaringBitmap,
    write_json: impl FnOnce(&mut std::io::BufWriter<std::fs::File>, &[u8]) -> Result<()>,
) -> Result<SegmentMeta> {
    validate_name(&meta.name)?;
    let mut bytes = Vec::with_capacity(pids.serialized_size());
    pids.serialize_into(&mut bytes).map_err(|e| Error::internal(format!("serialising: {e}")))?;
    let mut meta = meta.clone();
    meta.checksum = hex::encode(Sha256::digest(&bytes));
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| Error::internal(format!("serialising segment metadata: {e}")))?;
    let roar = roar_path(&meta.name);
    let previous = std::fs::read(store.path(&roar)).ok();
    store.write_file(&roar, |w| w.write_all(&bytes).at(&roar))?;
    if let Err(e) = store.write_file(json_path(&meta.name), |w| write_json(w, &json)) {
        let _ = match previous {
            Some(old) => store.write_file(&roar, |w| w.write_all(&old).at(&roar)),
            None => std::fs::remove_file(store.path(&roar)).at(&roar),
        };
        return Err(e);
    }
    Ok(meta)
}

/// The result of evaluating an expression against the store.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The parsed expression.
    pub expr: Expr,
    /// The pids it holds for.
    pub pids: RoaringBitmap,
    /// Milliseconds spent evaluating (not parsing, checking or loading).
    pub eval_ms: f64,
    /// What it read.
    pub lineage: Lineage,
}

/// An expression checked against the store, with everything it reads loaded.
pub struct Prepared {
    /// The parsed expression.
    pub expr: Expr,
    /// The index, with the traits the expression reads loaded.
    pub index: BitmapIndex,
    /// The segments the expression reads.
    pub segments: HashMap<String, RoaringBitmap>,
    /// What it reads.
    pub lineage: Lineage,
}

impl Prepared {
    /// The evaluator over what was loaded.
    pub fn evaluator(&self) -> expr::Evaluator<'_> {
        expr::Evaluator::new(&self.index, &self.segments)
    }
}

/// Parses `input`, checks every name and type against the store, then loads the traits and
/// segments it reads. `overrides` gives segment bitmaps to use instead of the stored ones (a
/// refresh in progress).
pub fn prepare(
    store: &Store,
    input: &str,
    overrides: &HashMap<String, RoaringBitmap>,
) -> Result<Prepared> {
    let e = expr::parse(input)?;
    let manifest = BitmapIndex::manifest(store)?;
    if manifest.traits.is_empty() && manifest.universe == 0 {
        return Err(Error::user(
            "the store has no profiles yet; import a profile table first with \
             `audience import TABLE --id COLUMN`",
        ));
    }
    let stored = names(store)?;
    let seg_names: Vec<&str> = stored.iter().map(String::as_str).collect();
    expr::check(&e, input, &manifest, &seg_names)?;
    let needs = expr::needs(&e);
    let traits: Vec<&str> = needs.traits.iter().map(String::as_str).collect();
    let index = BitmapIndex::open(store, Some(&traits))?;
    expr::check_loaded(&e, input, &index)?;
    let mut segments = HashMap::new();
    for s in &needs.segments {
        let pids = match overrides.get(s) {
            Some(p) => p.clone(),
            None => load(store, s)?.pids,
        };
        segments.insert(s.clone(), pids);
    }
    let lineage = Lineage {
        segments: needs.segments.into_iter().collect(),
        traits: needs.traits.into_iter().collect(),
    };
    Ok(Prepared { expr: e, index, segments, lineage })
}

/// Parses, checks and evaluates `input` against the store; see [`prepare`].
pub fn evaluate(
    store: &Store,
    input: &str,
    overrides: &HashMap<String, RoaringBitmap>,
) -> Result<Evaluation> {
    let p = prepare(store, input, overrides)?;
    let t0 = Instant::now();
    let pids = p.evaluator().eval(&p.expr);
    let eval_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(Evaluation { expr: p.expr, pids, eval_ms, lineage: p.lineage })
}

/// Counts the profiles `input` holds for, with the milliseconds spent evaluating (not parsing,
/// checking or loading).
pub fn count(store: &Store, input: &str) -> Result<(u64, f64)> {
    let p = prepare(store, input, &HashMap::new())?;
    let t0 = Instant::now();
    let n = p.evaluator().count(&p.expr);
    Ok((n, t0.elapsed().as_secs_f64() * 1e3))
}

/// Profiles of `pids` by party (`unknown` for those without one); empty when the store has no
/// `party` trait.
pub fn size_by_party(store: &Store, pids: &RoaringBitmap) -> Result<BTreeMap<String, u64>> {
    let manifest = BitmapIndex::manifest(store)?;
    let mut out = BTreeMap::new();
    if manifest.get(PARTY_TRAIT).is_none() {
        return Ok(out);
    }
    let index = BitmapIndex::open(store, Some(&[PARTY_TRAIT]))?;
    let party = index.get(PARTY_TRAIT)?;
    let mut known = 0;
    for (value, bm) in &party.values {
        let n = pids.intersection_len(bm);
        known += n;
        out.insert(value.clone(), n);
    }
    out.insert("unknown".into(), pids.len() - known);
    Ok(out)
}

/// Evaluates `definition` and stores it as a new segment `name`. Refuses an existing name and
/// a definition that would reference the segment itself.
pub fn create(
    store: &mut Store,
    name: &str,
    definition: &str,
    description: Option<String>,
) -> Result<SegmentMeta> {
    validate_name(name)?;
    if exists(store, name) {
        return Err(Error::user(format!(
            "segment `{name}` already exists; re-evaluate it with `audience segment refresh \
             {name}`, or delete it first with `audience segment delete {name}`"
        )));
    }
    let data_version = store.meta().updated.clone();
    let ev = evaluate(store, definition, &HashMap::new())?;
    if ev.lineage.segments.iter().any(|s| s == name) {
        return Err(Error::user(format!("segment `{name}` cannot be defined from itself")));
    }
    let now = now_iso();
    let meta = SegmentMeta {
        name: name.to_string(),
        definition: definition.to_string(),
        description,
        size: ev.pids.len(),
        size_by_party: size_by_party(store, &ev.pids)?,
        created: now.clone(),
        updated: now,
        lineage: ev.lineage,
        data_version,
        checksum: String::new(),
    };
    let meta = save(store, &meta, &ev.pids)?;
    update_count(store)?;
    Ok(meta)
}

fn update_count(store: &mut Store) -> Result<()> {
    let n = names(store)?.len() as u64;
    store.update_counts(|c| c.segments = n)
}

/// Deletes a segment. Returns the segments whose definitions reference it (they will fail to
/// refresh until it is created again).
pub fn delete(store: &mut Store, name: &str) -> Result<Vec<String>> {
    load_meta(store, name)?;
    let json = store.path(json_path(name));
    std::fs::remove_file(&json).at(&json)?;
    let roar = store.path(roar_path(name));
    if roar.exists() {
        std::fs::remove_file(&roar).at(&roar)?;
    }
    update_count(store)?;
    let mut users = Vec::new();
    for other in names(store)? {
        if load_meta(store, &other)?.lineage.segments.iter().any(|s| s == name) {
            users.push(other);
        }
    }
    Ok(users)
}

/// The segments to refresh for `target` (all when `None`), dependencies before the segments
/// that use them. A definition that references a missing segment, or a cycle, is an error.
pub fn refresh_order(store: &Store, target: Option<&str>) -> Result<Vec<String>> {
    let all = names(store)?;
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    let mut materialised = BTreeSet::new();
    for n in &all {
        let meta = load_meta(store, n)?;
        // Segments made by a command (expansion, clustering, a list) are not expressions: they
        // are kept as they are, and their definition starts with `@` to say which command.
        if meta.definition.starts_with('@') {
            if target == Some(n.as_str()) {
                return Err(Error::user(format!(
                    "segment `{n}` was made by `{}`, not by an expression; run that command again \
                     to rebuild it",
                    meta.definition
                )));
            }
            deps.insert(n.clone(), Vec::new());
            materialised.insert(n.clone());
            continue;
        }
        // The definition is the source of truth (lineage is derived from it).
        let e = expr::parse(&meta.definition).map_err(|e| {
            Error::user(format!("segment `{n}` has a definition that no longer parses: {e}"))
        })?;
        deps.insert(n.clone(), expr::needs(&e).segments.into_iter().collect());
    }
    let roots: Vec<String> = match target {
        Some(t) => {
            load_meta(store, t)?;
            vec![t.to_string()]
        }
        None => all.clone(),
    };
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    for r in roots {
        visit(&r, &deps, &mut Vec::new(), &mut done, &mut order)?;
    }
    order.retain(|n| !materialised.contains(n));
    Ok(order)
}

fn visit(
    n: &str,
    deps: &HashMap<String, Vec<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) -> Result<()> {
    if done.contains(n) {
        return Ok(());
    }
    if path.iter().any(|p| p == n) {
        path.push(n.to_string());
        return Err(Error::user(format!(
            "segments reference each other in a cycle ({}); delete one of them and create it \
             again with a definition that breaks the cycle",
            path.join(" -> ")
        )));
    }
    let Some(ds) = deps.get(n) else {
        let user = path.last().cloned().unwrap_or_default();
        return Err(Error::user(format!(
            "segment `{user}` references segment `{n}`, which does not exist (was it deleted?); \
             create `{n}` again, or delete `{user}` and create it with a new definition"
        )));
    };
    path.push(n.to_string());
    for d in ds {
        visit(d, deps, path, done, order)?;
    }
    path.pop();
    done.insert(n.to_string());
    order.push(n.to_string());
    Ok(())
}

/// One refreshed segment: its name, old and new size.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    /// The segment.
    pub name: String,
    /// Size before.
    pub before: u64,
    /// Size after.
    pub after: u64,
}

/// Re-evaluates `target` (and what it depends on), or every segment, on the current data, in
/// dependency order. Each segment keeps its previous version until its new one is written; an
/// error stops the refresh and names the segment.
pub fn refresh(store: &mut Store, target: Option<&str>) -> Result<Vec<Refreshed>> {
    let order = refresh_order(store, target)?;
    let data_version = store.meta().updated.clone();
    let mut fresh: HashMap<String, RoaringBitmap> = HashMap::new();
    let mut out = Vec::new();
    for name in order {
        let old = load_meta(store, &name)?;
        let ev = evaluate(store, &old.definition, &fresh).map_err(|e| {
            Error::user(format!(
                "refreshing segment `{name}` (defined as `{}`): {e}",
                old.definition
            ))
        })?;
        let meta = SegmentMeta {
            size: ev.pids.len(),
            size_by_party: size_by_party(store, &ev.pids)?,
            updated: now_iso(),
            lineage: ev.lineage,
            data_version: data_version.clone(),
            ..old.clone()
        };
        save(store, &meta, &ev.pids)?;
        out.push(Refreshed { name: name.clone(), before: old.size, after: meta.size });
        fresh.insert(name, ev.pids);
    }
    update_count(store)?;
    Ok(out)
}

/// The external ids of a segment's pids, in pid order.
pub fn external_ids(store: &Store, name: &str) -> Result<Vec<String>> {
    let seg = load(store, name)?;
    let idmap = crate::idmap::IdMap::load(store)?;
    seg.pids
        .iter()
        .map(|p| {
            idmap.id(p).map(String::from).ok_or_else(|| {
                Error::internal(format!("segment `{name}` holds pid {p}, which has no id"))
            })
        })
        .collect()
}

/// Overlap figures of several segments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// The segments, in the order given.
    pub segments: Vec<OverlapSegment>,
    /// One entry per pair `(i, j)` with `i < j`.
    pub pairs: Vec<OverlapPair>,
}

/// One segment's figures in an [`Overlap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverlapSegment {
    /// The name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// Profiles in no other of the segments.
    pub exclusive: u64,
    /// `exclusive / size` (0 for an empty segment).
    pub exclusive_share: f64,
}

/// One pair's figures in an [`Overlap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverlapPair {
    /// First segment.
    pub a: String,
    /// Second segment.
    pub b: String,
    /// `|a ∩ b|`.
    pub intersection: u64,
    /// `|a ∩ b| / |a ∪ b|` (0 when both are empty).
    pub jaccard: f64,
}

/// Pairwise intersections, Jaccard indexes and exclusive shares of `segments`. The union of the
/// others, for each segment, comes from prefix and suffix unions (3n unions, not n²).
pub fn overlap(segments: &[(&str, &RoaringBitmap)]) -> Overlap {
    let n = segments.len();
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (segments[i].1, segments[j].1);
            let inter = a.intersection_len(b);
            let union = a.len() + b.len() - inter;
            pairs.push(OverlapPair {
                a: segments[i].0.to_string(),
                b: segments[j].0.to_string(),
                intersection: inter,
                jaccard: if union == 0 { 0.0 } else { inter as f64 / union as f64 },
            });
        }
    }
    // prefix[i] = union of 0..i, suffix[i] = union of i..n.
    let mut prefix = vec![RoaringBitmap::new()];
    for (_, b) in segments {
        let next = prefix.last().expect("non-empty") | *b;
        prefix.push(next);
    }
    let mut suffix = vec![RoaringBitmap::new(); n + 1];
    for i in (0..n).rev() {
        suffix[i] = &suffix[i + 1] | segments[i].1;
    }
    let segments = segments
        .iter()
        .enumerate()
        .map(|(i, (name, b))| {
            let others = &prefix[i] | &suffix[i + 1];
            let exclusive = b.len() - b.intersection_len(&others);
            OverlapSegment {
                name: name.to_string(),
                size: b.len(),
                exclusive,
                exclusive_share: if b.is_empty() { 0.0 } else { exclusive as f64 / b.len() as f64 },
            }
        })
        .collect();
    Overlap { segments, pairs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str) -> SegmentMeta {
        SegmentMeta {
            name: name.into(),
            definition: "all()".into(),
            description: None,
            size: 0,
            size_by_party: BTreeMap::new(),
            created: now_iso(),
            updated: now_iso(),
            lineage: Lineage::default(),
            data_version: String::new(),
            checksum: String::new(),
        }
    }

    #[test]
    fn segments_made_by_commands_are_kept_out_of_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let made = SegmentMeta { definition: "@expand(lal)".into(), ..meta("made") };
        save(&store, &made, &RoaringBitmap::from_iter([1, 2])).unwrap();
        let uses = SegmentMeta { definition: r#"segment("made")"#.into(), ..meta("uses") };
        save(&store, &uses, &RoaringBitmap::from_iter([1, 2])).unwrap();
        assert_eq!(refresh_order(&store, None).unwrap(), ["uses"]);
        assert_eq!(refresh_order(&store, Some("uses")).unwrap(), ["uses"]);
        let e = refresh_order(&store, Some("made")).unwrap_err().to_string();
        assert!(e.contains("was made by `@expand(lal)`"), "{e}");
    }

    #[test]
    fn names_are_validated() {
        for good in ["a", "fr_buyers-2026", "x.y", "A9"] {
            validate_name(good).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "a b", "é", "../x", &"x".repeat(129)] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("is not a valid segment name"), "{e}");
        }
    }

    #[test]
    fn interrupted_metadata_write_keeps_the_old_segment_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let old: RoaringBitmap = [1u32, 2, 3].into_iter().collect();
        let mut m = meta("s");
        m.size = 3;
        save(&store, &m, &old).unwrap();
        let new: RoaringBitmap = (0u32..1000).collect();
        m.size = 1000;
        let r = save_with(&store, &m, &new, |w, json| {
            w.write_all(&json[..json.len() / 2]).at("s.json")?;
            Err(Error::internal("simulated crash"))
        });
        assert!(r.is_err());
        let back = load(&store, "s").unwrap();
        assert_eq!((back.pids, back.meta.size), (old, 3));
        // No temporary file is left behind.
        let files: Vec<String> = std::fs::read_dir(store.path(DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 2, "{files:?}");
    }

    #[test]
    fn a_first_write_that_fails_leaves_no_segment() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let r = save_with(&store, &meta("s"), &RoaringBitmap::new(), |_, _| {
            Err(Error::internal("simulated crash"))
        });
        assert!(r.is_err());
        assert!(names(&store).unwrap().is_empty());
        assert!(!store.path("segments/s.roar").exists());
    }

    #[test]
    fn a_bitmap_out_of_step_with_its_metadata_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        save(&store, &meta("s"), &[1u32].into_iter().collect()).unwrap();
        let other: RoaringBitmap = [7u32].into_iter().collect();
        let mut bytes = Vec::new();
        other.serialize_into(&mut bytes).unwrap();
        std::fs::write(store.path("segments/s.roar"), bytes).unwrap();
        let e = load(&store, "s").unwrap_err().to_string();
        assert!(e.contains("a write was interrupted") && e.contains("refresh s"), "{e}");
    }

    #[test]
    fn overlap_matches_a_direct_computation() {
        let a: RoaringBitmap = (0u32..100).collect();
        let b: RoaringBitmap = (50u32..150).collect();
        let c: RoaringBitmap = (140u32..160).collect();
        let o = overlap(&[("a", &a), ("b", &b), ("c", &c)]);
        assert_eq!(o.pairs[0].intersection, 50);
        assert!((o.pairs[0].jaccard - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(o.pairs[1].intersection, 0);
        assert_eq!(o.pairs[2].intersection, 10);
        let excl: Vec<u64> = o.segments.iter().map(|s| s.exclusive).collect();
        assert_eq!(excl, [50, 40, 10]);
        assert!((o.segments[2].exclusive_share - 0.5).abs() < 1e-12);
    }
}
