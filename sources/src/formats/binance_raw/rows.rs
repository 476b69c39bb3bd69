//! Stream messages to bronze: depth diffs to [`Diff`]s for the book sync, trades and
//! bookTickers straight to rows. Each message arrives either from the fast path
//! ([`super::fast`]) or, for lines it leaves alone, from serde_json (the `parse_*` functions
//! here, whose errors name the line's problem); both feed the same row builders.

use super::fast::{DepthMsg, Level, TickerMsg, TradeMsg, decimal};
use super::markets::Kind;
use super::messages::{DepthData, Origin, TickerData, TradeData, Wrapped, event_ms, levels, ms};
use super::sync::Diff;
use crate::error::Result;
use crate::formats::context::Ctx;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookSide, TickerRow, TradeRow, TradeSide};

/// Parses a depth message with serde_json: its ids, levels in `scratch` (`None`: a bad line,
/// skipped when lenient).
pub(super) fn parse_depth(
    json: &str,
    at: Origin,
    scratch: &mut Vec<Level>,
    ctx: &mut Ctx,
) -> Result<Option<DepthMsg>> {
    let d: DepthData = match serde_json::from_str::<Wrapped<DepthData>>(json) {
        Ok(w) => w.data,
        Err(e) => {
            let rule = format!("malformed depth message: {e}");
            return ctx
                .bad_line(at.file, at.line, rule, "malformed JSON")
                .map(|()| None);
        }
    };
    scratch.clear();
    let lv =
        levels(&d.b, BookSide::Bid, scratch).and_then(|_| levels(&d.a, BookSide::Ask, scratch));
    if let Err(rule) = lv {
        return ctx
            .bad_line(at.file, at.line, rule, "bad level")
            .map(|()| None);
    }
    Ok(Some(DepthMsg {
        E: d.E,
        U: d.U,
        u: d.u,
        pu: d.pu,
    }))
}

/// True when the depth message's event time is in the accepted range; otherwise the line is
/// bad (skipped and counted when lenient: the chain break it leaves is then a gap).
pub(super) fn depth_time_ok(d: &DepthMsg, at: Origin, ctx: &mut Ctx) -> Result<bool> {
    match event_ms("depth event time E", d.E) {
        Ok(_) => Ok(true),
        Err(rule) => ctx
            .bad_line(at.file, at.line, rule, TIME_OUT_OF_RANGE)
            .map(|()| false),
    }
}

/// The report key of lines skipped for a time outside the accepted range.
pub(super) const TIME_OUT_OF_RANGE: &str = "time out of range";

/// The diff of a depth message: `prev` is `U - 1` (spot) or `pu` (futures).
pub(super) fn diff(d: &DepthMsg, at: Origin, kind: Kind) -> Diff {
    let prev = match kind {
        Kind::Spot => d.U.checked_sub(1),
        _ => d.pu,
    };
    Diff {
        ts_event: ms(d.E),
        ts_recv: at.ts_recv,
        first: d.U,
        last: d.u,
        prev,
        line: at.line,
    }
}

/// Parses and writes a trade message with serde_json.
pub(super) fn parse_trade(json: &str, at: Origin, market: &Market, ctx: &mut Ctx) -> Result<()> {
    match serde_json::from_str::<Wrapped<TradeData>>(json) {
        Ok(w) => {
            let t = &w.data;
            let msg = TradeMsg {
                T: t.T,
                t: t.t,
                p: &t.p,
                q: &t.q,
                m: t.m,
            };
            trade(&msg, at, market, ctx)
        }
        Err(e) => {
            let rule = format!("malformed trade message: {e}");
            ctx.bad_line(at.file, at.line, rule, "malformed JSON")
        }
    }
}

/// Writes a trade message as a trade row: `trade_id = t`, side from `m`.
pub(super) fn trade(t: &TradeMsg, at: Origin, market: &Market, ctx: &mut Ctx) -> Result<()> {
    let price = decimal(t.p).filter(|v| *v > 0.0);
    let size = decimal(t.q).filter(|v| *v > 0.0);
    let (Some(price), Some(size)) = (price, size) else {
        let rule = format!(
            "trade price {:?} / size {:?} must be positive decimals",
            t.p, t.q
        );
        return ctx.bad_line(at.file, at.line, rule, "bad trade");
    };
    let ts_event = match event_ms("trade time T", t.T) {
        Ok(ts) => ts,
        Err(rule) => return ctx.bad_line(at.file, at.line, rule, TIME_OUT_OF_RANGE),
    };
    // `m = true`: the buyer was the maker, so the seller aggressed.
    let side = if t.m { TradeSide::Sell } else { TradeSide::Buy };
    let row = TradeRow {
        ts_event,
        ts_recv: at.ts_recv,
        trade_id: t.t.to_string(),
        price,
        size,
        side,
    };
    ctx.trade((at.file, at.line), market, row)
}

/// Parses and writes a bookTicker message with serde_json.
pub(super) fn parse_ticker(
    json: &str,
    at: Origin,
    kind: Kind,
    market: &Market,
    ctx: &mut Ctx,
) -> Result<()> {
    match serde_json::from_str::<Wrapped<TickerData>>(json) {
        Ok(w) => {
            let t = &w.data;
            let msg = TickerMsg {
                E: t.E,
                u: t.u,
                b: &t.b,
                B: &t.B,
                a: &t.a,
                A: &t.A,
            };
            ticker(&msg, at, kind, market, ctx)
        }
        Err(e) => {
            let rule = format!("malformed bookTicker message: {e}");
            ctx.bad_line(at.file, at.line, rule, "malformed JSON")
        }
    }
}

/// Writes a bookTicker message as a ticker row; spot bookTickers carry no event time, so
/// theirs is the receive time.
pub(super) fn ticker(
    t: &TickerMsg,
    at: Origin,
    kind: Kind,
    market: &Market,
    ctx: &mut Ctx,
) -> Result<()> {
    let vals = [decimal(t.b), decimal(t.B), decimal(t.a), decimal(t.A)];
    if vals.iter().any(Option::is_none) {
        let rule = "bookTicker price/size must be non-negative decimals".into();
        return ctx.bad_line(at.file, at.line, rule, "bad ticker");
    }
    let ts_event = match (kind, t.E) {
        (Kind::Spot, _) | (_, None) => at.ts_recv,
        (_, Some(e)) => match event_ms("bookTicker event time E", e) {
            Ok(ts) => ts,
            Err(rule) => return ctx.bad_line(at.file, at.line, rule, TIME_OUT_OF_RANGE),
        },
    };
    let row = TickerRow {
        ts_event,
        ts_recv: at.ts_recv,
        seq: Some(t.u),
        bid_price: vals[0],
        bid_size: vals[1],
        ask_price: vals[2],
        ask_size: vals[3],
    };
    ctx.w.ticker(market, row)?;
    ctx.report.market(market).tickers += 1;
    Ok(())
}
