//! The one duration syntax of every flag: `<n><unit>` with unit `ns`, `us`, `ms`, `s`, `m`, `h`
//! or `d` (the engine's [`daedalus_dataflow::config::parse_duration`]); zero is `0` or `0<unit>`
//! (`--settle 0s`, `--checkpoint-every 0`). Interval specs use the same syntax but keep the
//! string as given: it names the output partition and enters the run's fingerprint.

use daedalus_dataflow::config::bounds;
use std::ops::RangeInclusive;
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
    let ns = daedalus_dataflow::config::interval_width(spec).map_err(|e| e.to_string())?;
    bounds::check_ns("--interval", spec, ns, &bounds::INTERVAL_NS)?;
    Ok(spec.to_string())
}

/// A duration flag checked against its documented range (issue 16).
fn bounded(name: &str, spec: &str, r: &RangeInclusive<i64>) -> Result<Duration, String> {
    let d = parse(spec)?;
    bounds::check_ns(name, spec, d.as_nanos() as i64, r)?;
    Ok(d)
}

/// `--poll` ([`bounds::POLL_NS`]).
pub(crate) fn poll(spec: &str) -> Result<Duration, String> {
    bounded("--poll", spec, &bounds::POLL_NS)
}

/// `--settle` ([`bounds::SETTLE_NS`]).
pub(crate) fn settle(spec: &str) -> Result<Duration, String> {
    bounded("--settle", spec, &bounds::SETTLE_NS)
}

/// `--idle-timeout` ([`bounds::IDLE_TIMEOUT_NS`]).
pub(crate) fn idle_timeout(spec: &str) -> Result<Duration, String> {
    bounded("--idle-timeout", spec, &bounds::IDLE_TIMEOUT_NS)
}

/// `--watermark-delay` ([`bounds::WATERMARK_DELAY_NS`]).
pub(crate) fn watermark_delay(spec: &str) -> Result<Duration, String> {
    bounded("--watermark-delay", spec, &bounds::WATERMARK_DELAY_NS)
}

/// `--keep-checkpoints` ([`bounds::KEEP_CHECKPOINTS_NS`]).
pub(crate) fn keep_checkpoints(spec: &str) -> Result<Duration, String> {
    bounded("--keep-checkpoints", spec, &bounds::KEEP_CHECKPOINTS_NS)
}

/// An integer flag checked against its documented range: parsed as a signed number so that
/// `-1` is reported as out of range, not as an unknown argument.
fn int(name: &str, s: &str, r: &RangeInclusive<i64>) -> Result<usize, String> {
    let v: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("{name} {s:?} is not a whole number"))?;
    // Beyond i64 (`u64::MAX`): out of range like any other value outside the bounds.
    let v = i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    bounds::check(name, v, r).map_err(|_| {
        format!(
            "{name} {} is out of range: must be in {}..={}",
            s.trim(),
            r.start(),
            r.end()
        )
    })?;
    Ok(v as usize)
}

/// `--vpin-n` ([`bounds::VPIN_N`]).
pub(crate) fn vpin_n(s: &str) -> Result<usize, String> {
    int("--vpin-n", s, &bounds::VPIN_N)
}

/// `--kyle-window` ([`bounds::KYLE_WINDOW`]).
pub(crate) fn kyle_window(s: &str) -> Result<usize, String> {
    int("--kyle-window", s, &bounds::KYLE_WINDOW)
}

/// `--cross-window` ([`bounds::CROSS_WINDOW`]).
pub(crate) fn cross_window(s: &str) -> Result<usize, String> {
    int("--cross-window", s, &bounds::CROSS_WINDOW)
}

/// `--mlofi-levels` ([`bounds::MLOFI_LEVELS`]).
pub(crate) fn mlofi_levels(s: &str) -> Result<usize, String> {
    int("--mlofi-levels", s, &bounds::MLOFI_LEVELS)
}

/// `-w/--workers` ([`bounds::WORKERS`]).
pub(crate) fn workers(s: &str) -> Result<usize, String> {
    int("--workers", s, &bounds::WORKERS)
}

/// `-n/--processes` ([`bounds::PROCESSES`]).
pub(crate) fn processes(s: &str) -> Result<usize, String> {
    int("--processes", s, &bounds::PROCESSES)
}

/// `-p/--process`: at least 0 (and below `-n`, checked with the cluster layout).
pub(crate) fn process(s: &str) -> Result<usize, String> {
    int("--process", s, &(0..=bounds::PROCESSES.end() - 1))
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
