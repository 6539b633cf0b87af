//! `audience score MODEL --input NEW [--out scores.parquet] [--threshold S] [--id COL]
//! [--as-of DATE]`: batch scoring of new cookies.

use std::path::PathBuf;

use anyhow::{bail, Result};

use audience::derive::{load_record, parse_date, DeriveOptions};
use audience::lookalike::load;
use audience::score::{check_output, score_new, write_scores, ScoreInput};

use super::Global;

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// The trained model (models/MODEL in the store).
    pub model: String,
    /// The new cookies: a table of feature rows (CSV/Parquet: an id column and the traits the
    /// model reads), or a directory of raw events (web_events, ad_exposures, ...) whose traits
    /// are derived per cookie.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write cookie id, score and qualifies (.parquet or .csv).
    #[arg(long, default_value = "scores.parquet")]
    pub out: PathBuf,
    /// A cookie qualifies when its score is at least this (default: the model's threshold, the
    /// score at the top 5% of its training pool).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// The id column of a feature-row table.
    #[arg(long, default_value = "cookie")]
    pub id: String,
    /// Raw events: the day traits are computed as of (YYYY-MM-DD); default: the latest event's.
    #[arg(long)]
    pub as_of: Option<String>,
}

pub fn run(a: ScoreArgs, g: &Global) -> Result<()> {
    check_output(&a.out)?;
    let store = g.open_store()?;
    let (card, stored) = load(&store, &a.model)?;
    if let Some(t) = a.threshold {
        if !t.is_finite() {
            bail!("--threshold {t} is not a number");
        }
    }
    let input = if a.input.is_dir() {
        let as_of = match &a.as_of {
            Some(s) => Some(parse_date(s).ok_or_else(|| {
                anyhow::anyhow!("--as-of: `{s}` is not a date; write YYYY-MM-DD")
            })?),
            None => None,
        };
        // The windows the store's traits were derived with, so the trait names match.
        let windows = load_record(&store)?
            .map(|r| r.windows)
            .unwrap_or_else(|| audience::derive::DEFAULT_WINDOWS.to_vec());
        ScoreInput::Events { dir: a.input.clone(), derive: DeriveOptions { as_of, windows } }
    } else if a.input.is_file() {
        if a.as_of.is_some() {
            bail!("--as-of applies to raw events (a directory), not to a table of feature rows");
        }
        ScoreInput::Rows { path: a.input.clone(), id: a.id.clone() }
    } else {
        bail!(
            "--input {}: no such file or directory; give a table of feature rows or a directory \
             of raw events",
            a.input.display()
        );
    };
    let s = score_new(&stored, &input, a.threshold, g.quiet)?;
    if !s.imputed_traits.is_empty() {
        g.note(format!(
            "note: {} trait(s) the model reads cannot come from raw events and are missing for \
             every new cookie (imputed as for profiles without them): {}",
            s.imputed_traits.len(),
            s.imputed_traits.join(", ")
        ));
    }
    let id_name = match &input {
        ScoreInput::Rows { id, .. } => id.as_str(),
        ScoreInput::Events { .. } => "cookie",
    };
    write_scores(&a.out, &s, id_name)?;
    let n = s.scores.len();
    println!(
        "scored {n} cookies with `{}` ({}): {} qualify (score >= {:.4}{}, {:.1}%); wrote {}",
        card.name,
        card.view.as_deref().map_or("every trait".to_string(), |v| format!("view `{v}`")),
        s.qualifying,
        s.threshold,
        if a.threshold.is_some() { ", given" } else { ", the model's top-5% score" },
        100.0 * s.qualifying as f64 / n.max(1) as f64,
        a.out.display()
    );
    println!(
        "  traits {:.2} s, features and scores {:.2} s ({:.0} cookies/s)",
        s.prepare_secs,
        s.score_secs,
        n as f64 / s.score_secs.max(1e-9)
    );
    Ok(())
}
