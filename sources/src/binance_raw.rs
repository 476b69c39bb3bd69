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
//! **Book sync** (§9.2), per market, over its files in name order as one stream: diffs are taken
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

use crate::ingest::{
    IngestError, IngestOptions, IngestReport, open_lines, parse_decimal, split_quote,
};
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spot,
    UsdM,
    CoinM,
}

#[derive(Deserialize)]
struct Wrapped<T> {
    data: T,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct DepthData<'a> {
    E: i64,
    #[serde(borrow)]
    s: Cow<'a, str>,
    U: u64,
    u: u64,
    pu: Option<u64>,
    #[serde(borrow)]
    b: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    #[serde(borrow)]
    a: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct TradeData<'a> {
    T: i64,
    #[serde(borrow)]
    s: Cow<'a, str>,
    t: u64,
    #[serde(borrow)]
    p: Cow<'a, str>,
    #[serde(borrow)]
    q: Cow<'a, str>,
    m: bool,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct TickerData<'a> {
    E: Option<i64>,
    u: u64,
    #[serde(borrow)]
    s: Cow<'a, str>,
    #[serde(borrow)]
    b: Cow<'a, str>,
    #[serde(borrow)]
    B: Cow<'a, str>,
    #[serde(borrow)]
    a: Cow<'a, str>,
    #[serde(borrow)]
    A: Cow<'a, str>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Snapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    E: Option<i64>,
    #[serde(borrow, default)]
    symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    bids: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    #[serde(borrow)]
    asks: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A parsed diff (owned, so it can wait for the snapshot).
#[derive(Debug, Clone)]
struct Diff {
    ts_event: Nanos,
    ts_recv: Nanos,
    first: u64,
    last: u64,
    prev: Option<u64>,
    levels: Vec<(BookSide, f64, f64)>,
    file: PathBuf,
    line: u64,
}

/// Sync state of one market's book stream.
#[derive(Debug)]
struct BookSync {
    kind: Kind,
    market: Market,
    /// Snapshot `lastUpdateId` once seen.
    snapshot: Option<u64>,
    /// Diffs waiting for the snapshot.
    pending: Vec<Diff>,
    /// `u` of the last applied diff (None until the first diff after the snapshot applied).
    prev_u: Option<u64>,
}

fn canonical(kind: Kind, raw: &str) -> Result<Market, String> {
    let up = raw.to_ascii_uppercase();
    let (exchange, symbol) = match kind {
        Kind::Spot => {
            let (b, q) = split_quote(&up)
                .ok_or_else(|| format!("cannot split symbol {raw:?} into base and quote"))?;
            ("binance", format!("{b}-{q}"))
        }
        Kind::UsdM => {
            let (b, q) = split_quote(&up)
                .ok_or_else(|| format!("cannot split symbol {raw:?} into base and quote"))?;
            ("binance-futures", format!("{b}-{q}-PERP"))
        }
        Kind::CoinM => {
            let pair = up
                .strip_suffix("_PERP")
                .ok_or_else(|| format!("COIN-M symbol {raw:?} is not a perpetual (_PERP)"))?;
            let (b, q) = split_quote(pair)
                .ok_or_else(|| format!("cannot split symbol {raw:?} into base and quote"))?;
            ("binance-delivery", format!("{b}-{q}-PERP"))
        }
    };
    Market::new(exchange, &symbol).map_err(|e| e.to_string())
}

fn kind_of(stream: &str) -> Option<(Kind, &str, &str)> {
    let (sym, rest) = stream.split_once('@')?;
    let futures_kind = if sym.to_ascii_uppercase().ends_with("_PERP") {
        Kind::CoinM
    } else {
        Kind::UsdM
    };
    match rest {
        "depth@100ms" | "depth" | "depth@1000ms" => Some((Kind::Spot, sym, "depth")),
        "depth@0ms" | "depth@250ms" | "depth@500ms" => Some((futures_kind, sym, "depth")),
        "trade" | "bookTicker" => {
            // Spot and futures share these names: the kind comes from the depth stream or the
            // symbol; a plain `btcusdt` trade stream with no depth context is spot.
            Some((
                if sym.to_ascii_uppercase().ends_with("_PERP") {
                    Kind::CoinM
                } else {
                    Kind::Spot
                },
                sym,
                rest,
            ))
        }
        _ => None,
    }
}

fn ms(v: i64) -> Nanos {
    v.saturating_mul(1_000_000)
}

fn levels(
    raw: &[(Cow<'_, str>, Cow<'_, str>)],
    side: BookSide,
    out: &mut Vec<(BookSide, f64, f64)>,
) -> Result<(), String> {
    for (p, q) in raw {
        let price = parse_decimal(p)
            .filter(|v| *v > 0.0)
            .ok_or_else(|| format!("{} price {p:?} is not a positive decimal", side.as_str()))?;
        let size = parse_decimal(q)
            .ok_or_else(|| format!("{} size {q:?} is not a non-negative decimal", side.as_str()))?;
        out.push((side, price, size));
    }
    Ok(())
}

struct Ctx<'a> {
    w: &'a mut BronzeWriter,
    report: &'a mut IngestReport,
    lenient: bool,
}

impl BookSync {
    fn counts<'r>(&self, report: &'r mut IngestReport) -> &'r mut crate::ingest::MarketCounts {
        report.markets.entry(self.market.to_string()).or_default()
    }

    fn emit_diff(&mut self, d: &Diff, ctx: &mut Ctx) -> Result<(), IngestError> {
        let seq = Some(d.last);
        for &(side, price, size) in &d.levels {
            ctx.w.book(
                &self.market,
                BookRow {
                    ts_event: d.ts_event,
                    ts_recv: d.ts_recv,
                    seq,
                    prev_seq: d.prev,
                    is_snapshot: false,
                    side,
                    price,
                    size,
                },
            )?;
        }
        let c = self.counts(ctx.report);
        c.book_rows += d.levels.len() as u64;
        c.book_messages += 1;
        self.prev_u = Some(d.last);
        Ok(())
    }

    /// Applies the sync rule to one diff once the snapshot is known.
    fn on_synced_diff(&mut self, d: Diff, ctx: &mut Ctx) -> Result<(), IngestError> {
        let l = self.snapshot.expect("called after the snapshot");
        let spot = self.kind == Kind::Spot;
        match self.prev_u {
            None => {
                let stale = if spot { d.last <= l } else { d.last < l };
                if stale {
                    self.counts(ctx.report).stale_diffs += 1;
                    return Ok(());
                }
                let straddles = if spot {
                    d.first <= l + 1 && l < d.last
                } else {
                    d.first <= l && l <= d.last
                };
                if !straddles {
                    self.gap(&d, format!("first diff after the snapshot (lastUpdateId {l}) does not straddle it: U={} u={}", d.first, d.last), ctx)?;
                }
                self.emit_diff(&d, ctx)
            }
            Some(prev_u) => {
                let chained = if spot {
                    d.first == prev_u + 1
                } else {
                    d.prev == Some(prev_u)
                };
                if !chained {
                    let what = if spot {
                        format!(
                            "depth chain broken: U={} but previous u={prev_u} (spot needs U == prev_u + 1)",
                            d.first
                        )
                    } else {
                        format!(
                            "depth chain broken: pu={:?} but previous u={prev_u} (futures need pu == prev_u)",
                            d.prev
                        )
                    };
                    self.gap(&d, what, ctx)?;
                }
                self.emit_diff(&d, ctx)
            }
        }
    }

    fn gap(&mut self, d: &Diff, rule: String, ctx: &mut Ctx) -> Result<(), IngestError> {
        if !ctx.lenient {
            return Err(IngestError::Line {
                file: d.file.clone(),
                line: d.line,
                rule: format!("{}: {rule}", self.market),
            });
        }
        tracing::warn!(
            "{}:{}: {}: {rule}; kept as a gap marker (book invalid until the next snapshot)",
            d.file.display(),
            d.line,
            self.market
        );
        self.counts(ctx.report).gaps += 1;
        Ok(())
    }

    fn on_snapshot(
        &mut self,
        snap: &Snapshot,
        ts_recv: Nanos,
        file: &Path,
        line: u64,
        ctx: &mut Ctx,
    ) -> Result<(), IngestError> {
        let ts_event = snap.E.map(ms).unwrap_or(ts_recv);
        let l = snap.last_update_id;
        let mut lv = Vec::with_capacity(snap.bids.len() + snap.asks.len());
        let parsed = levels(&snap.bids, BookSide::Bid, &mut lv)
            .and_then(|_| levels(&snap.asks, BookSide::Ask, &mut lv));
        if let Err(rule) = parsed {
            if ctx.lenient {
                ctx.report.skip("bad snapshot level");
                return Ok(());
            }
            return Err(IngestError::Line {
                file: file.into(),
                line,
                rule: format!("snapshot: {rule}"),
            });
        }
        for (side, price, size) in lv.iter().copied() {
            ctx.w.book(
                &self.market,
                BookRow {
                    ts_event,
                    ts_recv,
                    seq: Some(l),
                    prev_seq: None,
                    is_snapshot: true,
                    side,
                    price,
                    size,
                },
            )?;
        }
        let c = self.counts(ctx.report);
        c.book_rows += lv.len() as u64;
        c.book_messages += 1;
        c.snapshots += 1;
        self.snapshot = Some(l);
        self.prev_u = None;
        for d in std::mem::take(&mut self.pending) {
            self.on_synced_diff(d, ctx)?;
        }
        Ok(())
    }

    fn on_diff(&mut self, d: Diff, ctx: &mut Ctx) -> Result<(), IngestError> {
        if self.snapshot.is_none() {
            self.pending.push(d);
            Ok(())
        } else {
            self.on_synced_diff(d, ctx)
        }
    }
}

fn bad_line(
    file: &Path,
    line: u64,
    rule: String,
    lenient_key: &str,
    ctx: &mut Ctx,
) -> Result<(), IngestError> {
    if ctx.lenient {
        tracing::warn!("{}:{line}: {rule} (skipped)", file.display());
        ctx.report.skip(lenient_key);
        Ok(())
    } else {
        Err(IngestError::Line {
            file: file.into(),
            line,
            rule,
        })
    }
}

/// Ingests Binance raw recordings: files in name order; each market's lines form one stream.
pub fn ingest_files(
    inputs: &[PathBuf],
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut files: Vec<PathBuf> = inputs.to_vec();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    let mut ctx = Ctx {
        w,
        report,
        lenient: opts.lenient,
    };
    let mut books: BTreeMap<Market, BookSync> = BTreeMap::new();
    for file in &files {
        ingest_file(file, &mut books, &mut ctx)?;
    }
    for (m, b) in &books {
        if !b.pending.is_empty() {
            ctx.report
                .markets
                .entry(m.to_string())
                .or_default()
                .unsynced_diffs += b.pending.len() as u64;
        }
    }
    Ok(())
}

fn ingest_file(
    file: &Path,
    books: &mut BTreeMap<Market, BookSync>,
    ctx: &mut Ctx,
) -> Result<(), IngestError> {
    let mut reader = open_lines(file)?;
    let mut buf = String::new();
    let mut line_no = 0u64;
    // The market of this file's stream lines, for a snapshot line without `symbol`.
    let mut file_market: Option<(Kind, Market)> = None;
    let mut pending_snapshot: Option<(String, Nanos, u64)> = None;
    let mut scratch: Vec<(BookSide, f64, f64)> = Vec::new();
    loop {
        buf.clear();
        match reader.read_line(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let rule = format!("truncated or corrupt input after line {line_no}: {e}");
                if ctx.lenient {
                    tracing::warn!("{}: {rule}; lines read so far are kept", file.display());
                    ctx.report.truncated_files.push(file.into());
                    break;
                }
                return Err(IngestError::File {
                    file: file.into(),
                    rule,
                });
            }
        }
        line_no += 1;
        ctx.report.lines += 1;
        crate::ingest::LINES_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let line = buf.trim_end();
        if line.is_empty() {
            continue;
        }
        let Some((ts, json)) = line.split_once(' ') else {
            bad_line(
                file,
                line_no,
                "expected `<recv_ns> <json>`".into(),
                "malformed line",
                ctx,
            )?;
            continue;
        };
        let Ok(ts_recv) = ts.parse::<i64>() else {
            bad_line(
                file,
                line_no,
                format!("receive timestamp {ts:?} is not an integer (ns)"),
                "malformed line",
                ctx,
            )?;
            continue;
        };
        // Cheap stream extraction without a full parse.
        let stream = json
            .strip_prefix("{\"stream\":\"")
            .and_then(|r| r.split_once('"'))
            .map(|(s, _)| s);
        let Some(stream) = stream else {
            if json.contains("\"lastUpdateId\"") {
                match &file_market {
                    Some((kind, market)) => {
                        let (kind, market) = (*kind, market.clone());
                        handle_snapshot(json, ts_recv, file, line_no, kind, &market, books, ctx)?;
                    }
                    None => pending_snapshot = Some((json.to_string(), ts_recv, line_no)),
                }
            } else if serde_json::from_str::<serde_json::Value>(json).is_err() {
                bad_line(
                    file,
                    line_no,
                    "malformed JSON".into(),
                    "malformed JSON",
                    ctx,
                )?;
            } else {
                bad_line(
                    file,
                    line_no,
                    "message has neither `stream` nor `lastUpdateId`".into(),
                    "unknown message",
                    ctx,
                )?;
            }
            continue;
        };
        let Some((mut kind, raw_sym, what)) = kind_of(stream) else {
            bad_line(
                file,
                line_no,
                format!("unknown stream {stream:?}"),
                "unknown stream",
                ctx,
            )?;
            continue;
        };
        // trade/bookTicker streams take the kind established by this file's depth stream.
        if what != "depth" {
            if let Some((k, _)) = &file_market {
                kind = *k;
            } else if json.contains("\"X\":\"MARKET\"") || json.contains("\"e\":\"bookTicker\"") {
                kind = if raw_sym.to_ascii_uppercase().ends_with("_PERP") {
                    Kind::CoinM
                } else {
                    Kind::UsdM
                };
            }
        }
        let market = match canonical(kind, raw_sym) {
            Ok(m) => m,
            Err(rule) => {
                bad_line(file, line_no, rule, "unknown symbol", ctx)?;
                continue;
            }
        };
        if file_market.is_none() {
            file_market = Some((kind, market.clone()));
            if let Some((snap, ts, ln)) = pending_snapshot.take() {
                handle_snapshot(&snap, ts, file, ln, kind, &market, books, ctx)?;
            }
        }
        match what {
            "depth" => {
                let d: DepthData = match serde_json::from_str::<Wrapped<DepthData>>(json) {
                    Ok(w) => w.data,
                    Err(e) => {
                        bad_line(
                            file,
                            line_no,
                            format!("malformed depth message: {e}"),
                            "malformed JSON",
                            ctx,
                        )?;
                        continue;
                    }
                };
                scratch.clear();
                let lv = levels(&d.b, BookSide::Bid, &mut scratch)
                    .and_then(|_| levels(&d.a, BookSide::Ask, &mut scratch));
                if let Err(rule) = lv {
                    bad_line(file, line_no, rule, "bad level", ctx)?;
                    continue;
                }
                let _ = &d.s;
                let prev = match kind {
                    Kind::Spot => d.U.checked_sub(1),
                    _ => d.pu,
                };
                let diff = Diff {
                    ts_event: ms(d.E),
                    ts_recv,
                    first: d.U,
                    last: d.u,
                    prev,
                    levels: scratch.clone(),
                    file: file.into(),
                    line: line_no,
                };
                let sync = books.entry(market.clone()).or_insert_with(|| BookSync {
                    kind,
                    market: market.clone(),
                    snapshot: None,
                    pending: Vec::new(),
                    prev_u: None,
                });
                sync.on_diff(diff, ctx)?;
            }
            "trade" => {
                let t: TradeData = match serde_json::from_str::<Wrapped<TradeData>>(json) {
                    Ok(w) => w.data,
                    Err(e) => {
                        bad_line(
                            file,
                            line_no,
                            format!("malformed trade message: {e}"),
                            "malformed JSON",
                            ctx,
                        )?;
                        continue;
                    }
                };
                let _ = &t.s;
                let price = parse_decimal(&t.p).filter(|v| *v > 0.0);
                let size = parse_decimal(&t.q).filter(|v| *v > 0.0);
                let (Some(price), Some(size)) = (price, size) else {
                    bad_line(
                        file,
                        line_no,
                        format!(
                            "trade price {:?} / size {:?} must be positive decimals",
                            t.p, t.q
                        ),
                        "bad trade",
                        ctx,
                    )?;
                    continue;
                };
                let side = if t.m { TradeSide::Sell } else { TradeSide::Buy };
                ctx.w.trade(
                    &market,
                    TradeRow {
                        ts_event: ms(t.T),
                        ts_recv,
                        trade_id: t.t.to_string(),
                        price,
                        size,
                        side,
                    },
                )?;
                ctx.report
                    .markets
                    .entry(market.to_string())
                    .or_default()
                    .trades += 1;
            }
            _ => {
                let t: TickerData = match serde_json::from_str::<Wrapped<TickerData>>(json) {
                    Ok(w) => w.data,
                    Err(e) => {
                        bad_line(
                            file,
                            line_no,
                            format!("malformed bookTicker message: {e}"),
                            "malformed JSON",
                            ctx,
                        )?;
                        continue;
                    }
                };
                let _ = &t.s;
                let vals = [
                    parse_decimal(&t.b),
                    parse_decimal(&t.B),
                    parse_decimal(&t.a),
                    parse_decimal(&t.A),
                ];
                if vals.iter().any(Option::is_none) {
                    bad_line(
                        file,
                        line_no,
                        "bookTicker price/size must be non-negative decimals".into(),
                        "bad ticker",
                        ctx,
                    )?;
                    continue;
                }
                let ts_event = match kind {
                    Kind::Spot => ts_recv,
                    _ => t.E.map(ms).unwrap_or(ts_recv),
                };
                ctx.w.ticker(
                    &market,
                    TickerRow {
                        ts_event,
                        ts_recv,
                        seq: Some(t.u),
                        bid_price: vals[0],
                        bid_size: vals[1],
                        ask_price: vals[2],
                        ask_size: vals[3],
                    },
                )?;
                ctx.report
                    .markets
                    .entry(market.to_string())
                    .or_default()
                    .tickers += 1;
            }
        }
    }
    if let Some((_, _, ln)) = pending_snapshot {
        bad_line(
            file,
            ln,
            "snapshot line in a file with no stream lines: cannot tell its market".into(),
            "unattributed snapshot",
            ctx,
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn handle_snapshot(
    json: &str,
    ts_recv: Nanos,
    file: &Path,
    line: u64,
    kind: Kind,
    file_market: &Market,
    books: &mut BTreeMap<Market, BookSync>,
    ctx: &mut Ctx,
) -> Result<(), IngestError> {
    let snap: Snapshot = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => {
            return bad_line(
                file,
                line,
                format!("malformed depth snapshot: {e}"),
                "malformed JSON",
                ctx,
            );
        }
    };
    let market = match &snap.symbol {
        Some(s) => match canonical(kind, s) {
            Ok(m) => m,
            Err(rule) => return bad_line(file, line, rule, "unknown symbol", ctx),
        },
        None => file_market.clone(),
    };
    let sync = books.entry(market.clone()).or_insert_with(|| BookSync {
        kind,
        market,
        snapshot: None,
        pending: Vec::new(),
        prev_u: None,
    });
    sync.on_snapshot(&snap, ts_recv, file, line, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_map_to_canonical_ids() {
        assert_eq!(
            canonical(Kind::Spot, "btcusdt").unwrap().to_string(),
            "binance/BTC-USDT"
        );
        assert_eq!(
            canonical(Kind::UsdM, "ethusdt").unwrap().to_string(),
            "binance-futures/ETH-USDT-PERP"
        );
        assert_eq!(
            canonical(Kind::CoinM, "btcusd_perp").unwrap().to_string(),
            "binance-delivery/BTC-USD-PERP"
        );
        assert!(canonical(Kind::CoinM, "btcusd_240927").is_err());
        assert_eq!(kind_of("btcusdt@depth@100ms").unwrap().0, Kind::Spot);
        assert_eq!(kind_of("btcusdt@depth@0ms").unwrap().0, Kind::UsdM);
        assert_eq!(kind_of("btcusd_perp@depth@0ms").unwrap().0, Kind::CoinM);
        assert!(kind_of("btcusdt@kline_1m").is_none());
    }

    fn write(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("btcusdt_20240808.txt");
        std::fs::write(&p, lines.join("\n")).unwrap();
        (d, p)
    }

    fn depth(recv: i64, e: i64, first: u64, last: u64, bid: &str) -> String {
        format!(
            r#"{recv} {{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{e},"s":"BTCUSDT","U":{first},"u":{last},"b":[["{bid}","1.0"]],"a":[]}}}}"#
        )
    }

    /// The diff to apply can sit on a line before the snapshot (PROVENANCE §1 quirk).
    #[test]
    fn diff_before_snapshot_is_applied_after_it() {
        let lines = vec![
            depth(1_000_000, 1, 90, 95, "99.0"),  // stale: u <= L
            depth(2_000_000, 2, 96, 104, "99.5"), // straddles L = 100
            r#"3000000 {"lastUpdateId":100,"bids":[["100.0","2.0"]],"asks":[["101.0","3.0"]]}"#
                .to_string(),
            depth(4_000_000, 4, 105, 106, "99.8"),
        ];
        let (d, p) = write(&lines);
        let out = tempfile::tempdir().unwrap();
        let r = crate::ingest::ingest(
            crate::ingest::InputFormat::BinanceRaw,
            &[p],
            out.path(),
            &IngestOptions::default(),
        )
        .unwrap();
        let c = &r.markets["binance/BTC-USDT"];
        assert_eq!(
            (c.snapshots, c.stale_diffs, c.book_messages, c.book_rows),
            (1, 1, 3, 4)
        );
        drop(d);
    }

    #[test]
    fn chain_break_is_an_error_or_a_counted_gap() {
        let lines = vec![
            r#"1000000 {"lastUpdateId":100,"bids":[["100.0","2.0"]],"asks":[["101.0","3.0"]]}"#
                .to_string(),
            depth(2_000_000, 2, 100, 104, "99.5"),
            depth(3_000_000, 3, 110, 112, "99.6"),
        ];
        // The snapshot line comes before any stream line: attributed once the stream is known.
        let (d, p) = write(&lines);
        let out = tempfile::tempdir().unwrap();
        let e = crate::ingest::ingest(
            crate::ingest::InputFormat::BinanceRaw,
            std::slice::from_ref(&p),
            out.path(),
            &IngestOptions::default(),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(":3:") && msg.contains("U=110") && msg.contains("previous u=104"),
            "{msg}"
        );
        let r = crate::ingest::ingest(
            crate::ingest::InputFormat::BinanceRaw,
            &[p],
            out.path(),
            &IngestOptions { lenient: true },
        )
        .unwrap();
        assert_eq!(r.markets["binance/BTC-USDT"].gaps, 1);
        drop(d);
    }
}
