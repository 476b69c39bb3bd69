//! Total traded volume of a bronze `trades` partition, for the VPIN `adv` rule.

use super::columns::{bad, f64_col};
use super::discover::BronzePartition;
use crate::error::{Result, SourceError};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;

/// Total traded volume (Σ `size`) of one bronze `trades` partition, reading only the `size`
/// column. Used by the VPIN `adv` rule and the demo's bucket volumes.
pub fn partition_traded_volume(p: &BronzePartition) -> Result<f64> {
    let mut total = 0.0;
    for path in &p.files {
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.clone(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| {
            SourceError::Parquet {
                path: path.clone(),
                source,
            }
        })?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), ["size"]);
        let reader =
            builder
                .with_projection(mask)
                .build()
                .map_err(|source| SourceError::Parquet {
                    path: path.clone(),
                    source,
                })?;
        let mut row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|source| SourceError::Arrow {
                path: path.clone(),
                source,
            })?;
            let sizes = f64_col(&batch, "size", path)?;
            for &s in sizes.values() {
                if !(s.is_finite() && s > 0.0) {
                    return Err(bad(path, row, format!("size {s} must be finite and > 0")));
                }
                total += s;
                row += 1;
            }
        }
    }
    Ok(total)
}
