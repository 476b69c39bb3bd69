//! BitMEX realtime (`www.bitmex.com/realtime`), exchange `bitmex`.
//!
//! | table | rows | sync / checks | time | side | size |
//! |---|---|---|---|---|---|
//! | `orderBookL2` `partial` | book, `is_snapshot` | resets the book | receive (none sent) | | contracts (XBTUSD: 1 USD) |
//! | `orderBookL2` `insert` / `update` / `delete` | book, absolute sizes | levels keyed by `(side, id)`: `insert` maps the id to its price, `update` changes the size only, `delete` removes it (size-0 row at the mapped price); an unknown id is a gap; crossed check | receive | | contracts |
//! | `trade` `insert` | trades, `trade_id = trdMatchID` | | `timestamp` (ISO ms) | `side` is the aggressor | contracts |
//! | `trade` `partial` | none: history, counted | | | | |
//! | `quote` `partial` / `insert` | ticker, sizes | the last quote of each symbol in a message is compared with the book | `timestamp` | | contracts |
//!
//! Rows of one message are grouped by symbol (a message may mix symbols); each group is one book
//! message. Welcome (`info`) and `subscribe` acks are control messages; `error` is an error.

use super::book::Top;
use super::sink::{IdAction, RowMeta};
use super::time::parse_iso;
use super::{Bad, Received, Sink, VenueParser, book_side, json, taker_side};
use daedalus_model::rows::{TickerRow, TradeRow};
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The BitMEX parser.
#[derive(Debug, Default)]
pub struct Bitmex;

#[derive(Deserialize)]
struct Table<'a, T> {
    table: Option<&'a str>,
    action: Option<&'a str>,
    error: Option<&'a str>,
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    filter: Option<Filter<'a>>,
}

#[derive(Deserialize)]
struct Filter<'a> {
    symbol: Option<&'a str>,
}

#[derive(Deserialize)]
struct L2Row<'a> {
    symbol: &'a str,
    id: u64,
    side: &'a str,
    size: Option<u64>,
    price: Option<f64>,
}

#[derive(Deserialize)]
struct TradeMsg<'a> {
    timestamp: &'a str,
    symbol: &'a str,
    side: &'a str,
    size: u64,
    price: f64,
    #[serde(rename = "trdMatchID")]
    id: &'a str,
}

#[derive(Deserialize)]
struct Quote<'a> {
    timestamp: &'a str,
    symbol: &'a str,
    #[serde(rename = "bidSize")]
    bid_size: Option<u64>,
    #[serde(rename = "bidPrice")]
    bid_price: Option<f64>,
    #[serde(rename = "askPrice")]
    ask_price: Option<f64>,
    #[serde(rename = "askSize")]
    ask_size: Option<u64>,
}

fn iso(s: &str) -> Result<Nanos, Bad> {
    parse_iso(s).ok_or_else(|| Bad::rule("timestamp is ISO-8601 UTC", format!("{s:?}")))
}

impl VenueParser for Bitmex {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        let head: Table<serde::de::IgnoredAny> = json(msg.json, "BitMEX message")?;
        if let Some(e) = head.error {
            return Err(Bad::rule("BitMEX messages are not errors", e));
        }
        let action = head.action.unwrap_or("");
        match head.table {
            None => {
                sink.skipped.control_messages += 1;
                Ok(())
            }
            Some("orderBookL2") => book(msg, action, sink),
            Some("trade") => trades(msg, action, sink),
            Some("quote") => quotes(msg, sink),
            Some(_) => {
                sink.skipped.other_channels += 1;
                Ok(())
            }
        }
    }
}

/// Splits rows into runs by symbol, in order of first appearance.
fn by_symbol<'a, T>(rows: Vec<T>, sym: impl Fn(&T) -> &'a str) -> Vec<(&'a str, Vec<T>)> {
    let mut out: Vec<(&'a str, Vec<T>)> = Vec::new();
    for r in rows {
        let s = sym(&r);
        match out.iter_mut().find(|(k, _)| *k == s) {
            Some((_, v)) => v.push(r),
            None => out.push((s, vec![r])),
        }
    }
    out
}

fn book(msg: Received<'_>, action: &str, sink: &mut Sink) -> Result<(), Bad> {
    let t: Table<L2Row> = json(msg.json, "orderBookL2 message")?;
    let mut groups = by_symbol(t.data, |r| r.symbol);
    if action == "partial"
        && groups.is_empty()
        && let Some(s) = t.filter.and_then(|f| f.symbol)
    {
        groups.push((s, Vec::new()));
    }
    for (symbol, rows) in groups {
        book_group(msg.ts_recv, action, symbol, &rows, sink)?;
    }
    Ok(())
}

fn book_group(
    ts_recv: Nanos,
    action: &str,
    symbol: &str,
    rows: &[L2Row<'_>],
    sink: &mut Sink,
) -> Result<(), Bad> {
    let m = sink.market(symbol)?;
    let meta = RowMeta::plain(ts_recv, ts_recv, action == "partial");
    let act = match action {
        "partial" | "insert" => IdAction::Insert,
        "update" => IdAction::Update,
        "delete" => IdAction::Delete,
        _ => {
            return Err(Bad::rule(
                "orderBookL2 action is partial, insert, update or delete",
                action,
            ));
        }
    };
    if action == "partial" {
        m.begin_snapshot(meta.ts_event);
    } else if !m.begin_update() {
        return Ok(());
    }
    for r in rows {
        // Shortest round-trip decimal of the price (BitMEX sends JSON numbers).
        let px = r.price.map(|p| format!("{p}"));
        let side = book_side(r.side)?;
        if !m.id_level(&meta, act, side, r.id, px.as_deref(), r.size)? {
            return Ok(());
        }
    }
    m.commit(ts_recv);
    Ok(())
}

fn trades(msg: Received<'_>, action: &str, sink: &mut Sink) -> Result<(), Bad> {
    let t: Table<TradeMsg> = json(msg.json, "trade message")?;
    if action == "partial" {
        for (symbol, rows) in by_symbol(t.data, |r| r.symbol) {
            sink.history(symbol, rows.len() as u64)?;
        }
        return Ok(());
    }
    for r in t.data {
        let row = TradeRow {
            ts_event: iso(r.timestamp)?,
            ts_recv: msg.ts_recv,
            trade_id: r.id.to_string(),
            price: r.price,
            size: r.size as f64,
            side: taker_side(r.side)?,
        };
        sink.market(r.symbol)?.trade(row);
    }
    Ok(())
}

fn quotes(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Table<Quote> = json(msg.json, "quote message")?;
    for (symbol, rows) in by_symbol(t.data, |r| r.symbol) {
        let m = sink.market(symbol)?;
        let n = rows.len();
        for (i, q) in rows.into_iter().enumerate() {
            let row = TickerRow {
                ts_event: iso(q.timestamp)?,
                ts_recv: msg.ts_recv,
                seq: None,
                bid_price: q.bid_price,
                bid_size: q.bid_size.map(|s| s as f64),
                ask_price: q.ask_price,
                ask_size: q.ask_size.map(|s| s as f64),
            };
            let top = (i + 1 == n)
                .then(|| {
                    let s = |p: Option<f64>| p.map(|p| format!("{p}"));
                    let (b, a) = (s(q.bid_price), s(q.ask_price));
                    Top::from_strs(b.as_deref(), a.as_deref())
                })
                .transpose()?;
            m.ticker(row, top);
        }
    }
    Ok(())
}
