//! Typed access to the columns of a bronze record batch, and the error for a bad value, both
//! naming the file (and the row) concerned.

use crate::error::{Result, SourceError};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{PrimitiveArray, RecordBatch};
use std::path::Path;

/// A bronze value breaking `rule` at 0-based file row `row`.
pub(super) fn bad(path: &Path, row: u64, rule: impl Into<String>) -> SourceError {
    SourceError::Value {
        path: path.into(),
        row,
        rule: rule.into(),
    }
}

/// A schema error of a column found while decoding (the dataset is not known here).
pub(super) fn column_error(path: &Path, detail: String) -> SourceError {
    SourceError::Schema {
        path: path.into(),
        dataset: "?",
        detail,
    }
}

/// Column `name` as `timestamp(ns)`.
pub(super) fn ts_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a PrimitiveArray<TimestampNanosecondType>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| column_error(path, format!("missing column `{name}`")))?;
    col.as_primitive_opt::<TimestampNanosecondType>()
        .ok_or_else(|| column_error(path, format!("column `{name}` is not timestamp(ns)")))
}

/// Column `name` as `float64`.
pub(super) fn f64_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a PrimitiveArray<Float64Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| column_error(path, format!("column `{name}` missing or not float64")))
}

/// Column `name` as `uint64`.
pub(super) fn u64_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a PrimitiveArray<UInt64Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| column_error(path, format!("column `{name}` missing or not uint64")))
}
