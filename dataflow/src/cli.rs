//! Command-line interface. Commands only parse arguments and configuration, then call the
//! library (`ingest`, `gen`) or the one graph builder (`run`, `demo`).
//!
//! clap reserves `-h` for help, but timely's cluster flags use `-h <hostfile>` (ENGINE_NOTES
//! §1.2), so help is `--help` only and `-h` is the hostfile everywhere.

use crate::config::{Clock, Output, RunConfig};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Daedalus: crypto market-microstructure ETL (bronze -> silver features -> gold bars).
#[derive(Debug, Parser)]
#[command(name = "daedalus", version, disable_help_flag = true)]
pub struct Cli {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help, global = true)]
    pub help: Option<bool>,
    /// Log filter (tracing env-filter syntax), e.g. `info`, `daedalus=debug`.
    #[arg(long, global = true, default_value = "info")]
    pub log: String,
    /// Log output format: `text` (human) or `json` (one JSON object per line, for collectors).
    #[arg(long, global = true, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
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
pub enum Command {
    /// Venue recordings to bronze Parquet.
    Ingest(IngestArgs),
    /// A deterministic synthetic multi-market bronze root.
    Gen(GenArgs),
    /// Bronze to silver and gold through the timely dataflow.
    Run(RunArgs),
    /// Generate a small synthetic market and run the whole pipeline on it.
    Demo(DemoArgs),
    /// What a root holds: files, rows, bytes, time ranges, staged files, parameters, checkpoints.
    Inspect(crate::inspect_cmd::InspectArgs),
    /// One self-contained HTML report with charts per market.
    Report(crate::report::ReportArgs),
    /// Throughput of the pipeline on synthetic bronze, against this machine's Parquet I/O ceiling.
    Bench(crate::bench::BenchArgs),
}

/// `daedalus ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Input format.
    #[arg(long, value_parser = ["binance-raw", "tardis-csv"])]
    pub format: String,
    /// Output root (bronze goes to `<out>/bronze`).
    #[arg(long)]
    pub out: PathBuf,
    /// Skip and count bad lines/messages instead of failing (chain breaks become gap markers).
    #[arg(long)]
    pub lenient: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Serve Prometheus metrics on this address while ingesting and until exit
    /// (`HOST:PORT`, or a bare port = 127.0.0.1:PORT).
    #[arg(long)]
    pub metrics: Option<String>,
    /// Input files (gzip or plain).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// `daedalus gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Output root.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed (same seed, same bytes).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Total bronze rows across markets.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Number of markets.
    #[arg(long, default_value_t = 4)]
    pub markets: usize,
    /// Number of UTC days.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run parameters shared by `run` and `demo` (CONTRACT §6); flags override `--config`.
#[derive(Debug, Args, Clone, Default)]
pub struct ParamArgs {
    /// TOML config file with any run parameter.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Interval grid (repeatable), e.g. 1s, 100ms, 1m.
    #[arg(long = "interval")]
    pub interval: Vec<String>,
    /// Bar spec (repeatable), e.g. time_1m, volume_5, tick_100, dollar_1000000.
    #[arg(long = "bar")]
    pub bar: Vec<String>,
    /// VPIN window n (buckets).
    #[arg(long)]
    pub vpin_n: Option<usize>,
    /// VPIN bucket volume per market: <exchange>/<symbol>=<V> (repeatable).
    #[arg(long = "vpin-v")]
    pub vpin_v: Vec<String>,
    /// Kyle regression window W.
    #[arg(long)]
    pub kyle_window: Option<usize>,
    /// MLOFI depth M.
    #[arg(long)]
    pub mlofi_levels: Option<usize>,
    /// Treat USDT/USDC quotes as USD for filters and symbol_norm.
    #[arg(long)]
    pub normalize_quotes: bool,
    /// Ordering clock.
    #[arg(long, value_enum)]
    pub clock: Option<Clock>,
    /// Outputs to write (comma-separated): book,ticker,trades,intervals,bars.
    #[arg(long, value_delimiter = ',')]
    pub outputs: Vec<String>,
    /// Keep only this exchange (repeatable).
    #[arg(long)]
    pub exchange: Vec<String>,
    /// Keep only this symbol (repeatable).
    #[arg(long)]
    pub symbol: Vec<String>,
    /// First UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

impl ParamArgs {
    /// The effective run configuration: defaults, then the TOML file, then flags.
    pub fn resolve(&self) -> anyhow::Result<RunConfig> {
        let mut c = match &self.config {
            Some(p) => RunConfig::from_toml_file(p)?,
            None => RunConfig::default(),
        };
        if !self.interval.is_empty() {
            c.interval = self.interval.clone();
        }
        if !self.bar.is_empty() {
            c.bar = self.bar.clone();
        }
        if let Some(n) = self.vpin_n {
            c.vpin_n = n;
        }
        for v in &self.vpin_v {
            let (k, x) = RunConfig::parse_vpin_v(v)?;
            c.vpin_v.insert(k, x);
        }
        if let Some(w) = self.kyle_window {
            c.kyle_window = w;
        }
        if let Some(m) = self.mlofi_levels {
            c.mlofi_levels = m;
        }
        if self.normalize_quotes {
            c.normalize_quotes = true;
        }
        if let Some(cl) = self.clock {
            c.clock = cl;
        }
        if !self.outputs.is_empty() {
            c.outputs = self
                .outputs
                .iter()
                .map(|s| Output::parse(s))
                .collect::<anyhow::Result<_>>()?;
        }
        if !self.exchange.is_empty() {
            c.filter.exchange = self.exchange.clone();
        }
        if !self.symbol.is_empty() {
            c.filter.symbol = self.symbol.clone();
        }
        if self.from.is_some() {
            c.filter.from = self.from.clone();
        }
        if self.to.is_some() {
            c.filter.to = self.to.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

/// timely cluster flags (timely's own meanings).
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Worker threads per process.
    #[arg(short = 'w', long = "workers", default_value_t = 1)]
    pub workers: usize,
    /// Number of processes.
    #[arg(short = 'n', long = "processes", default_value_t = 1)]
    pub processes: usize,
    /// This process's index (0-based).
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    pub process: usize,
    /// Hostfile: one host:port per line, in process order.
    #[arg(short = 'h', long = "hostfile")]
    pub hostfile: Option<PathBuf>,
}

/// `daedalus run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Root holding `bronze/`; silver and gold are written beside it.
    #[arg(long)]
    pub root: PathBuf,
    /// Run parameters.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Cluster layout.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run mode: checkpoints, watch, lateness.
    #[command(flatten)]
    pub mode: ModeArgs,
}

/// Checkpoint, watch and recovery flags of `run` (docs/OPERATIONS.md).
#[derive(Debug, Args, Clone)]
pub struct ModeArgs {
    /// Keep running: watch `<root>/bronze` for new files until SIGINT/SIGTERM.
    #[arg(long)]
    pub watch: bool,
    /// Checkpoint directory (default `<root>/_daedalus`).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Event-time period of checkpoints (aligned), e.g. 1h, 10m, 1d; `0` = only at the end and on
    /// SIGINT/SIGTERM.
    #[arg(long, default_value = "1d")]
    pub checkpoint_every: String,
    /// Watch mode: rescan period.
    #[arg(long, default_value = "1s")]
    pub poll: String,
    /// Watch mode: a file written in place counts once unchanged (mtime) for this long; files
    /// renamed in (the recommended way) count at once.
    #[arg(long, default_value = "2s")]
    pub settle: String,
    /// Watch mode: a market without a new file for this long (wall clock) stops holding the
    /// watermark back.
    #[arg(long, default_value = "10m")]
    pub idle_timeout: String,
    /// Watch mode, for intraday files: a market's watermark also follows its newest file's last
    /// event time minus this delay (files of a market may arrive at most this far behind its
    /// newest one). Default: the date rule only (a date is final once the next date has a file).
    #[arg(long)]
    pub watermark_delay: Option<String>,
    /// Rows behind the watermark: `record` (count, list in `<state>/late.jsonl`, go on) or
    /// `fail` (stop the run).
    #[arg(long, default_value = "record", value_parser = ["record", "fail"])]
    pub on_late: String,
    /// Serve Prometheus metrics on this address (`HOST:PORT`, or a bare port = 127.0.0.1:PORT).
    #[arg(long)]
    pub metrics: Option<String>,
    /// Discard the checkpoints and outputs of the markets selected by --exchange/--symbol (all
    /// without them) and recompute them from bronze.
    #[arg(long)]
    pub rebuild: bool,
}

/// Parses a wall-clock duration `<n>ms|s|m|h`.
pub fn parse_wall(spec: &str) -> anyhow::Result<std::time::Duration> {
    let idx = spec
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(spec.len());
    let (n, unit) = spec.split_at(idx);
    let n: u64 = n
        .parse()
        .map_err(|_| anyhow::anyhow!("{spec:?}: expected <n>ms|s|m|h"))?;
    let ms = match unit {
        "ms" => n,
        "s" | "" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => anyhow::bail!("{spec:?}: unknown unit {unit:?} (ms, s, m, h)"),
    };
    Ok(std::time::Duration::from_millis(ms))
}

/// `daedalus demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the demo root (replaced if it exists and holds a previous demo).
    #[arg(long, default_value = "daedalus-demo")]
    pub out: PathBuf,
    /// Synthetic events to generate.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Worker threads.
    #[arg(short = 'w', long = "workers", default_value_t = 2)]
    pub workers: usize,
}
