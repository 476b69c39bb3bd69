//! Run configuration and filter spec: every parameter of CONTRACT §6, with defaults, validated
//! here and recorded in output metadata. The engine takes a [`RunConfig`] as the plan's input;
//! reading it from a TOML file and merging command-line flags is the application's job.
//!
//! Durations have one syntax everywhere, `<n><unit>` with unit `ns`, `us`, `ms`, `s`, `m`, `h`
//! or `d` ([`parse_duration`]); interval specs keep the string the user gave (it names the
//! output partition `interval=<spec>` and enters the fingerprint), and must divide a day.

use daedalus_model::market::{QuoteFold, symbol_norm};
use daedalus_model::time::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A run parameter that breaks its rule; the message names the parameter and the rule.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A parameter out of its range.
    #[error("{0}")]
    Invalid(String),
    /// A `--from`/`--to` date that is not `YYYY-MM-DD`.
    #[error("--{bound} {value:?} is not YYYY-MM-DD")]
    Date {
        /// `from` or `to`.
        bound: &'static str,
        /// The value given.
        value: String,
    },
    /// A duration that does not parse.
    #[error(transparent)]
    Duration(#[from] DurationError),
    /// An interval spec that is not a duration dividing a day.
    #[error("interval {spec:?}")]
    Interval {
        /// The spec.
        spec: String,
        /// Why.
        #[source]
        source: DurationError,
    },
}

/// A duration spec that does not parse ([`parse_duration`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{spec:?}: {reason}")]
pub struct DurationError {
    /// The spec given.
    pub spec: String,
    /// What is wrong.
    pub reason: String,
}

/// Which clock orders events and defines partitions of derived data (CONTRACT §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
    /// `silver/cross/interval=<spec>/base=<BASE>` (CONTRACT §11). Not in [`Output::ALL`] (so the
    /// default configuration and its fingerprint are those of earlier releases): the default
    /// output set writes it whenever groups are configured ([`RunConfig::writes_cross`]).
    Cross,
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

    /// The output's name.
    pub fn name(self) -> &'static str {
        match self {
            Output::Book => "book",
            Output::Ticker => "ticker",
            Output::Trades => "trades",
            Output::Intervals => "intervals",
            Output::Bars => "bars",
            Output::Cross => "cross",
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
    pub fn date_bounds(&self) -> Result<(Option<Date>, Option<Date>), ConfigError> {
        let p = |s: &Option<String>, bound: &'static str| {
            s.as_deref()
                .map(|v| {
                    Date::parse(v).ok_or_else(|| ConfigError::Date {
                        bound,
                        value: v.to_string(),
                    })
                })
                .transpose()
        };
        let (from, to) = (p(&self.from, "from")?, p(&self.to, "to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ConfigError::Invalid(format!(
                "--from {} is after --to {}: the date range is empty",
                self.from.as_deref().unwrap_or_default(),
                self.to.as_deref().unwrap_or_default()
            )));
        }
        Ok((from, to))
    }

    /// True when the filter's exchange and symbol lists select a market (dates aside): the one
    /// market predicate of a run, used both to read bronze and to pick the markets `--rebuild`
    /// discards. With a quote fold (`normalize_quotes`), a symbol filter matches on both sides'
    /// folded form (CONTRACT §3, §10.5): `BTC-USD` selects `BTC-USDT` and `BTC-USDC` with the
    /// default pair; without one, only the exact symbol.
    pub fn selects_market(&self, exchange: &str, symbol: &str, fold: &QuoteFold) -> bool {
        if !self.exchange.is_empty() && !self.exchange.iter().any(|e| e == exchange) {
            return false;
        }
        if self.symbol.is_empty() {
            return true;
        }
        let s = symbol_norm(symbol, fold);
        self.symbol.iter().any(|f| symbol_norm(f, fold) == s)
    }

    /// True when a partition's path values pass the filter: its market is selected
    /// ([`FilterSpec::selects_market`]) and its date is within the bounds.
    pub fn matches(&self, exchange: &str, symbol: &str, date: Date, fold: &QuoteFold) -> bool {
        if !self.selects_market(exchange, symbol, fold) {
            return false;
        }
        let (from, to) = self.date_bounds().unwrap_or((None, None));
        from.is_none_or(|f| date >= f) && to.is_none_or(|t| date <= t)
    }
}

/// The documented range of every numeric run parameter (issue 16; docs/OPERATIONS.md
/// "Parameter bounds"): [`RunConfig::validate`], the CLI's flag parsers, the docs and the tests
/// read these numbers. Durations are in nanoseconds.
pub mod bounds {
    use std::ops::RangeInclusive;

    /// `--mlofi-levels` (MLOFI depth M).
    pub const MLOFI_LEVELS: RangeInclusive<i64> = 1..=50;
    /// `--vpin-n` (VPIN window, buckets).
    pub const VPIN_N: RangeInclusive<i64> = 1..=100_000;
    /// `--kyle-window` (Kyle regression window W).
    pub const KYLE_WINDOW: RangeInclusive<i64> = 2..=100_000;
    /// `--interval` width (and it must divide a day): 100 ms to 1 day.
    pub const INTERVAL_NS: RangeInclusive<i64> = 100_000_000..=86_400_000_000_000;
    /// `-w/--workers` (worker threads per process).
    pub const WORKERS: RangeInclusive<i64> = 1..=512;
    /// `-n/--processes`.
    pub const PROCESSES: RangeInclusive<i64> = 1..=512;
    /// `--poll` (watch rescan period): 10 ms to 1 h.
    pub const POLL_NS: RangeInclusive<i64> = 10_000_000..=3_600_000_000_000;
    /// `--settle`: 0 to 1 h.
    pub const SETTLE_NS: RangeInclusive<i64> = 0..=3_600_000_000_000;
    /// `--idle-timeout`: 100 ms to 30 days.
    pub const IDLE_TIMEOUT_NS: RangeInclusive<i64> = 100_000_000..=2_592_000_000_000_000;
    /// `--watermark-delay`: 0 to 30 days.
    pub const WATERMARK_DELAY_NS: RangeInclusive<i64> = 0..=2_592_000_000_000_000;
    /// `--keep-checkpoints`: 0 (no history: restatements start at the first row) to 3660 days.
    pub const KEEP_CHECKPOINTS_NS: RangeInclusive<i64> = 0..=316_224_000_000_000_000;
    /// `--cross-window` (the `silver/cross` window W, intervals; CONTRACT §11.4).
    pub const CROSS_WINDOW: RangeInclusive<i64> = 3..=10_000;

    /// `Ok` when `v` is in `r`; otherwise the message naming the parameter, the range and `v`.
    pub fn check(name: &str, v: i64, r: &RangeInclusive<i64>) -> Result<(), String> {
        if r.contains(&v) {
            Ok(())
        } else {
            Err(format!(
                "{name} {v} is out of range: must be in {}..={}",
                r.start(),
                r.end()
            ))
        }
    }

    /// As [`check`], for a duration in nanoseconds: the message shows the spec and the bounds as
    /// durations.
    pub fn check_ns(
        name: &str,
        spec: &str,
        ns: i64,
        r: &RangeInclusive<i64>,
    ) -> Result<(), String> {
        if r.contains(&ns) {
            Ok(())
        } else {
            Err(format!(
                "{name} {spec} is out of range: must be from {} to {}",
                show_ns(*r.start()),
                show_ns(*r.end())
            ))
        }
    }

    /// A duration in the largest unit that divides it (`100ms`, `1h`, `30d`, `0s`).
    pub fn show_ns(ns: i64) -> String {
        if ns == 0 {
            return "0s".into();
        }
        for (unit, m) in [
            ("d", 86_400_000_000_000),
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
        ] {
            if ns % m == 0 {
                return format!("{}{unit}", ns / m);
            }
        }
        format!("{ns}ns")
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
    /// Fold quote currencies for filters and `symbol_norm`: by `quote_alias`, or USDT and USDC
    /// into USD when it is empty.
    pub normalize_quotes: bool,
    /// Quote aliases `alias → code` (`--quote-alias TUSD=USD`, TOML `[quote_alias]`). Empty
    /// means the default pair `USDT=USD, USDC=USD`, and is left out of the serialized form, so
    /// the fingerprint and metadata of a configuration without aliases are those of earlier
    /// releases (old checkpoints resume); a table equal to the default pair is stored empty
    /// ([`RunConfig::canonical_quote_alias`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub quote_alias: BTreeMap<String, String>,
    /// Datasets to write.
    pub outputs: Vec<Output>,
    /// Partition filter.
    pub filter: FilterSpec,
    /// Cross-market groups (CONTRACT §11): upper-case base -> reference market
    /// `exchange/symbol`. Omitted from the recorded configuration when empty, so configurations
    /// without groups keep the fingerprints of earlier releases.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cross: BTreeMap<String, String>,
    /// The `silver/cross` window W in intervals (omitted when it is the default 60).
    #[serde(skip_serializing_if = "is_default_cross_window")]
    pub cross_window: usize,
}

/// The default `--cross-window`.
pub const DEFAULT_CROSS_WINDOW: usize = 60;

fn is_default_cross_window(w: &usize) -> bool {
    *w == DEFAULT_CROSS_WINDOW
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
            quote_alias: BTreeMap::new(),
            outputs: Output::ALL.to_vec(),
            filter: FilterSpec::default(),
            cross: BTreeMap::new(),
            cross_window: DEFAULT_CROSS_WINDOW,
        }
    }
}

impl RunConfig {
    /// The set of outputs.
    pub fn output_set(&self) -> BTreeSet<Output> {
        self.outputs.iter().copied().collect()
    }

    /// Checks every parameter; errors name the parameter and the rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let int = |name: &str, v: usize, r| {
            bounds::check(name, i64::try_from(v).unwrap_or(i64::MAX), r)
                .map_err(ConfigError::Invalid)
        };
        int("mlofi_levels", self.mlofi_levels, &bounds::MLOFI_LEVELS)?;
        int("vpin_n", self.vpin_n, &bounds::VPIN_N)?;
        int("kyle_window", self.kyle_window, &bounds::KYLE_WINDOW)?;
        int("cross_window", self.cross_window, &bounds::CROSS_WINDOW)?;
        for (base, reference) in &self.cross {
            cross_reference(base, reference)?;
        }
        if self.outputs == [Output::Cross] && self.cross.is_empty() {
            return invalid("outputs is only `cross` but no --cross group is configured".into());
        }
        if self.outputs.is_empty() {
            return invalid("outputs is empty: nothing to write".into());
        }
        for (k, v) in &self.vpin_v {
            if !(v.is_finite() && *v > 0.0) {
                return invalid(format!("vpin_v[{k}] must be a positive number, got {v}"));
            }
        }
        self.filter.date_bounds()?;
        if !self.quote_alias.is_empty() {
            if !self.normalize_quotes {
                return invalid(
                    "quote_alias is set but normalize_quotes is off: set normalize_quotes = true (--quote-alias sets it)".into(),
                );
            }
            QuoteFold::new(&self.quote_alias).map_err(ConfigError::Invalid)?;
        }
        for spec in &self.interval {
            let ns = interval_width(spec).map_err(|source| ConfigError::Interval {
                spec: spec.clone(),
                source,
            })?;
            bounds::check_ns("interval", spec, ns, &bounds::INTERVAL_NS)
                .map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }

    /// Makes the interval and bar specs a set (issue 15): a spec equal or equivalent to an
    /// earlier one (`1m` after `60s`: the same width; `time_60s` after `time_1m`: the same bar) is
    /// dropped, the first spelling kept. Returns one note per dropped spec. Nothing is renamed, so
    /// a configuration without duplicates is unchanged (and so is its fingerprint).
    pub fn dedup_specs(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut widths: Vec<(i64, String)> = Vec::new();
        self.interval.retain(|spec| {
            let Ok(w) = interval_width(spec) else {
                return true; // invalid: validate() names it
            };
            if let Some((_, first)) = widths.iter().find(|(x, _)| *x == w) {
                notes.push(format!(
                    "--interval {spec} repeats {first}: merged (specs are a set), keeping {first}"
                ));
                return false;
            }
            widths.push((w, spec.clone()));
            true
        });
        let mut names: Vec<(String, String)> = Vec::new();
        self.bar.retain(|spec| {
            let Ok(b) = daedalus_operators::bars::BarSpec::parse(spec) else {
                return true; // invalid: the plan names it
            };
            let name = b.name();
            if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
                notes.push(format!(
                    "--bar {spec} repeats {first}: merged (specs are a set), keeping {first}"
                ));
                return false;
            }
            names.push((name, spec.clone()));
            true
        });
        notes
    }

    /// Whether `silver/cross` is written: groups are configured and the outputs name `cross` or
    /// are the default set (every output).
    pub fn writes_cross(&self) -> bool {
        let outs = self.output_set();
        !self.cross.is_empty()
            && (outs.contains(&Output::Cross) || Output::ALL.iter().all(|o| outs.contains(o)))
    }

    /// The configured groups as (base, reference market), validated.
    pub fn cross_groups(
        &self,
    ) -> Result<Vec<(String, daedalus_model::market::Market)>, ConfigError> {
        self.cross
            .iter()
            .map(|(b, r)| Ok((b.clone(), cross_reference(b, r)?)))
            .collect()
    }

    /// The quote fold of the run: none without `normalize_quotes`, else `quote_alias`, or the
    /// default pair when it is empty. An invalid table (refused by [`RunConfig::validate`]
    /// before any run plans) folds nothing.
    pub fn quote_fold(&self) -> QuoteFold {
        if !self.normalize_quotes {
            return QuoteFold::default();
        }
        if self.quote_alias.is_empty() {
            return QuoteFold::default_pair();
        }
        QuoteFold::new(&self.quote_alias).unwrap_or_default()
    }

    /// Stores a `quote_alias` table equal to the default pair as empty, so spelling the default
    /// out gives the default's fingerprint and metadata.
    pub fn canonical_quote_alias(&mut self) {
        let default: BTreeMap<String, String> = [("USDT", "USD"), ("USDC", "USD")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
        if self.quote_alias == default {
            self.quote_alias.clear();
        }
    }

    /// Whether bronze `trade_id` values are decoded: always, since duplicate trades are found
    /// by `(ts_event, trade_id)` (issue 16) whatever the outputs.
    pub fn reads_trade_ids(&self) -> bool {
        true
    }

    /// The parameters as Parquet key-value metadata (CONTRACT §6: every output records them).
    pub fn metadata(&self) -> Vec<(String, String)> {
        vec![(
            "daedalus.run_config".to_string(),
            serde_json::to_string(self).unwrap_or_default(),
        )]
    }
}

/// The base asset of a canonical symbol (CONTRACT §11.1, §11.6): the part before the first `-`,
/// upper case, `XBT` read as `BTC`.
pub fn symbol_base(symbol: &str) -> String {
    let b = symbol
        .split('-')
        .next()
        .unwrap_or(symbol)
        .to_ascii_uppercase();
    if b == "XBT" { "BTC".into() } else { b }
}

/// A `--cross BASE=exchange/symbol` reference: a valid market whose symbol has base `BASE`.
fn cross_reference(
    base: &str,
    reference: &str,
) -> Result<daedalus_model::market::Market, ConfigError> {
    let bad = |why: String| ConfigError::Invalid(format!("--cross {base}={reference}: {why}"));
    let Some((e, s)) = reference.split_once('/') else {
        return Err(bad("the reference must be exchange/symbol".into()));
    };
    let m = daedalus_model::market::Market::new(e, s).map_err(|x| bad(x.to_string()))?;
    if base.is_empty() || base != symbol_base(base) || symbol_base(s) != base {
        return Err(bad(format!(
            "the base must be the upper-case base of the reference symbol ({})",
            symbol_base(s)
        )));
    }
    Ok(m)
}

/// Parses a duration `<n><unit>`, unit `ns`, `us`, `ms`, `s`, `m`, `h` or `d`, to nanoseconds
/// (positive). The one duration syntax of every parameter and flag.
pub fn parse_duration(spec: &str) -> Result<i64, DurationError> {
    let err = |reason: String| DurationError {
        spec: spec.to_string(),
        reason,
    };
    let idx = spec
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| err("has no unit (ns, us, ms, s, m, h, d)".into()))?;
    let (n, unit) = spec.split_at(idx);
    let n: i64 = n.parse().map_err(|_| err("bad number".into()))?;
    let mult = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => {
            return Err(err(format!(
                "unknown unit {unit:?} (ns, us, ms, s, m, h, d)"
            )));
        }
    };
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| err("out of range".into()))
}

/// The width in nanoseconds of an interval grid spec: a duration that divides a day (grids must
/// not cross UTC midnight).
pub fn interval_width(spec: &str) -> Result<i64, DurationError> {
    let ns = parse_duration(spec)?;
    if daedalus_model::time::NANOS_PER_DAY % ns != 0 {
        return Err(DurationError {
            spec: spec.to_string(),
            reason: "does not divide a day (86400 s): grids must not cross UTC midnight".into(),
        });
    }
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_normalize_quotes() {
        let d = Date::parse("2024-08-08").unwrap();
        let f = FilterSpec {
            symbol: vec!["BTC-USD".into()],
            ..Default::default()
        };
        assert!(f.matches("binance", "BTC-USDT", d, &QuoteFold::default_pair()));
        assert!(!f.matches("binance", "BTC-USDT-PERP", d, &QuoteFold::default_pair()));
        assert!(!f.matches("binance", "BTC-USDT", d, &QuoteFold::default()));
        let p = FilterSpec {
            symbol: vec!["BTC-USD-PERP".into()],
            ..Default::default()
        };
        assert!(p.matches(
            "binance-futures",
            "BTC-USDT-PERP",
            d,
            &QuoteFold::default_pair()
        ));
        assert!(p.matches(
            "binance-delivery",
            "BTC-USD-PERP",
            d,
            &QuoteFold::default_pair()
        ));
        assert!(!p.matches("binance-futures", "BTC-USDT-PERP", d, &QuoteFold::default()));
        let r = FilterSpec {
            from: Some("2024-08-09".into()),
            ..Default::default()
        };
        assert!(!r.matches("binance", "BTC-USDT", d, &QuoteFold::default()));
    }

    #[test]
    fn durations_must_divide_a_day() {
        assert_eq!(interval_width("1s").unwrap(), 1_000_000_000);
        assert_eq!(interval_width("100ms").unwrap(), 100_000_000);
        assert!(interval_width("7m").is_err());
        assert_eq!(parse_duration("7m").unwrap(), 420_000_000_000);
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
