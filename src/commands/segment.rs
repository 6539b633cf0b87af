//! `audience segment ...`: create, count, list, show, overlap, ids, refresh and delete segments.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use roaring::RoaringBitmap;

use audience::segment::{self, SegmentMeta};
use audience::store::write_atomic;

use super::Global;

#[derive(clap::Args)]
pub struct SegmentArgs {
    #[command(subcommand)]
    pub command: SegmentCommand,
}

#[derive(clap::Subcommand)]
pub enum SegmentCommand {
    /// Evaluate an expression and store the result as a new segment.
    Create {
        /// The segment's name: letters, digits, `_`, `-`, `.`.
        name: String,
        /// The expression, e.g. 'country = "FR" and age >= 18 and not segment("churned")'.
        expr: String,
        /// Free text kept with the segment.
        #[arg(long)]
        description: Option<String>,
    },
    /// Count the profiles an expression holds for, without storing anything.
    Count {
        /// The expression.
        expr: String,
        /// Print {"count": N, "eval_ms": X} (evaluation time only, not loading).
        #[arg(long)]
        json: bool,
    },
    /// List the stored segments.
    List,
    /// Show a segment: definition, size, size by party, times, lineage.
    Show {
        /// The segment.
        name: String,
    },
    /// Pairwise intersections, Jaccard indexes and exclusive shares of two or more segments.
    Overlap {
        /// The segments.
        #[arg(required = true, num_args = 2..)]
        names: Vec<String>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Print the external ids of a segment's profiles, one a line.
    Ids {
        /// The segment.
        name: String,
        /// Write them to this file (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-evaluate a segment (and the segments it uses), or all segments, on the current data.
    Refresh {
        /// The segment; all segments when absent.
        name: Option<String>,
    },
    /// Delete a segment.
    Delete {
        /// The segment.
        name: String,
    },
}

pub fn run(a: SegmentArgs, g: &Global) -> Result<()> {
    match a.command {
        SegmentCommand::Create { name, expr, description } => {
            let mut store = g.open_store()?;
            let m = segment::create(&mut store, &name, &expr, description)?;
            println!("segment {} created: {} profiles", m.name, m.size);
        }
        SegmentCommand::Count { expr, json } => {
            let store = g.open_store()?;
            let (n, ms) = segment::count(&store, &expr)?;
            if json {
                println!("{}", serde_json::json!({"count": n, "eval_ms": round3(ms)}));
            } else {
                println!("{n} profiles ({ms:.3} ms)");
            }
        }
        SegmentCommand::List => {
            let store = g.open_store()?;
            let names = segment::names(&store)?;
            if names.is_empty() {
                g.note("no segments yet; create one with `audience segment create NAME EXPR`");
            } else {
                println!("{:<24} {:>12}  {:<20}  definition", "name", "size", "updated");
                for n in names {
                    let m = segment::load_meta(&store, &n)?;
                    println!("{:<24} {:>12}  {:<20}  {}", m.name, m.size, m.updated, m.definition);
                }
            }
        }
        SegmentCommand::Show { name } => {
            let store = g.open_store()?;
            show(&segment::load_meta(&store, &name)?);
        }
        SegmentCommand::Overlap { names, json } => {
            let store = g.open_store()?;
            let segs: Vec<(String, RoaringBitmap)> = names
                .iter()
                .map(|n| Ok((n.clone(), segment::load(&store, n)?.pids)))
                .collect::<Result<_>>()?;
            let refs: Vec<(&str, &RoaringBitmap)> =
                segs.iter().map(|(n, b)| (n.as_str(), b)).collect();
            let o = segment::overlap(&refs);
            if json {
                println!("{}", serde_json::to_string_pretty(&o)?);
            } else {
                println!("{:<24} {:>12} {:>12} {:>10}", "segment", "size", "exclusive", "share");
                for s in &o.segments {
                    println!(
                        "{:<24} {:>12} {:>12} {:>9.1}%",
                        s.name,
                        s.size,
                        s.exclusive,
                        s.exclusive_share * 100.0
                    );
                }
                println!();
                println!("{:<24} {:<24} {:>12} {:>8}", "a", "b", "both", "jaccard");
                for p in &o.pairs {
                    println!("{:<24} {:<24} {:>12} {:>8.4}", p.a, p.b, p.intersection, p.jaccard);
                }
            }
        }
        SegmentCommand::Ids { name, out } => {
            let store = g.open_store()?;
            let ids = segment::external_ids(&store, &name)?;
            match out {
                Some(path) => {
                    write_atomic(&path, |w| {
                        for id in &ids {
                            writeln!(w, "{id}").map_err(|e| audience::Error::io(&path, e))?;
                        }
                        Ok(())
                    })?;
                    g.note(format!("{} ids written to {}", ids.len(), path.display()));
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    for id in &ids {
                        writeln!(w, "{id}")?;
                    }
                    w.flush()?;
                }
            }
        }
        SegmentCommand::Refresh { name } => {
            let mut store = g.open_store()?;
            let done = segment::refresh(&mut store, name.as_deref())?;
            if done.is_empty() {
                g.note("no segments to refresh");
            }
            for r in done {
                println!("segment {} refreshed: {} -> {} profiles", r.name, r.before, r.after);
            }
        }
        SegmentCommand::Delete { name } => {
            let mut store = g.open_store()?;
            let users = segment::delete(&mut store, &name)?;
            println!("segment {name} deleted");
            if !users.is_empty() {
                g.note(format!(
                    "warning: {} reference segment `{name}` and will fail to refresh until it is \
                     created again",
                    users.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn show(m: &SegmentMeta) {
    println!("segment {}", m.name);
    println!("  definition    {}", m.definition);
    if let Some(d) = &m.description {
        println!("  description   {d}");
    }
    println!("  size          {}", m.size);
    if !m.size_by_party.is_empty() {
        let parts: Vec<String> = m.size_by_party.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("  by party      {}", parts.join(", "));
    }
    println!("  created       {}", m.created);
    println!("  updated       {}", m.updated);
    println!("  data version  {}", m.data_version);
    let or_none = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    println!("  segments used {}", or_none(&m.lineage.segments));
    println!("  traits used   {}", or_none(&m.lineage.traits));
}
