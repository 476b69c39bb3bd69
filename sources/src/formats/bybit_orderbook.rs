//! Bybit historical order book files (`<date>_<SYMBOL>_ob500.data`, or the `.zip` Bybit serves
//! them in) to bronze.
//!
//! **Lines** are JSON messages `{topic: "orderbook.<depth>.<SYMBOL>", type: "snapshot" |
//! "delta", ts, cts, data: {s, b, a, u, seq}}`; levels `[price, size]` carry absolute sizes,
//! size `0` deletes. **Sync**: a `snapshot` (re)starts the book (`u = 1` after a venue restart
//! is a snapshot too); each `delta` must carry `u = previous u + 1`. Deltas before the first
//! snapshot cannot be applied: dropped and counted as unsynced. A break is a gap: an error
//! naming file, line and ids, or with `--lenient` a counted gap whose delta is kept with
//! `prev_seq` = the `u` it should have followed (the marker the book state machine detects; the
//! book is invalid until the next snapshot). Rows: `seq = u`; a delta's `prev_seq = u - 1`.
//!
//! **Times**: `ts_event` = `cts` (the matching engine's time), `ts_recv` = `ts` (when Bybit's
//! system produced the message; the archives carry no local receive time). ms → ns.
//!
//! **Ids** (CONTRACT §10.4): depth 500 is the derivatives feed (exchange `bybit`): `…USDT` and
//! `…USDC` are linear perpetuals (`XRPUSDT` → `XRP-USDT-PERP`), `…USD` inverse ones
//! (`BTCUSD` → `BTC-USD-PERP`); depth 200 is spot (exchange `bybit-spot`, `XRPUSDT` →
//! `XRP-USDT`). Anything else (dated futures, options, other depths) is an error naming it.
//! Sizes are in the base coin (linear, spot) or USD contracts (inverse).

use crate::error::Result;
use crate::formats::context::Ctx;
use crate::formats::fields::{parse_decimal, split_quote};
use crate::ingest::lines::Lines;
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide};
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
struct Message {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    ts: i64,
    cts: Option<i64>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    s: String,
    b: Vec<[String; 2]>,
    a: Vec<[String; 2]>,
    u: u64,
}

/// Each market's last applied `u` (`None`: no snapshot yet).
type Chains = BTreeMap<Market, Option<u64>>;

/// Ingests one Bybit order book file (each daily file starts with its own snapshot: no state
/// carries from one input to the next).
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<()> {
    let mut ctx = Ctx::new(w, report, opts);
    let mut lines = Lines::open(file)?;
    let mut chains = Chains::new();
    while let Some((line, text)) = lines.next_line(ctx.lenient, ctx.report)? {
        let msg = match serde_json::from_str::<Message>(text) {
            Ok(m) => m,
            Err(e) => {
                ctx.bad_line(
                    file,
                    line,
                    format!("malformed message: {e}"),
                    "bad bybit line",
                )?;
                continue;
            }
        };
        match rows_of(&msg, &mut chains) {
            Ok(Parsed::Rows(market, rows, gap)) => write(&market, rows, gap, file, line, &mut ctx)?,
            Ok(Parsed::Unsynced(market, rows)) => {
                let c = ctx.report.market(&market);
                c.unsynced_diffs += 1;
                c.unsynced_rows += rows;
            }
            Err(rule) => ctx.bad_line(file, line, rule, "bad bybit line")?,
        }
    }
    Ok(())
}

/// A break of the `u` chain: `(expected, found)`.
type Gap = Option<(u64, u64)>;

fn write(
    market: &Market,
    rows: Vec<BookRow>,
    gap: Gap,
    file: &Path,
    line: u64,
    ctx: &mut Ctx,
) -> Result<()> {
    if let Some((want, got)) = gap {
        let rule = format!(
            "{market}: u chain broken: u={got} but previous u={} (needs u == previous u + 1)",
            want.wrapping_sub(1)
        );
        ctx.bad_line(file, line, rule, "bybit u gap")?;
        ctx.report.market(market).gaps += 1;
    }
    let c = ctx.report.market(market);
    c.book_rows += rows.len() as u64;
    c.book_messages += 1;
    c.snapshots += u64::from(rows.first().is_some_and(|r| r.is_snapshot));
    for r in rows {
        ctx.w.book(market, r)?;
    }
    Ok(())
}

/// What one message gives.
enum Parsed {
    /// Its rows, and the chain break it makes.
    Rows(Market, Vec<BookRow>, Gap),
    /// A delta before any snapshot of its market: not applicable (its level count).
    Unsynced(Market, u64),
}

/// The rows of one message and whether it breaks the chain.
fn rows_of(m: &Message, chains: &mut Chains) -> std::result::Result<Parsed, String> {
    let market = market_of(&m.topic, &m.data.s)?;
    let ms = |v: i64, what: &str| {
        v.checked_mul(1_000_000)
            .ok_or_else(|| format!("{what} {v} ms is out of range"))
    };
    let ts_recv: Nanos = ms(m.ts, "ts")?;
    let ts_event: Nanos = ms(m.cts.unwrap_or(m.ts), "cts")?;
    let last = chains.entry(market.clone()).or_insert(None);
    let u = m.data.u;
    // A delta's `prev_seq` is the `u` it claims to follow (`u - 1`): after a gap it differs from
    // the previous row's `seq`, which is how the book state machine sees the gap.
    let (is_snapshot, prev_seq, gap) = match (m.kind.as_str(), *last) {
        ("snapshot", _) => (true, None, None),
        ("delta", None) => {
            let rows = m.data.b.len() + m.data.a.len();
            return Ok(Parsed::Unsynced(market, rows as u64));
        }
        ("delta", Some(prev)) => {
            let gap = (Some(prev) != u.checked_sub(1)).then_some((prev.wrapping_add(1), u));
            (false, u.checked_sub(1), gap)
        }
        (other, _) => return Err(format!("message type {other:?} must be snapshot or delta")),
    };
    *last = Some(u);
    let mut rows = Vec::with_capacity(m.data.b.len() + m.data.a.len());
    for (side, levels) in [(BookSide::Bid, &m.data.b), (BookSide::Ask, &m.data.a)] {
        for [p, q] in levels {
            let price = parse_decimal(p)
                .filter(|v| *v > 0.0)
                .ok_or_else(|| format!("price {p:?} must be a positive decimal"))?;
            let size = parse_decimal(q)
                .ok_or_else(|| format!("size {q:?} must be a non-negative decimal"))?;
            rows.push(BookRow {
                ts_event,
                ts_recv,
                seq: Some(u),
                prev_seq,
                is_snapshot,
                side,
                price,
                size,
            });
        }
    }
    Ok(Parsed::Rows(market, rows, gap))
}

/// The canonical market of a topic and symbol (see the module docs).
fn market_of(topic: &str, symbol: &str) -> std::result::Result<Market, String> {
    let unknown =
        || format!("unknown bybit order book {topic:?}: no canonical id (CONTRACT §10.4)");
    let mut parts = topic.split('.');
    let (Some("orderbook"), Some(depth), Some(sym), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unknown());
    };
    if sym != symbol {
        return Err(format!("topic {topic:?} is not of symbol {symbol:?}"));
    }
    let (base, quote) = split_quote(sym).ok_or_else(unknown)?;
    let base_ok = base
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let (exchange, symbol) = match (depth, quote) {
        ("500", "USDT" | "USDC" | "USD") if base_ok => ("bybit", format!("{base}-{quote}-PERP")),
        ("200", _) if base_ok => ("bybit-spot", format!("{base}-{quote}")),
        _ => return Err(unknown()),
    };
    Market::new(exchange, &symbol).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_map_to_canonical_ids_or_fail_naming_them() {
        let m = |t: &str, s: &str| market_of(t, s).map(|m| format!("{m}"));
        assert_eq!(
            m("orderbook.500.XRPUSDT", "XRPUSDT").unwrap(),
            "bybit/XRP-USDT-PERP"
        );
        assert_eq!(
            m("orderbook.500.BTCUSD", "BTCUSD").unwrap(),
            "bybit/BTC-USD-PERP"
        );
        assert_eq!(
            m("orderbook.200.ETHUSDC", "ETHUSDC").unwrap(),
            "bybit-spot/ETH-USDC"
        );
        let e = m("orderbook.500.BTC-27DEC24", "BTC-27DEC24").unwrap_err();
        assert!(
            e.starts_with("unknown bybit order book \"orderbook.500.BTC-27DEC24\""),
            "{e}"
        );
        assert!(m("orderbook.50.BTCUSDT", "BTCUSDT").is_err());
    }
}
