//! `audience generate`: a synthetic but realistic DMP world, deterministic by seed.
//!
//! It writes the raw sources (CRM, receipts, web events, email events, ad exposures, partner syncs
//! and events, provider files), a ready-unified `profiles` table for `audience import`, the
//! `truth/` that identity resolution, traits and look-alike models are measured against, and a
//! `manifest.json`. The schemas are in [`tables`]; the README's "Source schemas" describes them.
//!
//! How it scales: people are drawn in chunks of [`CHUNK_PEOPLE`]. A chunk's households are drawn
//! in parallel (rayon), each from its own RNG seeded by (seed, first person), and their rows are
//! concatenated in person order; a writer thread appends the chunk to every table (one Parquet row
//! group, or CSV lines) while the next chunk is drawn. Memory is bounded by a few chunks whatever
//! the number of people, and the same seed gives byte-identical files whatever the thread count.
//!
//! Every file is written beside its target and renamed into place only when all tables are
//! complete ([`crate::store::AtomicFile`], [`crate::store::write_atomic`]).
//!
//! Owns the orchestration and the manifest. The behaviour model is in [`person`], the constant
//! vocabularies in [`vocab`], the writers in [`sink`].

pub mod person;
pub mod sink;
pub mod tables;
pub mod vocab;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::store::{iso_from_unix, write_atomic, AtomicFile};
use person::World;
pub use sink::Format;
use sink::{Buf, FileSink, Sink, V};

/// People drawn per chunk (fixed: the output does not depend on it being the same everywhere,
/// but households never straddle two chunks, so changing it changes the world).
pub const CHUNK_PEOPLE: u64 = 32_768;

/// People per unit of parallel work inside a chunk.
const UNIT_PEOPLE: u64 = 1024;

/// Version of the generator's model; bumped when the same seed would give other files.
pub const GENERATOR_VERSION: &str = "1";

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of people in the world.
    pub people: u64,
    /// The seed: the same seed gives byte-identical files.
    pub seed: u64,
    /// The output directory.
    pub out: PathBuf,
    /// File format of every table.
    pub format: Format,
    /// No progress bar.
    pub quiet: bool,
}

/// The date range of the generated events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Span {
    /// First day (inclusive), `YYYY-MM-DD`.
    pub start: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub end: String,
    /// First second, unix UTC.
    pub start_ts: i64,
    /// First second after the span, unix UTC.
    pub end_ts: i64,
}

/// `manifest.json` at the root of a generated world.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Version of the generator's model.
    pub generator_version: String,
    /// The seed.
    pub seed: u64,
    /// Number of people.
    pub people: u64,
    /// `parquet` or `csv`.
    pub format: String,
    /// The events' date range.
    pub span: Span,
    /// Rows per table (table name without extension).
    pub rows: BTreeMap<String, u64>,
    /// Every file written, relative to the output directory.
    pub files: Vec<String>,
}

/// The manifest file's name.
pub const MANIFEST: &str = "manifest.json";

/// Generates the world described by `opts` and returns its manifest (also written to
/// `OUT/manifest.json`).
pub fn generate(opts: &Options) -> Result<Manifest> {
    check(opts)?;
    let out = &opts.out;
    let old_manifest = prepare_dir(out)?;
    let world = World::new(opts.seed, opts.people);
    let ext = opts.format.ext();
    let mut rows = BTreeMap::new();
    let mut files = Vec::new();

    // Small tables, written whole.
    let mut small = vec![
        (&tables::PROVIDERS, Buf::new(&tables::PROVIDERS)),
        (&tables::TRUTH_PROVIDERS, Buf::new(&tables::TRUTH_PROVIDERS)),
        (&tables::TRUTH_PUBLIC_IPS, Buf::new(&tables::TRUTH_PUBLIC_IPS)),
    ];
    for pv in &vocab::PROVIDERS {
        small[0].1.row(&[V::S(pv.name), V::F(pv.cpm_eur), V::S(pv.description)]);
        small[1].1.row(&[V::S(pv.name), V::F(pv.accuracy), V::F(pv.coverage), V::F(pv.cpm_eur)]);
    }
    for j in 0..world.public_ips {
        let (ip, venue) = world.public_ip(j);
        small[2].1.row(&[V::S(&ip), V::S(venue)]);
    }
    for (schema, buf) in &small {
        let name = format!("{}.{ext}", schema.name);
        write_atomic(out.join(&name), |w| {
            let mut sink = Sink::new(opts.format, schema, &mut *w)?;
            sink.write(buf)?;
            sink.finish()
        })?;
        rows.insert(schema.name.to_string(), buf.rows() as u64);
        files.push(name);
    }

    // Streamed tables.
    let schemas = tables::streamed();
    let mut atomic: Vec<AtomicFile> = schemas
        .iter()
        .map(|s| AtomicFile::create(out.join(format!("{}.{ext}", s.name))))
        .collect::<Result<_>>()?;
    let counts = stream_chunks(opts, &world, &schemas, &mut atomic)?;
    for f in atomic {
        f.commit()?;
    }
    for (s, n) in schemas.iter().zip(counts) {
        rows.insert(s.name.to_string(), n);
        files.push(format!("{}.{ext}", s.name));
    }
    files.sort();

    // Files of an earlier world in this directory that this one did not rewrite (another format).
    if let Some(old) = old_manifest {
        for f in old.files.iter().filter(|f| !files.contains(f)) {
            let p = out.join(f);
            if p.exists() {
                fs::remove_file(&p).at(&p)?;
            }
        }
    }

    let (start, end) = (person::span_start(), person::span_end());
    let manifest = Manifest {
        generator_version: GENERATOR_VERSION.to_string(),
        seed: opts.seed,
        people: opts.people,
        format: ext.to_string(),
        span: Span {
            start: iso_from_unix(start)[..10].to_string(),
            end: iso_from_unix(end - 1)[..10].to_string(),
            start_ts: start,
            end_ts: end,
        },
        rows,
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::internal(format!("serialising the manifest: {e}")))?;
    write_atomic(out.join(MANIFEST), |w| w.write_all(&json).at(MANIFEST))?;
    Ok(manifest)
}

fn check(opts: &Options) -> Result<()> {
    if opts.people == 0 || opts.people > person::MAX_PEOPLE {
        return Err(Error::user(format!(
            "--people {}: a world holds 1 to {} people; pick a number in that range",
            opts.people,
            person::MAX_PEOPLE
        )));
    }
    Ok(())
}

/// Creates the output directory and its `providers/` and `truth/`. Refuses a non-empty directory
/// that is not an earlier generated world; returns the earlier world's manifest if there is one.
fn prepare_dir(out: &Path) -> Result<Option<Manifest>> {
    if out.exists() && !out.is_dir() {
        return Err(Error::user(format!(
            "--out {}: this is a file; give a directory (it is created if missing)",
            out.display()
        )));
    }
    let mut old = None;
    if out.is_dir() {
        let mpath = out.join(MANIFEST);
        if mpath.exists() {
            let bytes = fs::read(&mpath).at(&mpath)?;
            old = serde_json::from_slice::<Manifest>(&bytes).ok();
        }
        let non_empty = fs::read_dir(out).at(out)?.next().is_some();
        if non_empty && old.is_none() {
            return Err(Error::user(format!(
                "--out {}: the directory is not empty and holds no generated world \
                 ({MANIFEST}); give an empty or new directory",
                out.display()
            )));
        }
    }
    for sub in ["providers", "truth"] {
        let d = out.join(sub);
        fs::create_dir_all(&d).at(&d)?;
    }
    Ok(old)
}

/// Draws every chunk and streams it into the tables; returns the rows written per table.
fn stream_chunks(
    opts: &Options,
    world: &World,
    schemas: &[&'static sink::Schema; 13],
    files: &mut [AtomicFile],
) -> Result<Vec<u64>> {
    let bar = crate::progress::bar(opts.people, "generating", opts.quiet);
    let chunks = opts.people.div_ceil(CHUNK_PEOPLE);
    let (tx, rx) = mpsc::sync_channel::<Vec<Buf>>(1);
    let counts = std::thread::scope(|scope| -> Result<Vec<u64>> {
        let format = opts.format;
        let bar = &bar;
        let writer = scope.spawn(move || -> Result<Vec<u64>> {
            let mut sinks: Vec<FileSink<'_>> = files
                .iter_mut()
                .zip(schemas.iter())
                .map(|(f, s)| Sink::new(format, s, f.writer()))
                .collect::<Result<_>>()?;
            let mut counts = vec![0u64; sinks.len()];
            for bufs in rx {
                let people = bufs[tables::ix::TRUTH_PERSONS].rows() as u64;
                sinks.par_iter_mut().zip(&bufs).try_for_each(|(s, b)| s.write(b))?;
                for (c, b) in counts.iter_mut().zip(&bufs) {
                    *c += b.rows() as u64;
                }
                bar.inc(people);
            }
            for s in sinks {
                s.finish()?;
            }
            Ok(counts)
        });
        for chunk in 0..chunks {
            let bufs = draw_chunk(world, chunk, schemas);
            if tx.send(bufs).is_err() {
                break; // the writer failed; its error is returned below
            }
        }
        drop(tx);
        writer.join().map_err(|_| Error::internal("the table writer thread panicked"))?
    })?;
    bar.finish_and_clear();
    Ok(counts)
}

/// Draws chunk `chunk` (people `chunk * CHUNK_PEOPLE ..`) into one buffer per streamed table.
pub fn draw_chunk(world: &World, chunk: u64, schemas: &[&'static sink::Schema; 13]) -> Vec<Buf> {
    let first = chunk * CHUNK_PEOPLE;
    let len = CHUNK_PEOPLE.min(world.people - first);
    let sizes = person::household_sizes(&mut world.keys.rng(2, chunk), len);
    // Group consecutive households into units of about UNIT_PEOPLE people.
    let mut units: Vec<Vec<(u64, u64)>> = vec![Vec::new()];
    let (mut at, mut in_unit) = (first, 0);
    for s in sizes {
        if in_unit >= UNIT_PEOPLE {
            units.push(Vec::new());
            in_unit = 0;
        }
        units.last_mut().expect("one unit at least").push((at, s));
        at += s;
        in_unit += s;
    }
    let parts: Vec<Vec<Buf>> = units
        .par_iter()
        .map(|unit| {
            let mut bufs: Vec<Buf> = schemas.iter().map(|s| Buf::new(s)).collect();
            for &(first, size) in unit {
                person::household(world, first, size, &mut bufs);
            }
            bufs
        })
        .collect();
    let mut out: Vec<Buf> = schemas.iter().map(|s| Buf::new(s)).collect();
    for part in parts {
        for (o, b) in out.iter_mut().zip(part) {
            o.append(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(bufs: &[Buf], schemas: &[&'static sink::Schema; 13]) -> Vec<Vec<u8>> {
        bufs.iter()
            .zip(schemas)
            .map(|(b, s)| {
                let mut out = Vec::new();
                let mut sink = Sink::new(Format::Csv, s, &mut out).unwrap();
                sink.write(b).unwrap();
                sink.finish().unwrap();
                out
            })
            .collect()
    }

    #[test]
    fn a_chunk_does_not_depend_on_the_thread_count() {
        let world = World::new(5, 3000);
        let schemas = tables::streamed();
        let many = csv_of(&draw_chunk(&world, 0, &schemas), &schemas);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let one = pool.install(|| csv_of(&draw_chunk(&world, 0, &schemas), &schemas));
        assert_eq!(many, one);
        assert!(many.iter().all(|t| t.len() > 100));
    }

    #[test]
    fn people_out_of_range_is_a_user_error() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            people: 0,
            seed: 1,
            out: dir.path().join("w"),
            format: Format::Csv,
            quiet: true,
        };
        let e = generate(&opts).unwrap_err();
        assert!(e.is_user() && e.to_string().contains("--people 0"), "{e}");
    }
}
