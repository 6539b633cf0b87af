//! Training speed of the default look-alike model on a large pool (one timed run, no criterion:
//! a training takes seconds, so a plain timer is the honest tool).
//!
//! What it measures: `ValidLookalikeParams::fit` with the default parameters (ensemble, 20%
//! hold-out evaluation, inner validation of the L2 strength and the ensemble weight, final refit)
//! on a planted synthetic pool of 1,000,000 rows × 32 f32 features with a seed of 10,000
//! (`audience::model::synthetic::planted`). The target is under 30 s.
//!
//! Run: `cargo bench --bench train` (prints the seconds, the counts and the hold-out AUC).

use std::time::Instant;

use audience::model::synthetic::planted;
use audience::model::LookalikeParams;

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let (x, names) = planted(1_000_000, 32, 50_000, 7);
    let seed: Vec<usize> = (0..10_000).collect();
    let pool: Vec<usize> = (10_000..1_000_000).collect();
    let start = Instant::now();
    let model = LookalikeParams::default()
        .check()
        .expect("default parameters are valid")
        .fit(x.view(), &names, &seed, &pool)
        .expect("training succeeds");
    let secs = start.elapsed().as_secs_f64();
    let eval = model.evaluation.as_ref().expect("hold-out evaluation");
    println!(
        "train/1M-pool-32-features-10k-seed: {secs:.2} s on {} threads (seed {}, hold-out {}, \
         unlabelled {}, pool {}); lambda {:?}, ensemble weight {:?}; hold-out AUC {:.4}, \
         lift at 10% {:.2}",
        rayon::current_num_threads(),
        model.counts.seed,
        model.counts.holdout,
        model.counts.unlabelled,
        model.counts.pool,
        model.lambda,
        model.ensemble.as_ref().map(|e| e.logistic_weight),
        eval.auc,
        eval.lift_at_10
    );
}
