//! `audience audit-providers` end to end on a generated world, and the shared fixture of a store
//! of CRM customers with traits derived from that world's raw sources.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use audience::table::read_text_columns;

use crate::common::ok;

/// A generated world of 20,000 people and a store of its CRM customers with derived traits
/// (built once per test run): (world, store).
pub fn world() -> &'static (PathBuf, PathBuf) {
    static WORLD: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("world-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = dir.join("world");
        let s = dir.join("store");
        let here = Path::new(".");
        ok(
            here,
            &["generate", "--people", "20000", "--seed", "5", "--out", w.to_str().unwrap(), "-q"],
        );
        ok(&s, &["init"]);
        ok(&s, &["import", w.join("crm.parquet").to_str().unwrap(), "--id", "customer_id"]);
        ok(&s, &["derive", w.to_str().unwrap()]);
        (w, s)
    })
}

/// The repository's model spec `name`.
pub fn spec(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name).to_string_lossy().into_owned()
}

#[test]
fn the_audit_ranks_the_synthetic_providers_in_their_planted_order() {
    let (w, s) = world();
    let out = ok(s, &["audit-providers", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<&str> = v["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    let planted =
        read_text_columns(&w.join("truth/providers.parquet"), &["provider", "accuracy"], &[])
            .unwrap();
    let mut truth: Vec<(String, f64)> = planted[0]
        .iter()
        .zip(&planted[1])
        .map(|(p, a)| (p.clone().unwrap(), a.as_deref().unwrap().parse().unwrap()))
        .collect();
    truth.sort_by(|a, b| b.1.total_cmp(&a.1));
    let want: Vec<&str> = truth.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(found, want, "{out}");
    for p in v["providers"].as_array().unwrap() {
        let rate = p["match_rate"].as_f64().unwrap();
        assert!(rate > 0.0 && rate <= 1.0, "{p}");
        let acc = p["overall_accuracy"].as_f64().unwrap();
        let cpm = p["cpm_eur"].as_f64().unwrap();
        let cost = p["cost_per_accurate_profile"].as_f64().unwrap();
        assert!((cost - cpm / 1000.0 / (rate * acc)).abs() < 1e-12, "cost arithmetic: {p}");
        let checked: Vec<&str> = p["accuracy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["attribute"].as_str().unwrap())
            .collect();
        assert_eq!(checked, ["age_band", "city", "interests"], "{p}");
        assert_eq!(p["unchecked"], serde_json::json!(["income_band"]), "{p}");
        let fills = p["fill"].as_array().unwrap();
        assert!(fills.iter().all(|f| (0.0..=1.0).contains(&f["fill"].as_f64().unwrap())), "{p}");
    }
    // The best provider's age bands agree with the CRM far more often than the worst one's.
    let age = |i: usize| v["providers"][i]["accuracy"][0]["accuracy"].as_f64().unwrap();
    assert!(age(0) > age(2) + 0.2, "{out}");
    let text = ok(s, &["audit-providers"]);
    assert!(
        text.contains(&format!("1. {}", want[0])) && text.contains("per 1,000 accurate"),
        "{text}"
    );
}
