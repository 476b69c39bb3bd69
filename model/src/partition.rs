//! The Hive partition layout of CONTRACT §1.
//!
//! ```text
//! <root>/<layer>/<dataset>[/<spec_key>=<spec>]/exchange=<exchange>/symbol=<symbol>/date=<YYYY-MM-DD>/<file>.parquet
//! ```
//! Every path value is validated ([`crate::market::validate_partition_value`]), so a path built
//! here never leaves the root.

use crate::market::{ModelError, validate_partition_value};
use crate::time::Date;
use std::path::{Path, PathBuf};

/// One output or input partition: a dataset folder plus market and date.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// `bronze`, `silver` or `gold`.
    pub layer: String,
    /// Dataset folder (`book`, `trades`, `intervals`, `bars`, ...).
    pub dataset: String,
    /// Extra key between dataset and exchange: `("interval", "1s")` or `("bar", "time_1m")`.
    pub spec: Option<(String, String)>,
    /// Exchange id.
    pub exchange: String,
    /// Canonical symbol.
    pub symbol: String,
    /// UTC date.
    pub date: Date,
}

impl Partition {
    /// A partition, validating every path value.
    pub fn new(
        layer: &str,
        dataset: &str,
        spec: Option<(&str, &str)>,
        exchange: &str,
        symbol: &str,
        date: Date,
    ) -> Result<Self, ModelError> {
        validate_partition_value("layer", layer)?;
        validate_partition_value("dataset", dataset)?;
        if let Some((k, v)) = spec {
            validate_partition_value("spec key", k)?;
            validate_partition_value("spec", v)?;
        }
        validate_partition_value("exchange", exchange)?;
        validate_partition_value("symbol", symbol)?;
        Ok(Partition {
            layer: layer.into(),
            dataset: dataset.into(),
            spec: spec.map(|(k, v)| (k.into(), v.into())),
            exchange: exchange.into(),
            symbol: symbol.into(),
            date,
        })
    }

    /// The partition directory relative to the root.
    pub fn rel_dir(&self) -> PathBuf {
        let mut p = PathBuf::from(&self.layer);
        p.push(&self.dataset);
        if let Some((k, v)) = &self.spec {
            p.push(format!("{k}={v}"));
        }
        p.push(format!("exchange={}", self.exchange));
        p.push(format!("symbol={}", self.symbol));
        p.push(format!("date={}", self.date));
        p
    }

    /// The partition directory under `root`.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(self.rel_dir())
    }
}

/// Parses a `key=value` path component, returning the value when the key matches.
pub fn hive_value<'a>(component: &'a str, key: &str) -> Option<&'a str> {
    component.strip_prefix(key)?.strip_prefix('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_hive_paths() {
        let d = Date::parse("2024-08-08").unwrap();
        let p = Partition::new(
            "gold",
            "bars",
            Some(("bar", "time_1m")),
            "binance",
            "BTC-USDT",
            d,
        )
        .unwrap();
        assert_eq!(
            p.rel_dir(),
            PathBuf::from("gold/bars/bar=time_1m/exchange=binance/symbol=BTC-USDT/date=2024-08-08")
        );
        assert!(Partition::new("bronze", "book", None, "binance", "../x", d).is_err());
        assert_eq!(hive_value("symbol=BTC-USDT", "symbol"), Some("BTC-USDT"));
        assert_eq!(hive_value("symbolx=BTC", "symbol"), None);
    }
}
