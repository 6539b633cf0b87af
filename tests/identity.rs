//! `resolve` end to end on generated worlds: stable pids when the sources grow, and the pairwise
//! quality against the world's truth.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use audience::generate::{generate, Format, Options};
use audience::identity::{quality, resolve, MergeRule, ResolveOptions};
use audience::store::Store;
use audience::table::{read_table, read_text_columns};

fn world(dir: &Path, people: u64, seed: u64, format: Format) -> std::path::PathBuf {
    let out = dir.join("world");
    generate(&Options { people, seed, out: out.clone(), format, quiet: true }).unwrap();
    out
}

/// `key → pid` of the store's resolved identifiers.
fn pids(store: &Path) -> HashMap<String, i64> {
    let t = read_table(store.join("identity/identifiers.parquet")).unwrap();
    let keys = t.column("key").unwrap();
    let pids = t.column("pid").unwrap();
    (0..t.rows).map(|i| (keys.data.text(i).unwrap(), pids.data.number(i).unwrap() as i64)).collect()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[test]
fn pids_are_stable_when_sources_grow_and_a_merge_keeps_the_smallest() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), 1500, 11, Format::Csv);
    let store_dir = dir.path().join("store");
    let mut store = Store::init(&store_dir).unwrap();
    let opts =
        ResolveOptions { rule: MergeRule::Deterministic, crm_dedupe: false, ..Default::default() };
    let first = resolve(&mut store, &w, &opts).unwrap();
    assert_eq!(first.new_profiles, first.profiles);
    let before = pids(&store_dir);

    // The same sources again: nothing moves.
    let again = resolve(&mut store, &w, &opts).unwrap();
    assert_eq!((again.new_profiles, again.aliases), (0, 0));
    assert_eq!(pids(&store_dir), before);

    // New records: a new customer, and one record carrying the email of one known customer and
    // the phone of another, which merges their two profiles.
    let names = ["customer_id", "email", "phone", "country"];
    let crm = read_text_columns(&w.join("crm.csv"), &names, &[]).unwrap();
    let col = |name: &str, i: usize| crm[names.iter().position(|n| *n == name).unwrap()][i].clone();
    let rows = crm[0].len();
    let pid_of_row = |i: usize| before[&format!("customer_id:{}", col("customer_id", i).unwrap())];
    let a = (0..rows).find(|&i| col("email", i).is_some()).unwrap();
    let b =
        (0..rows).find(|&i| col("phone", i).is_some() && pid_of_row(i) != pid_of_row(a)).unwrap();
    let (pa, pb) = (pid_of_row(a), pid_of_row(b));
    let text = fs::read_to_string(w.join("crm.csv")).unwrap();
    let header: Vec<String> =
        text.lines().next().unwrap().split(',').map(|h| h.trim().to_string()).collect();
    let line = |values: &[(&str, String)]| {
        header
            .iter()
            .map(|h| values.iter().find(|v| v.0 == h).map(|v| quote(&v.1)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line(&[
        ("customer_id", "CNEW0001".into()),
        ("email", "someone.new@example.org".into()),
    ]));
    text.push('\n');
    text.push_str(&line(&[
        ("customer_id", "CNEW0002".into()),
        ("email", col("email", a).unwrap()),
        ("phone", col("phone", b).unwrap()),
        ("country", col("country", b).unwrap_or_default()),
    ]));
    text.push('\n');
    fs::write(w.join("crm.csv"), text).unwrap();

    let grown = resolve(&mut store, &w, &opts).unwrap();
    assert_eq!(grown.new_profiles, 1, "only the new customer is a new person");
    assert_eq!(grown.aliases, 1, "one merge");
    let after = pids(&store_dir);
    let (keep, gone) = (pa.min(pb), pa.max(pb));
    for (key, &old) in &before {
        let expected = if old == gone { keep } else { old };
        assert_eq!(after[key], expected, "{key} moved from {old}");
    }
    assert_eq!(after["customer_id:CNEW0002"], keep);
    let new = after["customer_id:CNEW0001"];
    assert!(before.values().all(|&p| p != new), "a new person gets a new pid");
    let aliases: BTreeMap<String, i64> =
        serde_json::from_slice(&fs::read(store_dir.join("identity/aliases.json")).unwrap())
            .unwrap();
    assert_eq!(aliases.get(&gone.to_string()), Some(&keep), "{aliases:?}");
}

/// Floors just below the figures measured on this world (precision 0.9904, recall 0.5368, recall
/// among identifiers with evidence 0.6494 with the default merge rule, session 11; before order
/// matching 0.9923 / 0.5038; see README "Identity resolution"): a change that loses matching
/// power or merges people fails here.
#[test]
fn resolve_quality_on_a_generated_world_stays_above_the_measured_floors() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), 4000, 3, Format::Parquet);
    let mut store = Store::init(dir.path().join("store")).unwrap();
    let r = resolve(&mut store, &w, &ResolveOptions::default()).unwrap();
    assert!(r.crm.links > 0, "the CRM dedupe found duplicates: {:?}", r.crm);
    assert!(r.cross_device.links > 0, "cross-device links: {:?}", r.cross_device);
    // Every online order has its web purchase within minutes, and most customers order twice.
    let o = &r.orders;
    assert!(o.orders > 0 && o.orders_with_candidates == o.orders, "{o:?}");
    assert!(o.links_repeated > o.links_single && o.links_single > 0, "{o:?}");
    // Customers without a CRM email (or with another one) reach the digital world through them.
    let via = &r.onboarding.by_match_type;
    assert!(
        via.get("OrderMatch").is_some_and(|&n| n > 0) && via["Login"] > via["OrderMatch"],
        "{via:?}"
    );
    let q = quality(&store, &w.join("truth")).unwrap();
    assert!(q.precision >= PRECISION_FLOOR, "precision {:.4}", q.precision);
    assert!(q.recall >= RECALL_FLOOR, "recall {:.4}", q.recall);
    // The ad server's log gives ad-only cookies an IP and a user agent, so most identifiers have
    // evidence (89.5% here); those without (partner cookies never synced, ...) are counted, and
    // leaving them out raises the recall.
    assert!(q.with_evidence * 10 > q.identifiers * 8 && q.with_evidence < q.identifiers, "{q:?}");
    assert!(q.recall_with_evidence > q.recall + 0.05, "{q:?}");

    // Deterministic links only: near-perfect precision, lower recall.
    let det = ResolveOptions { rule: MergeRule::Deterministic, ..Default::default() };
    resolve(&mut store, &w, &det).unwrap();
    let d = quality(&store, &w.join("truth")).unwrap();
    assert!(d.precision >= 0.995, "deterministic precision {:.4}", d.precision);
    assert!(d.recall < q.recall, "probabilistic links add recall");
}

/// A CRM whose birth dates a spreadsheet saved as serial days (`43720`) dedupes as the same CRM
/// with ISO dates: resolve reads its columns as `audience link` does (`link::reconcile`).
#[test]
fn crm_birth_dates_written_as_serial_days_dedupe_as_iso_dates() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), 1500, 7, Format::Csv);
    let run = |name: &str| {
        let mut store = Store::init(dir.path().join(name)).unwrap();
        resolve(&mut store, &w, &ResolveOptions::default()).unwrap()
    };
    let iso = run("iso");
    assert!(iso.crm.links > 0 && iso.crm.notes.is_empty(), "{:?}", iso.crm);

    let path = w.join("crm.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let col = header.split(',').position(|c| c == "birth_date").unwrap();
    let mut out = vec![header.to_string()];
    let mut serial = 0;
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        let date: Vec<i64> = fields[col].split('-').filter_map(|p| p.parse().ok()).collect();
        if !line.contains('"') && date.len() == 3 {
            let days = audience::store::days_from_civil(date[0], date[1] as u32, date[2] as u32);
            fields[col] = (days + 25_569).to_string();
            serial += 1;
        }
        out.push(fields.join(","));
    }
    assert!(serial > 500, "{serial} dates rewritten");
    fs::write(&path, out.join("\n") + "\n").unwrap();
    let sheet = run("sheet");
    assert_eq!(sheet.crm.notes.len(), 1, "{:?}", sheet.crm.notes);
    assert_eq!((sheet.crm.links, sheet.crm.links_90), (iso.crm.links, iso.crm.links_90));
}

const PRECISION_FLOOR: f64 = 0.98;
const RECALL_FLOOR: f64 = 0.52;

/// The ad server's log read through `sources.toml` roles: renamed IP and user agent columns
/// give the same profiles; a log without them still resolves, with fewer cross-device pairs.
#[test]
fn ad_log_columns_follow_the_sources_toml_roles_and_are_optional() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), 1500, 5, Format::Csv);
    let run = |name: &str| {
        let store_dir = dir.path().join(name);
        let mut store = Store::init(&store_dir).unwrap();
        let r = resolve(&mut store, &w, &ResolveOptions::default()).unwrap();
        (r, pids(&store_dir))
    };
    let (plain, plain_pids) = run("plain");

    let path = w.join("ad_exposures.csv");
    let text = fs::read_to_string(&path).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert_eq!(header, "ts,cookie,device_id,ip,user_agent,campaign,event");
    fs::write(&path, format!("ts,cookie,device_id,client_ip,ua,campaign,event\n{body}")).unwrap();
    fs::write(w.join("sources.toml"), "[ad_exposures]\nip = \"client_ip\"\nuser_agent = \"ua\"\n")
        .unwrap();
    let (renamed, renamed_pids) = run("renamed");
    assert_eq!(renamed.cross_device.candidate_pairs, plain.cross_device.candidate_pairs);
    assert_eq!(renamed_pids, plain_pids);

    // Without the roles, the renamed columns are not read: the ad rows still give identifiers,
    // but no sightings.
    fs::remove_file(w.join("sources.toml")).unwrap();
    let (bare, bare_pids) = run("bare");
    assert_eq!(bare.identifiers, plain.identifiers);
    assert!(bare.cross_device.candidate_pairs < plain.cross_device.candidate_pairs);
    assert!(bare_pids.len() == plain_pids.len());

    // An unknown role is refused with the valid ones.
    fs::write(w.join("sources.toml"), "[ad_exposures]\nip_address = \"client_ip\"\n").unwrap();
    let mut store = Store::init(dir.path().join("refused")).unwrap();
    let err = resolve(&mut store, &w, &ResolveOptions::default()).unwrap_err().to_string();
    assert!(err.contains("ip_address") && err.contains("user_agent"), "{err}");
}
