//! Bybit legacy inverse `realtime` API (`stream.bybit.com/realtime`), exchange `bybit`.
//!
//! | topic | rows | sync / checks | time | side | size |
//! |---|---|---|---|---|---|
//! | `orderBookL2_25.<sym>` `snapshot` | book, `is_snapshot`, `seq = cross_seq` | resets the book | `timestamp_e6` (µs) | | contracts (BTCUSD: 1 USD) |
//! | `orderBookL2_25.<sym>` `delta {delete, update, insert}` | book, absolute sizes, `seq = cross_seq` | applied delete, update, insert; levels keyed by `(side, id)` (`insert` maps the id to its price; `update`/`delete` use the mapped price; an unknown id is a gap); crossed check | `timestamp_e6` | | contracts |
//! | `trade.<sym>` | trades, `trade_id` | | `trade_time_ms` | `side` is the taker | contracts |
//!
//! `cross_seq` is the matching engine's sequence, shared across books and not contiguous per
//! book (measured: steps of 1 to 9+ between one book's deltas), so it is stored as `seq` with no
//! `prev_seq`, and the continuity check is that each delta's `cross_seq` exceeds the previous
//! message's (a repeat or step back is a gap), with every `update`/`delete` naming a known id.
//! Subscription acks (`success`) are control messages; a failed one is an error.

use super::sink::{IdAction, MarketState, RowMeta};
use super::time::{parse_ms, us_to_ns};
use super::{Bad, Received, Sink, VenueParser, book_side, json, taker_side};
use daedalus_model::rows::TradeRow;
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The Bybit parser.
#[derive(Debug, Default)]
pub struct Bybit;

#[derive(Deserialize)]
struct Head<'a> {
    topic: Option<&'a str>,
    success: Option<bool>,
    ret_msg: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

#[derive(Deserialize)]
struct Msg<T> {
    data: T,
    cross_seq: Option<u64>,
    timestamp_e6: Option<u64>,
}

#[derive(Deserialize)]
struct L2Row<'a> {
    price: Option<&'a str>,
    id: u64,
    side: &'a str,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    delete: Vec<L2Row<'a>>,
    #[serde(borrow)]
    update: Vec<L2Row<'a>>,
    #[serde(borrow)]
    insert: Vec<L2Row<'a>>,
}

#[derive(Deserialize)]
struct Trade<'a> {
    trade_time_ms: u64,
    symbol: &'a str,
    side: &'a str,
    size: u64,
    price: f64,
    trade_id: &'a str,
}

impl VenueParser for Bybit {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        let head: Head = json(msg.json, "Bybit message has `topic` or `success`")?;
        let Some(topic) = head.topic else {
            if head.success == Some(true) {
                sink.skipped.control_messages += 1;
                return Ok(());
            }
            return Err(Bad::rule(
                "Bybit acks succeed",
                head.ret_msg.unwrap_or("").to_string(),
            ));
        };
        let (channel, symbol) = topic.split_once('.').unwrap_or((topic, ""));
        match channel {
            "orderBookL2_25" | "orderBook_200" => book(msg, head.kind, symbol, sink),
            "trade" => trades(msg, sink),
            _ => {
                sink.skipped.other_channels += 1;
                Ok(())
            }
        }
    }
}

fn book(msg: Received<'_>, kind: Option<&str>, symbol: &str, sink: &mut Sink) -> Result<(), Bad> {
    let m = sink.market(symbol)?;
    let seq = match kind {
        Some("snapshot") => {
            let s: Msg<Vec<L2Row>> = json(msg.json, "Bybit book snapshot")?;
            let meta = meta(&s, msg.ts_recv, true)?;
            m.begin_snapshot(meta.ts_event);
            apply(m, &meta, IdAction::Insert, &s.data)?;
            meta.seq
        }
        Some("delta") => {
            let d: Msg<Delta> = json(msg.json, "Bybit book delta")?;
            let meta = meta(&d, msg.ts_recv, false)?;
            if !m.begin_update() || !sequence_follows(m, msg.ts_recv, meta.seq)? {
                return Ok(());
            }
            let data = &d.data;
            for (action, rows) in [
                (IdAction::Delete, &data.delete),
                (IdAction::Update, &data.update),
                (IdAction::Insert, &data.insert),
            ] {
                if !apply(m, &meta, action, rows)? {
                    return Ok(());
                }
            }
            meta.seq
        }
        k => {
            return Err(Bad::rule(
                "Bybit book type is snapshot or delta",
                format!("{k:?}"),
            ));
        }
    };
    m.last_seq = seq;
    m.commit(msg.ts_recv);
    Ok(())
}

/// Bybit's `cross_seq` is the matching engine's sequence, shared by all books, so it is not
/// contiguous per book; a book's deltas must carry strictly increasing values. One that does
/// not (a replayed or reordered delta) is a gap. `false`: the message is dropped.
fn sequence_follows(m: &mut MarketState, ts_recv: Nanos, seq: Option<u64>) -> Result<bool, Bad> {
    let (Some(seq), Some(last)) = (seq, m.last_seq) else {
        return Ok(true);
    };
    m.out.stats.sequences_checked += 1;
    if seq > last {
        return Ok(true);
    }
    m.gap(ts_recv, "sequence", format!("cross_seq {seq} after {last}"))?;
    Ok(false)
}

fn meta<T>(m: &Msg<T>, ts_recv: Nanos, is_snapshot: bool) -> Result<RowMeta, Bad> {
    let ts_event = match m.timestamp_e6 {
        Some(us) => us_to_ns(us).ok_or_else(|| Bad::rule("timestamp_e6 fits", us.to_string()))?,
        None => ts_recv,
    };
    Ok(RowMeta {
        seq: m.cross_seq,
        ..RowMeta::plain(ts_event, ts_recv, is_snapshot)
    })
}

/// Applies rows of one action; `false` after a gap (unknown id).
fn apply(
    m: &mut MarketState,
    meta: &RowMeta,
    action: IdAction,
    rows: &[L2Row<'_>],
) -> Result<bool, Bad> {
    for r in rows {
        let side = book_side(r.side)?;
        if !m.id_level(meta, action, side, r.id, r.price, r.size)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn trades(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let t: Msg<Vec<Trade>> = json(msg.json, "Bybit trade message")?;
    for r in t.data {
        let ts = parse_ms(&r.trade_time_ms.to_string())
            .ok_or_else(|| Bad::rule("trade_time_ms fits", r.trade_time_ms.to_string()))?;
        let row = TradeRow {
            ts_event: ts,
            ts_recv: msg.ts_recv,
            trade_id: r.trade_id.to_string(),
            price: r.price,
            size: r.size as f64,
            side: taker_side(r.side)?,
        };
        sink.market(r.symbol)?.trade(row);
    }
    Ok(())
}
