//! Book messages remembered until the bars they belong to are emitted, and the book aggregates
//! of a bar computed from them: Σ OFI flow, mid at open and close, time-weighted spread.
//!
//! A bar's end is only known when a later trade (or the threshold) closes it, so book messages
//! are logged; emitting a bar consumes the events up to its end and folds them into the base
//! state (the mid and spread in force at `from`).

use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};

/// A book event remembered until the bars it belongs to are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct BookEv {
    pub(super) ts: Nanos,
    pub(super) ofi: i128,
    pub(super) mid: Option<f64>,
    pub(super) spread: Option<f64>,
}

/// The book aggregates of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BookAggregates {
    /// Σ exact OFI flow (`Qty` units).
    pub(super) ofi: i128,
    /// Mid in force when the bar opens.
    pub(super) mid_open: Option<f64>,
    /// Mid after the last book message before the bar's end.
    pub(super) mid_close: Option<f64>,
    /// Time-weighted mean spread over the bar (defined spans only).
    pub(super) spread_mean: Option<f64>,
}

/// The book log and the book state in force.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BookLog {
    /// Book events since `from` (time bars: from the open slot's start; other bars: since the
    /// previous bar's last trade).
    pub(super) events: Vec<BookEv>,
    /// Mid and spread in force at `from`.
    pub(super) base_mid: Option<f64>,
    pub(super) base_spread: Option<f64>,
    pub(super) from: Nanos,
    /// Current mid/spread (after every book event seen).
    pub(super) mid: Option<f64>,
    pub(super) spread: Option<f64>,
}

impl Default for BookLog {
    fn default() -> Self {
        BookLog {
            events: Vec::new(),
            base_mid: None,
            base_spread: None,
            from: Nanos::MIN,
            mid: None,
            spread: None,
        }
    }
}

/// Running state of [`BookLog::aggregates`].
struct SpreadClock {
    area: f64,
    time: i64,
    t: Nanos,
}

impl SpreadClock {
    /// Adds `spread` in force from the clock's time to `until`.
    #[inline]
    fn advance(&mut self, spread: Option<f64>, until: Nanos) {
        if let Some(s) = spread {
            let dt = until - self.t;
            if dt > 0 {
                self.area += s * dt as f64;
                self.time += dt;
            }
        }
    }
}

impl BookLog {
    /// Logs a book message at `ts`: its exact OFI flow, and the mid and spread after it.
    #[inline]
    pub(super) fn push(&mut self, ts: Nanos, ofi: i128, mid: Option<f64>, spread: Option<f64>) {
        self.events.push(BookEv {
            ts,
            ofi,
            mid,
            spread,
        });
        self.mid = mid;
        self.spread = spread;
    }

    /// Folds events before `t` into the base state.
    pub(super) fn trim(&mut self, t: Nanos) {
        let n = self.events.iter().take_while(|e| e.ts < t).count();
        if n > 0 {
            let last = self.events[n - 1];
            self.base_mid = last.mid;
            self.base_spread = last.spread;
            self.events.drain(..n);
        }
        self.from = self.from.max(t);
    }

    /// Book aggregates from the log, then drops the events used: OFI over events in
    /// `[ofi_from, to)` (`<= to` when `inclusive_end`), the mid in force at `from`, the mid after
    /// the last event, and the spread time-weighted over `[from, to)`.
    pub(super) fn aggregates(
        &mut self,
        ofi_from: Nanos,
        from: Nanos,
        to: Nanos,
        inclusive_end: bool,
    ) -> BookAggregates {
        let within = |e: &BookEv| if inclusive_end { e.ts <= to } else { e.ts < to };
        let n = self.events.iter().take_while(|e| within(e)).count();
        let mut ofi = 0i128;
        let mut clock = SpreadClock {
            area: 0.0,
            time: 0,
            t: from,
        };
        let mut cur_spread = self.base_spread;
        let mut cur_mid = self.base_mid;
        // Events before `from` only set the state in force at `from`.
        let mut mid_open = None;
        let mut opened = false;
        for e in &self.events[..n] {
            if e.ts >= ofi_from {
                ofi += e.ofi;
            }
            if e.ts >= from {
                if !opened {
                    mid_open = cur_mid;
                    opened = true;
                }
                clock.advance(cur_spread, e.ts);
                clock.t = e.ts.max(clock.t);
            }
            cur_spread = e.spread;
            cur_mid = e.mid;
        }
        if !opened {
            mid_open = cur_mid;
        }
        clock.advance(cur_spread, to);
        self.events.drain(..n);
        self.base_mid = cur_mid;
        self.base_spread = cur_spread;
        self.from = to;
        BookAggregates {
            ofi,
            mid_open,
            mid_close: cur_mid,
            spread_mean: (clock.time > 0).then(|| clock.area / clock.time as f64),
        }
    }
}
