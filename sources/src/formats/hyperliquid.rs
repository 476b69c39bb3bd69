//! Hyperliquid WebSocket recordings (`<recv_ns> <json>` lines, gzip or plain) to bronze.
//!
//! **Messages.** `l2Book`: `data = {coin, time (ms), levels: [bids, asks]}`, each level
//! `{px, sz, n}` (`n` is the order count, not stored): a full top-N book per message, so it is a
//! snapshot feed (CONTRACT §10.3): the first book of a coin in the input is stored as
//! `is_snapshot` rows, each later one as the level changes from the previous one
//! ([`SnapshotDiffer`]). `trades`: `data = [{coin, side, px, sz, time (ms), tid, …}]`; `side` is
//! the aggressor (`B` buy, `A` sell). The first `trades` message of a coin in an input is the
//! venue's replay of recent trades on subscription: history, skipped and counted (CONTRACT
//! §10.7), counted per market as `history_trades`. Other channels (subscription responses,
//! pongs) are not ingested.
//!
//! **Ids** (CONTRACT §10.4): exchange `hyperliquid`; a perpetual `coin` (`BTC`) is
//! `BTC-USDC-PERP`: Hyperliquid perpetuals are linear and settle in USDC, as Binance USD-M's are
//! `-USDT-PERP`. Spot pairs (`@107`, `PURR/USDC`) have no canonical id without the venue's
//! universe table: an error naming the coin, never a guessed id.
//!
//! **Times**: book `data.time`, trade `time` (ms → ns); `ts_recv` the line's receive time.
//! Sizes are in the coin (BTC), prices in USD(C). There is no sequence number: no gap check.

use crate::error::Result;
use crate::formats::context::Ctx;
use crate::formats::fields::parse_decimal;
use crate::formats::snapshot_feed::{self, SnapshotDiffer};
use crate::ingest::lines::Lines;
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, TradeRow, TradeSide};
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One message, by its `channel`.
#[derive(Deserialize)]
#[serde(tag = "channel", content = "data")]
enum Message {
    #[serde(rename = "l2Book")]
    Book(Book),
    #[serde(rename = "trades")]
    Trades(Vec<Trade>),
}

#[derive(Deserialize)]
struct Book {
    coin: String,
    time: i64,
    levels: [Vec<Level>; 2],
}

#[derive(Deserialize)]
struct Level {
    px: String,
    sz: String,
}

#[derive(Deserialize)]
struct Trade {
    coin: String,
    side: String,
    px: String,
    sz: String,
    time: i64,
    tid: u64,
}

/// Per input: each coin's previous book, and the coins whose first trades message was seen.
#[derive(Default)]
struct InputState {
    books: BTreeMap<Market, SnapshotDiffer>,
    trades_seen: BTreeSet<Market>,
}

/// What one line stands for, parsed and checked before anything is written.
enum Parsed {
    /// A channel not ingested (subscription responses, pongs), as Binance streams not ingested.
    Skip,
    /// The book rows of one `l2Book` message.
    Book(Market, Vec<BookRow>),
    /// Trades of one `trades` message; `history`: the trades the venue replayed on subscription.
    Trades {
        rows: Vec<(Market, TradeRow)>,
        history: Vec<(Market, u64)>,
    },
}

/// Ingests one Hyperliquid recording (no state carries from one input to the next: each input
/// starts with a full book).
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<()> {
    let mut ctx = Ctx::new(w, report, opts);
    let mut lines = Lines::open(file)?;
    let mut st = InputState::default();
    while let Some((line, text)) = lines.next_line(ctx.lenient, ctx.report)? {
        match parse_line(text, &mut st) {
            Ok(p) => write(p, (file, line), &mut ctx)?,
            Err(rule) => ctx.bad_line(file, line, rule, "bad hyperliquid line")?,
        }
    }
    Ok(())
}

fn write(p: Parsed, at: (&Path, u64), ctx: &mut Ctx) -> Result<()> {
    match p {
        Parsed::Skip => {}
        Parsed::Book(market, rows) => snapshot_feed::write(ctx, &market, rows)?,
        Parsed::Trades { rows, history } => {
            for (market, n) in history {
                ctx.report.market(&market).history_trades += n;
            }
            for (market, r) in rows {
                ctx.trade(at, &market, r)?;
            }
        }
    }
    Ok(())
}

/// One line to what it stands for; a broken rule is returned as text (the caller names the
/// file and line, and fails or skips).
fn parse_line(text: &str, st: &mut InputState) -> std::result::Result<Parsed, String> {
    let (ts, json) = text
        .split_once(' ')
        .ok_or("line is not `<recv_ns> <json>`")?;
    let ts_recv: Nanos = ts
        .parse()
        .map_err(|_| format!("receive timestamp {ts:?} is not an integer (ns)"))?;
    let value = serde_json::from_str::<serde_json::Value>(json)
        .map_err(|e| format!("malformed JSON: {e}"))?;
    let known = matches!(
        value.get("channel").and_then(|c| c.as_str()),
        Some("l2Book" | "trades")
    );
    if !known {
        return Ok(Parsed::Skip);
    }
    let msg: Message =
        serde_json::from_value(value).map_err(|e| format!("unexpected message shape: {e}"))?;
    match msg {
        Message::Book(b) => book(b, ts_recv, st),
        Message::Trades(t) => trades(&t, ts_recv, st),
    }
}

/// The canonical market of a perpetual coin (CONTRACT §10.4).
fn market_of(coin: &str) -> std::result::Result<Market, String> {
    let ok = !coin.is_empty() && coin.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(format!(
            "unknown hyperliquid coin {coin:?}: not a perpetual (spot pairs need the venue's \
             universe table), no canonical id (CONTRACT §10.4)"
        ));
    }
    let symbol = format!("{}-USDC-PERP", coin.to_ascii_uppercase());
    Market::new("hyperliquid", &symbol).map_err(|e| e.to_string())
}

fn ms(v: i64, what: &str) -> std::result::Result<Nanos, String> {
    v.checked_mul(1_000_000)
        .ok_or_else(|| format!("{what} {v} ms is out of range"))
}

fn positive(s: &str, what: &str) -> std::result::Result<f64, String> {
    parse_decimal(s)
        .filter(|v| *v > 0.0)
        .ok_or_else(|| format!("{what} {s:?} must be a positive decimal"))
}

fn levels(ls: &[Level]) -> std::result::Result<Vec<(f64, f64)>, String> {
    ls.iter()
        .map(|l| Ok((positive(&l.px, "px")?, positive(&l.sz, "sz")?)))
        .collect()
}

fn book(b: Book, ts_recv: Nanos, st: &mut InputState) -> std::result::Result<Parsed, String> {
    let market = market_of(&b.coin)?;
    let ts_event = ms(b.time, "time")?;
    let [bids, asks] = &b.levels;
    let (bids, asks) = (levels(bids)?, levels(asks)?);
    let rows =
        st.books
            .entry(market.clone())
            .or_default()
            .next_rows(&bids, &asks, (ts_event, ts_recv))?;
    Ok(Parsed::Book(market, rows))
}

fn trades(
    ts: &[Trade],
    ts_recv: Nanos,
    st: &mut InputState,
) -> std::result::Result<Parsed, String> {
    let mut rows = Vec::with_capacity(ts.len());
    for t in ts {
        let side = match t.side.as_str() {
            "B" => TradeSide::Buy,
            "A" => TradeSide::Sell,
            other => return Err(format!("trade side {other:?} must be B or A")),
        };
        let row = TradeRow {
            ts_event: ms(t.time, "trade time")?,
            ts_recv,
            trade_id: t.tid.to_string(),
            price: positive(&t.px, "px")?,
            size: positive(&t.sz, "sz")?,
            side,
        };
        rows.push((market_of(&t.coin)?, row));
    }
    // A coin's first trades message in the input is the replay on subscription.
    let first: BTreeSet<Market> = rows
        .iter()
        .map(|(m, _)| m.clone())
        .filter(|m| !st.trades_seen.contains(m))
        .collect();
    st.trades_seen.extend(first.iter().cloned());
    let (history, live): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(m, _)| first.contains(m));
    let history = first
        .into_iter()
        .map(|m| {
            let n = history.iter().filter(|(h, _)| *h == m).count() as u64;
            (m, n)
        })
        .collect();
    Ok(Parsed::Trades {
        rows: live,
        history,
    })
}
