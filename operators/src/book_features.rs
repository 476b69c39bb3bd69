//! `silver/book` features per atomic book message (CONTRACT §4, §9.4; FEATURES §1.4, §2–4).
//!
//! One row per message once the book is ready (after its first snapshot):
//! - the first ready state and every reset (mid-stream snapshot) have null `ofi`/`mlofi_*`
//!   (no previous state; the post-reset state becomes the previous one); window sums treat
//!   them as 0;
//! - a message revealing a sequence gap yields one row with `gap = reset = true` and every
//!   feature null; messages after it yield no row until the next snapshot;
//! - `ofi_<W>` = Σ e over this market's rows with effective time in `(t − W, t]` (exact `i128`
//!   units), null only on a gap row; windows are not cleared by resets. The effective time is the
//!   running maximum of `ts_event` over the messages fed (CONTRACT §9.3), so callers may pass
//!   either the raw venue time or the already-effective one; the row keeps `ts_event` as given.
//! - features are computed once per message, on the book after uncrossing.
//!
//! Flows are exact integers in `Qty` units (`ofi_units`, `mlofi_units`) for downstream sums.

use crate::book::{BookError, BookMessage, L2Book};
use crate::ofi::{Level, mlofi};
use crate::rolling::MultiWindowSum;
use crate::structural::{depth_imbalance, l1_features};
#[cfg(test)]
use daedalus_model::fixed::QTY_SCALE;
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

pub use daedalus_model::features::BookFeatureRow;

/// Book + features for one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookFeatureEngine {
    cfg: BookFeatureConfig,
    book: L2Book,
    prev_bids: Vec<Level>,
    prev_asks: Vec<Level>,
    has_prev: bool,
    windows: MultiWindowSum<i128>,
    /// Running maximum of `ts_event` (CONTRACT §9.3: the effective time windows use, so a venue
    /// clock stepping backwards never un-orders the window queue).
    eff_ts: Option<Nanos>,
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
            eff_ts: None,
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
        // Every message of the bronze order advances the effective time, applied or not.
        let t = self.eff_ts.map_or(msg.ts_event, |e| e.max(msg.ts_event));
        self.eff_ts = Some(t);
        if !o.emits_row() {
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
        self.windows.push(t, r.ofi_units);
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
        let mut totals = [0i128; 3];
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
                    assert_eq!(r.ofi_units, r.mlofi_units[0]);
                    total += v[0];
                    for (t, u) in totals.iter_mut().zip(&r.mlofi_units) {
                        *t += u;
                    }
                }
            }
            assert_eq!(r.mid, Some(mid), "S{i}");
            assert_eq!(r.spread, Some(spread), "S{i}");
            assert!((r.wmid.unwrap() - wmid).abs() < 1e-6, "S{i}");
            assert!((r.imbalance_1.unwrap() - i1).abs() < 1e-6, "S{i}");
            assert!((r.rel_spread_bps.unwrap() - 1e4 * spread / mid).abs() < 1e-9);
            if i == 0 {
                // DI_3 at S0 = (10 − 11)/21 (only 3 levels exist, so DI_5 = DI_3).
                assert!((r.depth_imbalance_5.unwrap() + 0.047619).abs() < 1e-6);
                assert_eq!(r.depth_imbalance_5, Some(-1.0 / 21.0));
            }
            // Window 1 µs covers every event so far (ts 0..6 ns): Σ e.
            assert_eq!(r.ofi_windows[0], Some(total));
        }
        assert_eq!(total, 3.0);
        assert_eq!(totals, [3 * QTY_SCALE as i128, 0, 0]);
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

    fn sm<'a>(
        ts: i64,
        seq: u64,
        prev: Option<u64>,
        is_snapshot: bool,
        levels: &'a [LevelUpdate],
    ) -> BookMessage<'a> {
        BookMessage {
            ts_event: ts,
            ts_recv: ts + 1,
            seq: Some(seq),
            prev_seq: prev,
            is_snapshot,
            levels,
        }
    }

    /// A valid row with the L1 values derived by the FEATURES §2 formulas.
    fn row(
        ts: i64,
        seq: u64,
        (bb, bq): (f64, f64),
        (ba, aq): (f64, f64),
        di: f64,
        e: Option<[i64; 2]>,
        win: f64,
    ) -> BookFeatureRow {
        let mid = (bb + ba) / 2.0;
        let u = |x: i64| i128::from(x) * QTY_SCALE as i128;
        BookFeatureRow {
            ts_event: ts,
            ts_recv: ts + 1,
            seq: Some(seq),
            best_bid: Some(bb),
            best_ask: Some(ba),
            bid_size_1: Some(bq),
            ask_size_1: Some(aq),
            mid: Some(mid),
            spread: Some(ba - bb),
            rel_spread_bps: Some(1e4 * (ba - bb) / mid),
            wmid: Some((bb * aq + ba * bq) / (bq + aq)),
            imbalance_1: Some((bq - aq) / (bq + aq)),
            depth_imbalance_5: Some(di),
            depth_imbalance_10: Some(di),
            ofi: e.map(|e| e[0] as f64),
            mlofi: match e {
                Some(e) => e.iter().map(|&x| Some(x as f64)).collect(),
                None => vec![None, None],
            },
            ofi_windows: vec![Some(win)],
            ofi_units: e.map_or(0, |e| u(e[0])),
            mlofi_units: e.map_or(vec![0, 0], |e| e.iter().map(|&x| u(x)).collect()),
            ..Default::default()
        }
    }

    /// Snapshot, a crossing diff (uncrossed), a diff, a gap, an ignored diff, the resetting
    /// snapshot and a diff after it: every row field by field (M = 2, one 10 ns window).
    #[test]
    fn explicit_rows_through_uncross_gap_and_reset() {
        use BookSide::{Ask, Bid};
        let mut e = BookFeatureEngine::new(BookFeatureConfig {
            mlofi_levels: 2,
            windows: vec![10],
        });
        assert_eq!((e.mid(), e.spread()), (None, None));
        let s0 = [
            lu(Bid, 10.0, 1.0),
            lu(Bid, 9.0, 2.0),
            lu(Ask, 11.0, 1.0),
            lu(Ask, 12.0, 3.0),
        ];
        let r = e.on_message(&sm(0, 10, None, true, &s0)).unwrap().unwrap();
        assert_eq!(
            *r,
            row(0, 10, (10.0, 1.0), (11.0, 1.0), -1.0 / 7.0, None, 0.0)
        );
        assert_eq!((e.mid(), e.spread()), (Some(10.5), Some(1.0)));

        // Bid 11.5 crosses the 11.0 ask, which the message did not touch: the ask goes.
        // L1 (10,1)/(11,1) -> (11.5,2)/(12,3): bid rose +2, ask rose +1 => e1 = 3.
        // L2 (9,2)/(12,3) -> (10,1)/(+inf,0): bid rose +1, ask rose +3 => e2 = 4.
        let d1 = [lu(Bid, 11.5, 2.0)];
        let r = e
            .on_message(&sm(5, 11, Some(10), false, &d1))
            .unwrap()
            .unwrap();
        let want = BookFeatureRow {
            uncrossed: true,
            ..row(5, 11, (11.5, 2.0), (12.0, 3.0), 0.25, Some([3, 4]), 3.0)
        };
        assert_eq!(*r, want);

        // The 12.0 ask shrinks 3 -> 1: e1 = +2; level 2 unchanged (bid 10x1, ask sentinel).
        // Window (2, 12] holds the rows at 5 and 12: 3 + 2.
        let d2 = [lu(Ask, 12.0, 1.0)];
        let r = e
            .on_message(&sm(12, 12, Some(11), false, &d2))
            .unwrap()
            .unwrap();
        assert_eq!(
            *r,
            row(
                12,
                12,
                (11.5, 2.0),
                (12.0, 1.0),
                4.0 / 6.0,
                Some([2, 0]),
                5.0
            )
        );

        // prev_seq 13 != 12: a gap row with every feature null, then silence.
        let r = e
            .on_message(&sm(13, 14, Some(13), false, &d2))
            .unwrap()
            .unwrap();
        let gap = BookFeatureRow {
            ts_event: 13,
            ts_recv: 14,
            seq: Some(14),
            reset: true,
            gap: true,
            mlofi: vec![None, None],
            ofi_windows: vec![None],
            mlofi_units: vec![0, 0],
            ..Default::default()
        };
        assert_eq!(*r, gap);
        assert_eq!((e.mid(), e.spread()), (None, None));
        assert!(
            e.on_message(&sm(14, 15, Some(14), false, &d2))
                .unwrap()
                .is_none()
        );

        // The next snapshot: reset, no OFI; the window was not cleared: (10, 20] holds 12's +2.
        let s1 = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0)];
        let r = e.on_message(&sm(20, 20, None, true, &s1)).unwrap().unwrap();
        let want = BookFeatureRow {
            reset: true,
            ..row(20, 20, (10.0, 1.0), (11.0, 1.0), 0.0, None, 2.0)
        };
        assert_eq!(*r, want);

        // OFI resumes from the post-reset state: bid 1 -> 3 at the same price, e1 = +2, and
        // level 2 is sentinel on both sides before and after (e2 = 0). Window (15, 25]: 0 + 2.
        let d3 = [lu(Bid, 10.0, 3.0)];
        let r = e
            .on_message(&sm(25, 21, Some(20), false, &d3))
            .unwrap()
            .unwrap();
        assert_eq!(
            *r,
            row(25, 21, (10.0, 3.0), (11.0, 1.0), 0.5, Some([2, 0]), 2.0)
        );
    }

    /// Windows run on the effective time (running max of `ts_event`, CONTRACT §9.3): a message
    /// whose venue time steps back is windowed at the current maximum and keeps its own
    /// `ts_event` in the row.
    #[test]
    fn windows_use_the_running_max_event_time() {
        use BookSide::{Ask, Bid};
        let mut e = BookFeatureEngine::new(BookFeatureConfig {
            mlofi_levels: 1,
            windows: vec![10],
        });
        let s = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0)];
        // No prev_seq: continuity is not checked.
        let m = |ts, snap, levels| sm(ts, 0, None, snap, levels);
        e.on_message(&m(100, true, &s)).unwrap();
        let d = [
            [lu(Bid, 10.0, 2.0)],
            [lu(Bid, 10.0, 4.0)],
            [lu(Bid, 10.0, 5.0)],
        ];
        let r = e.on_message(&m(105, false, &d[0])).unwrap().unwrap();
        assert_eq!(r.ofi_windows, vec![Some(1.0)]);
        // Venue time steps back to 95: effective time stays 105, window (95, 105].
        let r = e.on_message(&m(95, false, &d[1])).unwrap().unwrap();
        assert_eq!((r.ts_event, r.ofi_windows.clone()), (95, vec![Some(3.0)]));
        // At 115 the rows at 105 (both, effective) leave: only this +1 remains.
        let r = e.on_message(&m(115, false, &d[2])).unwrap().unwrap();
        assert_eq!(r.ofi_windows, vec![Some(1.0)]);
    }
}
