//! `silver/book` features per atomic book message (CONTRACT §4, §9.4; FEATURES §1.4, §2–4).
//!
//! One row per message once the book is ready (after its first snapshot):
//! - the first ready state and every reset (mid-stream snapshot) have null `ofi`/`mlofi_*`
//!   (no previous state; the post-reset state becomes the previous one); window sums treat
//!   them as 0;
//! - a message revealing a sequence gap yields one row with `gap = reset = true` and every
//!   feature null; messages after it yield no row until the next snapshot;
//! - `ofi_<W>` = Σ e over this market's rows with time in `(t − W, t]` (exact `i128` units), null
//!   only on a gap row.
//!
//! Flows are exact integers in `Qty` units (`ofi_units`, `mlofi_units`) for downstream sums.

use crate::book::{BookError, BookMessage, L2Book};
use crate::ofi::{Level, mlofi};
use crate::rolling::MultiWindowSum;
use crate::structural::{depth_imbalance, l1_features};
use daedalus_model::fixed::{Qty, units_to_f64};
use daedalus_model::rows::BookSide;
use daedalus_model::time::{NANOS_PER_SEC, Nanos};
use serde::{Deserialize, Serialize};

/// Book feature parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookFeatureConfig {
    /// MLOFI depth M (`mlofi_1 ..= mlofi_M`).
    pub mlofi_levels: usize,
    /// Trailing OFI window widths (ns), in output order (`ofi_1s, ofi_10s, ofi_60s`).
    pub windows: Vec<Nanos>,
}

impl Default for BookFeatureConfig {
    fn default() -> Self {
        BookFeatureConfig {
            mlofi_levels: 10,
            windows: vec![NANOS_PER_SEC, 10 * NANOS_PER_SEC, 60 * NANOS_PER_SEC],
        }
    }
}

/// One `silver/book` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookFeatureRow {
    /// Event (ordering) time of the message.
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue update id.
    pub seq: Option<u64>,
    /// Mid-stream snapshot or gap.
    pub reset: bool,
    /// Sequence gap detected at this message.
    pub gap: bool,
    /// The book was crossed/locked after this message and repaired.
    pub uncrossed: bool,
    /// Best bid price.
    pub best_bid: Option<f64>,
    /// Best ask price.
    pub best_ask: Option<f64>,
    /// Best bid size.
    pub bid_size_1: Option<f64>,
    /// Best ask size.
    pub ask_size_1: Option<f64>,
    /// Mid price.
    pub mid: Option<f64>,
    /// Spread.
    pub spread: Option<f64>,
    /// Spread in basis points of mid.
    pub rel_spread_bps: Option<f64>,
    /// Weighted mid.
    pub wmid: Option<f64>,
    /// L1 imbalance.
    pub imbalance_1: Option<f64>,
    /// Depth imbalance over 5 levels.
    pub depth_imbalance_5: Option<f64>,
    /// Depth imbalance over 10 levels.
    pub depth_imbalance_10: Option<f64>,
    /// OFI of this message.
    pub ofi: Option<f64>,
    /// MLOFI levels 1..=M (`mlofi[0] == ofi`).
    pub mlofi: Vec<Option<f64>>,
    /// Trailing OFI window sums, one per configured window.
    pub ofi_windows: Vec<Option<f64>>,
    /// OFI in exact `Qty` units (0 where null).
    pub ofi_units: i128,
    /// MLOFI in exact `Qty` units (0 where null).
    pub mlofi_units: Vec<i128>,
}

/// Book + features for one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookFeatureEngine {
    cfg: BookFeatureConfig,
    book: L2Book,
    prev_bids: Vec<Level>,
    prev_asks: Vec<Level>,
    has_prev: bool,
    windows: MultiWindowSum<i128>,
    #[serde(skip)]
    row: BookFeatureRow,
    #[serde(skip)]
    cur_bids: Vec<Level>,
    #[serde(skip)]
    cur_asks: Vec<Level>,
}

impl BookFeatureEngine {
    /// A new engine (book not ready).
    pub fn new(cfg: BookFeatureConfig) -> Self {
        let windows = MultiWindowSum::new(&cfg.windows);
        BookFeatureEngine {
            book: L2Book::new(),
            prev_bids: Vec::new(),
            prev_asks: Vec::new(),
            has_prev: false,
            windows,
            row: BookFeatureRow::default(),
            cur_bids: Vec::new(),
            cur_asks: Vec::new(),
            cfg,
        }
    }

    /// The book.
    pub fn book(&self) -> &L2Book {
        &self.book
    }

    /// Current mid (for as-of joins), `None` when not ready or a side is empty.
    pub fn mid(&self) -> Option<f64> {
        if !self.book.is_ready() {
            return None;
        }
        Some((self.book.best_bid()?.0 + self.book.best_ask()?.0) / 2.0)
    }

    /// Current spread.
    pub fn spread(&self) -> Option<f64> {
        if !self.book.is_ready() {
            return None;
        }
        Some(self.book.best_ask()?.0 - self.book.best_bid()?.0)
    }

    /// Applies one message; `None` when no row is due (book not ready / invalid after a gap).
    pub fn on_message(&mut self, msg: &BookMessage) -> Result<Option<&BookFeatureRow>, BookError> {
        let o = self.book.apply(msg)?;
        if o.ignored {
            return Ok(None);
        }
        let m = self.cfg.mlofi_levels;
        let r = &mut self.row;
        r.ts_event = msg.ts_event;
        r.ts_recv = msg.ts_recv;
        r.seq = msg.seq;
        r.reset = o.reset;
        r.gap = o.gap;
        r.uncrossed = o.uncrossed;
        r.mlofi.resize(m, None);
        r.mlofi_units.resize(m, 0);
        r.ofi_windows.resize(self.windows.len(), None);
        if o.gap {
            r.best_bid = None;
            r.best_ask = None;
            r.bid_size_1 = None;
            r.ask_size_1 = None;
            r.mid = None;
            r.spread = None;
            r.rel_spread_bps = None;
            r.wmid = None;
            r.imbalance_1 = None;
            r.depth_imbalance_5 = None;
            r.depth_imbalance_10 = None;
            r.ofi = None;
            r.ofi_units = 0;
            r.mlofi.iter_mut().for_each(|v| *v = None);
            r.mlofi_units.iter_mut().for_each(|v| *v = 0);
            r.ofi_windows.iter_mut().for_each(|v| *v = None);
            self.has_prev = false;
            return Ok(Some(&self.row));
        }
        let depth = m.max(10);
        // A side's top-`depth` ladder can only change if the message touched a price inside it
        // (or it was not full); otherwise copy it instead of walking the tree again.
        let whole = o.reset || o.uncrossed || !self.has_prev || msg.is_snapshot;
        let touches = |side: BookSide, ladder: &[Level]| -> bool {
            if whole || ladder.len() < depth {
                return true;
            }
            let edge = ladder[depth - 1].0;
            msg.levels.iter().any(|l| {
                l.side == side
                    && match side {
                        BookSide::Bid => l.price >= edge,
                        BookSide::Ask => l.price <= edge,
                    }
            })
        };
        if touches(BookSide::Bid, &self.prev_bids) {
            self.book
                .top_n_units(BookSide::Bid, depth, &mut self.cur_bids);
        } else {
            self.cur_bids.clear();
            self.cur_bids.extend_from_slice(&self.prev_bids);
        }
        if touches(BookSide::Ask, &self.prev_asks) {
            self.book
                .top_n_units(BookSide::Ask, depth, &mut self.cur_asks);
        } else {
            self.cur_asks.clear();
            self.cur_asks.extend_from_slice(&self.prev_asks);
        }
        let q = |l: &Level| Qty(l.1).to_f64();
        let bid = self.cur_bids.first().map(|l| (l.0, q(l)));
        let ask = self.cur_asks.first().map(|l| (l.0, q(l)));
        let f = l1_features(bid, ask);
        r.best_bid = bid.map(|b| b.0);
        r.best_ask = ask.map(|a| a.0);
        r.bid_size_1 = bid.map(|b| b.1);
        r.ask_size_1 = ask.map(|a| a.1);
        r.mid = f.mid;
        r.spread = f.spread;
        r.rel_spread_bps = f.rel_spread_bps;
        r.wmid = f.wmid;
        r.imbalance_1 = f.imbalance_1;
        // Depth imbalance from the exact integer ladders.
        r.depth_imbalance_5 = depth_imbalance(&self.cur_bids, &self.cur_asks, 5);
        r.depth_imbalance_10 = depth_imbalance(&self.cur_bids, &self.cur_asks, 10);
        if self.has_prev && !o.reset {
            mlofi(
                &self.prev_bids,
                &self.prev_asks,
                &self.cur_bids,
                &self.cur_asks,
                &mut r.mlofi_units,
            );
            for (v, u) in r.mlofi.iter_mut().zip(&r.mlofi_units) {
                *v = Some(units_to_f64(*u));
            }
            r.ofi_units = r.mlofi_units.first().copied().unwrap_or(0);
            r.ofi = r.mlofi.first().copied().flatten();
        } else {
            r.mlofi.iter_mut().for_each(|v| *v = None);
            r.mlofi_units.iter_mut().for_each(|v| *v = 0);
            r.ofi = None;
            r.ofi_units = 0;
        }
        self.windows.push(msg.ts_event, r.ofi_units);
        for (k, out) in r.ofi_windows.iter_mut().enumerate() {
            *out = Some(units_to_f64(self.windows.sum(k)));
        }
        std::mem::swap(&mut self.prev_bids, &mut self.cur_bids);
        std::mem::swap(&mut self.prev_asks, &mut self.cur_asks);
        self.has_prev = true;
        Ok(Some(&self.row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::LevelUpdate;

    fn lu(side: BookSide, price: f64, size: f64) -> LevelUpdate {
        LevelUpdate { side, price, size }
    }

    /// FEATURES Appendix A.2, S0..S6.
    #[test]
    fn fixture_a2_ofi_mlofi_structure() {
        use BookSide::{Ask, Bid};
        let mut e = BookFeatureEngine::new(BookFeatureConfig {
            mlofi_levels: 3,
            windows: vec![1_000],
        });
        let msgs: Vec<(bool, Vec<LevelUpdate>)> = vec![
            (
                true,
                vec![
                    lu(Bid, 100.0, 5.0),
                    lu(Bid, 99.5, 3.0),
                    lu(Bid, 99.0, 2.0),
                    lu(Ask, 100.5, 4.0),
                    lu(Ask, 101.0, 6.0),
                    lu(Ask, 101.5, 1.0),
                ],
            ),
            (false, vec![lu(Bid, 100.0, 7.0)]),
            (false, vec![lu(Ask, 100.5, 1.0)]),
            (false, vec![lu(Ask, 100.5, 0.0)]),
            (false, vec![lu(Bid, 100.5, 2.0)]),
            (false, vec![lu(Bid, 100.5, 0.0)]),
            (false, vec![lu(Ask, 100.5, 3.0)]),
        ];
        let expect: [(Option<[f64; 3]>, f64, f64, f64, f64); 7] = [
            (None, 100.25, 0.5, 100.277778, 0.111111),
            (Some([2.0, 0.0, 0.0]), 100.25, 0.5, 100.318182, 0.272727),
            (Some([3.0, 0.0, 0.0]), 100.25, 0.5, 100.4375, 0.75),
            (Some([1.0, 6.0, 1.0]), 100.5, 1.0, 100.538462, 0.076923),
            (Some([2.0, 7.0, 3.0]), 100.75, 0.5, 100.625, -0.5),
            (Some([-2.0, -7.0, -3.0]), 100.5, 1.0, 100.538462, 0.076923),
            (Some([-3.0, -6.0, -1.0]), 100.25, 0.5, 100.35, 0.4),
        ];
        let mut total = 0.0;
        for (i, ((snap, levels), (e_exp, mid, spread, wmid, i1))) in
            msgs.iter().zip(expect).enumerate()
        {
            let msg = BookMessage {
                ts_event: i as i64,
                ts_recv: i as i64,
                seq: None,
                prev_seq: None,
                is_snapshot: *snap,
                levels,
            };
            let r = e.on_message(&msg).unwrap().unwrap();
            match e_exp {
                None => {
                    assert_eq!(r.ofi, None);
                    assert!(r.mlofi.iter().all(Option::is_none));
                }
                Some(v) => {
                    for (m, want) in v.iter().enumerate() {
                        assert_eq!(r.mlofi[m], Some(*want), "S{i} e{}", m + 1);
                    }
                    assert_eq!(r.ofi, r.mlofi[0]);
                    total += v[0];
                }
            }
            assert_eq!(r.mid, Some(mid), "S{i}");
            assert_eq!(r.spread, Some(spread), "S{i}");
            assert!((r.wmid.unwrap() - wmid).abs() < 1e-6, "S{i}");
            assert!((r.imbalance_1.unwrap() - i1).abs() < 1e-6, "S{i}");
        }
        assert_eq!(total, 3.0);
    }

    #[test]
    fn gap_row_then_nothing_until_snapshot() {
        use BookSide::{Ask, Bid};
        let mut e = BookFeatureEngine::new(BookFeatureConfig::default());
        let snap = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0)];
        fn m(
            seq: u64,
            prev: Option<u64>,
            is_snapshot: bool,
            levels: &[LevelUpdate],
        ) -> BookMessage<'_> {
            BookMessage {
                ts_event: seq as i64,
                ts_recv: 0,
                seq: Some(seq),
                prev_seq: prev,
                is_snapshot,
                levels,
            }
        }
        let d = [lu(Bid, 10.0, 2.0)];
        assert!(e.on_message(&m(10, None, true, &snap)).unwrap().is_some());
        let r = e.on_message(&m(11, Some(10), false, &d)).unwrap().unwrap();
        assert!(!r.gap && r.ofi == Some(1.0));
        let r = e.on_message(&m(13, Some(12), false, &d)).unwrap().unwrap();
        assert!(r.gap && r.reset && r.mid.is_none() && r.ofi_windows.iter().all(Option::is_none));
        assert!(e.on_message(&m(14, Some(13), false, &d)).unwrap().is_none());
        let r = e.on_message(&m(20, None, true, &snap)).unwrap().unwrap();
        assert!(r.reset && !r.gap && r.ofi.is_none() && r.mid == Some(10.5));
    }

    #[test]
    fn crossing_update_is_uncrossed_by_latest_update() {
        use BookSide::{Ask, Bid};
        let mut e = BookFeatureEngine::new(BookFeatureConfig::default());
        let snap = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0), lu(Ask, 12.0, 1.0)];
        let msg = |snap, levels| BookMessage {
            ts_event: 0,
            ts_recv: 0,
            seq: None,
            prev_seq: None,
            is_snapshot: snap,
            levels,
        };
        e.on_message(&msg(true, &snap)).unwrap();
        // A bid at 11.5 crosses the 11.0 ask: the stale ask goes.
        let r = e
            .on_message(&msg(false, &[lu(Bid, 11.5, 1.0)]))
            .unwrap()
            .unwrap();
        assert!(r.uncrossed);
        assert_eq!((r.best_bid, r.best_ask), (Some(11.5), Some(12.0)));
    }
}
