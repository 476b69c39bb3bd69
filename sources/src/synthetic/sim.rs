//! One market's simulation: an integer L2 book driven by limit adds, cancels and market orders,
//! written to bronze as it goes (the model is described in the parent module).

use super::factor::{F0, Factor};
use super::templates::{Follow, Template};
use crate::error::{Result, SourceError};
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::{NANOS_PER_DAY, Nanos};
use daedalus_sinks::bronze::BronzeWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, LogNormal};
use std::collections::BTreeMap;

/// One market's simulation.
pub(super) struct Sim<'a> {
    t: &'a Template,
    market: Market,
    rng: ChaCha8Rng,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    seq: u64,
    trade_id: u64,
    /// Event time of the current message.
    pub(super) ts: Nanos,
    size_dist: LogNormal<f64>,
    /// Rows written: (book, trades, ticker).
    pub(super) rows: (u64, u64, u64),
    /// Gaps injected.
    pub(super) gaps: u64,
    /// Snapshots written.
    pub(super) snapshots: u64,
    snapshot_due: Option<u64>,
    msgs_since_snapshot: u64,
    last_top: Option<(i64, i64, i64, i64)>,
    scratch: Vec<BookRow>,
    last_recv: Nanos,
    steps: u64,
    /// The market's planted relation to the common fair value, with its copy of the walk.
    follow: Option<(Follow, Factor)>,
}

const SNAPSHOT_EVERY: u64 = 20_000;
/// Share of the steps of a following market that pull its mid toward the target.
const PULL_PROB: f64 = 0.5;
/// Most levels one pull cancels.
const PULL_LEVELS: usize = 8;
const DEPTH: i64 = 60;
const MAX_LEVELS: usize = 400;

impl<'a> Sim<'a> {
    /// A market from template `t` seeded with `seed`, its clock at `start`; `factor_seed` seeds
    /// the common fair value the BTC markets follow.
    pub(super) fn new(t: &'a Template, seed: u64, start: Nanos, factor_seed: u64) -> Result<Self> {
        let market =
            Market::new(t.exchange, t.symbol).map_err(|e| SourceError::Config(e.to_string()))?;
        let size_dist = LogNormal::new(t.median_lots.ln(), 1.0)
            .map_err(|e| SourceError::Config(e.to_string()))?;
        Ok(Sim {
            t,
            market,
            rng: ChaCha8Rng::seed_from_u64(seed),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            seq: 1_000,
            trade_id: 0,
            ts: start,
            size_dist,
            rows: (0, 0, 0),
            gaps: 0,
            snapshots: 0,
            snapshot_due: None,
            msgs_since_snapshot: 0,
            last_top: None,
            scratch: Vec::new(),
            last_recv: start,
            steps: 0,
            follow: t.follows.map(|f| (f, Factor::new(factor_seed, start))),
        })
    }

    /// Whether the market follows the common fair value (its steps include pulls).
    pub(super) fn follows(&self) -> bool {
        self.follow.is_some()
    }

    /// Messages made so far (snapshots and order-flow steps).
    pub(super) fn steps(&self) -> u64 {
        self.steps
    }

    /// Rows written in all.
    pub(super) fn total_rows(&self) -> u64 {
        self.rows.0 + self.rows.1 + self.rows.2
    }

    fn price(&self, ticks: i64) -> f64 {
        // Division of two exactly representable integers is correctly rounded, so this equals
        // parsing the decimal string `ticks / 10^dec`.
        ticks as f64 / 10f64.powi(self.t.price_dec)
    }

    fn size(&self, lots: i64) -> f64 {
        lots as f64 / 10f64.powi(self.t.size_dec)
    }

    fn lots(&mut self) -> i64 {
        (self.size_dist.sample(&mut self.rng).round() as i64).max(1)
    }

    /// Receive time: event time plus a random latency, never before the previous receive time
    /// (a recorder's clock is monotonic, and equal event times are then ordered as applied).
    fn recv(&mut self) -> Nanos {
        let r = (self.ts + 200_000 + self.rng.gen_range(0..3_000_000)).max(self.last_recv);
        self.last_recv = r;
        r
    }

    fn book_row(
        &self,
        ts_recv: Nanos,
        prev: Option<u64>,
        snapshot: bool,
        side: BookSide,
        ticks: i64,
        lots: i64,
    ) -> BookRow {
        BookRow {
            ts_event: self.ts,
            ts_recv,
            seq: Some(self.seq),
            prev_seq: prev,
            is_snapshot: snapshot,
            side,
            price: self.price(ticks),
            size: self.size(lots),
        }
    }

    /// Fills both sides `DEPTH` levels deep around the template's mid.
    pub(super) fn init_book(&mut self) {
        let mid = self.t.mid_ticks;
        for i in 1..=DEPTH {
            let b = self.lots() * (1 + i / 10);
            let a = self.lots() * (1 + i / 10);
            self.bids.insert(mid - i, b);
            self.asks.insert(mid + i, a);
        }
    }

    /// Writes a full snapshot.
    pub(super) fn snapshot(&mut self, w: &mut BronzeWriter) -> Result<()> {
        self.seq += 1;
        let recv = self.recv();
        let mut rows = std::mem::take(&mut self.scratch);
        rows.clear();
        for (&p, &q) in self.bids.iter().rev() {
            rows.push(self.book_row(recv, None, true, BookSide::Bid, p, q));
        }
        for (&p, &q) in &self.asks {
            rows.push(self.book_row(recv, None, true, BookSide::Ask, p, q));
        }
        for r in rows.drain(..) {
            w.book(&self.market, r)?;
            self.rows.0 += 1;
        }
        self.scratch = rows;
        self.snapshots += 1;
        self.msgs_since_snapshot = 0;
        self.snapshot_due = None;
        Ok(())
    }

    /// Emits a diff message of `(side, ticks, new lots)` rows, maybe with an injected gap.
    fn diff(
        &mut self,
        w: &mut BronzeWriter,
        changes: &[(BookSide, i64, i64)],
        inject_gap: bool,
    ) -> Result<()> {
        // A gap = a message lost in transit: this one chains to an id never seen here.
        let prev = if inject_gap { self.seq + 1 } else { self.seq };
        self.seq += if inject_gap { 2 } else { 1 };
        if inject_gap {
            self.gaps += 1;
            self.snapshot_due = Some(self.seq + 20 + self.rng.gen_range(0..30));
        }
        let recv = self.recv();
        for &(side, p, q) in changes {
            let r = self.book_row(recv, Some(prev), false, side, p, q);
            w.book(&self.market, r)?;
            self.rows.0 += 1;
        }
        self.msgs_since_snapshot += 1;
        Ok(())
    }

    fn ticker_if_top_changed(&mut self, w: &mut BronzeWriter) -> Result<()> {
        let (Some((&bp, &bq)), Some((&ap, &aq))) =
            (self.bids.last_key_value(), self.asks.first_key_value())
        else {
            return Ok(());
        };
        let top = (bp, bq, ap, aq);
        if self.last_top != Some(top) {
            self.last_top = Some(top);
            let recv = self.recv();
            let row = TickerRow {
                ts_event: self.ts,
                ts_recv: recv,
                seq: Some(self.seq),
                bid_price: Some(self.price(bp)),
                bid_size: Some(self.size(bq)),
                ask_price: Some(self.price(ap)),
                ask_size: Some(self.size(aq)),
            };
            w.ticker(&self.market, row)?;
            self.rows.2 += 1;
        }
        Ok(())
    }

    fn best(&self) -> (i64, i64) {
        (
            *self
                .bids
                .last_key_value()
                .map(|(k, _)| k)
                .unwrap_or(&(self.t.mid_ticks - 1)),
            *self
                .asks
                .first_key_value()
                .map(|(k, _)| k)
                .unwrap_or(&(self.t.mid_ticks + 1)),
        )
    }

    /// The market's target mid in ticks now: `F(t - lag) * (1 + basis(t)) * premium`, where the
    /// premium keeps the template's initial offset to `F0` beyond the mean basis.
    fn target_ticks(&mut self) -> Option<i64> {
        let (f, factor) = self.follow.as_mut()?;
        let phase = (self.ts.rem_euclid(NANOS_PER_DAY)) as f64 / NANOS_PER_DAY as f64;
        let basis = f.basis_mean + f.basis_amplitude * (std::f64::consts::TAU * phase).sin();
        let scale = 10f64.powi(self.t.price_dec);
        let premium = self.t.mid_ticks as f64 / scale / (F0 * (1.0 + f.basis_mean));
        let fair = factor.at(self.ts - f.lag);
        Some((fair * (1.0 + basis) * premium * scale).round() as i64)
    }

    /// Moves the mid toward the target in one book message: the levels on the side the price
    /// moves into, up to the target, are cancelled (at most [`PULL_LEVELS`], keeping ten) and
    /// placed again just beyond the target, and the other side's best moves to the target (or a
    /// tick inside the new spread). Returns
    /// false when the mid is within a tick of the target or the book is too thin.
    fn pull(&mut self, w: &mut BronzeWriter, target: i64, inject_gap: bool) -> Result<bool> {
        let (bb, ba) = self.best();
        let d2 = 2 * target - (bb + ba);
        if d2.abs() < 2 {
            return Ok(false);
        }
        let up = d2 > 0;
        let (far, near) = if up {
            (&mut self.asks, &mut self.bids)
        } else {
            (&mut self.bids, &mut self.asks)
        };
        let mut changes = Vec::new();
        let (far_side, near_side) = if up {
            (BookSide::Ask, BookSide::Bid)
        } else {
            (BookSide::Bid, BookSide::Ask)
        };
        while changes.len() < PULL_LEVELS && far.len() > 10 {
            let best = if up {
                *far.first_key_value().expect("non-empty").0
            } else {
                *far.last_key_value().expect("non-empty").0
            };
            let inside = if up { best <= target } else { best >= target };
            if !inside && !changes.is_empty() {
                break;
            }
            far.remove(&best);
            changes.push((far_side, best, 0));
        }
        if changes.is_empty() {
            return Ok(false);
        }
        // The liquidity moves rather than vanishes: the cancelled levels are placed again
        // just beyond the target, so the spread stays tight and later pulls find depth.
        for i in 0..changes.len() as i64 {
            let p = if up { target + 1 + i } else { target - 1 - i };
            let lots = (self.size_dist.sample(&mut self.rng).round() as i64).max(1);
            let q = far.get(&p).copied().unwrap_or(0) + lots;
            far.insert(p, q);
            changes.push((far_side, p, q));
        }
        let edge = if up {
            far.first_key_value().map_or(target + 1, |(k, _)| *k) - 1
        } else {
            far.last_key_value().map_or(target - 1, |(k, _)| *k) + 1
        };
        let p = if up {
            target.min(edge)
        } else {
            target.max(edge)
        };
        let lots = self.size_dist.sample(&mut self.rng).round().max(1.0) as i64;
        let q = near.get(&p).copied().unwrap_or(0) + lots;
        near.insert(p, q);
        changes.push((near_side, p, q));
        self.diff(w, &changes, inject_gap)?;
        Ok(true)
    }

    /// One step of the order flow: a market order, a limit add or a cancel on a random side;
    /// for a market that follows the fair value, half the steps pull the mid toward its target.
    pub(super) fn step(&mut self, w: &mut BronzeWriter, gap_prob: f64) -> Result<()> {
        let inject_gap = self.rng.gen_bool(gap_prob);
        if let Some(target) = self.target_ticks()
            && self.rng.gen_bool(PULL_PROB)
            && self.pull(w, target, inject_gap)?
        {
            return self.ticker_if_top_changed(w);
        }
        let u: f64 = self.rng.r#gen();
        let side = if self.rng.gen_bool(0.5) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        if u < 0.12 {
            self.market_order(w, side, inject_gap)?;
        } else if u < 0.62 {
            self.limit_add(w, side, inject_gap)?;
        } else {
            self.cancel(w, side, inject_gap)?;
        }
        self.ticker_if_top_changed(w)
    }

    /// A market order from `side`: walks the opposite side, one trade per level touched, then
    /// the book message removing that liquidity.
    fn market_order(
        &mut self,
        w: &mut BronzeWriter,
        side: BookSide,
        inject_gap: bool,
    ) -> Result<()> {
        let (book, book_side, trade_side) = match side {
            BookSide::Bid => (&mut self.asks, BookSide::Ask, TradeSide::Buy),
            BookSide::Ask => (&mut self.bids, BookSide::Bid, TradeSide::Sell),
        };
        let trade_side = if self.rng.gen_bool(0.01) {
            TradeSide::Unknown
        } else {
            trade_side
        };
        let mut want = (self.size_dist.sample(&mut self.rng) * 1.5)
            .round()
            .max(1.0) as i64;
        let mut fills = Vec::new();
        let mut changes = Vec::new();
        while want > 0 && book.len() > 5 {
            let (&p, &q) = match book_side {
                BookSide::Ask => book.first_key_value().expect("len > 5"),
                BookSide::Bid => book.last_key_value().expect("len > 5"),
            };
            let take = want.min(q);
            fills.push((p, take));
            want -= take;
            if take == q {
                book.remove(&p);
                changes.push((book_side, p, 0));
            } else {
                book.insert(p, q - take);
                changes.push((book_side, p, q - take));
            }
        }
        let recv = self.recv();
        for (p, q) in fills {
            self.trade_id += 1;
            let row = TradeRow {
                ts_event: self.ts,
                ts_recv: recv,
                trade_id: self.trade_id.to_string(),
                price: self.price(p),
                size: self.size(q),
                side: trade_side,
            };
            w.trade(&self.market, row)?;
            self.rows.1 += 1;
        }
        if !changes.is_empty() {
            self.diff(w, &changes, inject_gap)?;
        }
        Ok(())
    }

    /// A limit add on `side`: mostly at or near the top; sometimes inside the spread. A side
    /// `MAX_LEVELS` deep loses its deepest level instead (emitted, so bronze stays consistent).
    fn limit_add(&mut self, w: &mut BronzeWriter, side: BookSide, inject_gap: bool) -> Result<()> {
        let (best_bid, best_ask) = self.best();
        let book_len = match side {
            BookSide::Bid => self.bids.len(),
            BookSide::Ask => self.asks.len(),
        };
        if book_len >= MAX_LEVELS {
            let (p, book) = match side {
                BookSide::Bid => (
                    *self.bids.first_key_value().expect("non-empty").0,
                    &mut self.bids,
                ),
                BookSide::Ask => (
                    *self.asks.last_key_value().expect("non-empty").0,
                    &mut self.asks,
                ),
            };
            book.remove(&p);
            return self.diff(w, &[(side, p, 0)], inject_gap);
        }
        let dist: i64 = if self.rng.gen_bool(0.1) && best_ask - best_bid > 1 {
            -1
        } else {
            (self.rng.sample::<f64, _>(Exp1) * 4.0) as i64
        };
        let p = match side {
            BookSide::Bid => (best_bid - dist).min(best_ask - 1),
            BookSide::Ask => (best_ask + dist).max(best_bid + 1),
        };
        let add = self.lots();
        let book = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let q = book.get(&p).copied().unwrap_or(0) + add;
        book.insert(p, q);
        self.diff(w, &[(side, p, q)], inject_gap)
    }

    /// A cancel of part or all of a level near the top of `side`.
    fn cancel(&mut self, w: &mut BronzeWriter, side: BookSide, inject_gap: bool) -> Result<()> {
        let book = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if book.len() <= 10 {
            return Ok(());
        }
        let rank = ((self.rng.sample::<f64, _>(Exp1) * 6.0) as usize).min(book.len() - 1);
        let (&p, &q) = match side {
            BookSide::Bid => book.iter().rev().nth(rank).expect("rank < len"),
            BookSide::Ask => book.iter().nth(rank).expect("rank < len"),
        };
        let left = if self.rng.gen_bool(0.5) { 0 } else { q / 2 };
        if left == 0 {
            book.remove(&p);
        } else {
            book.insert(p, left);
        }
        self.diff(w, &[(side, p, left)], inject_gap)
    }

    /// Moves the clock to the next message: exponential arrivals at an intraday-varying rate,
    /// the mean gap adapted so the remaining `budget` rows fill the remaining time up to
    /// `start + span` (never more than four times `mean_gap`).
    pub(super) fn advance_clock(&mut self, start: Nanos, span: Nanos, budget: u64, mean_gap: f64) {
        // Intraday-varying rate: busier mid-day (UTC), never zero.
        let phase = ((self.ts - start).rem_euclid(NANOS_PER_DAY)) as f64 / NANOS_PER_DAY as f64;
        let rate = 1.0 + 0.6 * (std::f64::consts::TAU * (phase - 0.25)).sin();
        // Adaptive mean gap: the remaining budget spread over the remaining time, at the
        // rows-per-step seen so far, so no market runs out of day (no pile-up at its end).
        let done = self.total_rows();
        let steps_done = self.steps.max(1) as f64;
        let rows_per_step = if self.steps > 100 {
            done as f64 / steps_done
        } else {
            2.2
        };
        let steps_left = ((budget - done) as f64 / rows_per_step).max(1.0);
        let time_left = (start + span - self.ts) as f64;
        let mean_gap = (time_left / steps_left).min(mean_gap * 4.0);
        let dt = (self.rng.sample::<f64, _>(Exp1) * mean_gap / rate) as i64;
        // Occasionally several events in the same nanosecond-free burst: dt 0.
        let dt = if self.rng.gen_bool(0.05) {
            0
        } else {
            dt.max(1)
        };
        self.ts = (self.ts + dt).min(start + span - 1);
    }

    /// The next message at the current time: a snapshot when a day starts, a gap's recovery is
    /// due or `SNAPSHOT_EVERY` messages passed, else an order-flow step.
    pub(super) fn next_message(
        &mut self,
        w: &mut BronzeWriter,
        new_day: bool,
        gap_prob: f64,
    ) -> Result<()> {
        if new_day
            || self.snapshot_due.is_some_and(|s| self.seq >= s)
            || self.msgs_since_snapshot >= SNAPSHOT_EVERY
        {
            self.snapshot(w)?;
        } else {
            self.step(w, gap_prob)?;
        }
        self.steps += 1;
        Ok(())
    }
}
