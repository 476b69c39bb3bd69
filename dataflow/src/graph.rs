//! The one graph builder: a run plan in, the timely dataflow of every command out.
//!
//! ```text
//! bronze_source (per worker: its partitions, k-way by event time)
//!   └─ exchange by stable market hash ─ probe (flow control) ─ market_features (per market state)
//!        └─ pipeline ─ partition_sink (silver + gold partitions, committed as the frontier passes each day)
//! ```
//! `run`, `demo` and `bench` all call [`execute`]; they differ only in how they build the plan.

use crate::config::{Clock, Output, RunConfig, parse_duration};
use crate::ops::market::market_features;
use crate::ops::sink::{SinkOptions, partition_sink};
use crate::ops::source::{AssignedPartition, SourceOptions, bronze_source};
use crate::summary::WorkerSummary;
use anyhow::{Context, Result, bail};
use daedalus_model::fixed::Qty;
use daedalus_model::market::{Market, symbol_norm};
use daedalus_model::rows::Dataset;
use daedalus_model::time::Date;
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

/// Everything a run needs, decided before the dataflow starts (the same in every process).
#[derive(Clone)]
pub struct RunPlan {
    /// Root with `bronze/`; outputs go next to it.
    pub root: PathBuf,
    /// Parameters.
    pub config: RunConfig,
    /// Sorted market table; the index is the interned market id.
    pub markets: Vec<Market>,
    /// Pipeline parameters per market.
    pub params: Vec<MarketParams>,
    /// Bronze partitions to read, with market ids and file ordinals.
    pub partitions: Vec<AssignedPartition>,
    /// Markets without a VPIN bucket volume (null VPIN; one warning each).
    pub vpin_missing: Vec<String>,
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

/// Plans a run: discovers and prunes partitions by path, interns markets, resolves parameters.
pub fn plan(root: PathBuf, config: RunConfig) -> Result<RunPlan> {
    config.validate()?;
    let datasets = datasets_needed(&config.outputs);
    let nq = config.normalize_quotes;
    let filter = config.filter.clone();
    let parts: Vec<BronzePartition> =
        discover(&root, &datasets, |e, s, d| filter.matches(e, s, d, nq))
            .context("discovering bronze partitions")?;
    if parts.is_empty() {
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
    // File ordinals per (market, dataset), in (date, name) order.
    let mut next_ord: BTreeMap<(u32, Dataset), u32> = BTreeMap::new();
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
        let ord = next_ord.entry((m, p.dataset)).or_default();
        let file_ords = (0..p.files.len()).map(|_| {
            *ord += 1;
            *ord - 1
        });
        let file_ords: Vec<u32> = file_ords.collect();
        partitions.push(AssignedPartition {
            market: m,
            partition: p,
            file_ords,
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
    let mut vpin_missing = Vec::new();
    for k in config.vpin_v.keys() {
        if !markets.iter().any(|m| &m.to_string() == k) {
            tracing::warn!("--vpin-v {k}: no such market in the selected bronze");
        }
    }
    let needs_vpin = flags.trades || flags.intervals || flags.bars;
    let mut params = Vec::with_capacity(markets.len());
    for (mi, m) in markets.iter().enumerate() {
        let vpin = config.vpin_v.get(&m.to_string()).map(|&v| VpinConfig {
            bucket_volume: Qty::from_f64(v).unwrap_or(Qty(1)),
            window: config.vpin_n,
        });
        // No --vpin-v: the `adv` rule from this market's bronze trades (CONTRACT §9.8).
        let mut schedule = Vec::new();
        if vpin.is_none() && needs_vpin {
            let run_days: Vec<Date> = partitions
                .iter()
                .filter(|a| a.market == mi as u32 && a.partition.dataset == Dataset::Trades)
                .map(|a| a.partition.date)
                .collect();
            schedule = adv_schedule(&root, m, &run_days)?;
            if schedule.is_empty() {
                vpin_missing.push(m.to_string());
            }
        }
        params.push(MarketParams {
            exchange: m.exchange.clone(),
            symbol: m.symbol.clone(),
            symbol_norm: symbol_norm(&m.symbol, nq),
            book: BookFeatureConfig {
                mlofi_levels: config.mlofi_levels,
                windows: windows.clone(),
            },
            ticker_windows: windows.clone(),
            trades: TradeFeatureConfig {
                windows: windows.clone(),
                vpin,
                vpin_schedule: schedule,
                vpin_window: config.vpin_n,
            },
            intervals: intervals.clone(),
            bars: bars.clone(),
            bar_config: BarConfig {
                kyle_window: config.kyle_window,
                ..BarConfig::default()
            },
            outputs: flags,
        });
    }
    Ok(RunPlan {
        root,
        config,
        markets,
        params,
        partitions,
        vpin_missing,
    })
}

/// Trading days whose volume the `adv` rule averages (CONTRACT §9.8).
pub const ADV_DAYS: i64 = 30;
/// Buckets per day of the `adv` rule (V = ADV / 50).
pub const ADV_BUCKETS_PER_DAY: f64 = 50.0;

/// The `adv` rule: for each run day D of `market`, V = (mean daily traded volume over the days in
/// `[D − 30, D)` that have a bronze trades partition in `root`) / 50 — never the current day (no
/// look-ahead), so reruns of any date range reproduce. Days without any earlier day get no entry
/// (null VPIN until the first day that has one). Reads only the `size` column's partitions of
/// that market, including dates outside the run's filter.
pub fn adv_schedule(
    root: &std::path::Path,
    market: &Market,
    run_days: &[Date],
) -> Result<Vec<(i64, Qty)>> {
    let history = discover(root, &[Dataset::Trades], |e, s, _| {
        e == market.exchange && s == market.symbol
    })?;
    let mut daily: BTreeMap<i64, f64> = BTreeMap::new();
    let first_run_day = run_days.iter().min().map(|d| d.days_since_epoch());
    for p in history {
        let day = p.date.days_since_epoch();
        // Only days that can be in some run day's trailing window.
        if first_run_day.is_some_and(|f| day < f - ADV_DAYS)
            || !run_days.iter().any(|d| d.days_since_epoch() > day)
        {
            continue;
        }
        let total = daedalus_sources::bronze::partition_traded_volume(&p)?;
        daily.insert(day, total);
    }
    let mut days: Vec<i64> = run_days.iter().map(|d| d.days_since_epoch()).collect();
    days.sort_unstable();
    days.dedup();
    let mut out = Vec::new();
    for d in days {
        let window: Vec<f64> = daily.range(d - ADV_DAYS..d).map(|(_, v)| *v).collect();
        if window.is_empty() {
            continue;
        }
        let adv = window.iter().sum::<f64>() / window.len() as f64;
        if let Some(v) = Qty::from_f64(adv / ADV_BUCKETS_PER_DAY).filter(|q| q.0 > 0) {
            tracing::info!(
                "{market}: VPIN V for {} = {:.6} (adv rule, {} earlier day(s))",
                Date::from_days(d),
                v.to_f64(),
                window.len()
            );
            out.push((d, v));
        }
    }
    Ok(out)
}

/// Runs a plan on a timely cluster and returns the merged summary of this process's workers.
pub fn execute(plan: RunPlan, cluster: &ClusterConfig) -> Result<WorkerSummary> {
    for m in &plan.vpin_missing {
        tracing::warn!(
            "{m}: no VPIN bucket volume: no --vpin-v {m}=<V> and no earlier bronze trades day for the adv rule: VPIN is null for this market"
        );
    }
    let plan = Arc::new(plan);
    let clock = match plan.config.clock {
        Clock::Event => OrderClock::Event,
        Clock::Receive => OrderClock::Receive,
    };
    let rows_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = crate::progress::Progress::start(rows_read.clone());
    let rows_counter = rows_read;
    let guards = timely::execute(cluster.timely(), move |worker| {
        let rows_counter = rows_counter.clone();
        let index = worker.index();
        let peers = worker.peers();
        let summary = Rc::new(RefCell::new(WorkerSummary::default()));
        let plan = plan.clone();
        // Partitions round-robin over workers: decode runs in parallel whatever the markets.
        let mine: Vec<AssignedPartition> = plan
            .partitions
            .iter()
            .enumerate()
            .filter(|(i, _)| i % peers == index)
            .map(|(_, p)| p.clone())
            .collect();
        let routes: Arc<Vec<u64>> = Arc::new(plan.markets.iter().map(|m| m.hash64()).collect());
        let params = Arc::new(plan.params.clone());
        let probe = ProbeHandle::new();
        let s2 = summary.clone();
        let s3 = summary.clone();
        let s4 = summary.clone();
        let sink_opts = SinkOptions {
            root: plan.root.clone(),
            write: WriteOptions {
                metadata: plan.config.metadata(),
                ..WriteOptions::default()
            },
            max_rows_per_file: 2 * 1024 * 1024,
        };
        let src_opts = SourceOptions {
            clock,
            batch_rows: 16 * 1024,
            lead: 120 * NANOS_PER_SEC,
            groups_per_activation: 8,
        };
        worker.dataflow::<u64, _, _>(|scope| {
            let chunks = bronze_source(scope, mine, src_opts, probe.clone(), s2, rows_counter);
            let r = routes.clone();
            let exchanged = chunks
                .exchange(move |c| r[c.market as usize])
                .probe_with(&probe);
            let out = market_features(exchanged, routes, params, s3);
            partition_sink(out, sink_opts, s4);
        });
        while worker.step_or_park(None) {}
        summary.borrow().clone()
    })
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
