//! Per-worker run counters, merged by [`crate::execute`] into the summary of the run (what
//! `daedalus run`, `demo` and `bench` print).

use crate::error::RunError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counters of one worker (merged across workers and processes by the executor).
#[derive(Debug, Default, Serialize)]
pub struct WorkerSummary {
    /// Bronze rows read, by dataset rank (book, ticker, trades).
    pub rows_in: [u64; 3],
    /// Rows written per output dataset name (`silver/book`, `gold/bars/bar=time_1m`, ...).
    pub rows_out: BTreeMap<String, u64>,
    /// Files committed.
    pub files_written: u64,
    /// Bronze files opened.
    pub files_opened: u64,
    /// Markets processed.
    pub markets: u64,
    /// Per-market checkpoints committed.
    pub checkpoints: u64,
    /// Quality counters (`gaps`, `resets`, `uncrossed`, `crossed_tickers`, `late_rows`, ...).
    pub quality: BTreeMap<String, u64>,
    /// Errors that stopped this worker (file, row and rule).
    pub errors: Vec<RunError>,
    /// The run was stopped by SIGINT/SIGTERM (markets checkpointed what they applied).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// A watch run with `--restate` stopped reading because late bronze arrived.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
}

impl WorkerSummary {
    /// Records an error that stops the run.
    pub(crate) fn fail(&mut self, e: impl Into<RunError>) {
        let e = e.into();
        tracing::error!("{}", crate::error::chain(&e));
        self.errors.push(e);
    }

    /// Adds `n` to a quality counter.
    pub(crate) fn count(&mut self, key: &str, n: u64) {
        if n > 0 {
            *self.quality.entry(key.to_string()).or_default() += n;
        }
    }

    /// Merges another worker's counters.
    pub(crate) fn merge(&mut self, o: WorkerSummary) {
        for i in 0..3 {
            self.rows_in[i] += o.rows_in[i];
        }
        for (k, v) in &o.rows_out {
            *self.rows_out.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.quality {
            *self.quality.entry(k.clone()).or_default() += v;
        }
        self.files_written += o.files_written;
        self.files_opened += o.files_opened;
        self.markets += o.markets;
        self.checkpoints += o.checkpoints;
        self.errors.extend(o.errors);
    }
}
