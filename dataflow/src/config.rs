//! Run configuration and filter spec: every parameter of CONTRACT §6, with defaults, settable
//! from a TOML file and overridden by command-line flags, and recorded in output metadata.

use anyhow::{Context, Result, bail};
use daedalus_model::market::symbol_norm;
use daedalus_model::time::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which clock orders events and defines partitions of derived data (CONTRACT §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Venue event time (`ts_event`), the default.
    #[default]
    Event,
    /// Receive time (`ts_recv`) for every dataset.
    Receive,
}

/// The silver and gold datasets a run can write (`--outputs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// `silver/book`.
    Book,
    /// `silver/ticker`.
    Ticker,
    /// `silver/trades`.
    Trades,
    /// `silver/intervals/interval=<spec>`.
    Intervals,
    /// `gold/bars/bar=<spec>`.
    Bars,
}

impl Output {
    /// All outputs, the default.
    pub const ALL: [Output; 5] = [
        Output::Book,
        Output::Ticker,
        Output::Trades,
        Output::Intervals,
        Output::Bars,
    ];

    /// Parses an output name.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.trim() {
            "book" => Output::Book,
            "ticker" => Output::Ticker,
            "trades" => Output::Trades,
            "intervals" => Output::Intervals,
            "bars" => Output::Bars,
            other => {
                bail!("unknown output {other:?}: expected book, ticker, trades, intervals, bars")
            }
        })
    }

    /// The output's name.
    pub fn name(self) -> &'static str {
        match self {
            Output::Book => "book",
            Output::Ticker => "ticker",
            Output::Trades => "trades",
            Output::Intervals => "intervals",
            Output::Bars => "bars",
        }
    }
}

/// Which partitions a run reads: pruned by path before any file is opened (CONTRACT §7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Exchanges to keep (empty: all).
    #[serde(default)]
    pub exchange: Vec<String>,
    /// Symbols to keep (empty: all); with `normalize_quotes`, matched on `symbol_norm`.
    #[serde(default)]
    pub symbol: Vec<String>,
    /// First UTC date to keep (inclusive), `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// Last UTC date to keep (inclusive), `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
}

impl FilterSpec {
    /// Parsed date bounds.
    pub fn date_bounds(&self) -> Result<(Option<Date>, Option<Date>)> {
        let p = |s: &Option<String>, what: &str| -> Result<Option<Date>> {
            s.as_deref()
                .map(|v| {
                    Date::parse(v).with_context(|| format!("--{what} {v:?} is not YYYY-MM-DD"))
                })
                .transpose()
        };
        Ok((p(&self.from, "from")?, p(&self.to, "to")?))
    }

    /// True when the filter's exchange and symbol lists select a market (dates aside): the one
    /// market predicate of a run, used both to read bronze and to pick the markets `--rebuild`
    /// discards. With `normalize_quotes`, a symbol filter matches on both sides' normalised form
    /// (CONTRACT §3): `BTC-USD` selects `BTC-USDT` and `BTC-USDC`; without it, only the exact
    /// symbol.
    pub fn selects_market(&self, exchange: &str, symbol: &str, normalize_quotes: bool) -> bool {
        if !self.exchange.is_empty() && !self.exchange.iter().any(|e| e == exchange) {
            return false;
        }
        if self.symbol.is_empty() {
            return true;
        }
        let s = symbol_norm(symbol, normalize_quotes);
        self.symbol
            .iter()
            .any(|f| symbol_norm(f, normalize_quotes) == s)
    }

    /// True when a partition's path values pass the filter: its market is selected
    /// ([`FilterSpec::selects_market`]) and its date is within the bounds.
    pub fn matches(
        &self,
        exchange: &str,
        symbol: &str,
        date: Date,
        normalize_quotes: bool,
    ) -> bool {
        if !self.selects_market(exchange, symbol, normalize_quotes) {
            return false;
        }
        let (from, to) = self.date_bounds().unwrap_or((None, None));
        from.is_none_or(|f| date >= f) && to.is_none_or(|t| date <= t)
    }
}

/// Every run parameter (CONTRACT §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Interval grid specs for `silver/intervals` (`1s`, `100ms`, `1m`, ...).
    pub interval: Vec<String>,
    /// Bar specs for `gold/bars` (`time_1m`, `volume_5`, ...).
    pub bar: Vec<String>,
    /// MLOFI depth M.
    pub mlofi_levels: usize,
    /// VPIN window n (buckets).
    pub vpin_n: usize,
    /// VPIN bucket volume V per market, keyed `exchange/symbol`.
    pub vpin_v: BTreeMap<String, f64>,
    /// Kyle regression window W (intervals or bars).
    pub kyle_window: usize,
    /// Ordering clock.
    pub clock: Clock,
    /// Treat USDT/USDC quotes as USD for filters and `symbol_norm`.
    pub normalize_quotes: bool,
    /// Datasets to write.
    pub outputs: Vec<Output>,
    /// Partition filter.
    pub filter: FilterSpec,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            interval: vec!["1s".into()],
            bar: vec!["time_1m".into()],
            mlofi_levels: 10,
            vpin_n: 50,
            vpin_v: BTreeMap::new(),
            kyle_window: 20,
            clock: Clock::Event,
            normalize_quotes: false,
            outputs: Output::ALL.to_vec(),
            filter: FilterSpec::default(),
        }
    }
}

impl RunConfig {
    /// Reads a TOML config file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
    }

    /// The set of outputs.
    pub fn output_set(&self) -> BTreeSet<Output> {
        self.outputs.iter().copied().collect()
    }

    /// Parses a `--vpin-v exchange/symbol=V` flag value.
    pub fn parse_vpin_v(s: &str) -> Result<(String, f64)> {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--vpin-v {s:?}: expected <exchange>/<symbol>=<V>"))?;
        if !k.contains('/') {
            bail!("--vpin-v {s:?}: expected <exchange>/<symbol>=<V>");
        }
        let v: f64 = v
            .parse()
            .with_context(|| format!("--vpin-v {s:?}: V is not a number"))?;
        if !(v.is_finite() && v > 0.0) {
            bail!("--vpin-v {s:?}: V must be a positive number");
        }
        Ok((k.to_string(), v))
    }

    /// Checks every parameter; errors name the parameter and the rule.
    pub fn validate(&self) -> Result<()> {
        if self.mlofi_levels == 0 || self.mlofi_levels > 50 {
            bail!("mlofi_levels must be in 1..=50, got {}", self.mlofi_levels);
        }
        if self.vpin_n == 0 {
            bail!("vpin_n must be positive");
        }
        if self.kyle_window < 2 {
            bail!("kyle_window must be at least 2, got {}", self.kyle_window);
        }
        if self.outputs.is_empty() {
            bail!("outputs is empty: nothing to write");
        }
        for (k, v) in &self.vpin_v {
            if !(v.is_finite() && *v > 0.0) {
                bail!("vpin_v[{k}] must be a positive number, got {v}");
            }
        }
        self.filter.date_bounds()?;
        for spec in &self.interval {
            parse_duration(spec).with_context(|| format!("interval {spec:?}"))?;
        }
        Ok(())
    }

    /// Whether bronze `trade_id` values are decoded: only `silver/trades` writes them.
    pub fn reads_trade_ids(&self) -> bool {
        self.outputs.contains(&Output::Trades)
    }

    /// The parameters as Parquet key-value metadata (CONTRACT §6: every output records them).
    pub fn metadata(&self) -> Vec<(String, String)> {
        vec![(
            "daedalus.run_config".to_string(),
            serde_json::to_string(self).unwrap_or_default(),
        )]
    }
}

/// Parses a duration spec `<n>ns|us|ms|s|m|h|d` to nanoseconds; it must divide a day.
pub fn parse_duration(spec: &str) -> Result<i64> {
    let idx = spec
        .find(|c: char| !c.is_ascii_digit())
        .with_context(|| format!("{spec:?} has no unit (ns, us, ms, s, m, h, d)"))?;
    let (n, unit) = spec.split_at(idx);
    let n: i64 = n.parse().with_context(|| format!("{spec:?}: bad number"))?;
    let mult = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => bail!("{spec:?}: unknown unit {unit:?} (ns, us, ms, s, m, h, d)"),
    };
    let ns = n
        .checked_mul(mult)
        .filter(|&v| v > 0)
        .with_context(|| format!("{spec:?}: out of range"))?;
    if daedalus_model::time::NANOS_PER_DAY % ns != 0 {
        bail!("{spec:?} does not divide a day (86400 s): grids must not cross UTC midnight");
    }
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trips_and_defaults_apply() {
        let c: RunConfig = toml::from_str(
            r#"
            interval = ["1s", "1m"]
            vpin_n = 10
            normalize_quotes = true
            [vpin_v]
            "binance/BTC-USDT" = 8.76
            [filter]
            symbol = ["BTC-USD"]
            "#,
        )
        .unwrap();
        assert_eq!(c.interval, vec!["1s", "1m"]);
        assert_eq!(c.vpin_n, 10);
        assert_eq!(c.kyle_window, 20);
        assert_eq!(c.vpin_v["binance/BTC-USDT"], 8.76);
        c.validate().unwrap();
        assert!(toml::from_str::<RunConfig>("bogus = 1").is_err());
    }

    #[test]
    fn filters_follow_normalize_quotes() {
        let d = Date::parse("2024-08-08").unwrap();
        let f = FilterSpec {
            symbol: vec!["BTC-USD".into()],
            ..Default::default()
        };
        assert!(f.matches("binance", "BTC-USDT", d, true));
        assert!(!f.matches("binance", "BTC-USDT-PERP", d, true));
        assert!(!f.matches("binance", "BTC-USDT", d, false));
        let p = FilterSpec {
            symbol: vec!["BTC-USD-PERP".into()],
            ..Default::default()
        };
        assert!(p.matches("binance-futures", "BTC-USDT-PERP", d, true));
        assert!(p.matches("binance-delivery", "BTC-USD-PERP", d, true));
        assert!(!p.matches("binance-futures", "BTC-USDT-PERP", d, false));
        let r = FilterSpec {
            from: Some("2024-08-09".into()),
            ..Default::default()
        };
        assert!(!r.matches("binance", "BTC-USDT", d, false));
    }

    #[test]
    fn durations_must_divide_a_day() {
        assert_eq!(parse_duration("1s").unwrap(), 1_000_000_000);
        assert_eq!(parse_duration("100ms").unwrap(), 100_000_000);
        assert!(parse_duration("7m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
