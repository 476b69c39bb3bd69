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
//! - [`silver`]: silver and gold rows straight into Arrow builders, one batch per partition.

pub mod atomic;
pub mod bronze;
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
    /// Invalid partition value.
    #[error(transparent)]
    Model(#[from] daedalus_model::market::ModelError),
}

/// Result alias of the sinks.
pub type Result<T> = std::result::Result<T, SinkError>;
