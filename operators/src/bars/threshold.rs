//! Threshold bars: `tick_<n>` closes at n trades, `dollar_<x>` when the quote volume reaches x
//! (no split), `volume_<x>` when the volume reaches x — split pro rata in exact `Qty` units by
//! default, so every complete bar has volume == x, or whole trades in `no-split` mode.

use super::acc::Acc;
use super::row::BarRow;
use super::shared::{Shared, Trade};

/// The closing rule of threshold bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ThresholdBars {
    /// `n` trades per bar.
    Ticks(u64),
    /// Exactly this many `Qty` units per bar, the crossing trade split.
    SplitVolume(i64),
    /// Closes when the volume reaches this many `Qty` units (mlfinlab compat).
    Volume(i64),
    /// Closes when the quote volume reaches this.
    Dollar(f64),
}

impl ThresholdBars {
    /// The bar holding `acc` has reached the threshold.
    #[inline]
    fn reached(self, acc: &Acc) -> bool {
        match self {
            ThresholdBars::Ticks(n) => acc.count as u64 >= n,
            ThresholdBars::SplitVolume(u) | ThresholdBars::Volume(u) => acc.volume >= i128::from(u),
            ThresholdBars::Dollar(x) => acc.quote >= x,
        }
    }

    /// A trade (VPIN after it counts for the bars it closes).
    #[inline]
    pub(super) fn on_trade(
        self,
        s: &mut Shared,
        t: Trade,
        vpin_after: Option<f64>,
        out: &mut impl Extend<BarRow>,
    ) {
        if let ThresholdBars::SplitVolume(units) = self {
            return split_volume_trade(s, t, vpin_after, units, out);
        }
        let acc = s.trade_bar();
        acc.add(t.ts, t.price, t.size.0, t.side, true);
        let reached = self.reached(acc);
        s.vpin = vpin_after;
        if reached {
            s.close_trade_bar(t.ts, None, out);
        }
    }
}

/// Adds a trade to split volume bars: fills the open bar to `threshold` units, closes it, and
/// goes on with the rest (a trade of size 0 opens no bar).
fn split_volume_trade(
    s: &mut Shared,
    t: Trade,
    vpin_after: Option<f64>,
    threshold: i64,
    out: &mut impl Extend<BarRow>,
) {
    let mut left = t.size.0;
    let mut first = true;
    s.vpin = vpin_after;
    while left > 0 {
        let acc = s.trade_bar();
        let room = i64::try_from(i128::from(threshold) - acc.volume).unwrap_or(i64::MAX);
        let take = left.min(room);
        acc.add(t.ts, t.price, take, t.side, first);
        first = false;
        left -= take;
        if acc.volume >= i128::from(threshold) {
            s.close_trade_bar(t.ts, None, out);
        }
    }
}
