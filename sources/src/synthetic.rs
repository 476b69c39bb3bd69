//! A deterministic synthetic multi-market bronze root (`daedalus gen`).
//!
//! **Model.** Each market keeps an integer L2 book (prices in ticks, sizes in lots) evolving by
//! limit adds (mostly near the top, sometimes improving the spread), cancels and market orders.
//! A market order walks the opposite side from the best level: every level it touches gives a
//! trade row at that level's price (all fills of one order share a timestamp) *and* the book
//! message removing that liquidity, so trades and book changes agree. Sizes are heavy-tailed
//! (log-normal lots), arrivals are exponential with an intraday-varying rate, `ts_recv` trails
//! `ts_event` by a small random latency, a full snapshot opens each market and each UTC day and
//! repeats periodically, and a few sequence gaps are injected (a message id skipped), each
//! followed shortly by a snapshot so the book recovers. The venue BBO (`ticker`) is emitted after
//! every message that changes the top of book.
//!
//! **Determinism.** Every market has its own `ChaCha8Rng` seeded from `(seed, market index)`;
//! markets are generated one after another into a [`BronzeWriter`]; nothing depends on hash
//! order, wall clock or threads. The same config gives byte-identical files.
//!
//! **Memory.** Streaming: rows go to the writer as they are made; the writer encodes every
//! `16 Ki` rows per partition and keeps only one row group open per file, so memory does not
//! grow with `events`.

use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::{Date, NANOS_PER_DAY, NANOS_PER_SEC, Nanos};
use daedalus_sinks::bronze::BronzeWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, LogNormal};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Generator parameters.
#[derive(Debug, Clone, Serialize)]
pub struct GenConfig {
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Total bronze rows across markets (book + trades + ticker).
    pub events: u64,
    /// Number of markets (from [`market_templates`], in order).
    pub markets: usize,
    /// Number of UTC days.
    pub days: u32,
    /// First UTC day.
    pub start_date: Date,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            events: 200_000,
            markets: 4,
            days: 1,
            start_date: Date {
                year: 2024,
                month: 1,
                day: 1,
            },
        }
    }
}

/// What was generated.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GenReport {
    /// Per market: exchange, symbol, book rows, trade rows, ticker rows, gaps injected, snapshots.
    pub markets: Vec<(String, String, u64, u64, u64, u64, u64)>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Rows written in all.
    pub events: u64,
}

/// Generator errors.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Bad parameters.
    #[error("gen: {0}")]
    Config(String),
    /// Writing failed.
    #[error(transparent)]
    Sink(#[from] daedalus_sinks::SinkError),
}

struct Template {
    exchange: &'static str,
    symbol: &'static str,
    /// Initial mid in ticks.
    mid_ticks: i64,
    /// Decimals of the tick size (price = ticks / 10^dec).
    price_dec: i32,
    /// Decimals of the lot size.
    size_dec: i32,
    /// Median order size in lots.
    median_lots: f64,
    /// Relative activity.
    activity: f64,
}

const TEMPLATES: [Template; 6] = [
    Template {
        exchange: "binance",
        symbol: "BTC-USDT",
        mid_ticks: 6_000_000,
        price_dec: 2,
        size_dec: 5,
        median_lots: 2_000.0,
        activity: 1.0,
    },
    Template {
        exchange: "binance",
        symbol: "BTC-USDC",
        mid_ticks: 6_000_500,
        price_dec: 2,
        size_dec: 5,
        median_lots: 1_500.0,
        activity: 0.6,
    },
    Template {
        exchange: "binance-futures",
        symbol: "BTC-USDT-PERP",
        mid_ticks: 599_900,
        price_dec: 1,
        size_dec: 3,
        median_lots: 20.0,
        activity: 1.2,
    },
    Template {
        exchange: "coinbase",
        symbol: "ETH-USD",
        mid_ticks: 300_000,
        price_dec: 2,
        size_dec: 4,
        median_lots: 500.0,
        activity: 0.8,
    },
    Template {
        exchange: "binance",
        symbol: "ETH-USDT",
        mid_ticks: 300_010,
        price_dec: 2,
        size_dec: 4,
        median_lots: 600.0,
        activity: 0.9,
    },
    Template {
        exchange: "bybit",
        symbol: "SOL-USDT-PERP",
        mid_ticks: 15_000,
        price_dec: 2,
        size_dec: 1,
        median_lots: 30.0,
        activity: 0.7,
    },
];

/// The market templates `(exchange, symbol)` in the order `--markets K` takes them.
pub fn market_templates() -> Vec<(&'static str, &'static str)> {
    TEMPLATES.iter().map(|t| (t.exchange, t.symbol)).collect()
}

/// One market's simulation.
struct Sim<'a> {
    t: &'a Template,
    market: Market,
    rng: ChaCha8Rng,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    seq: u64,
    trade_id: u64,
    ts: Nanos,
    size_dist: LogNormal<f64>,
    rows: (u64, u64, u64),
    gaps: u64,
    snapshots: u64,
    snapshot_due: Option<u64>,
    msgs_since_snapshot: u64,
    last_top: Option<(i64, i64, i64, i64)>,
    scratch: Vec<BookRow>,
    last_recv: Nanos,
    steps: u64,
}

const SNAPSHOT_EVERY: u64 = 20_000;
const DEPTH: i64 = 60;
const MAX_LEVELS: usize = 400;

impl<'a> Sim<'a> {
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

    fn init_book(&mut self) {
        let mid = self.t.mid_ticks;
        for i in 1..=DEPTH {
            let b = self.lots() * (1 + i / 10);
            let a = self.lots() * (1 + i / 10);
            self.bids.insert(mid - i, b);
            self.asks.insert(mid + i, a);
        }
    }

    fn snapshot(&mut self, w: &mut BronzeWriter) -> Result<(), GenError> {
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
    ) -> Result<(), GenError> {
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

    fn ticker_if_top_changed(&mut self, w: &mut BronzeWriter) -> Result<(), GenError> {
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

    /// One step of the order flow.
    fn step(&mut self, w: &mut BronzeWriter, gap_prob: f64) -> Result<(), GenError> {
        let inject_gap = self.rng.gen_bool(gap_prob);
        let u: f64 = self.rng.r#gen();
        let side = if self.rng.gen_bool(0.5) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let (best_bid, best_ask) = (
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
        );
        if u < 0.12 {
            // Market order: walk the opposite side.
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
        } else if u < 0.62 {
            // Limit add: mostly at or near the top; sometimes inside the spread.
            let book_len = match side {
                BookSide::Bid => self.bids.len(),
                BookSide::Ask => self.asks.len(),
            };
            if book_len >= MAX_LEVELS {
                // Trim the deepest level instead (emitted, so bronze stays consistent).
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
                self.diff(w, &[(side, p, 0)], inject_gap)?;
            } else {
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
                self.diff(w, &[(side, p, q)], inject_gap)?;
            }
        } else {
            // Cancel part or all of a level near the top.
            let book = match side {
                BookSide::Bid => &mut self.bids,
                BookSide::Ask => &mut self.asks,
            };
            if book.len() > 10 {
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
                self.diff(w, &[(side, p, left)], inject_gap)?;
            }
        }
        self.ticker_if_top_changed(w)
    }
}

/// Bronze rows generated so far in this process (for progress displays).
pub static EVENTS_GENERATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Generates the synthetic root.
pub fn generate(cfg: &GenConfig, out_root: &Path) -> Result<GenReport, GenError> {
    if cfg.markets == 0 || cfg.markets > TEMPLATES.len() {
        return Err(GenError::Config(format!(
            "--markets must be in 1..={}",
            TEMPLATES.len()
        )));
    }
    if cfg.days == 0 {
        return Err(GenError::Config("--days must be positive".into()));
    }
    if cfg.events == 0 {
        return Err(GenError::Config("--events must be positive".into()));
    }
    let mut w = BronzeWriter::new(out_root, &format!("synthetic-{}.parquet", cfg.seed));
    w.set_flush_rows(16 * 1024);
    let start = cfg.start_date.start_nanos();
    let span = i64::from(cfg.days) * NANOS_PER_DAY;
    let templates = &TEMPLATES[..cfg.markets];
    let total_activity: f64 = templates.iter().map(|t| t.activity).sum();
    let mut report = GenReport::default();
    let mut assigned = 0u64;
    for (i, t) in templates.iter().enumerate() {
        let budget = if i + 1 == templates.len() {
            cfg.events - assigned
        } else {
            ((cfg.events as f64) * t.activity / total_activity) as u64
        };
        assigned += budget;
        let market =
            Market::new(t.exchange, t.symbol).map_err(|e| GenError::Config(e.to_string()))?;
        let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut sim = Sim {
            t,
            market,
            rng: ChaCha8Rng::seed_from_u64(seed),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            seq: 1_000,
            trade_id: 0,
            ts: start,
            size_dist: LogNormal::new(t.median_lots.ln(), 1.0)
                .map_err(|e| GenError::Config(e.to_string()))?,
            rows: (0, 0, 0),
            gaps: 0,
            snapshots: 0,
            snapshot_due: None,
            msgs_since_snapshot: 0,
            last_top: None,
            scratch: Vec::new(),
            last_recv: start,
            steps: 0,
        };
        sim.init_book();
        // Roughly 2.2 rows per step; mean inter-arrival spreads the budget over the span.
        let steps = (budget as f64 / 2.2).max(1.0);
        let mean_gap = span as f64 / steps;
        // About 3 gaps per market per run.
        let gap_prob = (3.0 / steps).min(0.01);
        sim.snapshot(&mut w)?;
        let mut day = 0i64;
        let mut reported = 0u64;
        while sim.rows.0 + sim.rows.1 + sim.rows.2 < budget {
            // Progress for the command line, every 4 Ki rows (one uncontended atomic add).
            let done_now = sim.rows.0 + sim.rows.1 + sim.rows.2;
            if done_now >= reported + 4096 {
                EVENTS_GENERATED
                    .fetch_add(done_now - reported, std::sync::atomic::Ordering::Relaxed);
                reported = done_now;
            }
            // Intraday-varying rate: busier mid-day (UTC), never zero.
            let phase = ((sim.ts - start).rem_euclid(NANOS_PER_DAY)) as f64 / NANOS_PER_DAY as f64;
            let rate = 1.0 + 0.6 * (std::f64::consts::TAU * (phase - 0.25)).sin();
            // Adaptive mean gap: the remaining budget spread over the remaining time, at the
            // rows-per-step seen so far, so no market runs out of day (no pile-up at its end).
            let done = sim.rows.0 + sim.rows.1 + sim.rows.2;
            let steps_done = sim.steps.max(1) as f64;
            let rows_per_step = if sim.steps > 100 {
                done as f64 / steps_done
            } else {
                2.2
            };
            let steps_left = ((budget - done) as f64 / rows_per_step).max(1.0);
            let time_left = (start + span - sim.ts) as f64;
            let mean_gap = (time_left / steps_left).min(mean_gap * 4.0);
            let dt = (sim.rng.sample::<f64, _>(Exp1) * mean_gap / rate) as i64;
            // Occasionally several events in the same nanosecond-free burst: dt 0.
            let dt = if sim.rng.gen_bool(0.05) { 0 } else { dt.max(1) };
            sim.ts = (sim.ts + dt).min(start + span - 1);
            let d = (sim.ts - start) / NANOS_PER_DAY;
            if d > day {
                day = d;
                sim.snapshot(&mut w)?;
            } else if sim.snapshot_due.is_some_and(|s| sim.seq >= s)
                || sim.msgs_since_snapshot >= SNAPSHOT_EVERY
            {
                sim.snapshot(&mut w)?;
            } else {
                sim.step(&mut w, gap_prob)?;
            }
            sim.steps += 1;
        }
        report.markets.push((
            t.exchange.into(),
            t.symbol.into(),
            sim.rows.0,
            sim.rows.1,
            sim.rows.2,
            sim.gaps,
            sim.snapshots,
        ));
        report.events += sim.rows.0 + sim.rows.1 + sim.rows.2;
    }
    let _ = NANOS_PER_SEC;
    report.files = w.commit()?.into_iter().map(|(_, p, _)| p).collect();
    Ok(report)
}
