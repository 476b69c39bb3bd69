//! The one duration syntax of every flag: `<n><unit>` with unit `ns`, `us`, `ms`, `s`, `m`, `h`
//! or `d` (the engine's [`daedalus_dataflow::config::parse_duration`]); zero is `0` or `0<unit>`
//! (`--settle 0s`, `--checkpoint-every 0`). Interval specs use the same syntax but keep the
//! string as given: it names the output partition and enters the run's fingerprint.

use std::time::Duration;

/// True for a zero duration: `0`, or zero with a valid unit (`0s`, `0ms`).
fn is_zero(spec: &str) -> bool {
    let unit = spec.trim_start_matches(|c: char| c.is_ascii_digit());
    let n = &spec[..spec.len() - unit.len()];
    !n.is_empty()
        && n.bytes().all(|b| b == b'0')
        && (unit.is_empty()
            || daedalus_dataflow::config::parse_duration(&format!("1{unit}")).is_ok())
}

/// Parses a duration flag (clap value parser).
pub(crate) fn parse(spec: &str) -> Result<Duration, String> {
    if is_zero(spec) {
        return Ok(Duration::ZERO);
    }
    daedalus_dataflow::config::parse_duration(spec)
        .map(|ns| Duration::from_nanos(ns as u64))
        .map_err(|e| e.to_string())
}

/// Parses a period aligned to UTC days (`--checkpoint-every`): a duration that divides a day,
/// or `0` for none.
pub(crate) fn period(spec: &str) -> Result<Duration, String> {
    if is_zero(spec) {
        return Ok(Duration::ZERO);
    }
    daedalus_dataflow::config::interval_width(spec)
        .map(|ns| Duration::from_nanos(ns as u64))
        .map_err(|e| e.to_string())
}

/// Checks an interval spec (clap value parser): a duration that divides a day; the spec string
/// itself is kept.
pub(crate) fn interval(spec: &str) -> Result<String, String> {
    daedalus_dataflow::config::interval_width(spec)
        .map(|_| spec.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_syntax_for_every_duration() {
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert!(parse("0x").is_err());
        assert!(parse("5").is_err());
        assert!(parse("5x").is_err());
        assert_eq!(interval("100ms"), Ok("100ms".to_string()));
        assert!(interval("7m").is_err());
        assert_eq!(period("0"), Ok(Duration::ZERO));
        assert_eq!(period("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert!(period("7m").is_err());
    }
}
