//! The `audience` command line: a thin `main` that parses flags, runs one command and maps errors
//! to an exit code (0 success, 2 error). Each command lives in `commands/NAME.rs`, which turns raw
//! flags into validated arguments and calls the library.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use commands::{Cli, Command};

fn main() -> ExitCode {
    commands::quiet_broken_pipe();
    let cli = Cli::parse();
    let g = cli.global;
    let result = match cli.command {
        Command::Cluster(a) => commands::cluster::run(a, &g),
        Command::Train(a) => commands::train::run_train(a, &g),
        Command::Expand(a) => commands::train::run_expand(a, &g),
        Command::Score(a) => commands::score::run(a, &g),
        Command::AuditProviders(a) => commands::audit::run(a, &g),
        Command::Demo(a) => commands::demo::run(a, &g),
        Command::Init(a) => commands::init::run(a, &g),
        Command::Import(a) => commands::import::run(a, &g),
        Command::Info(a) => commands::info::run(a, &g),
        Command::Resolve(a) => commands::resolve::run(a, &g),
        Command::Widetable(a) => commands::widetable::run(a, &g),
        Command::Export(a) => commands::export::run(a, &g),
        Command::Forget(a) => commands::forget::run(a, &g),
        Command::Segment(a) => commands::segment::run(a, &g),
        Command::Lookalike(a) => commands::lookalike::run(a, &g),
        Command::Generate(a) => commands::generate::run(a, &g),
        Command::Derive(a) => commands::derive::run(a, &g),
        Command::Traits(a) => commands::traits::run(a, &g),
        Command::View(a) => commands::view::run(a, &g),
        Command::Link(a) => commands::link::run(a, &g),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if commands::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
