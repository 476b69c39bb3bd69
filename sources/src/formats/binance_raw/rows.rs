//! Stream messages to bronze: depth diffs to [`Diff`]s for the book sync, trades and
//! bookTickers straight to rows.

use super::markets::Kind;
use super::messages::{DepthData, Origin, TickerData, TradeData, Wrapped, levels, ms};
use super::sync::Diff;
use crate::error::Result;
use crate::formats::context::Ctx;
use crate::formats::fields::parse_decimal;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookSide, TickerRow, TradeRow, TradeSide};

/// Parses a depth message into a diff (`None`: a bad line, skipped when lenient). `scratch`
/// holds the levels while they are checked.
pub(super) fn diff(
    json: &str,
    at: Origin,
    kind: Kind,
    scratch: &mut Vec<(BookSide, f64, f64)>,
    ctx: &mut Ctx,
) -> Result<Option<Diff>> {
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
    let prev = match kind {
        Kind::Spot => d.U.checked_sub(1),
        _ => d.pu,
    };
    Ok(Some(Diff {
        ts_event: ms(d.E),
        ts_recv: at.ts_recv,
        first: d.U,
        last: d.u,
        prev,
        levels: scratch.clone(),
        file: at.file.into(),
        line: at.line,
    }))
}

/// Writes a trade message as a trade row: `trade_id = t`, side from `m`.
pub(super) fn trade(json: &str, at: Origin, market: &Market, ctx: &mut Ctx) -> Result<()> {
    let t: TradeData = match serde_json::from_str::<Wrapped<TradeData>>(json) {
        Ok(w) => w.data,
        Err(e) => {
            let rule = format!("malformed trade message: {e}");
            return ctx.bad_line(at.file, at.line, rule, "malformed JSON");
        }
    };
    let price = parse_decimal(&t.p).filter(|v| *v > 0.0);
    let size = parse_decimal(&t.q).filter(|v| *v > 0.0);
    let (Some(price), Some(size)) = (price, size) else {
        let rule = format!(
            "trade price {:?} / size {:?} must be positive decimals",
            t.p, t.q
        );
        return ctx.bad_line(at.file, at.line, rule, "bad trade");
    };
    // `m = true`: the buyer was the maker, so the seller aggressed.
    let side = if t.m { TradeSide::Sell } else { TradeSide::Buy };
    let row = TradeRow {
        ts_event: ms(t.T),
        ts_recv: at.ts_recv,
        trade_id: t.t.to_string(),
        price,
        size,
        side,
    };
    ctx.w.trade(market, row)?;
    ctx.report.market(market).trades += 1;
    Ok(())
}

/// Writes a bookTicker message as a ticker row; spot bookTickers carry no event time, so
/// theirs is the receive time.
pub(super) fn ticker(
    json: &str,
    at: Origin,
    kind: Kind,
    market: &Market,
    ctx: &mut Ctx,
) -> Result<()> {
    let t: TickerData = match serde_json::from_str::<Wrapped<TickerData>>(json) {
        Ok(w) => w.data,
        Err(e) => {
            let rule = format!("malformed bookTicker message: {e}");
            return ctx.bad_line(at.file, at.line, rule, "malformed JSON");
        }
    };
    let vals = [
        parse_decimal(&t.b),
        parse_decimal(&t.B),
        parse_decimal(&t.a),
        parse_decimal(&t.A),
    ];
    if vals.iter().any(Option::is_none) {
        let rule = "bookTicker price/size must be non-negative decimals".into();
        return ctx.bad_line(at.file, at.line, rule, "bad ticker");
    }
    let ts_event = match kind {
        Kind::Spot => at.ts_recv,
        _ => t.E.map(ms).unwrap_or(at.ts_recv),
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
