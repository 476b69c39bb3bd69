//! `daedalus ingest`: venue recordings to bronze Parquet through the sources library, with a
//! progress display and the ingest's counters as metrics.
//!
//! SIGINT/SIGTERM (issue 16): the first one stops the ingest between inputs (the input being
//! committed finishes, inputs parsed ahead are dropped with their staged files), prints the
//! report of the inputs done and exits with status 130 ([`crate::interrupted`]); a second one
//! exits at once with status 130, and the next ingest removes what that left staged.

use crate::interrupted::Interrupted;
use crate::metrics::{Metrics, dm};
use crate::progress::Progress;
use anyhow::Result;
use clap::{Args, ValueEnum};
use daedalus_sinks::lock::{Wait, ingest_locks};
use daedalus_sources::ingest::{
    IngestOptions, IngestReport, InputFormat, Stopped, VisionMarket, ingest_until,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Raw Binance WebSocket recordings: `<recv_ns> <json>` lines, gzip or plain.
    BinanceRaw,
    /// Tardis `incremental_book_L2`, `trades`, `quotes` or `book_snapshot_N` CSV.
    TardisCsv,
    /// cryptofeed raw captures (Coinbase, Kraken, OKX, BitMEX, Bybit, Bequant), with the
    /// venues' own book checks (checksums, sequences, crossed books, top of book vs ticker).
    Cryptofeed,
    /// Hyperliquid recordings: `<recv_ns> <json>` lines of `l2Book` and `trades` messages.
    Hyperliquid,
    /// Bybit historical order book files (`*_ob500.data`, or inside their `.zip`).
    BybitOrderbook,
    /// Binance public trade archives (data.binance.vision `trades`/`aggTrades`, `.csv` or
    /// `.zip`): trades only, the market from the file name.
    BinanceVision,
}

/// `--binance-market` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BinanceMarketArg {
    /// Spot (`binance`).
    Spot,
    /// USD-M futures (`binance-futures`).
    Usdm,
    /// COIN-M futures (`binance-delivery`).
    Coinm,
}

impl FormatArg {
    /// The library's format; `market` is `--binance-market` (binance-vision only).
    pub(crate) fn input_format(self, market: Option<BinanceMarketArg>) -> InputFormat {
        match self {
            FormatArg::BinanceRaw => InputFormat::BinanceRaw,
            FormatArg::TardisCsv => InputFormat::TardisCsv,
            FormatArg::Cryptofeed => InputFormat::Cryptofeed,
            FormatArg::Hyperliquid => InputFormat::Hyperliquid,
            FormatArg::BybitOrderbook => InputFormat::BybitOrderbook,
            FormatArg::BinanceVision => InputFormat::BinanceVision {
                market: market.map(|m| match m {
                    BinanceMarketArg::Spot => VisionMarket::Spot,
                    BinanceMarketArg::Usdm => VisionMarket::UsdM,
                    BinanceMarketArg::Coinm => VisionMarket::CoinM,
                }),
            },
        }
    }
}

/// `daedalus ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Input format.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Output root (bronze goes to `<root>/bronze`).
    #[arg(long = "root", visible_alias = "out", value_name = "ROOT")]
    pub root: PathBuf,
    /// Skip and count bad lines/messages instead of failing (chain breaks become gap markers).
    #[arg(long)]
    pub lenient: bool,
    /// `--format binance-vision`: the Binance market of the archives, when the file name and
    /// column count should not decide it (default: `_PERP`/dated `…USD_YYMMDD` symbols are
    /// COIN-M; otherwise spot or USD-M by the column count).
    #[arg(long, value_enum, value_name = "KIND")]
    pub binance_market: Option<BinanceMarketArg>,
    /// Keep an input whose depth diffs cannot be synced (no snapshot in it and no predecessor
    /// of its market ingested): its diffs are dropped, counted and warned about. Without it (and
    /// without --lenient) such an input is an error naming file, market and count.
    #[arg(long)]
    pub allow_unsynced: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Serve Prometheus metrics on this address while ingesting and until exit
    /// (`HOST:PORT`, or a bare port = 127.0.0.1:PORT).
    #[arg(long)]
    pub metrics: Option<String>,
    /// When another ingest holds the root's ingest lock, wait for it instead of failing.
    #[arg(long)]
    pub wait: bool,
    /// Parse threads (default: the number of cores). Inputs of different markets are parsed in
    /// parallel and committed one at a time in order: the bronze is the same for any value.
    #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Watch a landing folder instead of ingesting the given files.
    #[command(flatten)]
    pub watch: super::ingest_watch::WatchArgs,
    /// Input files (gzip or plain).
    #[arg(required_unless_present = "watch_dir")]
    pub inputs: Vec<PathBuf>,
}

impl IngestArgs {
    /// The library's options.
    pub(crate) fn options(&self) -> IngestOptions {
        IngestOptions {
            lenient: self.lenient,
            allow_unsynced: self.allow_unsynced,
        }
    }
}

/// Runs `daedalus ingest`.
pub(crate) fn run(a: &IngestArgs) -> Result<()> {
    if let Some(watching) = super::ingest_watch::run_if_watching(a) {
        return watching;
    }
    let format = a.format.input_format(a.binance_market);
    // One ingest at a time, and no run lists bronze while this one commits. For now the bronze
    // lock is held around the whole ingest call (issue 15); it narrows to the commit with the
    // ingest state of issue 14.
    let wait = if a.wait { Wait::Block } else { Wait::Refuse };
    let _locks = ingest_locks(&a.root, wait)?;
    let t0 = Instant::now();
    let metrics = Arc::new(Metrics::default());
    let _server = crate::metrics::serve_opt(a.metrics.as_deref(), &metrics)?;
    let stop = super::ingest_watch::stop_flag()?;
    let progress = Progress::start_with("input lines read", || {
        daedalus_sources::ingest::LINES_READ.load(std::sync::atomic::Ordering::Relaxed)
    });
    let jobs = a.jobs.map_or_else(default_jobs, usize::from);
    let outcome = ingest_until(format, &a.inputs, &a.root, &a.options(), jobs, &stop);
    progress.finish();
    let (report, stopped) = outcome?;
    let done = stopped.map_or(a.inputs.len(), |s| s.done);
    publish(&metrics, &report, done as u64);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if let Some(s) = stopped {
        return Err(interrupted(s, &a.root).into());
    }
    if !a.json {
        println!(
            "ingested {} file(s) into {} in {:.2}s",
            a.inputs.len(),
            a.root.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The message of an ingest stopped by a signal.
fn interrupted(s: Stopped, root: &std::path::Path) -> Interrupted {
    Interrupted(format!(
        "SIGINT/SIGTERM: ingest stopped between inputs: {} of {} input(s) done (each committed \
         whole), nothing of the other {} written to {}; run the same command again to ingest them",
        s.done,
        s.total,
        s.total - s.done,
        root.display()
    ))
}

/// The default of `-j`: the cores this process may use.
pub(crate) fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Ingest is one call: its metrics are published when it returns (rows written per dataset and
/// market, files read, lenient skips), and served until the process exits.
fn publish(metrics: &Metrics, report: &IngestReport, files: u64) {
    metrics.files_read.inc_by(files);
    for (m, c) in &report.markets {
        for (ds, n) in [
            ("book", c.book_rows),
            ("trades", c.trades),
            ("ticker", c.tickers),
        ] {
            metrics.rows_out.get_or_create(&dm(ds, m)).inc_by(n);
        }
        metrics
            .quality
            .get_or_create(&vec![
                ("market".to_string(), m.clone()),
                ("counter".to_string(), "gaps".to_string()),
            ])
            .set(c.gaps as i64);
    }
    metrics
        .files_quarantined
        .inc_by(report.skipped.values().sum::<u64>() + report.truncated_files.len() as u64);
}
