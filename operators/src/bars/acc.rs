//! The accumulator of one bar, shared by every bar family: OHLC, volumes and counts by side in
//! exact `Qty` units, and the mid in force when a trade-driven bar opens.

use daedalus_model::fixed::units_to_f64;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};

/// Accumulators of one bar (serialized in checkpoints: field order is the wire layout).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Acc {
    pub(super) first_ts: Option<Nanos>,
    pub(super) last_ts: Option<Nanos>,
    pub(super) open: Option<f64>,
    pub(super) high: f64,
    pub(super) low: f64,
    pub(super) close: Option<f64>,
    pub(super) volume: i128,
    pub(super) quote: f64,
    pub(super) count: i64,
    pub(super) started: i64,
    pub(super) buy: i128,
    pub(super) sell: i128,
    pub(super) unknown: i128,
    pub(super) buy_n: i64,
    pub(super) sell_n: i64,
    pub(super) unknown_n: i64,
    pub(super) mid_open: Option<f64>,
}

impl Acc {
    /// Adds `units` of a trade (or of a split trade's fragment; `started`: its first one).
    #[inline]
    pub(super) fn add(
        &mut self,
        ts: Nanos,
        price: f64,
        units: i64,
        side: TradeSide,
        started: bool,
    ) {
        if self.open.is_none() {
            self.open = Some(price);
            self.high = price;
            self.low = price;
            self.first_ts = Some(ts);
        }
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = Some(price);
        self.last_ts = Some(ts);
        let u = i128::from(units);
        self.volume += u;
        self.quote += price * units_to_f64(u);
        self.count += 1;
        self.started += i64::from(started);
        match side {
            TradeSide::Buy => {
                self.buy += u;
                self.buy_n += 1;
            }
            TradeSide::Sell => {
                self.sell += u;
                self.sell_n += 1;
            }
            TradeSide::Unknown => {
                self.unknown += u;
                self.unknown_n += 1;
            }
        }
    }
}
