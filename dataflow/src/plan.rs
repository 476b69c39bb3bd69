//! The run plan: everything a run needs, decided before the dataflow starts and the same in
//! every process. Bronze partitions are discovered and pruned by path (the filter), markets
//! interned, parameters resolved into a [`ParamTemplate`] that builds any market's pipeline
//! parameters (markets may appear while a watch run goes on).

use crate::config::{Output, RunConfig, interval_width};
use crate::error::EngineError;
use crate::observer::{NoObserver, RunObserver};
pub use crate::ops::source::{LatePolicy, WatchOptions};
use daedalus_model::fixed::Qty;
use daedalus_model::market::{Market, symbol_norm};
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Date, NANOS_PER_DAY, NANOS_PER_SEC};
use daedalus_operators::bars::{BarConfig, BarSpec};
use daedalus_operators::book_features::BookFeatureConfig;
use daedalus_operators::intervals::IntervalConfig;
use daedalus_operators::market::{MarketParams, OutputFlags};
use daedalus_operators::trades::TradeFeatureConfig;
use daedalus_operators::vpin::VpinConfig;
use daedalus_sources::bronze::{BronzePartition, discover};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

type Result<T> = std::result::Result<T, EngineError>;

/// Rows per decoded bronze batch: one row group of the writers' default (`WriteOptions`), so
/// fewer, larger chunks travel through the graph; `daedalus bench` decodes with the same size.
pub const DECODE_BATCH_ROWS: usize = 64 * 1024;

/// One bronze partition of the plan, with its market id (index into the plan's market table).
/// The source lists bronze itself (batch and watch alike); the plan's list is for the up-front
/// "nothing to read" check and for reporting.
#[derive(Debug, Clone)]
pub struct AssignedPartition {
    /// Index into [`RunPlan::markets`].
    pub market: u32,
    /// The partition.
    pub partition: BronzePartition,
}

/// Everything a run needs, decided before the dataflow starts (the same in every process).
#[derive(Clone)]
pub struct RunPlan {
    /// Root with `bronze/`; outputs go next to it.
    pub root: PathBuf,
    /// Parameters.
    pub config: RunConfig,
    /// Sorted market table; the index is the interned market id.
    pub markets: Vec<Market>,
    /// Bronze partitions present at planning time, with market ids.
    pub partitions: Vec<AssignedPartition>,
    /// Run mode: state directory, checkpoints, watch, lateness, restatement.
    pub exec: ExecOptions,
    /// Builds any market's parameters.
    pub template: ParamTemplate,
}

/// How a run executes (not part of the output-changing configuration).
#[derive(Clone)]
pub struct ExecOptions {
    /// Checkpoint directory (default `<root>/_daedalus`).
    pub state_dir: Option<PathBuf>,
    /// Event-time checkpoint period in ns (aligned); 0: only at the end and on stop.
    pub checkpoint_every: i64,
    /// Watch mode.
    pub watch: Option<WatchOptions>,
    /// Late rows.
    pub on_late: LatePolicy,
    /// Recompute every market with late, changed or removed bronze from the last checkpoint
    /// before it, then replace the affected partitions ([`crate::restate`]); in watch mode, do
    /// so as late files arrive.
    pub restate: bool,
    /// Event time (ns) of checkpoint history kept per market (`--keep-checkpoints`).
    pub keep_checkpoints: i64,
    /// Receives the run's progress (rows, files, watermark, checkpoints).
    pub observer: Arc<dyn RunObserver>,
    /// Set only by [`crate::restate`]: this run computes a recomputation's shadow.
    pub shadow: Option<ShadowRun>,
}

/// A recomputation's run (see [`crate::restate`]): outputs go to the shadow's output tree, only
/// the recomputed markets are read, and nothing of the live root is reconciled or replaced.
#[derive(Clone, Debug)]
pub struct ShadowRun {
    /// Where silver and gold go.
    pub(crate) out_root: PathBuf,
    /// The markets recomputed.
    pub(crate) markets: Arc<std::collections::BTreeSet<Market>>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            state_dir: None,
            checkpoint_every: NANOS_PER_DAY,
            watch: None,
            on_late: LatePolicy::Record,
            restate: false,
            keep_checkpoints: daedalus_sinks::history::DEFAULT_KEEP_NS,
            observer: Arc::new(NoObserver),
            shadow: None,
        }
    }
}

pub(crate) fn datasets_needed(outputs: &[Output]) -> Vec<Dataset> {
    let mut v = Vec::new();
    let has = |o| outputs.contains(&o);
    // Bars and intervals use the book for their book aggregates (ofi, mid, spread).
    if has(Output::Book) || has(Output::Intervals) || has(Output::Bars) || has(Output::Trades) {
        v.push(Dataset::Book);
    }
    if has(Output::Ticker) {
        v.push(Dataset::Ticker);
    }
    if has(Output::Trades) || has(Output::Intervals) || has(Output::Bars) {
        v.push(Dataset::Trades);
    }
    v
}

/// Plans a batch run (see [`plan_with`]).
pub fn plan(root: PathBuf, config: RunConfig) -> Result<RunPlan> {
    plan_with(root, config, ExecOptions::default())
}

/// Plans a run: discovers and prunes partitions by path, interns markets, resolves parameters.
/// A batch run needs at least one partition; a watch run may start on an empty root. Interval
/// and bar specs are a set: duplicates are merged with a warning ([`RunConfig::dedup_specs`]).
pub fn plan_with(root: PathBuf, mut config: RunConfig, exec: ExecOptions) -> Result<RunPlan> {
    for note in config.dedup_specs() {
        tracing::warn!("{note}");
    }
    config.validate()?;
    let parts = discover_partitions(&root, &config)?;
    if parts.is_empty() && exec.watch.is_none() {
        return Err(EngineError::NoBronze {
            dir: root.join("bronze"),
            datasets: datasets_needed(&config.outputs)
                .iter()
                .map(|d| d.name())
                .collect(),
        });
    }
    let (markets, partitions) = intern_markets(parts);
    let template = ParamTemplate::new(&config)?;
    for k in config.vpin_v.keys() {
        if !markets.iter().any(|m| &m.to_string() == k) && exec.watch.is_none() {
            tracing::warn!("--vpin-v {k}: no such market in the selected bronze");
        }
    }
    Ok(RunPlan {
        root,
        config,
        markets,
        partitions,
        exec,
        template,
    })
}

/// The bronze partitions the run's filter and outputs select.
fn discover_partitions(root: &std::path::Path, config: &RunConfig) -> Result<Vec<BronzePartition>> {
    let datasets = datasets_needed(&config.outputs);
    let nq = config.quote_fold();
    // Never part of an ingest's commit: the listing holds the bronze lock (shared).
    let _bronze = daedalus_sinks::lock::bronze_read(root, daedalus_sinks::lock::Wait::Block)
        .map_err(|source| EngineError::Lock {
            what: "listing bronze".into(),
            source,
        })?;
    discover(root, &datasets, |e, s, d| {
        config.filter.matches(e, s, d, &nq)
    })
    .map_err(EngineError::bronze("discovering bronze partitions"))
}

/// The sorted market table and the partitions (by date, market, dataset) with market ids.
fn intern_markets(parts: Vec<BronzePartition>) -> (Vec<Market>, Vec<AssignedPartition>) {
    let market_of = |p: &BronzePartition| Market {
        exchange: p.exchange.clone(),
        symbol: p.symbol.clone(),
    };
    let mut markets: Vec<Market> = parts.iter().map(market_of).collect();
    markets.sort();
    markets.dedup();
    let id_of: BTreeMap<Market, u32> = markets
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, m)| (m, i as u32))
        .collect();
    let mut sorted = parts;
    sorted.sort_by(|a, b| {
        (a.date, &a.exchange, &a.symbol, a.dataset).cmp(&(
            b.date,
            &b.exchange,
            &b.symbol,
            b.dataset,
        ))
    });
    let partitions = sorted
        .into_iter()
        .map(|p| AssignedPartition {
            market: id_of[&market_of(&p)],
            partition: p,
        })
        .collect();
    (markets, partitions)
}

/// Everything needed to build a market's parameters from its name (markets may appear while a
/// watch run goes on).
#[derive(Clone)]
pub struct ParamTemplate {
    config: RunConfig,
    windows: Vec<i64>,
    intervals: Vec<(String, IntervalConfig)>,
    bars: Vec<(String, BarSpec)>,
    flags: OutputFlags,
}

impl ParamTemplate {
    /// Resolves the run's windows, interval grids, bar specs and outputs.
    pub fn new(config: &RunConfig) -> Result<Self> {
        let sec = NANOS_PER_SEC;
        let outs = config.output_set();
        let flags = OutputFlags {
            book: outs.contains(&Output::Book),
            ticker: outs.contains(&Output::Ticker),
            trades: outs.contains(&Output::Trades),
            intervals: outs.contains(&Output::Intervals) || config.writes_cross(),
            bars: outs.contains(&Output::Bars),
        };
        let mut intervals = Vec::new();
        for spec in &config.interval {
            let width = interval_width(spec).map_err(crate::config::ConfigError::from)?;
            daedalus_model::market::validate_partition_value("interval", spec)?;
            intervals.push((
                spec.clone(),
                IntervalConfig {
                    width,
                    mlofi_levels: config.mlofi_levels,
                    kyle_window: config.kyle_window,
                },
            ));
        }
        let mut bars = Vec::new();
        for b in &config.bar {
            let spec = BarSpec::parse(b).map_err(|source| EngineError::Bar {
                spec: b.clone(),
                source,
            })?;
            bars.push((spec.name(), spec));
        }
        Ok(ParamTemplate {
            config: config.clone(),
            windows: vec![sec, 10 * sec, 60 * sec],
            intervals,
            bars,
            flags,
        })
    }

    /// Which outputs the run writes.
    pub fn flags(&self) -> OutputFlags {
        self.flags
    }

    /// The interval grids: (spec, config).
    pub fn intervals(&self) -> &[(String, IntervalConfig)] {
        &self.intervals
    }

    /// The bar specs: (name, spec).
    pub fn bars(&self) -> &[(String, BarSpec)] {
        &self.bars
    }

    /// The pipeline parameters of `m`. Without `--vpin-v` for it, V follows the `adv` rule day
    /// by day (decided by the market operator before each day's first trade).
    pub fn params_for(&self, m: &Market) -> MarketParams {
        let c = &self.config;
        let vpin = c.vpin_v.get(&m.to_string()).map(|&v| VpinConfig {
            bucket_volume: Qty::from_f64(v).unwrap_or(Qty(1)),
            window: c.vpin_n,
        });
        MarketParams {
            exchange: m.exchange.clone(),
            symbol: m.symbol.clone(),
            symbol_norm: symbol_norm(&m.symbol, &c.quote_fold()),
            book: BookFeatureConfig {
                mlofi_levels: c.mlofi_levels,
                windows: self.windows.clone(),
            },
            ticker_windows: self.windows.clone(),
            trades: TradeFeatureConfig {
                windows: self.windows.clone(),
                vpin,
                vpin_schedule: Vec::new(),
                vpin_window: c.vpin_n,
            },
            intervals: self.intervals.clone(),
            bars: self.bars.clone(),
            bar_config: BarConfig {
                kyle_window: c.kyle_window,
                ..BarConfig::default()
            },
            outputs: self.flags,
        }
    }
}

/// The `adv` rule over a set of run days: for each day D of `market`, V = (mean daily traded
/// volume over the days in `[D − 30, D)` that have a bronze trades partition in `root`) / 50 —
/// never the current day (no look-ahead), so reruns of any date range reproduce. Days without
/// any earlier day get no entry. The market operator asks the same oracle day by day.
pub fn adv_schedule(
    root: &std::path::Path,
    market: &Market,
    run_days: &[Date],
) -> Result<Vec<(i64, Qty)>> {
    let oracle = crate::state::AdvOracle::default();
    let mut days: Vec<i64> = run_days.iter().map(|d| d.days_since_epoch()).collect();
    days.sort_unstable();
    days.dedup();
    let mut out = Vec::new();
    for d in days {
        if let Some(v) = oracle.v_for_day(root, market, d)? {
            out.push((d, v));
        }
    }
    Ok(out)
}
