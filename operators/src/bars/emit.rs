//! Turning a closed bar into its `gold/bars` row: `bar_seq` within the UTC date of `ts_open`,
//! the bar-level Kyle lambda over this builder's bars, and the ratios of the accumulated sums.

use super::acc::Acc;
use super::book_log::BookAggregates;
use super::row::{AfmlAudit, BarRow};
use crate::kyle::RollingKyle;
use daedalus_model::fixed::{i128_to_f64, units_to_f64};
use daedalus_model::time::{Date, Nanos};

/// A bar ready to be emitted.
pub(super) struct ClosedBar {
    pub(super) acc: Acc,
    pub(super) ts_open: Nanos,
    pub(super) ts_close: Nanos,
    pub(super) complete: bool,
    pub(super) book: BookAggregates,
    pub(super) audit: Option<AfmlAudit>,
}

/// State carried from one emitted bar to the next.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Emitter {
    pub(super) prev_mid_close: Option<f64>,
    pub(super) emitted_any: bool,
    pub(super) kyle: RollingKyle,
    pub(super) seq_date: Option<Date>,
    pub(super) seq: i64,
}

impl Emitter {
    /// Kyle lambda over the last `kyle_window` bars.
    pub(super) fn new(kyle_window: usize) -> Self {
        Emitter {
            prev_mid_close: None,
            emitted_any: false,
            kyle: RollingKyle::new(kyle_window),
            seq_date: None,
            seq: 0,
        }
    }

    /// Appends the row of `bar`; `vpin` is the value of the last bucket completed before its end.
    pub(super) fn emit(
        &mut self,
        bar: ClosedBar,
        vpin: Option<f64>,
        out: &mut impl Extend<BarRow>,
    ) {
        let ClosedBar {
            acc,
            ts_open,
            ts_close,
            complete,
            book,
            audit,
        } = bar;
        let date = Date::of_nanos(ts_open);
        if self.seq_date != Some(date) {
            self.seq_date = Some(date);
            self.seq = 0;
        }
        let signed = acc.buy - acc.sell;
        let mid_change = match (book.mid_close, self.prev_mid_close) {
            (Some(a), Some(b)) if self.emitted_any => Some(a - b),
            _ => None,
        };
        let kyle = self
            .kyle
            .push(mid_change.map(|y| (units_to_f64(signed), y)));
        self.prev_mid_close = book.mid_close;
        self.emitted_any = true;
        let has = acc.open.is_some();
        let volume = units_to_f64(acc.volume);
        out.extend(Some(BarRow {
            ts_open,
            ts_close,
            first_trade_ts: acc.first_ts,
            last_trade_ts: acc.last_ts,
            bar_seq: self.seq,
            is_complete: complete,
            open: acc.open,
            high: has.then_some(acc.high),
            low: has.then_some(acc.low),
            close: acc.close,
            vwap: (acc.volume != 0).then(|| acc.quote / volume),
            volume,
            quote_volume: acc.quote,
            trade_count: acc.count,
            trade_count_started: acc.started,
            buy_volume: units_to_f64(acc.buy),
            sell_volume: units_to_f64(acc.sell),
            unknown_volume: units_to_f64(acc.unknown),
            buy_count: acc.buy_n,
            sell_count: acc.sell_n,
            unknown_count: acc.unknown_n,
            ofi: units_to_f64(book.ofi),
            signed_volume: units_to_f64(signed),
            tfi: (acc.buy + acc.sell != 0)
                .then(|| i128_to_f64(signed) / i128_to_f64(acc.buy + acc.sell)),
            vpin,
            kyle_lambda: kyle.map(|k| k.lambda),
            mid_open: book.mid_open,
            mid_close: book.mid_close,
            spread_mean: book.spread_mean,
            audit,
        }));
        self.seq += 1;
    }
}
