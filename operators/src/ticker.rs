//! `silver/ticker` features from the venue's best bid/offer (CONTRACT §4).
//!
//! L1 structure as for the book (null where a side is null); `crossed = bid_price >= ask_price`
//! (locked counts as crossed, as for the book); `ofi_l1` is the CKS OFI between consecutive
//! quotes (sentinels for null sides), null at the first quote, in exact `Qty` units; its trailing
//! windows sum over `(t − W, t]` treating the null first value as 0. Window time is the running
//! maximum of `ts_event` (CONTRACT §9.3), so a venue clock stepping back never un-orders a window.
//! A side is present only when both its price and size are; sizes are exact `Qty` units for OFI.

use crate::ofi::{EMPTY_ASK, EMPTY_BID, Level, ofi_e};
use crate::rolling::TimeWindowSum;
use crate::structural::l1_features;
use daedalus_model::fixed::{Qty, units_to_f64};
use daedalus_model::rows::TickerRow;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};

pub use daedalus_model::features::TickerFeatureRow;

/// Ticker features of one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickerFeatureEngine {
    /// Previous quote's (bid, ask) levels with sentinels for missing sides.
    prev: Option<(Level, Level)>,
    windows: Vec<TimeWindowSum<i128>>,
    /// Running maximum of `ts_event`.
    eff_ts: Option<Nanos>,
}

fn level(p: Option<f64>, q: Option<f64>, empty: Level) -> Level {
    match (p, q.and_then(Qty::from_f64)) {
        (Some(p), Some(q)) => (p, q.0),
        _ => empty,
    }
}

impl TickerFeatureEngine {
    /// An engine with trailing OFI windows of these widths.
    pub fn new(windows: Vec<Nanos>) -> Self {
        TickerFeatureEngine {
            prev: None,
            windows: windows.into_iter().map(TimeWindowSum::new).collect(),
            eff_ts: None,
        }
    }

    /// Features of one quote (`q.ts_event` is the ordering time). Allocates the returned row's
    /// window vector; use [`TickerFeatureEngine::on_quote_into`] to reuse one.
    pub fn on_quote(&mut self, q: &TickerRow) -> TickerFeatureRow {
        let mut r = TickerFeatureRow::default();
        self.on_quote_into(q, &mut r);
        r
    }

    /// Features of one quote written into `r` (no allocation once `r` has held a row).
    pub fn on_quote_into(&mut self, q: &TickerRow, r: &mut TickerFeatureRow) {
        let bid = q.bid_price.zip(q.bid_size);
        let ask = q.ask_price.zip(q.ask_size);
        let f = l1_features(bid, ask);
        let crossed = matches!((q.bid_price, q.ask_price), (Some(b), Some(a)) if b >= a);
        let b = level(q.bid_price, q.bid_size, EMPTY_BID);
        let a = level(q.ask_price, q.ask_size, EMPTY_ASK);
        let e = self.prev.map(|(pb, pa)| ofi_e(pb, b, pa, a));
        self.prev = Some((b, a));
        let t = self.eff_ts.map_or(q.ts_event, |e| e.max(q.ts_event));
        self.eff_ts = Some(t);
        r.ofi_l1_windows.clear();
        for w in &mut self.windows {
            w.push(t, e.unwrap_or(0));
            r.ofi_l1_windows.push(Some(units_to_f64(w.sum())));
        }
        r.mid = f.mid;
        r.spread = f.spread;
        r.rel_spread_bps = f.rel_spread_bps;
        r.wmid = f.wmid;
        r.imbalance_1 = f.imbalance_1;
        r.crossed = crossed;
        r.ofi_l1 = e.map(units_to_f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(ts: i64, b: f64, bq: f64, a: f64, aq: f64) -> TickerRow {
        TickerRow {
            ts_event: ts,
            ts_recv: ts,
            seq: None,
            bid_price: Some(b),
            bid_size: Some(bq),
            ask_price: Some(a),
            ask_size: Some(aq),
        }
    }

    #[test]
    fn ofi_l1_between_quotes() {
        let mut e = TickerFeatureEngine::new(vec![10]);
        let r = e.on_quote(&q(0, 100.0, 5.0, 100.5, 4.0));
        assert_eq!((r.ofi_l1, r.ofi_l1_windows[0]), (None, Some(0.0)));
        let r = e.on_quote(&q(5, 100.0, 7.0, 100.5, 4.0));
        assert_eq!(r.ofi_l1, Some(2.0));
        let r = e.on_quote(&q(20, 100.0, 7.0, 100.5, 1.0));
        assert_eq!((r.ofi_l1, r.ofi_l1_windows[0]), (Some(3.0), Some(3.0)));
        let r = e.on_quote(&q(21, 101.0, 1.0, 100.5, 1.0));
        assert!(r.crossed);
    }

    /// A side missing from the quote makes L1 structure null and enters OFI as its sentinel:
    /// an emptied ask contributes +Qa', a returning ask of q contributes −q.
    #[test]
    fn one_sided_quotes_use_sentinels() {
        let mut e = TickerFeatureEngine::new(vec![100]);
        e.on_quote(&q(0, 100.0, 5.0, 100.5, 4.0));
        let mut one = q(1, 100.0, 5.0, 100.5, 4.0);
        one.ask_price = None;
        one.ask_size = None;
        let r = e.on_quote(&one);
        assert_eq!(
            (r.mid, r.spread, r.wmid, r.imbalance_1),
            (None, None, None, None)
        );
        assert!(!r.crossed);
        assert_eq!(r.ofi_l1, Some(4.0));
        let r = e.on_quote(&q(2, 100.0, 5.0, 101.0, 3.0));
        assert_eq!(r.ofi_l1, Some(-3.0));
        assert_eq!(r.ofi_l1_windows, vec![Some(1.0)]);
        // Venue time stepping back is windowed at the running max (2), not at 1.
        let r = e.on_quote(&q(1, 100.0, 6.0, 101.0, 3.0));
        assert_eq!(r.ofi_l1_windows, vec![Some(2.0)]);
    }
}
