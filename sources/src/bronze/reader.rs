//! [`BronzeFileReader`]: one bronze file opened, its schema checked against CONTRACT §2, and the
//! per-row-group bounds of the ordering clock read from the footer statistics. Those bounds let
//! the dataflow source hold its capability at a true event-time lower bound of everything it has
//! not sent yet.

use super::clock::OrderClock;
use crate::error::{Result, SourceError};
use arrow_array::RecordBatch;
use daedalus_model::datasets::bronze_schema;
use daedalus_model::rows::Dataset;
use daedalus_model::time::Nanos;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;
use std::fs::File;
use std::path::{Path, PathBuf};

/// An open bronze file: schema checked, footer read, row-group time bounds known.
pub struct BronzeFileReader {
    path: PathBuf,
    dataset: Dataset,
    file: File,
    meta: ArrowReaderMetadata,
    /// Per row group: (rows, lower bound of the ordering clock).
    groups: Vec<(usize, Nanos)>,
    /// Upper bound of the ordering clock over the file (footer statistics), if every row group
    /// has statistics.
    max_time: Option<Nanos>,
    /// Columns read (`None`: all). Set by [`BronzeFileReader::skip_trade_ids`].
    projection: Option<ProjectionMask>,
}

fn schema_detail(expected: &arrow_schema::Schema, got: &arrow_schema::Schema) -> Option<String> {
    for f in expected.fields() {
        match got.field_with_name(f.name()) {
            Err(_) => return Some(format!("missing column `{}`", f.name())),
            Ok(g) => {
                let same = g.data_type() == f.data_type()
                    || (f.name() == "side" && g.data_type() == &arrow_schema::DataType::Utf8);
                if !same {
                    return Some(format!(
                        "column `{}` is {} (expected {})",
                        f.name(),
                        g.data_type(),
                        f.data_type()
                    ));
                }
            }
        }
    }
    None
}

/// Per row group `(rows, lower bound of the ordering clock)` from the footer statistics
/// (`date_lower_bound` where a group has none), and the clock's upper bound over the file
/// (`None` unless every group has statistics).
fn clock_bounds(
    pq_meta: &ParquetMetaData,
    clock: OrderClock,
    date_lower_bound: Nanos,
) -> (Vec<(usize, Nanos)>, Option<Nanos>) {
    let col_name = match clock {
        OrderClock::Event => "ts_event",
        OrderClock::Receive => "ts_recv",
    };
    let col_idx = pq_meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == col_name);
    let mut groups = Vec::with_capacity(pq_meta.num_row_groups());
    let mut max_time: Option<Nanos> = Some(Nanos::MIN);
    for rg in pq_meta.row_groups() {
        let stats = || match col_idx.and_then(|i| rg.column(i).statistics()) {
            Some(Statistics::Int64(v)) => Some(v),
            _ => None,
        };
        let max = stats().and_then(|v| v.max_opt().copied());
        max_time = match (max_time, max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        let min = stats()
            .and_then(|v| v.min_opt().copied())
            .unwrap_or(date_lower_bound);
        groups.push((rg.num_rows() as usize, min));
    }
    (groups, max_time)
}

impl BronzeFileReader {
    /// Opens `path` as bronze `dataset`; `date_lower_bound` is used for row groups without
    /// statistics (a conservative bound: the partition's date start, minus a day for the receive
    /// clock which may precede event time).
    pub fn open(
        path: &Path,
        dataset: Dataset,
        clock: OrderClock,
        date_lower_bound: Nanos,
    ) -> Result<Self> {
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.into(),
            source,
        })?;
        let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|source| {
            SourceError::Parquet {
                path: path.into(),
                source,
            }
        })?;
        if let Some(detail) = schema_detail(&bronze_schema(dataset), meta.schema()) {
            return Err(SourceError::Schema {
                path: path.into(),
                dataset: dataset.name(),
                detail,
            });
        }
        let (groups, max_time) = clock_bounds(meta.metadata(), clock, date_lower_bound);
        Ok(BronzeFileReader {
            path: path.into(),
            dataset,
            file,
            meta,
            groups,
            max_time,
            projection: None,
        })
    }

    /// Reads trade files without their `trade_id` column (its presence and type are still
    /// checked at open): ids feed only `silver/trades` and error messages, and the strings are
    /// the costliest column to decode. A no-op for other datasets.
    pub fn skip_trade_ids(&mut self) {
        if self.dataset != Dataset::Trades {
            return;
        }
        let descr = self.meta.metadata().file_metadata().schema_descr_ptr();
        let leaves: Vec<usize> = descr
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name() != "trade_id")
            .map(|(i, _)| i)
            .collect();
        self.projection = Some(ProjectionMask::leaves(&descr, leaves));
    }

    /// Upper bound of the ordering clock over the whole file (`None`: no statistics). For the
    /// book, the effective time is a running maximum of `ts_event`, so the `ts_event` maximum
    /// bounds it too.
    pub fn max_time(&self) -> Option<Nanos> {
        self.max_time
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Row groups: (rows, lower bound of the ordering clock).
    pub fn groups(&self) -> &[(usize, Nanos)] {
        &self.groups
    }

    /// Reads row group `i` as record batches of at most `batch_rows` rows.
    pub fn read_group(&self, i: usize, batch_rows: usize) -> Result<Vec<RecordBatch>> {
        let f = self.file.try_clone().map_err(|source| SourceError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, self.meta.clone())
            .with_row_groups(vec![i])
            .with_batch_size(batch_rows.max(1));
        if let Some(p) = &self.projection {
            builder = builder.with_projection(p.clone());
        }
        let reader = builder.build().map_err(|source| SourceError::Parquet {
            path: self.path.clone(),
            source,
        })?;
        reader
            .map(|b| {
                b.map_err(|source| SourceError::Arrow {
                    path: self.path.clone(),
                    source,
                })
            })
            .collect()
    }
}
