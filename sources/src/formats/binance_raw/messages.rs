//! The JSON shapes of Binance messages (borrowing from the line) and their field conversions.

use super::fast::decimal;
use daedalus_model::rows::BookSide;
use daedalus_model::time::Nanos;
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;

/// Where a message came from: file, 1-based line and receive time.
#[derive(Clone, Copy)]
pub(super) struct Origin<'f> {
    /// File.
    pub(super) file: &'f Path,
    /// 1-based line.
    pub(super) line: u64,
    /// The line's receive timestamp (ns).
    pub(super) ts_recv: Nanos,
}

/// A combined-stream message: `{"stream": .., "data": ..}`.
#[derive(Deserialize)]
pub(super) struct Wrapped<T> {
    pub(super) data: T,
}

/// A price level as sent: `[price, size]` decimal strings.
type Level<'a> = (Cow<'a, str>, Cow<'a, str>);

/// `depthUpdate`. `s` is required but unused: the market comes from the stream name.
#[derive(Deserialize)]
#[allow(non_snake_case)]
pub(super) struct DepthData<'a> {
    pub(super) E: i64,
    #[serde(borrow, rename = "s")]
    _s: Cow<'a, str>,
    pub(super) U: u64,
    pub(super) u: u64,
    pub(super) pu: Option<u64>,
    #[serde(borrow)]
    pub(super) b: Vec<Level<'a>>,
    #[serde(borrow)]
    pub(super) a: Vec<Level<'a>>,
}

/// `trade`. `s` is required but unused.
#[derive(Deserialize)]
#[allow(non_snake_case)]
pub(super) struct TradeData<'a> {
    pub(super) T: i64,
    #[serde(borrow, rename = "s")]
    _s: Cow<'a, str>,
    pub(super) t: u64,
    #[serde(borrow)]
    pub(super) p: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) q: Cow<'a, str>,
    pub(super) m: bool,
}

/// `bookTicker`. `s` is required but unused.
#[derive(Deserialize)]
#[allow(non_snake_case)]
pub(super) struct TickerData<'a> {
    pub(super) E: Option<i64>,
    pub(super) u: u64,
    #[serde(borrow, rename = "s")]
    _s: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) b: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) B: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) a: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) A: Cow<'a, str>,
}

/// The REST depth snapshot line.
#[derive(Deserialize)]
#[allow(non_snake_case)]
pub(super) struct Snapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    pub(super) last_update_id: u64,
    pub(super) E: Option<i64>,
    #[serde(borrow, default)]
    pub(super) symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) bids: Vec<Level<'a>>,
    #[serde(borrow)]
    pub(super) asks: Vec<Level<'a>>,
}

/// Milliseconds to nanoseconds.
pub(super) fn ms(v: i64) -> Nanos {
    v.saturating_mul(1_000_000)
}

/// An event time `what` in ms as ns, inside the accepted range (issue 16: never clamped).
pub(super) fn event_ms(what: &str, v: i64) -> Result<Nanos, String> {
    match v.checked_mul(1_000_000) {
        Some(ts) => daedalus_model::time::check_time(what, ts).map(|()| ts),
        None => Err(format!(
            "{what} {v} ms is outside the accepted range 2009-01-01..2100-01-01"
        )),
    }
}

/// Appends `raw` levels of `side` to `out`: prices positive, sizes non-negative decimals.
pub(super) fn levels(
    raw: &[Level<'_>],
    side: BookSide,
    out: &mut Vec<(BookSide, f64, f64)>,
) -> Result<(), String> {
    for (p, q) in raw {
        let price = decimal(p)
            .filter(|v| *v > 0.0)
            .ok_or_else(|| format!("{} price {p:?} is not a positive decimal", side.as_str()))?;
        let size = decimal(q)
            .ok_or_else(|| format!("{} size {q:?} is not a non-negative decimal", side.as_str()))?;
        out.push((side, price, size));
    }
    Ok(())
}
