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
    pub fn symbol_norm(&self, fold: &QuoteFold) -> String {
        symbol_norm(&self.symbol, fold)
    }
}

impl std::fmt::Display for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.exchange, self.symbol)
    }
}

/// How quote currencies fold for `symbol_norm` and symbol filters (CONTRACT §3, §10.5): an alias
/// table `quote → quote`, applied to the quote segment (the second `-`-separated part) of a
/// canonical symbol. Empty: no folding (`normalize_quotes` off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuoteFold {
    aliases: std::collections::BTreeMap<String, String>,
}

impl QuoteFold {
    /// The table of `--normalize-quotes` without `--quote-alias`: `USDT=USD`, `USDC=USD`.
    pub fn default_pair() -> Self {
        let aliases = [("USDT", "USD"), ("USDC", "USD")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
        QuoteFold { aliases }
    }

    /// A table from `alias → code` pairs: codes are upper-case ASCII letters and digits, an alias
    /// maps to another code, and no code is both an alias and a target (no chains or cycles:
    /// `A=B` with `B=C`). The error names the pair and the rule.
    pub fn new(aliases: &std::collections::BTreeMap<String, String>) -> Result<Self, String> {
        let code = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        for (a, b) in aliases {
            if !code(a) || !code(b) {
                return Err(format!(
                    "quote alias {a}={b}: codes are upper-case ASCII letters and digits"
                ));
            }
            if a == b {
                return Err(format!(
                    "quote alias {a}={b}: an alias must map to another code"
                ));
            }
            if let Some(c) = aliases.get(b) {
                return Err(format!(
                    "quote alias {a}={b}: {b} is itself an alias ({b}={c}); chains and cycles are refused, map {a} to the final code"
                ));
            }
        }
        Ok(QuoteFold {
            aliases: aliases.clone(),
        })
    }

    /// The code `quote` folds to (itself when it is no alias).
    pub fn fold<'a>(&'a self, quote: &'a str) -> &'a str {
        self.aliases.get(quote).map_or(quote, String::as_str)
    }

    /// Whether the table folds nothing.
    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
    }
}

/// The quote-normalised symbol of CONTRACT §3: the quote segment (the second `-`-separated
/// part) folded by `fold` (`BTC-USDT-PERP` → `BTC-USD-PERP` with the default pair); with an
/// empty table, the symbol itself.
pub fn symbol_norm(symbol: &str, fold: &QuoteFold) -> String {
    if fold.is_empty() {
        return symbol.to_string();
    }
    let mut parts: Vec<&str> = symbol.split('-').collect();
    if parts.len() >= 2 {
        parts[1] = fold.fold(parts[1]);
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
        let d = QuoteFold::default_pair();
        assert_eq!(symbol_norm("BTC-USDT", &d), "BTC-USD");
        assert_eq!(symbol_norm("BTC-USDC", &d), "BTC-USD");
        assert_eq!(symbol_norm("BTC-USDT-PERP", &d), "BTC-USD-PERP");
        assert_eq!(symbol_norm("BTC-USD-PERP", &d), "BTC-USD-PERP");
        assert_eq!(symbol_norm("ETH-BTC", &d), "ETH-BTC");
        assert_eq!(symbol_norm("BTC-TUSD", &d), "BTC-TUSD");
        assert_eq!(symbol_norm("BTC-USDT", &QuoteFold::default()), "BTC-USDT");
        let m = |pairs: &[(&str, &str)]| {
            let t = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            QuoteFold::new(&t)
        };
        let tusd = m(&[("TUSD", "USD"), ("PAX", "USD")]).unwrap();
        assert_eq!(symbol_norm("BTC-TUSD", &tusd), "BTC-USD");
        assert_eq!(symbol_norm("BTC-USDT", &tusd), "BTC-USDT");
        assert!(m(&[("USDT", "USDT")]).unwrap_err().contains("another code"));
        assert!(
            m(&[("A", "B"), ("B", "C")])
                .unwrap_err()
                .contains("chains and cycles")
        );
        assert!(
            m(&[("A", "B"), ("B", "A")])
                .unwrap_err()
                .contains("chains and cycles")
        );
        assert!(m(&[("usdt", "USD")]).unwrap_err().contains("upper-case"));
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
