//! `market_features`: the per-market stateful operator.
//!
//! **Input.** Bronze [`Chunk`]s already exchanged by the stable hash of their market (see
//! `graph.rs`), so every row of a market reaches one worker whatever the worker or process count.
//!
//! **Order.** Each chunk is kept as a sorted run (sorted once on arrival if its rows are out of
//! order). When the input frontier passes time `f`, every row with ordering time `< f` has
//! arrived; those rows are merged across the market's runs in the total order of CONTRACT §3 —
//! `(time, dataset rank book < ticker < trades, ts_recv, seq, row position)` — and fed to the
//! market's [`MarketPipeline`]. The result is independent of worker count, batch size and file
//! split.
//!
//! **Capability.** One capability per operator, held at `min(f, least ts_open of any open
//! interval or bar)`: the least time at which output may still be due. Output rows are emitted at
//! the held capability, which is never later than their event time, so a sink may close a date
//! partition once its frontier passes the date's end. When the input frontier empties, every
//! pipeline is finished (open bars/intervals emitted) and the capability dropped.

use crate::summary::WorkerSummary;
use daedalus_model::time::Nanos;
use daedalus_operators::market::{MarketParams, MarketPipeline};
use daedalus_sinks::silver::{OutBatch, SilverBatcher};
use daedalus_sources::bronze::{Chunk, ChunkData};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::operator::Operator;

/// Sort key of a row: (time, rank, ts_recv, seq, position).
type Key = (Nanos, u8, Nanos, Option<u64>, u64);

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
        let sorted = (1..n).all(|i| run.raw_key(i - 1) <= run.raw_key(i));
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
            ChunkData::Trades(c) => (c.ts[i], 2, c.ts_recv[i], None, pos),
        }
    }

    #[inline]
    fn row(&self, k: usize) -> usize {
        self.order.as_ref().map_or(k, |o| o[k] as usize)
    }

    #[inline]
    fn head(&self) -> Option<Key> {
        (self.cursor < self.chunk.data.len()).then(|| self.raw_key(self.row(self.cursor)))
    }
}

struct MarketState {
    runs: Vec<Run>,
    pipeline: MarketPipeline,
    batcher: SilverBatcher,
    last_key: Option<Key>,
}

/// Builds the per-market operator.
pub fn market_features<'s>(
    stream: Stream<'s, u64, Vec<Chunk>>,
    routes: Arc<Vec<u64>>,
    params: Arc<Vec<MarketParams>>,
    summary: Rc<RefCell<WorkerSummary>>,
) -> Stream<'s, u64, Vec<OutBatch>> {
    // Routing already happened (exchange by `routes` before the flow-control probe); a market's
    // chunks are all on this worker.
    let _ = routes;
    stream.unary_frontier(Pipeline, "MarketFeatures", move |_cap, _info| {
        let mut cap: Option<Capability<u64>> = None;
        let mut markets: BTreeMap<u32, MarketState> = BTreeMap::new();
        let mut out: Vec<OutBatch> = Vec::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|time, data| {
                let t = *time.least().expect("a stamp has a time");
                if cap.as_ref().is_none_or(|c| t < *c.time()) {
                    cap = time.retain_least(output.output_index());
                }
                for batch in data {
                    for chunk in batch.drain(..) {
                        let m = chunk.market;
                        let st = markets.entry(m).or_insert_with(|| {
                            summary.borrow_mut().markets += 1;
                            let p = params[m as usize].clone();
                            MarketState {
                                runs: Vec::new(),
                                batcher: SilverBatcher::new(&p),
                                pipeline: MarketPipeline::new(p),
                                last_key: None,
                            }
                        });
                        if !chunk.data.is_empty() {
                            st.runs.push(Run::new(chunk));
                        }
                    }
                }
            });
            let f: Option<u64> = frontier.frontier().first().copied();
            let stashed: usize = markets.values().flat_map(|m| m.runs.iter()).map(|r| r.chunk.data.len() - r.cursor).sum();
            tracing::debug!(frontier = ?f, stashed, runs = markets.values().map(|m| m.runs.len()).sum::<usize>(), "market_features activation");
            let done = f.is_none();
            let mut pending: Option<Nanos> = None;
            let finishing = done && cap.is_some();
            for st in markets.values_mut() {
                release(st, f, &summary);
                if finishing {
                    st.pipeline.finish(&mut st.batcher);
                } else if let Some(p) = st.pipeline.pending_since() {
                    pending = Some(pending.map_or(p, |q: Nanos| q.min(p)));
                }
                st.batcher.drain_into(&mut out);
            }
            if let Some(c) = cap.as_ref()
                && !out.is_empty() {
                    let mut session = output.session(c);
                    for b in out.drain(..) {
                        session.give(b);
                    }
                }
            if done && cap.is_some() {
                let mut s = summary.borrow_mut();
                for st in markets.values() {
                    st.pipeline.counters().add_to(&mut s.quality);
                }
                cap = None;
            } else if let (Some(c), Some(f)) = (cap.as_mut(), f) {
                let hold = pending.map_or(f, |p| f.min(p.max(0) as u64));
                let t = hold.max(*c.time());
                c.downgrade(&t);
            }
        }
    })
}

/// Feeds every stashed row with time `< f` (all rows when `f` is `None`) in total order.
fn release(st: &mut MarketState, f: Option<u64>, summary: &Rc<RefCell<WorkerSummary>>) {
    let ready = |k: &Key| f.is_none_or(|f| (k.0.max(0) as u64) < f);
    loop {
        let mut best: Option<(usize, Key)> = None;
        for (i, r) in st.runs.iter().enumerate() {
            if let Some(k) = r.head()
                && ready(&k)
                && best.is_none_or(|(_, b)| k < b)
            {
                best = Some((i, k));
            }
        }
        let Some((ri, key)) = best else { break };
        if st.last_key.is_some_and(|l| key < l) {
            // Arrived behind rows already processed: never merged silently (CONTRACT §8).
            summary.borrow_mut().count("late_rows", 1);
            st.runs[ri].cursor += 1;
            continue;
        }
        st.last_key = Some(key);
        let run = &mut st.runs[ri];
        let i = run.row(run.cursor);
        run.cursor += 1;
        let res = match &run.chunk.data {
            ChunkData::Book(c) => st.pipeline.book_row(
                c.ts[i],
                c.ts_event[i],
                c.ts_recv[i],
                c.seq[i],
                c.prev_seq[i],
                c.is_snapshot[i],
                c.side[i],
                c.price[i],
                c.size[i],
                &mut st.batcher,
            ),
            ChunkData::Ticker(c) => st.pipeline.ticker_row(
                c.ts[i],
                c.ts_event[i],
                c.ts_recv[i],
                c.seq[i],
                [c.bid_price[i], c.bid_size[i], c.ask_price[i], c.ask_size[i]],
                &mut st.batcher,
            ),
            ChunkData::Trades(c) => st.pipeline.trade_row(
                c.ts[i],
                c.ts_event[i],
                c.ts_recv[i],
                c.id(i),
                c.price[i],
                c.size[i],
                c.sign[i],
                &mut st.batcher,
            ),
        };
        if let Err(e) = res {
            summary.borrow_mut().fail(e);
        }
    }
    if let Err(e) = st.pipeline.flush_book(&mut st.batcher) {
        summary.borrow_mut().fail(e);
    }
    st.runs.retain(|r| r.head().is_some());
}
