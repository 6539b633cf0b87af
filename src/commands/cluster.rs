//! `audience cluster [--view VIEW] (--k K | --k-range 2..12) [--universe EXPR] [--seed S]`: k-means
//! auto-segmentation; each cluster becomes segment `cluster.<run>.<i>` with a lift report.

use std::collections::HashMap;

use anyhow::{bail, Result};
use linfa::ParamGuard;
use roaring::RoaringBitmap;

use std::path::{Path, PathBuf};

use ndarray::Array2;

use audience::cluster::{fit, fit_best_k, params};
use audience::features::{build, Traits, ViewSpec};
use audience::index::BitmapIndex;
use audience::index::Pid;
use audience::lift::distinctive;
use audience::segment;
use audience::store::Store;

use super::Global;

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// The feature view: `profile` (every trait, standardised), a view spec file such as
    /// `models/actalike.toml`, or a spec name (`lookalike`, `actalike`: `models/NAME.toml`).
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
    let universe_expr = a.universe.clone().unwrap_or_else(|| "all()".into());
    let universe = segment::evaluate(&store, &universe_expr, &HashMap::new())?.pids;
    let (pids, matrix) = view_matrix(&store, &a.view)?;
    let rows: Vec<usize> = (0..pids.len()).filter(|&i| universe.contains(pids[i])).collect();
    if rows.is_empty() {
        bail!("`{universe_expr}` holds no profile with traits: nothing to cluster");
    }
    let x = matrix.select(ndarray::Axis(0), &rows);
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

/// The pids and feature rows of `view`: `profile`, a spec file, or a spec name under `models/`.
fn view_matrix(store: &Store, view: &str) -> Result<(Vec<Pid>, Array2<f32>)> {
    if view == "profile" {
        let (pids, fm) = audience::lookalike::profile_matrix(store)?;
        return Ok((pids, fm.x));
    }
    let path = if Path::new(view).is_file() {
        PathBuf::from(view)
    } else {
        let named = Path::new("models").join(format!("{view}.toml"));
        if !named.is_file() {
            bail!(
                "unknown view `{view}`: give `profile`, a view spec file (e.g. \
                 models/actalike.toml) or the name of one in ./models (lookalike, actalike)"
            );
        }
        named
    };
    let spec = ViewSpec::load(&path)?;
    let traits = Traits::load(store)?;
    let (m, params) = build(&spec, &traits)?;
    println!("view `{}` from {}: {} features", params.view, path.display(), m.ncols());
    // The view's rows are pids 0..n; the universe keeps those with traits.
    Ok(((0..m.nrows() as Pid).collect(), m))
}
