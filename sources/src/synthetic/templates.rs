//! The market templates `daedalus gen` draws from.

/// One market's parameters.
pub(super) struct Template {
    pub(super) exchange: &'static str,
    pub(super) symbol: &'static str,
    /// Initial mid in ticks.
    pub(super) mid_ticks: i64,
    /// Decimals of the tick size (price = ticks / 10^dec).
    pub(super) price_dec: i32,
    /// Decimals of the lot size.
    pub(super) size_dec: i32,
    /// Median order size in lots.
    pub(super) median_lots: f64,
    /// Relative activity.
    pub(super) activity: f64,
}

/// The templates, in the order `--markets K` takes them.
pub(super) const TEMPLATES: [Template; 6] = [
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
