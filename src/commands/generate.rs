//! `audience generate --people N --seed S --out DIR [--format parquet|csv]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use audience::generate::{generate, Format, Options};

use super::Global;

/// The table format.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// Apache Parquet (zstd).
    Parquet,
    /// Comma-separated values.
    Csv,
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Number of people in the world (1 to 30,000,000).
    #[arg(long)]
    pub people: u64,
    /// Seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created; must be empty or hold an earlier generated world).
    #[arg(long)]
    pub out: PathBuf,
    /// File format of every table.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: FormatArg,
}

pub fn run(a: GenerateArgs, g: &Global) -> Result<()> {
    let format = match a.format {
        FormatArg::Parquet => Format::Parquet,
        FormatArg::Csv => Format::Csv,
    };
    let opts =
        Options { people: a.people, seed: a.seed, out: a.out.clone(), format, quiet: g.quiet };
    let t = Instant::now();
    let m = generate(&opts)?;
    let secs = t.elapsed().as_secs_f64();
    let total: u64 = m.rows.values().sum();
    println!(
        "generated {} people (seed {}) into {} in {:.1} s: {} rows ({:.0} rows/s), {} .. {}",
        m.people,
        m.seed,
        a.out.display(),
        secs,
        total,
        total as f64 / secs.max(1e-9),
        m.span.start,
        m.span.end
    );
    for (table, rows) in &m.rows {
        println!("  {table:<24} {rows:>12}");
    }
    Ok(())
}
