//! `audience init`, `import` and `info` end to end.

use std::fs;
use std::path::Path;

use crate::common::{fails, ok};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn index_files(store: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(store.join("profiles/index"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap()))
        .collect();
    files.push(("index.json".into(), fs::read(store.join("profiles/index.json")).unwrap()));
    files.push(("universe.roar".into(), fs::read(store.join("profiles/universe.roar")).unwrap()));
    files.sort();
    files
}

const PROFILES: &str = "customer_id,country,age,score,vip,party,consent\n\
c1,FR,34,0.5,true,first,yes\n\
c2,DE,51,1.25,false,first,no\n\
c3,FR,,2.5,true,third,yes\n\
c4,,29,,false,second,yes\n";

#[test]
fn csv_and_parquet_give_byte_identical_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "p.csv", PROFILES);
    // Same rows as Parquet, written by the library's own writer.
    let table = audience::table::read_table(&csv).unwrap();
    let pq = dir.path().join("p.parquet");
    audience::table::write_parquet(&pq, &table.columns).unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let flags = ["--id", "customer_id", "--party", "party", "--consent", "consent"];
    ok(&a, &["init"]);
    ok(&b, &["init"]);
    ok(&a, &[&["import", &csv][..], &flags].concat());
    ok(&b, &[&["import", pq.to_str().unwrap()][..], &flags].concat());
    assert_eq!(index_files(&a), index_files(&b));
    let info = ok(&a, &["info"]);
    assert!(
        info.contains("profiles 4") && info.contains("country") && info.contains("consent.ads"),
        "{info}"
    );
}

#[test]
fn reimport_keeps_pids_and_appends_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let first = write(dir.path(), "1.csv", "id,x\na,1\nb,2\n");
    ok(&s, &["import", &first, "--id", "id"]);
    let second = write(dir.path(), "2.csv", "id,x\nc,3\nb,2\na,1\n");
    let out = ok(&s, &["import", &second, "--id", "id"]);
    assert!(out.contains("1 new profiles, 2 known"), "{out}");
    let store = audience::store::Store::open(&s).unwrap();
    let map = audience::idmap::IdMap::load(&store).unwrap();
    assert_eq!((map.get("a"), map.get("b"), map.get("c")), (Some(0), Some(1), Some(2)));
}

#[test]
fn bad_inputs_are_rejected_and_the_store_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let good = write(dir.path(), "good.csv", "id,x\na,1\n");
    ok(&s, &["import", &good, "--id", "id"]);
    let before = index_files(&s);

    let missing = write(dir.path(), "m.csv", "key,x\na,1\n");
    let e = fails(&s, &["import", &missing, "--id", "id"]);
    assert!(e.contains("no column `id`") && e.contains("m.csv"), "{e}");

    let dup = write(dir.path(), "d.csv", "id,x\na,1\nb,2\na,3\n");
    let e = fails(&s, &["import", &dup, "--id", "id"]);
    assert!(e.contains("duplicate id `a`") && e.contains("row 1") && e.contains("row 3"), "{e}");

    let mut mixed = String::from("id,age\n");
    for i in 0..30 {
        mixed += &format!("p{i},{}\n", if i == 20 { "n/a".into() } else { i.to_string() });
    }
    let mixed = write(dir.path(), "x.csv", &mixed);
    let e = fails(&s, &["import", &mixed, "--id", "id"]);
    assert!(e.contains("mixed types") && e.contains("`age`") && e.contains("row 21"), "{e}");

    let latin = dir.path().join("l.csv");
    fs::write(&latin, b"id,city\na,Z\xfcrich\n").unwrap();
    let e = fails(&s, &["import", latin.to_str().unwrap(), "--id", "id"]);
    assert!(e.contains("UTF-8") && e.contains("line 2") && e.contains("`city`"), "{e}");

    let empty = write(dir.path(), "e.csv", "");
    let e = fails(&s, &["import", &empty, "--id", "id"]);
    assert!(e.contains("empty"), "{e}");

    let nan = write(dir.path(), "n.csv", "id,x\na,1.5\nb,NaN\n");
    let e = fails(&s, &["import", &nan, "--id", "id"]);
    assert!(e.contains("`x`"), "{e}");

    assert_eq!(index_files(&s), before, "a rejected import must not change the store");
}

#[test]
fn pii_columns_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let t = write(
        dir.path(),
        "p.csv",
        "id,email,country\na,ann@example.com,FR\nb,bob@example.com,DE\n",
    );
    let out = crate::common::run(&s, &["import", &t, "--id", "id"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("`email` looks like raw PII"));
    for entry in fs::read_dir(s.join("profiles/index")).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("example.com"));
    }
    let traits = fs::read(s.join("profiles/traits.parquet")).unwrap();
    assert!(!String::from_utf8_lossy(&traits).contains("example.com"));
}
