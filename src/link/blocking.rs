//! Blocking: which pairs get compared at all.
//!
//! Owns blocking [`Rule`]s (a conjunction of [`Key`]s: the exact value of a field, its Soundex,
//! its first characters or its words in sorted order), the pair generation of a rule with a guard on groups too large to
//! compare, the automatic choice of rules ([`auto_rules`]), the union of several rules, and the
//! label-free estimate of blocking recall ([`recall_estimate`]).
//!
//! Rules are chosen by their pair count, never by dataset-specific constants: every key of every
//! compared field is a candidate; a key whose pairs fit the budget becomes a rule on its own; keys
//! that do not fit are combined two by two (e.g. `state & street_number`) and those conjunctions
//! that fit become rules. Within a rule, a single key value shared by a huge group (a placeholder
//! such as `unknown`) is skipped, and counted.
//!
//! It does not own the comparison of the proposed pairs ([`super::compare`]).

use std::borrow::Cow;
use std::fmt;

use rayon::prelude::*;

use super::compare::{
    fnv, is_code, soundex, swappable_names, word_holders, Kind, PreparedField, NONE,
};
use crate::error::{Error, Result};
use crate::hash::{FxHashMap, FxHashSet};

/// How a field's value is turned into a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The normalised value.
    Exact,
    /// The Soundex code of its first word.
    Soundex,
    /// Its first `n` characters.
    Prefix(usize),
    /// Its words in sorted order (`smith john` and `john smith` agree).
    SortedWords,
    /// Its `n` rarest words that some other record has too (two adjacent words joined count as
    /// a word: `ps lx350h` has `pslx350h`), each a key of its own: two records meet when any
    /// agree. For product names and titles, where a model number or a rare word is shared and
    /// the rest is worded differently.
    RareWords(usize),
    /// The Soundex codes of its first `n` words, each a key of its own: two records meet when
    /// any agree. For a name of several words in one column (`oliver cook` / `cok oliver`), as
    /// `any(soundex(first_name), soundex(surname))` is for names in two.
    WordSoundex(usize),
}

/// One part of a blocking rule: a field (index into the prepared fields) and a transform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Index of the field among the prepared fields.
    pub field: usize,
    /// Field name (for display).
    pub name: String,
    /// How the value becomes a key.
    pub transform: Transform,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transform {
            Transform::Exact => write!(f, "{}", self.name),
            Transform::Soundex => write!(f, "soundex({})", self.name),
            Transform::Prefix(n) => write!(f, "prefix({}, {n})", self.name),
            Transform::SortedWords => write!(f, "sorted({})", self.name),
            Transform::RareWords(n) => write!(f, "rare_words({}, {n})", self.name),
            Transform::WordSoundex(n) => write!(f, "soundex_words({}, {n})", self.name),
        }
    }
}

/// A blocking rule: pairs that agree on every key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The keys, all of which must agree.
    pub keys: Vec<Key>,
    /// The keys' values agree as a set, in either order (`either(soundex(first_name) &
    /// soundex(surname))` proposes `Ryan Wright` with `Wright Ryan`).
    pub either_order: bool,
    /// The first key also reads this key's field (the other name column): a record has a key
    /// for each, and two records meet when any agree (`any(soundex(first_name),
    /// soundex(surname))` proposes `Wright, -` with `Ryan, Wright`).
    pub across: Option<Key>,
}

impl Rule {
    /// A rule on `keys`, in order.
    pub fn new(keys: Vec<Key>) -> Rule {
        Rule { keys, either_order: false, across: None }
    }

    /// Key values per record of each side: 2 when [`Rule::across`] is set, `n` for
    /// [`Transform::RareWords`] and [`Transform::WordSoundex`], else 1.
    fn variants(&self) -> usize {
        match self.keys.first().map(|k| k.transform) {
            Some(Transform::RareWords(n) | Transform::WordSoundex(n)) => n,
            _ => 1 + usize::from(self.across.is_some()),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        if let Some(other) = &self.across {
            parts[0] = format!("any({}, {other})", parts[0]);
        }
        if self.either_order {
            write!(f, "either({})", parts.join(" & "))
        } else {
            f.write_str(&parts.join(" & "))
        }
    }
}

impl Rule {
    /// Parses `surname & soundex(given_name) & prefix(postcode, 3)` against the field names;
    /// `either(KEY & KEY)` matches the keys' values in either order.
    pub fn parse(text: &str, fields: &[PreparedField]) -> Result<Rule> {
        let trimmed = text.trim();
        if let Some(inner) = trimmed.strip_prefix("either(").and_then(|rest| rest.strip_suffix(')'))
        {
            let rule = Rule::parse(inner, fields)?;
            return Ok(Rule { either_order: true, ..rule });
        }
        if let Some(rest) = trimmed.strip_prefix("any(") {
            // `any(KEY, KEY)` first, then `& KEY ...`.
            let close = outside_parentheses(rest, 1, ')').ok_or_else(|| {
                Error::user(format!("blocking rule `{text}`: `any(` lacks its `)`"))
            })?;
            let (inner, after) = (&rest[..close], rest[close + 1..].trim());
            let Some(comma) = outside_parentheses(inner, 0, ',') else {
                return Err(Error::user(format!(
                    "blocking rule `{text}`: write any(KEY, KEY) with two keys"
                )));
            };
            let (a, b) = (&inner[..comma], &inner[comma + 1..]);
            let first = Rule::parse(a, fields)?;
            let other = Rule::parse(b, fields)?;
            let rest_keys = match after.strip_prefix('&') {
                Some(more) => Rule::parse(more, fields)?.keys,
                None if after.is_empty() => Vec::new(),
                None => {
                    return Err(Error::user(format!(
                        "blocking rule `{text}`: `&` expected after any(...)"
                    )))
                }
            };
            if first.keys.len() != 1 || other.keys.len() != 1 {
                return Err(Error::user(format!(
                    "blocking rule `{text}`: any(KEY, KEY) takes one key on each side"
                )));
            }
            let mut keys = first.keys;
            keys.extend(rest_keys);
            return Ok(Rule { keys, either_order: false, across: other.keys.into_iter().next() });
        }
        let mut keys = Vec::new();
        for part in text.split('&').map(str::trim) {
            let (func, arg) = match part.split_once('(') {
                Some((f, rest)) => {
                    let inner = rest.strip_suffix(')').ok_or_else(|| {
                        Error::user(format!("blocking rule `{text}`: `{part}` lacks its `)`"))
                    })?;
                    (f.trim().to_ascii_lowercase(), inner.trim())
                }
                None => ("exact".to_string(), part),
            };
            let (name, n) = match arg.split_once(',') {
                Some((name, n)) => (name.trim(), Some(n.trim())),
                None => (arg, None),
            };
            let field = fields.iter().position(|f| f.name == name).ok_or_else(|| {
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                Error::user(format!(
                    "blocking rule `{text}`: no compared field `{name}`; the compared fields \
                     are: {}",
                    names.join(", ")
                ))
            })?;
            let transform = match (func.as_str(), n) {
                ("exact", None) => Transform::Exact,
                ("soundex", None) => Transform::Soundex,
                ("sorted", None) => Transform::SortedWords,
                ("prefix" | "rare_words" | "soundex_words", Some(n)) => {
                    let n = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        Error::user(format!(
                            "blocking rule `{text}`: `{n}` is not a positive number"
                        ))
                    })?;
                    if func == "prefix" {
                        Transform::Prefix(n)
                    } else if text.contains('&') || text.contains("any(") {
                        return Err(Error::user(format!(
                            "blocking rule `{text}`: {func}(FIELD, N) is a rule on its own"
                        )));
                    } else if func == "rare_words" {
                        Transform::RareWords(n)
                    } else {
                        Transform::WordSoundex(n)
                    }
                }
                _ => {
                    return Err(Error::user(format!(
                        "blocking rule `{text}`: `{part}` is not a key; write FIELD, \
                         exact(FIELD), soundex(FIELD), sorted(FIELD), prefix(FIELD, N), \
                         rare_words(FIELD, N) or soundex_words(FIELD, N), joined by `&`"
                    )))
                }
            };
            keys.push(Key { field, name: name.to_string(), transform });
        }
        Ok(Rule::new(keys))
    }
}

/// The first `want` in `s` outside parentheses, `s` starting `depth` parentheses deep.
fn outside_parentheses(s: &str, mut depth: i32, want: char) -> Option<usize> {
    s.char_indices().find_map(|(i, c)| {
        depth += match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        };
        (c == want && depth == 0).then_some(i)
    })
}

/// The key values of a rule on both sides, and the key values whose groups were skipped.
#[derive(Debug, Clone)]
pub struct RuleKeys {
    /// The rule.
    pub rule: Rule,
    /// Per side, per record: the key, or `None` when a part is missing (with
    /// [`Rule::across`], the records' keys from the first field, then from the other one).
    pub keys: [Vec<Option<u64>>; 2],
    /// Keys whose group was too large to compare.
    pub skipped: FxHashSet<u64>,
    /// Pairs the rule proposed (before the union).
    pub pairs: u64,
}

impl RuleKeys {
    /// Whether this rule alone proposes the pair (`i` on the left, `j` on side `sj`).
    pub fn proposes(&self, i: usize, sj: usize, j: usize) -> bool {
        let v = self.rule.variants();
        let (n0, nj) = (self.keys[0].len() / v, self.keys[sj].len() / v);
        (0..v).any(|x| {
            (0..v).any(|y| match (self.keys[0][x * n0 + i], self.keys[sj][y * nj + j]) {
                (Some(a), Some(b)) => a == b && !self.skipped.contains(&a),
                _ => false,
            })
        })
    }
}

fn mix(h: u64, x: u64) -> u64 {
    // splitmix64 finaliser over the running hash.
    let mut z = h ^ x.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6).wrapping_add(h >> 2);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn str_hash(s: &str) -> u64 {
    fnv(s.as_bytes())
}

/// The key of one transform over a field's dictionary: per dictionary entry.
fn dict_keys(f: &PreparedField, t: Transform) -> Vec<Option<u64>> {
    f.dict
        .iter()
        .enumerate()
        .map(|(i, v)| match t {
            Transform::Exact => Some(i as u64),
            Transform::Soundex => soundex(v).map(|s| str_hash(&s)),
            Transform::Prefix(n) => {
                let p: String = v.chars().take(n).collect();
                Some(str_hash(&p))
            }
            Transform::SortedWords => {
                let mut w: Vec<&str> = v.split(' ').collect();
                w.sort_unstable();
                Some(str_hash(&w.join(" ")))
            }
            Transform::RareWords(_) | Transform::WordSoundex(_) => {
                unreachable!("rare words and words' Soundex codes have a key per word")
            }
        })
        .collect()
}

/// Keys' values per dictionary entry ([`dict_keys`]), computed once for all the rules that use
/// them: the automatic rules try hundreds of combinations of a few dozen keys, and a key's
/// values (Soundex codes, prefixes, sorted words) cost more than grouping by them. Keys not in
/// the cache are computed when asked for.
#[derive(Default)]
pub struct KeyCache(FxHashMap<(usize, Transform), Vec<Option<u64>>>);

impl KeyCache {
    /// The cache of `keys` (rare-word and word-Soundex keys excepted: they are one key per
    /// word).
    fn new(keys: &[Key], fields: &[PreparedField]) -> Self {
        let mut wanted: Vec<(usize, Transform)> = Vec::new();
        for k in keys {
            let key = (k.field, k.transform);
            let per_word =
                matches!(k.transform, Transform::RareWords(_) | Transform::WordSoundex(_));
            if !per_word && !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        KeyCache(wanted.into_par_iter().map(|(f, t)| ((f, t), dict_keys(&fields[f], t))).collect())
    }

    /// The values of `k` per dictionary entry of its field.
    fn get<'c>(&'c self, fields: &[PreparedField], k: &Key) -> Cow<'c, [Option<u64>]> {
        match self.0.get(&(k.field, k.transform)) {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(dict_keys(&fields[k.field], k.transform)),
        }
    }
}

/// Per dictionary entry, its `n` rarest words (see [`Transform::RareWords`]) that could meet
/// another record: held by two records or more (in a link, by both sides); among words as rare,
/// codes (letters and digits: [`is_code`]) first.
fn rare_word_keys(f: &PreparedField, n: usize, link: bool) -> Vec<Vec<u64>> {
    let (words, held) = word_holders(&f.dict, &f.counts);
    words
        .into_iter()
        .map(|ws| {
            let mut rare: Vec<(u32, u64)> = ws
                .into_iter()
                .filter_map(|w| {
                    let h = held[&w];
                    let meets = if link { h[0] > 0 && h[1] > 0 } else { h[0] >= 2 };
                    meets.then_some((h[0] + h[1], w))
                })
                .collect();
            // Among words as rare, codes first: a model number names one product, where an
            // equally rare word of a long title or description may be chance.
            rare.sort_unstable_by_key(|&(c, w)| (c, !is_code(w), w));
            rare.into_iter().take(n).map(|(_, w)| w).collect()
        })
        .collect()
}

/// Per dictionary entry, the distinct Soundex codes of its first `n` words (see
/// [`Transform::WordSoundex`]).
fn word_soundex_keys(f: &PreparedField, n: usize) -> Vec<Vec<u64>> {
    f.dict
        .iter()
        .map(|v| {
            let mut codes: Vec<u64> = Vec::with_capacity(n);
            for code in v.split(' ').take(n).filter_map(soundex) {
                let h = str_hash(&code);
                if !codes.contains(&h) {
                    codes.push(h);
                }
            }
            codes
        })
        .collect()
}

/// Key values of `rule` per side and record, its keys' values per dictionary entry taken from
/// `cache` when it has them.
pub fn rule_keys(
    rule: &Rule,
    fields: &[PreparedField],
    sides: usize,
    cache: &KeyCache,
) -> [Vec<Option<u64>>; 2] {
    let per_word = match rule.keys.first().map(|k| k.transform) {
        Some(Transform::RareWords(n)) => {
            Some((n, rare_word_keys(&fields[rule.keys[0].field], n, sides == 2)))
        }
        Some(Transform::WordSoundex(n)) => {
            Some((n, word_soundex_keys(&fields[rule.keys[0].field], n)))
        }
        _ => None,
    };
    if let Some((n, words)) = per_word {
        // Per record, its entry's `x`-th word key (variant `x`).
        let (f, words) = (&fields[rule.keys[0].field], &words);
        let side = |s: usize| -> Vec<Option<u64>> {
            if s >= sides {
                return Vec::new();
            }
            let ids = &f.ids[s];
            (0..n)
                .flat_map(|x| {
                    ids.iter().map(move |&id| {
                        (id != NONE).then(|| words[id as usize].get(x).copied()).flatten()
                    })
                })
                .collect()
        };
        return [side(0), side(1)];
    }
    let per_key: Vec<Cow<[Option<u64>]>> = rule.keys.iter().map(|k| cache.get(fields, k)).collect();
    let across = rule.across.as_ref().map(|k| (k, cache.get(fields, k)));
    let side = |s: usize| -> Vec<Option<u64>> {
        if s >= sides {
            return Vec::new();
        }
        let n = fields[rule.keys[0].field].ids[s].len();
        let mut values = Vec::with_capacity(rule.keys.len());
        let mut out: Vec<Option<u64>> = Vec::with_capacity(n * rule.variants());
        for variant in 0..rule.variants() {
            out.extend((0..n).map(|i| {
                values.clear();
                for (x, (k, dk)) in rule.keys.iter().zip(&per_key).enumerate() {
                    // The other variant reads the first key from the other field, under the
                    // first field's number so that both variants meet.
                    let (kf, dk) = match (&across, x, variant) {
                        (Some((other, odk)), 0, 1) => (other.field, odk),
                        _ => (k.field, dk),
                    };
                    let id = fields[kf].ids[s][i];
                    if id == NONE {
                        return None;
                    }
                    let v = dk[id as usize]?;
                    // In either order the values count as a set, whatever field they came from.
                    values.push(if rule.either_order { v } else { v ^ (k.field as u64) << 48 });
                }
                if rule.either_order {
                    values.sort_unstable();
                }
                Some(values.iter().fold(0x1234_5678u64, |h, &v| mix(h, v)))
            }));
        }
        if rule.variants() == 2 {
            // A record whose two names give one key keeps it once.
            for i in 0..n {
                if out[n + i] == out[i] {
                    out[n + i] = None;
                }
            }
        }
        out
    };
    [side(0), side(1)]
}

/// Records per key value: (left rows, right rows).
type Groups = FxHashMap<u64, (Vec<u32>, Vec<u32>)>;

/// Records per key value; `variants` key values per record (see [`Rule::across`]).
fn groups(keys: &[Vec<Option<u64>>; 2], variants: usize) -> Groups {
    let mut g: Groups = FxHashMap::default();
    for (s, side) in keys.iter().enumerate() {
        let n = side.len() / variants;
        for (i, k) in side.iter().enumerate() {
            if let Some(k) = k {
                let e = g.entry(*k).or_default();
                let row = (i % n) as u32;
                if s == 0 {
                    e.0.push(row)
                } else {
                    e.1.push(row)
                }
            }
        }
    }
    if variants > 1 {
        // One record may sit in a group twice (its two names' keys agree with one another
        // only through a third record's): once is enough, in order.
        for (l, r) in g.values_mut() {
            for v in [l, r] {
                v.sort_unstable();
                v.dedup();
            }
        }
    }
    g
}

/// The sizes (left rows, right rows) of the [`groups`]: counted without gathering the rows when
/// each record has one key value (the automatic rules evaluate hundreds of candidates, and
/// only need their sizes).
fn group_sizes(keys: &[Vec<Option<u64>>; 2], variants: usize) -> Vec<(usize, usize)> {
    if variants > 1 {
        return groups(keys, variants).values().map(|(l, r)| (l.len(), r.len())).collect();
    }
    let mut sizes: FxHashMap<u64, [usize; 2]> = FxHashMap::default();
    for (s, side) in keys.iter().enumerate() {
        for k in side.iter().flatten() {
            sizes.entry(*k).or_default()[s] += 1;
        }
    }
    sizes.into_values().map(|[l, r]| (l, r)).collect()
}

fn group_pairs(link: bool, l: usize, r: usize) -> u64 {
    if link {
        l as u64 * r as u64
    } else {
        (l as u64 * l.saturating_sub(1) as u64) / 2
    }
}

/// A fingerprint of how a rule's keys group the records (the same for two rules that form the
/// same groups, whatever their key values).
fn partition(keys: &[Vec<Option<u64>>; 2]) -> u64 {
    let mut group: FxHashMap<u64, u64> = FxHashMap::default();
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for k in keys.iter().flatten() {
        let g = match k {
            Some(k) => {
                let next = group.len() as u64;
                *group.entry(*k).or_insert(next)
            }
            None => u64::MAX,
        };
        h = mix(h, g);
    }
    h
}

/// Pair counts of a rule: (pairs within groups of at most `group_cap` pairs, pairs skipped,
/// share of the records holding a key that sit in a skipped group).
pub fn count_pairs(
    keys: &[Vec<Option<u64>>; 2],
    variants: usize,
    link: bool,
    group_cap: u64,
) -> (u64, u64, f64) {
    let mut kept = 0;
    let mut skipped = 0;
    let (mut keyed, mut stranded) = (0usize, 0usize);
    for (l, r) in group_sizes(keys, variants) {
        let p = group_pairs(link, l, r);
        keyed += l + r;
        if p > group_cap {
            skipped += p;
            stranded += l + r;
        } else {
            kept += p;
        }
    }
    (kept, skipped, stranded as f64 / keyed.max(1) as f64)
}

/// Proposes the pairs of one rule, as `left << 32 | right` (for a dedupe, `left < right`).
/// Groups of more than `group_cap` pairs are skipped and their keys recorded.
pub fn rule_pairs(
    rule: Rule,
    fields: &[PreparedField],
    link: bool,
    group_cap: u64,
) -> (RuleKeys, Vec<u64>) {
    let keys = rule_keys(&rule, fields, if link { 2 } else { 1 }, &KeyCache::default());
    let mut out = Vec::new();
    let mut skipped = FxHashSet::default();
    for (k, (l, r)) in groups(&keys, rule.variants()) {
        if group_pairs(link, l.len(), r.len()) > group_cap {
            skipped.insert(k);
            continue;
        }
        if link {
            for &i in &l {
                out.extend(r.iter().map(|&j| ((i as u64) << 32) | j as u64));
            }
        } else {
            for (a, &i) in l.iter().enumerate() {
                out.extend(l[a + 1..].iter().map(|&j| ((i as u64) << 32) | j as u64));
            }
        }
    }
    let pairs = out.len() as u64;
    (RuleKeys { rule, keys, skipped, pairs }, out)
}

/// The union of the pairs of all rules, sorted, each once.
pub fn union_pairs(
    rules: Vec<Rule>,
    fields: &[PreparedField],
    link: bool,
    group_cap: u64,
) -> (Vec<RuleKeys>, Vec<u64>) {
    let results: Vec<(RuleKeys, Vec<u64>)> =
        rules.into_par_iter().map(|r| rule_pairs(r, fields, link, group_cap)).collect();
    let total: usize = results.iter().map(|r| r.1.len()).sum();
    let mut all = Vec::with_capacity(total);
    let mut keys = Vec::with_capacity(results.len());
    for (k, p) in results {
        all.extend_from_slice(&p);
        keys.push(k);
    }
    let rows = fields.first().map_or(0, |f| f.ids[0].len());
    let cols = fields.first().map_or(0, |f| f.ids[usize::from(link)].len());
    (keys, sorted_union(all, rows, cols))
}

/// The pairs `all` (`i << 32 | j`, `i < rows`, `j < cols`) sorted, each once. Where a bit per
/// possible pair takes no more words than there are pairs (FEBRL4: 25 million possible pairs,
/// 815,000 proposed), the pairs are marked in a bitmap and read back in order, which costs a
/// write per pair and a scan of the words instead of a sort; otherwise they are sorted.
fn sorted_union(mut all: Vec<u64>, rows: usize, cols: usize) -> Vec<u64> {
    let words = (rows as u64 * cols as u64).div_ceil(64);
    if cols == 0 || words > all.len() as u64 {
        all.par_sort_unstable();
        all.dedup();
        return all;
    }
    let mut bits = vec![0u64; words as usize];
    for &p in &all {
        let at = (p >> 32) as usize * cols + (p & 0xffff_ffff) as usize;
        bits[at / 64] |= 1 << (at % 64);
    }
    all.clear();
    // Bit `at` is pair (at / cols, at % cols); the bits are read in order, so the row only
    // ever moves forward.
    let (mut row, mut row_start) = (0usize, 0usize);
    for (w, &word) in bits.iter().enumerate() {
        let mut b = word;
        while b != 0 {
            let at = w * 64 + b.trailing_zeros() as usize;
            while at >= row_start + cols {
                row += 1;
                row_start += cols;
            }
            all.push(((row as u64) << 32) | (at - row_start) as u64);
            b &= b - 1;
        }
    }
    all
}

/// Candidate keys of a field, by kind.
fn candidate_keys(i: usize, f: &PreparedField) -> Vec<Key> {
    let key = |transform| Key { field: i, name: f.name.clone(), transform };
    // Words in another order (`palm the` / `the palm`, authors listed differently) and, for
    // text, a changed ending (`... environments` / `... environment (abstract)`) still meet.
    // The sorted words only where values of several words are common (a fifth of them).
    let several_words = f.dict.iter().filter(|v| v.contains(' ')).count() * 5 >= f.dict.len();
    let mut keys = match f.kind {
        Kind::Name => vec![key(Transform::Exact), key(Transform::Soundex)],
        Kind::Text => vec![key(Transform::Exact), key(Transform::Prefix(TEXT_PREFIX))],
        Kind::Code | Kind::Date | Kind::Exact | Kind::Number => vec![key(Transform::Exact)],
        Kind::Ignore => vec![],
    };
    if several_words && matches!(f.kind, Kind::Name | Kind::Text) {
        keys.push(key(Transform::SortedWords));
    }
    // A whole name in one column meets another through any of its words' sounds, in any order.
    if several_words && f.kind == Kind::Name {
        keys.push(key(Transform::WordSoundex(NAME_WORDS)));
    }
    // Rare words for text of several words that names a thing (a product, a title), not a
    // place: an address's rare words are its street's, which its exact value and prefix find.
    let mean_words = f.dict.iter().map(|v| v.split(' ').count()).sum::<usize>() as f64
        / f.dict.len().max(1) as f64;
    if f.kind == Kind::Text && mean_words >= 3.0 && !super::autoconfig::is_location(&f.name) {
        keys.push(key(Transform::RareWords(RARE_WORDS)));
    }
    keys
}

/// Words per record in a [`Transform::WordSoundex`] key chosen automatically (a first, a
/// middle and a last name).
const NAME_WORDS: usize = 3;

/// Words per record in a [`Transform::RareWords`] key chosen automatically.
const RARE_WORDS: usize = 3;

/// Characters of a text value in its [`Transform::Prefix`] key.
const TEXT_PREFIX: usize = 10;

/// A candidate rule with its pair counts, as considered by [`auto_rules`].
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The rule.
    pub rule: Rule,
    /// Pairs it would propose.
    pub pairs: u64,
    /// Pairs in groups too large to compare.
    pub skipped: u64,
    /// Share of the records holding a key that are in such groups.
    pub skipped_share: f64,
    /// Whether it was chosen.
    pub chosen: bool,
}

/// Most conjunctions of two keys chosen automatically.
pub const MAX_CONJUNCTIONS: usize = 6;

/// Chooses blocking rules: each candidate key within `budget` pairs on its own, then up to
/// [`MAX_CONJUNCTIONS`] conjunctions of two keys that were too broad alone (the broadest that
/// fit, from different fields). Returns the chosen rules and every candidate considered.
pub fn auto_rules(
    fields: &[PreparedField],
    link: bool,
    budget: u64,
    group_cap: u64,
) -> (Vec<Rule>, Vec<Candidate>) {
    let sides = if link { 2 } else { 1 };
    let swap = swappable_names(fields);
    let keys: Vec<Key> =
        fields.iter().enumerate().flat_map(|(i, f)| candidate_keys(i, f)).collect();
    let cache = KeyCache::new(&keys, fields);
    // Each rule's pair counts. Rules that group the records the same way (a city's exact value,
    // its first 10 characters and its sorted words, when cities are short) are one candidate,
    // the first: a copy would only slow the union and fake independent evidence in the recall
    // estimate.
    let evaluate = |rules: Vec<Rule>| -> Vec<Candidate> {
        let evaluated: Vec<(Candidate, u64)> = rules
            .into_par_iter()
            .map(|rule| {
                let k = rule_keys(&rule, fields, sides, &cache);
                let (pairs, skipped, skipped_share) =
                    count_pairs(&k, rule.variants(), link, group_cap);
                (Candidate { rule, pairs, skipped, skipped_share, chosen: false }, partition(&k))
            })
            .collect();
        let mut seen = FxHashSet::default();
        evaluated.into_iter().filter(|(_, sig)| seen.insert(*sig)).map(|(c, _)| c).collect()
    };
    let mut rules: Vec<Rule> = keys.iter().map(|k| Rule::new(vec![k.clone()])).collect();
    if let Some((a, b)) = swap {
        // A name in either name column (one of them missing, the other in the wrong one).
        for k in keys.iter().filter(|k| k.field == a) {
            if let Some(other) = keys.iter().find(|o| o.field == b && o.transform == k.transform) {
                rules.push(Rule { across: Some(other.clone()), ..Rule::new(vec![k.clone()]) });
            }
        }
    }
    let mut singles = evaluate(rules);
    // A key whose pairs fit the budget is a rule on its own, unless most of its pairs are in
    // oversized groups (a near-constant column): then it is too broad. A few huge groups that
    // hold a small share of the records (the thousands of copies of a placeholder record) are
    // skipped without spoiling an otherwise selective key.
    let fits = |c: &Candidate| {
        c.pairs > 0 && c.pairs <= budget && (c.skipped <= c.pairs || c.skipped_share <= 0.2)
    };
    for c in &mut singles {
        c.chosen = fits(c);
    }
    let broad: Vec<&Key> = singles
        .iter()
        .filter(|c| !c.chosen && c.pairs + c.skipped > 0 && c.rule.variants() == 1)
        .map(|c| &c.rule.keys[0])
        .collect();
    let mut combos = Vec::new();
    for (a, ka) in broad.iter().enumerate() {
        for kb in &broad[a + 1..] {
            if ka.field != kb.field {
                // The Soundex codes of the first and last name also meet swapped (the
                // comparison looks at those two crosswise as well).
                let names = [ka.field, kb.field];
                let either_order = ka.transform == Transform::Soundex
                    && kb.transform == Transform::Soundex
                    && swap.is_some_and(|(a, b)| names == [a, b] || names == [b, a]);
                combos.push(Rule {
                    keys: vec![(*ka).clone(), (*kb).clone()],
                    either_order,
                    across: None,
                });
                // A name from either name column with a third field.
                if let Some((_, y)) =
                    swap.filter(|&(x, y)| ka.field == x && ![x, y].contains(&kb.field))
                {
                    if let Some(other) =
                        broad.iter().find(|o| o.field == y && o.transform == ka.transform)
                    {
                        combos.push(Rule {
                            across: Some((*other).clone()),
                            ..Rule::new(vec![(*ka).clone(), (*kb).clone()])
                        });
                    }
                }
            }
        }
    }
    let mut conj = evaluate(combos);
    conj.sort_by(|a, b| {
        b.pairs.cmp(&a.pairs).then_with(|| a.rule.to_string().cmp(&b.rule.to_string()))
    });
    let mut used_fields: FxHashMap<usize, usize> = FxHashMap::default();
    let mut used_pairs: FxHashSet<(usize, usize)> = FxHashSet::default();
    let mut taken = 0;
    for c in &mut conj {
        if taken < MAX_CONJUNCTIONS && fits(c) {
            // Spread the conjunctions over the fields: each field in at most two of them, each
            // pair of fields in one (`soundex(first) & city` and `first & city` find mostly the
            // same pairs; `soundex(last) & city` finds others).
            // A rule with `any(first, last) & city` counts as both name fields with the city.
            let fb = c.rule.keys[1].field;
            let firsts: Vec<usize> =
                std::iter::once(&c.rule.keys[0]).chain(&c.rule.across).map(|k| k.field).collect();
            let pairs: Vec<(usize, usize)> =
                firsts.iter().map(|&f| (f.min(fb), f.max(fb))).collect();
            if firsts.iter().chain([&fb]).any(|f| used_fields.get(f).copied().unwrap_or(0) >= 2)
                || pairs.iter().any(|p| used_pairs.contains(p))
            {
                continue;
            }
            for f in firsts.iter().chain([&fb]) {
                *used_fields.entry(*f).or_default() += 1;
            }
            used_pairs.extend(pairs);
            c.chosen = true;
            taken += 1;
        }
    }
    let mut all = singles;
    all.extend(conj);
    let chosen = all.iter().filter(|c| c.chosen).map(|c| c.rule.clone()).collect();
    (chosen, all)
}

/// Label-free estimate of blocking recall from `found`, pairs the model accepted with high
/// probability (`(left, right)` indices): each rule's recall is the share of them it proposes on
/// its own; assuming the rules miss independently, the union misses `Π (1 - recall_r)`.
/// Returns per-rule recall and the union's estimate (`None` when there is nothing to measure).
pub fn recall_estimate(
    rules: &[RuleKeys],
    found: &[(usize, usize)],
    link: bool,
) -> (Vec<f64>, Option<f64>) {
    if found.is_empty() {
        return (vec![0.0; rules.len()], None);
    }
    let sj = usize::from(link);
    let per: Vec<f64> = rules
        .iter()
        .map(|r| {
            found.par_iter().filter(|&&(i, j)| r.proposes(i, sj, j)).count() as f64
                / found.len() as f64
        })
        .collect();
    let miss: f64 = per.iter().map(|r| 1.0 - r).product();
    (per, Some(1.0 - miss))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: Kind, l: &[&str], r: Option<&[&str]>) -> PreparedField {
        let conv = |v: &[&str]| -> Vec<Option<String>> {
            v.iter().map(|s| (!s.is_empty()).then(|| s.to_string())).collect()
        };
        let r = r.map(conv);
        PreparedField::new(name, kind, &conv(l), r.as_deref())
    }

    #[test]
    fn rules_parse_and_propose_pairs() {
        let f = vec![
            field("surname", Kind::Name, &["smith", "smyth", "jones", ""], None),
            field("zip", Kind::Code, &["1", "1", "1", "2"], None),
        ];
        let r = Rule::parse("soundex(surname) & zip", &f).unwrap();
        assert_eq!(r.to_string(), "soundex(surname) & zip");
        let (keys, pairs) = rule_pairs(r, &f, false, 100);
        assert_eq!(pairs, vec![1]); // rows 0 and 1: S530 and zip 1
        assert!(keys.proposes(0, 0, 1) && !keys.proposes(0, 0, 2));
        let e = Rule::parse("surnam", &f).unwrap_err().to_string();
        assert!(e.contains("no compared field `surnam`"), "{e}");
        assert!(Rule::parse("metaphone(surname)", &f).is_err());
    }

    #[test]
    fn the_union_of_pairs_is_sorted_and_each_pair_once_by_bitmap_or_sort() {
        // Three rows of four columns: a bitmap of 12 bits (one word) for seven pairs, or a sort
        // when the pairs are fewer than the words.
        let pair = |i: u64, j: u64| (i << 32) | j;
        let all = vec![
            pair(2, 3),
            pair(0, 1),
            pair(1, 0),
            pair(2, 3),
            pair(0, 1),
            pair(2, 0),
            pair(1, 3),
        ];
        let want = vec![pair(0, 1), pair(1, 0), pair(1, 3), pair(2, 0), pair(2, 3)];
        assert_eq!(sorted_union(all.clone(), 3, 4), want);
        assert_eq!(sorted_union(all, 300, 400), want, "sorted when the bitmap would be larger");
        assert_eq!(sorted_union(Vec::new(), 3, 4), Vec::<u64>::new());
    }

    #[test]
    fn sorted_words_and_prefixes_meet_reordered_and_reworded_text() {
        let names = ["the palm", "palm the", "john smith", "smith john"];
        let f = vec![field("name", Kind::Name, &names, None)];
        let (_, mut pairs) = rule_pairs(Rule::parse("sorted(name)", &f).unwrap(), &f, false, 100);
        pairs.sort_unstable();
        assert_eq!(pairs, vec![1, (2 << 32) | 3]);
        let titles =
            ["broadcast disks for asymmetric communications", "broadcast disks (abstract)"];
        let f = vec![field("title", Kind::Text, &titles, None)];
        let keys: Vec<String> = candidate_keys(0, &f[0]).iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["title", "prefix(title, 10)", "sorted(title)", "rare_words(title, 3)"]);
        let (_, pairs) = rule_pairs(Rule::parse("prefix(title, 10)", &f).unwrap(), &f, false, 100);
        assert_eq!(pairs, vec![1]);
    }

    #[test]
    fn a_whole_names_words_meet_by_their_sounds_in_any_order() {
        // Swapped and misspelt: no exact value, sorted words or first word's Soundex agree.
        let names = ["oliver cook", "cok olivr", "mary jones", "cook"];
        let f = vec![field("name", Kind::Name, &names, None)];
        let keys: Vec<String> = candidate_keys(0, &f[0]).iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["name", "soundex(name)", "sorted(name)", "soundex_words(name, 3)"]);
        let rule = Rule::parse("soundex_words(name, 3)", &f).unwrap();
        assert_eq!(rule.to_string(), "soundex_words(name, 3)");
        let (_, mut pairs) = rule_pairs(rule, &f, false, 100);
        pairs.sort_unstable();
        pairs.dedup(); // a pair meeting on two words is proposed twice; the union keeps it once
        assert_eq!(pairs, vec![1, 3, (1 << 32) | 3]);
        for rule in ["sorted(name)", "soundex(name)"] {
            let (_, pairs) = rule_pairs(Rule::parse(rule, &f).unwrap(), &f, false, 100);
            assert!(!pairs.contains(&1), "{rule}");
        }
        let err = Rule::parse("soundex_words(name, 3) & name", &f).unwrap_err().to_string();
        assert!(err.contains("soundex_words(FIELD, N) is a rule on its own"), "{err}");
    }

    #[test]
    fn among_words_as_rare_a_code_is_the_key() {
        // Every word of the long name is held once on each side; the model number (alone or
        // joined to its neighbour) is taken before them, whatever their hashes.
        let left = ["Sony Bravia Black Flat Panel HDTV Full Widescreen - KDL42V4100"];
        let right = ["SONY 42IN BRAVIA LCD HDTV Black Flat Panel Full Widescreen KDL42V4100"];
        let f = field("name", Kind::Text, &left, Some(&right));
        let keys = rare_word_keys(&f, 2, true);
        assert!(keys[0].iter().all(|&w| is_code(w)), "{keys:?}");
    }

    #[test]
    fn rare_words_meet_a_model_number_written_apart() {
        // Abt-Buy style: the model number is the one rare word the two names share, spelt
        // `PSLX350H` on one side and `PS-LX350H` on the other; the common words meet nothing.
        let left = ["Sony Turntable - PSLX350H", "Sony Radio - ICFC1", "Bose Speaker - AM5"];
        let right = ["Sony PS-LX350H Belt-Drive Turntable", "Bose Acoustimass AM5 Speakers"];
        let f = vec![field("name", Kind::Text, &left, Some(&right))];
        let rule = Rule::parse("rare_words(name, 1)", &f).unwrap();
        assert_eq!(rule.to_string(), "rare_words(name, 1)");
        let (_, mut pairs) = rule_pairs(rule, &f, true, 100);
        pairs.sort_unstable();
        assert_eq!(pairs, vec![0, (2 << 32) | 1]);
        assert!(Rule::parse("rare_words(name, 2) & name", &f).is_err());
    }

    #[test]
    fn any_rules_meet_a_name_in_the_other_column() {
        // Row 0 has the surname in the first-name column and no surname; row 1 has both in
        // place; row 2 is another Newman in another city; row 3 is Newman Newman in Leeds.
        let f = vec![
            field("first_name", Kind::Name, &["newman", "oliver", "newman", "newman"], None),
            field("surname", Kind::Name, &["", "newman", "ann", "newman"], None),
            field("city", Kind::Name, &["leeds", "leeds", "york", "leeds"], None),
        ];
        let text = "any(soundex(first_name), soundex(surname)) & city";
        let rule = Rule::parse(text, &f).unwrap();
        assert_eq!(rule.to_string(), text);
        let (keys, pairs) = rule_pairs(rule, &f, false, 100);
        assert_eq!(pairs, vec![1, 3, (1 << 32) | 3], "rows 0, 1 and 3 of Leeds, each pair once");
        assert!(keys.proposes(0, 0, 1) && !keys.proposes(0, 0, 2));
        let (_, plain) =
            rule_pairs(Rule::parse("soundex(first_name) & city", &f).unwrap(), &f, false, 100);
        assert_eq!(plain, vec![3], "without any(), only rows 0 and 3 meet");
        assert!(Rule::parse("any(soundex(first_name)) & city", &f).is_err());
        // Proposed automatically as a rule of its own when it fits.
        let (_, cands) = auto_rules(&f, false, 100, 100);
        let any = "any(soundex(first_name), soundex(surname))";
        assert!(cands.iter().any(|c| c.rule.to_string() == any && c.chosen), "{cands:?}");
    }

    #[test]
    fn either_order_rules_meet_swapped_names() {
        let f = vec![
            field("first_name", Kind::Name, &["ryan", "wright", "ryan"], None),
            field("surname", Kind::Name, &["wright", "ryan", "white"], None),
        ];
        let text = "either(soundex(first_name) & soundex(surname))";
        let rule = Rule::parse(text, &f).unwrap();
        assert!(rule.either_order);
        assert_eq!(rule.to_string(), text);
        let (_, pairs) = rule_pairs(rule, &f, false, 100);
        assert_eq!(pairs, vec![1], "Ryan Wright and Wright Ryan; not Ryan White");
        let (_, ordered) = rule_pairs(
            Rule::parse("soundex(first_name) & soundex(surname)", &f).unwrap(),
            &f,
            false,
            100,
        );
        assert!(ordered.is_empty());
        // Proposed automatically for the first and last name, when their Soundex codes are
        // too broad alone.
        let f = vec![
            field("first_name", Kind::Name, &["ryan", "wright", "rian", "ryan"], None),
            field("surname", Kind::Name, &["wright", "ryan", "wrigt", "white"], None),
        ];
        let (_, cands) = auto_rules(&f, false, 0, 100);
        let rule = cands.iter().find(|c| c.rule.to_string() == text).expect("either rule");
        assert_eq!(rule.pairs, 3, "rows 0, 1 (swapped) and 2 (misspelt); not row 3");
    }

    #[test]
    fn oversized_groups_are_skipped() {
        let f = vec![field("s", Kind::Exact, &["a", "a", "a", "a", "b", "b"], None)];
        let r = Rule::parse("s", &f).unwrap();
        let (keys, pairs) = rule_pairs(r, &f, false, 3);
        assert_eq!(pairs, vec![(4 << 32) | 5]);
        assert_eq!(keys.skipped.len(), 1);
        assert!(!keys.proposes(0, 0, 1));
    }

    #[test]
    fn counted_pairs_are_the_pairs_proposed() {
        // The automatic rules are chosen on counts, taken without gathering the rows: they must
        // be what the rule then proposes, for a dedupe and a link, with and without skipping.
        let l = ["a", "a", "a", "a", "b", "b", "c", ""];
        let r = ["a", "b", "b", "", "d"];
        for (right, link) in [(None, false), (Some(&r[..]), true)] {
            let f = vec![field("s", Kind::Exact, &l, right)];
            for cap in [1, 3, 100] {
                let rule = Rule::parse("s", &f).unwrap();
                let keys = rule_keys(&rule, &f, if link { 2 } else { 1 }, &KeyCache::default());
                let (kept, skipped, _) = count_pairs(&keys, 1, link, cap);
                let (_, pairs) = rule_pairs(rule, &f, link, cap);
                assert_eq!(kept, pairs.len() as u64, "link {link}, cap {cap}");
                // Link: 4 x 1 pairs on `a`, 2 x 2 on `b`. Dedupe: 6 among the `a`, 1 `b` pair.
                let all = if link { 8 } else { 7 };
                assert_eq!(kept + skipped, all, "link {link}, cap {cap}");
            }
        }
    }

    #[test]
    fn link_pairs_run_across_sides() {
        let f = vec![field("s", Kind::Exact, &["a", "b"], Some(&["b", "a", "a"]))];
        let (_, pairs) = union_pairs(vec![Rule::parse("s", &f).unwrap()], &f, true, 100);
        assert_eq!(pairs, vec![1, 2, 1 << 32]);
    }

    #[test]
    fn broad_keys_are_combined() {
        let n = 40;
        let state: Vec<String> = (0..n).map(|i| (i % 2).to_string()).collect();
        let num: Vec<String> = (0..n).map(|i| (i / 2 % 4).to_string()).collect();
        let as_str = |v: &[String]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (state, num) = (as_str(&state), as_str(&num));
        let state: Vec<&str> = state.iter().map(String::as_str).collect();
        let num: Vec<&str> = num.iter().map(String::as_str).collect();
        let f = vec![field("state", Kind::Exact, &state, None), field("n", Kind::Code, &num, None)];
        // Alone: 2 * C(20, 2) = 380 and 4 * C(10, 2) = 180 pairs, both over 150; together
        // 8 * C(5, 2) = 80.
        let (rules, cands) = auto_rules(&f, false, 150, 1000);
        assert_eq!(cands.len(), 3);
        let names: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert_eq!(names, vec!["state & n".to_string()]);
    }

    #[test]
    fn placeholder_copies_do_not_spoil_a_selective_key() {
        // 200 records in pairs of one email each, plus 40 copies of one placeholder: the
        // placeholder's group (780 pairs) is over the cap and skipped, the key still chosen.
        let mut emails: Vec<String> = (0..200).map(|i| format!("p{}@x.org", i / 2)).collect();
        emails.extend((0..40).map(|_| "unknown@x.org".to_string()));
        let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
        let f = vec![field("email", Kind::Code, &emails, None)];
        let (rules, cands) = auto_rules(&f, false, 1000, 500);
        assert_eq!(cands[0].pairs, 100);
        assert_eq!(cands[0].skipped, 780);
        let names: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert_eq!(names, ["email"]);
    }

    #[test]
    fn keys_that_group_alike_are_one_candidate() {
        let cities = ["york", "york", "leeds", "hull", "leeds"];
        let f = vec![field("city", Kind::Text, &cities, None)];
        let (_, cands) = auto_rules(&f, false, 1000, 500);
        let names: Vec<String> = cands.iter().map(|c| c.rule.to_string()).collect();
        assert_eq!(names, ["city"], "prefix(city, 10) groups as city does");
    }

    #[test]
    fn recall_multiplies_misses() {
        let f = vec![
            field("a", Kind::Exact, &["1", "1", "2", "2"], None),
            field("b", Kind::Exact, &["x", "y", "z", "z"], None),
        ];
        let ka = rule_pairs(Rule::parse("a", &f).unwrap(), &f, false, 100).0;
        let kb = rule_pairs(Rule::parse("b", &f).unwrap(), &f, false, 100).0;
        let (per, all) = recall_estimate(&[ka, kb], &[(0, 1), (2, 3)], false);
        assert_eq!(per, vec![1.0, 0.5]);
        assert_eq!(all, Some(1.0));
    }
}
