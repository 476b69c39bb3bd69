//! State every bar family shares: the open bar's accumulator, the book log, the VPIN value in
//! force and the emitter, with the open/close steps of trade-driven bars (every family but time).

use super::acc::Acc;
use super::book_log::BookLog;
use super::emit::{ClosedBar, Emitter};
use super::row::{AfmlAudit, BarRow};
use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::Nanos;

/// One trade as the bar families see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trade {
    pub(super) ts: Nanos,
    pub(super) price: f64,
    pub(super) size: Qty,
    pub(super) side: TradeSide,
}

/// The shared state of one builder.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Shared {
    /// The open bar.
    pub(super) acc: Option<Acc>,
    pub(super) book: BookLog,
    /// VPIN of the last bucket completed by a trade so far.
    pub(super) vpin: Option<f64>,
    pub(super) emitter: Emitter,
}

impl Shared {
    pub(super) fn new(kyle_window: usize) -> Self {
        Shared {
            acc: None,
            book: BookLog::default(),
            vpin: None,
            emitter: Emitter::new(kyle_window),
        }
    }

    /// Emits `bar` with the VPIN in force.
    pub(super) fn emit(&mut self, bar: ClosedBar, out: &mut impl Extend<BarRow>) {
        self.emitter.emit(bar, self.vpin, out);
    }

    /// The open trade-driven bar; a new one opens with the mid in force.
    #[inline]
    pub(super) fn trade_bar(&mut self) -> &mut Acc {
        let acc = self.acc.get_or_insert_with(Acc::default);
        if acc.open.is_none() {
            acc.mid_open = self.book.mid;
        }
        acc
    }

    /// Closes the open trade-driven bar at a trade at `ts` (end `ts + 1`).
    pub(super) fn close_trade_bar(
        &mut self,
        ts: Nanos,
        audit: Option<AfmlAudit>,
        out: &mut impl Extend<BarRow>,
    ) {
        let acc = self.acc.take().expect("a trade bar is open");
        let t0 = acc.first_ts.unwrap_or(ts);
        self.emit_trade_bar(acc, t0, ts + 1, true, audit, out);
    }

    /// End of data: emits the open trade-driven bar, if any, with `is_complete = false`.
    pub(super) fn finish_trade_bar(&mut self, out: &mut impl Extend<BarRow>) {
        let Some(acc) = self.acc.take() else { return };
        let t0 = acc.first_ts.unwrap_or(0);
        let t1 = acc.last_ts.unwrap_or(t0) + 1;
        self.emit_trade_bar(acc, t0, t1, false, None, out);
    }

    /// A trade-driven bar's OFI counts book messages since the previous bar's last trade; its
    /// `mid_open` is the mid as of its first trade.
    fn emit_trade_bar(
        &mut self,
        acc: Acc,
        t0: Nanos,
        t1: Nanos,
        complete: bool,
        audit: Option<AfmlAudit>,
        out: &mut impl Extend<BarRow>,
    ) {
        let ofi_from = self.book.from.min(t0);
        let mut book = self.book.aggregates(ofi_from, t0, t1, false);
        book.mid_open = acc.mid_open;
        self.emit(
            ClosedBar {
                acc,
                ts_open: t0,
                ts_close: t1,
                complete,
                book,
                audit,
            },
            out,
        );
    }
}
