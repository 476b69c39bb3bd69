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
//! Files: [`markets`] maps streams to markets, [`fast`] parses the common lines without
//! allocating, [`messages`] holds the serde_json shapes (the path for every line the fast path
//! leaves alone, and the snapshot), [`rows`] turns stream messages into rows and diffs, [`sync`]
//! applies the book sync rule; this module reads the files and dispatches each line.

mod fast;
pub(super) mod markets;
mod messages;
mod rows;
pub(crate) mod sync;

use crate::error::Result;
use crate::formats::context::Ctx;
use crate::formats::json::Unsupported;
use crate::ingest::lines::Lines;
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use fast::{Level, Msg};
use markets::{Kind, canonical, kind_of, stream_of};
use messages::{Origin, Snapshot, event_ms};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use sync::BookChain;
use sync::BookSync;

/// The parallel-ingest lane of a line (`kind/symbol` of its depth stream; `None`: not a depth
/// stream line). Only a guess at the input's market: a wrong one costs a re-parse, never a
/// different bronze ([`crate::ingest`]).
pub(crate) fn lane_of(text: &str) -> Option<String> {
    let (_, json) = text.split_once(' ')?;
    let mut scratch = Vec::new();
    let stream = match fast::line(json, &mut scratch) {
        Ok(Some((s, _))) => s.to_string(),
        Ok(None) => return None,
        Err(Unsupported) => stream_of(json)?.into_owned(),
    };
    let (kind, sym, what) = kind_of(&stream)?;
    (what == "depth").then(|| format!("{kind:?}/{}", sym.to_ascii_lowercase()))
}

/// Each market's book sync within one input, seeded with the chains its predecessors ended.
pub(crate) struct Books {
    /// A file has one or a few markets: a list searched by equality is cheaper per diff than
    /// an ordered map compared by `Market` (two string comparisons per node, twice).
    map: Vec<(Market, BookSync)>,
    seeds: BTreeMap<Market, BookChain>,
    file: PathBuf,
}

impl Books {
    fn get(&mut self, kind: Kind, market: &Market) -> &mut BookSync {
        let i = match self.map.iter().position(|(m, _)| m == market) {
            Some(i) => i,
            None => {
                let m = market.clone();
                let b = match self.seeds.get(market) {
                    Some(c) => BookSync::resume(kind, m, &self.file, *c),
                    None => BookSync::new(kind, m, &self.file),
                };
                self.map.push((market.clone(), b));
                self.map.len() - 1
            }
        };
        &mut self.map[i].1
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
    let mut ctx = Ctx::new(w, report, opts);
    let mut books = Books {
        map: Vec::new(),
        seeds,
        file: file.into(),
    };
    ingest_file(file, &mut books, &mut ctx)?;
    let mut out = BTreeMap::new();
    for (m, b) in &books.map {
        if b.unsynced() > 0 {
            let c = ctx.report.market(m);
            c.unsynced_diffs += b.unsynced() as u64;
            c.unsynced_rows += b.unsynced_rows() as u64;
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
        streams: Vec::new(),
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
    scratch: Vec<Level>,
    /// Streams seen with their kind and market (a file has a handful).
    streams: Vec<(String, Kind, Market)>,
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
        if let Err(rule) = daedalus_model::time::check_time("receive time", ts_recv) {
            return ctx.bad_line(self.file, line, rule, rows::TIME_OUT_OF_RANGE);
        }
        let at = Origin {
            file: self.file,
            line,
            ts_recv,
        };
        match fast::line(json, &mut self.scratch) {
            Ok(Some((stream, msg))) => self.on_message(stream, msg, json, at, books, ctx),
            Ok(None) => self.on_streamless(json, at, books, ctx),
            Err(Unsupported) => match stream_of(json) {
                Some(stream) => self.on_stream(&stream, json, at, books, ctx),
                None => self.on_streamless(json, at, books, ctx),
            },
        }
    }

    /// A combined-stream line read by the fast path.
    fn on_message(
        &mut self,
        stream: &str,
        msg: Msg,
        json: &str,
        at: Origin,
        books: &mut Books,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some((kind, i)) = self.market_of(stream, json, at, books, ctx)? else {
            return Ok(());
        };
        let market = &self.streams[i].2;
        match msg {
            Msg::Depth(d) => {
                if !rows::depth_time_ok(&d, at, ctx)? {
                    return Ok(());
                }
                let diff = rows::diff(&d, at, kind);
                books.get(kind, market).on_diff(diff, &self.scratch, ctx)
            }
            Msg::Trade(t) => rows::trade(&t, at, market, ctx),
            Msg::Ticker(t) => rows::ticker(&t, at, kind, market, ctx),
            // `market_of` has already reported a stream that is not ingested.
            Msg::Other => Ok(()),
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

    /// A combined-stream line the fast path left to serde_json: its market, then the message
    /// by stream type.
    fn on_stream(
        &mut self,
        stream: &str,
        json: &str,
        at: Origin,
        books: &mut Books,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some((kind, i)) = self.market_of(stream, json, at, books, ctx)? else {
            return Ok(());
        };
        let market = &self.streams[i].2;
        match kind_of(stream).map(|(_, _, what)| what) {
            Some("depth") => {
                let Some(d) = rows::parse_depth(json, at, &mut self.scratch, ctx)? else {
                    return Ok(());
                };
                if !rows::depth_time_ok(&d, at, ctx)? {
                    return Ok(());
                }
                let diff = rows::diff(&d, at, kind);
                books.get(kind, market).on_diff(diff, &self.scratch, ctx)
            }
            Some("trade") => rows::parse_trade(json, at, market, ctx),
            _ => rows::parse_ticker(json, at, kind, market, ctx),
        }
    }

    /// The kind of `stream` and the index of its market in `streams` (`None`: a bad line,
    /// skipped when lenient; an index, not a clone: this runs for every line). The first stream
    /// line fixes the file's market and places a snapshot line held until then.
    fn market_of(
        &mut self,
        stream: &str,
        json: &str,
        at: Origin,
        books: &mut Books,
        ctx: &mut Ctx,
    ) -> Result<Option<(Kind, usize)>> {
        let Some((kind, raw_sym, what)) = kind_of(stream) else {
            let rule = format!("unknown stream {stream:?}");
            return ctx
                .bad_line(at.file, at.line, rule, "unknown stream")
                .map(|()| None);
        };
        let kind = self.stream_kind(kind, raw_sym, what, json);
        let known = self
            .streams
            .iter()
            .position(|(s, k, _)| s == stream && *k == kind);
        let i = match known {
            Some(i) => i,
            None => match canonical(kind, raw_sym) {
                Ok(m) => {
                    self.streams.push((stream.to_string(), kind, m));
                    self.streams.len() - 1
                }
                Err(rule) => {
                    return ctx
                        .bad_line(at.file, at.line, rule, "unknown symbol")
                        .map(|()| None);
                }
            },
        };
        if self.market.is_none() {
            let market = self.streams[i].2.clone();
            self.market = Some((kind, market.clone()));
            if let Some((json, ts_recv, line)) = self.pending_snapshot.take() {
                let held = Origin {
                    file: self.file,
                    line,
                    ts_recv,
                };
                snapshot(&json, held, kind, &market, books, ctx)?;
            }
        }
        Ok(Some((kind, i)))
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
    if let Some(Err(rule)) = snap.E.map(|e| event_ms("snapshot event time E", e)) {
        return ctx.bad_line(at.file, at.line, rule, rows::TIME_OUT_OF_RANGE);
    }
    books.get(kind, &market).on_snapshot(&snap, at, ctx)
}
