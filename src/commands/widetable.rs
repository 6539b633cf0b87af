//! `audience widetable --rows N --out FILE`: writes the wide benchmark table (10 boolean and 10
//! integer columns, see `audience::widetable`) for measuring import and segment speed.

use std::path::PathBuf;

use anyhow::Result;

use super::Global;

#[derive(clap::Args)]
pub struct WidetableArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 10_000_000)]
    pub rows: usize,
    /// Seed of the random values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (.parquet).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: WidetableArgs, g: &Global) -> Result<()> {
    let t = std::time::Instant::now();
    let cols = audience::widetable::wide_table(a.rows, a.seed);
    audience::table::write_parquet(&a.out, &cols)?;
    g.note(format!(
        "wrote {} rows to {} in {:.1} s",
        a.rows,
        a.out.display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}
