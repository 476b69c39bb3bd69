//! The one graph builder: a run plan in, the timely dataflow of every command out.
//!
//! ```text
//! bronze_source (per worker: its partitions, k-way by event time)
//!   └─ exchange by stable market hash ─ probe (flow control) ─ market_features (per market state)
//!        └─ pipeline ─ partition_sink (silver + gold partitions, committed as the frontier passes each day)
//! ```
//! `run`, `demo` and `bench` all call [`execute`]; they differ only in how they build the plan.

use crate::config::{Clock, Output, RunConfig, parse_duration};
use crate::ops::market::{CheckpointPolicy, market_features};
use crate::ops::sink::{SinkOptions, partition_sink};
pub use crate::ops::source::{LatePolicy, WatchOptions};
use crate::ops::source::{SourceOptions, bronze_source};
use crate::routing::{self, Routing};
use crate::state::RunState;
use crate::summary::WorkerSummary;
use anyhow::{Context, Result, bail};
use daedalus_model::fixed::Qty;
use daedalus_model::market::{Market, symbol_norm};
use daedalus_model::rows::Dataset;
use daedalus_model::time::Date;
use daedalus_model::time::NANOS_PER_DAY;
use daedalus_model::time::NANOS_PER_SEC;
use daedalus_operators::bars::{BarConfig, BarSpec};
use daedalus_operators::book_features::BookFeatureConfig;
use daedalus_operators::intervals::IntervalConfig;
use daedalus_operators::market::{MarketParams, OutputFlags};
use daedalus_operators::trades::TradeFeatureConfig;
use daedalus_operators::vpin::VpinConfig;
use daedalus_sinks::atomic::WriteOptions;
use daedalus_sources::bronze::{BronzePartition, OrderClock, discover};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::core::Exchange as _;

/// How the timely workers are laid out.
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    /// Worker threads per process.
    pub workers: usize,
    /// Processes in the cluster (1: no networking).
    pub processes: usize,
    /// This process's index.
    pub process: usize,
    /// `host:port` per process (from `-h hostfile`); default `localhost:2101+i`.
    pub addresses: Vec<String>,
}

impl ClusterConfig {
    /// The timely configuration.
    pub fn timely(&self) -> timely::Config {
        let w = self.workers.max(1);
        let communication = if self.processes > 1 {
            let addresses = if self.addresses.is_empty() {
                (0..self.processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect()
            } else {
                self.addresses.clone()
            };
            timely::CommunicationConfig::Cluster {
                threads: w,
                process: self.process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if w > 1 {
            timely::CommunicationConfig::Process(w)
        } else {
            timely::CommunicationConfig::Thread
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// Rows per decoded bronze batch: one row group of the writers' default (`WriteOptions`), so
/// fewer, larger chunks travel through the graph; `daedalus bench` decodes with the same size.
pub const DECODE_BATCH_ROWS: usize = 64 * 1024;

/// This process's timely allocators. A cluster connects its sockets itself
/// ([`cluster_sockets`]): timely's own setup sleeps a whole second whenever a peer is not
/// listening or has not connected yet, which cost almost every cluster run a second at start.
fn allocators(
    cluster: &ClusterConfig,
) -> Result<(
    Vec<timely::communication::AllocatorBuilder>,
    Box<dyn std::any::Any + Send>,
)> {
    use timely::communication::allocator::ProcessBuilder;
    use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
    use timely::communication::{AllocatorBuilder, Hooks};
    let (threads, process, addresses) = match cluster.timely().communication {
        timely::CommunicationConfig::Cluster {
            threads,
            process,
            addresses,
            ..
        } => (threads, process, addresses),
        local => {
            return local
                .try_build()
                .map_err(|e| anyhow::anyhow!("starting timely: {e}"));
        }
    };
    let sockets = cluster_sockets(&addresses, process)?;
    let hooks = Hooks::default();
    let procs =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(procs, sockets, process, threads, hooks)
            .context("starting the cluster's network threads")?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}

/// Connects process `me` to every other process of `addresses` (one `host:port` each): listens
/// on its own address, connects to every lower index (retrying every 10 ms while that process
/// is not up yet) and accepts every higher one; each connection starts with the connecting
/// process's index. Returns one socket per process (`None` for itself), as timely expects.
fn cluster_sockets(addresses: &[String], me: usize) -> Result<Vec<Option<std::net::TcpStream>>> {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let pause = std::time::Duration::from_millis(10);
    let listener = TcpListener::bind(addresses[me].trim())
        .with_context(|| format!("process {me}: listening on {}", addresses[me]))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    for (j, addr) in addresses.iter().enumerate().take(me) {
        let mut waited = std::time::Instant::now();
        let mut s = loop {
            match TcpStream::connect(addr.trim()) {
                Ok(s) => break s,
                Err(e) => {
                    if waited.elapsed() >= std::time::Duration::from_secs(5) {
                        tracing::info!("process {me}: waiting for process {j} at {addr}: {e}");
                        waited = std::time::Instant::now();
                    }
                    std::thread::sleep(pause);
                }
            }
        };
        s.set_nodelay(true)?;
        s.write_all(&(me as u64).to_le_bytes())
            .with_context(|| format!("process {me}: greeting process {j}"))?;
        sockets[j] = Some(s);
    }
    let mut missing = addresses.len() - me - 1;
    while missing > 0 {
        let (mut s, _) = listener
            .accept()
            .with_context(|| format!("process {me}: accepting a peer"))?;
        s.set_nodelay(true)?;
        let mut idx = [0u8; 8];
        s.read_exact(&mut idx)
            .with_context(|| format!("process {me}: reading a peer's index"))?;
        let j = u64::from_le_bytes(idx) as usize;
        if j <= me || j >= addresses.len() || sockets[j].is_some() {
            bail!("process {me}: unexpected connection claiming process index {j}");
        }
        sockets[j] = Some(s);
        missing -= 1;
    }
    Ok(sockets)
}

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
    /// Run mode: state directory, checkpoints, watch, lateness, rebuild.
    pub exec: ExecOptions,
    /// Builds any market's parameters.
    pub template: ParamTemplate,
}

/// How a run executes (not part of the output-changing configuration).
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Checkpoint directory (default `<root>/_daedalus`).
    pub state_dir: Option<PathBuf>,
    /// Event-time checkpoint period in ns (aligned); 0: only at the end and on stop.
    pub checkpoint_every: i64,
    /// Watch mode.
    pub watch: Option<WatchOptions>,
    /// Late rows.
    pub on_late: LatePolicy,
    /// Discard the selected markets' checkpoints and outputs and recompute them.
    pub rebuild: bool,
    /// Metrics of this process (served by `--metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            state_dir: None,
            checkpoint_every: NANOS_PER_DAY,
            watch: None,
            on_late: LatePolicy::Record,
            rebuild: false,
            metrics: Arc::new(crate::metrics::Metrics::default()),
        }
    }
}

fn datasets_needed(outputs: &[Output]) -> Vec<Dataset> {
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
/// A batch run needs at least one partition; a watch run may start on an empty root.
pub fn plan_with(root: PathBuf, config: RunConfig, exec: ExecOptions) -> Result<RunPlan> {
    config.validate()?;
    let datasets = datasets_needed(&config.outputs);
    let nq = config.normalize_quotes;
    let filter = config.filter.clone();
    let parts: Vec<BronzePartition> =
        discover(&root, &datasets, |e, s, d| filter.matches(e, s, d, nq))
            .context("discovering bronze partitions")?;
    if parts.is_empty() && exec.watch.is_none() {
        bail!(
            "no bronze partitions under {} match the filter (datasets {:?}); ingest or generate bronze first",
            root.join("bronze").display(),
            datasets.iter().map(|d| d.name()).collect::<Vec<_>>()
        );
    }
    let mut markets: Vec<Market> = parts
        .iter()
        .map(|p| Market {
            exchange: p.exchange.clone(),
            symbol: p.symbol.clone(),
        })
        .collect();
    markets.sort();
    markets.dedup();
    let id_of: BTreeMap<Market, u32> = markets
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, m)| (m, i as u32))
        .collect();
    let mut partitions = Vec::with_capacity(parts.len());
    let mut sorted = parts;
    sorted.sort_by(|a, b| {
        (a.date, &a.exchange, &a.symbol, a.dataset).cmp(&(
            b.date,
            &b.exchange,
            &b.symbol,
            b.dataset,
        ))
    });
    for p in sorted {
        let m = id_of[&Market {
            exchange: p.exchange.clone(),
            symbol: p.symbol.clone(),
        }];
        partitions.push(AssignedPartition {
            market: m,
            partition: p,
        });
    }
    let sec = NANOS_PER_SEC;
    let windows = vec![sec, 10 * sec, 60 * sec];
    let outs = config.output_set();
    let flags = OutputFlags {
        book: outs.contains(&Output::Book),
        ticker: outs.contains(&Output::Ticker),
        trades: outs.contains(&Output::Trades),
        intervals: outs.contains(&Output::Intervals),
        bars: outs.contains(&Output::Bars),
    };
    let mut intervals = Vec::new();
    for spec in &config.interval {
        let width = parse_duration(spec)?;
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
        let spec = BarSpec::parse(b).map_err(|e| anyhow::anyhow!("--bar {b:?}: {e}"))?;
        bars.push((spec.name(), spec));
    }
    for k in config.vpin_v.keys() {
        if !markets.iter().any(|m| &m.to_string() == k) && exec.watch.is_none() {
            tracing::warn!("--vpin-v {k}: no such market in the selected bronze");
        }
    }
    let template = ParamTemplate {
        config: config.clone(),
        windows,
        intervals,
        bars,
        flags,
    };
    Ok(RunPlan {
        root,
        config,
        markets,
        partitions,
        exec,
        template,
    })
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
            symbol_norm: symbol_norm(&m.symbol, c.normalize_quotes),
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

pub use crate::state::{ADV_BUCKETS_PER_DAY, ADV_DAYS};

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

/// Runs a plan on a timely cluster and returns the merged summary of this process's workers.
///
/// Before the dataflow starts, this process opens the state directory (verifying every
/// checkpoint), and reconciles the output directories of the markets its workers own with their
/// checkpoints (roll forward / roll back, see `daedalus_sinks::manifest`). SIGINT and SIGTERM set
/// the stop flag: sources stop, every market checkpoints what it applied, the run exits cleanly.
pub fn execute(plan: RunPlan, cluster: &ClusterConfig) -> Result<WorkerSummary> {
    let clock = match plan.config.clock {
        Clock::Event => OrderClock::Event,
        Clock::Receive => OrderClock::Receive,
    };
    let state_dir = plan
        .exec
        .state_dir
        .clone()
        .unwrap_or_else(|| plan.root.join("_daedalus"));
    let filter = plan.config.filter.clone();
    let nq = plan.config.normalize_quotes;
    let rebuild = plan.exec.rebuild;
    let state = RunState::open(
        &plan.root,
        &state_dir,
        &plan.config,
        &|m| rebuild && market_selected(&filter, m, nq),
        datasets_needed(&plan.config.outputs),
        plan.exec.metrics.clone(),
    )?;
    let state = Arc::new(state);
    // Markets known now (from bronze or checkpoints): their outputs are reconciled by the
    // worker that owns them, before any data flows.
    let peers = cluster.workers.max(1) * cluster.processes.max(1);
    let mut known: Vec<Market> = plan.markets.clone();
    for r in state.resume.values() {
        known.push(Market {
            exchange: r.checkpoint.header.exchange.clone(),
            symbol: r.checkpoint.header.symbol.clone(),
        });
    }
    if rebuild {
        for (e, s) in daedalus_sinks::manifest::list_markets(&state_dir)? {
            known.push(Market {
                exchange: e,
                symbol: s,
            });
        }
    }
    known.sort();
    known.dedup();
    known.retain(|m| market_selected(&filter, m, nq));
    let known = Arc::new(known);
    // Balance markets over workers by bronze bytes (worker 0's table is adopted by all).
    let proposed = {
        let mut bytes: BTreeMap<u64, u64> = BTreeMap::new();
        for ap in &plan.partitions {
            let key = plan.markets[ap.market as usize].hash64();
            let size: u64 = ap
                .partition
                .files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            *bytes.entry(key).or_default() += size;
        }
        let weights: Vec<(u64, u64)> = bytes.into_iter().collect();
        Routing::balanced(&weights, peers)
    };
    // First SIGINT/SIGTERM: graceful stop (checkpoint, exit 0). A second one while stopping:
    // exit at once with status 130 (state stays at the last committed checkpoint).
    for flag in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(flag, 130, state.stop.clone())
            .context("installing the SIGINT/SIGTERM handler")?;
        signal_hook::flag::register(flag, state.stop.clone())
            .context("installing the SIGINT/SIGTERM handler")?;
    }
    let plan = Arc::new(plan);
    let rows_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = crate::progress::Progress::start(rows_read.clone());
    let rows_counter = rows_read;
    let fingerprint = state.fingerprint.clone();
    let (builders, comms) = allocators(cluster)?;
    let guards = timely::execute::execute_from(
        builders,
        comms,
        timely::WorkerConfig::default(),
        move |worker| {
            let rows_counter = rows_counter.clone();
            let summary = Rc::new(RefCell::new(WorkerSummary::default()));
            let plan = plan.clone();
            let state = state.clone();
            let routing = Arc::new(routing::agree(worker, &proposed));
            for m in known.iter() {
                if routing.worker_of(m.hash64()) != worker.index() {
                    continue;
                }
                if let Err(e) = state.register(m).and_then(|()| state.ensure_recovered(m)) {
                    summary.borrow_mut().fail(format!("{e:#}"));
                }
            }
            let probe = ProbeHandle::new();
            let s2 = summary.clone();
            let s3 = summary.clone();
            let s4 = summary.clone();
            let sink_opts = SinkOptions {
                root: plan.root.clone(),
                state_dir: state.state_dir.clone(),
                fingerprint: fingerprint.clone(),
                metrics: state.metrics.clone(),
                write: WriteOptions {
                    metadata: plan.config.metadata(),
                    ..WriteOptions::default()
                },
                max_rows_per_file: 2 * 1024 * 1024,
            };
            let filter = plan.config.filter.clone();
            let nq = plan.config.normalize_quotes;
            let src_opts = SourceOptions {
                clock,
                batch_rows: DECODE_BATCH_ROWS,
                trade_ids: plan.config.reads_trade_ids(),
                lead: 120 * NANOS_PER_SEC,
                max_in_flight_rows: 1 << 18,
                groups_per_activation: 2,
                watch: plan.exec.watch,
                on_late: plan.exec.on_late,
                routing: routing.clone(),
                keep: Arc::new(move |e: &str, s: &str, d: Date| filter.matches(e, s, d, nq)),
            };
            let template = plan.template.clone();
            let params_for: Arc<dyn Fn(&Market) -> MarketParams + Send + Sync> =
                Arc::new(move |m: &Market| template.params_for(m));
            let policy = CheckpointPolicy {
                every: plan.exec.checkpoint_every,
            };
            worker.dataflow::<u64, _, _>(|scope| {
                let chunks = bronze_source(
                    scope,
                    state.clone(),
                    src_opts,
                    probe.clone(),
                    s2,
                    rows_counter,
                );
                // The source reads each market on the worker this routes it to (known markets by
                // the agreed table, new ones by hash), so nothing crosses workers here; the
                // exchange keeps the market operator correct whatever the source assignment.
                let route = routing.clone();
                let exchanged = chunks
                    .exchange(move |c| route.worker_of(c.market) as u64)
                    .probe_with(&probe);
                let out = market_features(exchanged, state.clone(), params_for, policy, s3);
                partition_sink(out, sink_opts, s4);
            });
            while worker.step_or_park(None) {}
            summary.borrow().clone()
        },
    )
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut total = WorkerSummary::default();
    let joined = guards.join();
    progress.finish();
    for r in joined {
        let s = r.map_err(|e| anyhow::anyhow!("worker failed: {e}"))?;
        total.merge(&s);
    }
    Ok(total)
}

fn market_selected(filter: &crate::config::FilterSpec, m: &Market, nq: bool) -> bool {
    filter.selects_market(&m.exchange, &m.symbol, nq)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13: `--symbol BTC-USDT --normalize-quotes --rebuild` read BTC-USDC bronze (the read
    /// filter normalises both sides) but kept BTC-USDC's checkpoint (the rebuild selection did
    /// not normalise the filter). Every market the filter reads must be one it rebuilds.
    #[test]
    fn issue_13_rebuild_selects_every_market_the_filter_reads() {
        let d = Date::parse("2024-08-08").unwrap();
        let f = crate::config::FilterSpec {
            symbol: vec!["BTC-USDT".into()],
            ..Default::default()
        };
        for nq in [false, true] {
            for sym in ["BTC-USDT", "BTC-USDC", "BTC-USD", "ETH-USDT", "BTC-USDT-PERP"] {
                let m = Market {
                    exchange: "binance".into(),
                    symbol: sym.into(),
                };
                assert_eq!(
                    market_selected(&f, &m, nq),
                    f.matches("binance", sym, d, nq),
                    "{sym}, normalize_quotes = {nq}"
                );
            }
        }
    }
}
