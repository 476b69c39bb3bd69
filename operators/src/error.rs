//! [`PipelineError`]: why a market's pipeline rejected its configuration or a row, with the
//! market and the row named. This is the error `daedalus-operators` hands across its boundary;
//! the machines' own errors ([`BookError`], [`TradeError`], [`IntervalError`]) are its causes.

use crate::book::BookError;
use crate::intervals::IntervalError;
use crate::trades::TradeError;
use daedalus_model::time::Nanos;

/// A market pipeline error. The cause's text is part of the message (the run summary prints
/// messages, not chains), so it is not also reported as `source()`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// An interval grid the aggregator cannot build.
    #[error("{exchange}/{symbol}: interval grid {grid:?}: {error}")]
    Interval {
        /// Exchange id.
        exchange: String,
        /// Symbol.
        symbol: String,
        /// The grid's spec.
        grid: String,
        /// Why.
        error: IntervalError,
    },
    /// A book message with an invalid level (rejected whole; the book is left as it was).
    #[error("{exchange}/{symbol}: book message seq {seq:?} at {ts_event}: {error}")]
    Book {
        /// Exchange id.
        exchange: String,
        /// Symbol.
        symbol: String,
        /// The message's sequence number.
        seq: Option<u64>,
        /// The message's venue time.
        ts_event: Nanos,
        /// Why.
        error: BookError,
    },
    /// A trade with an invalid price or size.
    #[error("{exchange}/{symbol}: trade {id} at {ts_event}: {error}")]
    Trade {
        /// Exchange id.
        exchange: String,
        /// Symbol.
        symbol: String,
        /// The trade id.
        id: String,
        /// The trade's venue time.
        ts_event: Nanos,
        /// Why.
        error: TradeError,
    },
}
