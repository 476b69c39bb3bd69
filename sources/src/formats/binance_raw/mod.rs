//! Raw Binance WebSocket recordings to bronze (CONTRACT §9.1–9.3).
//!
//! Lines are `<recv_ns> <json>`: combined-stream messages `{"stream": .., "data": ..}` and one
//! REST depth snapshot line without `stream`. Market from the stream: `@depth@100ms` is spot
//! (`binance`, `BTC-USDT`), `@depth@0ms` futures: USD-M (`binance-futures`, `BTC-USDT-PERP`) or,
//! for `*_PERP` symbols, COIN-M (`binance-delivery`, `BTC-USD-PERP`). A snapshot line belongs to
//! its `symbol` when present, else to the market of the file's stream lines.
//!
//! **Timestamps** (§9.1): trades `T`; depth diffs `E`; futures bookTicker `E`; spot bookTicker has
//! none, so `ts_recv`; a snapshot uses its `E` where present, else its own `ts_recv`. ms → ns.
//!
//! **Book sync** (§9.2), per market, over its inputs in the order the ingest driver applies them
//! (first receive time), each continuing the chain its predecessor ended ([`BookChain`]): diffs are taken
//! in stream order, including those recorded before the snapshot line (buffered until it comes).
//! Stale diffs are dropped (`u <= L` spot, `u < L` futures; counted). The first applied diff must
//! straddle L (spot `U <= L+1 <= u`, futures `U <= L <= u`); after it spot needs
//! `U == prev_u + 1`, futures `pu == prev_u`. Anything else is a gap: an error naming file, line
//! and ids, or with `--lenient` a counted gap whose diff is kept with its venue `prev_seq` (which
//! then does not match the previous `seq`: the marker the book state machine detects; the book is
//! invalid until a snapshot). Never bridged silently.
//!
//! **Rows**: a snapshot gives `is_snapshot` rows (bids then asks) with `seq = L`, `prev_seq`
//! null; a diff one row per level with `seq = u`, `prev_seq = U − 1` (spot) or `pu` (futures);
//! book rows are written in application order. Trades: `trade_id = t`, side from `m` (`m = true`:
//! the seller aggressed → `sell`). bookTicker: `seq = u`, `b/B/a/A`.
//!
//! Files: [`markets`] maps streams to markets, [`messages`] holds the JSON shapes, [`rows`]
//! turns stream messages into rows and diffs, [`sync`] applies the book sync rule; this module
//! reads the files and dispatches each line.

mod markets;
mod messages;
mod rows;
pub(crate) mod sync;

use crate::error::Result;
use crate::formats::context::Ctx;
use crate::ingest::lines::Lines;
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_model::rows::BookSide;
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use markets::{Kind, canonical, kind_of, stream_of};
use messages::{Origin, Snapshot};
use std::collections::BTreeMap;
use std::path::Path;
pub use sync::BookChain;
use sync::BookSync;

/// Each market's book sync within one input, seeded with the chains its predecessors ended.
pub(crate) struct Books {
    map: BTreeMap<Market, BookSync>,
    seeds: BTreeMap<Market, BookChain>,
}

impl Books {
    fn get(&mut self, kind: Kind, market: Market) -> &mut BookSync {
        let seeds = &self.seeds;
        self.map
            .entry(market.clone())
            .or_insert_with(|| match seeds.get(&market) {
                Some(c) => BookSync::resume(kind, market, *c),
                None => BookSync::new(kind, market),
            })
    }
}

/// Ingests one Binance raw recording, continuing each market's book chain from `seeds`;
/// returns the chain each market it touched ends with (CONTRACT §10.2).
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
    seeds: BTreeMap<Market, BookChain>,
) -> Result<BTreeMap<Market, BookChain>> {
    let mut ctx = Ctx {
        w,
        report,
        lenient: opts.lenient,
    };
    let mut books = Books {
        map: BTreeMap::new(),
        seeds,
    };
    ingest_file(file, &mut books, &mut ctx)?;
    let mut out = BTreeMap::new();
    for (m, b) in &books.map {
        if b.unsynced() > 0 {
            ctx.report.market(m).unsynced_diffs += b.unsynced() as u64;
        }
        out.insert(m.clone(), b.chain());
    }
    Ok(out)
}

fn ingest_file(file: &Path, books: &mut Books, ctx: &mut Ctx) -> Result<()> {
    let mut lines = Lines::open(file)?;
    let mut parser = FileParser {
        file,
        market: None,
        pending_snapshot: None,
        scratch: Vec::new(),
    };
    while let Some((line, text)) = lines.next_line(ctx.lenient, ctx.report)? {
        parser.on_line(line, text, books, ctx)?;
    }
    if let Some((_, _, line)) = parser.pending_snapshot {
        let rule = "snapshot line in a file with no stream lines: cannot tell its market";
        ctx.bad_line(file, line, rule.into(), "unattributed snapshot")?;
    }
    Ok(())
}

/// The state of reading one file.
struct FileParser<'f> {
    file: &'f Path,
    /// The market of this file's stream lines, for a snapshot line without `symbol`.
    market: Option<(Kind, Market)>,
    /// A snapshot line seen before any stream line: `(json, ts_recv, line)`.
    pending_snapshot: Option<(String, Nanos, u64)>,
    /// Levels of the diff being parsed.
    scratch: Vec<(BookSide, f64, f64)>,
}

impl FileParser<'_> {
    /// One `<recv_ns> <json>` line.
    fn on_line(&mut self, line: u64, text: &str, books: &mut Books, ctx: &mut Ctx) -> Result<()> {
        let Some((ts, json)) = text.split_once(' ') else {
            let rule = "expected `<recv_ns> <json>`".into();
            return ctx.bad_line(self.file, line, rule, "malformed line");
        };
        let Ok(ts_recv) = ts.parse::<i64>() else {
            let rule = format!("receive timestamp {ts:?} is not an integer (ns)");
            return ctx.bad_line(self.file, line, rule, "malformed line");
        };
        let at = Origin {
            file: self.file,
            line,
            ts_recv,
        };
        match stream_of(json) {
            Some(stream) => self.on_stream(stream, json, at, books, ctx),
            None => self.on_streamless(json, at, books, ctx),
        }
    }

    /// A line without `stream`: the depth snapshot, attributed to this file's market (held
    /// until the first stream line tells it), or a bad line.
    fn on_streamless(
        &mut self,
        json: &str,
        at: Origin,
        books: &mut Books,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if json.contains("\"lastUpdateId\"") {
            match &self.market {
                Some((kind, market)) => snapshot(json, at, *kind, market, books, ctx),
                None => {
                    self.pending_snapshot = Some((json.to_string(), at.ts_recv, at.line));
                    Ok(())
                }
            }
        } else if serde_json::from_str::<serde_json::Value>(json).is_err() {
            ctx.bad_line(at.file, at.line, "malformed JSON".into(), "malformed JSON")
        } else {
            let rule = "message has neither `stream` nor `lastUpdateId`".into();
            ctx.bad_line(at.file, at.line, rule, "unknown message")
        }
    }

    /// A combined-stream line: its market, then the message by stream type.
    fn on_stream(
        &mut self,
        stream: &str,
        json: &str,
        at: Origin,
        books: &mut Books,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some((kind, raw_sym, what)) = kind_of(stream) else {
            let rule = format!("unknown stream {stream:?}");
            return ctx.bad_line(at.file, at.line, rule, "unknown stream");
        };
        let kind = self.stream_kind(kind, raw_sym, what, json);
        let market = match canonical(kind, raw_sym) {
            Ok(m) => m,
            Err(rule) => return ctx.bad_line(at.file, at.line, rule, "unknown symbol"),
        };
        if self.market.is_none() {
            self.market = Some((kind, market.clone()));
            if let Some((json, ts_recv, line)) = self.pending_snapshot.take() {
                let held = Origin {
                    line,
                    ts_recv,
                    ..at
                };
                snapshot(&json, held, kind, &market, books, ctx)?;
            }
        }
        match what {
            "depth" => {
                let Some(d) = rows::diff(json, at, kind, &mut self.scratch, ctx)? else {
                    return Ok(());
                };
                books.get(kind, market).on_diff(d, ctx)
            }
            "trade" => rows::trade(json, at, &market, ctx),
            _ => rows::ticker(json, at, kind, &market, ctx),
        }
    }

    /// trade/bookTicker streams take the kind established by this file's depth stream, or,
    /// without one, futures when the message has a futures-only field.
    fn stream_kind(&self, kind: Kind, raw_sym: &str, what: &str, json: &str) -> Kind {
        if what == "depth" {
            return kind;
        }
        if let Some((k, _)) = &self.market {
            *k
        } else if json.contains("\"X\":\"MARKET\"") || json.contains("\"e\":\"bookTicker\"") {
            Kind::futures(raw_sym)
        } else {
            kind
        }
    }
}

/// A depth snapshot line: its market is its `symbol` when present, else `file_market`.
fn snapshot(
    json: &str,
    at: Origin,
    kind: Kind,
    file_market: &Market,
    books: &mut Books,
    ctx: &mut Ctx,
) -> Result<()> {
    let snap: Snapshot = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => {
            let rule = format!("malformed depth snapshot: {e}");
            return ctx.bad_line(at.file, at.line, rule, "malformed JSON");
        }
    };
    let market = match &snap.symbol {
        Some(s) => match canonical(kind, s) {
            Ok(m) => m,
            Err(rule) => return ctx.bad_line(at.file, at.line, rule, "unknown symbol"),
        },
        None => file_market.clone(),
    };
    books.get(kind, market).on_snapshot(&snap, at, ctx)
}
