//! [`SourceError`], the one error type this crate returns: bad input names its file, its line
//! (recordings, 1-based) or row (bronze, 0-based) and the rule broken.

use std::path::PathBuf;

/// Errors of ingest, bronze reading and generation.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A recording line breaking a rule.
    #[error("{file}:{line}: {rule}")]
    Line {
        /// File.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The rule broken.
        rule: String,
    },
    /// A whole-file problem (unreadable, truncated, unsupported dataset).
    #[error("{file}: {rule}")]
    File {
        /// File.
        file: PathBuf,
        /// What is wrong.
        rule: String,
    },
    /// An input whose depth diffs cannot be synced (no snapshot in it and no predecessor of its
    /// market), refused in strict mode without `--allow-unsynced` (issue 16). A watcher retries
    /// it once a predecessor may have arrived.
    #[error("{file}: {rule}")]
    Unsynced {
        /// File.
        file: PathBuf,
        /// Market, counts and what to do.
        rule: String,
    },
    /// A bronze value breaking a rule (NaN, negative size, unknown side, null timestamp).
    #[error("{path}: row {row}: {rule}")]
    Value {
        /// File concerned.
        path: PathBuf,
        /// 0-based row in the file.
        row: u64,
        /// The rule broken.
        rule: String,
    },
    /// A bronze file whose schema is not the one of CONTRACT §2.
    #[error("{path}: schema does not match CONTRACT §2 bronze/{dataset}: {detail}")]
    Schema {
        /// File concerned.
        path: PathBuf,
        /// Dataset expected.
        dataset: &'static str,
        /// What differs.
        detail: String,
    },
    /// A bronze partition directory with an invalid value.
    #[error("{path}: invalid partition directory: {detail}")]
    Partition {
        /// Directory concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Filesystem error reading bronze.
    #[error("{path}: {source}")]
    Io {
        /// Path concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Corrupt or unreadable bronze Parquet.
    #[error("{path}: corrupt or unreadable Parquet: {source}")]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow error decoding bronze.
    #[error("{path}: {source}")]
    Arrow {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: arrow_schema::ArrowError,
    },
    /// Bad `daedalus gen` parameters.
    #[error("gen: {0}")]
    Config(String),
    /// Writing bronze failed.
    #[error(transparent)]
    Sink(#[from] daedalus_sinks::SinkError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SourceError>;
