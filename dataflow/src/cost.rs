//! The grid-row estimate of a run, made before it starts (issue 16).
//!
//! Most of a run's cost follows its input, but the interval and time-bar grids follow the time
//! the input spans: every grid step between a market's first and last event is a row (CONTRACT
//! §9.6), empty or not. One stray timestamp years away, or `--interval 100ms` over a long
//! root, turns a small input into billions of rows. So the CLI estimates the grid rows from the
//! bronze partitions' dates before anything is written and refuses above
//! `--max-grid-rows` (default [`MAX_GRID_ROWS`]) unless `--force`.
//!
//! The estimate per market: the days from its first bronze book or trades date (or, when it
//! resumes, the date its checkpoint has processed until) to its last, each day contributing
//! `86400 s / width` rows per interval grid and per time-bar spec. It is an upper bound of the
//! grid rows (the range starts and ends at events, not at midnight); event-driven bars (tick,
//! volume, dollar, AFML) follow the input and are not counted.

use crate::plan::RunPlan;
use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Date, NANOS_PER_DAY};
use daedalus_operators::bars::BarSpec;
use std::collections::BTreeMap;

/// Grid rows (intervals and time bars, all markets) above which a run needs `--force` (the
/// default of `--max-grid-rows`): about 16 market-years of 1 s intervals, or 1.6 of 100 ms.
pub const MAX_GRID_ROWS: u64 = 500_000_000;

/// Approximate bytes on disk per grid row, for the message: a populated 1 s interval row takes
/// about 60 bytes compressed, an empty one 13.
pub const BYTES_PER_GRID_ROW: u64 = 60;

/// The estimate of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridCost {
    /// Grid rows over every market.
    pub rows: u64,
    /// The market with the most grid rows: (market, its rows, days it spans).
    pub largest: Option<(Market, u64, i64)>,
}

impl GridCost {
    /// Approximate bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.rows.saturating_mul(BYTES_PER_GRID_ROW)
    }
}

/// Grid rows one day contributes to a market: `86400 s / width` per interval grid and per time
/// bar spec of the run.
fn rows_per_day(plan: &RunPlan) -> u64 {
    let flags = plan.template.flags();
    let intervals = (plan.template.intervals().iter())
        .filter(|_| flags.intervals)
        .map(|(_, c)| NANOS_PER_DAY / c.width);
    let bars = (plan.template.bars().iter())
        .filter(|_| flags.bars)
        .filter_map(|(_, s)| match s {
            BarSpec::Time { width } if *width > 0 => Some(NANOS_PER_DAY / width),
            _ => None,
        });
    intervals.chain(bars).map(|n| n as u64).sum()
}

/// The first and last bronze book or trades date of each market of the plan (ticker rows do not
/// extend the grid range).
fn date_ranges(plan: &RunPlan) -> BTreeMap<u32, (Date, Date)> {
    let mut out: BTreeMap<u32, (Date, Date)> = BTreeMap::new();
    for p in &plan.partitions {
        if p.partition.dataset == Dataset::Ticker {
            continue;
        }
        let d = p.partition.date;
        let e = out.entry(p.market).or_insert((d, d));
        e.0 = e.0.min(d);
        e.1 = e.1.max(d);
    }
    out
}

/// Estimates the run's grid rows; `resumed_from(m)` is the event time (ns) a market's checkpoint
/// has processed until, if any.
pub fn estimate(plan: &RunPlan, resumed_from: &dyn Fn(&Market) -> Option<i64>) -> GridCost {
    let per_day = rows_per_day(plan);
    let mut cost = GridCost {
        rows: 0,
        largest: None,
    };
    for (id, (first, last)) in date_ranges(plan) {
        let market = &plan.markets[id as usize];
        let from = resumed_from(market)
            .map(|t| Date::of_nanos(t).max(first))
            .unwrap_or(first);
        let days = (last.days_since_epoch() - from.days_since_epoch() + 1).max(0);
        let rows = per_day.saturating_mul(days as u64);
        cost.rows = cost.rows.saturating_add(rows);
        if cost.largest.as_ref().is_none_or(|l| rows > l.1) {
            cost.largest = Some((market.clone(), rows, days));
        }
    }
    cost
}
