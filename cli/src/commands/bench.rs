//! `daedalus bench`: measures the pipeline against this machine's Parquet I/O ceiling
//! ([`crate::bench`]) and prints the report as a table or JSON.

use crate::args::ParamArgs;
use crate::bench::{BenchOptions, print_report, run_bench};
use anyhow::Result;
use clap::Args;
use daedalus_sources::synthetic::GenConfig;
use std::path::PathBuf;

/// `daedalus bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Synthetic bronze rows to generate (book + trades + ticker, all markets).
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Synthetic markets.
    #[arg(long, default_value_t = 4)]
    pub markets: usize,
    /// Synthetic UTC days.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Cache directory for generated bronze and run outputs.
    #[arg(long, default_value = "target/bench-data")]
    pub data: PathBuf,
    /// Benchmark this existing root's bronze instead of a generated one (read only; outputs go
    /// to a run root under `--data`).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Repetitions of every stage (best and median are reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Worker threads (also the thread count of the decode/encode references).
    #[arg(short = 'w', long = "workers", default_value_t = 1,
          value_parser = crate::duration::workers, allow_negative_numbers = true)]
    pub workers: usize,
    /// Skip the decode and encode reference stages (pipeline only).
    #[arg(long)]
    pub pipeline_only: bool,
    /// Run parameters (as for `run`); without `--vpin-v` each market's V is its daily volume / 50.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Benchmark ingest of these Binance raw recordings instead of the pipeline: -j 1 and -j 2
    /// in one call, and one call per file, interleaved `--repeat` times.
    #[arg(long, num_args = 1..)]
    pub ingest: Vec<PathBuf>,
}

/// `daedalus bench`: runs and prints (table or `--json`).
pub(crate) fn run(a: &BenchArgs) -> Result<()> {
    if !a.ingest.is_empty() {
        return run_ingest(a);
    }
    let opts = BenchOptions {
        generator: GenConfig {
            seed: a.seed,
            events: a.events,
            markets: a.markets,
            days: a.days,
            ..GenConfig::default()
        },
        data: a.data.clone(),
        root: a.root.clone(),
        repeat: a.repeat,
        workers: a.workers,
        pipeline_only: a.pipeline_only,
        config: crate::config_file::resolve(&a.params)?,
    };
    let r = run_bench(&opts)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_report(&r);
    }
    Ok(())
}

/// `daedalus bench --ingest FILES`.
fn run_ingest(a: &BenchArgs) -> Result<()> {
    let stages = crate::bench::ingest::ingest_stages(&a.ingest, &a.data, a.repeat)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&stages)?);
        return Ok(());
    }
    println!(
        "{:<30} {:>8} {:>9} {:>12} {:>14}",
        "stage", "best s", "median s", "rows/s", "MB/s raw JSON"
    );
    for s in &stages {
        println!(
            "{:<30} {:>8.3} {:>9.3} {:>12.0} {:>14.1}",
            s.stage,
            s.seconds_best,
            s.seconds_median,
            s.events_per_s,
            s.bytes_per_s / 1e6
        );
    }
    Ok(())
}
