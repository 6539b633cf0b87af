//! `audience lookalike evaluate` end to end: the offline protocol on real and synthetic tables.

use std::fmt::Write as _;
use std::path::Path;

use crate::common::{fails, ok, shared_data};

/// Universal Bank: scikit-learn's class-balanced logistic regression gets AUC 0.959 and lift at
/// 10% of 8.22 over 10 repeats of this protocol; the default method must do at least as well.
#[test]
fn universal_bank_default_method_beats_balanced_logistic_regression() {
    let Some(bank) = shared_data("dmba_UniversalBank.csv") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        dir.path(),
        &[
            "lookalike",
            "evaluate",
            bank.to_str().unwrap(),
            "--label",
            "Personal Loan",
            "--positive",
            "1",
            "--exclude",
            "ID,ZIP Code",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["auc", "auc_std", "precision_at_k", "lift_at_10", "recall_at", "method"] {
        assert!(keys.contains(&k), "missing {k} in {out}");
    }
    assert_eq!(keys.len(), 6, "{out}");
    assert_eq!(v["method"], "ensemble");
    let auc = v["auc"].as_f64().unwrap();
    let lift = v["lift_at_10"].as_f64().unwrap();
    // Measured: AUC 0.9852 (std 0.0041), lift@10% 9.39 (the logistic side adds the products of
    // its six strongest features, which earn their place on the inner validation split here).
    assert!(auc >= 0.959, "AUC {auc} under scikit-learn's 0.959: {out}");
    assert!(lift >= 8.22, "lift at 10% {lift} under scikit-learn's 8.22: {out}");
    let r = &v["recall_at"];
    assert!(r["5"].as_f64().unwrap() <= r["10"].as_f64().unwrap(), "{out}");
    assert!(r["10"].as_f64().unwrap() <= r["20"].as_f64().unwrap(), "{out}");
}

/// A table of `n` people: `buyer` is yes for the first `buyers`, who also earn more and visit
/// more often; `city` is text; `id` is unique.
fn synthetic(dir: &Path, n: usize, buyers: usize) -> String {
    let mut s = String::from("id,income,visits,city,buyer\n");
    for i in 0..n {
        let b = i < buyers;
        // A deterministic spread without a random generator: i * 37 % 101 cycles through 0..100.
        let noise = (i * 37 % 101) as f64;
        let income = 30.0 + noise * 0.5 + if b { 25.0 } else { 0.0 };
        let visits = (i * 13 % 7) + if b { 4 } else { 0 };
        let city = ["Paris", "Lyon", "Nantes"][i % 3];
        writeln!(s, "c{i},{income},{visits},{city},{}", if b { "yes" } else { "no" }).unwrap();
    }
    let p = dir.join(format!("people_{buyers}.csv"));
    std::fs::write(&p, s).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn synthetic_buyers_are_found_and_reported_against_random() {
    let dir = tempfile::tempdir().unwrap();
    let t = synthetic(dir.path(), 3_000, 400);
    let args = ["lookalike", "evaluate", &t, "--label", "buyer", "--positive", "yes", "--id", "id"];
    let out = ok(dir.path(), &[&args[..], &["--repeats", "3", "--method", "logistic"]].concat());
    assert!(out.contains("method logistic") && out.contains("random"), "{out}");
    assert!(out.contains("seed 200 per repeat, 200 hidden in a pool of 2800"), "{out}");
    let json = ok(dir.path(), &[&args[..], &["--repeats", "3", "--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["auc"].as_f64().unwrap() > 0.95, "{json}");
    // Same seed, same figures.
    assert_eq!(json, ok(dir.path(), &[&args[..], &["--repeats", "3", "--json"]].concat()));
}

#[test]
fn evaluate_explains_bad_labels() {
    let dir = tempfile::tempdir().unwrap();
    let t = synthetic(dir.path(), 3_000, 400);
    let base = ["lookalike", "evaluate", t.as_str(), "--id", "id"];
    let e = fails(dir.path(), &[&base[..], &["--label", "buyr", "--positive", "yes"]].concat());
    assert!(e.contains("no column `buyr`") && e.contains("did you mean `buyer`"), "{e}");
    let e = fails(dir.path(), &[&base[..], &["--label", "buyer", "--positive", "true"]].concat());
    assert!(e.contains("never holds the positive value `true`") && e.contains("yes"), "{e}");
    let e = fails(dir.path(), &[&base[..], &["--label", "buyer"]].concat());
    assert!(e.contains("--positive VALUE"), "{e}");
    let few = synthetic(dir.path(), 3_000, 150);
    let e = fails(
        dir.path(),
        &["lookalike", "evaluate", &few, "--label", "buyer", "--positive", "yes", "--id", "id"],
    );
    assert!(e.contains("150 positives") && e.contains("at least 100 members"), "{e}");
    let e = fails(
        dir.path(),
        &[&base[..], &["--label", "buyer", "--positive", "yes", "--method", "knn"]].concat(),
    );
    assert!(e.contains("unknown look-alike method `knn`"), "{e}");
}
