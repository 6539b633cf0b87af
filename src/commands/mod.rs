//! Command-line plumbing shared by every command: global flags, the store lookup, output helpers.
//!
//! Each command is one file with a `clap::Args` struct and a `run(args, &Global)` function.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use audience::store::Store;

pub mod audit;
pub mod cluster;
pub mod demo;
pub mod derive;
pub mod export;
pub mod forget;
pub mod generate;
pub mod import;
pub mod info;
pub mod init;
pub mod link;
pub mod lookalike;
pub mod resolve;
pub mod score;
pub mod segment;
pub mod train;
pub mod traits;
pub mod view;
pub mod widetable;

/// Audience segmentation and look-alike engine.
#[derive(Parser)]
#[command(name = "audience", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Global {
    /// The store directory.
    #[arg(long, global = true, env = "AUDIENCE_STORE", default_value = "audience-store")]
    pub store: PathBuf,
    /// No progress bars and no chatter on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Global {
    /// Opens the store named by `--store` / `AUDIENCE_STORE`.
    pub fn open_store(&self) -> Result<Store> {
        Ok(Store::open(&self.store)?)
    }

    /// Prints a line on stderr unless `--quiet`.
    pub fn note(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// K-means auto-segmentation: each cluster becomes a segment, with a lift report.
    Cluster(cluster::ClusterArgs),
    /// Train a look-alike model from a seed segment (stored under models/NAME with its card).
    Train(train::TrainArgs),
    /// Expand a model's seed into the pools: reach, size or score, parties, providers, budget.
    Expand(train::ExpandArgs),
    /// Batch-score new cookies (feature rows or raw events) with a trained model.
    Score(score::ScoreArgs),
    /// Audit the 3rd-party providers: match, fill, accuracy, cost per accurate profile, share of
    /// a model's lift.
    AuditProviders(audit::AuditArgs),
    /// Run every stage on a generated world: the product's showcase.
    Demo(demo::DemoArgs),
    /// Create a new, empty store.
    Init(init::InitArgs),
    /// Read a unified profile table (one row per person) into the store and index it.
    Import(import::ImportArgs),
    /// Show the store's counts, traits and segments.
    Info(info::InfoArgs),
    /// Resolve raw sources (CRM, receipts, web, email, ads, partners, providers) into profiles.
    Resolve(resolve::ResolveArgs),
    /// Write the wide benchmark table (10 boolean + 10 integer columns).
    #[command(hide = true)]
    Widetable(widetable::WidetableArgs),
    /// Export an audience to an ad platform (hashed, consent applied, with a manifest).
    Export(export::ExportArgs),
    /// Erase a person (by email, phone or id) from the identity graph, traits, segments and
    /// every future export; records a hashed suppression and an audit line.
    Forget(forget::ForgetArgs),
    /// Build, count, inspect, compare and export segments.
    Segment(segment::SegmentArgs),
    /// Look-alike models: `evaluate` a method offline on a labelled table.
    Lookalike(lookalike::LookalikeArgs),
    /// Write a synthetic DMP world (raw sources, profiles and truth), deterministic by seed.
    Generate(generate::GenerateArgs),
    /// Compute traits (purchases, behaviour, 3rd-party attributes, consent) from the sources.
    Derive(derive::DeriveArgs),
    /// List the store's traits with their meaning (or, with --catalog, every derived trait name).
    Traits(traits::TraitsArgs),
    /// Build a feature view (models/*.toml) on the store's traits and list its columns.
    View(view::ViewArgs),
    /// Probabilistic record linkage: deduplicate one file or link two (Fellegi-Sunter,
    /// configured automatically).
    Link(link::LinkArgs),
}

/// Restores the default SIGPIPE action so that `audience ... | head` ends quietly.
pub fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// True when the error chain holds a broken pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
