//! The two checks every trade row passes before it is written to bronze (issue 16), whatever
//! its format:
//!
//! - **Resolution.** Its size must be a positive number of the fixed-point units `run` counts
//!   sizes in ([`QTY_SCALE`] per unit: 1e-9), and within their range. A size that rounds to 0
//!   units (e.g. `0.000000000001`) or beyond ±9e9 used to be accepted here and fail `run`;
//!   now it is an error naming file, line and rule, or with `--lenient` a skip counted as
//!   `sub-resolution trade`. Prices have no fixed-point resolution (they stay correctly rounded
//!   doubles, keyed by their bits): the existing positive-finite check is the whole rule.
//! - **Duplicates.** A trade whose venue id was already written for its market by this input is
//!   dropped and counted (`duplicate_trades`): a capture with a repeated line, or two
//!   recorders' overlapping captures concatenated. Memory does not grow with the file:
//!   - a numeric id (ASCII digits, no leading zero, fits `u64`: Binance `t`, most venues) goes
//!     into a set of id *ranges*, so a venue's consecutive ids are one range however many
//!     trades there are; at most [`MAX_RANGES`] ranges are kept, the lowest forgotten first (a
//!     repeat of an id below them is then caught only by the next rule, and by `run`);
//!   - any other id is compared with the ids already seen at the same exchange time (a set
//!     cleared when the time changes: bounded by the trades of one timestamp);
//!   - a trade without an id (empty `trade_id`: Tardis rows with an empty `id`, venues whose
//!     feed has none) is never deduplicated: nothing identifies it.
//!
//! `run` applies the same-timestamp rule again across inputs (two recorders' inputs of one
//! market), see `daedalus_operators::market`.

use crate::error::{Result, SourceError};
use crate::ingest::report::IngestReport;
use daedalus_model::fixed::{QTY_SCALE, Qty};
use daedalus_model::market::Market;
use daedalus_model::rows::TradeRow;
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use std::collections::BTreeMap;
use std::path::Path;

/// Most id ranges kept per market (about 100 KB): consecutive ids need one.
pub(crate) const MAX_RANGES: usize = 4096;

/// The `--lenient` skip key of a trade whose size is not representable in fixed point.
pub(crate) const SUB_RESOLUTION: &str = "sub-resolution trade";

/// Why `size` cannot be counted in fixed-point units, if it cannot.
pub(crate) fn sub_resolution(size: f64) -> Option<String> {
    if size.is_nan() || size <= 0.0 {
        return Some(format!("trade size {size} must be > 0"));
    }
    match Qty::from_f64(size) {
        Some(q) if q.0 > 0 && size.is_finite() => None,
        Some(_) => Some(format!(
            "trade size {size:e} is below the fixed-point resolution 1e-9 (it rounds to 0 of \
             the {QTY_SCALE} units per 1)"
        )),
        None => Some(format!(
            "trade size {size:e} is outside the fixed-point range (|size| < 9e9 at resolution 1e-9)"
        )),
    }
}

/// The ids already written, per market, for one input.
#[derive(Debug, Default)]
pub(crate) struct TradeGate {
    /// A file has one or a few markets: a list searched by equality.
    markets: Vec<(Market, SeenIds)>,
}

impl TradeGate {
    /// Whether `row` repeats a trade already written for `market` (and records it if not).
    pub(crate) fn is_duplicate(&mut self, market: &Market, row: &TradeRow) -> bool {
        if row.trade_id.is_empty() {
            return false;
        }
        let i = match self.markets.iter().position(|(m, _)| m == market) {
            Some(i) => i,
            None => {
                self.markets.push((market.clone(), SeenIds::default()));
                self.markets.len() - 1
            }
        };
        self.markets[i].1.insert(row.ts_event, &row.trade_id)
    }

    /// Writes `row` unless it is a duplicate (counted) or its size is sub-resolution (an error
    /// naming `file` and `line`, or with `lenient` a counted skip).
    pub(crate) fn write(
        &mut self,
        w: &mut BronzeWriter,
        report: &mut IngestReport,
        lenient: bool,
        (file, line): (&Path, u64),
        market: &Market,
        row: TradeRow,
    ) -> Result<()> {
        if let Some(rule) = sub_resolution(row.size) {
            let rule = format!("{market}: trade {:?}: {rule}", row.trade_id);
            if !lenient {
                return Err(SourceError::Line {
                    file: file.into(),
                    line,
                    rule,
                });
            }
            tracing::warn!("{}:{line}: {rule} (skipped)", file.display());
            report.skip(SUB_RESOLUTION);
            return Ok(());
        }
        if self.is_duplicate(market, &row) {
            report.market(market).duplicate_trades += 1;
            return Ok(());
        }
        w.trade(market, row)?;
        report.market(market).trades += 1;
        Ok(())
    }
}

/// The ids of one market seen so far (see the module docs).
#[derive(Debug, Default)]
struct SeenIds {
    /// The highest range `(first, last)` (where consecutive ids land), kept out of the map.
    top: Option<(u64, u64)>,
    /// The ranges below `top`: first id -> last id, disjoint and not adjacent.
    below: BTreeMap<u64, u64>,
    /// Exchange time of the non-numeric ids in `at_ts`.
    ts: Nanos,
    /// Non-numeric ids seen at `ts`.
    at_ts: Vec<Box<str>>,
}

/// `id` as a number when it is written as one canonically (so `"7"` and `"007"` stay distinct
/// ids, as the strings are).
fn numeric(id: &str) -> Option<u64> {
    let canonical = !id.is_empty()
        && id.len() <= 20
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    canonical.then(|| id.parse().ok()).flatten()
}

impl SeenIds {
    /// Records `id` at `ts`; true when it was already seen.
    fn insert(&mut self, ts: Nanos, id: &str) -> bool {
        match numeric(id) {
            Some(n) => self.insert_numeric(n),
            None => {
                if ts != self.ts {
                    self.ts = ts;
                    self.at_ts.clear();
                }
                if self.at_ts.iter().any(|s| &**s == id) {
                    return true;
                }
                self.at_ts.push(id.into());
                false
            }
        }
    }

    fn insert_numeric(&mut self, n: u64) -> bool {
        let Some((first, last)) = self.top else {
            self.top = Some((n, n));
            return false;
        };
        if (first..=last).contains(&n) {
            return true;
        }
        if Some(n) == last.checked_add(1) {
            self.top = Some((first, n));
        } else if n > last {
            self.below.insert(first, last);
            self.top = Some((n, n));
            self.bound();
        } else if n + 1 == first {
            // Grows down; joins the range below when it now touches it.
            let joined = self.below.last_key_value().filter(|(_, e)| **e + 1 == n);
            let start = joined.map_or(n, |(s, _)| *s);
            if joined.is_some() {
                self.below.pop_last();
            }
            self.top = Some((start, last));
        } else {
            return insert_range(&mut self.below, n);
        }
        false
    }

    /// Forgets the lowest ranges beyond [`MAX_RANGES`].
    fn bound(&mut self) {
        while self.below.len() >= MAX_RANGES {
            self.below.pop_first();
        }
    }
}

/// Inserts `n` into disjoint, non-adjacent ranges, joining neighbours; true when present.
fn insert_range(ranges: &mut BTreeMap<u64, u64>, n: u64) -> bool {
    let before = ranges.range(..=n).next_back().map(|(s, e)| (*s, *e));
    if before.is_some_and(|(_, e)| e >= n) {
        return true;
    }
    let after = n
        .checked_add(1)
        .and_then(|a| ranges.get(&a).map(|e| (a, *e)));
    let start = match before {
        Some((s, e)) if e + 1 == n => s,
        _ => n,
    };
    let end = after.map_or(n, |(a, e)| {
        ranges.remove(&a);
        e
    });
    ranges.insert(start, end);
    if ranges.len() > MAX_RANGES {
        ranges.pop_first();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(seq: &[&str]) -> Vec<bool> {
        let mut s = SeenIds::default();
        seq.iter().map(|id| s.insert(1, id)).collect()
    }

    #[test]
    fn consecutive_ids_are_one_range_and_repeats_are_found() {
        let mut s = SeenIds::default();
        for n in 100..10_100u64 {
            assert!(!s.insert(n as i64, &n.to_string()));
        }
        assert!(s.below.is_empty());
        assert_eq!(s.top, Some((100, 10_099)));
        for n in 100..10_100u64 {
            assert!(s.insert(0, &n.to_string()), "{n}");
        }
    }

    #[test]
    fn out_of_order_ids_join_ranges_exactly() {
        // A naive set is the oracle.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut s = SeenIds::default();
        let mut oracle = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = 1_000 + state % 3_000;
            assert_eq!(s.insert(0, &n.to_string()), !oracle.insert(n), "{n}");
        }
        let mut all: Vec<(u64, u64)> = s.below.iter().map(|(a, b)| (*a, *b)).collect();
        all.extend(s.top);
        let covered: u64 = all.iter().map(|(a, b)| b - a + 1).sum();
        assert_eq!(covered, oracle.len() as u64);
        assert!(
            all.windows(2).all(|w| w[0].1 + 1 < w[1].0),
            "disjoint, not adjacent"
        );
    }

    #[test]
    fn other_ids_compare_at_their_timestamp_only() {
        assert_eq!(
            ids(&["a", "b", "a", "007", "7", "007"]),
            [false, false, true, false, false, true]
        );
        let mut s = SeenIds::default();
        assert!(!s.insert(1, "x"));
        assert!(!s.insert(2, "x"), "another timestamp: not compared");
        assert!(s.insert(2, "x"));
    }

    #[test]
    fn ranges_are_bounded() {
        let mut s = SeenIds::default();
        for n in 0..3 * MAX_RANGES as u64 {
            s.insert(0, &(2 * n).to_string());
        }
        assert!(s.below.len() < MAX_RANGES);
        for n in 0..3 * MAX_RANGES as u64 {
            s.insert(0, &(10_000_000 - 2 * n).to_string());
        }
        assert!(s.below.len() <= MAX_RANGES);
    }

    #[test]
    fn sizes_below_the_resolution_are_named() {
        assert!(sub_resolution(0.00000001).is_none());
        assert!(sub_resolution(0.000000001).is_none());
        let r = sub_resolution(0.000000000001).unwrap();
        assert!(r.contains("1e-12") && r.contains("resolution 1e-9"), "{r}");
        assert!(sub_resolution(1e10).unwrap().contains("range"));
        assert!(sub_resolution(0.0).unwrap().contains("must be > 0"));
        assert!(sub_resolution(f64::NAN).unwrap().contains("must be > 0"));
    }
}
