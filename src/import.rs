//! `audience import`: an already-unified profile table (one row per person) into the store.
//!
//! Owns the checks on a profile table (id column present, no empty or duplicate ids, party and
//! consent values valid), the assignment of pids through the [`IdMap`], and the writing of the
//! traits table (`profiles/traits.parquet`) and the [`BitmapIndex`]. Everything is validated and
//! built in memory first; the store is only written once all of it succeeded, the profiles
//! directory as a whole through [`Store::replace_dir`].
//!
//! Columns that hold raw PII (emails, phones, names, street addresses) are not stored: they
//! belong to identity resolution, and the report lists them as skipped.
//!
//! Traits go through [`merge_traits`]: each writer (`import`, `resolve`, `derive`) replaces only
//! the traits it wrote before, so re-importing keeps derived and resolved traits.
//!
//! It does not own identity resolution (`resolve`) or derived traits (`derive`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::idmap::IdMap;
use crate::index::{BitmapIndex, Pid, TraitOrigin};
use crate::store::Store;
use crate::table::{read_table, Column, ColumnData, Table};

/// Name of the pid column in `profiles/traits.parquet`.
pub const PID_COLUMN: &str = "_pid";
/// Trait holding each profile's party (`first`, `second`, `third`).
pub const PARTY_TRAIT: &str = "party";
/// Trait holding each profile's provider.
pub const PROVIDER_TRAIT: &str = "provider";
/// Trait holding ad consent (`true` / `false`).
pub const CONSENT_TRAIT: &str = "consent.ads";

/// Which columns play special roles.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The id column (required).
    pub id: String,
    /// Column with the party of each row (first/second/third, or 1/2/3).
    pub party: Option<String>,
    /// Column with the provider of each row.
    pub provider: Option<String>,
    /// Column with ad consent (true/false, yes/no, 1/0).
    pub consent: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Rows read.
    pub rows: usize,
    /// Rows whose id was new, and got a new pid.
    pub new_profiles: usize,
    /// Rows whose id was known, and kept its pid.
    pub known_profiles: usize,
    /// Traits indexed.
    pub traits: usize,
    /// Columns not stored because they hold raw PII.
    pub skipped_pii: Vec<String>,
    /// Seconds spent reading the file.
    pub read_secs: f64,
    /// Seconds spent building the index and writing the store.
    pub index_secs: f64,
}

/// Reads `path` and imports it; see the module docs.
pub fn import(
    store: &mut Store,
    path: impl AsRef<Path>,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    let t0 = Instant::now();
    let table = read_table(path.as_ref())?;
    let read_secs = t0.elapsed().as_secs_f64();
    import_table(store, &table, opts).map(|mut r| {
        r.read_secs = read_secs;
        r
    })
}

/// Imports an already-read table; see the module docs.
pub fn import_table(
    store: &mut Store,
    table: &Table,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    let t0 = Instant::now();
    // People forgotten with `audience forget` never come back through an import.
    let filtered = crate::forget::filter_import(store, table, &opts.id)?;
    let table = filtered.as_ref().map_or(table, |(t, _)| t);
    let ids = check_ids(table, &opts.id)?;
    let mut idmap = IdMap::load(store)?;
    let before = idmap.len();
    let pids: Vec<Pid> = ids.iter().map(|id| idmap.get_or_insert(id)).collect::<Result<_>>()?;
    let new_profiles = idmap.len() - before;

    let (traits, origins, skipped_pii) = trait_columns(table, opts)?;
    // Everything is validated: now write. The id map first, so that a crash can only leave
    // reserved pids behind, never traits whose pid is unknown.
    idmap.save(store)?;
    let n_traits = merge_traits(store, "import", &pids, traits, &origins)?;
    Ok(ImportReport {
        rows: table.rows,
        new_profiles,
        known_profiles: table.rows - new_profiles,
        traits: n_traits,
        skipped_pii,
        read_secs: 0.0,
        index_secs: t0.elapsed().as_secs_f64(),
    })
}

/// Merges the traits `columns` of `pids` (row `i` is `pids[i]`) into the store's traits table
/// and rebuilds the bitmap index. The traits that `writer` (`import`, `resolve`, `derive`) wrote
/// before are replaced; other writers' traits are kept. The universe is every pid in the table.
/// Returns the number of traits indexed.
pub fn merge_traits(
    store: &mut Store,
    writer: &str,
    pids: &[Pid],
    columns: Vec<Column>,
    origins: &HashMap<String, TraitOrigin>,
) -> Result<usize> {
    let manifest = BitmapIndex::manifest(store)?;
    let mut all_pids: Vec<Pid> = pids.to_vec();
    // The other writers' columns are kept (moved out of the old table).
    let mut old_pids: Vec<Pid> = Vec::new();
    let mut kept: Vec<(Column, TraitOrigin)> = Vec::new();
    // Only they are read: the columns this writer replaces are never decoded.
    let replaced = |name: &str| {
        manifest.get(name).and_then(|m| m.origin.writer.as_deref()) == Some(writer)
            || columns.iter().any(|n| n.name == name)
    };
    if let Some((t, p)) = read_traits_where(store, |name| !replaced(name))? {
        all_pids.extend(&p);
        old_pids = p;
        for c in t.columns {
            if c.name != PID_COLUMN {
                let origin = manifest.get(&c.name).map(|m| m.origin.clone()).unwrap_or_default();
                kept.push((c, origin));
            }
        }
    }
    all_pids.sort_unstable();
    all_pids.dedup();
    // The row of each pid (pids are dense, so a vector indexed by pid).
    let mut row = vec![usize::MAX; all_pids.last().map_or(0, |&p| p as usize + 1)];
    for (i, &p) in all_pids.iter().enumerate() {
        row[p as usize] = i;
    }
    // A column over `from` spread onto the rows of `all_pids` (moved as it is when they agree).
    let place = |from: &[Pid], data: ColumnData| -> ColumnData {
        let n = all_pids.len();
        if from == all_pids.as_slice() {
            return data;
        }
        macro_rules! spread {
            ($v:expr, $variant:ident) => {{
                let mut out = vec![None; n];
                for (p, x) in from.iter().zip($v) {
                    out[row[*p as usize]] = x;
                }
                ColumnData::$variant(out)
            }};
        }
        match data {
            ColumnData::Bool(v) => spread!(v, Bool),
            ColumnData::Int(v) => spread!(v, Int),
            ColumnData::Float(v) => spread!(v, Float),
            ColumnData::Str(v) => spread!(v, Str),
        }
    };
    let mut stored = vec![Column {
        name: PID_COLUMN.into(),
        data: ColumnData::Int(all_pids.iter().map(|&p| Some(i64::from(p))).collect()),
    }];
    let mut all_origins = HashMap::new();
    for (c, origin) in kept {
        all_origins.insert(c.name.clone(), origin);
        stored.push(Column { data: place(&old_pids, c.data), name: c.name });
    }
    for c in columns {
        let mut origin = origins.get(&c.name).cloned().unwrap_or_default();
        origin.writer = Some(writer.to_string());
        all_origins.insert(c.name.clone(), origin);
        stored.push(Column { data: place(pids, c.data), name: c.name });
    }
    let named: Vec<(String, &ColumnData)> =
        stored[1..].iter().map(|c| (c.name.clone(), &c.data)).collect();
    let mut index = BitmapIndex::build(&named, &all_pids);
    drop(named);
    store.replace_dir("profiles", |dir| {
        crate::table::write_parquet(dir.join("traits.parquet"), stored)?;
        index.save(dir, &all_origins)
    })?;
    let n_traits = index.manifest.traits.len() as u64;
    let n_profiles = IdMap::load(store)?.len() as u64;
    store.update_counts(|c| {
        c.profiles = n_profiles;
        c.traits = n_traits;
    })?;
    Ok(n_traits as usize)
}

/// The traits table inside the store.
pub const TRAITS_TABLE: &str = "profiles/traits.parquet";

/// Reads the store's traits table and the pid of each row; `None` before the first import or
/// resolve.
pub fn read_traits(store: &Store) -> Result<Option<(Table, Vec<Pid>)>> {
    read_traits_where(store, |_| true)
}

/// [`read_traits`] with only the traits `keep` accepts (the pid column always comes).
pub fn read_traits_where(
    store: &Store,
    keep: impl Fn(&str) -> bool,
) -> Result<Option<(Table, Vec<Pid>)>> {
    let path = store.path(TRAITS_TABLE);
    if !path.exists() {
        return Ok(None);
    }
    let t = crate::table::read_parquet_where(&path, crate::table::Typing::Strict, |name| {
        name == PID_COLUMN || keep(name)
    })?;
    let pids = match &t.column(PID_COLUMN)?.data {
        ColumnData::Int(v) => v.iter().map(|p| p.unwrap_or(0) as Pid).collect(),
        _ => {
            return Err(Error::user(format!(
                "{} is corrupt: `{PID_COLUMN}` is not an integer column; import again",
                path.display()
            )))
        }
    };
    Ok(Some((t, pids)))
}

/// The id of every row, refusing empty and duplicate ids.
fn check_ids(table: &Table, id_col: &str) -> Result<Vec<String>> {
    let col = table
        .column(id_col)
        .map_err(|e| Error::user(format!("{e}; pass the id column with --id COLUMN")))?;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(table.rows);
    let mut ids = Vec::with_capacity(table.rows);
    for i in 0..table.rows {
        let id = col.data.text(i).ok_or_else(|| {
            Error::user(format!(
                "{}: {}, column `{id_col}`: the id is empty; every profile needs an id",
                table.path.display(),
                table.row_label(i)
            ))
        })?;
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(Error::user(format!(
                "{}: duplicate id `{id}` in column `{id_col}` at {} and {}; a profile table has \
                 one row per person: remove the duplicate, or deduplicate with `audience link`",
                table.path.display(),
                table.row_label(first),
                table.row_label(i)
            )));
        }
        ids.push(id);
    }
    Ok(ids)
}

const PII_NAMES: [&str; 16] = [
    "email",
    "e-mail",
    "mail",
    "phone",
    "mobile",
    "telephone",
    "name",
    "first_name",
    "last_name",
    "given_name",
    "surname",
    "full_name",
    "street",
    "address",
    "address_1",
    "address_2",
];

/// True when a column holds raw PII, by its name or by its values (mostly e-mail addresses).
fn looks_like_pii(col: &Column) -> bool {
    let lname = col.name.to_lowercase();
    if PII_NAMES.contains(&lname.as_str()) || lname.ends_with("_email") || lname.ends_with("_phone")
    {
        return true;
    }
    if let ColumnData::Str(v) = &col.data {
        let present: Vec<&String> = v.iter().flatten().take(1000).collect();
        let emails = present.iter().filter(|s| s.contains('@') && s.contains('.')).count();
        return !present.is_empty() && emails * 2 > present.len();
    }
    false
}

type TraitColumns = (Vec<Column>, HashMap<String, TraitOrigin>, Vec<String>);

/// The columns to store as traits, with party/provider/consent columns normalised.
fn trait_columns(table: &Table, opts: &ImportOptions) -> Result<TraitColumns> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let role_of = |name: &str| {
        if opts.party.as_deref() == Some(name) {
            Some(PARTY_TRAIT)
        } else if opts.provider.as_deref() == Some(name) {
            Some(PROVIDER_TRAIT)
        } else if opts.consent.as_deref() == Some(name) {
            Some(CONSENT_TRAIT)
        } else {
            None
        }
    };
    for flag in [&opts.party, &opts.provider, &opts.consent].into_iter().flatten() {
        table.column(flag)?;
    }
    for col in &table.columns {
        if col.name == opts.id {
            continue;
        }
        match role_of(&col.name) {
            Some(PARTY_TRAIT) => out.push(Column {
                name: PARTY_TRAIT.into(),
                data: ColumnData::Str(map_values(
                    table,
                    col,
                    parse_party,
                    "first, second or third",
                )?),
            }),
            Some(CONSENT_TRAIT) => out.push(Column {
                name: CONSENT_TRAIT.into(),
                data: ColumnData::Bool(map_values(table, col, parse_consent, "true or false")?),
            }),
            Some(_) => out.push(Column {
                name: PROVIDER_TRAIT.into(),
                data: ColumnData::Str((0..table.rows).map(|i| col.data.text(i)).collect()),
            }),
            None if looks_like_pii(col) => skipped.push(col.name.clone()),
            None => out.push(col.clone()),
        }
    }
    let mut names = std::collections::HashSet::new();
    for c in &out {
        if !names.insert(c.name.clone()) {
            return Err(Error::user(format!(
                "{}: two columns would both become trait `{}`; rename one of them",
                table.path.display(),
                c.name
            )));
        }
    }
    let origins = HashMap::new();
    Ok((out, origins, skipped))
}

fn map_values<T>(
    table: &Table,
    col: &Column,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Vec<Option<T>>> {
    (0..table.rows)
        .map(|i| match col.data.text(i) {
            None => Ok(None),
            Some(s) => parse(s.trim()).map(Some).ok_or_else(|| {
                Error::user(format!(
                    "{}: {}, column `{}`: `{s}` is not valid here; expected {expected}",
                    table.path.display(),
                    table.row_label(i),
                    col.name
                ))
            }),
        })
        .collect()
}

/// Normalises a party value: first/1st/1/1p, second/2nd/2/2p, third/3rd/3/3p.
pub fn parse_party(s: &str) -> Option<String> {
    let s = s.to_lowercase();
    let s = s.trim_end_matches("-party").trim_end_matches(" party");
    match s {
        "first" | "1st" | "1" | "1p" => Some("first".into()),
        "second" | "2nd" | "2" | "2p" => Some("second".into()),
        "third" | "3rd" | "3" | "3p" => Some("third".into()),
        _ => None,
    }
}

/// Parses a consent value: true/false, yes/no, y/n, 1/0, granted/denied.
pub fn parse_consent(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "granted" | "opt-in" | "optin" => Some(true),
        "false" | "no" | "n" | "0" | "denied" | "opt-out" | "optout" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_and_consent_values() {
        assert_eq!(parse_party("1st").as_deref(), Some("first"));
        assert_eq!(parse_party("Third-Party").as_deref(), Some("third"));
        assert_eq!(parse_party("fourth"), None);
        assert_eq!(parse_consent("Yes"), Some(true));
        assert_eq!(parse_consent("0"), Some(false));
        assert_eq!(parse_consent("maybe"), None);
    }
}
