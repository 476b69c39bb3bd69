//! Field parsing shared by the formats: decimals and venue symbols.

/// Splits a venue symbol like `BTCUSDT` into `(base, quote)` by known quote assets.
pub(super) fn split_quote(raw: &str) -> Option<(&str, &str)> {
    const QUOTES: [&str; 14] = [
        "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "USD", "EUR", "TRY", "BTC", "ETH",
        "BNB", "GBP",
    ];
    QUOTES.iter().find_map(|q| {
        raw.strip_suffix(q)
            .filter(|b| !b.is_empty())
            .map(|b| (b, *q))
    })
}

/// Parses a decimal string as a correctly rounded, finite, non-negative double.
pub(super) fn parse_decimal(s: &str) -> Option<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && !s.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_split_and_decimals_parse() {
        assert_eq!(split_quote("BTCUSDT"), Some(("BTC", "USDT")));
        assert_eq!(split_quote("ETHBTC"), Some(("ETH", "BTC")));
        assert_eq!(split_quote("BTCFDUSD"), Some(("BTC", "FDUSD")));
        assert_eq!(split_quote("USDT"), None);
        assert_eq!(parse_decimal("61837.63000000"), Some(61837.63));
        assert_eq!(parse_decimal("-1"), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("NaN"), None);
    }
}
