//! `silver/intervals` on the epoch grid `[k·D, (k+1)·D)` (CONTRACT §4, §9.5–9.7).
//!
//! **Range.** From the interval of the first book message or trade to that of the last; empty
//! intervals inside are emitted (flow sums 0), none before the first or after the last event.
//! An interval is emitted when a later event proves it complete, or at [`IntervalAggregator::finish`];
//! until then [`IntervalAggregator::pending_since`] reports its `ts_open` so the dataflow holds
//! its capability there.
//!
//! **Values.** Flow sums are exact `Qty`-unit integers. `mid_close` is the mid after the last book
//! message before the interval's end, carried forward (null while the book has no mid);
//! `mid_change` is `mid_close` minus the previous emitted interval's (null if either is null).
//! `spread_mean` is the time-weighted mean over `[ts_open, ts_close)` of the spread in force
//! (carried in from before the interval), weighting only spans where it is defined; null if
//! none. `vpin` is the value of the last bucket completed by a trade before the interval's end
//! (carried). `reset` is true when any reset or gap row falls in the interval. Kyle: each emitted
//! interval is one step of a [`RollingKyle`] window with observation `(signed_volume,
//! mid_change)` when `mid_change` is non-null.

use crate::kyle::RollingKyle;
use daedalus_model::fixed::{Qty, i128_to_f64, units_to_f64};
use daedalus_model::rows::TradeSide;
use daedalus_model::time::{NANOS_PER_DAY, Nanos};
use serde::{Deserialize, Serialize};

/// Interval parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalConfig {
    /// Grid width D in ns (must divide a day).
    pub width: Nanos,
    /// MLOFI depth M.
    pub mlofi_levels: usize,
    /// Kyle window W.
    pub kyle_window: usize,
}

/// A bad interval configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntervalError {
    /// Width not positive or not dividing a day.
    #[error("interval width {0} ns must be positive and divide a day")]
    Width(Nanos),
}

pub use daedalus_model::features::IntervalRow;

/// Sums of the open interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Open {
    k: i64,
    n_book: i64,
    n_trades: i64,
    ofi: i128,
    mlofi: Vec<i128>,
    buy: i128,
    sell: i128,
    unknown: i128,
    reset: bool,
    /// Σ spread·dt and Σ dt over defined spans so far.
    spread_area: f64,
    spread_time: i64,
}

/// Interval aggregation for one market and one grid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IntervalAggregator {
    cfg: IntervalConfig,
    open: Option<Open>,
    mid: Option<f64>,
    spread: Option<f64>,
    /// Start of the span over which `spread` has been in force (within the open interval).
    spread_since: Nanos,
    vpin: Option<f64>,
    prev_mid_close: Option<f64>,
    emitted_any: bool,
    kyle: RollingKyle,
}

impl IntervalAggregator {
    /// A new aggregator.
    pub fn new(cfg: IntervalConfig) -> Result<Self, IntervalError> {
        if cfg.width <= 0 || NANOS_PER_DAY % cfg.width != 0 {
            return Err(IntervalError::Width(cfg.width));
        }
        Ok(IntervalAggregator {
            kyle: RollingKyle::new(cfg.kyle_window),
            cfg,
            open: None,
            mid: None,
            spread: None,
            spread_since: 0,
            vpin: None,
            prev_mid_close: None,
            emitted_any: false,
        })
    }

    /// `ts_open` of the interval still owed, if any.
    pub fn pending_since(&self) -> Option<Nanos> {
        self.open.as_ref().map(|o| o.k * self.cfg.width)
    }

    fn k_of(&self, ts: Nanos) -> i64 {
        ts.div_euclid(self.cfg.width)
    }

    /// Accumulates the spread in force from `spread_since` to `t` into the open interval.
    fn accrue_spread(&mut self, t: Nanos) {
        if let (Some(o), Some(s)) = (self.open.as_mut(), self.spread) {
            let dt = t - self.spread_since;
            if dt > 0 {
                o.spread_area += s * dt as f64;
                o.spread_time += dt;
            }
        }
        self.spread_since = t;
    }

    /// Closes intervals before the one containing `ts` and opens that one.
    fn roll_to(&mut self, ts: Nanos, out: &mut impl Extend<IntervalRow>) {
        let k = self.k_of(ts);
        match self.open.as_ref().map(|o| o.k) {
            None => {
                self.open = Some(Open {
                    k,
                    mlofi: vec![0; self.cfg.mlofi_levels],
                    ..Open::default()
                });
                self.spread_since = ts;
            }
            Some(open_k) if k > open_k => {
                self.close_open(out);
                for e in open_k + 1..k {
                    self.open = Some(Open {
                        k: e,
                        mlofi: vec![0; self.cfg.mlofi_levels],
                        ..Open::default()
                    });
                    self.spread_since = e * self.cfg.width;
                    self.close_open(out);
                }
                self.open = Some(Open {
                    k,
                    mlofi: vec![0; self.cfg.mlofi_levels],
                    ..Open::default()
                });
                self.spread_since = k * self.cfg.width;
            }
            Some(_) => {}
        }
    }

    fn close_open(&mut self, out: &mut impl Extend<IntervalRow>) {
        let w = self.cfg.width;
        let Some(k) = self.open.as_ref().map(|o| o.k) else {
            return;
        };
        let ts_close = (k + 1) * w;
        self.accrue_spread(ts_close);
        let o = self.open.take().expect("checked");
        let mid_close = self.mid;
        let mid_change = match (mid_close, self.prev_mid_close) {
            (Some(a), Some(b)) if self.emitted_any => Some(a - b),
            _ => None,
        };
        let signed = o.buy - o.sell;
        let kyle = self
            .kyle
            .push(mid_change.map(|y| (units_to_f64(signed), y)));
        out.extend(Some(IntervalRow {
            ts_open: k * w,
            ts_close,
            n_book_events: o.n_book,
            n_trades: o.n_trades,
            ofi: units_to_f64(o.ofi),
            mlofi: o.mlofi.iter().map(|u| units_to_f64(*u)).collect(),
            buy_volume: units_to_f64(o.buy),
            sell_volume: units_to_f64(o.sell),
            unknown_volume: units_to_f64(o.unknown),
            signed_volume: units_to_f64(signed),
            tfi: (o.buy + o.sell != 0).then(|| i128_to_f64(signed) / i128_to_f64(o.buy + o.sell)),
            mid_close,
            mid_change,
            spread_mean: (o.spread_time > 0).then(|| o.spread_area / o.spread_time as f64),
            kyle_lambda: kyle.map(|e| e.lambda),
            kyle_alpha: kyle.map(|e| e.alpha),
            kyle_r2: kyle.and_then(|e| e.r2),
            vpin: self.vpin,
            reset: o.reset,
        }));
        self.prev_mid_close = mid_close;
        self.emitted_any = true;
    }

    /// A book message (one silver/book row) at `ts`: its exact flows, and the mid and spread
    /// after it.
    pub fn on_book(
        &mut self,
        ts: Nanos,
        ofi_units: i128,
        mlofi_units: &[i128],
        mid: Option<f64>,
        spread: Option<f64>,
        reset: bool,
        out: &mut impl Extend<IntervalRow>,
    ) {
        self.roll_to(ts, out);
        self.accrue_spread(ts);
        let o = self.open.as_mut().expect("rolled");
        o.n_book += 1;
        o.ofi += ofi_units;
        for (a, b) in o.mlofi.iter_mut().zip(mlofi_units) {
            *a += *b;
        }
        o.reset |= reset;
        self.mid = mid;
        self.spread = spread;
    }

    /// A trade at `ts`; `vpin_after` is the last completed bucket's VPIN after it.
    pub fn on_trade(
        &mut self,
        ts: Nanos,
        side: TradeSide,
        size: Qty,
        vpin_after: Option<f64>,
        out: &mut impl Extend<IntervalRow>,
    ) {
        self.roll_to(ts, out);
        let o = self.open.as_mut().expect("rolled");
        o.n_trades += 1;
        let q = i128::from(size.0);
        match side {
            TradeSide::Buy => o.buy += q,
            TradeSide::Sell => o.sell += q,
            TradeSide::Unknown => o.unknown += q,
        }
        self.vpin = vpin_after;
    }

    /// End of data: emits the open interval.
    pub fn finish(&mut self, out: &mut impl Extend<IntervalRow>) {
        self.close_open(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daedalus_model::time::NANOS_PER_SEC;

    /// FEATURES A.1 tape on a 60 s grid.
    #[test]
    fn fixture_a1_minutes() {
        let s = NANOS_PER_SEC;
        let tape = [
            (250_000_000, 1.0, TradeSide::Buy),
            (10_500_000_000, 2.0, TradeSide::Buy),
            (30 * s, 1.0, TradeSide::Sell),
            (59_999_000_000, 3.0, TradeSide::Sell),
            (60 * s, 4.0, TradeSide::Sell),
            (75 * s, 2.0, TradeSide::Buy),
            (190 * s, 12.0, TradeSide::Buy),
            (200 * s, 1.0, TradeSide::Sell),
            (200 * s, 1.0, TradeSide::Unknown),
            (250 * s, 3.0, TradeSide::Sell),
        ];
        let mut a = IntervalAggregator::new(IntervalConfig {
            width: 60 * s,
            mlofi_levels: 2,
            kyle_window: 20,
        })
        .unwrap();
        let mut out = Vec::new();
        for (ts, q, side) in tape {
            a.on_trade(ts, side, Qty::from_f64(q).unwrap(), None, &mut out);
        }
        a.finish(&mut out);
        let got: Vec<(i64, f64, f64, f64, f64)> = out
            .iter()
            .map(|r| {
                (
                    r.ts_open / s,
                    r.buy_volume,
                    r.sell_volume,
                    r.unknown_volume,
                    r.signed_volume,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 3.0, 4.0, 0.0, -1.0),
                (60, 2.0, 4.0, 0.0, -2.0),
                (120, 0.0, 0.0, 0.0, 0.0),
                (180, 12.0, 1.0, 1.0, 11.0),
                (240, 0.0, 3.0, 0.0, -3.0)
            ]
        );
        assert!((out[0].tfi.unwrap() + 1.0 / 7.0).abs() < 1e-15);
        assert!((out[3].tfi.unwrap() - 11.0 / 13.0).abs() < 1e-15);
        assert_eq!(out[2].tfi, None);
        assert_eq!(out[2].n_trades, 0);
    }

    #[test]
    fn spread_is_time_weighted_and_carried() {
        let mut a = IntervalAggregator::new(IntervalConfig {
            width: 10,
            mlofi_levels: 1,
            kyle_window: 4,
        })
        .unwrap();
        let mut out = Vec::new();
        a.on_book(2, 0, &[0], Some(100.0), Some(1.0), false, &mut out);
        a.on_book(6, 0, &[0], Some(101.0), Some(3.0), false, &mut out);
        a.on_book(25, 0, &[0], Some(102.0), Some(2.0), false, &mut out);
        a.finish(&mut out);
        assert_eq!(out.len(), 3);
        // [0,10): spread 1 over [2,6), 3 over [6,10) -> (4 + 12) / 8 = 2.
        assert_eq!(out[0].spread_mean, Some(2.0));
        assert_eq!((out[0].mid_close, out[0].mid_change), (Some(101.0), None));
        // [10,20): empty, carried spread 3, mid 101.
        assert_eq!(
            (out[1].spread_mean, out[1].mid_change, out[1].n_book_events),
            (Some(3.0), Some(0.0), 0)
        );
        // [20,30): 3 over [20,25), 2 over [25,30).
        assert_eq!(out[2].spread_mean, Some(2.5));
        assert_eq!(out[2].mid_change, Some(1.0));
    }
}
