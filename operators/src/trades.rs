//! `silver/trades` features (CONTRACT §4, §9.8; FEATURES §5–6).
//!
//! Per trade: `sign` from the aggressor side, `notional = price · size`, `mid` as-of (given by
//! the caller: the book mid after every book message ordered before the trade), `tfi_<W>` =
//! `(B − S)/(B + S)` over this market's trades in `(t − W, t]` including this one (exact integer
//! sums; null when `B + S = 0`), and VPIN after the trade with the index of the bucket the trade
//! last contributed to (both null without a bucket volume).

use crate::rolling::TimeWindowSum;
use crate::vpin::{Vpin, VpinBucket, VpinConfig};
use daedalus_model::fixed::{Qty, i128_to_f64};
use daedalus_model::rows::TradeSide;
use daedalus_model::time::{NANOS_PER_SEC, Nanos};
use serde::{Deserialize, Serialize};

/// One trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeInput {
    /// Ordering time.
    pub ts_event: Nanos,
    /// Price.
    pub price: f64,
    /// Size.
    pub size: f64,
    /// Aggressor side.
    pub side: TradeSide,
}

pub use daedalus_model::features::TradeFeatureRow;

/// Trade feature parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeFeatureConfig {
    /// TFI window widths (ns).
    pub windows: Vec<Nanos>,
    /// VPIN parameters with a fixed V (`--vpin-v`); None: see `vpin_schedule`.
    pub vpin: Option<VpinConfig>,
    /// The `adv` rule (CONTRACT §9.8) when no fixed V: `(UTC day number, V)` in day order; each
    /// day's V applies from its first trade (the partial bucket carries over). Days before the
    /// first entry have null VPIN.
    #[serde(default)]
    pub vpin_schedule: Vec<(i64, Qty)>,
    /// VPIN window n used with `vpin_schedule`.
    #[serde(default)]
    pub vpin_window: usize,
}

impl Default for TradeFeatureConfig {
    fn default() -> Self {
        TradeFeatureConfig {
            windows: vec![NANOS_PER_SEC, 10 * NANOS_PER_SEC, 60 * NANOS_PER_SEC],
            vpin: None,
            vpin_schedule: Vec::new(),
            vpin_window: 50,
        }
    }
}

/// Invalid trade values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TradeError {
    /// Price not finite and positive.
    #[error("trade price {0} must be finite and > 0")]
    Price(f64),
    /// Size not finite and positive.
    #[error("trade size {0} must be finite and > 0")]
    Size(f64),
}

/// Trade features of one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TradeFeatureEngine {
    windows: Vec<TimeWindowSum<(i128, i128)>>,
    vpin: Option<Vpin>,
    schedule: Vec<(i64, Qty)>,
    window_n: usize,
    day: Option<i64>,
    /// V fixed by configuration (`--vpin-v`): no schedule.
    #[serde(default)]
    fixed: bool,
    /// The row returned by `on_trade`, reused so the per-trade path does not allocate.
    #[serde(skip)]
    row: TradeFeatureRow,
}

impl TradeFeatureEngine {
    /// A new engine.
    pub fn new(cfg: TradeFeatureConfig) -> Self {
        TradeFeatureEngine {
            windows: cfg.windows.iter().map(|&w| TimeWindowSum::new(w)).collect(),
            vpin: cfg.vpin.map(Vpin::new),
            schedule: if cfg.vpin.is_some() {
                Vec::new()
            } else {
                cfg.vpin_schedule.clone()
            },
            window_n: cfg.vpin_window.max(1),
            day: None,
            fixed: cfg.vpin.is_some(),
            row: TradeFeatureRow::default(),
        }
    }

    /// Adds (or replaces) the scheduled V of `day`; ignored with a fixed V.
    pub(crate) fn schedule_v(&mut self, day: i64, v: Qty) {
        if self.fixed_v() {
            return;
        }
        match self.schedule.binary_search_by_key(&day, |e| e.0) {
            Ok(i) => self.schedule[i].1 = v,
            Err(i) => self.schedule.insert(i, (day, v)),
        }
    }

    fn fixed_v(&self) -> bool {
        self.fixed
    }

    /// VPIN of the last completed bucket.
    pub(crate) fn last_vpin(&self) -> Option<f64> {
        self.vpin.as_ref().and_then(Vpin::last_vpin)
    }

    /// The checks of [`Self::on_trade`]: a positive finite price and a positive size
    /// representable in fixed point, which it returns.
    #[inline]
    pub fn validate(t: &TradeInput) -> Result<Qty, TradeError> {
        if !(t.price.is_finite() && t.price > 0.0) {
            return Err(TradeError::Price(t.price));
        }
        Qty::from_f64(t.size)
            .filter(|q| q.0 > 0 && t.size.is_finite())
            .ok_or(TradeError::Size(t.size))
    }

    /// True when [`Self::on_trade`] would change no state: no TFI windows, no VPIN and no V
    /// scheduled. A caller that needs no feature row may then call [`Self::validate`] only.
    #[inline]
    pub(crate) fn is_passive(&self) -> bool {
        self.windows.is_empty() && self.vpin.is_none() && self.schedule.is_empty()
    }

    /// Features of one trade; completed VPIN buckets are appended to `buckets`.
    pub fn on_trade(
        &mut self,
        t: &TradeInput,
        mid_asof: Option<f64>,
        buckets: &mut Vec<VpinBucket>,
    ) -> Result<&TradeFeatureRow, TradeError> {
        let q = Self::validate(t)?;
        let (b, s) = match t.side {
            TradeSide::Buy => (i128::from(q.0), 0),
            TradeSide::Sell => (0, i128::from(q.0)),
            TradeSide::Unknown => (0, 0),
        };
        self.row.tfi.clear();
        for w in &mut self.windows {
            w.push(t.ts_event, (b, s));
            let (bb, ss) = w.sum();
            self.row
                .tfi
                .push((bb + ss != 0).then(|| i128_to_f64(bb - ss) / i128_to_f64(bb + ss)));
        }
        if !self.schedule.is_empty() {
            let day = t.ts_event.div_euclid(daedalus_model::time::NANOS_PER_DAY);
            if self.day != Some(day) {
                self.day = Some(day);
                if let Ok(i) = self.schedule.binary_search_by_key(&day, |e| e.0) {
                    let v = self.schedule[i].1;
                    match self.vpin.as_mut() {
                        Some(vp) => vp.set_bucket_volume(v),
                        None => {
                            self.vpin = Some(Vpin::new(VpinConfig {
                                bucket_volume: v,
                                window: self.window_n,
                            }))
                        }
                    }
                }
            }
        }
        let (vpin, vpin_bucket) = match self.vpin.as_mut() {
            Some(v) => {
                let idx = v.on_trade(t.ts_event, t.side, q, buckets);
                (v.last_vpin(), Some(idx as i64))
            }
            None => (None, None),
        };
        let r = &mut self.row;
        r.sign = t.side.sign();
        r.notional = t.price * t.size;
        r.mid = mid_asof;
        r.vpin = vpin;
        r.vpin_bucket = vpin_bucket;
        r.qty = q;
        Ok(&self.row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES A.1 TFI per right-open minute via 60 s windows evaluated at minute ends.
    #[test]
    fn tfi_window_fixture() {
        let mut e = TradeFeatureEngine::new(TradeFeatureConfig {
            windows: vec![60 * NANOS_PER_SEC],
            vpin: None,
            ..TradeFeatureConfig::default()
        });
        let s = NANOS_PER_SEC;
        let tape = [
            (250_000_000, 1.0, TradeSide::Buy),
            (10_500_000_000, 2.0, TradeSide::Buy),
            (30 * s, 1.0, TradeSide::Sell),
            (59_999_000_000, 3.0, TradeSide::Sell),
        ];
        let mut last = None;
        for (ts, q, side) in tape {
            last = e
                .on_trade(
                    &TradeInput {
                        ts_event: ts,
                        price: 100.0,
                        size: q,
                        side,
                    },
                    None,
                    &mut Vec::new(),
                )
                .unwrap()
                .tfi[0];
        }
        assert!((last.unwrap() + 1.0 / 7.0).abs() < 1e-15);
        let r = e
            .on_trade(
                &TradeInput {
                    ts_event: 200 * s,
                    price: 100.5,
                    size: 1.0,
                    side: TradeSide::Unknown,
                },
                Some(1.0),
                &mut Vec::new(),
            )
            .unwrap();
        assert_eq!((r.tfi[0], r.sign, r.mid), (None, 0, Some(1.0)));
    }

    /// The `adv` schedule: no VPIN before the first scheduled day, a new V from each day on.
    #[test]
    fn vpin_schedule_switches_v_at_midnight() {
        let day = daedalus_model::time::NANOS_PER_DAY;
        let cfg = TradeFeatureConfig {
            windows: vec![NANOS_PER_SEC],
            vpin: None,
            vpin_schedule: vec![
                (1, Qty::from_f64(2.0).unwrap()),
                (2, Qty::from_f64(4.0).unwrap()),
            ],
            vpin_window: 1,
        };
        let mut e = TradeFeatureEngine::new(cfg);
        let mut b = Vec::new();
        let t = |ts, side| TradeInput {
            ts_event: ts,
            price: 1.0,
            size: 1.0,
            side,
        };
        assert_eq!(
            e.on_trade(&t(10, TradeSide::Buy), None, &mut b)
                .unwrap()
                .vpin_bucket,
            None
        );
        e.on_trade(&t(day + 1, TradeSide::Buy), None, &mut b)
            .unwrap();
        let r = e
            .on_trade(&t(day + 2, TradeSide::Sell), None, &mut b)
            .unwrap();
        assert_eq!((r.vpin, b.len()), (Some(0.0), 1));
        e.on_trade(&t(2 * day + 1, TradeSide::Buy), None, &mut b)
            .unwrap();
        e.on_trade(&t(2 * day + 2, TradeSide::Buy), None, &mut b)
            .unwrap();
        assert_eq!(
            b.len(),
            1,
            "V is 4 on day 2: two units do not fill a bucket"
        );
    }
}
