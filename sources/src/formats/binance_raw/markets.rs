//! Which market a Binance stream belongs to: the market kind from the stream name and the
//! canonical id from the venue symbol.

use crate::formats::fields::split_quote;
use daedalus_model::market::Market;
use std::borrow::Cow;

/// Binance market kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::formats) enum Kind {
    /// Spot (`binance`).
    Spot,
    /// USD-M futures (`binance-futures`).
    UsdM,
    /// COIN-M futures (`binance-delivery`).
    CoinM,
}

/// Whether `sym` ends with `_PERP`, any case (no upper-cased copy: this runs for every trade
/// and bookTicker line).
fn is_coin_m(sym: &str) -> bool {
    let b = sym.as_bytes();
    b.len() >= 5 && b[b.len() - 5..].eq_ignore_ascii_case(b"_PERP")
}

impl Kind {
    /// The futures kind of symbol `sym`: COIN-M for `*_PERP`, else USD-M.
    pub(super) fn futures(sym: &str) -> Kind {
        if is_coin_m(sym) {
            Kind::CoinM
        } else {
            Kind::UsdM
        }
    }
}

/// `(base, quote)` of `s`, the upper-cased form of venue symbol `raw`.
fn split<'s>(raw: &str, s: &'s str) -> Result<(&'s str, &'s str), String> {
    split_quote(s).ok_or_else(|| format!("cannot split symbol {raw:?} into base and quote"))
}

/// The canonical market of venue symbol `raw` of `kind` (CONTRACT §1).
pub(in crate::formats) fn canonical(kind: Kind, raw: &str) -> Result<Market, String> {
    let up = raw.to_ascii_uppercase();
    let (exchange, symbol) = match kind {
        Kind::Spot => {
            let (b, q) = split(raw, &up)?;
            ("binance", format!("{b}-{q}"))
        }
        Kind::UsdM => {
            let (b, q) = split(raw, &up)?;
            ("binance-futures", format!("{b}-{q}-PERP"))
        }
        Kind::CoinM => {
            let pair = up
                .strip_suffix("_PERP")
                .ok_or_else(|| format!("COIN-M symbol {raw:?} is not a perpetual (_PERP)"))?;
            let (b, q) = split(raw, pair)?;
            ("binance-delivery", format!("{b}-{q}-PERP"))
        }
    };
    Market::new(exchange, &symbol).map_err(|e| e.to_string())
}

/// `(kind, venue symbol, "depth" | "trade" | "bookTicker")` of a stream name, `None` for streams
/// not ingested.
pub(super) fn kind_of(stream: &str) -> Option<(Kind, &str, &str)> {
    let (sym, rest) = stream.split_once('@')?;
    match rest {
        "depth@100ms" | "depth" | "depth@1000ms" => Some((Kind::Spot, sym, "depth")),
        "depth@0ms" | "depth@250ms" | "depth@500ms" => Some((Kind::futures(sym), sym, "depth")),
        "trade" | "bookTicker" => {
            // Spot and futures share these names: the kind comes from the depth stream or the
            // symbol; a plain `btcusdt` trade stream with no depth context is spot.
            let kind = if is_coin_m(sym) {
                Kind::CoinM
            } else {
                Kind::Spot
            };
            Some((kind, sym, rest))
        }
        _ => None,
    }
}

/// The `stream` of a line the fast path did not read (`None`: no `stream`): the compact form
/// `{"stream":"..."` as recorded (so a line cut short still names its stream and gets the
/// message's own parse error), else whatever serde_json finds in a valid JSON object.
pub(super) fn stream_of(json: &str) -> Option<Cow<'_, str>> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        stream: Option<Cow<'a, str>>,
    }
    let compact = json
        .strip_prefix("{\"stream\":\"")
        .and_then(|r| r.split_once('"'))
        .map(|(s, _)| Cow::Borrowed(s));
    compact.or_else(|| serde_json::from_str::<Head>(json).ok()?.stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_map_to_canonical_ids() {
        assert_eq!(
            canonical(Kind::Spot, "btcusdt").unwrap().to_string(),
            "binance/BTC-USDT"
        );
        assert_eq!(
            canonical(Kind::UsdM, "ethusdt").unwrap().to_string(),
            "binance-futures/ETH-USDT-PERP"
        );
        assert_eq!(
            canonical(Kind::CoinM, "btcusd_perp").unwrap().to_string(),
            "binance-delivery/BTC-USD-PERP"
        );
        assert!(canonical(Kind::CoinM, "btcusd_240927").is_err());
        assert_eq!(kind_of("btcusdt@depth@100ms").unwrap().0, Kind::Spot);
        assert_eq!(kind_of("btcusdt@depth@0ms").unwrap().0, Kind::UsdM);
        assert_eq!(kind_of("btcusd_perp@depth@0ms").unwrap().0, Kind::CoinM);
        assert!(kind_of("btcusdt@kline_1m").is_none());
    }
}
