//! VPIN with fixed-volume buckets and aggressor classification (FEATURES §6, CONTRACT §9.8).
//!
//! - Bucket volume `V` is a fixed [`Qty`] per market; indices start at 0; a trade that exactly
//!   completes a bucket belongs to it; a trade crossing a boundary is split pro rata (exact
//!   integer units), so one trade can fill several buckets. State (the partial bucket, the last
//!   `n` imbalances) carries across UTC midnight.
//! - Unknown-side volume is split 50/50; an odd unit goes to the buy side of the first half and
//!   the sell side of the next, alternating, so the split is exact and unbiased.
//! - `VPIN_τ = Σ_{last n} |B − S| / (n · V)`, null until `n` buckets are complete. When V changes
//!   from day to day (the `adv` rule), the denominator is the window's actual bucket volumes.

use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// VPIN parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VpinConfig {
    /// Bucket volume V.
    pub bucket_volume: Qty,
    /// Window n in buckets.
    pub window: usize,
}

/// A completed bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpinBucket {
    /// Bucket index (from 0).
    pub index: u64,
    /// Buy volume.
    pub buy: Qty,
    /// Sell volume.
    pub sell: Qty,
    /// Time of the first contributing trade.
    pub ts_start: Nanos,
    /// Time of the completing trade.
    pub ts_end: Nanos,
    /// VPIN after this bucket (None until n buckets).
    pub vpin: Option<f64>,
}

/// VPIN state of one market.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vpin {
    cfg: VpinConfig,
    index: u64,
    buy: i64,
    sell: i64,
    ts_start: Option<Nanos>,
    odd_to_buy: bool,
    /// Last `n` completed buckets: (|B − S|, B + S).
    imbalances: VecDeque<(i64, i64)>,
    imbalance_sum: i128,
    volume_sum: i128,
    last: Option<f64>,
}

impl Vpin {
    /// New state; `bucket_volume` must be positive.
    pub fn new(cfg: VpinConfig) -> Self {
        assert!(
            cfg.bucket_volume.0 > 0 && cfg.window > 0,
            "VPIN needs V > 0 and n > 0"
        );
        Vpin {
            cfg,
            index: 0,
            buy: 0,
            sell: 0,
            ts_start: None,
            odd_to_buy: true,
            imbalances: VecDeque::with_capacity(cfg.window + 1),
            imbalance_sum: 0,
            volume_sum: 0,
            last: None,
        }
    }

    /// VPIN of the last completed bucket.
    pub(crate) fn last_vpin(&self) -> Option<f64> {
        self.last
    }

    /// Changes the bucket volume from the bucket being filled on (the `adv` rule sets a new V at
    /// each UTC day; the partial bucket carries across midnight and completes against the new V).
    pub(crate) fn set_bucket_volume(&mut self, v: Qty) {
        assert!(v.0 > 0, "VPIN needs V > 0");
        self.cfg.bucket_volume = v;
    }

    /// The current bucket volume.
    pub fn bucket_volume(&self) -> Qty {
        self.cfg.bucket_volume
    }

    fn close_bucket(&mut self, ts: Nanos, completed: &mut Vec<VpinBucket>) {
        let oi = (self.buy - self.sell).abs();
        self.imbalances.push_back((oi, self.buy + self.sell));
        self.imbalance_sum += i128::from(oi);
        self.volume_sum += i128::from(self.buy + self.sell);
        if self.imbalances.len() > self.cfg.window {
            let (o, v) = self.imbalances.pop_front().expect("non-empty");
            self.imbalance_sum -= i128::from(o);
            self.volume_sum -= i128::from(v);
        }
        // Σ|B − S| / ΣV over the window: with a fixed V this is exactly Σ|B − S| / (n·V).
        let vpin = (self.imbalances.len() == self.cfg.window)
            .then(|| self.imbalance_sum as f64 / self.volume_sum as f64);
        self.last = vpin;
        completed.push(VpinBucket {
            index: self.index,
            buy: Qty(self.buy),
            sell: Qty(self.sell),
            ts_start: self.ts_start.unwrap_or(ts),
            ts_end: ts,
            vpin,
        });
        self.index += 1;
        self.buy = 0;
        self.sell = 0;
        self.ts_start = None;
    }

    /// Adds one trade; completed buckets are pushed to `completed`. Returns the index of the
    /// bucket the trade last contributed to.
    pub fn on_trade(
        &mut self,
        ts: Nanos,
        side: TradeSide,
        size: Qty,
        completed: &mut Vec<VpinBucket>,
    ) -> u64 {
        let (mut b, mut s) = match side {
            TradeSide::Buy => (size.0, 0),
            TradeSide::Sell => (0, size.0),
            TradeSide::Unknown => {
                let half = size.0 / 2;
                let odd = size.0 - 2 * half;
                let to_buy = self.odd_to_buy;
                if odd == 1 {
                    self.odd_to_buy = !self.odd_to_buy;
                }
                if to_buy {
                    (half + odd, half)
                } else {
                    (half, half + odd)
                }
            }
        };
        let mut last_index = self.index;
        loop {
            let v = self.cfg.bucket_volume.0;
            let filled = self.buy + self.sell;
            if filled > 0 && filled >= v {
                // V shrank (a new day's `adv` value) below the partial bucket: it is complete.
                self.close_bucket(ts, completed);
                continue;
            }
            if b + s == 0 {
                break;
            }
            if self.ts_start.is_none() {
                self.ts_start = Some(ts);
            }
            last_index = self.index;
            let room = v - filled;
            let total = b + s;
            if total < room {
                self.buy += b;
                self.sell += s;
                break;
            }
            // Fill the bucket pro rata: buy share = round(b · room / total), exact integers.
            let take_b = ((i128::from(b) * i128::from(room) + i128::from(total) / 2)
                / i128::from(total)) as i64;
            let take_b = take_b.min(b).max(room - s);
            let take_s = room - take_b;
            self.buy += take_b;
            self.sell += take_s;
            b -= take_b;
            s -= take_s;
            self.close_bucket(ts, completed);
        }
        last_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES Appendix A.1: V = 5, n = 3, aggressor classification, unknown split 50/50.
    #[test]
    fn fixture_a1_vpin() {
        let tape = [
            (1.0, TradeSide::Buy),
            (2.0, TradeSide::Buy),
            (1.0, TradeSide::Sell),
            (3.0, TradeSide::Sell),
            (4.0, TradeSide::Sell),
            (2.0, TradeSide::Buy),
            (12.0, TradeSide::Buy),
            (1.0, TradeSide::Sell),
            (1.0, TradeSide::Unknown),
            (3.0, TradeSide::Sell),
        ];
        let mut v = Vpin::new(VpinConfig {
            bucket_volume: Qty::from_f64(5.0).unwrap(),
            window: 3,
        });
        let mut out = Vec::new();
        for (i, (q, s)) in tape.iter().enumerate() {
            v.on_trade(i as i64, *s, Qty::from_f64(*q).unwrap(), &mut out);
        }
        let got: Vec<(f64, f64)> = out
            .iter()
            .map(|b| (b.buy.to_f64(), b.sell.to_f64()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3.0, 2.0),
                (0.0, 5.0),
                (4.0, 1.0),
                (5.0, 0.0),
                (5.0, 0.0),
                (0.5, 4.5)
            ]
        );
        let vp: Vec<Option<f64>> = out
            .iter()
            .map(|b| b.vpin.map(|x| (x * 1e6).round() / 1e6))
            .collect();
        assert_eq!(
            vp,
            vec![
                None,
                None,
                Some(0.6),
                Some(0.866667),
                Some(0.866667),
                Some(0.933333)
            ]
        );
    }
}
