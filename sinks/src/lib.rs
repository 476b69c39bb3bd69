//! # daedalus-sinks
//!
//! Output only: Hive-partitioned Parquet written atomically.
//!
//! - [`atomic`]: one Parquet file staged under a dot-name that no `*.parquet` glob matches,
//!   fsynced, renamed into place and the directory fsynced; removed if dropped uncommitted, so a
//!   failure never leaves a partial file behind.
//! - [`partitioned`]: routes batches to per-partition atomic files, rolling row groups so memory
//!   stays bounded, and commits all files together.
//! - [`bronze`]: bronze row types to Arrow batches and a bronze writer that splits rows into UTC
//!   date partitions.
//! - [`manifest`]: per-market checkpoints (committed-file manifest + operator state), the
//!   exactly-once commit point, and crash recovery of output directories.
//! - [`silver`]: silver and gold rows straight into Arrow builders, one batch per partition.

pub mod atomic;
pub mod bronze;
pub mod manifest;
pub mod partitioned;
pub mod silver;

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
