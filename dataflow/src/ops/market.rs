//! `market_features`: the per-market stateful operator.
//!
//! **Input.** Bronze [`Chunk`]s exchanged by their market's worker (the routing table agreed
//! from worker 0, the stable hash for markets it does not know; see [`crate::routing`]), so
//! every row of a market reaches one worker whatever the worker or process count.
//!
//! **Timestamps.** Timely time is event (ordering) time in nanoseconds, one per chunk: a chunk
//! arrives at a time `<=` each of its rows' ordering times.
//!
//! **Order.** Each chunk is kept as a sorted run (sorted once on arrival if its rows are out of
//! order). When the input frontier passes time `f`, every row with ordering time `< f` has
//! arrived; those rows are merged across the market's runs ([`crate::merge`]) in the total
//! order of CONTRACT §3 —
//! `(time, dataset rank book < ticker < trades, ts_recv, seq, row position)` — and fed to the
//! market's [`MarketPipeline`]. The result is independent of worker count, batch size and file
//! split.
//!
//! **Capability.** One capability per operator, held at `min(f, least ts_open of any open
//! interval or bar)`: the least time at which output may still be due. Output rows and
//! checkpoint messages are emitted at the held capability.
//!
//! **Checkpoints.** When the frontier passes an aligned multiple `b` of the checkpoint period,
//! exactly the rows with time `< b` are released, and every market that applied rows since its
//! last checkpoint sends its serialized state (`processed_until = b`) to the sink, which commits
//! it with the outputs it covers; then the rest is released. At the end of input, every market
//! touched in this run is checkpointed with its state *before* the end flush, then finished (open
//! bars/intervals emitted, committed as provisional). When the frontier empties because the run
//! was stopped (SIGINT/SIGTERM), markets are checkpointed at the last released bound and nothing
//! is flushed. A market restored from a checkpoint skips rows below each chunk's `floor`
//! (replayed or late, see the source).
//!
//! **Cross points.** For a market of a `silver/cross` group, every emitted interval row also
//! leaves as a [`SinkMsg::Points`] message at the same held capability, which is at most the
//! interval's `ts_open` (or, for a market's first interval, its first chunk's time, below the
//! interval's end): the cross dataflow ([`crate::ops::cross`]) stamps each point with its
//! `ts_close`, never below the message time. A resumed market's intervals that were still
//! open at its checkpoint are emitted only after its first new row, whose time is at or after
//! the checkpoint; so an operator that finishes resumed markets of a group opens them before any
//! input and keeps its initial capability (time 0), downgraded like any other to their open
//! intervals' `ts_open`. Otherwise such a point would be stamped at a time the cross
//! dataflow's frontier had already passed, and its row lost (the SIGKILL gap of issue 18).
//!
//! **VPIN `adv` rule.** Before a market's first trade of a UTC day, V for that day is asked from
//! the run's [`crate::state::AdvOracle`] (bronze trades of the 30 previous days present now).

use crate::error::RunError;
use crate::merge::{MergeRun, merge_segments};
use crate::ops::sink::{CheckpointMsg, PointsMsg, SinkMsg};
use crate::state::RunState;
use crate::summary::WorkerSummary;
use daedalus_model::market::Market;
use daedalus_model::time::{NANOS_PER_DAY, Nanos};
use daedalus_operators::PipelineError;
use daedalus_operators::market::{MarketParams, MarketPipeline};
use daedalus_sinks::manifest::InputFile;
use daedalus_sinks::silver::{OutBatch, SilverBatcher};
use daedalus_sources::bronze::{Chunk, ChunkData};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::operator::Operator;

/// Sort key of a row: (time, rank, ts_recv, seq, position).
type Key = (Nanos, u8, Nanos, Option<u64>, u64);

/// One chunk as a sorted run of the k-way merge ([`crate::merge`]).
struct Run {
    chunk: Chunk,
    /// Row order when the chunk was not already sorted.
    order: Option<Vec<u32>>,
    cursor: usize,
}

impl Run {
    fn new(chunk: Chunk) -> Self {
        let n = chunk.data.len();
        let mut run = Run {
            chunk,
            order: None,
            cursor: 0,
        };
        // Positions ascend within a chunk, so only the leading key fields decide.
        // Folds without short-circuit so the checks vectorize (a chunk is almost always sorted).
        let sorted = match &run.chunk.data {
            ChunkData::Book(c) => c.ts.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1])),
            ChunkData::Trades(c) => {
                let (ts, tr) = (c.ts(), &c.ts_recv[..]);
                (1..n).fold(true, |ok, i| {
                    ok & ((ts[i - 1] < ts[i]) | ((ts[i - 1] == ts[i]) & (tr[i - 1] <= tr[i])))
                })
            }
            ChunkData::Ticker(_) => (1..n).all(|i| run.raw_key(i - 1) <= run.raw_key(i)),
        };
        if !sorted {
            let mut idx: Vec<u32> = (0..n as u32).collect();
            idx.sort_by_key(|&i| run.raw_key(i as usize));
            run.order = Some(idx);
        }
        run
    }

    #[inline]
    fn raw_key(&self, i: usize) -> Key {
        let pos = self.chunk.pos0 + i as u64;
        match &self.chunk.data {
            // Book rows keep stored (application) order within equal effective time
            // (CONTRACT §9.2–9.3): a diff recorded before the snapshot line but applied after it
            // has an earlier ts_recv, and must not be sorted ahead of the snapshot.
            ChunkData::Book(c) => (c.ts[i], 0, 0, None, pos),
            ChunkData::Ticker(c) => (c.ts[i], 1, c.ts_recv[i], c.seq[i], pos),
            ChunkData::Trades(c) => (c.ts()[i], 2, c.ts_recv[i], None, pos),
        }
    }

    /// The chunk row at merge position `k`.
    #[inline]
    fn row(&self, k: usize) -> usize {
        self.order.as_ref().map_or(k, |o| o[k] as usize)
    }
}

impl MergeRun for Run {
    type Key = Key;

    #[inline]
    fn len(&self) -> usize {
        self.chunk.data.len()
    }

    #[inline]
    fn key_at(&self, k: usize) -> Key {
        self.raw_key(self.row(k))
    }

    #[inline]
    fn cursor(&self) -> usize {
        self.cursor
    }

    #[inline]
    fn set_cursor(&mut self, k: usize) {
        self.cursor = k;
    }
}

struct MarketState {
    market: Market,
    runs: Vec<Run>,
    pipeline: MarketPipeline,
    batcher: SilverBatcher,
    last_key: Option<Key>,
    /// Greatest ordering time applied.
    max_ts: Option<Nanos>,
    /// Rows applied since the last checkpoint.
    dirty: bool,
    /// Rows applied in this run (the end-of-input flush runs only then).
    touched: bool,
    /// The restored checkpoint has provisional outputs (the previous run's end flush).
    has_provisional: bool,
    /// Bronze files seen since the last checkpoint: path -> size.
    new_inputs: BTreeMap<String, u64>,
    /// UTC day of the last trade (for the `adv` V schedule).
    trade_day: Option<i64>,
}

/// What a market checkpoint stores besides the manifest.
#[derive(Serialize, Deserialize)]
struct SavedMarket {
    pipeline: MarketPipeline,
    last_key: Option<Key>,
    max_ts: Option<Nanos>,
}

/// Decodes a checkpoint's state as a resumed run does (the fuzz targets, issue 16).
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_saved(state: &[u8]) -> Result<(), bincode::Error> {
    bincode::deserialize::<SavedMarket>(state).map(|_| ())
}

/// Checkpoint settings of the market operator.
#[derive(Clone)]
pub(crate) struct CheckpointPolicy {
    /// Event-time period of checkpoints (aligned to multiples of it); 0: only at the end and on
    /// stop.
    pub every: Nanos,
    /// Markets this operator owns and the run selects: at the end of a batch input, such a
    /// market resumed from a checkpoint without its end flush (a stopped watch run) is finished
    /// even when no row of it is left to read, as an uninterrupted batch run finishes it.
    pub finishes: Arc<dyn Fn(&Market) -> bool + Send + Sync>,
    /// Markets of a `silver/cross` group: `Some(write_intervals)` when the market's interval
    /// points go to the cross dataflow (as [`SinkMsg::Points`]), with whether its
    /// `silver/intervals` rows are still written.
    pub cross_tap: Arc<dyn Fn(&Market) -> Option<bool> + Send + Sync>,
}

fn new_market(
    key: u64,
    state: &RunState,
    params_for: &dyn Fn(&Market) -> MarketParams,
    policy: &CheckpointPolicy,
) -> Result<(MarketState, SinkMsg), RunError> {
    let market = state.market(key)?;
    state.ensure_recovered(&market)?;
    let params = params_for(&market);
    let mut batcher = SilverBatcher::new(&params.output_layout());
    if let Some(write_intervals) = (policy.cross_tap)(&market) {
        batcher = batcher.with_cross_tap(write_intervals);
    }
    let resume = state.resume.get(&key);
    let (pipeline, last_key, max_ts, has_provisional) = match resume {
        Some(r) => {
            let saved: SavedMarket =
                bincode::deserialize(&r.checkpoint.state).map_err(|source| {
                    RunError::StateDecode {
                        path: daedalus_sinks::manifest::checkpoint_path(
                            &state.state_dir,
                            &market.exchange,
                            &market.symbol,
                        ),
                        market: market.clone(),
                        source,
                    }
                })?;
            let prov = r.checkpoint.header.outputs.iter().any(|o| o.provisional);
            let mut pipeline = saved.pipeline;
            let dups = r.checkpoint.header.quality.get("duplicate_trades");
            pipeline.restore_duplicate_trades(dups.copied().unwrap_or(0));
            (pipeline, saved.last_key, saved.max_ts, prov)
        }
        None => (MarketPipeline::new(params)?, None, None, false),
    };
    let open = SinkMsg::Open {
        market: market.clone(),
        header: resume.map(|r| Box::new(r.checkpoint.header.clone())),
    };
    Ok((
        MarketState {
            market,
            runs: Vec::new(),
            pipeline,
            batcher,
            last_key,
            max_ts,
            dirty: false,
            touched: false,
            has_provisional,
            new_inputs: BTreeMap::new(),
            trade_day: None,
        },
        open,
    ))
}

/// [`SavedMarket`] by reference: checkpoints serialize the live state without cloning it
/// (bincode writes the same bytes for a reference as for the owned value).
#[derive(Serialize)]
struct SavedMarketRef<'a> {
    pipeline: &'a MarketPipeline,
    last_key: Option<Key>,
    max_ts: Option<Nanos>,
}

fn checkpoint_msg(st: &mut MarketState, processed_until: Nanos, finished: bool) -> SinkMsg {
    let saved = SavedMarketRef {
        pipeline: &st.pipeline,
        last_key: st.last_key,
        max_ts: st.max_ts,
    };
    let state = bincode::serialize(&saved).expect("market state serializes");
    let mut quality = BTreeMap::new();
    st.pipeline.counters().add_to(&mut quality);
    let drop_provisional = std::mem::take(&mut st.has_provisional);
    st.dirty = false;
    SinkMsg::Checkpoint(Box::new(CheckpointMsg {
        market: st.market.hash64(),
        processed_until,
        state,
        new_inputs: std::mem::take(&mut st.new_inputs)
            .into_iter()
            .map(|(path, size)| InputFile { path, size })
            .collect(),
        quality,
        finished,
        drop_provisional,
    }))
}

/// Builds the per-market operator.
pub(crate) fn market_features<'s>(
    stream: Stream<'s, u64, Vec<Chunk>>,
    state: Arc<RunState>,
    params_for: Arc<dyn Fn(&Market) -> MarketParams + Send + Sync>,
    policy: CheckpointPolicy,
    summary: Rc<RefCell<WorkerSummary>>,
) -> Stream<'s, u64, Vec<SinkMsg>> {
    stream.unary_frontier(Pipeline, "MarketFeatures", move |initial, _info| {
        let mut op = MarketOp {
            state,
            params_for,
            policy,
            summary,
            markets: BTreeMap::new(),
            out: Vec::new(),
            batches: Vec::new(),
            released: None,
            last_boundary: Nanos::MIN,
            failed: false,
            opened_early: BTreeSet::new(),
        };
        // Resumed cross markets are opened before any input, holding the initial capability
        // (time 0) down to their open intervals' `ts_open` (see the module docs).
        op.open_resumed_cross();
        let mut cap: Option<Capability<u64>> = (!op.opened_early.is_empty()).then_some(initial);
        move |(input, frontier), output| {
            input.for_each_stamp(|time, data| {
                let t = *time.least().expect("a stamp has a time");
                if cap.as_ref().is_none_or(|c| t < *c.time()) {
                    cap = time.retain_least(output.output_index());
                }
                for batch in data {
                    for chunk in batch.drain(..) {
                        op.receive(chunk);
                    }
                }
            });
            if op.failed {
                cap = None;
                return;
            }
            let f: Option<u64> = frontier.frontier().first().copied();
            let pending = op.advance(f, cap.is_some());
            if let Some(c) = cap.as_ref()
                && !op.out.is_empty()
            {
                let mut session = output.session(c);
                for b in op.out.drain(..) {
                    session.give(b);
                }
            }
            if f.is_none() && cap.is_some() {
                op.add_quality_to_summary();
                cap = None;
            } else if let (Some(c), Some(f)) = (cap.as_mut(), f) {
                let hold = pending.map_or(f, |p| f.min(p.max(0) as u64));
                let t = hold.max(*c.time());
                c.downgrade(&t);
            }
        }
    })
}

/// The market operator's state between activations.
struct MarketOp {
    state: Arc<RunState>,
    params_for: Arc<dyn Fn(&Market) -> MarketParams + Send + Sync>,
    policy: CheckpointPolicy,
    summary: Rc<RefCell<WorkerSummary>>,
    markets: BTreeMap<u64, MarketState>,
    /// Messages to send at the held capability.
    out: Vec<SinkMsg>,
    batches: Vec<OutBatch>,
    /// Every row before this time has been released (applied).
    released: Option<Nanos>,
    last_boundary: Nanos,
    failed: bool,
    /// Markets opened by [`MarketOp::open_resumed_cross`] that have received no chunk yet.
    opened_early: BTreeSet<u64>,
}

/// A frontier time as an ordering time.
fn as_nanos(t: u64) -> Nanos {
    t.min(i64::MAX as u64) as Nanos
}

/// Moves the market's finished output batches into `out`, and its interval points for
/// `silver/cross` (markets of a group only).
fn drain(st: &mut MarketState, batches: &mut Vec<OutBatch>, out: &mut Vec<SinkMsg>) {
    st.batcher.drain_into(batches);
    out.extend(batches.drain(..).map(SinkMsg::Batch));
    let points = st.batcher.take_points();
    if !points.is_empty() {
        out.push(SinkMsg::Points(Box::new(PointsMsg {
            market: st.market.hash64(),
            points,
        })));
    }
}

impl MarketOp {
    /// Stashes an arriving chunk as a sorted run of its market (opened on its first chunk).
    fn receive(&mut self, chunk: Chunk) {
        if self.failed {
            return;
        }
        let m = chunk.market;
        if self.opened_early.remove(&m) {
            self.summary.borrow_mut().markets += 1;
        }
        let st = match self.markets.entry(m) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                match new_market(m, &self.state, self.params_for.as_ref(), &self.policy) {
                    Ok((st, open)) => {
                        self.summary.borrow_mut().markets += 1;
                        self.out.push(open);
                        v.insert(st)
                    }
                    Err(e) => {
                        self.summary.borrow_mut().fail(e);
                        self.failed = true;
                        return;
                    }
                }
            }
        };
        if !st.new_inputs.contains_key(&chunk.file) {
            st.new_inputs.insert(chunk.file.clone(), chunk.file_size);
        }
        if !chunk.data.is_empty() {
            st.runs.push(Run::new(chunk));
        }
    }

    /// The frontier moved to `f` (`None`: input done): checkpoints at a passed boundary,
    /// releases what is complete, and at the end finishes or (when stopped) checkpoints every
    /// market. Returns the least time output may still be due at (open intervals and bars).
    fn advance(&mut self, f: Option<u64>, holding: bool) -> Option<Nanos> {
        if let Some(fv) = f {
            self.state.observer.watermark(as_nanos(fv));
            self.checkpoint_at_boundary(as_nanos(fv));
        }
        let done = f.is_none();
        let stopping = done && self.state.halting();
        let bound: Option<Nanos> = if stopping {
            self.released
        } else {
            f.map(as_nanos)
        };
        let finishing = done && !stopping && holding;
        if finishing {
            self.open_unfinished_resumed();
        }
        let mut pending: Option<Nanos> = None;
        let (out, batches) = (&mut self.out, &mut self.batches);
        for st in self.markets.values_mut() {
            if !(stopping && bound.is_none()) {
                let upto = if done && !stopping { None } else { bound };
                release(st, upto, &self.state, &self.summary);
            }
            if finishing {
                if st.touched
                    && let Err(e) = finish_market(st, batches, out)
                {
                    self.summary.borrow_mut().fail(e);
                }
            } else if stopping {
                drain(st, batches, out);
                if st.dirty
                    && let Some(b) = bound
                {
                    out.push(checkpoint_msg(st, b, false));
                }
            } else {
                if let Some(p) = st.pipeline.pending_since() {
                    pending = Some(pending.map_or(p, |q: Nanos| q.min(p)));
                }
                drain(st, batches, out);
            }
        }
        if !done {
            self.released = bound;
        }
        pending
    }

    /// A checkpoint at the last aligned boundary the frontier `f` passed: releases exactly the
    /// rows before it and checkpoints every market that applied rows since its last one.
    fn checkpoint_at_boundary(&mut self, f: Nanos) {
        if self.policy.every <= 0 {
            return;
        }
        let b = f.div_euclid(self.policy.every) * self.policy.every;
        if b <= self.last_boundary {
            return;
        }
        self.last_boundary = b;
        for st in self.markets.values_mut() {
            release(st, Some(b), &self.state, &self.summary);
            drain(st, &mut self.batches, &mut self.out);
            if st.dirty {
                self.out.push(checkpoint_msg(st, b, false));
            }
        }
    }

    /// Opens, before any input, every market of a `silver/cross` group that this operator
    /// finishes and that was resumed from a checkpoint without its end flush. Its intervals
    /// still open at the checkpoint are emitted after the first new row, whose time is at or
    /// after the checkpoint; holding the capability at their `ts_open` from the start keeps
    /// each interval point's message time at most its `ts_close` (the time the cross dataflow
    /// stamps it with), as in an uninterrupted run.
    fn open_resumed_cross(&mut self) {
        for key in self.unfinished_resumed(true) {
            if let Err(e) = self.open_market(key, false) {
                self.summary.borrow_mut().fail(e);
                self.failed = true;
                return;
            }
            self.opened_early.insert(key);
        }
    }

    /// Opens every market this operator finishes that was resumed from a checkpoint without
    /// its end flush and has received no row in this run (all its bronze was applied before
    /// the checkpoint), so the end of input flushes it.
    fn open_unfinished_resumed(&mut self) {
        for key in std::mem::take(&mut self.opened_early) {
            if let Some(st) = self.markets.get_mut(&key) {
                st.touched = true;
            }
        }
        for key in self.unfinished_resumed(false) {
            if let Err(e) = self.open_market(key, true) {
                self.summary.borrow_mut().fail(e);
            }
        }
    }

    /// The markets this operator finishes that were resumed from a checkpoint without their end
    /// flush and are not open yet (only those of a `silver/cross` group when `cross_only`).
    fn unfinished_resumed(&self, cross_only: bool) -> Vec<u64> {
        let policy = &self.policy;
        let wanted =
            |m: &Market| (policy.finishes)(m) && (!cross_only || (policy.cross_tap)(m).is_some());
        (self.state.resume.iter())
            .filter(|(k, r)| !r.checkpoint.header.finished && !self.markets.contains_key(k))
            .map(|(k, _)| *k)
            .filter(|k| self.state.market(*k).is_ok_and(|m| wanted(&m)))
            .collect()
    }

    /// Opens market `key`: its state in `markets`, its open message to the output.
    fn open_market(&mut self, key: u64, touched: bool) -> Result<(), RunError> {
        let (mut st, open) = new_market(key, &self.state, self.params_for.as_ref(), &self.policy)?;
        st.touched = touched;
        self.out.push(open);
        self.markets.insert(key, st);
        Ok(())
    }

    /// At the end of input: every touched market's quality counters into the summary.
    fn add_quality_to_summary(&self) {
        let mut s = self.summary.borrow_mut();
        for st in self.markets.values().filter(|m| m.touched) {
            st.pipeline.counters().add_to(&mut s.quality);
        }
    }
}

/// The end of input for a market touched in this run: checkpoints its state *before* the end
/// flush (a later run with new input resumes from it and replaces the flush's provisional
/// outputs), then finishes it (open bars and intervals emitted, sealed as provisional).
fn finish_market(
    st: &mut MarketState,
    batches: &mut Vec<OutBatch>,
    out: &mut Vec<SinkMsg>,
) -> Result<(), PipelineError> {
    let until = st.max_ts.map_or(Nanos::MIN, |t| t.saturating_add(1));
    // `release` has just flushed the book (and recorded any error), so nothing is pending here;
    // an error would still be reported rather than dropped.
    st.pipeline.flush_book(&mut st.batcher)?;
    drain(st, batches, out);
    let mut ck = checkpoint_msg(st, until, true);
    out.push(SinkMsg::Seal {
        market: st.market.hash64(),
    });
    st.pipeline.finish(&mut st.batcher)?;
    drain(st, batches, out);
    if let SinkMsg::Checkpoint(c) = &mut ck {
        c.quality.clear();
        st.pipeline.counters().add_to(&mut c.quality);
    }
    out.push(ck);
    Ok(())
}

/// Feeds every stashed row with time `< f` (all rows when `f` is `None`) in total order, segment
/// by segment ([`crate::merge::merge_segments`]); rows below a chunk's floor (replayed or late)
/// are skipped, rows behind rows already applied are counted late, never merged silently.
fn release(
    st: &mut MarketState,
    f: Option<Nanos>,
    state: &RunState,
    summary: &Rc<RefCell<WorkerSummary>>,
) {
    let MarketState {
        runs,
        pipeline,
        batcher,
        trade_day,
        market,
        last_key,
        max_ts,
        dirty,
        touched,
        ..
    } = st;
    merge_segments(
        runs,
        |k: &Key| f.is_none_or(|f| k.0 < f),
        |run, segment| {
            let end = segment.end;
            // Rows below the chunk's floor were applied before a resume (or are late and
            // counted by the source): never applied twice. Keys ascend, so they lead the
            // segment.
            let floor = run.chunk.floor;
            let mut first = segment.start;
            while first < end && run.key_at(first).0 < floor {
                first += 1;
            }
            // Rows behind rows already processed: never merged silently (CONTRACT §8).
            let mut applied = first;
            if let Some(l) = *last_key {
                while applied < end && run.key_at(applied) < l {
                    applied += 1;
                }
                summary
                    .borrow_mut()
                    .count("late_rows", (applied - first) as u64);
            }
            if applied < end {
                let last = run.key_at(end - 1);
                *last_key = Some(last);
                // Keys ascend: the segment's greatest time is its last row's.
                *max_ts = Some(max_ts.map_or(last.0, |m| m.max(last.0)));
                *dirty = true;
                *touched = true;
                apply_rows(
                    run,
                    applied..end,
                    pipeline,
                    batcher,
                    trade_day,
                    market,
                    state,
                    summary,
                );
            }
        },
    );
    if let Err(e) = st.pipeline.flush_book(&mut st.batcher) {
        summary.borrow_mut().fail(e);
    }
    st.runs.retain(|r| r.cursor < r.len());
}

/// Applies rows `ks` (merge positions, in key order) of one run to the market's pipeline.
#[allow(clippy::too_many_arguments)]
fn apply_rows(
    run: &Run,
    ks: std::ops::Range<usize>,
    pipeline: &mut MarketPipeline,
    batcher: &mut SilverBatcher,
    trade_day: &mut Option<i64>,
    market: &Market,
    state: &RunState,
    summary: &Rc<RefCell<WorkerSummary>>,
) {
    let fail = |e: PipelineError| summary.borrow_mut().fail(e);
    match &run.chunk.data {
        ChunkData::Book(c) => {
            for k in ks {
                let i = run.row(k);
                if let Err(e) = pipeline.book_row(
                    c.ts[i],
                    c.ts_event[i],
                    c.ts_recv[i],
                    c.seq[i],
                    c.prev_seq[i],
                    c.is_snapshot[i],
                    c.side[i],
                    c.price[i],
                    c.size[i],
                    batcher,
                ) {
                    fail(e);
                }
            }
        }
        ChunkData::Ticker(c) => {
            for k in ks {
                let i = run.row(k);
                if let Err(e) = pipeline.ticker_row(
                    c.ts[i],
                    c.ts_event[i],
                    c.ts_recv[i],
                    c.seq[i],
                    [c.bid_price[i], c.bid_size[i], c.ask_price[i], c.ask_size[i]],
                    batcher,
                ) {
                    fail(e);
                }
            }
        }
        ChunkData::Trades(c) => {
            // The UTC day of the last trade, as an event-time range: the day changes rarely,
            // so the per-row test is two comparisons, not a division.
            let mut day_range =
                trade_day.map_or((0, 0), |d| (d * NANOS_PER_DAY, (d + 1) * NANOS_PER_DAY));
            let ts = c.ts();
            for k in ks {
                let i = run.row(k);
                let te = c.ts_event[i];
                if trade_day.is_none() || te < day_range.0 || te >= day_range.1 {
                    let day = te.div_euclid(NANOS_PER_DAY);
                    day_range = (day * NANOS_PER_DAY, (day + 1) * NANOS_PER_DAY);
                    if *trade_day != Some(day) {
                        *trade_day = Some(day);
                        new_trade_day(pipeline, market, day, state, summary);
                    }
                }
                if let Err(e) = pipeline.trade_row(
                    ts[i],
                    te,
                    c.ts_recv[i],
                    c.id(i),
                    c.price[i],
                    c.size[i],
                    c.sign[i],
                    batcher,
                ) {
                    fail(e);
                }
            }
        }
    }
}

/// Before a market's first trade of UTC day `day`: VPIN's bucket volume V for the day (the
/// `adv` rule), unless the run fixes it with `--vpin-v`.
fn new_trade_day(
    pipeline: &mut MarketPipeline,
    market: &Market,
    day: i64,
    state: &RunState,
    summary: &Rc<RefCell<WorkerSummary>>,
) {
    if pipeline.vpin_fixed() {
        return;
    }
    match state.adv.v_for_day(&state.root, market, day) {
        Ok(Some(v)) => pipeline.schedule_vpin(day, v),
        Ok(None) => tracing::warn!(
            "{}: no VPIN bucket volume for {}: no --vpin-v and no earlier bronze trades day for the adv rule: VPIN is null that day",
            market,
            daedalus_model::time::Date::from_days(day)
        ),
        Err(source) => summary.borrow_mut().fail(RunError::Adv {
            market: market.clone(),
            source: Box::new(source),
        }),
    }
}
