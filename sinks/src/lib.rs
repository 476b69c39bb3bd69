//! # daedalus-sinks
//!
//! Output only: Hive-partitioned Parquet written atomically.
//!
//! - [`atomic`]: one Parquet file staged under a dot-name that no `*.parquet` glob matches,
//!   fsynced, renamed into place and the directory fsynced; removed if dropped uncommitted, so a
//!   failure never leaves a partial file behind.
//! - `partitioned`: routes batches to per-partition atomic files, rolling row groups so memory
//!   stays bounded, and commits all files together.
//! - [`bronze`]: the bronze writer: splits rows into UTC date partitions and encodes them.
//! - [`manifest`]: per-market checkpoints (committed-file manifest + operator state), the
//!   exactly-once commit point, and crash recovery of output directories.
//! - [`fault`]: fault injection at each commit step, compiled in only with the
//!   `fault-injection` feature (tests).
//! - [`history`]: each market's checkpoints at its `--checkpoint-every` boundaries, kept for
//!   restatement and windowed rebuilds.
//! - [`swap`]: recompute, then replace: the one-commit switch-over of a rebuilt or restated
//!   market from its shadow, and its roll-forward after a crash.
//! - [`lock`]: one writer at a time: the run, ingest and bronze locks under `_daedalus/`.
//! - [`silver`]: the per-market batcher that cuts silver and gold rows into one batch per
//!   partition.
//!
//! Schemas and encoders live beside each other in [`daedalus_model::datasets`]; this crate only
//! decides where batches go and makes them durable.

pub mod atomic;
pub mod bronze;
pub mod cross_state;
pub mod fault;
pub mod grid_run;
pub mod history;
pub mod ingest_state;
pub mod lock;
pub mod manifest;
pub(crate) mod partitioned;
pub mod silver;
pub mod swap;

pub use atomic::{AtomicParquetFile, StagedFile, WriteOptions};
pub use bronze::BronzeWriter;
pub use manifest::{Checkpoint, CheckpointHeader};
pub use silver::{OutBatch, OutRows, SilverBatcher};

/// Errors of the sinks.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Filesystem error on a path.
    #[error("{path}: {source}")]
    Io {
        /// File or directory concerned.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Parquet encoding error on a path.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// File concerned.
        path: std::path::PathBuf,
        /// Underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow error building a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A checkpoint or state directory that cannot be used (corrupt, incompatible, inconsistent).
    #[error("{path}: {detail}")]
    Checkpoint {
        /// File concerned.
        path: std::path::PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// Invalid partition value.
    #[error(transparent)]
    Model(#[from] daedalus_model::market::ModelError),
}

/// Result alias of the sinks.
pub type Result<T> = std::result::Result<T, SinkError>;
