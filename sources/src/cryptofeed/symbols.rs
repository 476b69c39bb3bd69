//! Canonical market ids of cryptofeed venues (CONTRACT §10.4).
//!
//! | venue | venue symbol | exchange | symbol |
//! |---|---|---|---|
//! | Coinbase | `SKL-USD` | `coinbase` | `SKL-USD` |
//! | Kraken | `XBT/CHF` | `kraken` | `BTC-CHF` |
//! | OKX | `BTC-USDT`, `UNI-USD-SWAP`, `BTC-USD-220527` | `okex`, `okex-swap`, `okex-futures` | `BTC-USDT`, `UNI-USD-PERP`, `BTC-USD-220527` |
//! | BitMEX | `XBTUSD`, `UNIUSDT`, `XRPU21` | `bitmex` | `BTC-USD-PERP`, `UNI-USDT-PERP`, `XRP-BTC-210924` |
//! | Bybit (inverse) | `BTCUSD`, `BTCUSDM21` | `bybit` | `BTC-USD-PERP`, `BTC-USD-210625` |
//! | Bequant | `BTCTUSD` | `bequant` | `BTC-TUSD` |
//!
//! `XBT` is `BTC`. Month-code futures (`F G H J K M N Q U V X Z` + two-digit year) expire on the
//! last Friday of the month; BitMEX ones quote in their settlement currency (`BTC`, or `USD` for
//! an `XBT` base). Anything else is [`Bad::Symbol`], never a guess.

use super::{Bad, Venue};
use daedalus_model::market::Market;
use daedalus_model::time::Date;

/// The canonical market of a venue symbol.
pub fn canonical(venue: Venue, raw: &str) -> Result<Market, Bad> {
    let unknown = || Bad::Symbol(raw.to_string());
    let (exchange, symbol) = match venue {
        Venue::Coinbase => ("coinbase", split_pair(raw, '-').ok_or_else(unknown)?),
        Venue::Kraken => ("kraken", split_pair(raw, '/').ok_or_else(unknown)?),
        Venue::Okx => okx(raw).ok_or_else(unknown)?,
        Venue::Bitmex => ("bitmex", bitmex(raw).ok_or_else(unknown)?),
        Venue::Bybit => ("bybit", bybit(raw).ok_or_else(unknown)?),
        Venue::Bequant => ("bequant", bequant(raw).ok_or_else(unknown)?),
    };
    Market::new(exchange, &symbol).map_err(|_| unknown())
}

/// An upper-case alphanumeric asset code, `XBT` read as `BTC`.
fn asset(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    ok.then_some(if s == "XBT" { "BTC" } else { s })
}

fn split_pair(raw: &str, sep: char) -> Option<String> {
    let (b, q) = raw.split_once(sep)?;
    Some(format!("{}-{}", asset(b)?, asset(q)?))
}

fn okx(raw: &str) -> Option<(&'static str, String)> {
    let parts: Vec<&str> = raw.split('-').collect();
    match parts.as_slice() {
        [b, q] => Some(("okex", format!("{}-{}", asset(b)?, asset(q)?))),
        [b, q, "SWAP"] => Some(("okex-swap", format!("{}-{}-PERP", asset(b)?, asset(q)?))),
        [b, q, d] if d.len() == 6 && d.bytes().all(|c| c.is_ascii_digit()) => {
            Some(("okex-futures", format!("{}-{}-{d}", asset(b)?, asset(q)?)))
        }
        _ => None,
    }
}

/// `<prefix><month code><YY>` → (prefix, `YYMMDD` of the last Friday of that month).
fn month_future(raw: &str) -> Option<(&str, String)> {
    let n = raw.len();
    if n < 4 || !raw.is_ascii() {
        return None;
    }
    let (prefix, code, yy) = (&raw[..n - 3], raw.as_bytes()[n - 3], &raw[n - 2..]);
    let month = b"FGHJKMNQUVXZ".iter().position(|&c| c == code)? as u32 + 1;
    if !yy.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = 2000 + yy.parse::<i32>().ok()?;
    Some((prefix, last_friday(year, month)))
}

/// `YYMMDD` of the last Friday of a month.
fn last_friday(year: i32, month: u32) -> String {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let last = Date {
        year: ny,
        month: nm,
        day: 1,
    }
    .days_since_epoch()
        - 1;
    // 1970-01-01 was a Thursday: weekday (0 = Monday) is (days + 3) mod 7; Friday is 4.
    let back = (last + 3 - 4).rem_euclid(7);
    let d = Date::from_days(last - back);
    format!("{:02}{:02}{:02}", d.year % 100, d.month, d.day)
}

/// Splits `<BASE><QUOTE>` for the given quotes (longest listed first).
fn split_suffix<'a>(raw: &'a str, quotes: &[&'static str]) -> Option<(&'a str, &'static str)> {
    quotes.iter().find_map(|q| {
        raw.strip_suffix(q)
            .filter(|b| !b.is_empty())
            .and_then(asset)
            .map(|b| (b, *q))
    })
}

fn bitmex(raw: &str) -> Option<String> {
    if let Some((base, date)) = month_future(raw) {
        let base = asset(base)?;
        let quote = if base == "BTC" { "USD" } else { "BTC" };
        return Some(format!("{base}-{quote}-{date}"));
    }
    let (b, q) = split_suffix(raw, &["USDT", "USD"])?;
    Some(format!("{b}-{q}-PERP"))
}

fn bybit(raw: &str) -> Option<String> {
    if let Some((pair, date)) = month_future(raw) {
        let (b, q) = split_suffix(pair, &["USD"])?;
        return Some(format!("{b}-{q}-{date}"));
    }
    let (b, q) = split_suffix(raw, &["USDT", "USD"])?;
    Some(format!("{b}-{q}-PERP"))
}

fn bequant(raw: &str) -> Option<String> {
    const QUOTES: [&str; 12] = [
        "USDB", "TUSD", "GUSD", "EURS", "USDT", "USDC", "PAX", "DAI", "USD", "EUR", "BTC", "ETH",
    ];
    let (b, q) = split_suffix(raw, &QUOTES)?;
    Some(format!("{b}-{q}"))
}
