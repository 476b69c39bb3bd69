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
//! **Planted cross-market structure.** The BTC markets follow a common fair value `F(t)` (a
//! seeded random walk, [`factor`]): half the order-flow steps of each pull its mid a tick toward
//! its target — `F(t)` for the USDT spot, `F(t - 1 min)` for the USDC spot ([`USDC_LAG_NS`]), and
//! `F(t)·(1 + basis(t))` for the perpetual, with the basis a one-day sinusoid of mean
//! [`PERP_BASIS_MEAN`] (3 bps) and amplitude [`PERP_BASIS_AMPLITUDE`] (2 bps). The ETH and SOL
//! markets walk freely as before.
//!
//! **Determinism.** Every market has its own `ChaCha8Rng` seeded from `(seed, market index)`;
//! markets are generated one after another into a [`BronzeWriter`]; nothing depends on hash
//! order, wall clock or threads. The same config gives byte-identical files.
//!
//! **Memory.** Streaming: rows go to the writer as they are made; the writer encodes every
//! `16 Ki` rows per partition and keeps only one row group open per file, so memory does not
//! grow with `events`.

mod factor;
mod sim;
mod templates;

pub use templates::{PERP_BASIS_AMPLITUDE, PERP_BASIS_MEAN, USDC_LAG_NS};

use crate::error::{Result, SourceError};
use daedalus_model::time::{Date, NANOS_PER_DAY};
use daedalus_sinks::bronze::BronzeWriter;
use serde::Serialize;
use sim::Sim;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use templates::{TEMPLATES, Template};

/// Generator parameters.
#[derive(Debug, Clone, Serialize)]
pub struct GenConfig {
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Total bronze rows across markets (book + trades + ticker).
    pub events: u64,
    /// Number of markets, taken in order from the built-in templates.
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

/// Bronze rows generated so far in this process (for progress displays).
pub static EVENTS_GENERATED: AtomicU64 = AtomicU64::new(0);

/// Generates the synthetic root.
pub fn generate(cfg: &GenConfig, out_root: &Path) -> Result<GenReport> {
    validate(cfg)?;
    let mut w = BronzeWriter::new(out_root, &format!("synthetic-{}.parquet", cfg.seed));
    w.set_flush_rows(16 * 1024);
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
        let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let sim = run_market(cfg, t, seed, budget, &mut w)?;
        report.markets.push((
            t.exchange.into(),
            t.symbol.into(),
            sim.rows.0,
            sim.rows.1,
            sim.rows.2,
            sim.gaps,
            sim.snapshots,
        ));
        report.events += sim.total_rows();
    }
    report.files = w.commit()?.into_iter().map(|(_, p, _)| p).collect();
    Ok(report)
}

fn validate(cfg: &GenConfig) -> Result<()> {
    if cfg.markets == 0 || cfg.markets > TEMPLATES.len() {
        return Err(SourceError::Config(format!(
            "--markets must be in 1..={}",
            TEMPLATES.len()
        )));
    }
    if cfg.days == 0 {
        return Err(SourceError::Config("--days must be positive".into()));
    }
    if cfg.events == 0 {
        return Err(SourceError::Config("--events must be positive".into()));
    }
    Ok(())
}

/// Simulates market `t` until it has written `budget` rows.
fn run_market<'t>(
    cfg: &GenConfig,
    t: &'t Template,
    seed: u64,
    budget: u64,
    w: &mut BronzeWriter,
) -> Result<Sim<'t>> {
    let start = cfg.start_date.start_nanos();
    let span = i64::from(cfg.days) * NANOS_PER_DAY;
    let mut sim = Sim::new(t, seed, start, cfg.seed)?;
    sim.init_book();
    // Roughly 2.2 rows per step; mean inter-arrival spreads the budget over the span.
    let steps = (budget as f64 / 2.2).max(1.0);
    let mean_gap = span as f64 / steps;
    // About 3 gaps per market per run: a gap per step with probability 3 / steps. `steps`
    // assumes ~2.2 rows per step, true of a freely walking market; a market that follows the
    // fair value writes several times that per step (a pull moves up to 17 levels in one
    // message), so it makes far fewer steps and would get ~1 gap or none. For it the expected
    // step count is re-estimated from the rows per step written so far.
    let fixed_gap_prob = (3.0 / steps).min(0.01);
    sim.snapshot(w)?;
    let opening_rows = sim.total_rows();
    let mut day = 0i64;
    let mut reported = 0u64;
    while sim.total_rows() < budget {
        // Progress for the command line, every 4 Ki rows (one uncontended atomic add).
        let done_now = sim.total_rows();
        if done_now >= reported + 4096 {
            EVENTS_GENERATED.fetch_add(done_now - reported, Ordering::Relaxed);
            reported = done_now;
        }
        sim.advance_clock(start, span, budget, mean_gap);
        let d = (sim.ts - start) / NANOS_PER_DAY;
        let new_day = d > day;
        day = day.max(d);
        let gap_prob = if sim.follows() && sim.steps() > 0 {
            let rows_per_step = (sim.total_rows() - opening_rows) as f64 / sim.steps() as f64;
            (3.0 * rows_per_step / budget as f64).min(0.01)
        } else {
            fixed_gap_prob
        };
        sim.next_message(w, new_day, gap_prob)?;
    }
    Ok(sim)
}
