//! One Parquet file, written whole or not at all (CONTRACT §1).
//!
//! The file is written to `.<name>.inprogress` in the target directory (a leading `.` and no
//! `.parquet` suffix: no reader glob picks it up), fsynced, renamed to `<name>` and the directory
//! fsynced. Dropping an uncommitted file deletes the staged bytes.

use crate::fault::{self, Step};
use crate::{Result, SinkError};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How Parquet files are encoded.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Rows per row group (and the writer's in-memory buffer of Arrow batches). 64 Ki rows keeps
    /// DuckDB/Polars scans parallel per row group while bounding writer memory.
    pub row_group_rows: usize,
    /// zstd level (1: the fast strategy; level 3 cost ~40% of run time for ~10% smaller files).
    pub zstd_level: i32,
    /// Key-value metadata written in the footer (run parameters, producer, contract version).
    pub metadata: Vec<(String, String)>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 64 * 1024,
            zstd_level: 1,
            metadata: Vec::new(),
        }
    }
}

impl WriteOptions {
    /// Writer properties: zstd, page statistics, dictionary only for low-cardinality strings.
    pub fn properties(&self, schema: &SchemaRef) -> WriterProperties {
        let mut kv = vec![
            KeyValue::new(
                "daedalus.producer".into(),
                daedalus_model::PRODUCER.to_string(),
            ),
            KeyValue::new(
                "daedalus.contract_version".into(),
                daedalus_model::CONTRACT_VERSION.to_string(),
            ),
        ];
        kv.extend(
            self.metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        let mut b = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(self.zstd_level).unwrap_or_default(),
            ))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_dictionary_enabled(false)
            .set_key_value_metadata(Some(kv));
        for f in schema.fields() {
            if matches!(f.name().as_str(), "side" | "symbol_norm") {
                b = b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), true);
            }
        }
        b.build()
    }
}

/// Name under which a file is staged before its rename.
pub(crate) fn staged_name(final_name: &str) -> String {
    format!(".{final_name}.inprogress")
}

/// True for a staged (not yet committed) file name.
pub(crate) fn is_staged_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".inprogress")
}

/// A Parquet file being written; visible only after [`AtomicParquetFile::commit`].
pub struct AtomicParquetFile {
    schema: SchemaRef,
    staged: PathBuf,
    target: PathBuf,
    writer: Option<ArrowWriter<File>>,
    rows: u64,
    /// Set once the staged file is handed to a [`StagedFile`] (which then owns its removal).
    handed_off: bool,
    /// Batches not yet encoded, and their rows. Encoding a whole row group at once, then
    /// flushing it, keeps the Parquet column writers (each with a ZSTD context of 1-2 MB) alive
    /// only during that call instead of for as long as the file is open: with hundreds of
    /// partitions open at once that is the difference between flat and growing memory.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    row_group_rows: usize,
}

impl AtomicParquetFile {
    /// Starts `dir/name`, creating `dir`.
    pub fn create(dir: &Path, name: &str, schema: SchemaRef, opts: &WriteOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| SinkError::Io {
            path: dir.into(),
            source,
        })?;
        let staged = dir.join(staged_name(name));
        let target = dir.join(name);
        let file = fault::check(Step::StageWrite, &staged)
            .and_then(|()| File::create(&staged))
            .map_err(|source| SinkError::Io {
                path: staged.clone(),
                source,
            })?;
        let props = opts.properties(&schema);
        // Also in the Arrow schema's metadata: Arrow readers (pyarrow, Polars) take schema
        // metadata from the embedded `ARROW:schema`, not from the file's key-value list.
        let mut md = schema.metadata().clone();
        if let Some(kv) = props.key_value_metadata() {
            for e in kv {
                md.insert(e.key.clone(), e.value.clone().unwrap_or_default());
            }
        }
        let schema = std::sync::Arc::new(schema.as_ref().clone().with_metadata(md));
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            SinkError::Parquet {
                path: staged.clone(),
                source,
            }
        })?;
        Ok(AtomicParquetFile {
            schema,
            staged,
            target,
            writer: Some(writer),
            handed_off: false,
            rows: 0,
            pending: Vec::new(),
            pending_rows: 0,
            row_group_rows: opts.row_group_rows.max(1),
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        assert!(self.writer.is_some(), "write after commit");
        let batch = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())?;
        self.rows += batch.num_rows() as u64;
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.row_group_rows {
            self.encode_pending()?;
        }
        Ok(())
    }

    /// Encodes the buffered batches as row group(s) and flushes them to the file.
    fn encode_pending(&mut self) -> Result<()> {
        let w = self.writer.as_mut().expect("write after commit");
        let io = |source| SinkError::Io {
            path: self.staged.clone(),
            source,
        };
        if !self.pending.is_empty() {
            fault::check(Step::StageWrite, &self.staged).map_err(io)?;
        }
        for b in self.pending.drain(..) {
            w.write(&b).map_err(|source| SinkError::Parquet {
                path: self.staged.clone(),
                source,
            })?;
        }
        fault::check(Step::Flush, &self.staged).map_err(io)?;
        w.flush().map_err(|source| SinkError::Parquet {
            path: self.staged.clone(),
            source,
        })?;
        self.pending_rows = 0;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes the footer and fsyncs the staged file, releasing the writer's memory, but does not
    /// make it visible yet: [`StagedFile::commit`] does.
    pub fn finish(mut self) -> Result<StagedFile> {
        self.encode_pending()?;
        let io = |source| SinkError::Io {
            path: self.staged.clone(),
            source,
        };
        fault::check(Step::Flush, &self.staged).map_err(io)?;
        let w = self.writer.take().expect("finish twice");
        let file = w.into_inner().map_err(|source| SinkError::Parquet {
            path: self.staged.clone(),
            source,
        })?;
        fault::check(Step::Fsync, &self.staged)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        self.handed_off = true;
        Ok(StagedFile {
            staged: self.staged.clone(),
            target: self.target.clone(),
            committed: false,
        })
    }

    /// Finishes the file, fsyncs it, renames it into place and fsyncs the directory.
    pub fn commit(self) -> Result<PathBuf> {
        self.finish()?.commit()
    }
}

/// A complete, fsynced file still under its staged name; removed if dropped uncommitted.
#[derive(Debug)]
pub struct StagedFile {
    staged: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Renames it into place and fsyncs the directory; removed if the rename fails.
    pub fn commit(mut self) -> Result<PathBuf> {
        self.rename_into_place()
    }

    /// Renames it into place and fsyncs the directory, for a file a committed checkpoint already
    /// lists: whatever fails, the staged file is never removed (recovery rolls it forward).
    pub fn publish(mut self) -> Result<PathBuf> {
        self.committed = true;
        self.rename_into_place()
    }

    /// Leaves the staged file on disk (a committed checkpoint lists it: recovery rolls it
    /// forward).
    pub fn keep(mut self) {
        self.committed = true;
    }

    /// The staged path.
    pub fn staged(&self) -> &Path {
        &self.staged
    }

    fn rename_into_place(&mut self) -> Result<PathBuf> {
        fault::check(Step::Rename, &self.target)
            .and_then(|()| std::fs::rename(&self.staged, &self.target))
            .map_err(|source| SinkError::Io {
                path: self.target.clone(),
                source,
            })?;
        self.committed = true;
        if let Some(dir) = self.target.parent() {
            fsync_dir(dir)?;
        }
        Ok(self.target.clone())
    }
}

impl StagedFile {
    /// `(staged, target)` paths, handing the rename over to the caller (an ingest commit
    /// journal): the staged file is no longer removed when this value is dropped.
    pub fn into_paths(mut self) -> (PathBuf, PathBuf) {
        self.committed = true;
        (self.staged.clone(), self.target.clone())
    }
}

/// Removes an uncommitted staged file (best effort: what stays is a dot-file no reader lists,
/// which the next run's recovery removes).
pub(crate) fn remove_staged(path: &Path) {
    // Ignored: called from `Drop`, and a staged file left behind is harmless (see above).
    let _ = fault::check(Step::Cleanup, path).and_then(|()| std::fs::remove_file(path));
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            remove_staged(&self.staged);
        }
    }
}

impl Drop for AtomicParquetFile {
    fn drop(&mut self) {
        if !self.handed_off {
            // Not committed: never leave a partial file behind.
            remove_staged(&self.staged);
        }
    }
}

/// fsyncs a directory so a rename in it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    fault::check(Step::DirFsync, dir)
        .and_then(|()| File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|source| SinkError::Io {
            path: dir.into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let s = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(s, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap()
    }

    #[test]
    fn commit_makes_file_visible_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch();
        let mut f =
            AtomicParquetFile::create(dir.path(), "a.parquet", b.schema(), &Default::default())
                .unwrap();
        f.write(&b).unwrap();
        assert!(dir.path().join(".a.parquet.inprogress").exists());
        assert!(!dir.path().join("a.parquet").exists());
        f.commit().unwrap();
        assert!(dir.path().join("a.parquet").exists());
        assert!(!dir.path().join(".a.parquet.inprogress").exists());

        let mut g =
            AtomicParquetFile::create(dir.path(), "b.parquet", b.schema(), &Default::default())
                .unwrap();
        g.write(&b).unwrap();
        drop(g);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["a.parquet".to_string()]);
    }
}
