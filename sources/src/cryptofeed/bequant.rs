//! Bequant (HitBTC API v2, `api.bequant.io/api/2/ws/public`), exchange `bequant`.
//!
//! | method | rows | sync / checks | time | side | size |
//! |---|---|---|---|---|---|
//! | `snapshotOrderbook` | book, `is_snapshot`, `seq = sequence` | resets the book | `timestamp` (ISO ms) | | base |
//! | `updateOrderbook` (`{price, size}`, absolute, `0` deletes) | book, `seq = sequence`, `prev_seq` = the `seq` of the market's previous book message that wrote rows (`sequence − 1` unless that message changed no level) | **`sequence` must follow the previous message's by 1**: a break is a gap; crossed check | `timestamp` | | base |
//! | `ticker` (`bid`, `ask`) | ticker, no sizes | top of book compared | `timestamp` | | |
//! | `updateTrades` | trades, `trade_id = id` | | `timestamp` | `side` is the taker | base |
//! | `snapshotTrades` | none: history, counted | | | | |
//!
//! Candles are other channels (skipped, counted); JSON-RPC results are control messages; an
//! `error` is an error.

use super::book::{Top, parse_num};
use super::sink::RowMeta;
use super::time::parse_iso;
use super::{Bad, Received, Sink, VenueParser, json, taker_side};
use daedalus_model::rows::{BookSide, TickerRow, TradeRow};
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The Bequant parser.
#[derive(Debug, Default)]
pub struct Bequant;

#[derive(Deserialize)]
struct Head<'a> {
    method: Option<&'a str>,
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Rpc<T> {
    params: T,
}

#[derive(Deserialize)]
struct Level<'a> {
    price: &'a str,
    size: &'a str,
}

#[derive(Deserialize)]
struct Book<'a> {
    #[serde(borrow)]
    ask: Vec<Level<'a>>,
    #[serde(borrow)]
    bid: Vec<Level<'a>>,
    sequence: u64,
    timestamp: &'a str,
    symbol: &'a str,
}

#[derive(Deserialize)]
struct Ticker<'a> {
    ask: Option<&'a str>,
    bid: Option<&'a str>,
    timestamp: &'a str,
    symbol: &'a str,
}

#[derive(Deserialize)]
struct Trades<'a> {
    #[serde(borrow)]
    data: Vec<Trade<'a>>,
    symbol: &'a str,
}

#[derive(Deserialize)]
struct Trade<'a> {
    id: u64,
    price: &'a str,
    quantity: &'a str,
    side: &'a str,
    timestamp: &'a str,
}

fn iso(s: &str) -> Result<Nanos, Bad> {
    parse_iso(s).ok_or_else(|| Bad::rule("timestamp is ISO-8601 UTC", format!("{s:?}")))
}

impl VenueParser for Bequant {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        let head: Head = json(msg.json, "Bequant JSON-RPC message")?;
        if head.error.is_some() {
            return Err(Bad::rule(
                "Bequant messages are not errors",
                super::clip(msg.json),
            ));
        }
        match head.method {
            None => {
                sink.skipped.control_messages += 1;
                Ok(())
            }
            Some("snapshotOrderbook") => book(msg, true, sink),
            Some("updateOrderbook") => book(msg, false, sink),
            Some("ticker") => ticker(msg, sink),
            Some("updateTrades") => trades(msg, sink),
            Some("snapshotTrades") => {
                let t: Rpc<Trades> = json(msg.json, "snapshotTrades message")?;
                sink.history(t.params.symbol, t.params.data.len() as u64)
            }
            Some(_) => {
                sink.skipped.other_channels += 1;
                Ok(())
            }
        }
    }
}

fn book(msg: Received<'_>, is_snapshot: bool, sink: &mut Sink) -> Result<(), Bad> {
    let b: Rpc<Book> = json(msg.json, "Bequant order book message")?;
    let b = b.params;
    let m = sink.market(b.symbol)?;
    let mut meta = RowMeta::plain(iso(b.timestamp)?, msg.ts_recv, is_snapshot);
    meta.seq = Some(b.sequence);
    if is_snapshot {
        m.begin_snapshot(meta.ts_event);
    } else {
        if !m.begin_update() {
            return Ok(());
        }
        m.out.stats.sequences_checked += 1;
        let want = m.last_seq.map(|s| s + 1);
        if want != Some(b.sequence) {
            let detail = format!("expected {want:?}, got {}", b.sequence);
            m.last_seq = None;
            return m.gap(msg.ts_recv, "sequence", detail);
        }
        // The previous message *in bronze*: a message without level changes writes no rows,
        // and the book state machine downstream checks `prev_seq` against the rows it saw.
        meta.prev_seq = m.row_seq;
    }
    for (side, levels) in [(BookSide::Bid, &b.bid), (BookSide::Ask, &b.ask)] {
        for l in levels {
            m.level(&meta, side, l.price, l.size)?;
        }
    }
    m.last_seq = Some(b.sequence);
    m.commit(msg.ts_recv);
    Ok(())
}

fn ticker(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Rpc<Ticker> = json(msg.json, "Bequant ticker message")?;
    let t = t.params;
    let num = |s: Option<&str>| -> Result<Option<f64>, Bad> {
        s.filter(|s| !s.is_empty())
            .map(|s| parse_num(s, "ticker price is a decimal"))
            .transpose()
    };
    let row = TickerRow {
        ts_event: iso(t.timestamp)?,
        ts_recv: msg.ts_recv,
        seq: None,
        bid_price: num(t.bid)?,
        bid_size: None,
        ask_price: num(t.ask)?,
        ask_size: None,
    };
    let top = Top::from_strs(t.bid, t.ask)?;
    sink.market(t.symbol)?.ticker(row, Some(top));
    Ok(())
}

fn trades(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Rpc<Trades> = json(msg.json, "Bequant updateTrades message")?;
    let m = sink.market(t.params.symbol)?;
    for r in t.params.data {
        m.trade(TradeRow {
            ts_event: iso(r.timestamp)?,
            ts_recv: msg.ts_recv,
            trade_id: r.id.to_string(),
            price: parse_num(r.price, "trade price is a decimal")?,
            size: parse_num(r.quantity, "trade quantity is a decimal")?,
            side: taker_side(r.side)?,
        });
    }
    Ok(())
}
