//! The engine's error: what planning or executing a run can fail with. Each variant names what
//! was being done; the underlying error is its `source` (print the chain, e.g. with `{:#}` of
//! `anyhow`, to see both).
//!
//! Errors inside the dataflow (a bad bronze row, a failed commit) do not stop `execute` with an
//! `Err`: they are recorded as [`RunError`]s in [`crate::WorkerSummary::errors`], the worker stops
//! committing, and the run returns its summary.

use crate::config::ConfigError;
use daedalus_model::market::{Market, ModelError};
use daedalus_operators::PipelineError;
use daedalus_operators::bars::BarSpecError;
use daedalus_sinks::SinkError;
use daedalus_sources::SourceError;
use std::path::PathBuf;

/// Why a run could not be planned or executed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A run parameter breaks its rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An interval spec that cannot name a partition.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A bar spec that does not parse.
    #[error("--bar {spec:?}")]
    Bar {
        /// The spec.
        spec: String,
        /// Why.
        #[source]
        source: BarSpecError,
    },
    /// A consumed bronze file is gone, under `--on-late fail`.
    #[error(
        "{market}: bronze file {file} was consumed by the checkpoint and is gone (--on-late fail): restore it, or run --restate to recompute {market} without it"
    )]
    RemovedInput {
        /// The market.
        market: Market,
        /// The file, relative to the root.
        file: String,
    },
    /// A rebuild limited to a window would keep outputs computed with other parameters.
    #[error(
        "{market}: --rebuild --from/--to keeps the outputs outside the window, but they were computed with other parameters (checkpoint fingerprint {found}, now {expected}): rebuild the market whole (without --from/--to)"
    )]
    WindowFingerprint {
        /// The market.
        market: Market,
        /// Fingerprint of its checkpoint.
        found: String,
        /// Fingerprint of this run.
        expected: String,
    },
    /// A recomputation was stopped (SIGINT/SIGTERM) before it finished: nothing was replaced.
    #[error(
        "{what} stopped before it finished: nothing was replaced (the previous outputs and checkpoints stand)"
    )]
    RecomputeStopped {
        /// `rebuild` or `restatement`.
        what: &'static str,
    },
    /// A recomputation's run failed: nothing was replaced.
    #[error(
        "{what} failed, nothing was replaced (the previous outputs and checkpoints stand):\n  {errors}"
    )]
    RecomputeFailed {
        /// `rebuild` or `restatement`.
        what: &'static str,
        /// The run's errors, one per line.
        errors: String,
    },
    /// A batch run with nothing to read.
    #[error(
        "no bronze partitions under {} match the filter (datasets {datasets:?}); ingest or generate bronze first",
        dir.display()
    )]
    NoBronze {
        /// The bronze directory.
        dir: PathBuf,
        /// The datasets the run reads.
        datasets: Vec<&'static str>,
    },
    /// Reading bronze failed.
    #[error("{what}")]
    Bronze {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// The state directory or an output directory could not be used.
    #[error("{what}")]
    State {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: SinkError,
    },
    /// A checkpoint made with other output-changing parameters.
    #[error(
        "{}: checkpoint of {market} was made with different run parameters (fingerprint {found} vs {expected}): rerun with the same parameters, or --rebuild to recompute it, or use another --state-dir",
        path.display()
    )]
    Fingerprint {
        /// The checkpoint file.
        path: PathBuf,
        /// Its market.
        market: Market,
        /// The fingerprint it records.
        found: String,
        /// This run's fingerprint.
        expected: String,
    },
    /// A checkpoint whose header names another market than its path (copied or moved by hand).
    #[error(
        "{}: checkpoint is for {found}, but its path is that of {expected}: it was copied from another market; restore the market's own checkpoint or remove it and rerun with --rebuild --exchange {} --symbol {} (nothing was changed)",
        path.display(), expected.exchange, expected.symbol
    )]
    CheckpointMarket {
        /// The checkpoint file.
        path: PathBuf,
        /// The market its header names.
        found: Market,
        /// The market of its path.
        expected: Market,
    },
    /// A checkpoint written for another root (its header's root id is not this root's).
    #[error(
        "{}: checkpoint of {market} belongs to root {found}, but this root is {expected} (ROOT_ID of the state directory): it was copied from another root; restore this root's checkpoint or remove it and rerun with --rebuild (nothing was changed)",
        path.display()
    )]
    CheckpointRoot {
        /// The checkpoint file.
        path: PathBuf,
        /// Its market.
        market: Market,
        /// The root id it records.
        found: String,
        /// This root's id.
        expected: String,
    },
    /// A lock under `_daedalus/` could not be taken.
    #[error("{what}")]
    Lock {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: daedalus_sinks::lock::LockError,
    },
    /// Two markets with the same 64-bit key.
    #[error(
        "markets {0} and {1} have the same 64-bit key: rename one (this is astronomically unlikely)"
    )]
    KeyCollision(Market, Market),
    /// A market key no bronze partition or checkpoint has.
    #[error("market key {0:016x} not found under the root")]
    UnknownMarket(u64),
    /// Setting up the cluster's network failed.
    #[error("{what}")]
    Network {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// SIGINT/SIGTERM while this process waited for its cluster's other processes (issue 16):
    /// nothing was read or written.
    #[error(
        "SIGINT/SIGTERM while process {me} waited for {waiting}: stopped before the run started, nothing was written"
    )]
    StoppedConnecting {
        /// This process.
        me: usize,
        /// The processes not connected yet, with their addresses.
        waiting: String,
    },
    /// A peer process that is not one of the cluster's.
    #[error("process {me}: unexpected connection claiming process index {claimed}")]
    Peer {
        /// This process.
        me: usize,
        /// The index the peer sent.
        claimed: usize,
    },
    /// timely refused to start or a worker thread panicked.
    #[error("{0}")]
    Timely(String),
}

impl EngineError {
    pub(crate) fn bronze(what: impl Into<String>) -> impl FnOnce(SourceError) -> Self {
        let what = what.into();
        move |source| EngineError::Bronze { what, source }
    }

    pub(crate) fn state(what: impl Into<String>) -> impl FnOnce(SinkError) -> Self {
        let what = what.into();
        move |source| EngineError::State { what, source }
    }

    pub(crate) fn network(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| EngineError::Network { what, source }
    }
}

/// The message of an error with its chain of causes, `outer: inner: ...`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// An error that stopped a worker during a run, by where it arose, with its typed cause. Recorded
/// in [`crate::WorkerSummary::errors`]; its [`chain`] is what the summary and the exit message
/// print.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A market's pipeline rejected a row or its configuration (the error names the market).
    #[error(transparent)]
    Pipeline(Box<PipelineError>),
    /// Reading bronze failed.
    #[error("{what}")]
    Bronze {
        /// What was being read (a file, or `discovering bronze`).
        what: String,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// Writing or committing outputs (or a checkpoint, or `late.jsonl`) failed.
    #[error("{what}")]
    Sink {
        /// What was being done (`checkpoint of binance/BTCUSDT`, ...).
        what: String,
        /// Why: the file and the OS error.
        #[source]
        source: SinkError,
    },
    /// An engine error (run state, market registry, recovery).
    #[error(transparent)]
    Engine(Box<EngineError>),
    /// The `adv` rule could not derive a day's VPIN bucket volume.
    #[error("{market}: adv rule")]
    Adv {
        /// The market.
        market: Market,
        /// Why.
        #[source]
        source: Box<EngineError>,
    },
    /// A market's checkpointed state does not decode.
    #[error(
        "{}: market state does not decode: the checkpoint is from an incompatible build; rerun with --rebuild for {market}",
        path.display()
    )]
    StateDecode {
        /// The checkpoint file.
        path: PathBuf,
        /// Its market.
        market: Market,
        /// Why.
        #[source]
        source: bincode::Error,
    },
    /// Late rows under `--on-late fail`.
    #[error(
        "{}: {rows} row(s) of {market} are behind the watermark {watermark} (already checkpointed or passed): late, not applied (--on-late fail)",
        file.display()
    )]
    Late {
        /// The bronze file.
        file: PathBuf,
        /// Late rows in it.
        rows: u64,
        /// Its market.
        market: Market,
        /// The watermark, `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` UTC.
        watermark: String,
    },
    /// A broken internal invariant (a bug): which message arrived out of order, for which market.
    #[error("internal: {what} for {market}")]
    Internal {
        /// What went wrong (`batch before its Open`, ...).
        what: &'static str,
        /// The market (`exchange/symbol`, or its key when unknown).
        market: String,
    },
}

impl From<PipelineError> for RunError {
    fn from(e: PipelineError) -> Self {
        RunError::Pipeline(Box::new(e))
    }
}

impl From<EngineError> for RunError {
    fn from(e: EngineError) -> Self {
        RunError::Engine(Box::new(e))
    }
}

impl RunError {
    pub(crate) fn bronze(what: impl Into<String>) -> impl FnOnce(SourceError) -> Self {
        let what = what.into();
        move |source| RunError::Bronze { what, source }
    }

    pub(crate) fn sink(what: impl Into<String>) -> impl FnOnce(SinkError) -> Self {
        let what = what.into();
        move |source| RunError::Sink { what, source }
    }
}

/// Serialized as its full chain (the summary's `--json` output lists messages).
impl serde::Serialize for RunError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&chain(self))
    }
}
