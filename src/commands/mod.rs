//! Command-line plumbing shared by every command: global flags, the store lookup, output helpers.
//!
//! Each command is one file with a `clap::Args` struct and a `run(args, &Global)` function.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use audience::store::Store;

pub mod import;
pub mod info;
pub mod init;
pub mod link;

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
    /// Create a new, empty store.
    Init(init::InitArgs),
    /// Read a unified profile table (one row per person) into the store and index it.
    Import(import::ImportArgs),
    /// Show the store's counts, traits and segments.
    Info(info::InfoArgs),
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
