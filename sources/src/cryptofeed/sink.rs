//! Per-market state shared by the venue parsers: the local book, sync flag, staged rows of the
//! message being applied, checks and outputs. What of it continues into the next input of the
//! same markets (the book, its id map, the last sequence, the top-of-book history) is a
//! [`VenueBook`], kept in the ingest state (CONTRACT §10.2) so that ingesting a recording file
//! by file gives the bronze of one call.

use super::book::{PriceBook, Top, TopTracker};
use super::{Bad, Gap, MarketOutput, SkipCounts, Venue, VerifyStats, symbols};
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow};
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A market's book state at the end of an input, continued by its next input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueBook {
    /// The book is synced (a snapshot applied, no gap since).
    pub synced: bool,
    /// Bid levels as the venue's `(price, size)` strings, best first.
    pub bids: Vec<(Box<str>, Box<str>)>,
    /// Ask levels, best first.
    pub asks: Vec<(Box<str>, Box<str>)>,
    /// Price strings by `(side, id)` (BitMEX, Bybit), sorted.
    pub ids: Vec<(BookSide, u64, Box<str>)>,
    /// Last venue sequence applied (Bequant `sequence`, Bybit `cross_seq`).
    pub last_seq: Option<u64>,
    /// `seq` of the last book message that wrote rows.
    #[serde(default)]
    pub row_seq: Option<u64>,
    /// Top-of-book history (tickers are compared with it).
    pub tob: TopTracker,
}

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
    /// Last venue sequence applied (Bequant `sequence`, Bybit `cross_seq`).
    pub last_seq: Option<u64>,
    /// `seq` of the last book message that wrote rows (what the next one's `prev_seq` names:
    /// downstream checks continuity on the rows it sees).
    pub row_seq: Option<u64>,
    synced: bool,
    strict: bool,
    staged: Vec<BookRow>,
    tob: TopTracker,
    /// A book message is being applied (begun, not yet committed or failed): a malformed line
    /// skipped now leaves the book part-applied, so it is a gap ([`MarketState::abort`]).
    in_message: bool,
    /// The message being applied is a snapshot.
    in_snapshot: bool,
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
        self.in_message = true;
        self.in_snapshot = true;
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
        self.in_message = self.synced;
        self.in_snapshot = false;
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
        self.in_message = false;
        self.out.book_messages += 1;
        self.out.snapshots += u64::from(self.in_snapshot);
        if let Some(r) = self.staged.first() {
            self.row_seq = r.seq;
        }
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
        self.in_message = false;
        self.last_seq = None;
        match check {
            "checksum" => self.out.stats.checksum_mismatches += 1,
            "malformed" => self.out.stats.malformed_gaps += 1,
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

    /// A line skipped as malformed (lenient): when it was this market's book message being
    /// applied, the book is part-applied, so it is a gap until the next snapshot (counted).
    pub fn abort(&mut self, ts_recv: Nanos, rule: &str) {
        if self.in_message {
            // Not strict (lenient skips only): `gap` cannot fail.
            let _ = self.gap(ts_recv, "malformed", rule.to_string());
        }
    }

    fn new(out: MarketOutput, strict: bool, seed: Option<&VenueBook>) -> Self {
        let mut s = MarketState {
            out,
            book: PriceBook::default(),
            ids: HashMap::new(),
            last_seq: None,
            row_seq: None,
            synced: false,
            strict,
            staged: Vec::new(),
            tob: TopTracker::default(),
            in_message: false,
            in_snapshot: false,
        };
        if let Some(v) = seed {
            s.restore(v);
        }
        s
    }

    /// Continues the book a previous input ended with (its strings were parsed when applied).
    fn restore(&mut self, v: &VenueBook) {
        for (side, levels) in [(BookSide::Bid, &v.bids), (BookSide::Ask, &v.asks)] {
            for (px, sz) in levels {
                // Levels come from a book this code built: they parse again.
                let _ = self.book.set(side, px, sz);
            }
        }
        self.ids = v
            .ids
            .iter()
            .map(|(s, i, p)| ((*s, *i), p.clone()))
            .collect();
        self.last_seq = v.last_seq;
        self.row_seq = v.row_seq;
        self.synced = v.synced;
        self.tob = v.tob.clone();
    }

    /// The book state to continue in the next input.
    pub fn venue_book(&self) -> VenueBook {
        let mut ids: Vec<(BookSide, u64, Box<str>)> = self
            .ids
            .iter()
            .map(|(&(s, i), p)| (s, i, p.clone()))
            .collect();
        ids.sort_by_key(|&(s, i, _)| (s == BookSide::Ask, i));
        VenueBook {
            synced: self.synced,
            bids: self.book.levels(BookSide::Bid),
            asks: self.book.levels(BookSide::Ask),
            ids,
            last_seq: self.last_seq,
            row_seq: self.row_seq,
            tob: self.tob.clone(),
        }
    }

    /// Moves out the rows emitted so far (book rows of committed messages only).
    pub fn take_rows(&mut self) -> (Vec<BookRow>, Vec<TradeRow>, Vec<TickerRow>) {
        (
            std::mem::take(&mut self.out.book),
            std::mem::take(&mut self.out.trades),
            std::mem::take(&mut self.out.ticker),
        )
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
    /// By venue symbol (ordered: rows are handed out in one order every run).
    markets: BTreeMap<String, MarketState>,
    /// Book states previous inputs ended with, by canonical market.
    seeds: BTreeMap<Market, VenueBook>,
    /// The venue symbol of the market last looked up (the one a failing message concerns).
    current: Option<String>,
}

impl Sink {
    /// An empty sink.
    pub fn new(strict: bool) -> Self {
        Self::with_seeds(strict, BTreeMap::new())
    }

    /// An empty sink whose markets continue the book states `seeds`.
    pub fn with_seeds(strict: bool, seeds: BTreeMap<Market, VenueBook>) -> Self {
        Sink {
            venue: None,
            skipped: SkipCounts::default(),
            strict,
            markets: BTreeMap::new(),
            seeds,
            current: None,
        }
    }

    /// The markets so far, by venue symbol.
    pub fn markets_mut(&mut self) -> impl Iterator<Item = &mut MarketState> {
        self.markets.values_mut()
    }

    /// A malformed line skipped (lenient): the message it was applying, if any, is a gap.
    pub fn abort(&mut self, ts_recv: Nanos, rule: &str) {
        if let Some(m) = self.current.as_ref().and_then(|k| self.markets.get_mut(k)) {
            m.abort(ts_recv, rule);
        }
    }

    /// The market of a venue symbol (an error naming it when it has no canonical id).
    pub fn market(&mut self, venue_symbol: &str) -> Result<&mut MarketState, Bad> {
        if self.current.as_deref() != Some(venue_symbol) {
            self.current = Some(venue_symbol.to_string());
        }
        if !self.markets.contains_key(venue_symbol) {
            let venue = self
                .venue
                .ok_or_else(|| Bad::rule("a connection line precedes messages", venue_symbol))?;
            let market = symbols::canonical(venue, venue_symbol)?;
            let seed = self.seeds.get(&market);
            let out = MarketOutput {
                market: market.clone(),
                venue_symbol: venue_symbol.to_string(),
                book: Vec::new(),
                trades: Vec::new(),
                ticker: Vec::new(),
                stats: VerifyStats::default(),
                gaps: Vec::new(),
                history_trades: 0,
                book_messages: 0,
                snapshots: 0,
            };
            let state = MarketState::new(out, self.strict, seed);
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

    /// The outputs and the book states to continue, ordered by canonical market, and the skip
    /// counters. Tickers still unexplained at the end of the input are mismatches.
    pub fn finish(self) -> (Vec<(MarketOutput, VenueBook)>, SkipCounts) {
        let mut v: Vec<(MarketOutput, VenueBook)> = self
            .markets
            .into_values()
            .map(|mut s| {
                s.tob.finish(&mut s.out.stats);
                let book = s.venue_book();
                (s.out, book)
            })
            .collect();
        v.sort_by(|a, b| a.0.market.cmp(&b.0.market));
        (v, self.skipped)
    }
}
