//! `bronze_source`: reads this worker's bronze partitions as columnar [`Chunk`]s, in batch mode
//! (the files present at start) or watch mode (new files as they appear), one code path.
//!
//! **Assignment.** A partition (dataset, market, date) is read by its market's worker
//! ([`crate::routing::Routing`], agreed by every worker before the run), so every file of a
//! partition is read by one worker, in name order, whatever the run mode, and its chunks reach
//! the market operator without crossing workers or processes.
//!
//! **Discovery.** Batch: one scan at start. Watch: a rescan every `poll` (and at once when the
//! `notify` watcher reports a change under `bronze/`). A file counts once it has its final name
//! (`*.parquet`, no leading dot: writers stage under a dot-name and rename in) and its mtime is at
//! least `settle` old (for writers that write in place). Files appearing later in an already
//! known partition are read as a continuation of it.
//!
//! **Timestamps.** Timely time is event time in nanoseconds (`u64`), coarse: one time per chunk
//! (thousands of rows), never one per record; every applied row's time is `>=` the time its
//! chunk was sent at.
//!
//! **Capability.** One capability, held at the least ordering time this source may still send:
//! the minimum over its unread row groups of their footer-statistics minimum (the partition's
//! date start before its footers are read), and in watch mode also at most the **watermark**:
//! per market, the start of the latest date any of its bronze files has (all earlier dates are
//! complete: files arrive date by date); over markets, the least such start among markets that
//! received a file within `idle` (an idle market stops holding the others back). Partitions are
//! read k-way by their bound, so all markets advance together.
//!
//! **Resume and lateness.** A market with a checkpoint has applied every row before
//! `processed_until`: rows of consumed files below it are replayed silently (partitions wholly
//! below it are not read at all); rows of files the checkpoint does not list that fall below it
//! — or below this source's capability when the file appeared (watch mode) — are **late**: never
//! applied, counted, written to `late.jsonl` in the state directory, and with `on_late = fail`
//! they stop the run. Skipped rows travel with their chunk (`Chunk::floor`) so row positions
//! stay dense; the receiver skips them.
//!
//! **Flow control.** The source pauses while the probe on the exchanged stream (the slowest
//! worker's watermark) is more than `lead` behind its own capability *and* more than
//! `max_in_flight_rows` of the rows it sent are at or above that probe's frontier (sent, not yet
//! releasable downstream). The row allowance bounds memory in rows, whatever the event rate, and
//! lets a worker keep working while another is busy (encoding a row group, say): with sparse
//! data, `lead` alone is only milliseconds of work and the workers ran in lockstep. `lead` is
//! always granted, so a source never waits on a capability its own market operator holds.
//!
//! **Stopping.** When the run's stop flag is set (SIGINT/SIGTERM) the capability is dropped at
//! once; the market operator then checkpoints without flushing open windows.

use crate::error::{EngineError, RunError};
use crate::state::RunState;
use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::Nanos;
use daedalus_sinks::manifest::{LateRecord, append_late, now_unix_ms};
use daedalus_sources::bronze::{
    BookTimeCarry, BronzeFileReader, Chunk, ChunkData, OrderClock, date_lower_bound, decode_batch,
    discover,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::OutputBuilderSession;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{ProbeHandle, Scope, Stream};
use timely::scheduling::Activator;

use crate::summary::WorkerSummary;

/// What to do with rows behind the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum LatePolicy {
    /// Count them, list the file in `late.jsonl`, go on.
    #[default]
    Record,
    /// Stop the run with an error naming the file.
    Fail,
}

/// Watch-mode settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Rescan period.
    pub poll: Duration,
    /// A file counts once its mtime is at least this old.
    pub settle: Duration,
    /// A market without a new file for this long stops holding the watermark back.
    pub idle: Duration,
    /// With `Some(d)`, a market's watermark also follows its newest file's last event time
    /// minus `d` (intraday files); `None`: the date rule only.
    pub delay: Option<Duration>,
}

/// Source tuning.
#[derive(Clone)]
pub(crate) struct SourceOptions {
    /// Ordering clock.
    pub clock: OrderClock,
    /// Rows per decoded batch.
    pub batch_rows: usize,
    /// Decode `trade_id` (only `silver/trades` writes it; without it the column is skipped).
    pub trade_ids: bool,
    /// Event-time lead over the slowest worker always allowed, in ns.
    pub lead: Nanos,
    /// Beyond `lead`, rows sent but not yet releasable downstream allowed before pausing.
    pub max_in_flight_rows: usize,
    /// Row groups read per activation before yielding.
    pub groups_per_activation: usize,
    /// Watch mode (None: batch).
    pub watch: Option<WatchOptions>,
    /// Late rows.
    pub on_late: LatePolicy,
    /// Market -> worker (partitions are read on their market's worker).
    pub routing: Arc<crate::routing::Routing>,
    /// Late rows stop reading (watch with `--restate`: the caller restates, then resumes).
    pub restart_on_late: bool,
    /// Partition filter (exchange, symbol, date).
    pub keep: Arc<dyn Fn(&str, &str, daedalus_model::time::Date) -> bool + Send + Sync>,
}

/// A decoded row group being sent chunk by chunk.
struct OpenGroup {
    /// Decoded chunks in stored order, with their position and file index.
    chunks: VecDeque<(u64, usize, ChunkData)>,
    /// Exact minimum ordering time of the remaining chunks (suffix minima, front first).
    suffix_min: VecDeque<Nanos>,
}

struct FileIn {
    path: PathBuf,
    rel: String,
    size: u64,
    ord: u32,
    /// Rows below are skipped.
    floor: Nanos,
    /// Rows below `floor` are late (not a replay).
    late_below_floor: bool,
    late_rows: u64,
    late_min: Nanos,
    next_row: u64,
}

struct PartState {
    market: u64,
    market_name: Market,
    dataset: Dataset,
    date: daedalus_model::time::Date,
    files: Vec<FileIn>,
    readers: Vec<BronzeFileReader>,
    /// (file index, row group, rows, min ts) in stored order.
    units: VecDeque<(usize, usize, usize, Nanos)>,
    opened: bool,
    carry: BookTimeCarry,
    open_group: Option<OpenGroup>,
    /// Least floor of the files (raises the bound: rows below it are never applied).
    floor: Nanos,
}

impl PartState {
    /// True while unread rows may lie below the floor (rows to skip as replayed, or to count as
    /// late): such a partition is read whatever the watermark, so late rows are always reported.
    fn has_rows_below_floor(&self, clock: OrderClock) -> bool {
        let raw = if !self.opened {
            Some(date_lower_bound(self.date, clock))
        } else {
            let g = self
                .open_group
                .as_ref()
                .and_then(|g| g.chunks.front().map(|_| Nanos::MIN));
            g.or_else(|| self.units.iter().map(|u| u.3).min())
        };
        self.files.iter().any(|f| f.late_below_floor) && raw.is_some_and(|r| r < self.floor)
    }

    fn lower_bound(&self, clock: OrderClock) -> Option<Nanos> {
        if !self.opened {
            return Some(date_lower_bound(self.date, clock).max(self.floor));
        }
        let g = self
            .open_group
            .as_ref()
            .and_then(|g| g.suffix_min.front().copied());
        let u = self.units.iter().map(|u| u.3).min();
        let b = match (g, u) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        b.map(|b| b.max(self.floor))
    }
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` UTC.
fn fmt_ts(t: Nanos) -> String {
    let d = daedalus_model::time::Date::of_nanos(t);
    let ns = t - d.start_nanos();
    let s = ns / 1_000_000_000;
    format!(
        "{d} {:02}:{:02}:{:02}.{:09}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ns % 1_000_000_000
    )
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Per-market watermark bookkeeping (watch mode).
struct Watermarks {
    /// Market key -> its progress.
    markets: BTreeMap<u64, MarketMark>,
    /// Datasets the run reads (for the delay rule).
    expected: usize,
}

struct MarketMark {
    /// Start of the latest date with a file of the market.
    date_start: Nanos,
    /// Per dataset: greatest ordering time its files hold (footer statistics), if known.
    max_time: BTreeMap<u8, Nanos>,
    /// When a new file of the market was last seen.
    last_file: Instant,
}

impl MarketMark {
    /// This market's watermark: the latest date's start, or with `delay` also `least over its
    /// datasets of (newest time − delay)` (a dataset's files may lag at most `delay` behind its
    /// newest file).
    fn watermark(&self, delay: Option<Duration>, expected: usize) -> Nanos {
        // A dataset the run reads but the market has no file of yet may still bring rows from
        // the date's start: until every one has shown up, only the date rule applies.
        let newest = if self.max_time.len() >= expected {
            self.max_time.values().min().copied()
        } else {
            None
        };
        match (delay, newest) {
            (Some(d), Some(m)) => self
                .date_start
                .max(m.saturating_sub(d.as_nanos().min(i64::MAX as u128) as i64)),
            _ => self.date_start,
        }
    }
}

impl Watermarks {
    /// The run's watermark: the least market watermark among markets with a file within `idle`
    /// (an idle market stops holding the others back); the greatest if all are idle.
    fn watermark(&self, w: WatchOptions) -> Option<Nanos> {
        let now = Instant::now();
        let expected = self.expected;
        let active = self
            .markets
            .values()
            .filter(|m| now.duration_since(m.last_file) < w.idle)
            .map(|m| m.watermark(w.delay, expected))
            .min();
        active.or_else(|| {
            self.markets
                .values()
                .map(|m| m.watermark(w.delay, expected))
                .max()
        })
    }
}

struct Scanner {
    known: HashSet<PathBuf>,
    /// (dataset, market key, date) -> index into `parts` of the latest state of that partition.
    files_in_partition: BTreeMap<(Dataset, u64, i64), u32>,
    marks: Watermarks,
}

/// The source's output handle.
type Output<'a> = OutputBuilderSession<'a, u64, CapacityContainerBuilder<Vec<Chunk>>>;

/// Builds the source operator; errors are recorded in `summary` and stop this source.
pub(crate) fn bronze_source<'s>(
    scope: Scope<'s, u64>,
    state: Arc<RunState>,
    opts: SourceOptions,
    probe: ProbeHandle<u64>,
    summary: Rc<RefCell<WorkerSummary>>,
) -> Stream<'s, u64, Vec<Chunk>> {
    let index = scope.index();
    source(scope, "BronzeSource", move |cap, info| {
        // Watch mode: wake on filesystem events under bronze/ (polling stays the fallback).
        let watcher = opts.watch.and_then(|_| {
            use notify::Watcher;
            let sync = scope.worker().sync_activator_for(info.address.to_vec());
            let mut w = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
                let _ = sync.activate();
            })
            .ok()?;
            let dir = state.root.join("bronze");
            let _ = std::fs::create_dir_all(&dir);
            w.watch(&dir, notify::RecursiveMode::Recursive).ok()?;
            Some(w)
        });
        let mut op = SourceOp {
            index,
            activator: scope.activator_for(info.address),
            scanner: Scanner {
                known: HashSet::new(),
                files_in_partition: BTreeMap::new(),
                marks: Watermarks {
                    markets: BTreeMap::new(),
                    expected: state.datasets.len(),
                },
            },
            state,
            opts,
            probe,
            summary,
            cap: Some(cap),
            parts: Vec::new(),
            last_scan: None,
            first: true,
            in_flight: VecDeque::new(),
            in_flight_rows: 0,
        };
        move |output: &mut Output<'_>| {
            let _keep_watcher_alive = &watcher;
            op.step(output);
        }
    })
}

/// The source operator's state between activations.
struct SourceOp {
    index: usize,
    state: Arc<RunState>,
    opts: SourceOptions,
    probe: ProbeHandle<u64>,
    summary: Rc<RefCell<WorkerSummary>>,
    activator: Activator,
    /// Held at the least time this source may still send; `None` once done or failed.
    cap: Option<Capability<u64>>,
    parts: Vec<PartState>,
    scanner: Scanner,
    last_scan: Option<Instant>,
    first: bool,
    /// Chunks sent at or above the probe's frontier: (time sent, rows), in send order.
    in_flight: VecDeque<(u64, usize)>,
    in_flight_rows: usize,
}

impl SourceOp {
    /// One activation: discover, wait (flow control) or read, then hold the capability at the
    /// new bound and schedule the next activation. An error drops the capability.
    fn step(&mut self, output: &mut Output<'_>) {
        if self.cap.is_none() {
            return;
        }
        if self.state.halting() {
            self.cap = None;
            return;
        }
        let res = self.discover().and_then(|()| {
            if self.paused() {
                self.activator.activate_after(Duration::from_millis(1));
                return Ok(());
            }
            self.read(output)?;
            self.parts
                .retain(|p| !p.opened || p.open_group.is_some() || !p.units.is_empty());
            self.reschedule();
            Ok(())
        });
        if let Err(e) = res {
            self.summary.borrow_mut().fail(e);
            self.cap = None;
        }
    }

    /// Scans bronze when due (once in batch mode, every `poll` in watch mode); the first scan
    /// moves the capability to the least bound, so downstream frontiers mean event time at once.
    fn discover(&mut self) -> Result<(), RunError> {
        let scan_due = match (self.opts.watch, self.last_scan) {
            (_, None) => true,
            (Some(w), Some(t)) => t.elapsed() >= w.poll,
            (None, Some(_)) => false,
        };
        if !scan_due {
            return Ok(());
        }
        self.last_scan = Some(Instant::now());
        let c = self.cap.as_mut().expect("checked by step");
        let floor_now = if self.first {
            Nanos::MIN
        } else {
            *c.time() as Nanos
        };
        let scanned = scan(
            &self.state,
            &self.opts,
            self.index,
            floor_now,
            &mut self.scanner,
            &mut self.parts,
        )?;
        if !scanned {
            return Ok(()); // an ingest is committing: next poll
        }
        if std::mem::take(&mut self.first)
            && let Some(lb) = bound(&self.parts, &self.scanner, &self.opts)
        {
            c.downgrade(&(lb.max(0) as u64).max(*c.time()));
        }
        Ok(())
    }

    /// Flow control: true while the slowest worker is more than `lead` behind us and too many of
    /// our rows wait downstream (see the module docs).
    fn paused(&mut self) -> bool {
        let me = *self.cap.as_ref().expect("checked by step").time();
        let lead = self.opts.lead as u64;
        let (behind, least) = self.probe.with_frontier(|f| {
            (
                f.iter().all(|t| t.saturating_add(lead) < me),
                f.iter().copied().min(),
            )
        });
        // Sent times are not monotone across partitions: drop every released entry.
        let rows = &mut self.in_flight_rows;
        self.in_flight.retain(|&(t, n)| {
            let keep = least.is_some_and(|l| t >= l);
            if !keep {
                *rows -= n;
            }
            keep
        });
        behind && self.in_flight_rows > self.opts.max_in_flight_rows
    }

    /// The partition with the least remaining lower bound (ties: assignment order), never
    /// beyond the watermark unless it has rows below its floor to report.
    fn next_partition(&self) -> Option<usize> {
        let clock = self.opts.clock;
        let wm = self
            .opts
            .watch
            .and_then(|w| self.scanner.marks.watermark(w));
        self.parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.lower_bound(clock).map(|lb| (i, lb, p)))
            .filter(|&(_, lb, p)| wm.is_none_or(|w| lb < w) || p.has_rows_below_floor(clock))
            .map(|(i, lb, _)| (i, lb))
            .min_by_key(|&(i, lb)| (lb, i))
            .map(|(i, _)| i)
    }

    /// Reads up to `groups_per_activation` row groups' worth of chunks: opens partitions, sends
    /// decoded chunks at their least time (never below the capability), decodes the next row
    /// group, reports late rows once a file is fully read.
    fn read(&mut self, output: &mut Output<'_>) -> Result<(), RunError> {
        let mut budget = self.opts.groups_per_activation;
        while budget > 0 {
            let Some(pi) = self.next_partition() else {
                break;
            };
            let p = &mut self.parts[pi];
            tracing::debug!(
                partition = %p.market_name,
                dataset = p.dataset.name(),
                opened = p.opened,
                units = p.units.len(),
                "source step"
            );
            if !p.opened {
                open_partition(p, &self.opts)?;
                self.summary.borrow_mut().files_opened += p.readers.len() as u64;
                self.state.observer.files_opened(p.readers.len() as u64);
                continue;
            }
            if let Some(g) = p.open_group.as_mut() {
                if let Some((pos0, fi, data)) = g.chunks.pop_front() {
                    g.suffix_min.pop_front();
                    if g.chunks.is_empty() {
                        p.open_group = None;
                    }
                    budget -= 1;
                    self.send(output, pi, pos0, fi, data);
                    continue;
                }
                p.open_group = None;
            }
            let Some((fi, gi, _rows, _min)) = p.units.pop_front() else {
                continue;
            };
            read_unit(p, fi, gi, &self.opts, &self.state, &self.summary)?;
            // Late rows are reported once their file is fully read.
            if !p.units.iter().any(|u| u.0 == fi) {
                report_late(p, fi, &self.state, &self.opts, &self.summary)?;
            }
        }
        Ok(())
    }

    /// Sends one decoded chunk of partition `pi` at its least time (never below the
    /// capability), then lowers the capability to the new bound.
    fn send(&mut self, output: &mut Output<'_>, pi: usize, pos0: u64, fi: usize, data: ChunkData) {
        let c = self.cap.as_mut().expect("checked by step");
        let p = &self.parts[pi];
        let f = &p.files[fi];
        let min = data.ts().iter().copied().min().unwrap_or(0);
        let send_at = (min.max(0) as u64).max(*c.time());
        self.in_flight.push_back((send_at, data.len()));
        self.in_flight_rows += data.len();
        output.session(&c.delayed(&send_at)).give(Chunk {
            market: p.market,
            pos0,
            file: f.rel.clone(),
            file_size: f.size,
            floor: f.floor,
            data,
        });
        if let Some(lb) = bound(&self.parts, &self.scanner, &self.opts) {
            let t = (lb.max(0) as u64).max(*c.time());
            c.downgrade(&t);
        }
    }

    /// Holds the capability at the new bound and schedules the next activation: at once while
    /// something is readable, after `poll` in watch mode; drops it when a batch run is done.
    fn reschedule(&mut self) {
        let c = self.cap.as_mut().expect("checked by step");
        let opts = &self.opts;
        match bound(&self.parts, &self.scanner, opts) {
            Some(lb) => {
                let t = (lb.max(0) as u64).max(*c.time());
                c.downgrade(&t);
                let wm = opts.watch.and_then(|w| self.scanner.marks.watermark(w));
                let readable = self.parts.iter().any(|p| {
                    p.has_rows_below_floor(opts.clock)
                        || p.lower_bound(opts.clock)
                            .is_some_and(|b| wm.is_none_or(|w| b < w))
                });
                if readable {
                    self.activator.activate();
                } else if let Some(w) = opts.watch {
                    self.activator.activate_after(w.poll);
                }
            }
            // Nothing known yet: wait for files.
            None if opts.watch.is_some() => {
                self.activator
                    .activate_after(opts.watch.expect("watch").poll);
            }
            None => self.cap = None,
        }
    }
}

/// The least time this source may still send: its unread data, capped by the watermark.
fn bound(parts: &[PartState], scanner: &Scanner, opts: &SourceOptions) -> Option<Nanos> {
    let data = parts.iter().filter_map(|p| p.lower_bound(opts.clock)).min();
    match opts.watch {
        None => data,
        Some(w) => {
            let wm = scanner.marks.watermark(w);
            match (data, wm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
    }
}

fn mtime_age(p: &Path) -> Option<Duration> {
    let m = std::fs::metadata(p).ok()?.modified().ok()?;
    Some(
        SystemTime::now()
            .duration_since(m)
            .unwrap_or(Duration::ZERO),
    )
}

/// The bronze lock, shared, for one listing: a batch run waits for an ingest's commit to end,
/// a watch run gets `None` while one is under way.
fn bronze_listing_lock(
    root: &Path,
    opts: &SourceOptions,
) -> Result<Option<daedalus_sinks::lock::LockGuard>, RunError> {
    use daedalus_sinks::lock::{Wait, bronze_read};
    let wait = if opts.watch.is_some() {
        Wait::Refuse
    } else {
        Wait::Block
    };
    bronze_read(root, wait).map_err(|source| {
        RunError::Engine(Box::new(EngineError::Lock {
            what: "taking the bronze lock to list bronze".into(),
            source,
        }))
    })
}

/// Lists bronze, registers markets, updates watermarks and adds this worker's new files. The
/// listing holds the bronze lock (shared), so it never sees part of an ingest's commit: a batch
/// run waits for the commit, a watch run skips this scan (`Ok(false)`) and tries at the next poll.
fn scan(
    state: &RunState,
    opts: &SourceOptions,
    index: usize,
    floor_now: Nanos,
    sc: &mut Scanner,
    parts: &mut Vec<PartState>,
) -> Result<bool, RunError> {
    let Some(_bronze) = bronze_listing_lock(&state.root, opts)? else {
        return Ok(false);
    };
    let keep = opts.keep.clone();
    let found = discover(&state.root, &state.datasets, |e, s, d| keep(e, s, d))
        .map_err(RunError::bronze("discovering bronze"))?;
    let now = Instant::now();
    for p in found {
        let market = Market {
            exchange: p.exchange.clone(),
            symbol: p.symbol.clone(),
        };
        state.register(&market)?;
        let key = market.hash64();
        let mut new_files = Vec::new();
        for f in &p.files {
            if sc.known.contains(f) {
                continue;
            }
            if let Some(w) = opts.watch
                && mtime_age(f).is_none_or(|a| a < w.settle)
            {
                continue; // not settled yet: next scan
            }
            sc.known.insert(f.clone());
            new_files.push(f.clone());
        }
        if new_files.is_empty() {
            continue;
        }
        let start = p.date.start_nanos();
        // With a delay, the newest event time of the market's files (footer statistics).
        let mut newest: Option<Nanos> = None;
        if opts.watch.is_some_and(|w| w.delay.is_some()) {
            for f in &new_files {
                let r = BronzeFileReader::open(
                    f,
                    p.dataset,
                    opts.clock,
                    date_lower_bound(p.date, opts.clock),
                )
                .map_err(RunError::bronze("reading bronze footers"))?;
                newest = newest.max(r.max_time());
            }
        }
        let e = sc.marks.markets.entry(key).or_insert(MarketMark {
            date_start: start,
            max_time: BTreeMap::new(),
            last_file: now,
        });
        e.date_start = e.date_start.max(start);
        if let Some(n) = newest {
            let m = e.max_time.entry(p.dataset as u8).or_insert(n);
            *m = (*m).max(n);
        }
        e.last_file = now;
        if opts.routing.worker_of(key) != index {
            continue;
        }
        let pkey = (p.dataset, key, p.date.days_since_epoch());
        let already = sc.files_in_partition.entry(pkey).or_insert(0);
        let files = file_ins(state, &market, p.date, new_files, already, floor_now)?;
        let floor = files.iter().map(|f| f.floor).min().unwrap_or(Nanos::MIN);
        parts.push(PartState {
            market: key,
            market_name: market,
            dataset: p.dataset,
            date: p.date,
            files,
            readers: Vec::new(),
            units: VecDeque::new(),
            opened: false,
            carry: BookTimeCarry::default(),
            open_group: None,
            floor,
        });
    }
    Ok(true)
}

/// The new files of a partition, with their floors: a file the market's checkpoint consumed
/// replays below `processed_until`; any other file's rows below the checkpoint, or below
/// `floor_now` (the capability when it appeared), are late — a consumed file whose size changed
/// too.
fn file_ins(
    state: &RunState,
    market: &Market,
    date: daedalus_model::time::Date,
    new_files: Vec<PathBuf>,
    already: &mut u32,
    floor_now: Nanos,
) -> Result<Vec<FileIn>, RunError> {
    let resume = state.resume.get(&market.hash64());
    let mut files = Vec::new();
    for f in new_files {
        let rel = relative(&state.root, &f);
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        let consumed = resume.and_then(|r| r.inputs.get(&rel).map(|s| (r, *s)));
        let (floor, late_below) = match consumed {
            Some((r, s)) if s == size => (r.processed_until(), false),
            _ => {
                if let Some((_, was)) = consumed {
                    // Replaced under the checkpoint (issue 14): read as a new file, so its rows
                    // behind the checkpoint are late (reported, and recomputed by `--restate`).
                    tracing::warn!(
                        "{}: bronze file {} was consumed at {was} bytes and is now {size} bytes: \
                         its rows behind the checkpoint are late (run --restate to recompute)",
                        market,
                        f.display()
                    );
                }
                (
                    resume
                        .map(|r| r.processed_until())
                        .unwrap_or(Nanos::MIN)
                        .max(floor_now),
                    true,
                )
            }
        };
        let ord = ((date.days_since_epoch() as u32 & 0xffff) << 16) | (*already & 0xffff);
        *already += 1;
        files.push(FileIn {
            path: f,
            rel,
            size,
            ord,
            floor,
            late_below_floor: late_below,
            late_rows: 0,
            late_min: Nanos::MAX,
            next_row: 0,
        });
    }
    Ok(files)
}

/// Reads the footers; a partition wholly replayed (every file consumed, every row below the
/// floor) is not read at all.
fn open_partition(p: &mut PartState, opts: &SourceOptions) -> Result<(), RunError> {
    let lb = date_lower_bound(p.date, opts.clock);
    let mut max_all: Option<Nanos> = Some(Nanos::MIN);
    for (fi, f) in p.files.iter().enumerate() {
        let mut r = BronzeFileReader::open(&f.path, p.dataset, opts.clock, lb)
            .map_err(RunError::bronze("opening bronze"))?;
        if !opts.trade_ids {
            r.skip_trade_ids();
        }
        for (gi, &(rows, min)) in r.groups().iter().enumerate() {
            p.units.push_back((fi, gi, rows, min));
        }
        max_all = match (max_all, r.max_time()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        p.readers.push(r);
    }
    p.opened = true;
    let all_replay = p.files.iter().all(|f| !f.late_below_floor);
    if all_replay && max_all.is_some_and(|m| m < p.floor) {
        p.units.clear();
    }
    Ok(())
}

fn read_unit(
    p: &mut PartState,
    fi: usize,
    gi: usize,
    opts: &SourceOptions,
    state: &RunState,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), RunError> {
    let reader = &p.readers[fi];
    let batches = reader
        .read_group(gi, opts.batch_rows)
        .map_err(RunError::bronze("reading bronze"))?;
    let mut chunks = VecDeque::with_capacity(batches.len());
    for b in batches {
        let f = &mut p.files[fi];
        let first = f.next_row;
        f.next_row += b.num_rows() as u64;
        let data = decode_batch(
            p.dataset,
            &b,
            reader.path(),
            first,
            opts.clock,
            &mut p.carry,
        )
        .map_err(RunError::bronze("decoding bronze"))?;
        summary.borrow_mut().rows_in[p.dataset as usize] += data.len() as u64;
        state
            .observer
            .rows_in(p.dataset, &p.market_name, data.len() as u64);
        let below = data.ts().iter().filter(|&&t| t < f.floor).count() as u64;
        if below > 0 && f.late_below_floor {
            f.late_rows += below;
            let m = data
                .ts()
                .iter()
                .copied()
                .filter(|&t| t < f.floor)
                .min()
                .unwrap_or(Nanos::MAX);
            f.late_min = f.late_min.min(m);
        }
        if !data.is_empty() && (below as usize) < data.len() {
            chunks.push_back(((u64::from(f.ord) << 32) | first, fi, data));
        }
    }
    let mut suffix_min: VecDeque<Nanos> = VecDeque::with_capacity(chunks.len());
    let mut m = Nanos::MAX;
    for (_, fi, d) in chunks.iter().rev() {
        let floor = p.files[*fi].floor;
        // Skipped rows do not bound the capability: they are never applied.
        let cm = d
            .ts()
            .iter()
            .copied()
            .filter(|&t| t >= floor)
            .min()
            .unwrap_or(Nanos::MAX);
        m = m.min(cm);
        suffix_min.push_front(m);
    }
    if !chunks.is_empty() {
        p.open_group = Some(OpenGroup { chunks, suffix_min });
    }
    Ok(())
}

fn report_late(
    p: &mut PartState,
    fi: usize,
    state: &RunState,
    opts: &SourceOptions,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), RunError> {
    let f = &mut p.files[fi];
    if f.late_rows == 0 {
        return Ok(());
    }
    let late = RunError::Late {
        file: f.path.clone(),
        rows: f.late_rows,
        market: p.market_name.clone(),
        watermark: fmt_ts(f.floor),
    };
    {
        let mut s = summary.borrow_mut();
        s.count("late_rows", f.late_rows);
        s.count("late_files", 1);
    }
    state.observer.late_file(&p.market_name, f.late_rows);
    append_late(
        &state.state_dir,
        &LateRecord {
            file: f.rel.clone(),
            market: p.market_name.to_string(),
            late_rows: f.late_rows,
            watermark: f.floor,
            min_ts: f.late_min,
            detected_unix_ms: now_unix_ms(),
        },
    )
    .map_err(RunError::sink("recording late rows"))?;
    f.late_rows = 0;
    if opts.restart_on_late {
        state.restart.store(true, Ordering::Relaxed);
    }
    match opts.on_late {
        LatePolicy::Record => {
            let msg = late.to_string();
            let msg = msg.strip_suffix(" (--on-late fail)").unwrap_or(&msg);
            tracing::warn!(
                "{msg}; listed in {}",
                state.state_dir.join("late.jsonl").display()
            );
            Ok(())
        }
        LatePolicy::Fail => Err(late),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(delay: Option<Duration>) -> WatchOptions {
        WatchOptions {
            poll: Duration::from_millis(10),
            settle: Duration::ZERO,
            idle: Duration::from_secs(60),
            delay,
        }
    }

    #[test]
    fn watermark_is_the_least_active_market_and_idle_markets_stop_holding_back() {
        let day = daedalus_model::time::NANOS_PER_DAY;
        let now = Instant::now();
        let mut w = Watermarks {
            markets: BTreeMap::new(),
            expected: 1,
        };
        w.markets.insert(
            1,
            MarketMark {
                date_start: 10 * day,
                max_time: [(0u8, 10 * day + 5_000), (2u8, 10 * day + 7_000)].into(),
                last_file: now,
            },
        );
        w.markets.insert(
            2,
            MarketMark {
                date_start: 11 * day,
                max_time: [(0u8, 11 * day + 9_000)].into(),
                last_file: now,
            },
        );
        // Date rule: the least latest-date start.
        assert_eq!(w.watermark(opts(None)), Some(10 * day));
        // With a delay: newest event time minus the delay, never before the date start.
        assert_eq!(
            w.watermark(opts(Some(Duration::from_nanos(1_000)))),
            Some(10 * day + 4_000)
        );
        assert_eq!(
            w.watermark(opts(Some(Duration::from_secs(3600)))),
            Some(10 * day)
        );
        // Market 1 idle: market 2 alone decides.
        w.markets.get_mut(&1).unwrap().last_file = now - Duration::from_secs(120);
        assert_eq!(w.watermark(opts(None)), Some(11 * day));
        // All idle: the greatest.
        w.markets.get_mut(&2).unwrap().last_file = now - Duration::from_secs(120);
        assert_eq!(w.watermark(opts(None)), Some(11 * day));
    }
}
