//! `audience segment ...` end to end on a small imported table.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{fails, ok};

const PROFILES: &str = "customer_id,country,age,affinity.shoes,vip,party,consent\n\
c1,FR,34,0.5,true,first,yes\n\
c2,DE,51,0.1,false,first,no\n\
c3,FR,,0.9,true,third,yes\n\
c4,FR,18,,false,second,yes\n\
c5,ES,29,0.3,false,third,\n";

/// A store with `PROFILES` imported; returns (tempdir guard, store path).
fn imported(csv: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let table = dir.path().join("p.csv");
    fs::write(&table, csv).unwrap();
    ok(&store, &["init"]);
    ok(
        &store,
        &[
            "import",
            table.to_str().unwrap(),
            "--id",
            "customer_id",
            "--party",
            "party",
            "--consent",
            "consent",
        ],
    );
    (dir, store)
}

fn reimport(dir: &Path, store: &Path, csv: &str) {
    let table = dir.join("p2.csv");
    fs::write(&table, csv).unwrap();
    ok(store, &["import", table.to_str().unwrap(), "--id", "customer_id", "--party", "party"]);
}

#[test]
fn create_count_show_list_ids_and_overlap() {
    let (dir, s) = imported(PROFILES);
    let out = ok(&s, &["segment", "create", "fr", r#"country = "FR""#, "--description", "France"]);
    assert_eq!(out, "segment fr created: 3 profiles\n");
    ok(&s, &["segment", "create", "vip", "vip"]);
    let q = r#"segment("fr") and age >= 18 and (affinity.shoes > 0.3 or vip) and not party(third)"#;
    let out = ok(&s, &["segment", "count", q, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["count"], 1, "{out}");
    assert!(v["eval_ms"].as_f64().unwrap() >= 0.0);
    ok(&s, &["segment", "create", "fr-vip", q]);

    let show = ok(&s, &["segment", "show", "fr-vip"]);
    assert!(show.contains(&format!("definition    {q}")), "{show}");
    assert!(show.contains("size          1"), "{show}");
    assert!(show.contains("by party      first 1, second 0, third 0, unknown 0"), "{show}");
    assert!(show.contains("segments used fr"), "{show}");
    assert!(show.contains("traits used   affinity.shoes, age, party, vip"), "{show}");

    let list = ok(&s, &["segment", "list"]);
    let names: Vec<&str> = list.lines().skip(1).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["fr", "fr-vip", "vip"]);

    assert_eq!(ok(&s, &["segment", "ids", "fr"]), "c1\nc3\nc4\n");
    let out_file = dir.path().join("ids.txt");
    ok(&s, &["segment", "ids", "vip", "--out", out_file.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(&out_file).unwrap(), "c1\nc3\n");

    let o = ok(&s, &["segment", "overlap", "fr", "vip", "fr-vip", "--json"]);
    let o: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(o["pairs"][0]["intersection"], 2); // fr ∩ vip = c1, c3
    assert_eq!(o["pairs"][0]["jaccard"], 2.0 / 3.0);
    assert_eq!(o["segments"][0]["exclusive"], 1); // c4
    let table = ok(&s, &["segment", "overlap", "fr", "vip"]);
    assert!(table.contains("jaccard") && table.contains("0.6667"), "{table}");

    let info = ok(&s, &["info"]);
    assert!(info.contains("segments 3"), "{info}");
    assert!(info.contains("segments: fr, fr-vip, vip"), "{info}");
    drop(dir);
}

#[test]
fn refresh_follows_new_data_in_dependency_order() {
    let (dir, s) = imported(PROFILES);
    ok(&s, &["segment", "create", "fr", r#"country = "FR""#]);
    ok(&s, &["segment", "create", "fr-young", r#"segment("fr") and age < 30"#]);
    // New data: c5 moves to France and c6 arrives.
    let newer = PROFILES.replace("c5,ES,29", "c5,FR,29") + "c6,FR,22,0.2,true,first,yes\n";
    reimport(dir.path(), &s, &newer);
    let out = ok(&s, &["segment", "refresh", "fr-young"]);
    assert_eq!(
        out,
        "segment fr refreshed: 3 -> 5 profiles\nsegment fr-young refreshed: 1 -> 3 profiles\n"
    );
    assert_eq!(ok(&s, &["segment", "ids", "fr-young"]), "c4\nc5\nc6\n");
    let out = ok(&s, &["segment", "refresh"]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn deleted_segments_give_clear_errors() {
    let (_dir, s) = imported(PROFILES);
    ok(&s, &["segment", "create", "churned", r#"country = "DE""#]);
    ok(&s, &["segment", "create", "active", r#"not segment("churned")"#]);
    let out = crate::common::run(&s, &["segment", "delete", "churned"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("active reference segment `churned`"),
        "{out:?}"
    );
    let e = fails(&s, &["segment", "refresh"]);
    assert_eq!(
        e,
        "error: segment `active` references segment `churned`, which does not exist (was it \
         deleted?); create `churned` again, or delete `active` and create it with a new \
         definition\n"
    );
    let e = fails(&s, &["segment", "count", r#"segment("churned")"#]);
    assert_eq!(
        e,
        "error: segment expression, column 9: unknown segment `churned`; it may have been \
         deleted: `audience segment list` lists the stored segments\n  segment(\"churned\")\n\
         \x20         ^^^^^^^^^\n"
    );
    let e = fails(&s, &["segment", "show", "churnd"]);
    assert!(e.contains("no segment `churnd`"), "{e}");
    assert!(ok(&s, &["info"]).contains("segments 1"));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (_dir, s) = imported(PROFILES);
    ok(&s, &["segment", "create", "fr", r#"country = "FR""#]);
    let before = fs::read(s.join("segments/fr.json")).unwrap();
    let e = fails(&s, &["segment", "create", "fr", "vip"]);
    assert!(e.contains("segment `fr` already exists"), "{e}");
    let e = fails(&s, &["segment", "create", "a/b", "vip"]);
    assert!(e.contains("`a/b` is not a valid segment name"), "{e}");
    let e = fails(&s, &["segment", "create", "x", "contry = \"FR\""]);
    assert_eq!(
        e,
        "error: segment expression, column 1: unknown trait `contry` (did you mean `country`?); \
         `audience info` lists the traits of this store\n  contry = \"FR\"\n  ^^^^^^\n"
    );
    let e = fails(&s, &["segment", "count", "age > \"x\""]);
    assert!(e.contains("compare it with a number"), "{e}");
    let e = fails(&s, &["segment", "count", "provider(acme)"]);
    assert!(e.contains("reads the `provider` trait") && e.contains("--provider COLUMN"), "{e}");
    assert_eq!(fs::read(s.join("segments/fr.json")).unwrap(), before);
    assert_eq!(segment_files(&s), ["fr.json", "fr.roar"]);
}

fn segment_files(store: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(store.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn count_on_an_empty_store_says_to_import() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let e = fails(&s, &["segment", "count", "all()"]);
    assert!(e.contains("import a profile table first"), "{e}");
}
