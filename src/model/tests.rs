//! Unit tests of the look-alike core on synthetic data with a known answer.

use super::synthetic::planted;
use super::*;

/// Seed: the first `seed` planted rows; pool: everything else; the hidden positives are the
/// remaining planted rows.
fn pu_auc(method: Method, seed: usize) -> (LookalikeModel, f64) {
    let (x, names) = planted(12_000, 10, 1_200, 5);
    let seed_rows: Vec<usize> = (0..seed).collect();
    let pool: Vec<usize> = (seed..x.nrows()).collect();
    let model = LookalikeParams::new(method)
        .seed(9)
        .check()
        .unwrap()
        .fit(x.view(), &names, &seed_rows, &pool)
        .unwrap();
    let xp = x.select(ndarray::Axis(0), &pool);
    let scores = model.score(xp.view()).unwrap();
    let labels: Vec<bool> = pool.iter().map(|&r| r < 1_200).collect();
    (model, metrics::auc(&scores, &labels).unwrap())
}

#[test]
fn a_planted_cluster_is_recovered_by_every_method() {
    for method in [Method::Ensemble, Method::Logistic, Method::Similarity] {
        let (model, auc) = pu_auc(method, 400);
        assert!(auc > 0.9, "{method}: AUC {auc}");
        let eval = model.evaluation.as_ref().expect("a hold-out evaluation");
        assert_eq!(model.counts.holdout, 80);
        assert!(eval.auc > 0.85, "{method}: hold-out AUC {}", eval.auc);
        assert!(eval.lift_at_10 > 3.0, "{method}: lift {}", eval.lift_at_10);
        assert_eq!(model.warnings.len(), 1, "a seed of 400 is under 1,000");
        // The planted features come first on the card.
        let top: Vec<&str> = model.top_features.iter().take(4).map(|f| f.name.as_str()).collect();
        for f in ["f0", "f1", "f2", "f3"] {
            assert!(top.contains(&f), "{method}: top features {top:?}");
        }
    }
}

#[test]
fn a_seed_under_the_minimum_is_refused() {
    let (x, names) = planted(2_000, 6, 200, 1);
    let seed: Vec<usize> = (0..99).collect();
    let pool: Vec<usize> = (0..2_000).collect();
    let params = LookalikeParams::default().check().unwrap();
    let e = params.fit(x.view(), &names, &seed, &pool).unwrap_err();
    assert!(e.is_user());
    assert!(e.to_string().contains("at least 100 members") && e.to_string().contains("has 99"));
    // Duplicates do not count twice.
    let dup: Vec<usize> = (0..99).chain(0..10).collect();
    assert!(params.fit(x.view(), &names, &dup, &pool).is_err());
    // A pool that is all seed is refused too.
    let seed: Vec<usize> = (0..150).collect();
    let e = params.fit(x.view(), &names, &seed, &seed).unwrap_err().to_string();
    assert!(e.contains("at least 100 people outside the seed"), "{e}");
    assert_eq!(check_sizes(100, 100).unwrap().len(), 1);
    assert!(check_sizes(1_000, 100).unwrap().is_empty());
}

#[test]
fn every_parameter_rule_has_its_own_error() {
    let p = LookalikeParams::default;
    assert_eq!(p().holdout(0.5).check(), Err(ParamError::Holdout(0.5)));
    assert_eq!(p().validation(0.0).check(), Err(ParamError::Validation(0.0)));
    assert_eq!(p().lambdas(vec![]).check(), Err(ParamError::Lambdas(vec![])));
    assert!(matches!(p().lambdas(vec![1.0, -1.0]).check(), Err(ParamError::Lambdas(_))));
    assert_eq!(p().prototypes(0, 0).check(), Err(ParamError::Prototypes));
    assert!(matches!(p().prototypes(4, 5).check(), Err(ParamError::Neighbours { .. })));
    assert!(matches!(p().unlabelled(10, 5, 4).check(), Err(ParamError::Unlabelled { .. })));
    let msg = ParamError::Holdout(0.7).to_string();
    assert!(msg.contains("at least 0 and under 0.5"), "{msg}");
}

#[test]
fn a_saved_and_loaded_model_scores_the_same() {
    let (x, names) = planted(4_000, 8, 600, 3);
    let seed: Vec<usize> = (0..300).collect();
    let pool: Vec<usize> = (0..4_000).collect();
    for method in [Method::Ensemble, Method::Logistic, Method::Similarity] {
        let model = LookalikeParams::new(method)
            .check()
            .unwrap()
            .fit(x.view(), &names, &seed, &pool)
            .unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let loaded: LookalikeModel = serde_json::from_str(&json).unwrap();
        // serde_json's float parsing may be off by an ulp on f64 fields (e.g. `seconds`), so
        // whole-struct equality is not the contract; what matters is that nothing is lost and
        // the scores are identical (checked below).
        assert_eq!(loaded.method, model.method);
        assert_eq!(loaded.features, model.features);
        assert_eq!(loaded.logistic.is_some(), model.logistic.is_some());
        assert_eq!(loaded.similarity.is_some(), model.similarity.is_some());
        assert_eq!(loaded.ensemble.is_some(), model.ensemble.is_some());
        let mut a = vec![0f32; x.nrows()];
        let mut b = vec![0f32; x.nrows()];
        model.predict_inplace(x.view(), &mut a);
        loaded.predict_inplace(x.view(), &mut b);
        assert_eq!(a, b, "{method}");
        // Block boundaries do not change a row's score.
        let one = model.score(x.slice(ndarray::s![3_999.., ..])).unwrap();
        assert_eq!(one[0], a[3_999]);
    }
}

#[test]
fn training_is_deterministic_by_seed() {
    let (x, names) = planted(3_000, 6, 400, 8);
    let seed: Vec<usize> = (0..200).collect();
    let pool: Vec<usize> = (0..3_000).collect();
    let fit = |s| {
        let mut m = LookalikeParams::default()
            .seed(s)
            .check()
            .unwrap()
            .fit(x.view(), &names, &seed, &pool)
            .unwrap();
        m.seconds = 0.0;
        serde_json::to_string(&m).unwrap()
    };
    assert_eq!(fit(1), fit(1));
    assert_ne!(fit(1), fit(2));
}

#[test]
fn a_wrong_matrix_width_is_a_user_error() {
    let (x, names) = planted(1_000, 6, 200, 2);
    let seed: Vec<usize> = (0..150).collect();
    let pool: Vec<usize> = (0..1_000).collect();
    let model = LookalikeParams::new(Method::Logistic)
        .check()
        .unwrap()
        .fit(x.view(), &names, &seed, &pool)
        .unwrap();
    let narrow = x.slice(ndarray::s![.., ..5]);
    let e = model.score(narrow).unwrap_err();
    assert!(e.is_user() && e.to_string().contains("reads 6 features"), "{e}");
}

/// Positives are the people high on both of two features or low on both (an XOR of signs): no
/// linear score separates them, the product of the two does.
#[test]
fn an_interaction_only_signal_is_found_by_the_products() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (n, d) = (12_000, 6);
    let x = ndarray::Array2::from_shape_fn((n, d), |_| rng.gen_range(-1.0f32..1.0));
    let names: Vec<String> = (0..d).map(|j| format!("f{j}")).collect();
    let positive: Vec<bool> = x.rows().into_iter().map(|r| r[0] * r[1] > 0.2).collect();
    let pos: Vec<usize> = (0..n).filter(|&r| positive[r]).collect();
    let seed: Vec<usize> = pos[..pos.len() / 2].to_vec();
    let pool: Vec<usize> = (0..n).filter(|r| seed.binary_search(r).is_err()).collect();
    for method in [Method::Logistic, Method::Ensemble] {
        let model = LookalikeParams::new(method)
            .check()
            .unwrap()
            .fit(x.view(), &names, &seed, &pool)
            .unwrap();
        let logistic = model.logistic.as_ref().unwrap();
        assert!(logistic.pairs().contains(&(0, 1)), "{method}: {:?}", logistic.pairs());
        assert_eq!(model.top_features[0].name, "f0 × f1", "{method}: {:?}", model.top_features);
        let xp = x.select(ndarray::Axis(0), &pool);
        let scores = model.score(xp.view()).unwrap();
        let labels: Vec<bool> = pool.iter().map(|&r| positive[r]).collect();
        let auc = metrics::auc(&scores, &labels).unwrap();
        assert!(auc > 0.95, "{method}: AUC {auc}");
    }
}
