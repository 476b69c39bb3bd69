//! The L2 order book state machine (FEATURES §1.4, CONTRACT §2, §9.2–9.4).
//!
//! - Levels are keyed exactly by [`PriceKey`] (the price's bits), sizes are fixed-point [`Qty`].
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
    /// The message was ignored (book not ready or invalid after a gap).
    pub ignored: bool,
}

/// Invalid level values (CONTRACT §8).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BookError {
    /// Price not finite and positive.
    #[error("book level price {0} must be finite and > 0")]
    Price(f64),
    /// Size not finite and non-negative.
    #[error("book level size {0} must be finite and >= 0")]
    Size(f64),
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
                out.ignored = true;
                return Ok(out);
            }
            if let (Some(prev), Some(seq)) = (msg.prev_seq, msg.seq) {
                let ok = match (self.after_snapshot, self.last_seq) {
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
            if msg.seq.is_some() {
                self.last_seq = msg.seq;
            }
        }
        out.uncrossed = self.uncross(msg.levels);
        out.ready = true;
        Ok(out)
    }

    #[inline]
    fn key_qty(l: &LevelUpdate) -> Result<(PriceKey, Qty), BookError> {
        let key = PriceKey::new(l.price).ok_or(BookError::Price(l.price))?;
        let q = Qty::from_f64(l.size)
            .filter(|q| q.0 >= 0 && l.size >= 0.0)
            .ok_or(BookError::Size(l.size))?;
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

    /// Tardis rule: latest update wins. Returns true when anything was removed.
    fn uncross(&mut self, levels: &[LevelUpdate]) -> bool {
        let mut changed = false;
        loop {
            let (Some((&b, _)), Some((&a, _))) =
                (self.bids.last_key_value(), self.asks.first_key_value())
            else {
                return changed;
            };
            if b < a {
                return changed;
            }
            let touched_ask = levels
                .iter()
                .any(|l| l.side == BookSide::Ask && PriceKey::new(l.price) == Some(a));
            if touched_ask {
                self.bids.remove(&b);
            } else {
                self.asks.remove(&a);
            }
            changed = true;
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
    pub fn top_n_units(&self, side: BookSide, n: usize, out: &mut Vec<(f64, i64)>) {
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
