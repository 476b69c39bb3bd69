//! Coinbase Pro legacy feed (`ws-feed.pro.coinbase.com`), exchange `coinbase`.
//!
//! | channel | rows | sync / checks | time | side | size |
//! |---|---|---|---|---|---|
//! | `snapshot` (`bids`/`asks`) | book, `is_snapshot` | resets the book | receive (none sent) | | base |
//! | `l2update` (`changes [side, px, size]`) | book, absolute sizes (`0` deletes) | no sequence; crossed check | `time` | | base |
//! | `match` | trades, `trade_id` | | `time` | `side` is the **maker**: aggressor is the opposite | base |
//! | `ticker` (`best_bid`, `best_ask`) | ticker, `seq = sequence`, no sizes | top of book compared | `time` (receive if absent) | | |
//! | `last_match` | none: history, counted | | | | |
//!
//! `subscriptions` and `heartbeat` are control messages.

use super::book::Top;
use super::sink::RowMeta;
use super::time::parse_iso;
use super::{Bad, Received, Sink, VenueParser, book_side, json};
use daedalus_model::rows::{BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The Coinbase parser.
#[derive(Debug, Default)]
pub struct Coinbase;

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Deserialize)]
struct Snapshot<'a> {
    product_id: &'a str,
    #[serde(borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

#[derive(Deserialize)]
struct L2Update<'a> {
    product_id: &'a str,
    #[serde(borrow)]
    changes: Vec<(&'a str, &'a str, &'a str)>,
    time: &'a str,
}

#[derive(Deserialize)]
struct Match<'a> {
    product_id: &'a str,
    trade_id: u64,
    side: &'a str,
    size: &'a str,
    price: &'a str,
    time: &'a str,
}

#[derive(Deserialize)]
struct Ticker<'a> {
    product_id: &'a str,
    sequence: Option<u64>,
    best_bid: Option<&'a str>,
    best_ask: Option<&'a str>,
    time: Option<&'a str>,
}

fn iso(s: &str) -> Result<Nanos, Bad> {
    parse_iso(s).ok_or_else(|| Bad::rule("time is ISO-8601 UTC", format!("{s:?}")))
}

impl VenueParser for Coinbase {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        let head: Head = json(msg.json, "message has a `type`")?;
        match head.kind {
            "snapshot" => snapshot(msg, sink),
            "l2update" => l2update(msg, sink),
            "match" => trade(msg, sink),
            "ticker" => ticker(msg, sink),
            "last_match" => {
                let m: Match = json(msg.json, "last_match message")?;
                sink.history(m.product_id, 1)
            }
            "subscriptions" | "heartbeat" => {
                sink.skipped.control_messages += 1;
                Ok(())
            }
            other => Err(Bad::rule(
                "Coinbase message type is snapshot, l2update, match, last_match, ticker, subscriptions or heartbeat",
                format!("{other:?}"),
            )),
        }
    }
}

fn snapshot(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let s: Snapshot = json(msg.json, "snapshot message")?;
    let m = sink.market(s.product_id)?;
    let meta = RowMeta::plain(msg.ts_recv, msg.ts_recv, true);
    m.begin_snapshot(meta.ts_event);
    for (px, sz) in s.bids {
        m.level(&meta, BookSide::Bid, px, sz)?;
    }
    for (px, sz) in s.asks {
        m.level(&meta, BookSide::Ask, px, sz)?;
    }
    m.commit(msg.ts_recv);
    Ok(())
}

fn l2update(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let u: L2Update = json(msg.json, "l2update message")?;
    let meta = RowMeta::plain(iso(u.time)?, msg.ts_recv, false);
    let m = sink.market(u.product_id)?;
    if !m.begin_update() {
        return Ok(());
    }
    for (side, px, sz) in u.changes {
        m.level(&meta, book_side(side)?, px, sz)?;
    }
    m.commit(msg.ts_recv);
    Ok(())
}

fn trade(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Match = json(msg.json, "match message")?;
    // `side` is the maker's order side: a resting sell was hit by a buyer.
    let side = match book_side(t.side)? {
        BookSide::Ask => TradeSide::Buy,
        BookSide::Bid => TradeSide::Sell,
    };
    let row = TradeRow {
        ts_event: iso(t.time)?,
        ts_recv: msg.ts_recv,
        trade_id: t.trade_id.to_string(),
        price: super::book::parse_num(t.price, "match price is a decimal")?,
        size: super::book::parse_num(t.size, "match size is a decimal")?,
        side,
    };
    sink.market(t.product_id)?.trade(row);
    Ok(())
}

fn ticker(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Ticker = json(msg.json, "ticker message")?;
    let num = |s: Option<&str>| -> Result<Option<f64>, Bad> {
        s.map(|s| super::book::parse_num(s, "ticker price is a decimal"))
            .transpose()
    };
    let row = TickerRow {
        ts_event: t.time.map(iso).transpose()?.unwrap_or(msg.ts_recv),
        ts_recv: msg.ts_recv,
        seq: t.sequence,
        bid_price: num(t.best_bid)?,
        bid_size: None,
        ask_price: num(t.best_ask)?,
        ask_size: None,
    };
    let top = Top::from_strs(t.best_bid, t.best_ask)?;
    sink.market(t.product_id)?.ticker(row, Some(top));
    Ok(())
}
