//! `audience train NAME --seed-segment SEG [--spec models/actalike.toml] [--pool EXPR] [--method ..]
//! [--seed S]` and
//! `audience expand MODEL (--reach 5% | --size N | --min-score S) ... --out-segment NAME`.

use anyhow::{bail, Result};

use std::path::PathBuf;

use audience::features::ViewSpec;
use audience::lookalike::{expand, train_with, ExpandOptions, Reach, TrainOptions};
use audience::model::Method;

use super::Global;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// Average of logistic and similarity ranks (default).
    Ensemble,
    /// Class-balanced, L2-regularised logistic regression.
    Logistic,
    /// Cosine similarity to the seed.
    Similarity,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The model's name (stored under models/NAME).
    pub name: String,
    /// The seed audience: a stored segment.
    #[arg(long)]
    pub seed_segment: String,
    /// The model spec whose feature view the model reads: models/lookalike.toml (who they are)
    /// or models/actalike.toml (what they do). Default: every trait of the store.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// The pool the model ranks (an expression; default all()).
    #[arg(long)]
    pub pool: Option<String>,
    /// The method.
    #[arg(long, value_enum, default_value = "ensemble")]
    pub method: MethodArg,
    /// Random seed (hold-out split, unlabelled sample).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run_train(a: TrainArgs, g: &Global) -> Result<()> {
    let mut store = g.open_store()?;
    let method = match a.method {
        MethodArg::Ensemble => Method::Ensemble,
        MethodArg::Logistic => Method::Logistic,
        MethodArg::Similarity => Method::Similarity,
    };
    let spec = a.spec.as_ref().map(ViewSpec::load).transpose()?;
    let opts = TrainOptions { pool: a.pool, method, seed: a.seed, spec };
    let card = train_with(&mut store, &a.name, &a.seed_segment, &opts)?;
    for w in &card.warnings {
        g.note(format!("warning: {w}"));
    }
    println!(
        "trained `{}` ({:?}) on {} seed members ({} held out) and {} unlabelled of a {} pool in {:.1} s",
        card.name,
        card.method,
        card.counts.seed,
        card.counts.holdout,
        card.counts.unlabelled,
        card.counts.pool,
        card.seconds
    );
    if let Some(e) = &card.evaluation {
        println!(
            "hold-out: AUC {:.3} (random 0.5), lift@10% {:.2} (random 1), precision@K {:.3} (random {:.3})",
            e.auc, e.lift_at_10, e.precision_at_k, e.base_rate
        );
        let recall: Vec<String> = e
            .recall_at
            .iter()
            .map(|r| format!("{:.0}%: {:.3}", 100.0 * r.reach, r.recall))
            .collect();
        println!("recall at reach (random = reach): {}", recall.join(", "));
    }
    println!(
        "features: {} ({} columns); qualifying threshold (score at the top {:.0}% of the pool): {:.4}",
        card.view.as_deref().map_or("every trait".to_string(), |v| format!("view `{v}`")),
        card.features.len(),
        100.0 * audience::lookalike::QUALIFY_REACH,
        card.threshold
    );
    let top: Vec<String> =
        card.top_features.iter().take(5).map(|f| format!("{} {:+.2}", f.name, f.weight)).collect();
    println!("top features: {}", top.join(", "));
    Ok(())
}

#[derive(clap::Args)]
pub struct ExpandArgs {
    /// The trained model.
    pub model: String,
    /// Share of the candidates to take, e.g. 5%.
    #[arg(long, conflicts_with_all = ["size", "min_score"])]
    pub reach: Option<String>,
    /// Number of members to take.
    #[arg(long, conflicts_with = "min_score")]
    pub size: Option<u64>,
    /// Take every candidate scoring at least this.
    #[arg(long)]
    pub min_score: Option<f32>,
    /// Parties to draw from: first,second,third (default all).
    #[arg(long, value_delimiter = ',')]
    pub from: Vec<String>,
    /// 3rd-party providers allowed (default all).
    #[arg(long, value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Most euros to spend on 3rd-party members.
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// The segment to write.
    #[arg(long)]
    pub out_segment: String,
}

pub fn run_expand(a: ExpandArgs, g: &Global) -> Result<()> {
    let mut store = g.open_store()?;
    let reach = match (a.reach, a.size, a.min_score) {
        (Some(r), _, _) => {
            let v: f64 = r.trim_end_matches('%').trim().parse().map_err(|_| {
                anyhow::anyhow!("--reach `{r}` is not a percentage; write e.g. --reach 5%")
            })?;
            if !(0.0..=100.0).contains(&v) {
                bail!("--reach {r} is outside 0% .. 100%");
            }
            Reach::Share(v / 100.0)
        }
        (None, Some(n), _) => Reach::Size(n),
        (None, None, Some(s)) => Reach::MinScore(s),
        _ => bail!("say how many to take: --reach 5%, --size N or --min-score S"),
    };
    for p in &a.from {
        if !["first", "second", "third"].contains(&p.as_str()) {
            bail!("--from `{p}`: the parties are first, second, third");
        }
    }
    let cpm = audience::lookalike::provider_cpms(&store)?;
    let opts = ExpandOptions { parties: a.from, providers: a.providers, max_cost: a.max_cost, cpm };
    let r = expand(&mut store, &a.model, reach, &opts, &a.out_segment)?;
    println!(
        "segment `{}`: {} of {} candidates ({:.1}% reach); {} left out without ad consent",
        a.out_segment,
        r.size,
        r.candidates,
        100.0 * r.reach,
        r.excluded_no_consent
    );
    let parties: Vec<String> = r.by_party.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("by party: {}", parties.join(", "));
    if !r.by_provider.is_empty() {
        let prov: Vec<String> = r.by_provider.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("3rd party by provider: {}", prov.join(", "));
    }
    println!("cost: {:.2} EUR", r.cost_eur);
    if let (Some(l), Some(rc)) = (r.expected_lift, r.expected_recall) {
        println!("expected quality at this reach (hold-out curve): lift {l:.2}, recall {rc:.3}");
    }
    Ok(())
}
