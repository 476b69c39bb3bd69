//! [`FeatureSink`]: where a market pipeline writes its rows. The trait sits in the model, beside
//! the row types, so a sink implements it without depending on the feature machines.

use crate::features::{BarRow, BookFeatureRow, IntervalRow, TickerFeatureRow, TradeFeatureRow};
use crate::rows::TickerRow;
use crate::time::Nanos;

/// Receives the rows a pipeline produces.
pub trait FeatureSink {
    /// A silver/book row; `ts` is the ordering time, `ts_event` the venue time.
    fn book(&mut self, ts: Nanos, ts_event: Nanos, row: &BookFeatureRow);
    /// A silver/ticker row.
    fn ticker(&mut self, ts: Nanos, q: &TickerRow, row: &TickerFeatureRow);
    /// A silver/trades row.
    fn trade(
        &mut self,
        ts: Nanos,
        ts_event: Nanos,
        ts_recv: Nanos,
        id: &str,
        price: f64,
        size: f64,
        row: &TradeFeatureRow,
    );
    /// A silver/intervals row of grid `idx`.
    fn interval(&mut self, idx: usize, row: &IntervalRow);
    /// A gold/bars row of bar spec `idx`.
    fn bar(&mut self, idx: usize, row: &BarRow);
}
