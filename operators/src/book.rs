//! The L2 order book state machine (FEATURES §1.4, CONTRACT §2, §9.2–9.4).
//!
//! - Levels are keyed exactly by [`PriceKey`] (the price's bits), sizes are fixed-point [`Qty`].
//!   Each side is a `BTreeMap` (bids best = last, asks best = first): O(log n) updates anywhere in
//!   a book of thousands of levels (venue snapshots reach 5000 a side and diffs touch deep
//!   levels), and top-N is an in-order walk from the best end. A sorted `Vec` is faster near the
//!   top but costs O(depth) memmoves for deep updates, which real depth diffs are full of.
//! - A message (all rows of one atomic venue message) is applied whole, then checked once.
//! - A snapshot clears both sides first. Before the first snapshot the book is not ready and
//!   non-snapshot messages are ignored. A later snapshot is a reset.
//! - Sequence gaps (CONTRACT §9.2): after a snapshot with `seq = L`, the first diff is accepted
//!   when `prev_seq <= L` (it straddles L); after that each diff needs `prev_seq ==` the previous
//!   message's `seq`. A mismatch invalidates the book until the next snapshot; the gap message is
//!   reported once (`gap = true, reset = true`), later messages are ignored until then.
//! - Crossed or locked after a message (`best_bid >= best_ask`): uncrossed by the tardis rule —
//!   if the message touched the best ask's price, best bids are removed, otherwise best asks,
//!   until the book is no longer crossed (`uncrossed = true`).

use daedalus_model::fixed::{PriceKey, Qty};
use daedalus_model::rows::BookSide;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One level change: new absolute size at a price (0 deletes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelUpdate {
    /// Side of the level.
    pub side: BookSide,
    /// Level price.
    pub price: f64,
    /// New absolute size (0 deletes the level).
    pub size: f64,
}

/// One atomic book message.
#[derive(Debug, Clone, Copy)]
pub struct BookMessage<'a> {
    /// Event time (the effective, ordering time).
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue update id of the message.
    pub seq: Option<u64>,
    /// Update id the previous message must have ended on.
    pub prev_seq: Option<u64>,
    /// Snapshot message.
    pub is_snapshot: bool,
    /// Level changes.
    pub levels: &'a [LevelUpdate],
}

/// What applying a message did.
///
/// The three possible shapes: `ready` (the message was applied; `reset` for a mid-stream
/// snapshot, `uncrossed` if repaired), `gap` (with `reset`; the book is invalid until the next
/// snapshot), or all false (ignored: before the first snapshot or while invalid after a gap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The book is valid after the message (features can be computed).
    pub ready: bool,
    /// The message reset the book (mid-stream snapshot) or revealed a gap.
    pub reset: bool,
    /// The message revealed a sequence gap (book invalid until the next snapshot).
    pub gap: bool,
    /// The book was crossed or locked after the message and was repaired.
    pub uncrossed: bool,
}

impl ApplyOutcome {
    /// True when the message yields a `silver/book` row: it was applied, or it revealed a gap
    /// (reported once, with null features). False when it was ignored.
    #[inline]
    pub(crate) fn emits_row(&self) -> bool {
        self.ready || self.gap
    }
}

/// Invalid level values (CONTRACT §8). The whole message is rejected and the book is left as it
/// was before the message: the caller reports the error (naming the file/row) and stops.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BookError {
    /// Price not finite and strictly positive (0, negative, NaN, ±inf).
    #[error(
        "invalid book level: {side:?} price {price} breaks the rule 'price must be finite and > 0'"
    )]
    Price {
        /// Side of the offending level.
        side: BookSide,
        /// The offending price.
        price: f64,
    },
    /// Size negative, NaN, infinite or beyond the fixed-point range.
    #[error(
        "invalid book level: {side:?} size {size} at price {price} breaks the rule 'size must be finite, >= 0 and fit the 1e-9 fixed point'"
    )]
    Size {
        /// Side of the offending level.
        side: BookSide,
        /// Price of the offending level.
        price: f64,
        /// The offending size.
        size: f64,
    },
}

/// An L2 book.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct L2Book {
    /// Bids by price (best = last).
    bids: BTreeMap<PriceKey, Qty>,
    /// Asks by price (best = first).
    asks: BTreeMap<PriceKey, Qty>,
    /// A snapshot has been applied and no gap has invalidated it since.
    valid: bool,
    /// At least one snapshot was applied.
    seen_snapshot: bool,
    /// `seq` of the last applied message.
    last_seq: Option<u64>,
    /// The last applied message was a snapshot with this seq (straddle rule).
    after_snapshot: Option<u64>,
}

impl L2Book {
    /// An empty, not-ready book.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when features can be computed (a snapshot applied, no open gap).
    pub fn is_ready(&self) -> bool {
        self.valid
    }

    /// Applies one message.
    pub fn apply(&mut self, msg: &BookMessage) -> Result<ApplyOutcome, BookError> {
        // Validate every level before touching the book: a message is applied whole or not.
        for l in msg.levels {
            Self::key_qty(l)?;
        }
        let mut out = ApplyOutcome::default();
        if msg.is_snapshot {
            out.reset = self.seen_snapshot;
            self.bids.clear();
            self.asks.clear();
            for l in msg.levels {
                self.set(l);
            }
            self.valid = true;
            self.seen_snapshot = true;
            self.last_seq = msg.seq;
            self.after_snapshot = msg.seq;
        } else {
            if !self.valid {
                // Not ready (no snapshot yet) or invalid after a gap: nothing to apply to.
                return Ok(out);
            }
            if let (Some(prev), Some(seq)) = (msg.prev_seq, msg.seq) {
                let ok = match (self.after_snapshot, self.last_seq) {
                    // The first diff after a snapshot must straddle its id L (spot
                    // `U - 1 <= L < u`, futures `pu < L <= u`): `prev_seq <= L <= seq` covers
                    // both. A diff ending before L is stale; ingest drops those (§9.2), so one
                    // arriving here is treated as a gap rather than applied to a newer book.
                    (Some(l), _) => prev <= l && seq >= l,
                    (None, Some(last)) => prev == last,
                    (None, None) => true,
                };
                if !ok {
                    self.valid = false;
                    out.gap = true;
                    out.reset = true;
                    return Ok(out);
                }
            }
            for l in msg.levels {
                self.set(l);
            }
            self.after_snapshot = None;
            // A message without an id cannot anchor the next check: the next one goes unchecked
            // (rather than being compared with an older id and flagged as a false gap).
            self.last_seq = msg.seq;
        }
        out.uncrossed = self.uncross(msg.levels);
        out.ready = true;
        Ok(out)
    }

    #[inline]
    fn key_qty(l: &LevelUpdate) -> Result<(PriceKey, Qty), BookError> {
        let key = PriceKey::new(l.price).ok_or(BookError::Price {
            side: l.side,
            price: l.price,
        })?;
        // `l.size >= 0.0` also rejects NaN; -0.0 passes and deletes, like 0.
        let q = Qty::from_f64(l.size)
            .filter(|q| q.0 >= 0 && l.size >= 0.0)
            .ok_or(BookError::Size {
                side: l.side,
                price: l.price,
                size: l.size,
            })?;
        Ok((key, q))
    }

    #[inline]
    fn set(&mut self, l: &LevelUpdate) {
        let Ok((key, q)) = Self::key_qty(l) else {
            return;
        };
        let side = match l.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if q.0 == 0 {
            side.remove(&key);
        } else {
            side.insert(key, q);
        }
    }

    /// Tardis `removeCrossedLevels` (latest update wins): the side to trim is decided once, from
    /// the best ask when the crossing is first seen — if this message touched that price, the
    /// venue has not yet published the delete of the stale bids, so best bids go; otherwise best
    /// asks go — then that side loses its best level until `best_bid < best_ask`. Returns true
    /// when anything was removed.
    fn uncross(&mut self, levels: &[LevelUpdate]) -> bool {
        let (Some((&b, _)), Some((&a, _))) =
            (self.bids.last_key_value(), self.asks.first_key_value())
        else {
            return false;
        };
        if b < a {
            return false;
        }
        let touched_ask = levels
            .iter()
            .any(|l| l.side == BookSide::Ask && PriceKey::new(l.price) == Some(a));
        loop {
            let (Some((&b, _)), Some((&a, _))) =
                (self.bids.last_key_value(), self.asks.first_key_value())
            else {
                return true;
            };
            if b < a {
                return true;
            }
            if touched_ask {
                self.bids.remove(&b);
            } else {
                self.asks.remove(&a);
            }
        }
    }

    /// Best bid (price, size).
    #[inline]
    pub fn best_bid(&self) -> Option<(f64, Qty)> {
        self.bids.last_key_value().map(|(k, q)| (k.price(), *q))
    }

    /// Best ask (price, size).
    #[inline]
    pub fn best_ask(&self) -> Option<(f64, Qty)> {
        self.asks.first_key_value().map(|(k, q)| (k.price(), *q))
    }

    /// Bid at rank `rank` (0 = best).
    pub fn bid_level(&self, rank: usize) -> Option<(f64, Qty)> {
        self.bids
            .iter()
            .rev()
            .nth(rank)
            .map(|(k, q)| (k.price(), *q))
    }

    /// Ask at rank `rank` (0 = best).
    pub fn ask_level(&self, rank: usize) -> Option<(f64, Qty)> {
        self.asks.iter().nth(rank).map(|(k, q)| (k.price(), *q))
    }

    /// The best `n` levels of a side into `out` (cleared first; no allocation when `out` has
    /// capacity).
    #[inline]
    pub fn top_n(&self, side: BookSide, n: usize, out: &mut Vec<(f64, Qty)>) {
        out.clear();
        match side {
            BookSide::Bid => {
                out.extend(self.bids.iter().rev().take(n).map(|(k, q)| (k.price(), *q)))
            }
            BookSide::Ask => out.extend(self.asks.iter().take(n).map(|(k, q)| (k.price(), *q))),
        }
    }

    /// The best `n` levels of a side as `(price, size units)` into `out` (cleared first).
    #[inline]
    pub(crate) fn top_n_units(&self, side: BookSide, n: usize, out: &mut Vec<(f64, i64)>) {
        out.clear();
        match side {
            BookSide::Bid => out.extend(
                self.bids
                    .iter()
                    .rev()
                    .take(n)
                    .map(|(k, q)| (k.price(), q.0)),
            ),
            BookSide::Ask => out.extend(self.asks.iter().take(n).map(|(k, q)| (k.price(), q.0))),
        }
    }

    /// Number of bid levels.
    pub fn bid_depth(&self) -> usize {
        self.bids.len()
    }

    /// Number of ask levels.
    pub fn ask_depth(&self) -> usize {
        self.asks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookSide::{Ask, Bid};

    fn lu(side: BookSide, price: f64, size: f64) -> LevelUpdate {
        LevelUpdate { side, price, size }
    }

    fn msg(
        seq: Option<u64>,
        prev_seq: Option<u64>,
        is_snapshot: bool,
        levels: &[LevelUpdate],
    ) -> BookMessage<'_> {
        BookMessage {
            ts_event: 0,
            ts_recv: 0,
            seq,
            prev_seq,
            is_snapshot,
            levels,
        }
    }

    fn ladder(b: &L2Book, side: BookSide) -> Vec<(f64, f64)> {
        let mut v = Vec::new();
        b.top_n(side, usize::MAX, &mut v);
        v.into_iter().map(|(p, q)| (p, q.to_f64())).collect()
    }

    const READY: ApplyOutcome = ApplyOutcome {
        ready: true,
        reset: false,
        gap: false,
        uncrossed: false,
    };

    #[test]
    fn diffs_before_first_snapshot_are_ignored() {
        let mut b = L2Book::new();
        let o = b
            .apply(&msg(None, None, false, &[lu(Bid, 10.0, 1.0)]))
            .unwrap();
        assert_eq!(o, ApplyOutcome::default());
        assert!(!o.emits_row() && !b.is_ready());
        assert_eq!((b.bid_depth(), b.ask_depth()), (0, 0));
    }

    #[test]
    fn snapshot_clears_both_sides_and_zero_rows_mean_absent() {
        let mut b = L2Book::new();
        let s0 = [lu(Bid, 10.0, 1.0), lu(Bid, 9.0, 2.0), lu(Ask, 11.0, 3.0)];
        assert_eq!(b.apply(&msg(None, None, true, &s0)).unwrap(), READY);
        // A delete of an absent level is ignored; a size change replaces the level.
        let d = [lu(Ask, 50.0, 0.0), lu(Bid, 9.0, 4.0), lu(Ask, 12.0, 1.0)];
        assert_eq!(b.apply(&msg(None, None, false, &d)).unwrap(), READY);
        assert_eq!(ladder(&b, Bid), vec![(10.0, 1.0), (9.0, 4.0)]);
        assert_eq!(ladder(&b, Ask), vec![(11.0, 3.0), (12.0, 1.0)]);
        // Second snapshot: a reset; nothing of the old book survives, zero rows are absent.
        let s1 = [lu(Bid, 8.0, 1.0), lu(Bid, 7.5, 0.0), lu(Ask, 13.0, 2.0)];
        let o = b.apply(&msg(None, None, true, &s1)).unwrap();
        assert_eq!(
            o,
            ApplyOutcome {
                reset: true,
                ..READY
            }
        );
        assert_eq!(ladder(&b, Bid), vec![(8.0, 1.0)]);
        assert_eq!(ladder(&b, Ask), vec![(13.0, 2.0)]);
        assert_eq!(b.best_bid(), Some((8.0, Qty(1_000_000_000))));
        assert_eq!(b.best_ask(), Some((13.0, Qty(2_000_000_000))));
        assert_eq!((b.bid_level(1), b.ask_level(1)), (None, None));
    }

    #[test]
    fn rank_access_and_top_n() {
        let mut b = L2Book::new();
        let s: Vec<LevelUpdate> = (1..=5)
            .flat_map(|i| {
                [
                    lu(Bid, 100.0 - i as f64, i as f64),
                    lu(Ask, 100.0 + i as f64, 1.0),
                ]
            })
            .collect();
        b.apply(&msg(None, None, true, &s)).unwrap();
        assert_eq!(b.bid_level(0).unwrap().0, 99.0);
        assert_eq!(b.bid_level(4).unwrap().0, 95.0);
        assert_eq!(b.ask_level(2).unwrap().0, 103.0);
        assert_eq!(b.bid_level(5), None);
        let mut out = Vec::with_capacity(8);
        b.top_n(Bid, 3, &mut out);
        assert_eq!(
            out.iter().map(|l| l.0).collect::<Vec<_>>(),
            [99.0, 98.0, 97.0]
        );
        let cap = out.capacity();
        b.top_n(Ask, 8, &mut out);
        assert_eq!(out.len(), 5);
        assert_eq!(out.capacity(), cap, "no reallocation");
        assert_eq!((b.bid_depth(), b.ask_depth()), (5, 5));
    }

    #[test]
    fn invalid_levels_reject_the_whole_message() {
        let mut b = L2Book::new();
        b.apply(&msg(
            None,
            None,
            true,
            &[lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0)],
        ))
        .unwrap();
        let before = b.clone();
        for bad in [
            lu(Bid, 0.0, 1.0),
            lu(Bid, -1.0, 1.0),
            lu(Ask, f64::NAN, 1.0),
            lu(Ask, f64::INFINITY, 1.0),
            lu(Bid, 10.0, -1.0),
            lu(Bid, 10.0, f64::NAN),
            lu(Ask, 11.0, f64::INFINITY),
        ] {
            // The valid first row must not be applied either.
            let levels = [lu(Bid, 10.5, 7.0), bad];
            let e = b.apply(&msg(None, None, false, &levels)).unwrap_err();
            assert!(e.to_string().contains("breaks the rule"), "{e}");
            assert_eq!(b, before);
        }
        assert!(matches!(
            b.apply(&msg(None, None, false, &[lu(Ask, 11.0, -2.0)])),
            Err(BookError::Size { side: Ask, .. })
        ));
    }

    #[test]
    fn sequence_straddle_continuity_and_gap() {
        let s = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0)];
        let d = [lu(Bid, 10.0, 2.0)];
        // Spot: snapshot L = 100; first diff U = 95, u = 105 (prev_seq = U − 1 = 94).
        let mut b = L2Book::new();
        b.apply(&msg(Some(100), None, true, &s)).unwrap();
        assert_eq!(
            b.apply(&msg(Some(105), Some(94), false, &d)).unwrap(),
            READY
        );
        assert_eq!(
            b.apply(&msg(Some(110), Some(105), false, &d)).unwrap(),
            READY
        );
        // A message without ids is not checked and does not anchor the next check.
        assert_eq!(b.apply(&msg(None, None, false, &d)).unwrap(), READY);
        assert_eq!(
            b.apply(&msg(Some(130), Some(120), false, &d)).unwrap(),
            READY
        );
        // 131 must follow 130: 132 after 131 is a gap.
        let gap = b.apply(&msg(Some(140), Some(131), false, &d)).unwrap();
        assert_eq!(
            gap,
            ApplyOutcome {
                ready: false,
                reset: true,
                gap: true,
                uncrossed: false
            }
        );
        assert!(gap.emits_row() && !b.is_ready());
        // Even a perfectly chained diff is ignored until the next snapshot.
        let o = b.apply(&msg(Some(141), Some(140), false, &d)).unwrap();
        assert!(!o.emits_row());
        let o = b.apply(&msg(Some(200), None, true, &s)).unwrap();
        assert_eq!(
            o,
            ApplyOutcome {
                reset: true,
                ..READY
            }
        );
        // Futures: L = 200, first diff pu = 198 < L <= u = 203.
        assert_eq!(
            b.apply(&msg(Some(203), Some(198), false, &d)).unwrap(),
            READY
        );
        // After a snapshot, a first diff that starts after L (prev_seq > L) is a gap ...
        b.apply(&msg(Some(300), None, true, &s)).unwrap();
        assert!(b.apply(&msg(Some(310), Some(301), false, &d)).unwrap().gap);
        // ... and so is a stale one that ended before L.
        b.apply(&msg(Some(400), None, true, &s)).unwrap();
        assert!(b.apply(&msg(Some(390), Some(380), false, &d)).unwrap().gap);
    }

    #[test]
    fn uncross_removes_stale_asks_when_the_bid_side_moved() {
        let mut b = L2Book::new();
        let s = [
            lu(Bid, 10.0, 1.0),
            lu(Ask, 11.0, 1.0),
            lu(Ask, 11.5, 1.0),
            lu(Ask, 12.0, 1.0),
        ];
        b.apply(&msg(None, None, true, &s)).unwrap();
        // Bid 11.5 crosses 11.0 and locks 11.5: both asks go (locked counts as crossed).
        let o = b
            .apply(&msg(None, None, false, &[lu(Bid, 11.5, 2.0)]))
            .unwrap();
        assert_eq!(
            o,
            ApplyOutcome {
                uncrossed: true,
                ..READY
            }
        );
        assert_eq!(ladder(&b, Bid), vec![(11.5, 2.0), (10.0, 1.0)]);
        assert_eq!(ladder(&b, Ask), vec![(12.0, 1.0)]);
    }

    #[test]
    fn uncross_removes_stale_bids_when_the_best_ask_was_updated() {
        let mut b = L2Book::new();
        let s = [
            lu(Bid, 10.0, 1.0),
            lu(Bid, 9.5, 1.0),
            lu(Bid, 9.0, 1.0),
            lu(Ask, 11.0, 1.0),
        ];
        b.apply(&msg(None, None, true, &s)).unwrap();
        let o = b
            .apply(&msg(None, None, false, &[lu(Ask, 9.5, 3.0)]))
            .unwrap();
        assert!(o.uncrossed && o.ready);
        assert_eq!(ladder(&b, Bid), vec![(9.0, 1.0)]);
        assert_eq!(ladder(&b, Ask), vec![(9.5, 3.0), (11.0, 1.0)]);
    }

    /// The side is decided once, from the best ask when the crossing is first seen (tardis):
    /// here the untouched best ask 11 goes first, then the message's own ask at 12 is still
    /// crossed by the 12.5 bid and goes too (re-deciding per step would delete the new bid).
    #[test]
    fn uncross_decides_the_side_once() {
        let mut b = L2Book::new();
        let s = [lu(Bid, 10.0, 1.0), lu(Ask, 11.0, 1.0), lu(Ask, 13.0, 1.0)];
        b.apply(&msg(None, None, true, &s)).unwrap();
        let d = [lu(Bid, 12.5, 1.0), lu(Ask, 12.0, 5.0)];
        assert!(b.apply(&msg(None, None, false, &d)).unwrap().uncrossed);
        assert_eq!(ladder(&b, Bid), vec![(12.5, 1.0), (10.0, 1.0)]);
        assert_eq!(ladder(&b, Ask), vec![(13.0, 1.0)]);
        assert!(b.best_bid().unwrap().0 < b.best_ask().unwrap().0);
    }
}
