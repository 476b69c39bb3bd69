//! cryptofeed raw recorder captures to bronze rows, with the venues' own book checks
//! (issue 17, CONTRACT §10.4, §10.6, §10.7).
//!
//! **File format.** Lines are `wss://… <-> <ts>` (connection: the venue is detected from its
//! URL), `wss://… <- <ts>: <json>` (a message we sent: skipped, counted) and `<ts>: <json>` (a
//! received message); blank lines are skipped. `<ts>` is the local receive time in float seconds,
//! converted to nanoseconds exactly from its decimal digits (no `f64` on the way).
//!
//! **Venues** (one [`VenueParser`] each, see their modules for channels, sync rule, timestamps,
//! side convention and size unit): [`coinbase`], [`kraken`], [`okx`], [`bitmex`], [`bybit`],
//! [`bequant`]. Ids follow CONTRACT §10.4 ([`symbols`]); an unmappable venue symbol is an error
//! naming it.
//!
//! **Verification** per market ([`VerifyStats`]): Kraken and OKX checksums after every message
//! carrying one; Bequant sequence continuity, Bybit `cross_seq` increasing; crossed books after
//! every applied book message; top of book against the venue's ticker/quote stream (Coinbase
//! `ticker`, OKX `tickers`, BitMEX `quote`, Bequant `ticker`) at the ticker's receive time. A checksum mismatch or sequence gap
//! is a gap: counted, recorded in [`MarketOutput::gaps`], the market's book rows stop until the
//! next snapshot (the rows of the failing message are not emitted), and with
//! [`CaptureOptions::strict`] it is an error.
//!
//! **Ingest** (`daedalus ingest --format cryptofeed`, `ingest.rs`): the same driver, line by
//! line, each market starting from the [`VenueBook`] its previous input ended with (kept in the ingest
//! state), its rows written to the input's bronze files after every line. A file without a
//! connection line (a rotated file, `KRAKEN.ws.50.1`) takes its venue from its name
//! ([`Venue::from_file_name`]). [`read_capture`] reads a whole capture into memory (tests,
//! library users).
//!
//! **Rows** are bronze rows per market: book rows are absolute level sizes (`is_snapshot` for
//! snapshot rows), trades carry the aggressor side, ticker rows the venue best bid/offer.
//! History (Coinbase `last_match`, the BitMEX `trade` partial, Bequant `snapshotTrades`) is
//! skipped and counted (CONTRACT §10.7).

pub mod bequant;
pub mod bitmex;
pub mod book;
pub mod bybit;
pub mod checksum;
pub mod coinbase;
pub(crate) mod ingest;
pub mod kraken;
pub mod okx;
pub mod sink;
pub mod symbols;
pub mod time;

use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

pub use sink::{Sink, VenueBook};

/// Errors reading a capture: every one names the file, the line and the rule broken.
#[derive(Debug, thiserror::Error)]
pub enum CryptofeedError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The capture file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line breaks a format or venue rule.
    #[error("{file}:{line}: {rule}: {detail}")]
    Malformed {
        /// The capture file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The rule broken (short, stable text).
        rule: &'static str,
        /// What was found.
        detail: String,
    },
    /// A venue symbol with no canonical id (CONTRACT §10.4): never guessed.
    #[error("{file}:{line}: unknown {venue} symbol {symbol:?}: no canonical id (CONTRACT §10.4)")]
    UnknownSymbol {
        /// The capture file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The venue.
        venue: &'static str,
        /// The venue symbol.
        symbol: String,
    },
    /// The connection URL names no supported venue.
    #[error("{file}:{line}: unknown venue for connection {url:?}")]
    UnknownVenue {
        /// The capture file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The connection URL.
        url: String,
    },
    /// Strict mode: a venue check failed (checksum mismatch or sequence gap).
    #[error("{file}:{line}: {market}: {check} failed: {detail}")]
    CheckFailed {
        /// The capture file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The market.
        market: Market,
        /// `checksum` or `sequence`.
        check: &'static str,
        /// Expected and found values.
        detail: String,
    },
}

/// A venue rule broken by one message, before the file and line are attached.
#[derive(Debug, Clone, PartialEq)]
pub enum Bad {
    /// Malformed message.
    Rule {
        /// The rule broken.
        rule: &'static str,
        /// What was found.
        detail: String,
    },
    /// Venue symbol without a canonical id.
    Symbol(String),
    /// Strict mode: a failed venue check.
    Check {
        /// The market.
        market: Market,
        /// `checksum` or `sequence`.
        check: &'static str,
        /// Expected and found values.
        detail: String,
    },
}

impl Bad {
    /// A malformed-message error.
    pub fn rule(rule: &'static str, detail: impl Into<String>) -> Self {
        Bad::Rule {
            rule,
            detail: detail.into(),
        }
    }
}

/// The venues of cryptofeed captures this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// Coinbase Pro legacy feed (`ws-feed.pro.coinbase.com`).
    Coinbase,
    /// Kraken spot WS v1 (`ws.kraken.com`).
    Kraken,
    /// OKX v5 public (`ws.okx.com`).
    Okx,
    /// BitMEX realtime (`www.bitmex.com/realtime`).
    Bitmex,
    /// Bybit legacy inverse `realtime`.
    Bybit,
    /// Bequant (HitBTC API v2).
    Bequant,
}

impl Venue {
    /// The venue of a connection URL, by host.
    pub fn from_url(url: &str) -> Option<Self> {
        let host = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("ws://"))?
            .split(['/', ':', '?'])
            .next()?;
        let is = |d: &str| host == d || host.ends_with(&format!(".{d}"));
        [
            ("coinbase.com", Venue::Coinbase),
            ("kraken.com", Venue::Kraken),
            ("okx.com", Venue::Okx),
            ("okex.com", Venue::Okx),
            ("bitmex.com", Venue::Bitmex),
            ("bybit.com", Venue::Bybit),
            ("bequant.io", Venue::Bequant),
        ]
        .into_iter()
        .find_map(|(d, v)| is(d).then_some(v))
    }

    /// Lower-case venue name (for messages; the exchange id of a market is per symbol).
    pub fn name(self) -> &'static str {
        match self {
            Venue::Coinbase => "coinbase",
            Venue::Kraken => "kraken",
            Venue::Okx => "okx",
            Venue::Bitmex => "bitmex",
            Venue::Bybit => "bybit",
            Venue::Bequant => "bequant",
        }
    }

    /// The venue of a file named as cryptofeed's recorder names it (`<EXCHANGE>.<conn>.<n>`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let first = name.split('.').next()?;
        [
            ("COINBASE", Venue::Coinbase),
            ("KRAKEN", Venue::Kraken),
            ("OKX", Venue::Okx),
            ("OKEX", Venue::Okx),
            ("BITMEX", Venue::Bitmex),
            ("BYBIT", Venue::Bybit),
            ("BEQUANT", Venue::Bequant),
        ]
        .into_iter()
        .find_map(|(n, v)| first.eq_ignore_ascii_case(n).then_some(v))
    }

    fn parser(self) -> Box<dyn VenueParser> {
        match self {
            Venue::Coinbase => Box::new(coinbase::Coinbase),
            Venue::Kraken => Box::new(kraken::Kraken),
            Venue::Okx => Box::new(okx::Okx),
            Venue::Bitmex => Box::new(bitmex::Bitmex),
            Venue::Bybit => Box::new(bybit::Bybit),
            Venue::Bequant => Box::new(bequant::Bequant),
        }
    }
}

/// One received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// Local receive time.
    pub ts_recv: Nanos,
    /// The message text.
    pub json: &'a str,
}

/// One venue's message handling: turns each received message into rows of its markets.
pub trait VenueParser {
    /// Handles one received message.
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad>;
}

/// Per-market venue checks (CONTRACT §10.6), per input in the ingest state and summed per
/// market (`daedalus ingest` summary, `--json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyStats {
    /// Book messages applied to the local book (snapshots included).
    pub messages_checked: u64,
    /// Checksums compared (Kraken `c`, OKX `checksum`).
    pub checksums_checked: u64,
    /// Checksums that differed (each a gap).
    pub checksum_mismatches: u64,
    /// Sequence numbers checked for continuity (Bequant `sequence` +1, Bybit `cross_seq`
    /// increasing).
    pub sequences_checked: u64,
    /// Sequence breaks and updates of unknown level ids (BitMEX, Bybit), each a gap.
    pub sequence_gaps: u64,
    /// Book messages cut short by a malformed line skipped with `--lenient`, each a gap.
    pub malformed_gaps: u64,
    /// Book messages after which the book was crossed or locked.
    pub crossed_books: u64,
    /// Ticker/quote rows compared with the rebuilt top of book.
    pub top_of_book_checked: u64,
    /// Of those, equal at the ticker's receive time.
    pub top_of_book_matches: u64,
    /// Of the rest, the ticker's event time precedes the book's snapshot: a state the capture
    /// never had (e.g. the subscription ticker of the last trade).
    pub top_of_book_before_snapshot: u64,
    /// Of the rest, equal to a top the book held at most [`book::TOB_WINDOW_NS`] before.
    pub top_of_book_lagging: u64,
    /// Of the rest, equal to a top the book held up to [`book::TOB_STALE_NS`] before.
    pub top_of_book_stale: u64,
    /// Longest lag (ns) of a lagging or stale ticker behind the book.
    pub top_of_book_max_lag_ns: i64,
    /// Of the rest, equal to a top the book reached within [`book::TOB_WINDOW_NS`] after.
    pub top_of_book_leading: u64,
    /// None of the above: unexplained by timing.
    pub top_of_book_mismatches: u64,
    /// Book messages skipped because the book was not synced (before the first snapshot or
    /// after a gap).
    pub unsynced_messages: u64,
    /// Levels dropped beyond the subscribed depth (Kraken), emitted as size-0 rows.
    pub truncated_levels: u64,
}

impl VerifyStats {
    /// Adds the checks of another input of the same market.
    pub fn add(&mut self, o: &VerifyStats) {
        self.messages_checked += o.messages_checked;
        self.checksums_checked += o.checksums_checked;
        self.checksum_mismatches += o.checksum_mismatches;
        self.sequences_checked += o.sequences_checked;
        self.sequence_gaps += o.sequence_gaps;
        self.malformed_gaps += o.malformed_gaps;
        self.crossed_books += o.crossed_books;
        self.top_of_book_checked += o.top_of_book_checked;
        self.top_of_book_matches += o.top_of_book_matches;
        self.top_of_book_before_snapshot += o.top_of_book_before_snapshot;
        self.top_of_book_lagging += o.top_of_book_lagging;
        self.top_of_book_stale += o.top_of_book_stale;
        self.top_of_book_max_lag_ns = self.top_of_book_max_lag_ns.max(o.top_of_book_max_lag_ns);
        self.top_of_book_leading += o.top_of_book_leading;
        self.top_of_book_mismatches += o.top_of_book_mismatches;
        self.unsynced_messages += o.unsynced_messages;
        self.truncated_levels += o.truncated_levels;
    }

    /// No check ran (formats without venue checks): left out of reports.
    pub fn is_empty(&self) -> bool {
        *self == VerifyStats::default()
    }

    /// Gaps of every kind.
    pub fn gaps(&self) -> u64 {
        self.checksum_mismatches + self.sequence_gaps + self.malformed_gaps
    }
}

/// A gap in a market's book (checksum mismatch or sequence break).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Receive time of the failing message.
    pub ts_recv: Nanos,
    /// `checksum` or `sequence`.
    pub check: &'static str,
    /// Expected and found values.
    pub detail: String,
}

/// Bronze rows and checks of one market of a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketOutput {
    /// Canonical market.
    pub market: Market,
    /// The venue's own symbol.
    pub venue_symbol: String,
    /// Book rows in application order.
    pub book: Vec<BookRow>,
    /// Live trades.
    pub trades: Vec<TradeRow>,
    /// Ticker (best bid/offer) rows.
    pub ticker: Vec<TickerRow>,
    /// Venue checks.
    pub stats: VerifyStats,
    /// Gaps, in order.
    pub gaps: Vec<Gap>,
    /// History trades skipped (CONTRACT §10.7).
    pub history_trades: u64,
    /// Book messages applied (snapshots included).
    pub book_messages: u64,
    /// Snapshots applied.
    pub snapshots: u64,
}

/// Counters of what a capture held that produced no rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipCounts {
    /// Connection lines.
    pub connection_lines: u64,
    /// Sent (subscription) lines.
    pub sent_lines: u64,
    /// Blank lines.
    pub blank_lines: u64,
    /// Control messages: subscription acks, heartbeats, status, welcome.
    pub control_messages: u64,
    /// Messages of channels not read (e.g. candles).
    pub other_channels: u64,
    /// History trades skipped (all markets).
    pub history_trades: u64,
}

/// Everything read from one capture file.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureOutput {
    /// The capture file.
    pub file: PathBuf,
    /// The venue (from the first connection line).
    pub venue: Venue,
    /// Per market, ordered by canonical market.
    pub markets: Vec<MarketOutput>,
    /// Skip counters.
    pub skipped: SkipCounts,
    /// Lines read.
    pub lines: u64,
    /// Received messages.
    pub messages: u64,
}

impl CaptureOutput {
    /// The market with this venue symbol.
    pub fn by_venue_symbol(&self, symbol: &str) -> Option<&MarketOutput> {
        self.markets.iter().find(|m| m.venue_symbol == symbol)
    }
}

/// Options for reading a capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureOptions {
    /// A failed venue check (checksum, sequence) is an error instead of a counted gap.
    pub strict: bool,
}

/// One line of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// Blank line.
    Blank,
    /// `wss://… <-> <ts>`.
    Connection {
        /// The URL.
        url: &'a str,
    },
    /// `wss://… <- <ts>: <json>`.
    Sent,
    /// `<ts>: <json>`.
    Received(Received<'a>),
}

/// Parses one capture line (without its line terminator).
pub fn parse_line(line: &str) -> Result<Line<'_>, Bad> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(Line::Blank);
    }
    if line.starts_with("wss://") || line.starts_with("ws://") {
        return parse_url_line(line);
    }
    let (ts, json) = line
        .split_once(": ")
        .ok_or_else(|| Bad::rule("received line is `<ts>: <json>`", clip(line)))?;
    let ts_recv = time::parse_float_secs(ts)
        .ok_or_else(|| Bad::rule("receive time is float seconds", clip(ts)))?;
    Ok(Line::Received(Received { ts_recv, json }))
}

fn parse_url_line(line: &str) -> Result<Line<'_>, Bad> {
    if let Some((url, ts)) = line.split_once(" <-> ") {
        time::parse_float_secs(ts.trim())
            .ok_or_else(|| Bad::rule("connection time is float seconds", clip(ts)))?;
        return Ok(Line::Connection { url });
    }
    if line.contains(" <- ") {
        return Ok(Line::Sent);
    }
    Err(Bad::rule(
        "URL line is `<url> <-> <ts>` or `<url> <- <ts>: <json>`",
        clip(line),
    ))
}

/// At most 120 characters of `s`, for error messages.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Reads a capture file (see the module docs). Non-strict: failed checks are counted gaps.
pub fn read_capture(path: &Path) -> Result<CaptureOutput, CryptofeedError> {
    read_capture_with(path, CaptureOptions::default())
}

/// Reads a capture file with options.
pub fn read_capture_with(
    path: &Path,
    opts: CaptureOptions,
) -> Result<CaptureOutput, CryptofeedError> {
    let io = |source| CryptofeedError::Io {
        file: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    read_capture_from(path, std::io::BufReader::new(f), opts)
}

/// Reads a capture from any reader; `file` names it in errors.
pub fn read_capture_from<R: BufRead>(
    file: &Path,
    mut reader: R,
    opts: CaptureOptions,
) -> Result<CaptureOutput, CryptofeedError> {
    let mut state = Driver::new(file, opts.strict, BTreeMap::new());
    let mut buf = String::new();
    let mut line = 0;
    loop {
        buf.clear();
        let n = reader
            .read_line(&mut buf)
            .map_err(|source| CryptofeedError::Io {
                file: file.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        state.on_line(line, &buf)?;
    }
    state.finish()
}

/// Line-by-line state of one capture: the venue parser and the markets' state. Used whole by
/// [`read_capture_from`] and line by line by `daedalus ingest --format cryptofeed`
/// ([`ingest`]).
pub(crate) struct Driver<'p> {
    file: &'p Path,
    line: u64,
    messages: u64,
    venue: Option<(Venue, Box<dyn VenueParser>)>,
    pub(crate) sink: Sink,
}

impl<'p> Driver<'p> {
    pub(crate) fn new(file: &'p Path, strict: bool, seeds: BTreeMap<Market, VenueBook>) -> Self {
        Driver {
            file,
            line: 0,
            messages: 0,
            venue: None,
            sink: Sink::with_seeds(strict, seeds),
        }
    }

    /// One line, numbered `line` (1-based).
    pub(crate) fn on_line(&mut self, line: u64, text: &str) -> Result<(), CryptofeedError> {
        self.line = line;
        let parsed = parse_line(text).map_err(|b| self.wrap(b))?;
        let skipped = &mut self.sink.skipped;
        match parsed {
            Line::Blank => skipped.blank_lines += 1,
            Line::Sent => skipped.sent_lines += 1,
            Line::Connection { url } => {
                skipped.connection_lines += 1;
                self.connect(url)?;
            }
            Line::Received(msg) => {
                self.messages += 1;
                if self.venue.is_none() {
                    self.continuation(msg)?;
                }
                let (_, parser) = self.venue.as_mut().expect("venue set above");
                parser
                    .on_message(msg, &mut self.sink)
                    .map_err(|b| self.wrap(b))?;
            }
        }
        Ok(())
    }

    /// A received message before any connection line: a rotated file of a capture
    /// (`COINBASE.ws.28.1` continues `COINBASE.ws.28.0`), its venue named by the file name's
    /// first part as cryptofeed's recorder names it.
    fn continuation(&mut self, msg: Received<'_>) -> Result<(), CryptofeedError> {
        let name = self.file.file_name().map(|n| n.to_string_lossy());
        match name.as_deref().and_then(Venue::from_file_name) {
            Some(v) => {
                self.sink.venue = Some(v);
                self.venue = Some((v, v.parser()));
                Ok(())
            }
            None => Err(self.wrap(Bad::rule(
                "a connection line precedes received messages (or the file name starts with the venue, as cryptofeed names rotated files)",
                clip(msg.json),
            ))),
        }
    }

    fn connect(&mut self, url: &str) -> Result<(), CryptofeedError> {
        let venue = Venue::from_url(url).ok_or_else(|| CryptofeedError::UnknownVenue {
            file: self.file.to_path_buf(),
            line: self.line,
            url: url.to_string(),
        })?;
        match &self.venue {
            Some((v, _)) if *v != venue => Err(self.wrap(Bad::rule(
                "one venue per capture file",
                format!("{} then {}", v.name(), venue.name()),
            ))),
            Some(_) => Ok(()),
            None => {
                self.sink.venue = Some(venue);
                self.venue = Some((venue, venue.parser()));
                Ok(())
            }
        }
    }

    fn wrap(&self, bad: Bad) -> CryptofeedError {
        let (file, line) = (self.file.to_path_buf(), self.line);
        match bad {
            Bad::Rule { rule, detail } => CryptofeedError::Malformed {
                file,
                line,
                rule,
                detail,
            },
            Bad::Symbol(symbol) => CryptofeedError::UnknownSymbol {
                file,
                line,
                venue: self.venue.as_ref().map_or("?", |(v, _)| v.name()),
                symbol,
            },
            Bad::Check {
                market,
                check,
                detail,
            } => CryptofeedError::CheckFailed {
                file,
                line,
                market,
                check,
                detail,
            },
        }
    }

    /// The venue, or the error of a file without one.
    pub(crate) fn venue(&self) -> Result<Venue, CryptofeedError> {
        match &self.venue {
            Some((v, _)) => Ok(*v),
            None => Err(self.wrap(Bad::rule(
                "a capture has a connection line",
                "no `wss://… <-> <ts>` line",
            ))),
        }
    }

    fn finish(self) -> Result<CaptureOutput, CryptofeedError> {
        let venue = self.venue()?;
        let (markets, skipped) = self.sink.finish();
        Ok(CaptureOutput {
            file: self.file.to_path_buf(),
            venue,
            markets: markets.into_iter().map(|(m, _)| m).collect(),
            skipped,
            lines: self.line,
            messages: self.messages,
        })
    }
}

/// Deserialises a message, a failure being the rule `what`.
pub(crate) fn json<'a, T: serde::Deserialize<'a>>(
    s: &'a str,
    what: &'static str,
) -> Result<T, Bad> {
    serde_json::from_str(s).map_err(|e| Bad::rule(what, format!("{e}: {}", clip(s))))
}

/// A book side from a venue spelling (`buy`/`Buy`/`bid`, `sell`/`Sell`/`ask`).
pub(crate) fn book_side(s: &str) -> Result<BookSide, Bad> {
    match s {
        "buy" | "Buy" | "bid" => Ok(BookSide::Bid),
        "sell" | "Sell" | "ask" => Ok(BookSide::Ask),
        _ => Err(Bad::rule("side is buy or sell", format!("{s:?}"))),
    }
}

/// A trade side from a venue spelling of the aggressor (`buy`/`Buy`, `sell`/`Sell`).
pub(crate) fn taker_side(s: &str) -> Result<TradeSide, Bad> {
    match s {
        "buy" | "Buy" => Ok(TradeSide::Buy),
        "sell" | "Sell" => Ok(TradeSide::Sell),
        _ => Err(Bad::rule("trade side is buy or sell", format!("{s:?}"))),
    }
}
