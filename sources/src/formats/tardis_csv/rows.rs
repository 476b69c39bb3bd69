//! One Tardis CSV row to a bronze row. Rules broken are returned as text for the caller to
//! report with the file and line (the header has checked that every column named here exists).

use super::header::{Dataset, Header};
use super::symbols::canonical_symbol;
use crate::formats::fields::parse_decimal;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_model::time::{Nanos, check_time};

/// A parsed row.
pub(super) enum Row {
    Book(BookRow),
    Trade(TradeRow),
    Ticker(TickerRow),
    /// A `book_snapshot_N` row: its levels, turned into level changes by the caller.
    Snapshot(Snapshot),
    /// The book rows of one snapshot: the whole book or the changes from the previous one.
    Levels(Vec<BookRow>),
}

/// The top-N book of one `book_snapshot_N` row.
pub(super) struct Snapshot {
    pub(super) ts_event: Nanos,
    pub(super) ts_recv: Nanos,
    /// `(price, size)`, best first.
    pub(super) bids: Vec<(f64, f64)>,
    /// `(price, size)`, best first.
    pub(super) asks: Vec<(f64, f64)>,
}

/// The row's market and `(ts_event, ts_recv)` (µs → ns).
pub(super) fn market_and_times(h: &Header, f: &[&str]) -> Result<(Market, Nanos, Nanos), String> {
    if f.len() != h.names.len() {
        return Err(format!("{} fields, header has {}", f.len(), h.names.len()));
    }
    let exchange = f[h.exchange];
    let symbol = canonical_symbol(exchange, f[h.symbol]).ok_or_else(|| {
        format!(
            "cannot map symbol {:?} of exchange {exchange:?} to a canonical id",
            f[h.symbol]
        )
    })?;
    let market = Market::new(exchange, &symbol).map_err(|e| e.to_string())?;
    // Issue 16: a time outside the accepted range is bad input, never clamped.
    let us = |i: usize| {
        let name = h.names[i].as_str();
        let v = (f[i].parse::<i64>())
            .map_err(|_| format!("{name} {:?} is not an integer µs timestamp", f[i]))?;
        let ts = v.checked_mul(1000).ok_or_else(|| {
            format!("{name} {v} µs is outside the accepted range 2009-01-01..2100-01-01")
        })?;
        check_time(name, ts).map(|()| ts)
    };
    Ok((market, us(h.timestamp)?, us(h.local_timestamp)?))
}

/// The row of the header's dataset, with its times.
pub(super) fn row(h: &Header, f: &[&str], ts_event: Nanos, ts_recv: Nanos) -> Result<Row, String> {
    let r = Fields { h, f };
    Ok(match h.dataset {
        Dataset::Book => Row::Book(BookRow {
            ts_event,
            ts_recv,
            seq: None,
            prev_seq: None,
            is_snapshot: r.is_snapshot()?,
            side: BookSide::parse(r.get("side")?).ok_or("side must be bid or ask")?,
            price: r.num("price", true)?,
            size: r.num("amount", false)?,
        }),
        Dataset::Trades => Row::Trade(TradeRow {
            ts_event,
            ts_recv,
            side: TradeSide::parse(r.get("side")?).ok_or("side must be buy, sell or unknown")?,
            trade_id: r.get("id")?.to_string(),
            price: r.num("price", true)?,
            size: r.num("amount", true)?,
        }),
        Dataset::Snapshot(_) => Row::Snapshot(snapshot(h, f, ts_event, ts_recv)?),
        Dataset::Quotes => Row::Ticker(TickerRow {
            ts_event,
            ts_recv,
            seq: None,
            bid_price: r.opt("bid_price")?,
            bid_size: r.opt("bid_amount")?,
            ask_price: r.opt("ask_price")?,
            ask_size: r.opt("ask_amount")?,
        }),
    })
}

/// The levels of a `book_snapshot_N` row. A level Tardis leaves empty (a book shallower than N)
/// is absent; a price without an amount, or a level that is not positive, breaks the row.
fn snapshot(h: &Header, f: &[&str], ts_event: Nanos, ts_recv: Nanos) -> Result<Snapshot, String> {
    let mut s = Snapshot {
        ts_event,
        ts_recv,
        bids: Vec::with_capacity(h.levels.len()),
        asks: Vec::with_capacity(h.levels.len()),
    };
    for &[ap, aq, bp, bq] in &h.levels {
        if let Some(l) = level(h, f, ap, aq)? {
            s.asks.push(l);
        }
        if let Some(l) = level(h, f, bp, bq)? {
            s.bids.push(l);
        }
    }
    Ok(s)
}

fn level(
    h: &Header,
    f: &[&str],
    price: usize,
    amount: usize,
) -> Result<Option<(f64, f64)>, String> {
    if f[price].is_empty() && f[amount].is_empty() {
        return Ok(None);
    }
    let pos = |i: usize| {
        parse_decimal(f[i])
            .filter(|x| *x > 0.0)
            .ok_or_else(|| format!("{} {:?} must be a positive decimal", h.names[i], f[i]))
    };
    Ok(Some((pos(price)?, pos(amount)?)))
}

/// The fields of one row, by column name.
struct Fields<'a> {
    h: &'a Header,
    f: &'a [&'a str],
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Result<&'a str, String> {
        let i = self
            .h
            .col(name)
            .ok_or_else(|| format!("missing column `{name}`"))?;
        Ok(self.f[i])
    }

    fn is_snapshot(&self) -> Result<bool, String> {
        match self.get("is_snapshot")? {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("is_snapshot {other:?} must be true or false")),
        }
    }

    /// A decimal, positive or non-negative.
    fn num(&self, name: &str, positive: bool) -> Result<f64, String> {
        let v = self.get(name)?;
        parse_decimal(v)
            .filter(|x| !positive || *x > 0.0)
            .ok_or_else(|| {
                format!(
                    "{name} {v:?} must be a {} decimal",
                    if positive { "positive" } else { "non-negative" }
                )
            })
    }

    /// A non-negative decimal, or null when empty.
    fn opt(&self, name: &str) -> Result<Option<f64>, String> {
        let v = self.get(name)?;
        if v.is_empty() {
            return Ok(None);
        }
        parse_decimal(v)
            .map(Some)
            .ok_or_else(|| format!("{name} {v:?} must be a non-negative decimal"))
    }
}
