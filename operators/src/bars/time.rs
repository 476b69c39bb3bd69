//! Time bars on the epoch grid: slot `k` is `[k·D, (k+1)·D)` (or `(k·D, (k+1)·D]` left-open).
//! A bar is emitted when a trade of a later slot proves it closed, with every empty slot in
//! between as a volume-0 row.

use super::acc::Acc;
use super::emit::ClosedBar;
use super::row::BarRow;
use super::shared::{Shared, Trade};
use super::spec::TimeBarClosure;
use daedalus_model::time::Nanos;

/// Time-bar state: the grid and the slot of the open bar.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TimeBars {
    pub(super) width: Nanos,
    closure: TimeBarClosure,
    /// Slot of the open bar.
    pub(super) slot: Option<i64>,
}

impl TimeBars {
    pub(super) fn new(width: Nanos, closure: TimeBarClosure) -> Self {
        TimeBars {
            width,
            closure,
            slot: None,
        }
    }

    fn slot_of(&self, ts: Nanos) -> i64 {
        match self.closure {
            TimeBarClosure::RightOpen => ts.div_euclid(self.width),
            TimeBarClosure::LeftOpen => (ts - 1).div_euclid(self.width),
        }
    }

    fn slot_open(&self, k: i64) -> Nanos {
        k * self.width
    }

    /// Start of the slot holding `ts`.
    pub(super) fn slot_start(&self, ts: Nanos) -> Nanos {
        self.slot_open(self.slot_of(ts))
    }

    /// `ts_open` of the open bar.
    pub(super) fn pending_since(&self) -> Option<Nanos> {
        self.slot.map(|k| self.slot_open(k))
    }

    /// The slot of a trade at `ts`. Most trades fall in the open slot: its bounds are tested
    /// instead of dividing.
    #[inline]
    fn trade_slot(&self, ts: Nanos) -> i64 {
        let Some((open, lo)) = self
            .slot
            .and_then(|open| Some((open, open.checked_mul(self.width)?)))
        else {
            return self.slot_of(ts);
        };
        let in_open = match self.closure {
            TimeBarClosure::RightOpen => ts >= lo && ts - lo < self.width,
            TimeBarClosure::LeftOpen => ts > lo && ts - lo <= self.width,
        };
        if in_open { open } else { self.slot_of(ts) }
    }

    /// A trade: closes the open bar and every empty one before the trade's slot (VPIN as of
    /// trades before their ends: this trade is not yet counted), then adds the trade.
    #[inline]
    pub(super) fn on_trade(
        &mut self,
        s: &mut Shared,
        t: Trade,
        vpin_after: Option<f64>,
        out: &mut impl Extend<BarRow>,
    ) {
        let k = self.trade_slot(t.ts);
        match self.slot {
            Some(open) if k > open => {
                let acc = s.acc.take().unwrap_or_default();
                self.emit_slot(s, acc, open, true, out);
                for e in open + 1..k {
                    self.emit_slot(s, Acc::default(), e, true, out);
                }
                self.slot = Some(k);
            }
            Some(_) => {}
            None => {
                self.slot = Some(k);
                s.book.trim(self.slot_open(k));
            }
        }
        s.acc
            .get_or_insert_with(Acc::default)
            .add(t.ts, t.price, t.size.0, t.side, true);
        s.vpin = vpin_after;
    }

    /// A time bar's book aggregates cover its slot.
    fn emit_slot(
        &self,
        s: &mut Shared,
        acc: Acc,
        k: i64,
        complete: bool,
        out: &mut impl Extend<BarRow>,
    ) {
        let (t0, t1) = (self.slot_open(k), self.slot_open(k + 1));
        let inclusive_end = self.closure == TimeBarClosure::LeftOpen;
        let book = s.book.aggregates(t0, t0, t1, inclusive_end);
        s.emit(
            ClosedBar {
                acc,
                ts_open: t0,
                ts_close: t1,
                complete,
                book,
                audit: None,
            },
            out,
        );
    }

    /// End of data: emits the open bar with `is_complete = false`.
    pub(super) fn finish(&mut self, s: &mut Shared, out: &mut impl Extend<BarRow>) {
        let Some(acc) = s.acc.take() else { return };
        if let Some(k) = self.slot.take() {
            self.emit_slot(s, acc, k, false, out);
        }
    }
}
