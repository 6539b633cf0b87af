//! `audience link` end to end: accuracy on the FEBRL sets (skipped when ../shared/data is
//! absent), outputs, and bad input.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use crate::common::{fails, ok, shared_data};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// Pairs of a two-column CSV with a header; unordered when `dedupe`.
fn pairs(path: &Path, dedupe: bool) -> HashSet<(String, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',').map(|s| s.trim().to_string());
            let (a, b) = (it.next().unwrap(), it.next().unwrap());
            if dedupe && b < a {
                (b, a)
            } else {
                (a, b)
            }
        })
        .collect()
}

/// F1 of the pairs written by `audience link` against the true links.
fn f1(args: &[&str], truth: &Path, dedupe: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pairs.csv");
    let mut all: Vec<&str> = vec!["link"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--id", "rec_id", "--out", out.to_str().unwrap()]);
    ok(dir.path(), &all);
    let found = pairs(&out, dedupe);
    let truth = pairs(truth, dedupe);
    let tp = found.intersection(&truth).count() as f64;
    let (p, r) = (tp / found.len() as f64, tp / truth.len() as f64);
    let f1 = 2.0 * p * r / (p + r);
    eprintln!("precision {p:.4} recall {r:.4} F1 {f1:.4} ({} found)", found.len());
    f1
}

#[test]
fn febrl4_link_reaches_f1_0_999() {
    let (Some(a), Some(b), Some(t)) = (
        shared_data("febrl4a.csv"),
        shared_data("febrl4b.csv"),
        shared_data("febrl4_true_links.csv"),
    ) else {
        return;
    };
    let f = f1(&[a.to_str().unwrap(), b.to_str().unwrap()], &t, false);
    assert!(f >= 0.999, "F1 {f}");
}

#[test]
fn febrl1_dedupe_beats_splink() {
    let (Some(a), Some(t)) = (shared_data("febrl1.csv"), shared_data("febrl1_true_links.csv"))
    else {
        return;
    };
    let f = f1(&[a.to_str().unwrap()], &t, true);
    assert!(f >= 0.995, "F1 {f}");
}

#[test]
fn febrl2_dedupe_beats_splink() {
    let (Some(a), Some(t)) = (shared_data("febrl2.csv"), shared_data("febrl2_true_links.csv"))
    else {
        return;
    };
    let f = f1(&[a.to_str().unwrap()], &t, true);
    assert!(f >= 0.9935, "F1 {f}");
}

const PEOPLE: &str = "id, first_name, surname, dob, city\n\
a1, john, smith, 1980-01-02, leeds\n\
a2, jon, smith, 1980-01-02, leeds\n\
b1, mary, jones, 1975-05-06, york\n\
b2, mary, jones, 1975-06-05, york\n\
c1, alice, adams, 1941-02-03, hull\n\
c2, bruno, baker, 1952-03-04, bath\n\
c3, carla, clark, 1963-04-05, ely\n\
c4, dmitri, dixon, 1974-05-06, wells\n\
c5, eve, evans, 1985-06-07, derby\n\
c6, farid, fisher, 1996-07-08, truro\n\
c7, gina, grant, 1947-08-09, ripon\n\
c8, hugo, hayes, 1958-09-10, perth\n";

#[test]
fn dedupe_writes_pairs_clusters_and_explains() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.csv", PEOPLE);
    let out = dir.path().join("pairs.csv");
    let cl = dir.path().join("clusters.csv");
    let text = ok(
        dir.path(),
        &[
            "link",
            &f,
            "--id",
            "id",
            "--out",
            out.to_str().unwrap(),
            "--clusters",
            cl.to_str().unwrap(),
            "--explain",
        ],
    );
    assert!(text.contains("estimated recall") && text.contains("first_name"), "{text}");
    let p = fs::read_to_string(&out).unwrap();
    assert!(p.starts_with("left_id,right_id,probability\n"), "{p}");
    assert!(p.contains("\na1,a2,") && p.contains("\nb1,b2,"), "{p}");
    let c = fs::read_to_string(&cl).unwrap();
    assert!(c.starts_with("id,cluster\na1,0\na2,0\nb1,1\nb2,1\nc1,2\n"), "{c}");
    // The same input and seed give byte-identical output.
    let out2 = dir.path().join("pairs2.csv");
    ok(dir.path(), &["link", &f, "--id", "id", "--out", out2.to_str().unwrap()]);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&out2).unwrap());
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "p.csv", PEOPLE);
    let e = fails(d, &["link", &f, "--id", "idd"]);
    assert!(e.contains("no column `idd`") && e.contains("did you mean `id`"), "{e}");
    let dup = write(d, "dup.csv", "id,name\n1,ann\n2,bob\n1,cy\n");
    let e = fails(d, &["link", &dup, "--id", "id"]);
    assert!(e.contains("`1` appears twice") && e.contains("row 3 (line 4)"), "{e}");
    let empty = write(d, "e.csv", "id,name,notes\n1,ann,\n2,bob,\n");
    let e = fails(d, &["link", &empty, "--id", "id"]);
    assert!(e.contains("`notes` is empty on every record") && e.contains("notes:ignore"), "{e}");
    let e = fails(d, &["link", &d.join("absent.csv").to_string_lossy(), "--id", "id"]);
    assert!(e.contains("absent.csv"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--compare", "surname:fuzzy"]);
    assert!(e.contains("unknown comparison kind `fuzzy`"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--compare", "surnam:name"]);
    assert!(e.contains("no column `surnam`"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--threshold", "1.5"]);
    assert!(e.contains("threshold 1.5"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--block", "soundex(city"]);
    assert!(e.contains("lacks its `)`"), "{e}");
}

#[test]
fn config_file_and_flags_override_the_automatic_choice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "p.csv", PEOPLE);
    let cfg = write(
        d,
        "link.toml",
        "threshold = 0.6\nblocking = [\"surname\", \"dob\"]\n[compare]\ncity = \"ignore\"\n",
    );
    let text =
        ok(d, &["link", &f, "--id", "id", "--config", &cfg, "--explain", "--compare", "dob:code"]);
    assert!(!text.contains("  city "), "{text}");
    assert!(text.contains("dob                  code    set by the user"), "{text}");
    assert!(text.contains("(p >= 0.6)"), "{text}");
    let bad = write(d, "bad.toml", "treshold = 0.6\n");
    let e = fails(d, &["link", &f, "--id", "id", "--config", &bad]);
    assert!(e.contains("unknown field `treshold`"), "{e}");
}
