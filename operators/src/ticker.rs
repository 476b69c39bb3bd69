//! `silver/ticker` features from the venue's best bid/offer (CONTRACT §4).
//!
//! L1 structure as for the book (null where a side is null); `crossed = bid_price >= ask_price`
//! (locked counts as crossed, as for the book); `ofi_l1` is the CKS OFI between consecutive
//! quotes (sentinels for null sides), null at the first quote, in exact `Qty` units; its trailing
//! windows sum over `(t − W, t]` treating the null first value as 0.

use crate::ofi::{EMPTY_ASK, EMPTY_BID, Level, ofi_e};
use crate::rolling::TimeWindowSum;
use crate::structural::l1_features;
use daedalus_model::fixed::{Qty, units_to_f64};
use daedalus_model::rows::TickerRow;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};

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

/// Ticker features of one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickerFeatureEngine {
    prev: Option<(Level, Level)>,
    windows: Vec<TimeWindowSum<i128>>,
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
        }
    }

    /// Features of one quote (`q.ts_event` is the ordering time).
    pub fn on_quote(&mut self, q: &TickerRow) -> TickerFeatureRow {
        let bid = q.bid_price.zip(q.bid_size);
        let ask = q.ask_price.zip(q.ask_size);
        let f = l1_features(bid, ask);
        let crossed = matches!((q.bid_price, q.ask_price), (Some(b), Some(a)) if b >= a);
        let b = level(q.bid_price, q.bid_size, EMPTY_BID);
        let a = level(q.ask_price, q.ask_size, EMPTY_ASK);
        let e = self.prev.map(|(pb, pa)| ofi_e(pb, b, pa, a));
        self.prev = Some((b, a));
        let ofi_l1_windows = self
            .windows
            .iter_mut()
            .map(|w| {
                w.push(q.ts_event, e.unwrap_or(0));
                Some(units_to_f64(w.sum()))
            })
            .collect();
        TickerFeatureRow {
            mid: f.mid,
            spread: f.spread,
            rel_spread_bps: f.rel_spread_bps,
            wmid: f.wmid,
            imbalance_1: f.imbalance_1,
            crossed,
            ofi_l1: e.map(units_to_f64),
            ofi_l1_windows,
        }
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
}
