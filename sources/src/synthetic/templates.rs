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
    /// How the market follows the common BTC fair value ([`super::factor`]), if it does.
    pub(super) follows: Option<Follow>,
}

/// A market's planted relation to the common fair value `F(t)` (docs/DATA.md, "Planted
/// cross-market structure"): its book is pulled toward `F(t - lag) * (1 + basis(t)) * premium`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Follow {
    /// Lag behind `F` (ns).
    pub(super) lag: i64,
    /// Mean basis over `F` (fraction; 3e-4 = 3 bps).
    pub(super) basis_mean: f64,
    /// Amplitude of the basis's one-day sinusoid (fraction).
    pub(super) basis_amplitude: f64,
}

/// The planted lag of the USDC spot market behind the USDT one.
pub const USDC_LAG_NS: i64 = 60_000_000_000;
/// The planted mean basis of the perpetual over the USDT spot (fraction).
pub const PERP_BASIS_MEAN: f64 = 3e-4;
/// The planted amplitude of the perpetual's basis (one-day sinusoid, fraction).
pub const PERP_BASIS_AMPLITUDE: f64 = 2e-4;

const SPOT: Follow = Follow {
    lag: 0,
    basis_mean: 0.0,
    basis_amplitude: 0.0,
};

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
        follows: Some(SPOT),
    },
    Template {
        exchange: "binance",
        symbol: "BTC-USDC",
        mid_ticks: 6_000_500,
        price_dec: 2,
        size_dec: 5,
        median_lots: 1_500.0,
        activity: 0.6,
        follows: Some(Follow {
            lag: USDC_LAG_NS,
            ..SPOT
        }),
    },
    Template {
        exchange: "binance-futures",
        symbol: "BTC-USDT-PERP",
        mid_ticks: 600_180,
        price_dec: 1,
        size_dec: 3,
        median_lots: 20.0,
        activity: 1.2,
        follows: Some(Follow {
            lag: 0,
            basis_mean: PERP_BASIS_MEAN,
            basis_amplitude: PERP_BASIS_AMPLITUDE,
        }),
    },
    Template {
        exchange: "coinbase",
        symbol: "ETH-USD",
        mid_ticks: 300_000,
        price_dec: 2,
        size_dec: 4,
        median_lots: 500.0,
        activity: 0.8,
        follows: None,
    },
    Template {
        exchange: "binance",
        symbol: "ETH-USDT",
        mid_ticks: 300_010,
        price_dec: 2,
        size_dec: 4,
        median_lots: 600.0,
        activity: 0.9,
        follows: None,
    },
    Template {
        exchange: "bybit",
        symbol: "SOL-USDT-PERP",
        mid_ticks: 15_000,
        price_dec: 2,
        size_dec: 1,
        median_lots: 30.0,
        activity: 0.7,
        follows: None,
    },
];
