//! The local price-string book used to verify venue checks, and the top-of-book tracker.
//!
//! Levels are keyed by the exact decimal value of the venue's price string ([`DecKey`], so
//! `"30249.40"` and `"30249.4"` are one level) and keep the venue's original price and size
//! strings, which the checksums (the `checksum` module) are computed from.

use super::{Bad, VerifyStats};
use daedalus_model::rows::BookSide;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Fractional digits of a [`DecKey`].
const SCALE_DIGITS: usize = 18;

/// An exact decimal price: the value times 10^18, as an integer.
/// Stored (ingest state) as its decimal digits: JSON numbers and serde's buffered values do
/// not all carry 128 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct DecKey(pub u128);

impl From<DecKey> for String {
    fn from(k: DecKey) -> String {
        k.0.to_string()
    }
}

impl TryFrom<String> for DecKey {
    type Error = std::num::ParseIntError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(DecKey)
    }
}

impl DecKey {
    /// Parses a plain non-negative decimal (`123`, `0.000022900`); `None` for signs, exponents,
    /// more than 18 significant fractional digits or overflow.
    pub fn parse(s: &str) -> Option<Self> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > SCALE_DIGITS {
            return None;
        }
        let mut v: u128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            v = v.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
        }
        v.checked_mul(10u128.checked_pow((SCALE_DIGITS - frac.len()) as u32)?)
            .map(DecKey)
    }
}

/// A book level with the venue's strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Price as the venue sent it.
    pub px: Box<str>,
    /// Size as the venue sent it.
    pub sz: Box<str>,
}

/// Parses a venue decimal to a finite non-negative `f64` (correctly rounded).
pub fn parse_num(s: &str, what: &'static str) -> Result<f64, Bad> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && !s.starts_with('-'))
        .ok_or_else(|| Bad::rule(what, format!("{s:?}")))
}

/// Both sides of a local book.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    bids: BTreeMap<DecKey, Level>,
    asks: BTreeMap<DecKey, Level>,
}

impl PriceBook {
    /// Empties both sides.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn side_mut(&mut self, side: BookSide) -> &mut BTreeMap<DecKey, Level> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// Sets a level to an absolute size (a zero size deletes it); returns the parsed price and
    /// size.
    pub fn set(&mut self, side: BookSide, px: &str, sz: &str) -> Result<(f64, f64), Bad> {
        let key = DecKey::parse(px)
            .filter(|k| k.0 > 0)
            .ok_or_else(|| Bad::rule("level price is a positive decimal", format!("{px:?}")))?;
        let price = parse_num(px, "level price is a positive decimal")?;
        let size = parse_num(sz, "level size is a non-negative decimal")?;
        let map = self.side_mut(side);
        if size == 0.0 {
            map.remove(&key);
        } else {
            let level = Level {
                px: px.into(),
                sz: sz.into(),
            };
            map.insert(key, level);
        }
        Ok((price, size))
    }

    /// Asks, best (lowest) first.
    pub fn asks_asc(&self) -> impl Iterator<Item = &Level> {
        self.asks.values()
    }

    /// Bids, best (highest) first.
    pub fn bids_desc(&self) -> impl Iterator<Item = &Level> {
        self.bids.values().rev()
    }

    /// Number of levels on a side.
    pub fn len(&self, side: BookSide) -> usize {
        match side {
            BookSide::Bid => self.bids.len(),
            BookSide::Ask => self.asks.len(),
        }
    }

    /// Best bid and best ask keys.
    pub fn top(&self) -> Top {
        Top {
            bid: self.bids.keys().next_back().copied(),
            ask: self.asks.keys().next().copied(),
        }
    }

    /// Best bid at or above best ask.
    pub fn crossed(&self) -> bool {
        matches!(self.top(), Top { bid: Some(b), ask: Some(a) } if b >= a)
    }

    /// Every level of a side as the venue's `(price, size)` strings, best first.
    pub fn levels(&self, side: BookSide) -> Vec<(Box<str>, Box<str>)> {
        let pair = |l: &Level| (l.px.clone(), l.sz.clone());
        match side {
            BookSide::Bid => self.bids_desc().map(pair).collect(),
            BookSide::Ask => self.asks_asc().map(pair).collect(),
        }
    }

    /// Drops the worst levels beyond `depth` on each side; returns them (side, price string).
    pub fn truncate(&mut self, depth: usize) -> Vec<(BookSide, Box<str>)> {
        let mut out = Vec::new();
        while self.bids.len() > depth {
            if let Some((_, l)) = self.bids.pop_first() {
                out.push((BookSide::Bid, l.px));
            }
        }
        while self.asks.len() > depth {
            if let Some((_, l)) = self.asks.pop_last() {
                out.push((BookSide::Ask, l.px));
            }
        }
        out
    }
}

/// Best bid and best ask prices (exact); `None` for an empty side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Top {
    /// Best bid.
    pub bid: Option<DecKey>,
    /// Best ask.
    pub ask: Option<DecKey>,
}

impl Top {
    /// A top from ticker price strings (`None` or empty for a missing side).
    pub fn from_strs(bid: Option<&str>, ask: Option<&str>) -> Result<Self, Bad> {
        let key = |s: Option<&str>| -> Result<Option<DecKey>, Bad> {
            match s.filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => DecKey::parse(s)
                    .map(Some)
                    .ok_or_else(|| Bad::rule("ticker price is a decimal", format!("{s:?}"))),
            }
        };
        Ok(Top {
            bid: key(bid)?,
            ask: key(ask)?,
        })
    }
}

/// How far before or after a ticker the book's top may be to count as lagging or leading.
pub const TOB_WINDOW_NS: Nanos = 1_000_000_000;

/// How far back a book top is kept to explain a stale ticker.
pub const TOB_STALE_NS: Nanos = 10_000_000_000;

/// Compares ticker tops with the rebuilt book's tops over time (all times are receive times).
/// Its history carries from one input to the next with the book (ingest state), so a ticker
/// right after an input boundary is judged as in one call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopTracker {
    /// Distinct book tops of the last [`TOB_STALE_NS`], oldest first, with the time they began.
    history: VecDeque<(Nanos, Top)>,
    /// Ticker tops not yet explained: (ticker receive time, top).
    pending: Vec<(Nanos, Top)>,
    /// Event time of the book's last snapshot.
    snapshot_event: Option<Nanos>,
}

impl TopTracker {
    /// A new snapshot with event time `ts_event`: earlier tops are forgotten.
    pub fn reset(&mut self, ts_event: Option<Nanos>) {
        self.history.clear();
        self.snapshot_event = ts_event;
    }

    /// Records the book's top after an applied message received at `ts`.
    pub fn on_book(&mut self, ts: Nanos, top: Top, stats: &mut VerifyStats) {
        self.expire(ts, stats);
        self.pending.retain(|&(_, t)| {
            let hit = t == top;
            stats.top_of_book_leading += u64::from(hit);
            !hit
        });
        if self.history.back().map(|h| h.1) != Some(top) {
            self.history.push_back((ts, top));
        }
        while self.history.get(1).is_some_and(|h| h.0 < ts - TOB_STALE_NS) {
            self.history.pop_front();
        }
    }

    /// Compares a ticker top (event time `ts_event`, received at `ts`) with the book's top.
    pub fn on_ticker(&mut self, ts: Nanos, ts_event: Nanos, ticker: Top, stats: &mut VerifyStats) {
        self.expire(ts, stats);
        stats.top_of_book_checked += 1;
        if self.history.back().map(|h| h.1) == Some(ticker) {
            stats.top_of_book_matches += 1;
        } else if self.snapshot_event.is_some_and(|s| ts_event < s) {
            stats.top_of_book_before_snapshot += 1;
        } else if let Some(lag) = self.lag(ts, ticker) {
            stats.top_of_book_max_lag_ns = stats.top_of_book_max_lag_ns.max(lag);
            if lag <= TOB_WINDOW_NS {
                stats.top_of_book_lagging += 1;
            } else {
                stats.top_of_book_stale += 1;
            }
        } else {
            self.pending.push((ts, ticker));
        }
    }

    /// How long before `ts` the book last held `top` (time since that top was replaced).
    fn lag(&self, ts: Nanos, top: Top) -> Option<Nanos> {
        let ends = self.history.iter().skip(1).map(|h| h.0);
        self.history
            .iter()
            .zip(ends)
            .filter(|((_, t), _)| *t == top)
            .map(|(_, end)| (ts - end).max(0))
            .min()
    }

    fn expire(&mut self, ts: Nanos, stats: &mut VerifyStats) {
        self.pending.retain(|&(t, _)| {
            let old = t < ts - TOB_WINDOW_NS;
            stats.top_of_book_mismatches += u64::from(old);
            !old
        });
    }

    /// End of input: unexplained tickers are mismatches.
    pub fn finish(&mut self, stats: &mut VerifyStats) {
        stats.top_of_book_mismatches += self.pending.len() as u64;
        self.pending.clear();
    }
}
