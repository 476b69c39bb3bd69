//! The run configuration of a command: the defaults, then a TOML file (`--config`, every
//! parameter of [`RunConfig`] with the same names; see `examples/daedalus.toml`), then the
//! command-line flags.

use crate::args::ParamArgs;
use anyhow::{Context, Result, bail};
use daedalus_dataflow::RunConfig;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads a TOML config file.
pub(crate) fn from_toml_file(path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
}

/// Parses a `--vpin-v exchange/symbol=V` flag value.
fn parse_vpin_v(s: &str) -> Result<(String, f64)> {
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

/// Parses `--quote-alias ALIAS=CODE` flags into a table (the rules are checked by
/// `RunConfig::validate`); an alias given twice is an error.
fn parse_quote_aliases(flags: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in flags {
        let (a, b) = s.split_once('=').with_context(|| {
            format!("--quote-alias {s:?}: expected <ALIAS>=<CODE>, e.g. TUSD=USD")
        })?;
        if let Some(prev) = out.insert(a.to_string(), b.to_string()) {
            bail!("--quote-alias {s:?}: {a} is already mapped to {prev}");
        }
    }
    Ok(out)
}

/// The effective run configuration: defaults, then the TOML file, then flags.
pub(crate) fn resolve(a: &ParamArgs) -> Result<RunConfig> {
    let mut c = match &a.config {
        Some(p) => from_toml_file(p)?,
        None => RunConfig::default(),
    };
    if !a.interval.is_empty() {
        c.interval = a.interval.clone();
    }
    if !a.bar.is_empty() {
        c.bar = a.bar.clone();
    }
    for v in &a.vpin_v {
        let (k, x) = parse_vpin_v(v)?;
        c.vpin_v.insert(k, x);
    }
    for v in &a.cross {
        let (base, reference) = v
            .split_once('=')
            .with_context(|| format!("--cross {v:?}: expected <BASE>=<exchange>/<symbol>"))?;
        c.cross.insert(base.to_string(), reference.to_string());
    }
    c.cross_window = a.cross_window.unwrap_or(c.cross_window);
    c.vpin_n = a.vpin_n.unwrap_or(c.vpin_n);
    c.kyle_window = a.kyle_window.unwrap_or(c.kyle_window);
    c.mlofi_levels = a.mlofi_levels.unwrap_or(c.mlofi_levels);
    c.normalize_quotes |= a.normalize_quotes;
    if !a.quote_alias.is_empty() {
        c.quote_alias = parse_quote_aliases(&a.quote_alias)?;
        c.normalize_quotes = true;
    }
    c.canonical_quote_alias();
    if let Some(cl) = a.clock {
        c.clock = cl.into();
    }
    if !a.outputs.is_empty() {
        c.outputs = a.outputs.iter().map(|&o| o.into()).collect();
    }
    if !a.exchange.is_empty() {
        c.filter.exchange = a.exchange.clone();
    }
    if !a.symbol.is_empty() {
        c.filter.symbol = a.symbol.clone();
    }
    if a.from.is_some() {
        c.filter.from = a.from.clone();
    }
    if a.to.is_some() {
        c.filter.to = a.to.clone();
    }
    c.validate()?;
    Ok(c)
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

    /// `examples/daedalus.toml` names every parameter with its default.
    #[test]
    fn the_example_config_parses_and_holds_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/daedalus.toml");
        let c = from_toml_file(&path).unwrap();
        assert_eq!(c, RunConfig::default());
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let json = serde_json::to_value(RunConfig::default()).unwrap();
        for key in json.as_object().unwrap().keys() {
            assert!(
                table.contains_key(key),
                "examples/daedalus.toml lacks {key}"
            );
        }
        for key in ["exchange", "symbol"] {
            assert!(table["filter"].get(key).is_some(), "filter.{key}");
        }
    }
}
