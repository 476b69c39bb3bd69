//! `daedalus`: the command-line tool. See `daedalus --help` and README.md.
//!
//! Seven commands and a helper: `ingest` (venue recordings to bronze) and `gen` (synthetic
//! bronze) call the sources library; `run`, `demo` and `bench` plan and execute the engine
//! (`daedalus-dataflow`); `inspect` and `report` read a root's footers and outputs without it;
//! `completions` prints shell completions. One file per command under `commands/`.

mod app;
mod args;
mod bench;
mod commands;
mod config_file;
mod duration;
mod inspect;
mod interrupted;
mod logging;
mod metrics;
mod progress;
mod report;
mod runner;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = app::Cli::parse();
    logging::init(&cli.log, cli.log_format, cli.quiet);
    match app::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if interrupted::is_interrupted(&e) => {
            eprintln!("interrupted: {e:#}");
            ExitCode::from(interrupted::EXIT_INTERRUPTED)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
