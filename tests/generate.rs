//! `audience generate` end to end: determinism, sane shapes against the truth, and CSV = Parquet.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use audience::generate::{generate, Format, Manifest, Options};
use audience::table::{read_table, ColumnData, Table};

use crate::common::{bin, fails};

fn world(dir: &Path, name: &str, people: u64, seed: u64, format: Format) -> (PathBuf, Manifest) {
    let out = dir.join(name);
    let m = generate(&Options { people, seed, out: out.clone(), format, quiet: true }).unwrap();
    (out, m)
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "providers", "truth"] {
        for e in fs::read_dir(dir.join(sub)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                out.push((
                    format!("{sub}/{}", e.file_name().to_string_lossy()),
                    fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn text(t: &Table, col: &str) -> Vec<String> {
    let c = t.column(col).unwrap();
    (0..t.rows).map(|i| c.data.text(i).unwrap_or_default()).collect()
}

fn bools(t: &Table, col: &str) -> Vec<bool> {
    match &t.column(col).unwrap().data {
        ColumnData::Bool(v) => v.iter().map(|b| b.unwrap()).collect(),
        other => panic!("{col} is {}", other.type_name()),
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_world() {
    let dir = tempfile::tempdir().unwrap();
    let (a, ma) = world(dir.path(), "a", 3000, 7, Format::Parquet);
    let (b, mb) = world(dir.path(), "b", 3000, 7, Format::Parquet);
    let (c, _) = world(dir.path(), "c", 3000, 8, Format::Parquet);
    assert_eq!(ma, mb);
    let fa = files(&a);
    assert_eq!(fa.len(), 17, "{:?}", fa.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert_eq!(fa, files(&b));
    let fc = files(&c);
    let differ = fa.iter().zip(&fc).filter(|(x, y)| x.0 == y.0 && x.1 != y.1).count();
    assert!(differ >= 10, "only {differ} files differ between seeds 7 and 8");
    // The CLI writes the same bytes as the library.
    let d = dir.path().join("d");
    let out = bin()
        .args(["generate", "--people", "3000", "--seed", "7", "--out", d.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("web_events"));
    assert_eq!(fa, files(&d));
}

#[test]
fn csv_and_parquet_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (p, mp) = world(dir.path(), "p", 1500, 3, Format::Parquet);
    let (c, mc) = world(dir.path(), "c", 1500, 3, Format::Csv);
    assert_eq!(mp.rows, mc.rows);
    for name in mp.rows.keys() {
        let tp = read_table(p.join(format!("{name}.parquet"))).unwrap();
        let tc = read_table(c.join(format!("{name}.csv"))).unwrap();
        assert_eq!(tp.rows, tc.rows, "{name}");
        assert_eq!(tp.columns, tc.columns, "{name}");
    }
}

#[test]
fn shapes_agree_with_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let people = 6000;
    let (w, m) = world(dir.path(), "w", people, 11, Format::Csv);
    let t = |name: &str| read_table(w.join(format!("{name}.csv"))).unwrap();
    let persons = t("truth/persons");
    assert_eq!(persons.rows as u64, people);
    assert_eq!(m.rows["truth/persons"], people);
    for (name, rows) in &m.rows {
        assert!(*rows > 0, "{name} is empty");
    }
    let manifest: Manifest =
        serde_json::from_slice(&fs::read(w.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest, m);
    assert_eq!((m.span.start.as_str(), m.span.end.as_str()), ("2025-12-01", "2026-11-30"));

    // Identifiers → person.
    let ids = t("truth/identifiers");
    let (kinds, values, owners) =
        (text(&ids, "kind"), text(&ids, "value"), text(&ids, "person_id"));
    let mut owner: HashMap<(String, String), String> = HashMap::new();
    for i in 0..ids.rows {
        let prev = owner.insert((kinds[i].clone(), values[i].clone()), owners[i].clone());
        assert!(prev.is_none_or(|p| p == owners[i]), "{} {} has two owners", kinds[i], values[i]);
    }
    let person_ids: HashSet<String> = text(&persons, "person_id").into_iter().collect();
    assert!(owners.iter().all(|o| person_ids.contains(o)));

    // Every hashed email in web and email events belongs to a known person.
    let web = t("web_events");
    let web_hashes: Vec<String> =
        text(&web, "email_sha256").into_iter().filter(|e| !e.is_empty()).collect();
    assert!(web_hashes.len() > 100);
    for h in &web_hashes {
        assert!(owner.contains_key(&("email".to_string(), h.clone())), "{h} is not in the truth");
    }
    let em = t("email_events");
    for h in text(&em, "email_sha256") {
        assert!(owner.contains_key(&("email".to_string(), h)));
    }
    // Events on a cookie belong to one person; shared IPs exist (households and public places).
    let cookies = text(&web, "cookie");
    let ips = text(&web, "ip");
    let mut by_ip: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (ck, ip) in cookies.iter().zip(&ips) {
        if ck.is_empty() {
            continue;
        }
        let p = owner
            .get(&("cookie".to_string(), ck.clone()))
            .expect("every web cookie is in the truth");
        by_ip.entry(ip.as_str()).or_default().insert(p.as_str());
    }
    let public: HashSet<String> = text(&t("truth/public_ips"), "ip").into_iter().collect();
    let shared_public =
        by_ip.iter().filter(|(ip, ps)| public.contains(**ip) && ps.len() >= 5).count();
    let shared_home =
        by_ip.iter().filter(|(ip, ps)| !public.contains(**ip) && ps.len() >= 2).count();
    assert!(shared_public >= 3, "{shared_public} public IPs used by 5+ people");
    assert!(shared_home >= 20, "{shared_home} household IPs used by 2+ people");

    // The ad server logs an IP and a user agent with every request; a cookie lives on one
    // device, so its user agent keeps one family (versions masked) in the web and ad logs.
    let ads = t("ad_exposures");
    assert!(text(&ads, "ip").iter().all(|ip| !ip.is_empty()));
    let family = |ua: &str| ua.split(|c: char| c.is_ascii_digit()).collect::<Vec<_>>().join("#");
    let mut families: HashMap<String, HashSet<String>> = HashMap::new();
    for (table, cookie_col) in [(&web, "cookie"), (&ads, "cookie")] {
        for (ck, ua) in text(table, cookie_col).into_iter().zip(text(table, "user_agent")) {
            assert!(!ua.is_empty(), "a {cookie_col} row without a user agent");
            if !ck.is_empty() {
                families.entry(ck).or_default().insert(family(&ua));
            }
        }
    }
    assert!(families.values().all(|f| f.len() == 1), "a cookie changed browser family");

    // CRM duplicates: some people have two or more customer ids.
    let mut cids: HashMap<&str, usize> = HashMap::new();
    for i in 0..ids.rows {
        if kinds[i] == "customer_id" {
            *cids.entry(owners[i].as_str()).or_default() += 1;
        }
    }
    let dup = cids.values().filter(|n| **n >= 2).count();
    assert!(dup * 100 >= cids.len() * 5, "{dup} of {} customers are duplicated", cids.len());
    assert_eq!(t("crm").rows, cids.values().sum::<usize>());

    // The conversion label: base rate near 5%, strongly persona-dependent.
    let converts = bools(&persons, "converts");
    let personas = text(&persons, "persona");
    let rate = converts.iter().filter(|c| **c).count() as f64 / people as f64;
    assert!((0.03..0.08).contains(&rate), "conversion rate {rate}");
    let rate_of = |name: &str| {
        let (n, k) = personas
            .iter()
            .zip(&converts)
            .filter(|(p, _)| *p == name)
            .fold((0, 0), |(n, k), (_, c)| (n + 1, k + *c as usize));
        k as f64 / n as f64
    };
    assert!(rate_of("fashion_lover") > 3.0 * rate_of("senior_classic"));

    // Providers: agreement of age bands with the truth follows the planted accuracy.
    let ages = text(&persons, "age");
    let age_of: HashMap<String, u32> = text(&persons, "person_id")
        .into_iter()
        .zip(&ages)
        .map(|(p, a)| (p, a.parse().unwrap()))
        .collect();
    let mut agreement = Vec::new();
    for name in ["acme_data", "midmarket", "bulkaudience"] {
        let pv = t(&format!("providers/{name}"));
        let (kind, id, band) = (text(&pv, "id_kind"), text(&pv, "id"), text(&pv, "age_band"));
        let (mut hit, mut n) = (0, 0);
        for i in 0..pv.rows {
            let k = if kind[i] == "maid" { "device" } else { "cookie" };
            if let Some(p) = owner.get(&(k.to_string(), id[i].clone())) {
                n += 1;
                hit += (band_of(age_of[p]) == band[i]) as usize;
            }
        }
        assert!(n > 100, "{name}: {n} matched rows");
        agreement.push(hit as f64 / n as f64);
    }
    assert!(agreement[0] > agreement[1] && agreement[1] > agreement[2], "{agreement:?}");

    // Profiles: one row per person with an identity, every party present, no raw PII.
    let profiles = t("profiles");
    let parties: HashSet<String> = text(&profiles, "party").into_iter().collect();
    assert_eq!(parties, ["first", "second", "third"].map(String::from).into_iter().collect());
    assert!(profiles.column("email").is_err() && profiles.column("first_name").is_err());
    assert!(profiles.rows < people as usize && profiles.rows * 2 > people as usize);
}

fn band_of(age: u32) -> &'static str {
    match age {
        0..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        _ => "65+",
    }
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w");
    let e = fails(dir.path(), &["generate", "--people", "0", "--out", out.to_str().unwrap()]);
    assert!(e.contains("--people 0") && e.contains("1 to"), "{e}");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let e = fails(dir.path(), &["generate", "--people", "10", "--out", out.to_str().unwrap()]);
    assert!(e.contains("not empty"), "{e}");
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn regenerating_in_another_format_replaces_the_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let (w, _) = world(dir.path(), "w", 200, 1, Format::Parquet);
    assert!(w.join("web_events.parquet").exists());
    let (_, m) = world(dir.path(), "w", 200, 1, Format::Csv);
    assert!(w.join("web_events.csv").exists() && !w.join("web_events.parquet").exists());
    assert!(m.files.iter().all(|f| f.ends_with(".csv")));
}
