//! The `gold/bars` row and the AFML audit it carries: what every bar family emits.

use daedalus_model::time::Nanos;

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
