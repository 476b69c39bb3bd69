//! Recompute, then replace (issue 15): `--rebuild` and `--restate`.
//!
//! Both recompute a set of markets, each from a **start**: nothing (its first row), or a
//! checkpoint of its history (`daedalus_sinks::history`) at or before the earliest time that
//! changed. The recomputation is an ordinary run of the one graph ([`crate::execute`]) whose
//! outputs, checkpoints and history go to the root's shadow (`daedalus_sinks::swap`), reading
//! the live bronze of just those markets, all of it from the start on. The live outputs and
//! checkpoints are untouched while it runs. Only when it finished without an error, and was not
//! stopped, is each market switched over in one commit (a swap journal); a failure or a signal
//! before that leaves the previous outputs and checkpoints as they were, and the shadow is
//! removed.
//!
//! **What is replaced.** `--restate` and a whole `--rebuild`: every partition the recomputation
//! wrote, and the market's checkpoint and history after the start; outputs before the start are
//! kept as they are (same files, same mtimes). `--rebuild --from A --to B`: only the partitions
//! dated A..=B; the checkpoint keeps its state and lists the new files (outputs after B, and the
//! state, came from the same parameters: a window rebuild with other parameters is refused).
//! To be exact at B, the recomputation reads on past B to the end of the market's bronze.
//!
//! **What needs restating** ([`pending`]): for each market with a checkpoint, the files listed
//! in `late.jsonl` (rows that arrived behind the checkpoint or the watermark, never applied),
//! consumed files that are gone or changed size, and files the checkpoint never consumed whose
//! rows (by their Parquet statistics) fall before it. The market is restated from the newest
//! history checkpoint at or before the earliest such row (a changed or removed file counts from
//! the start of its date).
//!
//! **Cost.** A restatement recomputes the market from that checkpoint to its end: one late
//! file three days back costs three days of that market; with no history that old (retention
//! `--keep-checkpoints`), the market is recomputed from its first row.

use crate::cluster::ClusterConfig;
use crate::config::{Clock, RunConfig};
use crate::error::EngineError;
use crate::plan::{ExecOptions, RunPlan, ShadowRun, plan_with};
use crate::state::config_fingerprint;
use crate::summary::WorkerSummary;
use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Date, Nanos};
use daedalus_sinks::manifest::{self, Checkpoint, OutputFile};
use daedalus_sinks::swap::{self, CheckpointSwap, SwapJournal};
use daedalus_sinks::{SinkError, history};
use daedalus_sources::bronze::{BronzeFileReader, OrderClock, date_lower_bound, discover};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Result<T> = std::result::Result<T, EngineError>;

/// Why a market needs restating.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingReason {
    /// Rows of this file arrived behind the checkpoint or watermark and were not applied.
    Late {
        /// Bronze file, relative to the root.
        file: String,
        /// Rows not applied.
        rows: u64,
        /// Least ordering time among them (ns).
        min_ts: Nanos,
    },
    /// A consumed file is gone.
    Removed {
        /// Bronze file, relative to the root.
        file: String,
    },
    /// A consumed file changed size.
    Changed {
        /// Bronze file, relative to the root.
        file: String,
        /// Size when consumed.
        was: u64,
        /// Size now.
        now: u64,
    },
    /// A file the checkpoint never consumed, with rows before it.
    Unconsumed {
        /// Bronze file, relative to the root.
        file: String,
        /// Least ordering time of its rows (Parquet statistics, ns).
        min_ts: Nanos,
    },
}

/// A market whose outputs do not reflect all of its bronze.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// The market.
    pub market: Market,
    /// Earliest ordering time (ns) affected: the restatement starts at or before it.
    pub since: Nanos,
    /// What changed.
    pub reasons: Vec<PendingReason>,
}

/// What one recomputed market's switch-over did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recomputed {
    /// The market.
    pub market: Market,
    /// `processed_until` of the history checkpoint it started from (`None`: its first row).
    pub start: Option<Nanos>,
    /// Output files moved in.
    pub files_in: usize,
    /// Previous output files removed.
    pub files_removed: usize,
}

/// What a rebuild or restatement did.
#[derive(Debug, Default, serde::Serialize)]
pub struct RecomputeReport {
    /// Markets switched over.
    pub markets: Vec<Recomputed>,
    /// What needed restating (`--restate`).
    pub pending: Vec<Pending>,
    /// The recomputation's run summary (`None` when there was nothing to do).
    pub summary: Option<WorkerSummary>,
}

/// One market to recompute.
struct Target {
    market: Market,
    start: Option<Checkpoint>,
    /// Replace only these dates (inclusive).
    window: Option<(Date, Date)>,
}

fn order_clock(c: Clock) -> OrderClock {
    match c {
        Clock::Event => OrderClock::Event,
        Clock::Receive => OrderClock::Receive,
    }
}

fn state_dir_of(plan: &RunPlan) -> PathBuf {
    plan.exec
        .state_dir
        .clone()
        .unwrap_or_else(|| plan.root.join("_daedalus"))
}

fn sink_err(what: String) -> impl FnOnce(SinkError) -> EngineError {
    EngineError::state(what)
}

/// The date of a path's `date=YYYY-MM-DD` segment.
fn date_of(rel: &str) -> Option<Date> {
    rel.split('/')
        .find_map(|seg| seg.strip_prefix("date="))
        .and_then(Date::parse)
}

/// Markets whose outputs miss some of their bronze (see the module docs), oldest change first.
pub fn pending(root: &Path, state_dir: &Path, clock: Clock) -> Result<Vec<Pending>> {
    let clock = order_clock(clock);
    let late = manifest::read_late(state_dir).map_err(sink_err("reading late.jsonl".into()))?;
    let mut out = Vec::new();
    let markets = manifest::list_markets(state_dir)
        .map_err(sink_err(format!("listing {}", state_dir.display())))?;
    for (exchange, symbol) in markets {
        let m = Market { exchange, symbol };
        let Some(cp) = manifest::load(state_dir, &m.exchange, &m.symbol)
            .map_err(sink_err(format!("reading the checkpoint of {m}")))?
        else {
            continue;
        };
        let name = m.to_string();
        let mut reasons: Vec<PendingReason> = late
            .iter()
            .filter(|r| r.market == name)
            .map(|r| PendingReason::Late {
                file: r.file.clone(),
                rows: r.late_rows,
                min_ts: r.min_ts,
            })
            .collect();
        reasons.extend(consumed_changes(root, &cp));
        let recorded: BTreeSet<String> =
            reasons.iter().map(|r| reason_file(r).to_string()).collect();
        reasons.extend(
            unconsumed_before(root, &m, &cp, clock)?
                .into_iter()
                .filter(|r| !recorded.contains(reason_file(r))),
        );
        let since = reasons
            .iter()
            .map(|r| reason_since(r, clock))
            .min()
            .unwrap_or(Nanos::MAX);
        if !reasons.is_empty() {
            out.push(Pending {
                market: m,
                since,
                reasons,
            });
        }
    }
    out.sort_by_key(|p| p.since);
    Ok(out)
}

fn reason_file(r: &PendingReason) -> &str {
    match r {
        PendingReason::Late { file, .. }
        | PendingReason::Removed { file }
        | PendingReason::Changed { file, .. }
        | PendingReason::Unconsumed { file, .. } => file,
    }
}

/// Earliest ordering time a reason affects.
fn reason_since(r: &PendingReason, clock: OrderClock) -> Nanos {
    let date_start = |f: &str| date_of(f).map_or(Nanos::MIN, |d| date_lower_bound(d, clock));
    match r {
        PendingReason::Late { min_ts, .. } | PendingReason::Unconsumed { min_ts, .. } => *min_ts,
        PendingReason::Removed { file } | PendingReason::Changed { file, .. } => date_start(file),
    }
}

/// Consumed files that are gone or changed size.
fn consumed_changes(root: &Path, cp: &Checkpoint) -> Vec<PendingReason> {
    let mut out = Vec::new();
    for i in &cp.header.inputs {
        match std::fs::metadata(root.join(&i.path)) {
            Err(_) => out.push(PendingReason::Removed {
                file: i.path.clone(),
            }),
            Ok(md) if md.len() != i.size => out.push(PendingReason::Changed {
                file: i.path.clone(),
                was: i.size,
                now: md.len(),
            }),
            Ok(_) => {}
        }
    }
    out
}

/// Bronze files of `m` the checkpoint never consumed, with rows before its `processed_until`.
fn unconsumed_before(
    root: &Path,
    m: &Market,
    cp: &Checkpoint,
    clock: OrderClock,
) -> Result<Vec<PendingReason>> {
    let until = cp.header.processed_until;
    let consumed: BTreeSet<&str> = cp.header.inputs.iter().map(|i| i.path.as_str()).collect();
    let parts = discover(root, &Dataset::ALL, |e, s, d| {
        e == m.exchange && s == m.symbol && date_lower_bound(d, clock) < until
    })
    .map_err(EngineError::bronze("listing bronze to find late files"))?;
    let mut out = Vec::new();
    for p in parts {
        for f in &p.files {
            let rel = f
                .strip_prefix(root)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/");
            if consumed.contains(rel.as_str()) {
                continue;
            }
            let r = BronzeFileReader::open(f, p.dataset, clock, date_lower_bound(p.date, clock))
                .map_err(EngineError::bronze("reading bronze statistics"))?;
            let min = r.groups().iter().map(|g| g.1).min().unwrap_or(Nanos::MAX);
            if min < until {
                out.push(PendingReason::Unconsumed {
                    file: rel,
                    min_ts: min,
                });
            }
        }
    }
    Ok(out)
}

/// `run --restate`: recomputes every market the filter selects that has pending changes, from
/// its newest history checkpoint at or before the earliest, and replaces what it wrote.
pub fn restate(plan: &RunPlan, workers: usize) -> Result<RecomputeReport> {
    let state_dir = state_dir_of(plan);
    recover(plan, &state_dir)?;
    let fp = config_fingerprint(&plan.config);
    let f = &plan.config.filter;
    let nq = plan.config.quote_fold();
    let pend: Vec<Pending> = pending(&plan.root, &state_dir, plan.config.clock)?
        .into_iter()
        .filter(|p| f.selects_market(&p.market.exchange, &p.market.symbol, &nq))
        .collect();
    let mut targets = Vec::new();
    for p in &pend {
        let (e, s) = (&p.market.exchange, &p.market.symbol);
        check_live_fingerprint(&state_dir, &p.market, &fp, false)?;
        let start = history::at_or_before(&state_dir, e, s, p.since, &fp).map_err(sink_err(
            format!("reading the checkpoint history of {}", p.market),
        ))?;
        targets.push(Target {
            market: p.market.clone(),
            start,
            window: None,
        });
    }
    let mut report = recompute(plan, &state_dir, targets, "restatement", workers)?;
    let done: BTreeSet<String> = report
        .markets
        .iter()
        .map(|r| r.market.to_string())
        .collect();
    manifest::retain_late(&state_dir, |r| !done.contains(&r.market))
        .map_err(sink_err("resolving late.jsonl".into()))?;
    report.pending = pend;
    Ok(report)
}

/// `run --rebuild`: recomputes every market the filter selects (bronze or checkpoint) and
/// replaces its outputs; with `--from/--to`, from the history checkpoint at `--from` and only
/// the partitions in the window.
pub fn rebuild(plan: &RunPlan, workers: usize) -> Result<RecomputeReport> {
    let state_dir = state_dir_of(plan);
    recover(plan, &state_dir)?;
    let markets = selected_markets(plan, &state_dir)?;
    rebuild_markets(plan, &state_dir, markets, window_of(&plan.config)?, workers)
}

/// Markets with visible outputs but no checkpoint (it was deleted, or lost): a plain run
/// rebuilds them first ([`rebuild_orphans`]) rather than delete those outputs before
/// recomputing them.
pub fn orphans(plan: &RunPlan) -> Result<Vec<Market>> {
    let state_dir = state_dir_of(plan);
    // A switch-over interrupted by a crash may be what installs a market's checkpoint.
    recover(plan, &state_dir)?;
    let listed: BTreeSet<(String, String)> = manifest::list_markets(&state_dir)
        .map_err(sink_err(format!("listing {}", state_dir.display())))?
        .into_iter()
        .collect();
    Ok(plan
        .markets
        .iter()
        .filter(|m| !listed.contains(&(m.exchange.clone(), m.symbol.clone())))
        .filter(|m| !manifest::market_output_files(&plan.root, &m.exchange, &m.symbol).is_empty())
        .cloned()
        .collect())
}

/// Rebuilds `markets` (from [`orphans`], which finished interrupted switch-overs) whole
/// (recompute, then replace).
pub fn rebuild_orphans(
    plan: &RunPlan,
    markets: Vec<Market>,
    workers: usize,
) -> Result<RecomputeReport> {
    rebuild_markets(plan, &state_dir_of(plan), markets, None, workers)
}

fn rebuild_markets(
    plan: &RunPlan,
    state_dir: &Path,
    markets: Vec<Market>,
    window: Option<(Date, Date)>,
    workers: usize,
) -> Result<RecomputeReport> {
    let fp = config_fingerprint(&plan.config);
    let clock = order_clock(plan.config.clock);
    let mut targets = Vec::new();
    for m in markets {
        // A whole rebuild never reads the live checkpoint (it may be the corrupt one it fixes).
        let live = match window {
            Some(_) => manifest::load(state_dir, &m.exchange, &m.symbol)
                .map_err(sink_err(format!("reading the checkpoint of {m}")))?,
            None => None,
        };
        let (start, window) = match (window, live) {
            (Some((from, to)), Some(_)) => {
                check_live_fingerprint(state_dir, &m, &fp, true)?;
                let t = date_lower_bound(from, clock);
                let start = history::at_or_before(state_dir, &m.exchange, &m.symbol, t, &fp)
                    .map_err(sink_err(format!("reading the checkpoint history of {m}")))?;
                (start, Some((from, to)))
            }
            _ => (None, None),
        };
        targets.push(Target {
            market: m,
            start,
            window,
        });
    }
    let report = recompute(plan, state_dir, targets, "rebuild", workers)?;
    let whole: BTreeSet<String> = report
        .markets
        .iter()
        .filter(|r| r.start.is_none())
        .map(|r| r.market.to_string())
        .collect();
    manifest::retain_late(state_dir, |r| !whole.contains(&r.market))
        .map_err(sink_err("resolving late.jsonl".into()))?;
    Ok(report)
}

/// Finishes interrupted switch-overs and removes a stale shadow.
fn recover(plan: &RunPlan, state_dir: &Path) -> Result<()> {
    swap::recover(&plan.root, state_dir).map_err(sink_err(format!(
        "finishing interrupted switch-overs in {}",
        state_dir.display()
    )))?;
    Ok(())
}

/// The `--from/--to` window of a rebuild (both ends needed: an open end means "whole").
fn window_of(config: &RunConfig) -> Result<Option<(Date, Date)>> {
    let (from, to) = config.filter.date_bounds()?;
    Ok(match (from, to) {
        (None, None) => None,
        (f, t) => Some((
            f.unwrap_or(Date::from_days(i64::from(i32::MIN))),
            t.unwrap_or(Date::from_days(i64::from(i32::MAX))),
        )),
    })
}

/// A market's live checkpoint must be of this run's parameters (a restatement resumes it; a
/// window rebuild keeps outputs beside the window).
fn check_live_fingerprint(state_dir: &Path, m: &Market, fp: &str, window: bool) -> Result<()> {
    let Some(cp) = manifest::load(state_dir, &m.exchange, &m.symbol)
        .map_err(sink_err(format!("reading the checkpoint of {m}")))?
    else {
        return Ok(());
    };
    if cp.header.config_fingerprint == fp {
        return Ok(());
    }
    Err(if window {
        EngineError::WindowFingerprint {
            market: m.clone(),
            found: cp.header.config_fingerprint,
            expected: fp.to_string(),
        }
    } else {
        EngineError::Fingerprint {
            path: manifest::checkpoint_path(state_dir, &m.exchange, &m.symbol),
            market: m.clone(),
            found: cp.header.config_fingerprint,
            expected: fp.to_string(),
        }
    })
}

/// Markets with bronze or a checkpoint that the filter selects.
fn selected_markets(plan: &RunPlan, state_dir: &Path) -> Result<Vec<Market>> {
    let mut all: BTreeSet<Market> = plan.markets.iter().cloned().collect();
    let listed = manifest::list_markets(state_dir)
        .map_err(sink_err(format!("listing {}", state_dir.display())))?;
    all.extend(
        listed
            .into_iter()
            .map(|(exchange, symbol)| Market { exchange, symbol }),
    );
    let f = &plan.config.filter;
    let nq = plan.config.quote_fold();
    Ok(all
        .into_iter()
        .filter(|m| f.selects_market(&m.exchange, &m.symbol, &nq))
        .collect())
}

/// Runs the recomputation of `targets` into the shadow and switches each market over.
fn recompute(
    plan: &RunPlan,
    state_dir: &Path,
    targets: Vec<Target>,
    what: &'static str,
    workers: usize,
) -> Result<RecomputeReport> {
    let mut report = RecomputeReport::default();
    if targets.is_empty() {
        return Ok(report);
    }
    let shadow_state = swap::shadow_state(&plan.root);
    let computed = prepare_shadow(state_dir, &shadow_state, &targets)
        .and_then(|()| run_shadow(plan, &targets, what, workers));
    let summary = match computed {
        Ok(s) => s,
        Err(e) => {
            let _ = swap::remove_shadow(&plan.root);
            return Err(e);
        }
    };
    for t in &targets {
        let (j, rec) = journal(plan, state_dir, t)?;
        swap::commit(&plan.root, state_dir, &j).map_err(sink_err(format!(
            "switching {} over to its recomputed outputs",
            t.market
        )))?;
        tracing::info!(
            "{}: {what} committed ({} file(s) in, {} removed)",
            t.market,
            rec.files_in,
            rec.files_removed
        );
        report.markets.push(rec);
    }
    swap::remove_shadow(&plan.root).map_err(sink_err("removing the shadow".into()))?;
    report.summary = summary;
    Ok(report)
}

/// Creates the shadow's state directory (this root's identity) with each target's start
/// checkpoint; consumed inputs from the start's date on are dropped from it, so they are read
/// again whole (one of them may have changed since).
fn prepare_shadow(state_dir: &Path, shadow_state: &Path, targets: &[Target]) -> Result<()> {
    let err = || sink_err(format!("preparing {}", shadow_state.display()));
    manifest::init_state_dir(shadow_state).map_err(err())?;
    let id = manifest::root_id(state_dir).map_err(err())?;
    std::fs::write(shadow_state.join("ROOT_ID"), format!("{id}\n")).map_err(|source| {
        EngineError::state(format!("preparing {}", shadow_state.display()))(SinkError::Io {
            path: shadow_state.join("ROOT_ID"),
            source,
        })
    })?;
    for t in targets {
        if let Some(cp) = &t.start {
            let mut h = cp.header.clone();
            let until = h.processed_until;
            h.inputs.retain(|i| {
                date_of(&i.path).is_none_or(|d| date_lower_bound(d, OrderClock::Event) < until)
            });
            manifest::store(shadow_state, &h, &cp.state).map_err(err())?;
        }
    }
    Ok(())
}

/// The recomputation's run: the plan's parameters, every date, only the targets, into the
/// shadow, on this process alone.
fn run_shadow(
    plan: &RunPlan,
    targets: &[Target],
    what: &'static str,
    workers: usize,
) -> Result<Option<WorkerSummary>> {
    let mut config = plan.config.clone();
    config.filter.from = None;
    config.filter.to = None;
    let exec = ExecOptions {
        state_dir: Some(swap::shadow_state(&plan.root)),
        checkpoint_every: plan.exec.checkpoint_every,
        watch: None,
        on_late: crate::plan::LatePolicy::Record,
        restate: false,
        keep_checkpoints: plan.exec.keep_checkpoints,
        observer: plan.exec.observer.clone(),
        shadow: Some(ShadowRun {
            out_root: swap::shadow_out(&plan.root),
            markets: Arc::new(targets.iter().map(|t| t.market.clone()).collect()),
        }),
    };
    let shadow_plan = match plan_with(plan.root.clone(), config, exec) {
        Ok(p) => p,
        Err(EngineError::NoBronze { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let cluster = ClusterConfig {
        workers: workers.max(1),
        processes: 1,
        process: 0,
        addresses: Vec::new(),
    };
    let s = crate::graph::execute(shadow_plan, &cluster)?;
    if s.stopped {
        return Err(EngineError::RecomputeStopped { what });
    }
    if !s.errors.is_empty() {
        let errors: Vec<String> = s.errors.iter().map(|e| crate::error::chain(e)).collect();
        return Err(EngineError::RecomputeFailed {
            what,
            errors: errors.join("\n  "),
        });
    }
    Ok(Some(s))
}

/// The switch-over of one target (see the module docs for what is replaced).
fn journal(plan: &RunPlan, state_dir: &Path, t: &Target) -> Result<(SwapJournal, Recomputed)> {
    let (root, m) = (&plan.root, &t.market);
    let shadow_state = swap::shadow_state(root);
    let err = || sink_err(format!("preparing the switch-over of {m}"));
    let new = manifest::load(&shadow_state, &m.exchange, &m.symbol).map_err(err())?;
    let live = match t.window {
        Some(_) => manifest::load(state_dir, &m.exchange, &m.symbol).map_err(err())?,
        None => None,
    };
    let shadow_files: BTreeSet<String> =
        manifest::market_output_files(&swap::shadow_out(root), &m.exchange, &m.symbol)
            .into_iter()
            .collect();
    // A recomputed file identical to the live one is not moved: unchanged outputs keep their
    // mtimes (and a reader holding one open sees no change).
    let changed = |rel: &&String| {
        !same_bytes(
            &swap::shadow_out(root).join(rel.as_str()),
            &root.join(rel.as_str()),
        )
    };
    let live_files = manifest::market_output_files(root, &m.exchange, &m.symbol);
    let new_outputs: Vec<OutputFile> = new
        .as_ref()
        .map(|c| c.header.outputs.clone())
        .unwrap_or_default();
    let start_pu = t.start.as_ref().map(|c| c.header.processed_until);
    let mut j = SwapJournal {
        exchange: m.exchange.clone(),
        symbol: m.symbol.clone(),
        outputs_in: Vec::new(),
        outputs_removed: Vec::new(),
        history_in: Vec::new(),
        history_removed: Vec::new(),
        checkpoint: if new.is_some() {
            CheckpointSwap::Install
        } else {
            CheckpointSwap::Remove
        },
    };
    match (t.window, live) {
        (Some((from, to)), Some(live)) => {
            let in_window = |p: &str| date_of(p).is_some_and(|d| d >= from && d <= to);
            let mut h = live.header.clone();
            h.outputs.retain(|o| !in_window(&o.path));
            h.outputs
                .extend(new_outputs.iter().filter(|o| in_window(&o.path)).cloned());
            h.seq += 1;
            h.written_unix_ms = manifest::now_unix_ms();
            manifest::store(&shadow_state, &h, &live.state).map_err(err())?;
            j.checkpoint = CheckpointSwap::Install;
            let listed: BTreeSet<&str> = h.outputs.iter().map(|o| o.path.as_str()).collect();
            j.outputs_in = shadow_files
                .iter()
                .filter(|p| in_window(p) && listed.contains(p.as_str()))
                .filter(changed)
                .cloned()
                .collect();
            j.outputs_removed = live_files
                .into_iter()
                .filter(|p| in_window(p) && !listed.contains(p.as_str()))
                .collect();
            let from_t = date_lower_bound(from, order_clock(plan.config.clock));
            j.history_removed = history_after(state_dir, m, from_t)?;
            check_listed_exist(root, &h.outputs, &shadow_files, m)?;
        }
        _ => {
            let listed: BTreeSet<&str> = new_outputs.iter().map(|o| o.path.as_str()).collect();
            j.outputs_in = shadow_files
                .iter()
                .filter(|p| listed.contains(p.as_str()))
                .filter(changed)
                .cloned()
                .collect();
            j.outputs_removed = live_files
                .into_iter()
                .filter(|p| !listed.contains(p.as_str()))
                .collect();
            j.history_removed = history_after(state_dir, m, start_pu.unwrap_or(Nanos::MIN))?;
            j.history_in = history::list(&shadow_state, &m.exchange, &m.symbol)
                .map_err(err())?
                .into_iter()
                .map(|(t, _)| history::entry_name(t))
                .collect();
            check_listed_exist(root, &new_outputs, &shadow_files, m)?;
        }
    }
    let rec = Recomputed {
        market: m.clone(),
        start: start_pu,
        files_in: j.outputs_in.len(),
        files_removed: j.outputs_removed.len(),
    };
    Ok((j, rec))
}

/// Both files exist with the same bytes.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    ma.len() == mb.len() && std::fs::read(a).ok() == std::fs::read(b).ok()
}

/// Live history entry names of `m` after `t`.
fn history_after(state_dir: &Path, m: &Market, t: Nanos) -> Result<Vec<String>> {
    Ok(history::list(state_dir, &m.exchange, &m.symbol)
        .map_err(sink_err(format!("listing the checkpoint history of {m}")))?
        .into_iter()
        .filter(|(pu, _)| *pu > t)
        .map(|(pu, _)| history::entry_name(pu))
        .collect())
}

/// Every file the new checkpoint lists exists, live or in the shadow: checked before the
/// commit, so a switch-over never lists a file that is gone.
fn check_listed_exist(
    root: &Path,
    outputs: &[OutputFile],
    shadow_files: &BTreeSet<String>,
    m: &Market,
) -> Result<()> {
    for o in outputs {
        if !shadow_files.contains(&o.path) && !root.join(&o.path).exists() {
            return Err(EngineError::state(format!("preparing the switch-over of {m}"))(
                SinkError::Checkpoint {
                    path: root.join(&o.path),
                    detail: "listed by the history checkpoint the recomputation started from, but gone: rebuild the market whole (--rebuild without --from/--to)".into(),
                },
            ));
        }
    }
    Ok(())
}
