//! `audience train --spec` and `audience score` end to end: a saved model scores new cookies
//! exactly as the same model in memory; raw events are scored per cookie.

use std::collections::HashMap;

use audience::features::{build, ViewSpec};
use audience::lookalike::view_traits;
use audience::model::{LookalikeParams, Method};
use audience::store::Store;
use audience::table::{read_table, write_parquet, Column, ColumnData};

use crate::audit::{spec, world};
use crate::common::{fails, ok};

/// A seed segment of the customers with at least 2 purchases in the year.
fn seed_segment(store: &std::path::Path) {
    ok(store, &["segment", "create", "buyers", "purchase.frequency_365d >= 2"]);
}

#[test]
fn a_saved_model_scores_feature_rows_exactly_as_in_memory() {
    let (_, s) = world();
    let dir = tempfile::tempdir().unwrap();
    seed_segment(s);
    let spec_path = spec("actalike.toml");
    let out =
        ok(s, &["train", "act", "--seed-segment", "buyers", "--spec", &spec_path, "--seed", "3"]);
    assert!(out.contains("view `actalike`") && out.contains("qualifying threshold"), "{out}");

    // The store's profiles as feature rows of "new cookies": their id and every trait.
    let store = Store::open(s).unwrap();
    let (table, pids) = audience::import::read_traits(&store).unwrap().unwrap();
    let idmap = audience::idmap::IdMap::load(&store).unwrap();
    let mut cols = vec![Column {
        name: "cookie".into(),
        data: ColumnData::Str(
            pids.iter().map(|p| Some(idmap.id(*p).unwrap().to_string())).collect(),
        ),
    }];
    cols.extend(table.columns.iter().filter(|c| c.name != "_pid").cloned());
    let rows = dir.path().join("rows.parquet");
    write_parquet(&rows, &cols).unwrap();
    let scores_path = dir.path().join("scores.parquet");
    let out = ok(
        s,
        &[
            "score",
            "act",
            "--input",
            rows.to_str().unwrap(),
            "--out",
            scores_path.to_str().unwrap(),
        ],
    );
    assert!(out.contains(&format!("scored {} cookies", pids.len())), "{out}");
    let scored = read_table(&scores_path).unwrap();
    let names: Vec<&str> = scored.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cookie", "score", "qualifies"]);

    // The same model fitted in memory on the same matrix.
    let spec = ViewSpec::load(&spec_path).unwrap();
    let seed = audience::segment::load(&store, "buyers").unwrap().pids;
    let (x, params) = build(&spec, &view_traits(table).unwrap()).unwrap();
    let seed_rows: Vec<usize> = (0..pids.len()).filter(|&r| seed.contains(pids[r])).collect();
    let pool_rows: Vec<usize> = (0..pids.len()).collect();
    let model = LookalikeParams::new(Method::Ensemble)
        .seed(3)
        .check()
        .unwrap()
        .fit(x.view(), &params.columns, &seed_rows, &pool_rows)
        .unwrap();
    let mut memory = vec![0f32; x.nrows()];
    model.predict_inplace(x.view(), &mut memory);

    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.join("models/act/card.json")).unwrap()).unwrap();
    let threshold = card["threshold"].as_f64().unwrap() as f32;
    let ids = &scored.column("cookie").unwrap().data;
    let sc = &scored.column("score").unwrap().data;
    let q = &scored.column("qualifies").unwrap().data;
    for r in 0..pids.len() {
        assert_eq!(ids.text(r).as_deref(), idmap.id(pids[r]), "row {r}");
        let saved = sc.number(r).unwrap() as f32;
        assert_eq!(
            saved.to_bits(),
            memory[r].to_bits(),
            "row {r}: saved {saved} vs memory {}",
            memory[r]
        );
        assert_eq!(q.text(r).as_deref() == Some("true"), saved >= threshold, "row {r}");
    }
    // The default threshold is the score at the top 5% of the pool outside the seed.
    let outside: Vec<f32> =
        (0..pids.len()).filter(|&r| !seed.contains(pids[r])).map(|r| memory[r]).collect();
    let share = outside.iter().filter(|&&v| v >= threshold).count() as f64 / outside.len() as f64;
    assert!((share - 0.05).abs() < 0.005, "{share} of the pool qualifies");

    // A table lacking a trait is refused, naming it.
    let lacking = dir.path().join("lacking.parquet");
    let kept: Vec<Column> = cols.iter().filter(|c| c.name != "cookies.count").cloned().collect();
    write_parquet(&lacking, &kept).unwrap();
    let e = fails(s, &["score", "act", "--input", lacking.to_str().unwrap(), "--out", "x.csv"]);
    assert!(e.contains("cookies.count") && e.contains("lacks"), "{e}");
    let e = fails(s, &["score", "act", "--input", rows.to_str().unwrap(), "--out", "scores.txt"]);
    assert!(e.contains("unknown output format") && e.contains(".parquet or .csv"), "{e}");
}

#[test]
fn raw_events_are_scored_per_cookie() {
    let (w, s) = world();
    let dir = tempfile::tempdir().unwrap();
    // Its own seed segment and model, so this test does not depend on the other's.
    ok(s, &["segment", "create", "browsers", "web.sessions_90d >= 2"]);
    let spec_path = spec("lookalike.toml");
    ok(s, &["train", "lal", "--seed-segment", "browsers", "--spec", &spec_path]);
    let out_path = dir.path().join("s.csv");
    let out = ok(
        s,
        &[
            "score",
            "lal",
            "--input",
            w.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
            "--threshold",
            "0.5",
        ],
    );
    // Every distinct cookie of the web events and ad exposures is scored once.
    let mut cookies = std::collections::HashSet::new();
    for t in ["web_events.parquet", "ad_exposures.parquet"] {
        let c = audience::table::read_text_columns(&w.join(t), &["cookie"], &[]).unwrap();
        cookies.extend(c[0].iter().flatten().cloned());
    }
    assert!(out.contains(&format!("scored {} cookies", cookies.len())), "{out}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("cookie,score,qualifies"));
    let mut seen = HashMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let score: f32 = f[1].parse().unwrap();
        assert_eq!(f[2] == "true", score >= 0.5, "{l}");
        assert!(cookies.contains(f[0]) && seen.insert(f[0].to_string(), score).is_none(), "{l}");
    }
    assert_eq!(seen.len(), cookies.len());
}
