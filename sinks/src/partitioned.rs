//! Routes batches to one atomic Parquet file per partition and commits them together.
//!
//! Memory stays bounded: each open file buffers at most one row group (the Parquet writer flushes
//! a row group when it reaches [`WriteOptions::row_group_rows`]). Nothing is visible until
//! [`PartitionedWriter::commit`]; dropping the writer removes every staged file.

use crate::Result;
use crate::atomic::{AtomicParquetFile, WriteOptions};
use arrow_array::RecordBatch;
use daedalus_model::partition::Partition;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A set of per-partition files written together.
pub struct PartitionedWriter {
    root: PathBuf,
    file_name: String,
    opts: WriteOptions,
    open: BTreeMap<Partition, AtomicParquetFile>,
}

impl PartitionedWriter {
    /// A writer under `root` that names every file `file_name` (deterministic, so a rerun of the
    /// same input replaces its files instead of adding duplicates).
    pub fn new(root: &Path, file_name: &str, opts: WriteOptions) -> Self {
        PartitionedWriter {
            root: root.to_path_buf(),
            file_name: file_name.to_string(),
            opts,
            open: BTreeMap::new(),
        }
    }

    /// Appends `batch` to `partition`'s file, creating it with the batch's schema on first use.
    pub fn write(&mut self, partition: &Partition, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if !self.open.contains_key(partition) {
            let f = AtomicParquetFile::create(
                &partition.dir(&self.root),
                &self.file_name,
                batch.schema(),
                &self.opts,
            )?;
            self.open.insert(partition.clone(), f);
        }
        self.open
            .get_mut(partition)
            .expect("just inserted")
            .write(batch)
    }

    /// Finishes every file without committing it; returns `(partition, staged file, rows)` in
    /// partition order.
    pub fn finish(mut self) -> Result<Vec<(Partition, crate::atomic::StagedFile, u64)>> {
        let mut out = Vec::with_capacity(self.open.len());
        for (p, f) in std::mem::take(&mut self.open) {
            let rows = f.rows();
            out.push((p, f.finish()?, rows));
        }
        Ok(out)
    }

    /// Commits every file; returns `(partition, path, rows)` in partition order.
    pub fn commit(mut self) -> Result<Vec<(Partition, PathBuf, u64)>> {
        let mut out = Vec::with_capacity(self.open.len());
        for (p, f) in std::mem::take(&mut self.open) {
            let rows = f.rows();
            out.push((p, f.commit()?, rows));
        }
        Ok(out)
    }
}
