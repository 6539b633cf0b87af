//! `audience cluster (--k K | --k-range 2..12) [--universe EXPR] [--seed S]`: k-means
//! auto-segmentation; each cluster becomes segment `cluster.<run>.<i>` with a lift report.

use std::collections::HashMap;

use anyhow::{bail, Result};
use linfa::ParamGuard;
use roaring::RoaringBitmap;

use audience::cluster::{fit, fit_best_k, params};
use audience::index::BitmapIndex;
use audience::lift::distinctive;
use audience::segment;

use super::Global;

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// The feature view: `profile` (every trait, standardised).
    #[arg(long, default_value = "profile")]
    pub view: String,
    /// Number of clusters.
    #[arg(long, conflicts_with = "k_range")]
    pub k: Option<usize>,
    /// Try every k in FROM..TO and keep the best silhouette (on a seeded sample).
    #[arg(long)]
    pub k_range: Option<String>,
    /// Only cluster the profiles of this expression (default all()).
    #[arg(long)]
    pub universe: Option<String>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Name of the run (segments are cluster.RUN.I); default: the next free number.
    #[arg(long)]
    pub run: Option<String>,
}

pub fn run(a: ClusterArgs, g: &Global) -> Result<()> {
    let mut store = g.open_store()?;
    if a.view != "profile" {
        bail!("unknown view `{}`; the view available is `profile`", a.view);
    }
    let universe_expr = a.universe.clone().unwrap_or_else(|| "all()".into());
    let universe = segment::evaluate(&store, &universe_expr, &HashMap::new())?.pids;
    let (pids, fm) = audience::lookalike::profile_matrix(&store)?;
    let rows: Vec<usize> = (0..pids.len()).filter(|&i| universe.contains(pids[i])).collect();
    let x = fm.x.select(ndarray::Axis(0), &rows);
    let clusters = match (a.k, &a.k_range) {
        (Some(k), None) => fit(&params(k, 50, a.seed).check()?, x.view())?,
        (None, Some(r)) => {
            let (lo, hi) = r
                .split_once("..")
                .and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("--k-range `{r}`: write FROM..TO, e.g. 2..12"))?;
            let (c, tried) = fit_best_k(x.view(), lo..=hi, 50, a.seed)?;
            let t: Vec<String> = tried.iter().map(|(k, s)| format!("k={k}: {s:.3}")).collect();
            println!("silhouette: {}", t.join(", "));
            c
        }
        _ => bail!("give --k K or --k-range FROM..TO"),
    };
    let run = match a.run {
        Some(r) => r,
        None => {
            (1..).find(|i| !segment::exists(&store, &format!("cluster.{i}.0"))).unwrap().to_string()
        }
    };
    let mut members = vec![RoaringBitmap::new(); clusters.centroids.nrows()];
    for (&row, &l) in rows.iter().zip(&clusters.labels) {
        members[l as usize].insert(pids[row]);
    }
    let index = BitmapIndex::open(&store, None)?;
    for (i, m) in members.iter().enumerate() {
        let name = format!("cluster.{run}.{i}");
        let now = audience::store::now_iso();
        let meta = segment::SegmentMeta {
            name: name.clone(),
            definition: format!("@cluster({run}, {i})"),
            description: Some(format!("k-means cluster {i} of run {run} over `{universe_expr}`")),
            size: m.len(),
            size_by_party: segment::size_by_party(&store, m)?,
            created: now.clone(),
            updated: now,
            lineage: segment::Lineage::default(),
            data_version: store.meta().updated.clone(),
            checksum: String::new(),
        };
        segment::save(&store, &meta, m)?;
        println!(
            "\n{name}: {} profiles ({:.1}%)",
            m.len(),
            100.0 * m.len() as f64 / rows.len().max(1) as f64
        );
        for l in distinctive(&index, m, &universe, 0.05, 4) {
            println!("  {l}");
        }
    }
    let n = segment::names(&store)?.len() as u64;
    store.update_counts(|c| c.segments = n)?;
    Ok(())
}
