//! Bronze row types (CONTRACT §2). Used by parsers, the synthetic market and tests; the hot path
//! reads bronze as Arrow batches instead.

use crate::time::Nanos;
use serde::{Deserialize, Serialize};

/// The three bronze datasets, with their rank in the per-market total order of CONTRACT §3
/// (`book = 0 < ticker = 1 < trades = 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dataset {
    /// L2 level changes.
    Book = 0,
    /// Venue best bid/offer.
    Ticker = 1,
    /// Trades.
    Trades = 2,
}

impl Dataset {
    /// All bronze datasets in rank order.
    pub const ALL: [Dataset; 3] = [Dataset::Book, Dataset::Ticker, Dataset::Trades];

    /// The dataset's folder name.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Book => "book",
            Dataset::Ticker => "ticker",
            Dataset::Trades => "trades",
        }
    }

    /// Rank in the total order of CONTRACT §3.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Parses a dataset folder name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// Side of a book level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BookSide {
    /// Bid (buy) side.
    Bid,
    /// Ask (sell) side.
    Ask,
}

impl BookSide {
    /// `bid` or `ask`.
    pub fn as_str(self) -> &'static str {
        match self {
            BookSide::Bid => "bid",
            BookSide::Ask => "ask",
        }
    }

    /// Parses `bid`/`ask` (also Tardis/Binance spellings `b`/`a`, `buy`/`sell`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bid" | "b" | "buy" | "bids" => Some(BookSide::Bid),
            "ask" | "a" | "sell" | "asks" => Some(BookSide::Ask),
            _ => None,
        }
    }
}

/// Aggressor side of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TradeSide {
    /// Buyer aggressed.
    Buy,
    /// Seller aggressed.
    Sell,
    /// Not known.
    Unknown,
}

impl TradeSide {
    /// `buy`, `sell` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeSide::Buy => "buy",
            TradeSide::Sell => "sell",
            TradeSide::Unknown => "unknown",
        }
    }

    /// Parses `buy`/`sell`/`unknown`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "buy" => Some(TradeSide::Buy),
            "sell" => Some(TradeSide::Sell),
            "unknown" => Some(TradeSide::Unknown),
            _ => None,
        }
    }

    /// The trade sign: +1 buy, -1 sell, 0 unknown.
    pub fn sign(self) -> i8 {
        match self {
            TradeSide::Buy => 1,
            TradeSide::Sell => -1,
            TradeSide::Unknown => 0,
        }
    }
}

/// One bronze `book` row: an absolute level size (0 deletes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookRow {
    /// Venue event time.
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue update id of the message (Binance `u`).
    pub seq: Option<u64>,
    /// Update id the previous message must have ended on; a mismatch is a gap.
    pub prev_seq: Option<u64>,
    /// Row belongs to a snapshot.
    pub is_snapshot: bool,
    /// Level side.
    pub side: BookSide,
    /// Level price.
    pub price: f64,
    /// New absolute size at the level; 0 deletes it.
    pub size: f64,
}

/// One bronze `trades` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRow {
    /// Venue event (trade) time.
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue trade id.
    pub trade_id: String,
    /// Trade price.
    pub price: f64,
    /// Trade size (base units or contracts, as the venue quotes).
    pub size: f64,
    /// Aggressor side.
    pub side: TradeSide,
}

/// One bronze `ticker` row (venue best bid/offer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickerRow {
    /// Venue event time (`ts_recv` where the venue sends none).
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue update id.
    pub seq: Option<u64>,
    /// Best bid price.
    pub bid_price: Option<f64>,
    /// Best bid size.
    pub bid_size: Option<f64>,
    /// Best ask price.
    pub ask_price: Option<f64>,
    /// Best ask size.
    pub ask_size: Option<f64>,
}
