//! The one graph builder: a run plan in, the timely dataflow of every run out.
//!
//! ```text
//! bronze_source (per worker: the partitions of the markets routed to it, k-way by event time)
//!   └─ exchange by the agreed routing table ─ probe (flow control) ─ market_features (per market state)
//!        └─ pipeline ─ partition_sink (silver + gold partitions, committed at each market checkpoint)
//!        └─ (markets of a --cross group) interval points ─ cross_features (differential:
//!             temporal filter, join with the reference, reduce per pair) ─ cross_sink
//!             (silver/cross, exchanged by group, committed per group at the same boundaries)
//! ```
//!
//! Markets are routed by a table balanced on bronze bytes and agreed from worker 0 before the
//! dataflow starts, with the stable market hash as the fallback for markets the table does not
//! know (see [`crate::routing`]). `daedalus run`, `demo` and `bench` all call [`execute`]; they
//! differ only in how they build the plan.

use crate::cluster::{ClusterConfig, allocators};
use crate::config::Clock;
use crate::error::EngineError;
use crate::ops::cross::{CrossPlan, Tagged, cross_features, replay_points, tag_points};
use crate::ops::cross_sink::{CrossMsg, CrossSinkOptions, cross_sink, restored_floors};
use crate::ops::market::{CheckpointPolicy, market_features};
use crate::ops::sink::{PointsMsg, SinkMsg, SinkOptions, partition_sink};
use crate::ops::source::{SourceOptions, bronze_source};
use crate::plan::{DECODE_BATCH_ROWS, RunPlan, datasets_needed};
use crate::routing::{self, Routing};
use crate::state::RunState;
use crate::summary::WorkerSummary;
use daedalus_model::market::Market;
use daedalus_model::time::{Date, NANOS_PER_SEC};
use daedalus_operators::market::MarketParams;
use daedalus_sinks::atomic::WriteOptions;
use daedalus_sinks::cross_state::GroupCheckpoint;
use daedalus_sources::bronze::OrderClock;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::core::Exchange as _;
use timely::dataflow::operators::core::{Concat as _, OkErr as _};
use timely::dataflow::operators::vec::{Map as _, ToStream as _};
use timely::worker::Worker;

type Result<T> = std::result::Result<T, EngineError>;

/// What every worker of this process shares.
struct RunContext {
    plan: RunPlan,
    state: Arc<RunState>,
    /// Markets known before the run (bronze, checkpoints): reconciled by their owner first.
    known: Vec<Market>,
    /// This process's proposal of the routing table (worker 0's is adopted by all).
    proposed: Routing,
    /// `silver/cross` settings, when the run writes it.
    cross: Option<Arc<CrossPlan>>,
    /// The groups' commit records restored at start, by base.
    restored: Arc<BTreeMap<String, GroupCheckpoint>>,
}

/// Runs a plan on a timely cluster and returns the merged summary of this process's workers.
///
/// Before the dataflow starts, this process opens the state directory (verifying every
/// checkpoint), and reconciles the output directories of the markets its workers own with their
/// checkpoints (roll forward / roll back, see `daedalus_sinks::manifest`). SIGINT and SIGTERM set
/// the stop flag: sources stop, every market checkpoints what it applied, the run exits cleanly.
pub fn execute(plan: RunPlan, cluster: &ClusterConfig) -> Result<WorkerSummary> {
    let state_dir = plan
        .exec
        .state_dir
        .clone()
        .unwrap_or_else(|| plan.root.join("_daedalus"));
    if plan.exec.shadow.is_none() && cluster.process == 0 {
        // Finish a rebuild's or restatement's committed switch-overs before anything reads a
        // checkpoint; the other processes connect only once this one listens, after this.
        let n = daedalus_sinks::swap::recover(&plan.root, &state_dir).map_err(
            EngineError::state(format!(
                "finishing interrupted switch-overs in {}",
                state_dir.display()
            )),
        )?;
        if n > 0 {
            tracing::info!("finished {n} interrupted rebuild/restatement switch-over(s)");
        }
    }
    // Signals are handled from here on: a process waiting for its cluster's peers stops on the
    // first one (issue 16), and one arriving while the state opens stops the run at its start.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let (builders, comms) = allocators(cluster, &stop)?;
    let mut state = open_state(&plan, &state_dir)?;
    state.stop = stop;
    let state = Arc::new(state);
    let removed = report_removed_inputs(&plan, &state)?;
    let known = known_markets(&plan, &state)?;
    let peers = cluster.workers.max(1) * cluster.processes.max(1);
    let proposed = proposed_routing(&plan, peers);
    let cross = cross_plan(&plan)?;
    let restored = match &cross {
        Some(c) => restore_groups(c, &state, cluster.process == 0)?,
        None => BTreeMap::new(),
    };
    let ctx = Arc::new(RunContext {
        plan,
        state: state.clone(),
        known,
        proposed,
        cross,
        restored: Arc::new(restored),
    });
    let guards = timely::execute::execute_from(
        builders,
        comms,
        timely::WorkerConfig::default(),
        move |worker| run_worker(worker, &ctx),
    )
    .map_err(|e| EngineError::Timely(format!("starting timely: {e}")))?;
    let mut total = WorkerSummary::default();
    for r in guards.join() {
        let s = r.map_err(|e| EngineError::Timely(format!("worker failed: {e}")))?;
        total.merge(s);
    }
    total.count("removed_inputs", removed);
    total.stopped = state.stop.load(std::sync::atomic::Ordering::Relaxed);
    total.restart = state.restart.load(std::sync::atomic::Ordering::Relaxed);
    Ok(total)
}

/// The `silver/cross` settings when the run writes it (groups configured, outputs select it).
fn cross_plan(plan: &RunPlan) -> Result<Option<Arc<CrossPlan>>> {
    let c = &plan.config;
    if !c.writes_cross() {
        return Ok(None);
    }
    let mut groups = BTreeMap::new();
    for (base, reference) in c.cross_groups()? {
        crate::ops::cross_sink::valid_base(&base)?;
        groups.insert(base, reference);
    }
    let mut widths = Vec::new();
    for spec in &c.interval {
        widths.push(crate::config::interval_width(spec).map_err(crate::config::ConfigError::from)?);
    }
    Ok(Some(Arc::new(CrossPlan {
        groups: groups.into_iter().collect(),
        window: c.cross_window,
        widths,
        specs: c.interval.clone(),
        write_intervals: c.output_set().contains(&crate::config::Output::Intervals),
        every: plan.exec.checkpoint_every,
    })))
}

/// Loads every group's commit record (same fingerprint as the run), and on process 0 rolls its
/// committed parts forward and removes uncommitted ones.
fn restore_groups(
    cross: &CrossPlan,
    state: &RunState,
    recover: bool,
) -> Result<BTreeMap<String, GroupCheckpoint>> {
    let mut out = BTreeMap::new();
    for (base, reference) in &cross.groups {
        let what = || format!("silver/cross record of group {base}");
        let rec = daedalus_sinks::cross_state::load_group(&state.state_dir, base)
            .map_err(EngineError::state(what()))?;
        if let Some(r) = &rec
            && r.config_fingerprint != state.fingerprint
        {
            return Err(EngineError::Fingerprint {
                path: daedalus_sinks::cross_state::group_path(&state.state_dir, base),
                market: reference.clone(),
                found: r.config_fingerprint.clone(),
                expected: state.fingerprint.clone(),
            });
        }
        if recover && !state.shadow {
            daedalus_sinks::cross_state::recover_group(&state.out_root, rec.as_ref(), base)
                .map_err(EngineError::state(what()))?;
        }
        let rec = catch_up(cross, state, base, rec).map_err(EngineError::state(what()))?;
        if let Some(r) = rec {
            out.insert(base.clone(), r);
        }
    }
    Ok(out)
}

/// Adds to a group's record the interval points its markets' checkpoints are ahead of it by
/// (read from their committed `silver/intervals` files): after a crash between a market's
/// commit and its group's, the market does not emit those intervals again. A group without a
/// record but with checkpointed markets gets one holding all their committed points.
fn catch_up(
    cross: &CrossPlan,
    state: &RunState,
    base: &str,
    rec: Option<GroupCheckpoint>,
) -> std::result::Result<Option<GroupCheckpoint>, daedalus_sinks::SinkError> {
    use daedalus_model::time::{Date, Nanos};
    let mut rec = rec.unwrap_or_else(|| GroupCheckpoint {
        format_version: daedalus_sinks::cross_state::CROSS_FORMAT_VERSION,
        config_fingerprint: state.fingerprint.clone(),
        base: base.to_string(),
        processed_until: Nanos::MIN,
        outputs: Vec::new(),
        points: Vec::new(),
    });
    let before = rec.points.len();
    for (key, r) in &state.resume {
        let h = &r.checkpoint.header;
        let m = Market {
            exchange: h.exchange.clone(),
            symbol: h.symbol.clone(),
        };
        let Some((b, is_ref)) = cross.group_of(&m) else {
            continue;
        };
        if b != base {
            continue;
        }
        for (g, spec) in cross.specs.iter().enumerate() {
            let span = (cross.window as i64 + 1) * cross.widths[g];
            let held = (rec.points.iter())
                .filter(|p| p.0 == g as u8 && p.1 == *key)
                .map(|p| p.3.ts_close)
                .max();
            let after = held
                .unwrap_or(Nanos::MIN)
                .max(rec.processed_until.saturating_sub(span));
            let from_date = (after > Nanos::MIN).then(|| Date::of_nanos(after).to_string());
            let prefix = format!("silver/intervals/interval={spec}/");
            for o in h.outputs.iter().filter(|o| o.path.starts_with(&prefix)) {
                let date = o.path.split('/').find_map(|c| c.strip_prefix("date="));
                if from_date
                    .as_deref()
                    .is_some_and(|f| date.is_some_and(|d| d < f))
                {
                    continue;
                }
                let pts = daedalus_sinks::cross_state::read_interval_points(
                    &state.out_root,
                    &o.path,
                    after,
                )?;
                rec.points
                    .extend(pts.into_iter().map(|p| (g as u8, *key, is_ref, p)));
            }
        }
    }
    // Replayed in (grid, market, ts_close) order, each interval once.
    rec.points.sort_by_key(|p| (p.0, p.1, p.3.ts_close));
    rec.points.dedup_by_key(|p| (p.0, p.1, p.3.ts_close));
    let empty =
        rec.points.is_empty() && rec.outputs.is_empty() && rec.processed_until == Nanos::MIN;
    if rec.points.len() > before {
        tracing::info!(
            "silver/cross group {base}: {} interval point(s) read back from committed silver/intervals (market checkpoints ahead of the group's record)",
            rec.points.len() - before
        );
    }
    Ok((!empty).then_some(rec))
}

/// Opens the run state: the live root, or a recomputation's shadow.
fn open_state(plan: &RunPlan, state_dir: &std::path::Path) -> Result<RunState> {
    let out_root = plan
        .exec
        .shadow
        .as_ref()
        .map_or_else(|| plan.root.clone(), |s| s.out_root.clone());
    RunState::open(
        &plan.root,
        &out_root,
        plan.exec.shadow.is_some(),
        state_dir,
        &plan.config,
        datasets_needed(&plan.config.outputs),
        plan.exec.observer.clone(),
    )
}

/// Consumed bronze files that are gone (issue 14): named in a warning and counted like late
/// files (`--on-late fail` stops); `--restate` recomputes their markets.
fn report_removed_inputs(plan: &RunPlan, state: &RunState) -> Result<u64> {
    for (m, p) in &state.removed_inputs {
        if plan.exec.on_late == crate::plan::LatePolicy::Fail {
            return Err(EngineError::RemovedInput {
                market: m.clone(),
                file: p.clone(),
            });
        }
        tracing::warn!(
            "{m}: bronze file {p} was consumed by the checkpoint and is gone: outputs computed from it are kept until `run --restate` recomputes {m}"
        );
    }
    Ok(state.removed_inputs.len() as u64)
}

/// Markets known now (from bronze and checkpoints) that
/// the filter selects: their outputs are reconciled by the worker that owns them, before any
/// data flows.
fn known_markets(plan: &RunPlan, state: &RunState) -> Result<Vec<Market>> {
    let mut known: Vec<Market> = plan.markets.clone();
    for r in state.resume.values() {
        known.push(Market {
            exchange: r.checkpoint.header.exchange.clone(),
            symbol: r.checkpoint.header.symbol.clone(),
        });
    }
    known.sort();
    known.dedup();
    let f = &plan.config.filter;
    let nq = plan.config.quote_fold();
    known.retain(|m| f.selects_market(&m.exchange, &m.symbol, &nq));
    Ok(known)
}

/// Markets balanced over workers by bronze bytes.
fn proposed_routing(plan: &RunPlan, peers: usize) -> Routing {
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
}

/// First SIGINT/SIGTERM: graceful stop (checkpoint, exit 0). A second one while stopping: exit
/// at once with status 130 (state stays at the last committed checkpoint).
fn install_signal_handlers(stop: &Arc<std::sync::atomic::AtomicBool>) -> Result<()> {
    let err = |e| EngineError::Network {
        what: "installing the SIGINT/SIGTERM handler".into(),
        source: e,
    };
    for flag in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(flag, 130, stop.clone()).map_err(err)?;
        signal_hook::flag::register(flag, stop.clone()).map_err(err)?;
    }
    Ok(())
}

/// One worker: agrees on the routing, reconciles the known markets it owns, builds the
/// dataflow and runs it to completion.
fn run_worker(worker: &mut Worker, ctx: &RunContext) -> WorkerSummary {
    let summary = Rc::new(RefCell::new(WorkerSummary::default()));
    let routing = Arc::new(routing::agree(worker, &ctx.proposed));
    for m in &ctx.known {
        if routing.worker_of(m.hash64()) != worker.index() {
            continue;
        }
        if let Err(e) = ctx
            .state
            .register(m)
            .and_then(|()| ctx.state.ensure_recovered(m))
        {
            summary.borrow_mut().fail(e);
        }
    }
    let probe = ProbeHandle::new();
    let src_opts = source_options(&ctx.plan, routing.clone());
    let sink_opts = sink_options(&ctx.plan, &ctx.state);
    let template = ctx.plan.template.clone();
    let params_for: Arc<dyn Fn(&Market) -> MarketParams + Send + Sync> =
        Arc::new(move |m: &Market| template.params_for(m));
    let tap_plan = ctx.cross.clone();
    let policy = CheckpointPolicy {
        every: ctx.plan.exec.checkpoint_every,
        finishes: finishes(&ctx.plan, routing.clone(), worker.index()),
        cross_tap: Arc::new(move |m: &Market| {
            let p = tap_plan.as_ref()?;
            p.group_of(m).map(|_| p.write_intervals)
        }),
    };
    let first_worker = worker.index() == 0;
    worker.dataflow::<u64, _, _>(|scope| {
        let chunks = bronze_source(
            scope,
            ctx.state.clone(),
            src_opts,
            probe.clone(),
            summary.clone(),
        );
        // The source reads each market on the worker this routes it to (known markets by the
        // agreed table, new ones by hash), so nothing crosses workers here; the exchange keeps
        // the market operator correct whatever the source assignment.
        let route = routing.clone();
        let exchanged = chunks
            .exchange(move |c| route.worker_of(c.market) as u64)
            .probe_with(&probe);
        let out = market_features(
            exchanged,
            ctx.state.clone(),
            params_for,
            policy,
            summary.clone(),
        );
        let out = match &ctx.cross {
            None => out,
            Some(plan) => {
                let (rest, points) =
                    out.ok_err::<Vec<SinkMsg>, _, Vec<PointsMsg>, _, _>(|m| match m {
                        SinkMsg::Points(p) => Err(*p),
                        m => Ok(m),
                    });
                let replay: Vec<Tagged> = if first_worker {
                    let saved: Vec<_> = (ctx.restored.iter())
                        .map(|(b, r)| (b.clone(), r.points.clone()))
                        .collect();
                    replay_points(plan, &saved)
                } else {
                    Vec::new()
                };
                let floors = Arc::new(restored_floors(plan, &ctx.restored));
                let tagged = tag_points(points, plan.clone(), ctx.state.clone(), floors)
                    .concat(replay.to_stream(scope));
                let rows = cross_features(tagged.clone(), plan.clone(), summary.clone());
                let msgs = rows.map(CrossMsg::Row).concat(tagged.map(CrossMsg::Point));
                let opts = CrossSinkOptions {
                    plan: plan.clone(),
                    state: ctx.state.clone(),
                    restored: ctx.restored.clone(),
                    every: ctx.plan.exec.checkpoint_every,
                    write: sink_opts.write.clone(),
                };
                cross_sink(msgs, opts, summary.clone());
                rest
            }
        };
        partition_sink(out, sink_opts, summary.clone());
    });
    while worker.step_or_park(None) {}
    summary.take()
}

/// The markets worker `me` finishes at the end of a batch input (see `CheckpointPolicy`): its
/// own, selected by the filter (and by a recomputation's market set).
fn finishes(
    plan: &RunPlan,
    routing: Arc<Routing>,
    me: usize,
) -> Arc<dyn Fn(&Market) -> bool + Send + Sync> {
    let filter = plan.config.filter.clone();
    let nq = plan.config.quote_fold();
    let only = plan.exec.shadow.as_ref().map(|s| s.markets.clone());
    Arc::new(move |m: &Market| {
        routing.worker_of(m.hash64()) == me
            && filter.selects_market(&m.exchange, &m.symbol, &nq)
            && only.as_ref().is_none_or(|o| o.contains(m))
    })
}

/// The source's settings for this run.
fn source_options(plan: &RunPlan, routing: Arc<Routing>) -> SourceOptions {
    let filter = plan.config.filter.clone();
    let nq = plan.config.quote_fold();
    let only = plan.exec.shadow.as_ref().map(|s| s.markets.clone());
    SourceOptions {
        clock: match plan.config.clock {
            Clock::Event => OrderClock::Event,
            Clock::Receive => OrderClock::Receive,
        },
        batch_rows: DECODE_BATCH_ROWS,
        trade_ids: plan.config.reads_trade_ids(),
        lead: 120 * NANOS_PER_SEC,
        max_in_flight_rows: 1 << 18,
        groups_per_activation: 2,
        watch: plan.exec.watch,
        on_late: plan.exec.on_late,
        routing,
        restart_on_late: plan.exec.restate && plan.exec.watch.is_some() && only.is_none(),
        keep: Arc::new(move |e: &str, s: &str, d: Date| {
            filter.matches(e, s, d, &nq)
                && only.as_ref().is_none_or(|o| {
                    o.contains(&Market {
                        exchange: e.to_string(),
                        symbol: s.to_string(),
                    })
                })
        }),
    }
}

/// The sink's settings for this run.
fn sink_options(plan: &RunPlan, state: &RunState) -> SinkOptions {
    SinkOptions {
        root: state.out_root.clone(),
        keep_checkpoints: plan.exec.keep_checkpoints,
        state_dir: state.state_dir.clone(),
        fingerprint: state.fingerprint.clone(),
        root_id: state.root_id.clone(),
        observer: state.observer.clone(),
        write: WriteOptions {
            metadata: plan.config.metadata(),
            ..WriteOptions::default()
        },
        max_rows_per_file: 2 * 1024 * 1024,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::FilterSpec;
    use daedalus_model::market::QuoteFold;
    use daedalus_model::time::Date;

    /// Issue 13: `--symbol BTC-USDT --normalize-quotes --rebuild` read BTC-USDC bronze (the read
    /// filter normalises both sides) but kept BTC-USDC's checkpoint (the rebuild selection did
    /// not normalise the filter). Every market the filter reads must be one it rebuilds.
    #[test]
    fn issue_13_rebuild_selects_every_market_the_filter_reads() {
        let d = Date::parse("2024-08-08").unwrap();
        let f = FilterSpec {
            symbol: vec!["BTC-USDT".into()],
            ..Default::default()
        };
        let folds = [
            QuoteFold::default(),
            QuoteFold::default_pair(),
            QuoteFold::new(&[("USDT".to_string(), "USDC".to_string())].into()).unwrap(),
        ];
        for nq in &folds {
            for sym in [
                "BTC-USDT",
                "BTC-USDC",
                "BTC-USD",
                "ETH-USDT",
                "BTC-USDT-PERP",
            ] {
                assert_eq!(
                    f.selects_market("binance", sym, nq),
                    f.matches("binance", sym, d, nq),
                    "{sym}, quote fold {nq:?}"
                );
            }
        }
    }
}
