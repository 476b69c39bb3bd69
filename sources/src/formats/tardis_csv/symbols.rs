//! Tardis `(exchange, symbol)` to the canonical symbol of CONTRACT §1.

use crate::formats::fields::split_quote;

/// Maps a Tardis `(exchange, symbol)` to the canonical symbol of CONTRACT §1.
///
/// | exchange | raw | canonical |
/// |---|---|---|
/// | `binance`, `binance-us`, `coinbase`, `okex`, `kraken`, `bitstamp` (spot) | `BTCUSDT`, `BTC-USD`, `XBT/USD` | `BTC-USDT`, `BTC-USD` |
/// | `binance-futures` | `BTCUSDT` | `BTC-USDT-PERP` |
/// | `binance-delivery` | `BTCUSD_PERP` | `BTC-USD-PERP` |
/// | `bitmex` | `XBTUSD`, `ETHUSD` | `BTC-USD-PERP`, `ETH-USD-PERP` |
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
        "bitmex" => {
            // BitMEX quotes only USD or USDT; a generic split would read XBTUSD as XB/TUSD.
            let (b, q) = up
                .strip_suffix("USDT")
                .map(|b| (b, "USDT"))
                .or_else(|| up.strip_suffix("USD").map(|b| (b, "USD")))?;
            format!("{}-{q}-PERP", fix(b))
        }
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
}
