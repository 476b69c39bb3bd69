//! What a run reports while it goes: an observer the engine calls per decoded batch, per file
//! and per checkpoint (never per record), so an application can drive a progress display or
//! export metrics without the engine depending on either.
//!
//! Every method has a no-op default; [`NoObserver`] is the observer of runs nobody watches. The
//! methods are called from the worker threads, so implementations must be cheap and
//! thread-safe (atomics, or a metrics library's own counters).

use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::Nanos;
use std::collections::BTreeMap;
use std::time::Duration;

/// Receives a run's progress.
pub trait RunObserver: Send + Sync {
    /// `rows` bronze rows of `dataset` of `market` were decoded (one call per decoded batch).
    fn rows_in(&self, _dataset: Dataset, _market: &Market, _rows: u64) {}

    /// `files` bronze files were opened (one call per partition opened).
    fn files_opened(&self, _files: u64) {}

    /// The market operators' input frontier (the event-time watermark) reached `ns`.
    fn watermark(&self, _ns: Nanos) {}

    /// A bronze file of `market` had `rows` rows behind the watermark (never applied).
    fn late_file(&self, _market: &Market, _rows: u64) {}

    /// The cumulative quality counters of `market`, as its checkpoint records them.
    fn quality(&self, _market: &Market, _counters: &BTreeMap<String, u64>) {}

    /// An output file of `dataset` (`silver/book`, `gold/bars/bar=time_1m`, ...) with `rows`
    /// rows of `market` was committed.
    fn rows_out(&self, _dataset: &str, _market: &Market, _rows: u64) {}

    /// A market checkpoint was committed; committing it took `took`.
    fn checkpoint_committed(&self, _took: Duration) {}
}

/// The observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl RunObserver for NoObserver {}
