//! [`OutputLayout`]: what the sinks need to know about one market's outputs — its partition ids,
//! `symbol_norm`, and the configured column families (MLOFI depth, window widths) and specs that
//! shape the silver and gold schemas. The dataflow builds it from the pipeline's parameters, so
//! the sinks never see the feature machines' configuration types.

use crate::time::Nanos;
use serde::{Deserialize, Serialize};

/// The output layout of one market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLayout {
    /// Exchange id (partition value).
    pub exchange: String,
    /// Symbol (partition value).
    pub symbol: String,
    /// `symbol_norm` written to every silver and gold row.
    pub symbol_norm: String,
    /// MLOFI depth M (`mlofi_1 ..= mlofi_M` in `silver/book` and `silver/intervals`).
    pub mlofi_levels: usize,
    /// Trailing OFI windows of `silver/book` (`ofi_<W>`), in column order.
    pub book_windows: Vec<Nanos>,
    /// Trailing L1 OFI windows of `silver/ticker` (`ofi_l1_<W>`), in column order.
    pub ticker_windows: Vec<Nanos>,
    /// TFI windows of `silver/trades` (`tfi_<W>`), in column order.
    pub trade_windows: Vec<Nanos>,
    /// Interval specs (`silver/intervals/interval=<spec>`), in the pipeline's grid order.
    pub intervals: Vec<String>,
    /// Bar spec names (`gold/bars/bar=<name>`), in the pipeline's builder order.
    pub bars: Vec<String>,
}
