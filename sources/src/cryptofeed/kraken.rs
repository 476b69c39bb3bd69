//! Kraken spot WS v1 (`ws.kraken.com`), exchange `kraken`. Book only: the captures read here
//! hold no other channel, and v1 `trade` messages carry no trade id; `trade`, `spread` and
//! `ohlc` messages are skipped and counted as other channels.
//!
//! Messages are arrays `[channelID, {…}, ({…},) "book-<depth>", pair]`.
//!
//! | part | rows | sync / checks | time | size |
//! |---|---|---|---|---|
//! | snapshot dict `as`/`bs` | book, `is_snapshot` | resets the book | newest level timestamp | base |
//! | update dicts `a`/`b` (one or two dicts) | book, absolute volumes (`0` deletes) | applied in order, then the book is **truncated to the subscribed depth** (dropped levels emitted as size-0 rows), then the CRC32 `c` is **verified** | newest level timestamp | base |
//!
//! Levels are `[price, volume, timestamp(, "r")]`; `r` marks a republished level (an ordinary
//! absolute update). Checksum: [`super::checksum::kraken`]. A mismatch is a gap (the book waits
//! for the next snapshot). Object messages (`systemStatus`, `subscriptionStatus`, `heartbeat`)
//! are control messages; an `error` status is an error.

use super::checksum;
use super::sink::{MarketState, RowMeta};
use super::time::parse_float_secs;
use super::{Bad, Received, Sink, VenueParser, json};
use daedalus_model::rows::BookSide;
use daedalus_model::time::Nanos;
use serde::Deserialize;

/// The Kraken parser.
#[derive(Debug, Default)]
pub struct Kraken;

#[derive(Deserialize)]
struct Event<'a> {
    event: &'a str,
    status: Option<&'a str>,
    #[serde(rename = "errorMessage")]
    error: Option<&'a str>,
}

/// One element of a data array.
#[derive(Deserialize)]
#[serde(untagged)]
enum Elem<'a> {
    /// The channel id (not needed: the pair names the market).
    Id(#[allow(dead_code)] u64),
    Name(&'a str),
    #[serde(borrow)]
    Dict(BookDict<'a>),
    /// The payload of a channel not read (`trade`, `spread`, `ohlc`: arrays).
    Other(#[allow(dead_code)] serde::de::IgnoredAny),
}

type Lvl<'a> = Vec<&'a str>;

#[derive(Deserialize)]
struct BookDict<'a> {
    #[serde(borrow, rename = "as")]
    snap_asks: Option<Vec<Lvl<'a>>>,
    #[serde(borrow, rename = "bs")]
    snap_bids: Option<Vec<Lvl<'a>>>,
    #[serde(borrow)]
    a: Option<Vec<Lvl<'a>>>,
    #[serde(borrow)]
    b: Option<Vec<Lvl<'a>>>,
    c: Option<&'a str>,
}

impl VenueParser for Kraken {
    fn on_message(&mut self, msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
        if msg.json.starts_with('{') {
            return event(msg, sink);
        }
        let elems: Vec<Elem> = json(msg.json, "Kraken data message is [id, {…}, name, pair]")?;
        let shape = || Bad::rule("Kraken data message is [id, {…}, ({…},) name, pair]", "");
        let (pair, name, dicts) = match elems.as_slice() {
            [Elem::Id(_), dicts @ .., Elem::Name(name), Elem::Name(pair)]
                if (1..=2).contains(&dicts.len()) =>
            {
                (*pair, *name, dicts)
            }
            _ => return Err(shape()),
        };
        // Other channels (`trade`: v1 trades carry no id; `spread`, `ohlc`) are not read.
        let Some(depth) = name.strip_prefix("book-") else {
            sink.skipped.other_channels += 1;
            return Ok(());
        };
        let depth: usize = depth
            .parse()
            .map_err(|_| Bad::rule("book channel is book-<depth>", name))?;
        let dicts: Vec<&BookDict> = dicts
            .iter()
            .map(|d| match d {
                Elem::Dict(d) => Ok(d),
                _ => Err(shape()),
            })
            .collect::<Result<_, _>>()?;
        let m = sink.market(pair)?;
        if dicts[0].snap_asks.is_some() || dicts[0].snap_bids.is_some() {
            snapshot(m, dicts[0], msg.ts_recv)
        } else {
            update(m, &dicts, depth, msg.ts_recv)
        }
    }
}

fn event(msg: Received<'_>, sink: &mut Sink) -> Result<(), Bad> {
    let e: Event = json(msg.json, "Kraken event message")?;
    if e.status == Some("error") || e.event == "error" {
        return Err(Bad::rule(
            "Kraken events are not errors",
            e.error.unwrap_or("").to_string(),
        ));
    }
    sink.skipped.control_messages += 1;
    Ok(())
}

/// The newest level timestamp of the levels, or `fallback`.
fn newest<'a>(levels: impl Iterator<Item = &'a Lvl<'a>>, fallback: Nanos) -> Result<Nanos, Bad> {
    let mut ts = None;
    for l in levels {
        let t = l.get(2).and_then(|s| parse_float_secs(s)).ok_or_else(|| {
            Bad::rule(
                "level is [price, volume, timestamp(, \"r\")]",
                format!("{l:?}"),
            )
        })?;
        ts = ts.max(Some(t));
    }
    Ok(ts.unwrap_or(fallback))
}

fn apply<'a>(
    m: &mut MarketState,
    meta: &RowMeta,
    side: BookSide,
    levels: &[Lvl<'a>],
) -> Result<(), Bad> {
    for l in levels {
        match l.as_slice() {
            [px, sz, _] | [px, sz, _, "r"] => m.level(meta, side, px, sz)?,
            _ => {
                return Err(Bad::rule(
                    "level is [price, volume, timestamp(, \"r\")]",
                    format!("{l:?}"),
                ));
            }
        }
    }
    Ok(())
}

fn snapshot(m: &mut MarketState, d: &BookDict<'_>, ts_recv: Nanos) -> Result<(), Bad> {
    let (asks, bids) = (
        d.snap_asks.as_deref().unwrap_or(&[]),
        d.snap_bids.as_deref().unwrap_or(&[]),
    );
    let meta = RowMeta::plain(newest(asks.iter().chain(bids), ts_recv)?, ts_recv, true);
    m.begin_snapshot(meta.ts_event);
    apply(m, &meta, BookSide::Bid, bids)?;
    apply(m, &meta, BookSide::Ask, asks)?;
    m.commit(ts_recv);
    Ok(())
}

fn update(
    m: &mut MarketState,
    dicts: &[&BookDict<'_>],
    depth: usize,
    ts_recv: Nanos,
) -> Result<(), Bad> {
    let lists = || {
        dicts
            .iter()
            .flat_map(|d| [(BookSide::Ask, &d.a), (BookSide::Bid, &d.b)])
            .filter_map(|(s, l)| l.as_deref().map(|l| (s, l)))
    };
    let ts_event = newest(lists().flat_map(|(_, l)| l.iter()), ts_recv)?;
    let meta = RowMeta::plain(ts_event, ts_recv, false);
    if !m.begin_update() {
        return Ok(());
    }
    for (side, levels) in lists() {
        apply(m, &meta, side, levels)?;
    }
    m.truncate(&meta, depth)?;
    if let Some(c) = dicts.iter().find_map(|d| d.c) {
        let want: u32 = c
            .parse()
            .map_err(|_| Bad::rule("checksum `c` is an unsigned 32-bit decimal", c))?;
        m.out.stats.checksums_checked += 1;
        let got = checksum::kraken(&m.book);
        if got != want {
            return m.gap(ts_recv, "checksum", format!("venue {want}, book {got}"));
        }
    }
    m.commit(ts_recv);
    Ok(())
}
