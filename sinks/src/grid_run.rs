//! Runs of repeated grid rows kept as a first row and a count (issue 16).
//!
//! Across a gap in the data every empty interval (and empty time bar) after the first few is the
//! same row moved one grid step later: flow sums 0, the carried mid, spread and VPIN, and a Kyle
//! window that holds only empty steps. A year of 1 s intervals is 31.5 million such rows; encoding
//! them where they are produced would hold every one in memory until the sink runs (the market
//! operator hands the sink its batches after each activation). So a batch that starts with such a
//! run keeps its first row and a count, and the sink encodes it when it writes it, one batch at a
//! time ([`GridRun::record_batch`]): memory no longer depends on the gap's length.
//!
//! Exactness: a row joins a run only when it is bit for bit the run's first row moved by whole
//! grid steps ([`GridRow::is_shifted`]: floats compared by their bits, so `-0.0` never stands for
//! `0.0`), and batches are cut where encoding the rows one by one cuts them, so the written
//! files are byte-identical to the eager encoding.

use daedalus_model::datasets::{Encoder, GoldBarsEncoder, SilverIntervalsEncoder};
use daedalus_model::features::{AfmlAudit, BarRow, IntervalRow};
use daedalus_model::time::Nanos;
use std::sync::Arc;

/// A row on a time grid (`[ts_open, ts_close)` one grid step wide).
pub(crate) trait GridRow: Clone {
    /// A run of `count` rows starting with `first`.
    fn into_run(first: Self, count: usize, ctx: &RunContext) -> GridRun;
    /// `self` moved `steps` grid steps later.
    fn shifted(&self, steps: i64) -> Self;
    /// True when `other` is bit for bit `self.shifted(steps)`.
    fn is_shifted(&self, other: &Self, steps: i64) -> bool;
}

/// What encoding a run needs besides its rows.
#[derive(Debug, Clone)]
pub(crate) struct RunContext {
    pub(crate) mlofi_levels: usize,
    pub(crate) symbol_norm: Arc<str>,
}

/// `ts + steps * width`, `None` on overflow.
fn moved(ts: Nanos, width: Nanos, steps: i64) -> Option<Nanos> {
    steps.checked_mul(width).and_then(|d| ts.checked_add(d))
}

/// The grid bounds of `a` moved by `steps` equal `b`'s.
fn bounds_shifted(a: (Nanos, Nanos), b: (Nanos, Nanos), steps: i64) -> bool {
    let w = a.1 - a.0;
    moved(a.0, w, steps) == Some(b.0) && moved(a.1, w, steps) == Some(b.1)
}

#[inline]
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

#[inline]
fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
    a.map(f64::to_bits) == b.map(f64::to_bits)
}

impl GridRow for IntervalRow {
    fn into_run(first: Self, count: usize, ctx: &RunContext) -> GridRun {
        GridRun::Intervals {
            first: Box::new(first),
            count,
            mlofi_levels: ctx.mlofi_levels,
            symbol_norm: ctx.symbol_norm.clone(),
        }
    }

    fn shifted(&self, steps: i64) -> Self {
        let w = self.ts_close - self.ts_open;
        IntervalRow {
            ts_open: self.ts_open + steps * w,
            ts_close: self.ts_close + steps * w,
            ..self.clone()
        }
    }

    fn is_shifted(&self, o: &Self, steps: i64) -> bool {
        // Destructured whole: a new field fails to compile here until it is compared.
        let IntervalRow {
            ts_open,
            ts_close,
            n_book_events,
            n_trades,
            ofi,
            mlofi,
            buy_volume,
            sell_volume,
            unknown_volume,
            signed_volume,
            tfi,
            mid_close,
            mid_change,
            spread_mean,
            kyle_lambda,
            kyle_alpha,
            kyle_r2,
            vpin,
            reset,
        } = self;
        bounds_shifted((*ts_open, *ts_close), (o.ts_open, o.ts_close), steps)
            && (*n_book_events, *n_trades, *reset) == (o.n_book_events, o.n_trades, o.reset)
            && mlofi.len() == o.mlofi.len()
            && mlofi.iter().zip(&o.mlofi).all(|(a, b)| same(*a, *b))
            && [ofi, buy_volume, sell_volume, unknown_volume, signed_volume]
                .into_iter()
                .zip([
                    o.ofi,
                    o.buy_volume,
                    o.sell_volume,
                    o.unknown_volume,
                    o.signed_volume,
                ])
                .all(|(a, b)| same(*a, b))
            && [
                tfi,
                mid_close,
                mid_change,
                spread_mean,
                kyle_lambda,
                kyle_alpha,
                kyle_r2,
                vpin,
            ]
            .into_iter()
            .zip([
                o.tfi,
                o.mid_close,
                o.mid_change,
                o.spread_mean,
                o.kyle_lambda,
                o.kyle_alpha,
                o.kyle_r2,
                o.vpin,
            ])
            .all(|(a, b)| same_opt(*a, b))
    }
}

fn same_audit(a: Option<AfmlAudit>, b: Option<AfmlAudit>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            same(a.theta, b.theta)
                && same(a.exp_num_ticks, b.exp_num_ticks)
                && same(a.exp_imbalance, b.exp_imbalance)
        }
        _ => false,
    }
}

impl GridRow for BarRow {
    fn into_run(first: Self, count: usize, ctx: &RunContext) -> GridRun {
        GridRun::Bars {
            first: Box::new(first),
            count,
            symbol_norm: ctx.symbol_norm.clone(),
        }
    }

    /// Rows of one batch share a UTC date, so `bar_seq` goes up by one a step.
    fn shifted(&self, steps: i64) -> Self {
        let w = self.ts_close - self.ts_open;
        BarRow {
            ts_open: self.ts_open + steps * w,
            ts_close: self.ts_close + steps * w,
            bar_seq: self.bar_seq + steps,
            ..self.clone()
        }
    }

    fn is_shifted(&self, o: &Self, steps: i64) -> bool {
        let BarRow {
            ts_open,
            ts_close,
            first_trade_ts,
            last_trade_ts,
            bar_seq,
            is_complete,
            open,
            high,
            low,
            close,
            vwap,
            volume,
            quote_volume,
            trade_count,
            trade_count_started,
            buy_volume,
            sell_volume,
            unknown_volume,
            buy_count,
            sell_count,
            unknown_count,
            ofi,
            signed_volume,
            tfi,
            vpin,
            kyle_lambda,
            mid_open,
            mid_close,
            spread_mean,
            audit,
        } = self;
        let ints = [
            *trade_count,
            *trade_count_started,
            *buy_count,
            *sell_count,
            *unknown_count,
        ];
        let o_ints = [
            o.trade_count,
            o.trade_count_started,
            o.buy_count,
            o.sell_count,
            o.unknown_count,
        ];
        bounds_shifted((*ts_open, *ts_close), (o.ts_open, o.ts_close), steps)
            && bar_seq.checked_add(steps) == Some(o.bar_seq)
            && (*first_trade_ts, *last_trade_ts, *is_complete)
                == (o.first_trade_ts, o.last_trade_ts, o.is_complete)
            && ints == o_ints
            && [
                volume,
                quote_volume,
                buy_volume,
                sell_volume,
                unknown_volume,
                ofi,
                signed_volume,
            ]
            .into_iter()
            .zip([
                o.volume,
                o.quote_volume,
                o.buy_volume,
                o.sell_volume,
                o.unknown_volume,
                o.ofi,
                o.signed_volume,
            ])
            .all(|(a, b)| same(*a, b))
            && [
                open,
                high,
                low,
                close,
                vwap,
                tfi,
                vpin,
                kyle_lambda,
                mid_open,
                mid_close,
                spread_mean,
            ]
            .into_iter()
            .zip([
                o.open,
                o.high,
                o.low,
                o.close,
                o.vwap,
                o.tfi,
                o.vpin,
                o.kyle_lambda,
                o.mid_open,
                o.mid_close,
                o.spread_mean,
            ])
            .all(|(a, b)| same_opt(*a, b))
            && same_audit(*audit, o.audit)
    }
}

/// A dataset encoder that takes rows of type `R`.
pub(crate) trait AppendRow<R>: Encoder {
    fn append_row(&mut self, r: &R);
}

impl AppendRow<IntervalRow> for SilverIntervalsEncoder {
    fn append_row(&mut self, r: &IntervalRow) {
        self.append(r);
    }
}

impl AppendRow<BarRow> for GoldBarsEncoder {
    fn append_row(&mut self, r: &BarRow) {
        self.append(r);
    }
}

/// `count` rows: `first` moved 0, 1, … `count - 1` grid steps, not yet encoded.
#[derive(Debug, Clone)]
pub enum GridRun {
    /// `silver/intervals` rows, with what their encoder needs.
    Intervals {
        /// The first row.
        first: Box<IntervalRow>,
        /// Rows in the run.
        count: usize,
        /// MLOFI depth of the schema.
        mlofi_levels: usize,
        /// `symbol_norm` written to every row.
        symbol_norm: Arc<str>,
    },
    /// `gold/bars` rows.
    Bars {
        /// The first row.
        first: Box<BarRow>,
        /// Rows in the run.
        count: usize,
        /// `symbol_norm` written to every row.
        symbol_norm: Arc<str>,
    },
}

fn encode<R: GridRow, E: AppendRow<R>>(
    mut enc: E,
    first: &R,
    count: usize,
) -> arrow_array::RecordBatch {
    for i in 0..count {
        enc.append_row(&first.shifted(i as i64));
    }
    enc.finish()
}

impl GridRun {
    /// Rows in the run.
    pub fn rows(&self) -> usize {
        match self {
            GridRun::Intervals { count, .. } | GridRun::Bars { count, .. } => *count,
        }
    }

    /// The rows encoded, as one batch of their dataset.
    pub fn record_batch(&self) -> arrow_array::RecordBatch {
        match self {
            GridRun::Intervals {
                first,
                count,
                mlofi_levels,
                symbol_norm,
            } => encode(
                SilverIntervalsEncoder::new(*mlofi_levels, symbol_norm),
                first.as_ref(),
                *count,
            ),
            GridRun::Bars {
                first,
                count,
                symbol_norm,
            } => encode(GoldBarsEncoder::new(symbol_norm), first.as_ref(), *count),
        }
    }
}
