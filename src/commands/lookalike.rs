//! `audience lookalike ...`: look-alike models. `evaluate` runs the standard offline protocol on a
//! labelled table (see `audience::model::offline`).

use anyhow::Result;

use audience::model::offline::{evaluate, OfflineParams, OfflineReport};
use audience::model::Method;

use super::Global;

#[derive(clap::Args)]
pub struct LookalikeArgs {
    #[command(subcommand)]
    pub command: LookalikeCommand,
}

#[derive(clap::Subcommand)]
pub enum LookalikeCommand {
    /// Evaluate a method offline on a labelled table: hide part of the positives in the pool and
    /// see how high the model trained on the rest ranks them.
    Evaluate(EvaluateArgs),
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// The labelled table (CSV, CSV.gz or Parquet), one row per person.
    pub table: std::path::PathBuf,
    /// The label column.
    #[arg(long)]
    pub label: String,
    /// The label value of a positive (default: true, or 1 for a 0/1 column).
    #[arg(long)]
    pub positive: Option<String>,
    /// The id column (never a feature).
    #[arg(long)]
    pub id: Option<String>,
    /// Columns that are never features, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Share of the positives used as the seed in each repeat.
    #[arg(long, default_value_t = 0.5)]
    pub seed_fraction: f64,
    /// Number of repeats (each with its own seeded split).
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    /// The method: ensemble, logistic or similarity.
    #[arg(long, default_value = "ensemble")]
    pub method: String,
    /// Seed of every random step.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: LookalikeArgs, g: &Global) -> Result<()> {
    match a.command {
        LookalikeCommand::Evaluate(e) => run_evaluate(e, g),
    }
}

fn run_evaluate(a: EvaluateArgs, g: &Global) -> Result<()> {
    let method: Method = a.method.parse()?;
    let table = audience::table::read_table(&a.table)?;
    let params = OfflineParams {
        label: a.label.trim().to_string(),
        positive: a.positive,
        id: a.id.map(|s| s.trim().to_string()),
        exclude: a.exclude.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        seed_fraction: a.seed_fraction,
        repeats: a.repeats,
        method,
        seed: a.seed,
    };
    let report = evaluate(&table, &params)?;
    for w in &report.warnings {
        g.note(format!("warning: {w}"));
    }
    if a.json {
        println!("{}", serde_json::to_string(&json(&report))?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// The `--json` shape: exactly these keys.
fn json(r: &OfflineReport) -> serde_json::Value {
    let recall = |reach: f64| {
        r.recall_at.iter().find(|(x, _)| (*x - reach).abs() < 1e-9).map(|(_, s)| s.mean)
    };
    serde_json::json!({
        "auc": r.auc.mean,
        "auc_std": r.auc.std,
        "precision_at_k": r.precision_at_k.mean,
        "lift_at_10": r.lift_at_10.mean,
        "recall_at": {"5": recall(0.05), "10": recall(0.10), "20": recall(0.20)},
        "method": r.method.to_string(),
    })
}

fn print_report(r: &OfflineReport) {
    println!(
        "method {}: {} rows, {} positives; seed {} per repeat, {} hidden in a pool of {}; {} features",
        r.method, r.rows, r.positives, r.seed_size, r.hidden, r.pool, r.features
    );
    for (c, why) in &r.skipped {
        println!("  skipped column `{c}`: {why}");
    }
    println!("\n  {:<20} {:>8} {:>8} {:>8}", "metric", "mean", "std", "random");
    let line = |name: &str, s: audience::model::offline::Stat, random: f64| {
        println!("  {name:<20} {:>8.4} {:>8.4} {random:>8.4}", s.mean, s.std)
    };
    line("AUC", r.auc, 0.5);
    line("precision at K", r.precision_at_k, r.base_rate);
    line("lift at 10%", r.lift_at_10, 1.0);
    for (reach, s) in &r.recall_at {
        line(&format!("recall at {:.0}%", reach * 100.0), *s, *reach);
    }
    println!("\n  lift curve (reach: lift):");
    let pts: Vec<String> =
        r.lift_curve.iter().map(|(x, l)| format!("{:.0}%: {l:.2}", x * 100.0)).collect();
    for chunk in pts.chunks(5) {
        println!("    {}", chunk.join("   "));
    }
}
