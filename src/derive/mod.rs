//! `audience derive`: traits computed from the raw sources, per profile, as of a day.
//!
//! Owns the pipeline: find the sources in a directory (`NAME.parquet`, `NAME.csv` or
//! `NAME.csv.gz`, schemas in README.md), read only the columns it needs, resolve every row to a
//! pid through a [`keys::KeyResolver`], turn timestamps into ages in days relative to the as-of
//! day, accumulate ([`compute`]), add the CRM and 3rd-party provider traits, and write them into
//! the store **merged with the imported traits**: the profile table's rows stay the universe;
//! a derived trait replaces an imported trait of the same name; the traits of the previous derive
//! (listed in `profiles/derive.json`) are replaced as a whole. Re-importing rebuilds `profiles/`
//! without derived traits and says so: run `derive` again after an import.
//!
//! The as-of day defaults to the UTC day of the latest event in the sources. Windows and ages:
//! see [`compute`]; names and meanings: [`catalog`].
//!
//! Rows go to the profiles of identity resolution when the store was resolved, else to customer
//! ids ([`keys`]). It does not own identity resolution nor the bitmap index format (it goes
//! through [`crate::import::merge_traits`]).

// Sources are read as parallel columns, indexed by row.
#![allow(clippy::needless_range_loop)]

pub mod catalog;
pub mod compute;
pub mod keys;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::idmap::IdMap;
use crate::index::{Pid, TraitOrigin};
use crate::store::{civil_from_days, days_from_civil, Store};
use crate::table::{
    find_source, read_source, read_table, Column, ColumnData, SourceColumn, SourceKind,
    SourceTable, MISSING_CODE,
};

use compute::{CampaignEvent, Events, Purchase, WebEvent, WebKind, NONE};
use keys::{code_pids, codes, row_pid, CustomerKeys, GraphKeys, KeyResolver, NO_PID};

/// Where derive records what it wrote (as-of day, windows, trait names).
pub const DERIVE_FILE: &str = "profiles/derive.json";

/// The default windows, in days.
pub const DEFAULT_WINDOWS: [u32; 3] = [30, 90, 365];

/// How to derive.
#[derive(Debug, Clone)]
pub struct DeriveOptions {
    /// The as-of day (days since 1970-01-01); `None`: the day of the latest event.
    pub as_of: Option<i64>,
    /// Windows in days, ascending, distinct.
    pub windows: Vec<u32>,
}

impl Default for DeriveOptions {
    fn default() -> Self {
        DeriveOptions { as_of: None, windows: DEFAULT_WINDOWS.to_vec() }
    }
}

/// Parses `--windows 30,90,365`: positive whole days, sorted and deduplicated.
pub fn parse_windows(s: &str) -> Result<Vec<u32>> {
    let mut w = s
        .split(',')
        .map(|p| {
            p.trim().parse::<u32>().ok().filter(|&d| (1..=36_500).contains(&d)).ok_or_else(|| {
                Error::user(format!(
                    "--windows: `{}` is not a number of days between 1 and 36500; write e.g. \
                     --windows 30,90,365",
                    p.trim()
                ))
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    w.sort_unstable();
    w.dedup();
    Ok(w)
}

/// Parses a `YYYY-MM-DD` date into days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.get(..2)?.parse().ok()?;
    if s.len() < 10 || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Rows read and rows that found a profile, per source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceCount {
    /// Source name (`receipts`, `providers/acme`, ...).
    pub name: String,
    /// Rows read.
    pub rows: usize,
    /// Rows resolved to a profile (and not after the as-of day, for events).
    pub matched: usize,
}

/// Derived traits for pids `0..n`, before they are merged into the store.
#[derive(Debug, Clone)]
pub struct Derived {
    /// Trait columns over pids `0..n` (row index = pid), sorted by name.
    pub columns: Vec<(String, ColumnData)>,
    /// Party and provider of every trait.
    pub origins: HashMap<String, TraitOrigin>,
    /// The as-of day.
    pub as_of_day: i64,
    /// The windows.
    pub windows: Vec<u32>,
    /// Per-source counts.
    pub sources: Vec<SourceCount>,
    /// Event rows read (receipts, web, e-mail and ad events).
    pub events: usize,
    /// Seconds reading sources.
    pub read_secs: f64,
    /// Seconds computing.
    pub compute_secs: f64,
}

/// `profiles/derive.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeriveRecord {
    /// The as-of day, `YYYY-MM-DD`.
    pub as_of: String,
    /// Windows in days.
    pub windows: Vec<u32>,
    /// Half-life of the web decay, in days.
    pub half_life_days: f64,
    /// Per-source counts.
    pub sources: Vec<SourceCount>,
    /// The derived trait names.
    pub traits: Vec<String>,
}

/// What `derive` did.
#[derive(Debug, Clone)]
pub struct DeriveReport {
    /// The derived traits' summary (columns dropped after writing).
    pub record: DeriveRecord,
    /// Profiles in the traits table.
    pub profiles: usize,
    /// Event rows read.
    pub events: usize,
    /// True when rows went to the profiles of identity resolution's graph; false when they were
    /// keyed by customer ids (a store filled by `import` only).
    pub resolved: bool,
    /// Seconds reading, computing, and indexing + writing.
    pub secs: (f64, f64, f64),
}

fn stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    for ext in [".csv.gz", ".parquet", ".csv"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name
}

fn int_col<'a>(t: &'a SourceTable, name: &str) -> &'a [Option<i64>] {
    match t.get(name) {
        Some(SourceColumn::Int(v)) => v,
        _ => &[],
    }
}

fn ts_day(t: &SourceTable, ts: &[Option<i64>], i: usize) -> Result<i64> {
    ts[i].map(|s| s.div_euclid(86_400)).ok_or_else(|| {
        Error::user(format!(
            "{}: {}, column `ts`: the timestamp is empty; every event needs ts (unix seconds, UTC)",
            t.path.display(),
            t.row_label(i)
        ))
    })
}

/// Sorted name parts of a dictionary, and each code's index among them.
fn vocabulary(dict: &[String]) -> (Vec<String>, Vec<u32>) {
    let parts: Vec<String> = dict.iter().map(|d| catalog::name_part(d)).collect();
    let mut names: Vec<String> = parts.iter().filter(|p| !p.is_empty()).cloned().collect();
    names.sort();
    names.dedup();
    let index: HashMap<&str, u32> =
        names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
    let codes = parts.iter().map(|p| index.get(p.as_str()).copied().unwrap_or(NONE)).collect();
    (names, codes)
}

fn code_is(dict: &[String], f: impl Fn(&str) -> bool) -> Vec<bool> {
    dict.iter().map(|d| f(&d.to_lowercase())).collect()
}

/// Computes the derived traits of pids `0..idmap.len()` from the sources in `dir`.
///
/// Rows go to the profiles of identity resolution's graph when `graph` is given (a resolved
/// store), otherwise to customer ids, with cookies and devices learned from logins.
pub fn derive_traits(
    dir: &Path,
    idmap: &IdMap,
    graph: Option<&GraphKeys>,
    opts: &DeriveOptions,
) -> Result<Derived> {
    let keying = match graph {
        Some(g) => Keying::Graph(idmap, g),
        None => Keying::Customers(idmap),
    };
    Ok(derive_keyed(dir, keying, opts)?.0)
}

/// Computes the traits of every first-party cookie of the sources in `dir` (web events and ad
/// exposures), one profile per cookie: the cookies, sorted (row `i` of every column is cookie
/// `i`), and their traits. This is how batch scoring sees new cookies' raw events: the same
/// pipeline and trait names as [`derive_traits`], keyed by cookie instead of by customer
/// (customer-keyed sources such as receipts and CRM rows find no cookie and count nothing).
pub fn derive_cookie_traits(dir: &Path, opts: &DeriveOptions) -> Result<(Vec<String>, Derived)> {
    let (derived, cookies) = derive_keyed(dir, Keying::Cookies, opts)?;
    Ok((cookies.unwrap_or_default(), derived))
}

/// Who the profiles are.
enum Keying<'a> {
    /// The store's customers (its id map).
    Customers(&'a IdMap),
    /// The profiles of a resolved store, through its identity graph.
    Graph(&'a IdMap, &'a GraphKeys),
    /// The cookies found in the sources.
    Cookies,
}

fn derive_keyed(
    dir: &Path,
    keying: Keying<'_>,
    opts: &DeriveOptions,
) -> Result<(Derived, Option<Vec<String>>)> {
    use SourceKind::{Bool, Float, Int, Key};
    if !dir.is_dir() {
        return Err(Error::user(format!(
            "{}: no such directory; give the directory that holds the sources \
             (receipts.parquet, web_events.csv, ...)",
            dir.display()
        )));
    }
    if opts.windows.is_empty() {
        return Err(Error::user("--windows: give at least one window, e.g. --windows 30,90,365"));
    }
    let t0 = Instant::now();
    let read = |name: &str, wanted: &[(&str, SourceKind, bool)]| -> Result<Option<SourceTable>> {
        find_source(dir, name).map(|p| read_source(p, wanted)).transpose()
    };
    let crm = read(
        "crm",
        &[
            ("customer_id", Key, true),
            ("email", Key, false),
            ("loyalty_card", Key, false),
            ("ad_consent", Bool, false),
            ("birth_date", Key, false),
            ("signup_date", Key, false),
        ],
    )?;
    let receipts = read(
        "receipts",
        &[
            ("ts", Int, true),
            ("amount", Float, true),
            ("channel", Key, false),
            ("loyalty_card", Key, false),
            ("customer_id", Key, false),
            ("category", Key, false),
        ],
    )?;
    let web = read(
        "web_events",
        &[
            ("ts", Int, true),
            ("cookie", Key, true),
            ("event_type", Key, true),
            ("device_id", Key, false),
            ("category", Key, false),
            ("session_id", Key, false),
            ("email_sha256", Key, false),
        ],
    )?;
    let email = read(
        "email_events",
        &[
            ("ts", Int, true),
            ("email_sha256", Key, true),
            ("campaign", Key, true),
            ("event", Key, true),
        ],
    )?;
    let ads = read(
        "ad_exposures",
        &[
            ("ts", Int, true),
            ("campaign", Key, true),
            ("event", Key, true),
            ("cookie", Key, false),
            ("device_id", Key, false),
        ],
    )?;
    if receipts.is_none() && web.is_none() && email.is_none() && ads.is_none() {
        return Err(Error::user(format!(
            "{}: none of receipts, web_events, email_events, ad_exposures is there (as NAME.parquet, \
             NAME.csv or NAME.csv.gz); see the source schemas in README.md",
            dir.display()
        )));
    }
    let read_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();

    let customer_keys;
    let (keys, web_pids, n, cookie_ids): (&dyn KeyResolver, _, _, _) = match keying {
        Keying::Graph(idmap, g) => (g, web.as_ref().map(|w| g.web_pids(w)), idmap.len(), None),
        Keying::Customers(idmap) => {
            let mut k = CustomerKeys::new(idmap, crm.as_ref())?;
            let pids = web.as_ref().map(|w| k.learn_web(w));
            customer_keys = k;
            (&customer_keys, pids, idmap.len(), None)
        }
        Keying::Cookies => {
            let mut ids: Vec<String> = [web.as_ref(), ads.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|t| codes(t.get("cookie")))
                .flat_map(|(_, dict)| dict.iter().filter(|c| !c.is_empty()).cloned())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut k = CustomerKeys::for_cookies(&ids);
            let pids = web.as_ref().map(|w| k.learn_web(w));
            customer_keys = k;
            (&customer_keys, pids, ids.len(), Some(ids))
        }
    };

    // The as-of day: given, or the latest event day.
    let as_of = match opts.as_of {
        Some(d) => d,
        None => [&receipts, &web, &email, &ads]
            .iter()
            .filter_map(|t| t.as_ref())
            .filter_map(|t| int_col(t, "ts").par_iter().flatten().max().copied())
            .max()
            .map(|s| s.div_euclid(86_400))
            .ok_or_else(|| Error::user("the sources hold no events: cannot choose --as-of"))?,
    };
    let age_of = |t: &SourceTable, ts: &[Option<i64>], i: usize| -> Result<i64> {
        Ok(as_of - ts_day(t, ts, i)?)
    };
    let mut counts = Vec::new();
    let mut events = Events { has_email: vec![false; n], ..Default::default() };
    let mut n_events = 0;

    if let Some(crm) = &crm {
        if let (Some((ids, dict)), Some((em, _))) =
            (codes(crm.get("customer_id")), codes(crm.get("email")))
        {
            let pids = code_pids(dict, |s| keys.customer(s));
            for i in 0..crm.rows {
                let p = row_pid(ids, &pids, i);
                if p != NO_PID && em[i] != MISSING_CODE {
                    events.has_email[p as usize] = true;
                }
            }
        }
    }

    if let Some(t) = &receipts {
        let ts = int_col(t, "ts");
        let cust =
            codes(t.get("customer_id")).map(|(c, d)| (c, code_pids(d, |s| keys.customer(s))));
        let card =
            codes(t.get("loyalty_card")).map(|(c, d)| (c, code_pids(d, |s| keys.loyalty_card(s))));
        let (cats, cat_codes) = match codes(t.get("category")) {
            Some((c, d)) => {
                let (names, map) = vocabulary(d);
                (names, Some((c, map)))
            }
            None => (Vec::new(), None),
        };
        let online = codes(t.get("channel")).map(|(c, d)| (c, code_is(d, |s| s == "online")));
        let amount = match t.get("amount") {
            Some(SourceColumn::Float(v)) => v.as_slice(),
            _ => &[],
        };
        let rows: Vec<Option<Purchase>> = (0..t.rows)
            .into_par_iter()
            .map(|i| {
                let age = age_of(t, ts, i)?;
                let mut pid = cust.as_ref().map_or(NO_PID, |(c, p)| row_pid(c, p, i));
                if pid == NO_PID {
                    pid = card.as_ref().map_or(NO_PID, |(c, p)| row_pid(c, p, i));
                }
                if pid == NO_PID || age < 0 {
                    return Ok(None);
                }
                let amount = amount[i].ok_or_else(|| {
                    Error::user(format!(
                        "{}: {}, column `amount`: the amount is empty; every receipt needs one",
                        t.path.display(),
                        t.row_label(i)
                    ))
                })?;
                let cat = cat_codes.as_ref().map_or(NONE, |(c, m)| match c[i] {
                    MISSING_CODE => NONE,
                    k => m[k as usize],
                });
                let online =
                    online.as_ref().is_some_and(|(c, o)| c[i] != MISSING_CODE && o[c[i] as usize]);
                Ok(Some(Purchase { pid, age: age as i32, cat, online, amount }))
            })
            .collect::<Result<_>>()?;
        events.purchases = rows.into_iter().flatten().collect();
        events.purchase_cats = cats;
        counts.push(SourceCount {
            name: "receipts".into(),
            rows: t.rows,
            matched: events.purchases.len(),
        });
        n_events += t.rows;
    }

    if let (Some(t), Some(pids)) = (&web, &web_pids) {
        let ts = int_col(t, "ts");
        let (et, ed) = codes(t.get("event_type")).expect("required column");
        let kinds: Vec<WebKind> = ed
            .iter()
            .map(|d| match d.to_lowercase().as_str() {
                "page_view" => WebKind::PageView,
                "add_to_cart" => WebKind::Cart,
                _ => WebKind::Other,
            })
            .collect();
        let (cats, cat_codes) = match codes(t.get("category")) {
            Some((c, d)) => {
                let (names, map) = vocabulary(d);
                (names, Some((c, map)))
            }
            None => (Vec::new(), None),
        };
        let sess = codes(t.get("session_id")).map(|(c, _)| c);
        let rows: Vec<Option<WebEvent>> = (0..t.rows)
            .into_par_iter()
            .map(|i| {
                let age = age_of(t, ts, i)?;
                if pids[i] == NO_PID || age < 0 {
                    return Ok(None);
                }
                let kind =
                    if et[i] == MISSING_CODE { WebKind::Other } else { kinds[et[i] as usize] };
                let cat = cat_codes.as_ref().map_or(NONE, |(c, m)| match c[i] {
                    MISSING_CODE => NONE,
                    k => m[k as usize],
                });
                let session = sess.map_or(NONE, |s| if s[i] == MISSING_CODE { NONE } else { s[i] });
                Ok(Some(WebEvent { pid: pids[i], age: age as i32, kind, cat, session }))
            })
            .collect::<Result<_>>()?;
        events.web = rows.into_iter().flatten().collect();
        events.web_cats = cats;
        counts.push(SourceCount {
            name: "web_events".into(),
            rows: t.rows,
            matched: events.web.len(),
        });
        n_events += t.rows;
    }

    // E-mail and ad events: a campaign and an event that is a click or not.
    let campaign_events = |t: &SourceTable,
                           pid_of: &(dyn Fn(usize) -> Pid + Sync),
                           click_word: &str|
     -> Result<(Vec<CampaignEvent>, Vec<String>, usize)> {
        let ts = int_col(t, "ts");
        let (cc, cd) = codes(t.get("campaign")).expect("required column");
        let (names, map) = vocabulary(cd);
        let (ec, ed) = codes(t.get("event")).expect("required column");
        let click = code_is(ed, |s| s == click_word);
        let mut seen = vec![false; names.len()];
        let rows: Vec<Option<CampaignEvent>> = (0..t.rows)
            .into_par_iter()
            .map(|i| {
                let age = age_of(t, ts, i)?;
                let pid = pid_of(i);
                let campaign = if cc[i] == MISSING_CODE { NONE } else { map[cc[i] as usize] };
                if pid == NO_PID || age < 0 || campaign == NONE || ec[i] == MISSING_CODE {
                    return Ok(None);
                }
                Ok(Some(CampaignEvent {
                    pid,
                    age: age as i32,
                    campaign,
                    click: click[ec[i] as usize],
                }))
            })
            .collect::<Result<_>>()?;
        for i in 0..t.rows {
            if cc[i] != MISSING_CODE && ts[i].is_some_and(|s| s.div_euclid(86_400) <= as_of) {
                let m = map[cc[i] as usize];
                if m != NONE {
                    seen[m as usize] = true;
                }
            }
        }
        let sent = seen.iter().filter(|&&s| s).count();
        Ok((rows.into_iter().flatten().collect(), names, sent))
    };

    if let Some(t) = &email {
        let (c, d) = codes(t.get("email_sha256")).expect("required column");
        let p = code_pids(d, |s| keys.email_sha256(s));
        let (rows, _, sent) = campaign_events(t, &|i| row_pid(c, &p, i), "click")?;
        counts.push(SourceCount { name: "email_events".into(), rows: t.rows, matched: rows.len() });
        events.email = rows;
        events.email_campaigns = sent;
        n_events += t.rows;
    }
    if let Some(t) = &ads {
        let cookie = codes(t.get("cookie")).map(|(c, d)| (c, code_pids(d, |s| keys.cookie(s))));
        let device = codes(t.get("device_id")).map(|(c, d)| (c, code_pids(d, |s| keys.device(s))));
        let pid_of = |i: usize| {
            let p = cookie.as_ref().map_or(NO_PID, |(c, p)| row_pid(c, p, i));
            if p != NO_PID {
                p
            } else {
                device.as_ref().map_or(NO_PID, |(c, p)| row_pid(c, p, i))
            }
        };
        let (rows, names, _) = campaign_events(t, &pid_of, "click")?;
        counts.push(SourceCount { name: "ad_exposures".into(), rows: t.rows, matched: rows.len() });
        events.ads = rows;
        events.ad_campaigns = names;
        n_events += t.rows;
    }
    let mut columns = compute::compute(&events, n, &opts.windows);
    drop(events);
    if let Some(crm) = &crm {
        columns.extend(crm_traits(crm, keys, n, as_of)?);
    }
    if web.is_some() {
        let (cookies, devices) = keys.key_counts(n);
        let int =
            |v: Vec<u32>| ColumnData::Int(v.into_iter().map(|x| Some(i64::from(x))).collect());
        columns.push(("cookies.count".into(), int(cookies)));
        columns.push(("devices.count".into(), int(devices)));
    }
    let mut origins: HashMap<String, TraitOrigin> = columns
        .iter()
        .map(|(name, _)| {
            (name.clone(), TraitOrigin { party: Some("first".into()), ..Default::default() })
        })
        .collect();
    let providers_dir = dir.join("providers");
    if providers_dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&providers_dir)
            .at(&providers_dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let s = p.to_string_lossy().to_lowercase();
                s.ends_with(".csv") || s.ends_with(".csv.gz") || s.ends_with(".parquet")
            })
            .collect();
        files.sort();
        for path in files {
            let provider = catalog::name_part(&stem(&path));
            let (cols, count) = provider_traits(&path, &provider, keys, n)?;
            for (name, _) in &cols {
                origins.insert(
                    name.clone(),
                    TraitOrigin {
                        party: Some("third".into()),
                        provider: Some(provider.clone()),
                        ..Default::default()
                    },
                );
            }
            columns.extend(cols);
            counts.push(count);
        }
    }
    columns.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = columns.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::user(format!(
            "two sources give the derived trait `{}`; rename the provider file or column",
            w[0].0
        )));
    }
    let derived = Derived {
        columns,
        origins,
        as_of_day: as_of,
        windows: opts.windows.clone(),
        sources: counts,
        events: n_events,
        read_secs,
        compute_secs: t1.elapsed().as_secs_f64(),
    };
    Ok((derived, cookie_ids))
}

/// `loyalty.member`, `consent.ads`, `demo.age`, `demo.tenure_days` from the CRM rows.
fn crm_traits(
    crm: &SourceTable,
    keys: &dyn KeyResolver,
    n: usize,
    as_of: i64,
) -> Result<Vec<(String, ColumnData)>> {
    let Some((ids, dict)) = codes(crm.get("customer_id")) else { return Ok(Vec::new()) };
    let pids = code_pids(dict, |s| keys.customer(s));
    let mut out = Vec::new();
    if let Some((cards, _)) = codes(crm.get("loyalty_card")) {
        let mut v = vec![None; n];
        for i in 0..crm.rows {
            let p = row_pid(ids, &pids, i);
            if p != NO_PID {
                v[p as usize] = Some(cards[i] != MISSING_CODE);
            }
        }
        out.push(("loyalty.member".to_string(), ColumnData::Bool(v)));
    }
    if let Some(SourceColumn::Bool(c)) = crm.get("ad_consent") {
        let mut v = vec![None; n];
        for i in 0..crm.rows {
            let p = row_pid(ids, &pids, i);
            if p != NO_PID {
                v[p as usize] = c[i];
            }
        }
        out.push(("consent.ads".to_string(), ColumnData::Bool(v)));
    }
    let date_col = |col: &str| -> Result<Option<Vec<Option<i64>>>> {
        let Some((c, d)) = codes(crm.get(col)) else { return Ok(None) };
        let days: Vec<Option<i64>> = d.iter().map(|s| parse_date(s)).collect();
        let mut v = vec![None; n];
        for i in 0..crm.rows {
            if c[i] == MISSING_CODE {
                continue;
            }
            let day = days[c[i] as usize].ok_or_else(|| {
                Error::user(format!(
                    "{}: {}, column `{col}`: `{}` is not a date; write YYYY-MM-DD",
                    crm.path.display(),
                    crm.row_label(i),
                    d[c[i] as usize]
                ))
            })?;
            let p = row_pid(ids, &pids, i);
            if p != NO_PID {
                v[p as usize] = Some(day);
            }
        }
        Ok(Some(v))
    };
    if let Some(birth) = date_col("birth_date")? {
        let (y, m, d) = civil_from_days(as_of);
        let age = birth
            .into_iter()
            .map(|b| {
                b.filter(|&b| b <= as_of).map(|b| {
                    let (by, bm, bd) = civil_from_days(b);
                    y - by - i64::from((m, d) < (bm, bd))
                })
            })
            .collect();
        out.push(("demo.age".to_string(), ColumnData::Int(age)));
    }
    if let Some(signup) = date_col("signup_date")? {
        let tenure =
            signup.into_iter().map(|s| s.filter(|&s| s <= as_of).map(|s| as_of - s)).collect();
        out.push(("demo.tenure_days".to_string(), ColumnData::Int(tenure)));
    }
    Ok(out)
}

/// The traits of one provider file: every column other than `id_kind` and `id` becomes
/// `provider.P.COL` (the first matched row of a profile wins), and `interests` (`;`-separated)
/// becomes one boolean `provider.P.interest.X` per interest.
fn provider_traits(
    path: &Path,
    provider: &str,
    keys: &dyn KeyResolver,
    n: usize,
) -> Result<(Vec<(String, ColumnData)>, SourceCount)> {
    let t = read_table(path)?;
    let kind = t.column("id_kind")?;
    let id = t.column("id")?;
    let mut row_of: Vec<Option<usize>> = vec![None; n];
    let mut matched = 0;
    for i in 0..t.rows {
        let (Some(k), Some(v)) = (kind.data.text(i), id.data.text(i)) else { continue };
        let pid = match k.to_lowercase().as_str() {
            "cookie" => keys.cookie(&v),
            "maid" | "device" | "device_id" => keys.device(&v),
            other => {
                return Err(Error::user(format!(
                    "{}: {}, column `id_kind`: `{other}` is not an id kind; write cookie or maid",
                    path.display(),
                    t.row_label(i)
                )))
            }
        };
        if let Some(p) = pid {
            matched += 1;
            row_of[p as usize].get_or_insert(i);
        }
    }
    let mut out = Vec::new();
    for col in &t.columns {
        if col.name == "id_kind" || col.name == "id" {
            continue;
        }
        if col.name == "interests" {
            let mut by_interest: BTreeMap<String, Vec<Option<bool>>> = BTreeMap::new();
            let lists: Vec<Option<HashSet<String>>> = row_of
                .iter()
                .map(|r| {
                    r.map(|i| {
                        col.data
                            .text(i)
                            .unwrap_or_default()
                            .split(';')
                            .map(catalog::name_part)
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                })
                .collect();
            for x in lists.iter().flatten().flatten() {
                by_interest.entry(x.clone()).or_default();
            }
            for (x, v) in by_interest.iter_mut() {
                *v = lists.iter().map(|l| l.as_ref().map(|s| s.contains(x))).collect();
            }
            for (x, v) in by_interest {
                out.push((format!("provider.{provider}.interest.{x}"), ColumnData::Bool(v)));
            }
            continue;
        }
        let name = format!("provider.{provider}.{}", catalog::name_part(&col.name));
        let data = match &col.data {
            ColumnData::Bool(v) => {
                ColumnData::Bool(row_of.iter().map(|r| r.and_then(|i| v[i])).collect())
            }
            ColumnData::Int(v) => {
                ColumnData::Int(row_of.iter().map(|r| r.and_then(|i| v[i])).collect())
            }
            ColumnData::Float(v) => {
                ColumnData::Float(row_of.iter().map(|r| r.and_then(|i| v[i])).collect())
            }
            ColumnData::Str(v) => {
                ColumnData::Str(row_of.iter().map(|r| r.and_then(|i| v[i].clone())).collect())
            }
        };
        out.push((name, data));
    }
    let count = SourceCount { name: format!("providers/{provider}"), rows: t.rows, matched };
    Ok((out, count))
}

fn gather(col: &ColumnData, pids: &[Pid]) -> ColumnData {
    let at = |p: &Pid| *p as usize;
    match col {
        ColumnData::Bool(v) => ColumnData::Bool(pids.iter().map(|p| v[at(p)]).collect()),
        ColumnData::Int(v) => ColumnData::Int(pids.iter().map(|p| v[at(p)]).collect()),
        ColumnData::Float(v) => ColumnData::Float(pids.iter().map(|p| v[at(p)]).collect()),
        ColumnData::Str(v) => ColumnData::Str(pids.iter().map(|p| v[at(p)].clone()).collect()),
    }
}

/// The record of the last derive, if any.
pub fn load_record(store: &Store) -> Result<Option<DeriveRecord>> {
    let path = store.path(DERIVE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).at(&path)?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::user(format!("{} is corrupt ({e}); run `audience derive` again", path.display()))
    })
}

/// Derives the traits from the sources in `dir` and merges them into the store; see the module
/// docs.
pub fn derive(store: &mut Store, dir: &Path, opts: &DeriveOptions) -> Result<DeriveReport> {
    let traits_path = store.path("profiles/traits.parquet");
    if !traits_path.exists() {
        return Err(Error::user(
            "the store has no profiles yet: import the profile table first \
             (`audience import crm.csv --id customer_id`), then derive",
        ));
    }
    let idmap = IdMap::load(store)?;
    let graph = GraphKeys::load(store)?;
    let derived = derive_traits(dir, &idmap, graph.as_ref(), opts)?;
    let resolved = graph.is_some();
    drop(graph);
    let t2 = Instant::now();
    // The pids only: the other columns are read once, by the merge, and only those it keeps.
    let Some((_, pids)) = crate::import::read_traits_where(store, |_| false)? else {
        return Err(Error::internal(format!("{} vanished during derive", traits_path.display())));
    };
    let record = DeriveRecord {
        as_of: format_date(derived.as_of_day),
        windows: derived.windows.clone(),
        half_life_days: catalog::HALF_LIFE_DAYS,
        sources: derived.sources.clone(),
        traits: derived.columns.iter().map(|(n, _)| n.clone()).collect(),
    };
    // Rows in pid order (what import writes) take the columns as they are; otherwise gather.
    let n = idmap.len();
    let identity = pids.len() == n && pids.iter().enumerate().all(|(i, &p)| p as usize == i);
    // One column at a time, each original freed as soon as it is gathered.
    let gathered: Vec<Column> = derived
        .columns
        .into_iter()
        .map(|(name, data)| {
            let data = if identity { data } else { gather(&data, &pids) };
            Column { name, data }
        })
        .collect();
    // The previous derive's traits are replaced as a whole; imported and resolved ones stay.
    let n_traits = crate::import::merge_traits(store, "derive", &pids, gathered, &derived.origins)?;
    store.write_json(DERIVE_FILE, &record)?;
    let _ = n_traits;
    // The providers' price list travels with their files: record the CPMs for expansion costs
    // and the provider audit.
    if let Some(path) = find_source(dir, "providers") {
        crate::lookalike::save_provider_cpms(store, &path)?;
    }
    Ok(DeriveReport {
        record,
        profiles: pids.len(),
        events: derived.events,
        resolved,
        secs: (derived.read_secs, derived.compute_secs, t2.elapsed().as_secs_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_windows_parse_strictly() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2024-02-29").map(format_date).as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("20230101"), None);
        assert_eq!(parse_windows("90, 30,90").unwrap(), vec![30, 90]);
        assert!(parse_windows("30,x").unwrap_err().to_string().contains("`x`"));
        assert!(parse_windows("0").is_err());
    }

    #[test]
    fn vocabulary_merges_spellings() {
        let (names, codes) =
            vocabulary(&["Shoes".into(), "books".into(), "shoes".into(), "".into()]);
        assert_eq!(names, vec!["books", "shoes"]);
        assert_eq!(codes, vec![1, 0, 1, NONE]);
    }
}
