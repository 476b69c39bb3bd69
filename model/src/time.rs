//! Nanosecond timestamps and UTC dates.
//!
//! Every timestamp in Daedalus is `i64` nanoseconds since the Unix epoch, UTC. Partitions are UTC
//! days. The civil-date conversion is Howard Hinnant's `days_from_civil` algorithm (exact for the
//! proleptic Gregorian calendar), so no date crate is needed.

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds in one UTC day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// A UTC calendar date.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Date {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month 1..=12.
    pub month: u32,
    /// Day of month 1..=31.
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01 of this date.
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date {
            year: (y + i64::from(m <= 2)) as i32,
            month: m,
            day: d,
        }
    }

    /// The UTC date of a timestamp.
    pub fn of_nanos(ts: Nanos) -> Self {
        Self::from_days(ts.div_euclid(NANOS_PER_DAY))
    }

    /// Midnight (start) of this date, in nanoseconds.
    pub fn start_nanos(self) -> Nanos {
        self.days_since_epoch() * NANOS_PER_DAY
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i32 = s[0..4].parse().ok()?;
        let month: u32 = s[5..7].parse().ok()?;
        let day: u32 = s[8..10].parse().ok()?;
        let d = Date { year, month, day };
        let valid =
            (1..=12).contains(&month) && day >= 1 && Date::from_days(d.days_since_epoch()) == d;
        valid.then_some(d)
    }
}

/// First accepted event or receive time: 2009-01-01T00:00:00Z (before any crypto venue).
/// Earlier times are bad input (issue 16): never clamped, never written to `date=1969-...`.
pub const TIME_MIN: Nanos = 1_230_768_000 * NANOS_PER_SEC;
/// End (exclusive) of the accepted times: 2100-01-01T00:00:00Z. Later times are bad input (a
/// year-3000 stamp would otherwise saturate to 2262-04-11).
pub const TIME_MAX: Nanos = 4_102_444_800 * NANOS_PER_SEC;

/// `Ok` for a time in `[TIME_MIN, TIME_MAX)`; otherwise the rule it breaks, naming `what`.
pub fn check_time(what: &str, ts: Nanos) -> Result<(), String> {
    if (TIME_MIN..TIME_MAX).contains(&ts) {
        return Ok(());
    }
    Err(format!(
        "{what} {ts} ns ({}) is outside the accepted range 2009-01-01..2100-01-01",
        Date::of_nanos(ts)
    ))
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in -1000..40_000 {
            let d = Date::from_days(days);
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(Date::parse(&d.to_string()), Some(d));
        }
        assert_eq!(
            Date::of_nanos(1_723_161_600_000_000_000).to_string(),
            "2024-08-09"
        );
        assert_eq!(
            Date::of_nanos(1_723_161_599_999_999_999).to_string(),
            "2024-08-08"
        );
        assert_eq!(Date::parse("2024-02-30"), None);
        assert_eq!(Date::parse("2024-13-01"), None);
        assert_eq!(Date::parse("24-01-01"), None);
    }
}
