//! `MarketPipeline`: every feature machine of one market, fed rows in the total order of
//! CONTRACT §3, with no timely types.
//!
//! The dataflow's market operator calls [`MarketPipeline::book_row`], [`ticker_row`] and
//! [`trade_row`] in order; consecutive book rows sharing `(time, ts_recv, seq, is_snapshot)`
//! form one atomic message, applied when the next row of another message (or another dataset)
//! arrives, or at [`MarketPipeline::flush_book`]. Outputs go to a [`FeatureSink`].
//!
//! Cross-feature wiring (as-of joins are exact because the three datasets meet here):
//! - a trade's `mid` is the book mid after every book message ordered before it;
//! - every silver/book row feeds each interval aggregator and bar builder its OFI flow, mid and
//!   spread; every trade feeds them its volume and the VPIN value after it.
//!
//! `n_book_events` counts book messages that produce a silver/book row (the snapshot included,
//! dropped stale or pre-snapshot messages not).
//!
//! [`ticker_row`]: MarketPipeline::ticker_row
//! [`trade_row`]: MarketPipeline::trade_row

use crate::bars::{BarBuilder, BarConfig, BarRow, BarSpec};
use crate::book::{BookMessage, LevelUpdate};
use crate::book_features::{BookFeatureConfig, BookFeatureEngine};
use crate::error::PipelineError;
use crate::intervals::{IntervalAggregator, IntervalConfig, IntervalRow};
use crate::ticker::TickerFeatureEngine;
use crate::trades::{TradeFeatureConfig, TradeFeatureEngine, TradeInput};
use crate::vpin::VpinBucket;
use daedalus_model::fixed::Qty;
use daedalus_model::layout::OutputLayout;
use daedalus_model::rows::{BookSide, TickerRow, TradeSide};
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which outputs a run writes (the pipeline skips work nothing consumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFlags {
    /// `silver/book`.
    pub book: bool,
    /// `silver/ticker`.
    pub ticker: bool,
    /// `silver/trades`.
    pub trades: bool,
    /// `silver/intervals`.
    pub intervals: bool,
    /// `gold/bars`.
    pub bars: bool,
}

/// Parameters of one market's pipeline.
#[derive(Clone, Serialize, Deserialize)]
pub struct MarketParams {
    /// Exchange id.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// `symbol_norm` written to every row.
    pub symbol_norm: String,
    /// Book features.
    pub book: BookFeatureConfig,
    /// Ticker OFI windows.
    pub ticker_windows: Vec<Nanos>,
    /// Trade features (TFI windows, VPIN).
    pub trades: TradeFeatureConfig,
    /// Interval grids: (spec, config).
    pub intervals: Vec<(String, IntervalConfig)>,
    /// Bar specs: (name, spec).
    pub bars: Vec<(String, BarSpec)>,
    /// Bar options.
    pub bar_config: BarConfig,
    /// Outputs.
    pub outputs: OutputFlags,
}

impl MarketParams {
    /// The layout of this market's outputs, as the sinks need it.
    pub fn output_layout(&self) -> OutputLayout {
        OutputLayout {
            exchange: self.exchange.clone(),
            symbol: self.symbol.clone(),
            symbol_norm: self.symbol_norm.clone(),
            mlofi_levels: self.book.mlofi_levels,
            book_windows: self.book.windows.clone(),
            ticker_windows: self.ticker_windows.clone(),
            trade_windows: self.trades.windows.clone(),
            intervals: self
                .intervals
                .iter()
                .map(|(spec, _)| spec.clone())
                .collect(),
            bars: self.bars.iter().map(|(name, _)| name.clone()).collect(),
        }
    }
}

pub use daedalus_model::sink::FeatureSink;

/// Data-quality counters of one market.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityCounters {
    /// Book messages applied.
    pub book_messages: u64,
    /// Sequence gaps detected.
    pub gaps: u64,
    /// Resets (mid-stream snapshots and gaps).
    pub resets: u64,
    /// Messages after which the book was uncrossed.
    pub uncrossed: u64,
    /// Venue quotes with bid >= ask.
    pub crossed_tickers: u64,
    /// Trades processed.
    pub trades: u64,
    /// Trades dropped as duplicates (issue 16; [`SeenTrades`]). Not in the checkpoint state
    /// (whose bincode layout older checkpoints fix): a resumed run restores it from the
    /// checkpoint's quality counters ([`MarketPipeline::restore_duplicate_trades`]).
    #[serde(skip)]
    pub duplicate_trades: u64,
}

impl QualityCounters {
    /// Adds these counters to a keyed map.
    pub fn add_to(&self, m: &mut BTreeMap<String, u64>) {
        for (k, v) in [
            ("book_messages", self.book_messages),
            ("gaps", self.gaps),
            ("resets", self.resets),
            ("uncrossed", self.uncrossed),
            ("crossed_tickers", self.crossed_tickers),
            ("trades", self.trades),
            ("duplicate_trades", self.duplicate_trades),
        ] {
            if v > 0 {
                *m.entry(k.to_string()).or_default() += v;
            }
        }
    }
}

/// The trade ids seen at the current exchange time (issue 16): trades reach the pipeline in
/// event-time order, so the same trade recorded twice (two recorders' inputs of one market)
/// arrives at the same `ts_event`, and a trade whose `(ts_event, trade_id)` was seen is a
/// duplicate. Cleared when the time advances, so it holds one timestamp's trades. A trade
/// without an id (empty) is never a duplicate. Not checkpointed: a checkpoint falls between
/// times (all rows of one time are released together), so the set is empty there anyway.
#[derive(Clone, Default)]
struct SeenTrades {
    ts_event: Nanos,
    /// The ids seen at `ts_event`, back to back in one buffer: no allocation per trade once the
    /// buffer has grown to one timestamp's ids.
    ids: String,
    /// Where each id of `ids` ends.
    ends: Vec<usize>,
}

impl SeenTrades {
    /// Records `(ts_event, id)`; true when it was seen already.
    fn repeat(&mut self, ts_event: Nanos, id: &str) -> bool {
        if id.is_empty() {
            return false;
        }
        if ts_event != self.ts_event {
            self.ts_event = ts_event;
            self.ids.clear();
            self.ends.clear();
        }
        let mut start = 0;
        for &end in &self.ends {
            if &self.ids[start..end] == id {
                return true;
            }
            start = end;
        }
        self.ids.push_str(id);
        self.ends.push(self.ids.len());
        false
    }
}

#[derive(Clone, Copy, PartialEq, Serialize, Deserialize)]
struct MsgHead {
    ts: Nanos,
    ts_event: Nanos,
    ts_recv: Nanos,
    seq: Option<u64>,
    prev_seq: Option<u64>,
    is_snapshot: bool,
}

/// Every feature machine of one market.
#[derive(Clone, Serialize, Deserialize)]
pub struct MarketPipeline {
    params: MarketParams,
    book: BookFeatureEngine,
    ticker: TickerFeatureEngine,
    trades: TradeFeatureEngine,
    intervals: Vec<IntervalAggregator>,
    bars: Vec<BarBuilder>,
    head: Option<MsgHead>,
    levels: Vec<LevelUpdate>,
    counters: QualityCounters,
    #[serde(skip)]
    buckets: Vec<VpinBucket>,
    #[serde(skip)]
    seen_trades: SeenTrades,
}

impl MarketPipeline {
    /// A pipeline for one market; fails on an interval grid that does not divide a day.
    pub fn new(params: MarketParams) -> Result<Self, PipelineError> {
        let intervals = params
            .intervals
            .iter()
            .map(|(grid, c)| {
                IntervalAggregator::new(c.clone()).map_err(|error| PipelineError::Interval {
                    exchange: params.exchange.clone(),
                    symbol: params.symbol.clone(),
                    grid: grid.clone(),
                    error,
                })
            })
            .collect::<Result<_, _>>()?;
        let bars = params
            .bars
            .iter()
            .map(|(_, s)| BarBuilder::new(s.clone(), params.bar_config.clone()))
            .collect();
        Ok(MarketPipeline {
            book: BookFeatureEngine::new(params.book.clone()),
            ticker: TickerFeatureEngine::new(params.ticker_windows.clone()),
            // TFI windows only feed `silver/trades`: without that output, none are kept (bars and
            // intervals take their own sums and VPIN, which stays).
            trades: TradeFeatureEngine::new(TradeFeatureConfig {
                windows: if params.outputs.trades {
                    params.trades.windows.clone()
                } else {
                    Vec::new()
                },
                ..params.trades.clone()
            }),
            intervals,
            bars,
            head: None,
            levels: Vec::new(),
            counters: QualityCounters::default(),
            buckets: Vec::new(),
            seen_trades: SeenTrades::default(),
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// Quality counters so far.
    pub fn counters(&self) -> &QualityCounters {
        &self.counters
    }

    /// Sets the duplicate-trade count a resumed market had (its checkpoint's quality
    /// counter `duplicate_trades`; 0 for a checkpoint written before it was counted).
    pub fn restore_duplicate_trades(&mut self, n: u64) {
        self.counters.duplicate_trades = n;
    }

    /// One bronze book row (`side` 0 bid, 1 ask).
    pub fn book_row(
        &mut self,
        ts: Nanos,
        ts_event: Nanos,
        ts_recv: Nanos,
        seq: Option<u64>,
        prev_seq: Option<u64>,
        is_snapshot: bool,
        side: u8,
        price: f64,
        size: f64,
        sink: &mut impl FeatureSink,
    ) -> Result<(), PipelineError> {
        let head = MsgHead {
            ts,
            ts_event,
            ts_recv,
            seq,
            prev_seq,
            is_snapshot,
        };
        let same = self.head.is_some_and(|h| {
            h.ts == ts && h.ts_recv == ts_recv && h.seq == seq && h.is_snapshot == is_snapshot
        });
        if !same {
            self.flush_book(sink)?;
            self.head = Some(head);
        }
        let side = if side == 0 {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        self.levels.push(LevelUpdate { side, price, size });
        Ok(())
    }

    /// Applies the pending book message, if any.
    #[inline]
    pub fn flush_book(&mut self, sink: &mut impl FeatureSink) -> Result<(), PipelineError> {
        // Called before every trade and ticker row: the common "nothing pending" case inline.
        if self.head.is_none() {
            return Ok(());
        }
        self.flush_pending_book(sink)
    }

    fn flush_pending_book(&mut self, sink: &mut impl FeatureSink) -> Result<(), PipelineError> {
        let Some(h) = self.head.take() else {
            return Ok(());
        };
        let msg = BookMessage {
            ts_event: h.ts,
            ts_recv: h.ts_recv,
            seq: h.seq,
            prev_seq: h.prev_seq,
            is_snapshot: h.is_snapshot,
            levels: &self.levels,
        };
        let row = match self.book.on_message(&msg) {
            Ok(r) => r,
            Err(error) => {
                self.levels.clear();
                return Err(PipelineError::Book {
                    exchange: self.params.exchange.clone(),
                    symbol: self.params.symbol.clone(),
                    seq: h.seq,
                    ts_event: h.ts_event,
                    error,
                });
            }
        };
        if let Some(row) = row {
            self.counters.book_messages += 1;
            self.counters.gaps += u64::from(row.gap);
            self.counters.resets += u64::from(row.reset);
            self.counters.uncrossed += u64::from(row.uncrossed);
            if self.params.outputs.book {
                sink.book(h.ts, h.ts_event, row);
            }
            if self.params.outputs.intervals {
                for (i, agg) in self.intervals.iter_mut().enumerate() {
                    agg.on_book(
                        h.ts,
                        row.ofi_units,
                        &row.mlofi_units,
                        row.mid,
                        row.spread,
                        row.reset || row.gap,
                        &mut IntervalsTo {
                            idx: i,
                            sink: &mut *sink,
                        },
                    );
                }
            }
            if self.params.outputs.bars {
                // Book messages only update bar state: bars close on trades.
                for b in &mut self.bars {
                    b.on_book(h.ts, row.ofi_units, row.mid, row.spread);
                }
            }
        }
        self.levels.clear();
        Ok(())
    }

    /// One venue best bid/offer.
    pub fn ticker_row(
        &mut self,
        ts: Nanos,
        ts_event: Nanos,
        ts_recv: Nanos,
        seq: Option<u64>,
        quote: [Option<f64>; 4],
        sink: &mut impl FeatureSink,
    ) -> Result<(), PipelineError> {
        self.flush_book(sink)?;
        let q = TickerRow {
            ts_event,
            ts_recv,
            seq,
            bid_price: quote[0],
            bid_size: quote[1],
            ask_price: quote[2],
            ask_size: quote[3],
        };
        // Windows run on the ordering clock.
        let mut qt = q.clone();
        qt.ts_event = ts;
        let f = self.ticker.on_quote(&qt);
        self.counters.crossed_tickers += u64::from(f.crossed);
        if self.params.outputs.ticker {
            sink.ticker(ts, &q, &f);
        }
        Ok(())
    }

    /// One trade (`sign` +1 buy, -1 sell, 0 unknown).
    pub fn trade_row(
        &mut self,
        ts: Nanos,
        ts_event: Nanos,
        ts_recv: Nanos,
        id: &str,
        price: f64,
        size: f64,
        sign: i8,
        sink: &mut impl FeatureSink,
    ) -> Result<(), PipelineError> {
        if self.seen_trades.repeat(ts_event, id) {
            self.counters.duplicate_trades += 1;
            return Ok(());
        }
        self.flush_book(sink)?;
        let side = match sign {
            1 => TradeSide::Buy,
            -1 => TradeSide::Sell,
            _ => TradeSide::Unknown,
        };
        let t = TradeInput {
            ts_event: ts,
            price,
            size,
            side,
        };
        let err = |error| PipelineError::Trade {
            exchange: self.params.exchange.clone(),
            symbol: self.params.symbol.clone(),
            id: id.to_string(),
            ts_event,
            error,
        };
        // Validated and converted to fixed point once.
        let qty = if !self.params.outputs.trades && self.trades.is_passive() {
            // No TFI, no VPIN and no silver/trades row: the trade engine would change nothing
            // and its row would be dropped (bars-only without VPIN), so only its checks run.
            TradeFeatureEngine::validate(&t).map_err(err)?
        } else {
            let mid = self.book.mid();
            self.buckets.clear();
            let f = self
                .trades
                .on_trade(&t, mid, &mut self.buckets)
                .map_err(err)?;
            if self.params.outputs.trades {
                sink.trade(ts, ts_event, ts_recv, id, price, size, f);
            }
            f.qty
        };
        self.counters.trades += 1;
        self.trade_into_aggregates(ts, price, qty, side, sink);
        Ok(())
    }

    /// Feeds a valid trade to every interval aggregator and bar builder.
    fn trade_into_aggregates(
        &mut self,
        ts: Nanos,
        price: f64,
        qty: Qty,
        side: TradeSide,
        sink: &mut impl FeatureSink,
    ) {
        let vpin_after = self.trades.last_vpin();
        if self.params.outputs.intervals {
            for (i, agg) in self.intervals.iter_mut().enumerate() {
                agg.on_trade(
                    ts,
                    side,
                    qty,
                    vpin_after,
                    &mut IntervalsTo {
                        idx: i,
                        sink: &mut *sink,
                    },
                );
            }
        }
        if self.params.outputs.bars {
            for (i, b) in self.bars.iter_mut().enumerate() {
                b.on_trade(
                    ts,
                    price,
                    qty,
                    side,
                    vpin_after,
                    &mut BarsTo {
                        idx: i,
                        sink: &mut *sink,
                    },
                );
            }
        }
    }

    /// Least `ts_open` of any interval or bar that is still open (output still owed), for the
    /// operator's capability.
    pub fn pending_since(&self) -> Option<Nanos> {
        let i = self.intervals.iter().filter_map(|a| a.pending_since());
        let b = self.bars.iter().filter_map(|b| b.pending_since());
        i.chain(b).min()
    }

    /// Sets the VPIN bucket volume V from UTC day `day` on (the `adv` rule, decided by the caller
    /// before the day's first trade). Idempotent; ignored with a fixed `--vpin-v`.
    pub fn schedule_vpin(&mut self, day: i64, v: Qty) {
        self.trades.schedule_v(day, v);
    }

    /// True when this market has a fixed VPIN bucket volume (no `adv` schedule).
    pub fn vpin_fixed(&self) -> bool {
        self.params.trades.vpin.is_some()
    }

    /// End of data: applies the pending message and emits every open interval and bar. Open
    /// intervals and bars are emitted even when the pending message is rejected (its error is
    /// returned after).
    pub fn finish(&mut self, sink: &mut impl FeatureSink) -> Result<(), PipelineError> {
        let flushed = self.flush_book(sink);
        if self.params.outputs.intervals {
            for (i, agg) in self.intervals.iter_mut().enumerate() {
                agg.finish(&mut IntervalsTo {
                    idx: i,
                    sink: &mut *sink,
                });
            }
        }
        if self.params.outputs.bars {
            for (i, b) in self.bars.iter_mut().enumerate() {
                b.finish(&mut BarsTo {
                    idx: i,
                    sink: &mut *sink,
                });
            }
        }
        flushed
    }
}

/// Hands each row of interval grid `idx` to the sink as it is produced: nothing is buffered, so
/// the empty intervals of a long gap stream through (issue 16: memory independent of gap length).
struct IntervalsTo<'a, S> {
    idx: usize,
    sink: &'a mut S,
}

impl<S: FeatureSink> Extend<IntervalRow> for IntervalsTo<'_, S> {
    #[inline]
    fn extend<I: IntoIterator<Item = IntervalRow>>(&mut self, rows: I) {
        for r in rows {
            self.sink.interval(self.idx, &r);
        }
    }
}

/// Hands each row of bar spec `idx` to the sink as it is produced (see [`IntervalsTo`]).
struct BarsTo<'a, S> {
    idx: usize,
    sink: &'a mut S,
}

impl<S: FeatureSink> Extend<BarRow> for BarsTo<'_, S> {
    #[inline]
    fn extend<I: IntoIterator<Item = BarRow>>(&mut self, rows: I) {
        for r in rows {
            self.sink.bar(self.idx, &r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::IntervalConfig;
    use daedalus_model::features::{BookFeatureRow, TickerFeatureRow, TradeFeatureRow};
    use daedalus_model::time::NANOS_PER_SEC;

    /// The seen-id buffer against a plain set of `(ts_event, id)` over a stream in time order:
    /// ids that are prefixes of each other, empty ids, repeats at the same and at later times.
    #[test]
    fn seen_trades_equal_a_set_of_time_and_id() {
        let mut seen = SeenTrades::default();
        let mut set = std::collections::HashSet::new();
        let ids = ["1", "12", "123", "", "2", "12"];
        for ts in 0..40i64 {
            for (i, id) in ids.iter().enumerate() {
                let ts_event = ts / 3;
                let id = if (ts + i as i64) % 4 == 0 { "" } else { *id };
                let expect = !id.is_empty() && !set.insert((ts_event, id));
                assert_eq!(seen.repeat(ts_event, id), expect, "{ts_event} {id:?}");
            }
        }
    }

    /// Counts bar rows; drops the rest.
    #[derive(Default)]
    struct Bars(usize);

    impl FeatureSink for Bars {
        fn book(&mut self, _: Nanos, _: Nanos, _: &BookFeatureRow) {}
        fn ticker(&mut self, _: Nanos, _: &TickerRow, _: &TickerFeatureRow) {}
        fn trade(
            &mut self,
            _: Nanos,
            _: Nanos,
            _: Nanos,
            _: &str,
            _: f64,
            _: f64,
            _: &TradeFeatureRow,
        ) {
        }
        fn interval(&mut self, _: usize, _: &IntervalRow) {}
        fn bar(&mut self, _: usize, _: &BarRow) {
            self.0 += 1;
        }
    }

    fn params(interval_width: Nanos) -> MarketParams {
        MarketParams {
            exchange: "x".into(),
            symbol: "AB".into(),
            symbol_norm: "A-B".into(),
            book: BookFeatureConfig::default(),
            ticker_windows: vec![],
            trades: TradeFeatureConfig::default(),
            intervals: vec![(
                "g".into(),
                IntervalConfig {
                    width: interval_width,
                    mlofi_levels: 1,
                    kyle_window: 2,
                },
            )],
            bars: vec![("tick_1".into(), BarSpec::Tick { n: 1 })],
            bar_config: BarConfig::default(),
            outputs: OutputFlags {
                book: true,
                ticker: true,
                trades: true,
                intervals: true,
                bars: true,
            },
        }
    }

    #[test]
    fn errors_name_the_market_and_the_row() {
        let e = MarketPipeline::new(params(7 * NANOS_PER_SEC))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "x/AB: interval grid \"g\": interval width 7000000000 ns must be positive and divide a day"
        );
        let mut p = MarketPipeline::new(params(NANOS_PER_SEC)).unwrap();
        let mut sink = Bars::default();
        let e = p
            .trade_row(5, 6, 7, "t1", 100.0, -1.0, 1, &mut sink)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x/AB: trade t1 at 6: trade size -1 must be finite and > 0"
        );
        p.trade_row(5, 6, 7, "t2", 100.0, 1.0, 1, &mut sink)
            .unwrap();
        p.book_row(8, 9, 10, Some(3), None, true, 0, -1.0, 1.0, &mut sink)
            .unwrap();
        // The pending message is rejected at the end; the open bars are emitted all the same.
        let e = p.finish(&mut sink).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x/AB: book message seq Some(3) at 9: invalid book level"),
            "{e}"
        );
        assert!(matches!(e, PipelineError::Book { seq: Some(3), .. }));
        assert_eq!(sink.0, 1);
    }
}
