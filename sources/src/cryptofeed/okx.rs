//! OKX v5 public (`ws.okx.com`), exchanges `okex` (spot), `okex-swap` (`-PERP`), `okex-futures`
//! (dated).
//!
//! | channel | rows | sync / checks | time | side | size |
//! |---|---|---|---|---|---|
//! | `books` `snapshot` / `update` (levels `[px, sz, "0", orders]`) | book, absolute sizes (`0` deletes) | snapshot resets; the CRC32 `checksum` is **verified** after every message carrying one (no `seqId` in 2022 captures) | `ts` (ms) | | spot: base; swaps/futures: contracts |
//! | `trades` | trades, `trade_id = tradeId` | | `ts` | `side` is the taker | as books |
//! | `tickers` (`bidPx/bidSz/askPx/askSz`) | ticker | top of book compared | `ts` | | as books |
//!
//! Checksum: [`super::checksum::okx`]; a mismatch is a gap (the book waits for the next
//! snapshot). `event` messages (`subscribe`) are control messages; an `error` event is an error.

use super::book::{Top, parse_num};
use super::checksum;
use super::sink::RowMeta;
use super::time::parse_ms;
use super::{Bad, Received, Sink, VenueParser, json, taker_side};
use daedalus_model::rows::{BookSide, TickerRow, TradeRow};
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The OKX parser.
#[derive(Debug, Default)]
pub struct Okx;

#[derive(Deserialize)]
struct Head<'a> {
    event: Option<&'a str>,
    msg: Option<&'a str>,
    #[serde(borrow)]
    arg: Option<Arg<'a>>,
}

#[derive(Deserialize)]
struct Arg<'a> {
    channel: &'a str,
    #[serde(rename = "instId")]
    inst_id: &'a str,
}

#[derive(Deserialize)]
struct Data<T> {
    action: Option<String>,
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Books<'a> {
    #[serde(borrow)]
    asks: Vec<Vec<&'a str>>,
    #[serde(borrow)]
    bids: Vec<Vec<&'a str>>,
    ts: &'a str,
    checksum: Option<i64>,
}

#[derive(Deserialize)]
struct Trade<'a> {
    #[serde(rename = "tradeId")]
    trade_id: &'a str,
    px: &'a str,
    sz: &'a str,
    side: &'a str,
    ts: &'a str,
}

#[derive(Deserialize)]
struct Ticker<'a> {
    #[serde(rename = "bidPx")]
    bid_px: Option<&'a str>,
    #[serde(rename = "bidSz")]
    bid_sz: Option<&'a str>,
    #[serde(rename = "askPx")]
    ask_px: Option<&'a str>,
    #[serde(rename = "askSz")]
    ask_sz: Option<&'a str>,
    ts: &'a str,
}

fn ms(s: &str) -> Result<Nanos, Bad> {
    parse_ms(s).ok_or_else(|| Bad::rule("ts is integer milliseconds", format!("{s:?}")))
}

impl VenueParser for Okx {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        let head: Head = json(msg.json, "OKX message has `event` or `arg`")?;
        match (head.event, head.arg) {
            (Some("error"), _) => Err(Bad::rule(
                "OKX events are not errors",
                head.msg.unwrap_or("").to_string(),
            )),
            (Some(_), _) => {
                sink.skipped.control_messages += 1;
                Ok(())
            }
            (None, Some(arg)) => match arg.channel {
                "books" => books(msg, arg.inst_id, sink),
                "trades" => trades(msg, arg.inst_id, sink),
                "tickers" => tickers(msg, arg.inst_id, sink),
                _ => {
                    sink.skipped.other_channels += 1;
                    Ok(())
                }
            },
            (None, None) => Err(Bad::rule("OKX message has `event` or `arg`", "")),
        }
    }
}

fn books(msg: Received<'_>, inst: &str, sink: &mut Sink) -> Result<(), Bad> {
    let d: Data<Books> = json(msg.json, "OKX books message")?;
    let is_snapshot = match d.action.as_deref() {
        Some("snapshot") => true,
        Some("update") => false,
        a => {
            return Err(Bad::rule(
                "books action is snapshot or update",
                format!("{a:?}"),
            ));
        }
    };
    let m = sink.market(inst)?;
    for b in d.data {
        let meta = RowMeta::plain(ms(b.ts)?, msg.ts_recv, is_snapshot);
        if is_snapshot {
            m.begin_snapshot(meta.ts_event);
        } else if !m.begin_update() {
            continue;
        }
        for (side, levels) in [(BookSide::Bid, &b.bids), (BookSide::Ask, &b.asks)] {
            for l in levels {
                let [px, sz, ..] = l.as_slice() else {
                    return Err(Bad::rule("books level is [px, sz, …]", format!("{l:?}")));
                };
                m.level(&meta, side, px, sz)?;
            }
        }
        if let Some(want) = b.checksum {
            m.out.stats.checksums_checked += 1;
            let got = checksum::okx(&m.book);
            if i64::from(got) != want {
                m.gap(msg.ts_recv, "checksum", format!("venue {want}, book {got}"))?;
                continue;
            }
        }
        m.commit(msg.ts_recv);
    }
    Ok(())
}

fn trades(msg: Received<'_>, inst: &str, sink: &mut Sink) -> Result<(), Bad> {
    let d: Data<Trade> = json(msg.json, "OKX trades message")?;
    let m = sink.market(inst)?;
    for t in d.data {
        m.trade(TradeRow {
            ts_event: ms(t.ts)?,
            ts_recv: msg.ts_recv,
            trade_id: t.trade_id.to_string(),
            price: parse_num(t.px, "trade px is a decimal")?,
            size: parse_num(t.sz, "trade sz is a decimal")?,
            side: taker_side(t.side)?,
        });
    }
    Ok(())
}

fn tickers(msg: Received<'_>, inst: &str, sink: &mut Sink) -> Result<(), Bad> {
    let d: Data<Ticker> = json(msg.json, "OKX tickers message")?;
    let m = sink.market(inst)?;
    let num = |s: Option<&str>| -> Result<Option<f64>, Bad> {
        s.filter(|s| !s.is_empty())
            .map(|s| parse_num(s, "ticker price or size is a decimal"))
            .transpose()
    };
    for t in d.data {
        let row = TickerRow {
            ts_event: ms(t.ts)?,
            ts_recv: msg.ts_recv,
            seq: None,
            bid_price: num(t.bid_px)?,
            bid_size: num(t.bid_sz)?,
            ask_price: num(t.ask_px)?,
            ask_size: num(t.ask_sz)?,
        };
        m.ticker(row, Some(Top::from_strs(t.bid_px, t.ask_px)?));
    }
    Ok(())
}
