//! Exact timestamp parsing: float seconds, ISO-8601 UTC, integer milli/microseconds, all to
//! nanoseconds without `f64` (so `1618677816.8434298` is exactly `1618677816843429800` ns).

use daedalus_model::time::{Date, Nanos};

/// Parses non-negative `<secs>[.<frac>]` to nanoseconds; digits beyond the ninth decimal are
/// truncated. `None` unless it is that shape and fits.
pub fn parse_float_secs(s: &str) -> Option<Nanos> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || secs.len() > 11 {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    secs.checked_mul(1_000_000_000)?
        .checked_add(frac_nanos(frac)?)
}

/// A decimal fraction's digits as nanoseconds (truncated after 9 digits).
fn frac_nanos(frac: &str) -> Option<i64> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns = 0i64;
    for i in 0..9 {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        ns = ns * 10 + d;
    }
    Some(ns)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac]Z` (UTC) to nanoseconds.
pub fn parse_iso(s: &str) -> Option<Nanos> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let date = Date::parse(date)?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let b = hms.as_bytes();
    if !hms.is_ascii() || b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &hms[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (h, m, sec) = (num(0..2)?, num(3..5)?, num(6..8)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days to seconds without going through nanoseconds: a date past 2262 has none in an i64.
    let day = date.days_since_epoch();
    let secs = day.checked_mul(86_400)? + h * 3600 + m * 60 + sec;
    secs.checked_mul(1_000_000_000)?
        .checked_add(frac_nanos(frac)?)
}

/// Integer milliseconds (a JSON string or number's text) to nanoseconds.
pub fn parse_ms(s: &str) -> Option<Nanos> {
    parse_int(s)?.checked_mul(1_000_000)
}

/// Integer microseconds to nanoseconds.
pub fn us_to_ns(us: u64) -> Option<Nanos> {
    i64::try_from(us).ok()?.checked_mul(1_000)
}

fn parse_int(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `cryptofeed` fuzz target: eleven-digit seconds overflowed an `i64` of
    /// nanoseconds (a panic with overflow checks, a wrapped time without).
    #[test]
    fn times_beyond_i64_nanoseconds_are_rejected_not_wrapped() {
        assert_eq!(
            parse_float_secs("1618678132.3858151"),
            Some(1_618_678_132_385_815_100)
        );
        assert_eq!(parse_float_secs("99999999999.5"), None);
        assert_eq!(parse_float_secs("9223372036.854775807"), Some(i64::MAX));
        assert_eq!(parse_float_secs("9223372036.854775808"), None);
        assert_eq!(
            parse_iso("2021-04-17T16:48:53.2Z"),
            Some(1_618_678_133_200_000_000)
        );
        assert_eq!(parse_iso("9999-12-31T23:59:59Z"), None);
    }
}
