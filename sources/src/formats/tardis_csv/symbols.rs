//! Tardis `(exchange, symbol)` to the canonical symbol of CONTRACT §1.

use crate::formats::fields::split_quote;
use daedalus_model::time::Date;

/// Maps a Tardis `(exchange, symbol)` to the canonical symbol of CONTRACT §1.
///
/// | exchange | raw | canonical |
/// |---|---|---|
/// | `binance`, `binance-us`, `coinbase`, `okex`, `kraken`, `bitstamp` (spot) | `BTCUSDT`, `BTC-USD`, `XBT/USD` | `BTC-USDT`, `BTC-USD` |
/// | `binance-futures` | `BTCUSDT` | `BTC-USDT-PERP` |
/// | `binance-delivery` | `BTCUSD_PERP` | `BTC-USD-PERP` |
/// | `bitmex` | `XBTUSD`, `XBT/USD`, `ETHUSDT`, `XRPU21` | `BTC-USD-PERP`, `BTC-USD-PERP`, `ETH-USDT-PERP`, `XRP-BTC-210924` (§10.4) |
/// | `deribit` | `BTC-PERPETUAL` | `BTC-USD-PERP` |
/// | `huobi-dm-swap`, `okex-swap` | `BTC-USD`, `BTC-USDT-SWAP` | `BTC-USD-PERP`, `BTC-USDT-PERP` |
/// | `bybit` | `BTCUSD`, `BTCUSDT` | `BTC-USD-PERP`, `BTC-USDT-PERP` |
pub(super) fn canonical_symbol(exchange: &str, raw: &str) -> Option<String> {
    let up = raw.to_ascii_uppercase().replace('/', "-");
    let fix = |s: &str| {
        if s == "XBT" {
            "BTC".to_string()
        } else {
            s.to_string()
        }
    };
    let split = |s: &str| -> Option<(String, String)> {
        if let Some((b, q)) = s.split_once('-') {
            return Some((fix(b), fix(q)));
        }
        split_quote(s).map(|(b, q)| (fix(b), fix(q)))
    };
    let out = match exchange {
        "binance" | "binance-us" | "coinbase" | "okex" | "kraken" | "bitstamp" | "bitfinex"
        | "gemini" => {
            let (b, q) = split(&up)?;
            format!("{b}-{q}")
        }
        "bitmex" => bitmex(&raw.to_ascii_uppercase())?,
        "binance-futures" | "bybit" => {
            let (b, q) = split(&up)?;
            format!("{b}-{q}-PERP")
        }
        "binance-delivery" => {
            let (b, q) = split(up.strip_suffix("_PERP")?)?;
            format!("{b}-{q}-PERP")
        }
        "deribit" => {
            let base = up.strip_suffix("-PERPETUAL")?;
            format!("{}-USD-PERP", fix(base))
        }
        "huobi-dm-swap" | "okex-swap" => {
            let s = up.strip_suffix("-SWAP").unwrap_or(&up);
            let (b, q) = split(s)?;
            format!("{b}-{q}-PERP")
        }
        _ => return None,
    };
    Some(out)
}

/// An upper-case alphanumeric asset code, `XBT` read as `BTC` (CONTRACT §10.4).
fn asset(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    ok.then_some(if s == "XBT" { "BTC" } else { s })
}

/// BitMEX (CONTRACT §10.4; the rules of `cryptofeed::symbols`, for Tardis names): a month-code
/// future `<BASE><F..Z><YY>` expires on the last Friday of that month and quotes in its
/// settlement currency (`BTC`; `USD` for `XBT` itself); a perpetual is `<BASE><USD|USDT>`, or
/// the pair written `<BASE>/<USD|USDT>` (`XBT/USD` is the XBTUSD perpetual). Anything else is
/// unmapped (an error naming it), never a guessed id such as `XBT--USD-PERP`.
fn bitmex(up: &str) -> Option<String> {
    if let Some((base, date)) = month_future(up).and_then(|(b, d)| Some((asset(b)?, d))) {
        let quote = if base == "BTC" { "USD" } else { "BTC" };
        return Some(format!("{base}-{quote}-{date}"));
    }
    let (b, q) = match up.split_once('/') {
        Some((b, q)) => (b, q),
        None => ["USDT", "USD"]
            .iter()
            .find_map(|q| up.strip_suffix(q).map(|b| (b, *q)))?,
    };
    (q == "USD" || q == "USDT").then_some(())?;
    Some(format!("{}-{q}-PERP", asset(b)?))
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
    let next = if month == 12 {
        Date {
            year: year + 1,
            month: 1,
            day: 1,
        }
    } else {
        Date {
            year,
            month: month + 1,
            day: 1,
        }
    };
    let last = next.days_since_epoch() - 1;
    // 1970-01-01 was a Thursday: weekday (0 = Monday) is (days + 3) mod 7; Friday is 4.
    let d = Date::from_days(last - (last + 3 - 4).rem_euclid(7));
    Some((
        prefix,
        format!("{:02}{:02}{:02}", d.year % 100, d.month, d.day),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tardis_symbols_map() {
        assert_eq!(
            canonical_symbol("binance-futures", "BTCUSDT").as_deref(),
            Some("BTC-USDT-PERP")
        );
        assert_eq!(
            canonical_symbol("bitmex", "XBTUSD").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("deribit", "BTC-PERPETUAL").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("huobi-dm-swap", "BTC-USD").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("binance", "BTCUSDT").as_deref(),
            Some("BTC-USDT")
        );
        assert_eq!(
            canonical_symbol("coinbase", "BTC-USD").as_deref(),
            Some("BTC-USD")
        );
        assert_eq!(canonical_symbol("nowhere", "BTCUSDT"), None);
    }

    /// Issue 16: BitMEX names per CONTRACT §10.4; nothing unmapped becomes a guessed id.
    #[test]
    fn bitmex_symbols_map_or_are_refused() {
        for (raw, want) in [
            ("XBTUSD", Some("BTC-USD-PERP")),
            ("XBT/USD", Some("BTC-USD-PERP")),
            ("xbt/usd", Some("BTC-USD-PERP")),
            ("ETHUSDT", Some("ETH-USDT-PERP")),
            ("ETH/USDT", Some("ETH-USDT-PERP")),
            ("XRPU21", Some("XRP-BTC-210924")),
            ("XBTZ24", Some("BTC-USD-241227")),
            ("XBT/EUR", None),
            ("XBT//USD", None),
            ("/USD", None),
            ("USD", None),
            ("XBT_USDT", None),
        ] {
            assert_eq!(canonical_symbol("bitmex", raw).as_deref(), want, "{raw}");
        }
    }
}
