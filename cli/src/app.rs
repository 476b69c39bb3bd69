//! The command line: global flags, the commands, and dispatch to `commands/`. Every command
//! prints its help with `-h` or `--help`; the root is `--root ROOT` everywhere (older forms are
//! kept as aliases); durations share one syntax ([`crate::duration`]).

use crate::args::LogFormat;
use crate::commands::{bench, completions, demo, r#gen, ingest, inspect, report, run};
use clap::{Parser, Subcommand};

/// Daedalus: crypto market-microstructure ETL (bronze -> silver features -> gold bars).
#[derive(Debug, Parser)]
#[command(name = "daedalus", version)]
pub(crate) struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info`, `daedalus=debug`.
    #[arg(long, global = true, default_value = "info")]
    pub log: String,
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// No progress display and only warnings and errors in the log (summaries still print).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Venue recordings to bronze Parquet.
    Ingest(ingest::IngestArgs),
    /// A deterministic synthetic multi-market bronze root.
    Gen(r#gen::GenArgs),
    /// Bronze to silver and gold through the timely dataflow.
    Run(run::RunArgs),
    /// Generate a small synthetic market and run the whole pipeline on it.
    Demo(demo::DemoArgs),
    /// What a root holds: files, rows, bytes, time ranges, staged files, parameters, checkpoints.
    Inspect(inspect::InspectArgs),
    /// One self-contained HTML report with charts per market.
    Report(report::ReportArgs),
    /// Throughput of the pipeline on synthetic bronze, against this machine's Parquet I/O ceiling.
    Bench(bench::BenchArgs),
    /// Print shell completions for `daedalus`.
    Completions(completions::CompletionsArgs),
}

/// Runs a command.
pub(crate) fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Ingest(a) => ingest::run(&a),
        Command::Gen(a) => r#gen::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Completions(a) => completions::run::<Cli>(&a),
    }
}
