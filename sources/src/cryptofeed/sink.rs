//! Per-market state shared by the venue parsers: the local book, sync flag, staged rows of the
//! message being applied, checks and outputs.

use super::book::{PriceBook, Top, TopTracker};
use super::{Bad, Gap, MarketOutput, SkipCounts, Venue, VerifyStats, symbols};
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow};
use daedalus_model::time::Nanos;
use std::collections::HashMap;

/// Times and ids shared by every row of one book message.
#[derive(Debug, Clone, Copy)]
pub struct RowMeta {
    /// Venue event time (receive time where the venue sends none).
    pub ts_event: Nanos,
    /// Receive time.
    pub ts_recv: Nanos,
    /// Venue sequence of the message.
    pub seq: Option<u64>,
    /// Sequence the previous message must have ended on.
    pub prev_seq: Option<u64>,
    /// Snapshot rows.
    pub is_snapshot: bool,
}

impl RowMeta {
    /// Meta of an unsequenced message.
    pub fn plain(ts_event: Nanos, ts_recv: Nanos, is_snapshot: bool) -> Self {
        RowMeta {
            ts_event,
            ts_recv,
            seq: None,
            prev_seq: None,
            is_snapshot,
        }
    }
}

/// What a row of an id-keyed book does (BitMEX, Bybit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAction {
    /// Maps the id to its price and sets its size (snapshot rows too).
    Insert,
    /// Sets the size of a known id.
    Update,
    /// Removes a known id (a size-0 row at its price).
    Delete,
}

/// One market's state while reading a capture.
#[derive(Debug)]
pub struct MarketState {
    /// Rows and checks so far.
    pub out: MarketOutput,
    /// The local book.
    pub book: PriceBook,
    /// Price strings by `(side, id)` (BitMEX, Bybit).
    pub ids: HashMap<(BookSide, u64), Box<str>>,
    /// Last venue sequence applied (Bequant).
    pub last_seq: Option<u64>,
    synced: bool,
    strict: bool,
    staged: Vec<BookRow>,
    tob: TopTracker,
}

impl MarketState {
    /// Starts a snapshot message (event time `ts_event`): clears the book; it is synced from
    /// here on.
    pub fn begin_snapshot(&mut self, ts_event: Nanos) {
        self.book.clear();
        self.ids.clear();
        self.tob.reset(Some(ts_event));
        self.staged.clear();
        self.synced = true;
        self.out.stats.messages_checked += 1;
    }

    /// Starts an update message; `false` (counted) when the book is not synced, so the message
    /// is skipped.
    pub fn begin_update(&mut self) -> bool {
        self.staged.clear();
        if self.synced {
            self.out.stats.messages_checked += 1;
        } else {
            self.out.stats.unsynced_messages += 1;
        }
        self.synced
    }

    /// Sets a level to an absolute size (staged until [`Self::commit`]).
    pub fn level(&mut self, m: &RowMeta, side: BookSide, px: &str, sz: &str) -> Result<(), Bad> {
        let (price, size) = self.book.set(side, px, sz)?;
        self.staged.push(BookRow {
            ts_event: m.ts_event,
            ts_recv: m.ts_recv,
            seq: m.seq,
            prev_seq: m.prev_seq,
            is_snapshot: m.is_snapshot,
            side,
            price,
            size,
        });
        Ok(())
    }

    /// Applies one row of an id-keyed book; `false` after a gap (an unknown id: the message is
    /// dropped and the book waits for a snapshot).
    pub fn id_level(
        &mut self,
        m: &RowMeta,
        action: IdAction,
        side: BookSide,
        id: u64,
        price: Option<&str>,
        size: Option<u64>,
    ) -> Result<bool, Bad> {
        let px: Box<str> = match action {
            IdAction::Insert => {
                let p =
                    price.ok_or_else(|| Bad::rule("insert rows carry a price", id.to_string()))?;
                self.ids.insert((side, id), p.into());
                p.into()
            }
            _ => match self.ids.get(&(side, id)) {
                Some(p) => p.clone(),
                None => {
                    let detail = format!("{action:?} of unknown level id {id} ({side:?})");
                    self.gap(m.ts_recv, "level id", detail)?;
                    return Ok(false);
                }
            },
        };
        let size = match action {
            IdAction::Delete => {
                self.ids.remove(&(side, id));
                0
            }
            _ => size.ok_or_else(|| Bad::rule("level rows carry a size", id.to_string()))?,
        };
        self.level(m, side, &px, &size.to_string())?;
        Ok(true)
    }

    /// Drops levels beyond `depth` (emitted as size-0 rows of the message).
    pub fn truncate(&mut self, m: &RowMeta, depth: usize) -> Result<(), Bad> {
        for (side, px) in self.book.truncate(depth) {
            self.out.stats.truncated_levels += 1;
            self.level(m, side, &px, "0")?;
        }
        Ok(())
    }

    /// Ends a message whose checks passed: its rows are emitted, the book is checked for a
    /// cross and its top recorded.
    pub fn commit(&mut self, ts_recv: Nanos) {
        self.out.book.append(&mut self.staged);
        self.out.stats.crossed_books += u64::from(self.book.crossed());
        let top = self.book.top();
        self.tob.on_book(ts_recv, top, &mut self.out.stats);
    }

    /// A failed check: the message's rows are dropped and the book is unsynced until the next
    /// snapshot; an error in strict mode.
    pub fn gap(&mut self, ts_recv: Nanos, check: &'static str, detail: String) -> Result<(), Bad> {
        self.staged.clear();
        self.book.clear();
        self.ids.clear();
        self.tob.reset(None);
        self.synced = false;
        match check {
            "checksum" => self.out.stats.checksum_mismatches += 1,
            _ => self.out.stats.sequence_gaps += 1,
        }
        if self.strict {
            return Err(Bad::Check {
                market: self.out.market.clone(),
                check,
                detail,
            });
        }
        self.out.gaps.push(Gap {
            ts_recv,
            check,
            detail,
        });
        Ok(())
    }

    /// Adds a ticker row; `top` (the row's prices) is compared with the book when synced.
    pub fn ticker(&mut self, row: TickerRow, top: Option<Top>) {
        if let Some(top) = top.filter(|_| self.synced) {
            let stats = &mut self.out.stats;
            self.tob.on_ticker(row.ts_recv, row.ts_event, top, stats);
        }
        self.out.ticker.push(row);
    }

    /// Adds a live trade.
    pub fn trade(&mut self, row: TradeRow) {
        self.out.trades.push(row);
    }

    /// Whether the book is synced.
    pub fn synced(&self) -> bool {
        self.synced
    }
}

/// All markets of a capture, created on first use from the venue symbol.
#[derive(Debug)]
pub struct Sink {
    /// The capture's venue (set by the connection line).
    pub venue: Option<Venue>,
    /// Skip counters.
    pub skipped: SkipCounts,
    strict: bool,
    markets: HashMap<String, MarketState>,
}

impl Sink {
    /// An empty sink.
    pub fn new(strict: bool) -> Self {
        Sink {
            venue: None,
            skipped: SkipCounts::default(),
            strict,
            markets: HashMap::new(),
        }
    }

    /// The market of a venue symbol (an error naming it when it has no canonical id).
    pub fn market(&mut self, venue_symbol: &str) -> Result<&mut MarketState, Bad> {
        if !self.markets.contains_key(venue_symbol) {
            let venue = self
                .venue
                .ok_or_else(|| Bad::rule("a connection line precedes messages", venue_symbol))?;
            let market = symbols::canonical(venue, venue_symbol)?;
            let state = MarketState {
                out: MarketOutput {
                    market,
                    venue_symbol: venue_symbol.to_string(),
                    book: Vec::new(),
                    trades: Vec::new(),
                    ticker: Vec::new(),
                    stats: VerifyStats::default(),
                    gaps: Vec::new(),
                    history_trades: 0,
                },
                book: PriceBook::default(),
                ids: HashMap::new(),
                last_seq: None,
                synced: false,
                strict: self.strict,
                staged: Vec::new(),
                tob: TopTracker::default(),
            };
            self.markets.insert(venue_symbol.to_string(), state);
        }
        Ok(self.markets.get_mut(venue_symbol).expect("inserted above"))
    }

    /// Counts `n` history trades of a market (CONTRACT §10.7).
    pub fn history(&mut self, venue_symbol: &str, n: u64) -> Result<(), Bad> {
        self.market(venue_symbol)?.out.history_trades += n;
        self.skipped.history_trades += n;
        Ok(())
    }

    /// The outputs, ordered by canonical market, and the skip counters.
    pub fn finish(self) -> (Vec<MarketOutput>, SkipCounts) {
        let mut v: Vec<MarketOutput> = self
            .markets
            .into_values()
            .map(|mut s| {
                s.tob.finish(&mut s.out.stats);
                s.out
            })
            .collect();
        v.sort_by(|a, b| a.market.cmp(&b.market));
        (v, self.skipped)
    }
}
