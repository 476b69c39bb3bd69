//! Feature and bar row types: what the feature machines of `daedalus-operators` produce and the
//! dataset encoders of [`crate::datasets`] write (CONTRACT §4, §5).
//!
//! They live in the model, not beside the machines, so the sinks depend on the shape of a row and
//! not on the code that computes it.

use crate::fixed::Qty;
use crate::time::Nanos;

/// One `silver/book` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookFeatureRow {
    /// Event (ordering) time of the message.
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue update id.
    pub seq: Option<u64>,
    /// Mid-stream snapshot or gap.
    pub reset: bool,
    /// Sequence gap detected at this message.
    pub gap: bool,
    /// The book was crossed/locked after this message and repaired.
    pub uncrossed: bool,
    /// Best bid price.
    pub best_bid: Option<f64>,
    /// Best ask price.
    pub best_ask: Option<f64>,
    /// Best bid size.
    pub bid_size_1: Option<f64>,
    /// Best ask size.
    pub ask_size_1: Option<f64>,
    /// Mid price.
    pub mid: Option<f64>,
    /// Spread.
    pub spread: Option<f64>,
    /// Spread in basis points of mid.
    pub rel_spread_bps: Option<f64>,
    /// Weighted mid.
    pub wmid: Option<f64>,
    /// L1 imbalance.
    pub imbalance_1: Option<f64>,
    /// Depth imbalance over 5 levels.
    pub depth_imbalance_5: Option<f64>,
    /// Depth imbalance over 10 levels.
    pub depth_imbalance_10: Option<f64>,
    /// OFI of this message.
    pub ofi: Option<f64>,
    /// MLOFI levels 1..=M (`mlofi[0] == ofi`).
    pub mlofi: Vec<Option<f64>>,
    /// Trailing OFI window sums, one per configured window.
    pub ofi_windows: Vec<Option<f64>>,
    /// OFI in exact `Qty` units (0 where null).
    pub ofi_units: i128,
    /// MLOFI in exact `Qty` units (0 where null).
    pub mlofi_units: Vec<i128>,
}

/// One `silver/ticker` feature row (the quote's own columns come from the input).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickerFeatureRow {
    /// Mid.
    pub mid: Option<f64>,
    /// Spread.
    pub spread: Option<f64>,
    /// Spread in bps of mid.
    pub rel_spread_bps: Option<f64>,
    /// Weighted mid.
    pub wmid: Option<f64>,
    /// L1 imbalance.
    pub imbalance_1: Option<f64>,
    /// bid >= ask.
    pub crossed: bool,
    /// OFI since the previous quote.
    pub ofi_l1: Option<f64>,
    /// Trailing window sums of `ofi_l1`.
    pub ofi_l1_windows: Vec<Option<f64>>,
}

/// Feature columns of one `silver/trades` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TradeFeatureRow {
    /// +1 buy, −1 sell, 0 unknown.
    pub sign: i8,
    /// price · size.
    pub notional: f64,
    /// As-of book mid.
    pub mid: Option<f64>,
    /// TFI per configured window.
    pub tfi: Vec<Option<f64>>,
    /// VPIN after this trade.
    pub vpin: Option<f64>,
    /// Index of the bucket this trade last contributed to.
    pub vpin_bucket: Option<i64>,
    /// The trade's size in fixed point (validated: positive).
    pub qty: Qty,
}

/// One `silver/intervals` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalRow {
    /// Interval start.
    pub ts_open: Nanos,
    /// Interval end (exclusive).
    pub ts_close: Nanos,
    /// Book messages (silver/book rows) in the interval.
    pub n_book_events: i64,
    /// Trades in the interval.
    pub n_trades: i64,
    /// Σ OFI.
    pub ofi: f64,
    /// Σ MLOFI per level.
    pub mlofi: Vec<f64>,
    /// Buy-aggressor volume.
    pub buy_volume: f64,
    /// Sell-aggressor volume.
    pub sell_volume: f64,
    /// Unknown-side volume.
    pub unknown_volume: f64,
    /// buy − sell.
    pub signed_volume: f64,
    /// (B − S)/(B + S).
    pub tfi: Option<f64>,
    /// Mid at the interval's end (carried).
    pub mid_close: Option<f64>,
    /// mid_close − previous mid_close.
    pub mid_change: Option<f64>,
    /// Time-weighted spread.
    pub spread_mean: Option<f64>,
    /// Kyle's lambda.
    pub kyle_lambda: Option<f64>,
    /// Kyle intercept.
    pub kyle_alpha: Option<f64>,
    /// Kyle R².
    pub kyle_r2: Option<f64>,
    /// VPIN of the last completed bucket.
    pub vpin: Option<f64>,
    /// A reset or gap happened in the interval.
    pub reset: bool,
}

/// Thresholds an AFML bar was closed with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AfmlAudit {
    /// |θ| (imbalance) or max(θ_buy, θ_sell) (runs) at close.
    pub theta: f64,
    /// Expected ticks per bar used.
    pub exp_num_ticks: f64,
    /// Expected imbalance (or max expected run proportion) used.
    pub exp_imbalance: f64,
}

/// One `gold/bars` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarRow {
    /// Bar start.
    pub ts_open: Nanos,
    /// Bar end (exclusive).
    pub ts_close: Nanos,
    /// First trade time.
    pub first_trade_ts: Option<Nanos>,
    /// Last trade time.
    pub last_trade_ts: Option<Nanos>,
    /// 0, 1, 2, … within (builder, UTC date of ts_open).
    pub bar_seq: i64,
    /// The bar is closed.
    pub is_complete: bool,
    /// First trade price.
    pub open: Option<f64>,
    /// Highest price.
    pub high: Option<f64>,
    /// Lowest price.
    pub low: Option<f64>,
    /// Last trade price.
    pub close: Option<f64>,
    /// quote_volume / volume.
    pub vwap: Option<f64>,
    /// Σ size.
    pub volume: f64,
    /// Σ price · size.
    pub quote_volume: f64,
    /// Trades (fragments for split bars).
    pub trade_count: i64,
    /// Trades whose first fragment is in this bar.
    pub trade_count_started: i64,
    /// Buy-aggressor volume.
    pub buy_volume: f64,
    /// Sell-aggressor volume.
    pub sell_volume: f64,
    /// Unknown-side volume.
    pub unknown_volume: f64,
    /// Buy trades.
    pub buy_count: i64,
    /// Sell trades.
    pub sell_count: i64,
    /// Unknown-side trades.
    pub unknown_count: i64,
    /// Σ book OFI flow.
    pub ofi: f64,
    /// buy − sell.
    pub signed_volume: f64,
    /// (buy − sell)/(buy + sell).
    pub tfi: Option<f64>,
    /// VPIN of the last completed bucket.
    pub vpin: Option<f64>,
    /// Bar-level Kyle lambda.
    pub kyle_lambda: Option<f64>,
    /// Mid when the bar opens.
    pub mid_open: Option<f64>,
    /// Mid when the bar closes.
    pub mid_close: Option<f64>,
    /// Time-weighted spread.
    pub spread_mean: Option<f64>,
    /// AFML thresholds used (AFML bars only).
    pub audit: Option<AfmlAudit>,
}
