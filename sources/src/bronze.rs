//! Bronze Parquet sources: partition discovery, pruning and columnar decoding.
//!
//! - [`discover`] walks `<root>/bronze/<dataset>/exchange=/symbol=/date=/` with directory
//!   listings only, so filters prune partitions **before any file is opened**; staged files
//!   (dot-names) are never read.
//! - [`BronzeFileReader`] opens one file (counted in [`FILES_OPENED`]), checks its schema against
//!   CONTRACT §2 and reads the per-row-group minimum of the ordering clock from the footer
//!   statistics. Those minima let the dataflow source hold its capability at a true event-time
//!   lower bound of everything it has not sent yet.
//! - [`Chunk`] is a columnar block of rows of one market and dataset (no per-row allocation,
//!   trade ids in one string buffer), serialisable so it can cross workers and processes.
//!
//! Book timestamps: CONTRACT §9.3 — the book's effective event time is the running maximum of
//! `ts_event` in stored (application) order; [`BookTimeCarry`] carries that maximum from row
//! group to row group and file to file of one partition.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_buffer::{ArrowNativeType, ScalarBuffer};
use daedalus_model::datasets::bronze_schema;
use daedalus_model::market::validate_partition_value;
use daedalus_model::partition::hive_value;
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Date, NANOS_PER_DAY, Nanos};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::file::statistics::Statistics;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Number of bronze files opened by this process (filter tests assert on it).
pub static FILES_OPENED: AtomicU64 = AtomicU64::new(0);

/// Errors reading bronze.
#[derive(Debug, thiserror::Error)]
pub enum BronzeError {
    /// Filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// Path concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Corrupt or unreadable Parquet.
    #[error("{path}: corrupt or unreadable Parquet: {source}")]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow decoding error.
    #[error("{path}: {source}")]
    Arrow {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: arrow_schema::ArrowError,
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
    /// A partition directory with an invalid value.
    #[error("{path}: invalid partition directory: {detail}")]
    Partition {
        /// Directory concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A value breaking a bronze rule (NaN, negative size, unknown side, null timestamp).
    #[error("{path}: row {row}: {rule}")]
    Value {
        /// File concerned.
        path: PathBuf,
        /// 0-based row in the file.
        row: u64,
        /// The rule broken.
        rule: String,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, BronzeError>;

/// One bronze partition (market, dataset, date) and its files in name order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BronzePartition {
    /// Dataset.
    pub dataset: Dataset,
    /// Exchange id.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// UTC date.
    pub date: Date,
    /// Committed `*.parquet` files, sorted by name (their application order).
    pub files: Vec<PathBuf>,
}

fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(BronzeError::Io {
                path: dir.into(),
                source,
            });
        }
    };
    for e in rd {
        let e = e.map_err(|source| BronzeError::Io {
            path: dir.into(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        out.push((name, e.path()));
    }
    out.sort();
    Ok(out)
}

fn part_value<'a>(name: &'a str, key: &'static str, path: &Path) -> Result<&'a str> {
    let v = hive_value(name, key).ok_or_else(|| BronzeError::Partition {
        path: path.into(),
        detail: format!("expected `{key}=<value>`"),
    })?;
    validate_partition_value(key, v).map_err(|e| BronzeError::Partition {
        path: path.into(),
        detail: e.to_string(),
    })?;
    Ok(v)
}

/// Lists bronze partitions of `datasets` under `root` whose path values pass `keep(exchange,
/// symbol, date)`, without opening any file. Sorted by (dataset, exchange, symbol, date).
pub fn discover(
    root: &Path,
    datasets: &[Dataset],
    mut keep: impl FnMut(&str, &str, Date) -> bool,
) -> Result<Vec<BronzePartition>> {
    let mut out = Vec::new();
    for &ds in datasets {
        let base = root.join("bronze").join(ds.name());
        for (ex_name, ex_path) in list_dir(&base)? {
            if ex_name.starts_with('.') {
                continue;
            }
            let exchange = part_value(&ex_name, "exchange", &ex_path)?.to_string();
            for (sy_name, sy_path) in list_dir(&ex_path)? {
                if sy_name.starts_with('.') {
                    continue;
                }
                let symbol = part_value(&sy_name, "symbol", &sy_path)?.to_string();
                for (d_name, d_path) in list_dir(&sy_path)? {
                    if d_name.starts_with('.') {
                        continue;
                    }
                    let dv = part_value(&d_name, "date", &d_path)?;
                    let date = Date::parse(dv).ok_or_else(|| BronzeError::Partition {
                        path: d_path.clone(),
                        detail: format!("date {dv:?} is not YYYY-MM-DD"),
                    })?;
                    if !keep(&exchange, &symbol, date) {
                        continue;
                    }
                    let files: Vec<PathBuf> = list_dir(&d_path)?
                        .into_iter()
                        .filter(|(n, _)| !n.starts_with('.') && n.ends_with(".parquet"))
                        .map(|(_, p)| p)
                        .collect();
                    if !files.is_empty() {
                        out.push(BronzePartition {
                            dataset: ds,
                            exchange: exchange.clone(),
                            symbol: symbol.clone(),
                            date,
                            files,
                        });
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Which timestamp orders events (CONTRACT §3: `ts_event` by default, `ts_recv` with
/// `--clock receive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrderClock {
    /// `ts_event`.
    #[default]
    Event,
    /// `ts_recv`.
    Receive,
}

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
        FILES_OPENED.fetch_add(1, Ordering::Relaxed);
        let file = File::open(path).map_err(|source| BronzeError::Io {
            path: path.into(),
            source,
        })?;
        let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|source| {
            BronzeError::Parquet {
                path: path.into(),
                source,
            }
        })?;
        let expected = bronze_schema(dataset);
        if let Some(detail) = schema_detail(&expected, meta.schema()) {
            return Err(BronzeError::Schema {
                path: path.into(),
                dataset: dataset.name(),
                detail,
            });
        }
        let col_name = match clock {
            OrderClock::Event => "ts_event",
            OrderClock::Receive => "ts_recv",
        };
        let pq_meta = meta.metadata();
        let col_idx = pq_meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == col_name);
        let mut groups = Vec::with_capacity(pq_meta.num_row_groups());
        let mut max_time: Option<Nanos> = Some(Nanos::MIN);
        for rg in pq_meta.row_groups() {
            let max = col_idx
                .and_then(|i| rg.column(i).statistics())
                .and_then(|s| match s {
                    Statistics::Int64(v) => v.max_opt().copied(),
                    _ => None,
                });
            max_time = match (max_time, max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            let min = col_idx
                .and_then(|i| rg.column(i).statistics())
                .and_then(|s| match s {
                    Statistics::Int64(v) => v.min_opt().copied(),
                    _ => None,
                })
                .unwrap_or(date_lower_bound);
            groups.push((rg.num_rows() as usize, min));
        }
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
        let f = self.file.try_clone().map_err(|source| BronzeError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, self.meta.clone())
            .with_row_groups(vec![i])
            .with_batch_size(batch_rows.max(1));
        if let Some(p) = &self.projection {
            builder = builder.with_projection(p.clone());
        }
        let reader = builder.build().map_err(|source| BronzeError::Parquet {
            path: self.path.clone(),
            source,
        })?;
        reader
            .map(|b| {
                b.map_err(|source| BronzeError::Arrow {
                    path: self.path.clone(),
                    source,
                })
            })
            .collect()
    }

    /// The dataset of this file.
    pub fn dataset(&self) -> Dataset {
        self.dataset
    }
}

/// Book side as a byte: 0 bid, 1 ask.
pub const SIDE_BID: u8 = 0;
/// Book side as a byte: 0 bid, 1 ask.
pub const SIDE_ASK: u8 = 1;

/// A column that shares the decoded Arrow buffer instead of copying it (the decode path's
/// largest copy); reads as a slice. Serializes as a sequence, as timely requires of data an
/// exchange could send to another process.
#[derive(Debug, Clone, PartialEq)]
pub struct Col<T: ArrowNativeType>(pub ScalarBuffer<T>);

impl<T: ArrowNativeType> std::ops::Deref for Col<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: ArrowNativeType> Default for Col<T> {
    fn default() -> Self {
        Col(ScalarBuffer::from(Vec::new()))
    }
}

impl<T: ArrowNativeType> From<Vec<T>> for Col<T> {
    fn from(v: Vec<T>) -> Self {
        Col(ScalarBuffer::from(v))
    }
}

impl<T: ArrowNativeType + Serialize> Serialize for Col<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, T: ArrowNativeType + Deserialize<'de>> Deserialize<'de> for Col<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Col::from)
    }
}

/// Columnar book rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BookCols {
    /// Ordering time: effective (running-max) event time, or receive time.
    pub ts: Vec<Nanos>,
    /// `ts_event`.
    pub ts_event: Col<Nanos>,
    /// `ts_recv`.
    pub ts_recv: Col<Nanos>,
    /// `seq`.
    pub seq: Vec<Option<u64>>,
    /// `prev_seq`.
    pub prev_seq: Vec<Option<u64>>,
    /// `is_snapshot`.
    pub is_snapshot: Vec<bool>,
    /// [`SIDE_BID`] or [`SIDE_ASK`].
    pub side: Vec<u8>,
    /// `price`.
    pub price: Col<f64>,
    /// `size`.
    pub size: Col<f64>,
}

/// Columnar trade rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TradeCols {
    /// Which column is the ordering time ([`TradeCols::ts`]): trades order by `ts_event` or
    /// `ts_recv` as stored, so the ordering time is not a third copy.
    pub clock: OrderClock,
    /// `ts_event`.
    pub ts_event: Col<Nanos>,
    /// `ts_recv`.
    pub ts_recv: Col<Nanos>,
    /// All trade ids concatenated.
    pub ids: String,
    /// End offset of each id in `ids`.
    pub id_ends: Vec<u32>,
    /// `price`.
    pub price: Col<f64>,
    /// `size`.
    pub size: Col<f64>,
    /// Aggressor sign: +1 buy, -1 sell, 0 unknown.
    pub sign: Vec<i8>,
}

impl TradeCols {
    /// Ordering times.
    #[inline]
    pub fn ts(&self) -> &[Nanos] {
        match self.clock {
            OrderClock::Event => &self.ts_event,
            OrderClock::Receive => &self.ts_recv,
        }
    }

    /// The id of row `i` (empty when the file was read without ids).
    #[inline]
    pub fn id(&self, i: usize) -> &str {
        if self.id_ends.is_empty() {
            return "";
        }
        let start = if i == 0 {
            0
        } else {
            self.id_ends[i - 1] as usize
        };
        &self.ids[start..self.id_ends[i] as usize]
    }
}

/// Columnar ticker rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TickerCols {
    /// Ordering time.
    pub ts: Col<Nanos>,
    /// `ts_event`.
    pub ts_event: Col<Nanos>,
    /// `ts_recv`.
    pub ts_recv: Col<Nanos>,
    /// `seq`.
    pub seq: Vec<Option<u64>>,
    /// `bid_price`.
    pub bid_price: Vec<Option<f64>>,
    /// `bid_size`.
    pub bid_size: Vec<Option<f64>>,
    /// `ask_price`.
    pub ask_price: Vec<Option<f64>>,
    /// `ask_size`.
    pub ask_size: Vec<Option<f64>>,
}

/// Rows of one dataset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ChunkData {
    /// Book rows.
    Book(BookCols),
    /// Trade rows.
    Trades(TradeCols),
    /// Ticker rows.
    Ticker(TickerCols),
}

impl ChunkData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ChunkData::Book(c) => c.ts.len(),
            ChunkData::Trades(c) => c.ts_event.len(),
            ChunkData::Ticker(c) => c.ts.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ordering times.
    pub fn ts(&self) -> &[Nanos] {
        match self {
            ChunkData::Book(c) => &c.ts,
            ChunkData::Trades(c) => c.ts(),
            ChunkData::Ticker(c) => &c.ts[..],
        }
    }

    /// The dataset.
    pub fn dataset(&self) -> Dataset {
        match self {
            ChunkData::Book(_) => Dataset::Book,
            ChunkData::Trades(_) => Dataset::Trades,
            ChunkData::Ticker(_) => Dataset::Ticker,
        }
    }
}

/// A block of rows of one market and dataset, in stored order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Chunk {
    /// Market key: the market's stable 64-bit hash ([`daedalus_model::market::Market::hash64`]),
    /// the same in every process and run, so it routes and identifies without a shared table.
    pub market: u64,
    /// Position of the first row: `(file ordinal << 32) | row in file`; rows follow densely. The
    /// file ordinal is `(days since epoch of the partition date << 16) | index of the file in its
    /// partition by name`, stable across runs, watch and batch.
    pub pos0: u64,
    /// Bronze file the rows come from, relative to the root (recorded in checkpoints).
    pub file: String,
    /// Size of that file in bytes.
    pub file_size: u64,
    /// Rows whose ordering time is below `floor` were already applied before a resume (or are
    /// late and were reported by the source): the receiver skips them.
    pub floor: Nanos,
    /// The rows.
    pub data: ChunkData,
}

/// Running maximum of book `ts_event` along stored order (CONTRACT §9.3).
#[derive(Debug, Clone, Copy, Default)]
pub struct BookTimeCarry(pub Option<Nanos>);

fn ts_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a arrow_array::PrimitiveArray<TimestampNanosecondType>> {
    let col = b.column_by_name(name).ok_or_else(|| BronzeError::Schema {
        path: path.into(),
        dataset: "?",
        detail: format!("missing column `{name}`"),
    })?;
    col.as_primitive_opt::<TimestampNanosecondType>()
        .ok_or_else(|| BronzeError::Schema {
            path: path.into(),
            dataset: "?",
            detail: format!("column `{name}` is not timestamp(ns)"),
        })
}

fn f64_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a arrow_array::PrimitiveArray<Float64Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| BronzeError::Schema {
            path: path.into(),
            dataset: "?",
            detail: format!("column `{name}` missing or not float64"),
        })
}

fn u64_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a arrow_array::PrimitiveArray<UInt64Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| BronzeError::Schema {
            path: path.into(),
            dataset: "?",
            detail: format!("column `{name}` missing or not uint64"),
        })
}

/// Reads a `side` column (dictionary or plain utf8) into codes: `code(value)` maps each
/// string (`None`: null) to a code or `None` (invalid; the error names the first such row with
/// `what`). For a dictionary column the mapping runs once per dictionary value, not per row.
fn side_codes<T: Copy>(
    b: &RecordBatch,
    path: &Path,
    first_row: u64,
    what: &str,
    code: impl Fn(Option<&str>) -> Option<T>,
) -> Result<Vec<T>> {
    let col = b
        .column_by_name("side")
        .ok_or_else(|| BronzeError::Schema {
            path: path.into(),
            dataset: "?",
            detail: "missing column `side`".into(),
        })?;
    let invalid = |i: usize, v: Option<&str>| {
        bad(
            path,
            first_row + i as u64,
            format!("unknown {what} side {v:?}"),
        )
    };
    if let Some(d) = col.as_dictionary_opt::<Int8Type>() {
        let values = d.values().as_string::<i32>();
        let table: Vec<Option<T>> = (0..values.len())
            .map(|j| code((!values.is_null(j)).then(|| values.value(j))))
            .collect();
        let null_code = code(None);
        let keys = d.keys();
        let mut out = Vec::with_capacity(keys.len());
        for (i, &k) in keys.values().iter().enumerate() {
            let c = if keys.is_null(i) {
                null_code
            } else {
                table.get(k as usize).copied().flatten()
            };
            match c {
                Some(c) => out.push(c),
                None => {
                    let v = (!keys.is_null(i))
                        .then_some(k as usize)
                        .filter(|&k| k < values.len() && !values.is_null(k))
                        .map(|k| values.value(k));
                    return Err(invalid(i, v));
                }
            }
        }
        Ok(out)
    } else if let Some(s) = col.as_string_opt::<i32>() {
        let mut out = Vec::with_capacity(s.len());
        for i in 0..s.len() {
            let v = (!s.is_null(i)).then(|| s.value(i));
            out.push(code(v).ok_or_else(|| invalid(i, v))?);
        }
        Ok(out)
    } else {
        Err(BronzeError::Schema {
            path: path.into(),
            dataset: "?",
            detail: "`side` is not a string column".into(),
        })
    }
}

fn bad(path: &Path, row: u64, rule: impl Into<String>) -> BronzeError {
    BronzeError::Value {
        path: path.into(),
        row,
        rule: rule.into(),
    }
}

/// Decodes a bronze batch into columns, validating CONTRACT §2/§8 value rules. `first_row` is
/// the 0-based file row of the batch's first row (for error messages).
pub fn decode_batch(
    dataset: Dataset,
    batch: &RecordBatch,
    path: &Path,
    first_row: u64,
    clock: OrderClock,
    carry: &mut BookTimeCarry,
) -> Result<ChunkData> {
    let n = batch.num_rows();
    let te = ts_col(batch, "ts_event", path)?;
    let tr = ts_col(batch, "ts_recv", path)?;
    if te.null_count() > 0 || tr.null_count() > 0 {
        let i = (0..n)
            .find(|&i| te.is_null(i) || tr.is_null(i))
            .unwrap_or(0);
        return Err(bad(path, first_row + i as u64, "null timestamp"));
    }
    let ts_event: Col<Nanos> = Col(te.values().clone());
    let ts_recv: Col<Nanos> = Col(tr.values().clone());
    let check = |v: &[f64], what: &str, allow_zero: bool| -> Result<()> {
        // Fast path without short-circuit (vectorizes); the slow loop only names the bad row.
        let all_ok = v.iter().fold(true, |ok, &x| {
            ok & x.is_finite() & ((x > 0.0) | (allow_zero & (x == 0.0)))
        });
        if all_ok {
            return Ok(());
        }
        for (i, &x) in v.iter().enumerate() {
            let ok = x.is_finite() && (x > 0.0 || (allow_zero && x == 0.0));
            if !ok {
                return Err(bad(
                    path,
                    first_row + i as u64,
                    format!(
                        "{what} {x} must be finite and {}",
                        if allow_zero { ">= 0" } else { "> 0" }
                    ),
                ));
            }
        }
        Ok(())
    };
    Ok(match dataset {
        Dataset::Book => {
            let price = Col(f64_col(batch, "price", path)?.values().clone());
            let size = Col(f64_col(batch, "size", path)?.values().clone());
            check(&price, "price", false)?;
            check(&size, "size", true)?;
            let side = side_codes(batch, path, first_row, "book", |s| match s {
                Some("bid") => Some(SIDE_BID),
                Some("ask") => Some(SIDE_ASK),
                _ => None,
            })?;
            let seq: Vec<Option<u64>> = u64_col(batch, "seq", path)?.iter().collect();
            let prev_seq: Vec<Option<u64>> = u64_col(batch, "prev_seq", path)?.iter().collect();
            let is_snapshot: Vec<bool> = batch
                .column_by_name("is_snapshot")
                .and_then(|c| c.as_boolean_opt())
                .ok_or_else(|| BronzeError::Schema {
                    path: path.into(),
                    dataset: "book",
                    detail: "is_snapshot".into(),
                })?
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect();
            let ts = match clock {
                OrderClock::Receive => ts_recv.to_vec(),
                OrderClock::Event => {
                    let mut m = carry.0.unwrap_or(i64::MIN);
                    let v: Vec<Nanos> = ts_event
                        .iter()
                        .map(|&t| {
                            m = m.max(t);
                            m
                        })
                        .collect();
                    carry.0 = Some(m);
                    v
                }
            };
            ChunkData::Book(BookCols {
                ts,
                ts_event,
                ts_recv,
                seq,
                prev_seq,
                is_snapshot,
                side,
                price,
                size,
            })
        }
        Dataset::Trades => {
            let price = Col(f64_col(batch, "price", path)?.values().clone());
            let size = Col(f64_col(batch, "size", path)?.values().clone());
            check(&price, "price", false)?;
            check(&size, "size", false)?;
            let sign: Vec<i8> = side_codes(batch, path, first_row, "trade", |s| match s {
                Some("buy") => Some(1),
                Some("sell") => Some(-1),
                Some("unknown") => Some(0),
                _ => None,
            })?;
            // Absent when the reader skips ids (`skip_trade_ids`): ids stay empty.
            let (ids, id_ends) = match batch.column_by_name("trade_id") {
                None => (String::new(), Vec::new()),
                Some(c) => {
                    let idc = c
                        .as_string_opt::<i32>()
                        .ok_or_else(|| BronzeError::Schema {
                            path: path.into(),
                            dataset: "trades",
                            detail: "trade_id".into(),
                        })?;
                    let mut ids = String::with_capacity(idc.value_data().len());
                    let mut id_ends = Vec::with_capacity(n);
                    for i in 0..n {
                        if !idc.is_null(i) {
                            ids.push_str(idc.value(i));
                        }
                        id_ends.push(ids.len() as u32);
                    }
                    (ids, id_ends)
                }
            };
            ChunkData::Trades(TradeCols {
                clock,
                ts_event,
                ts_recv,
                ids,
                id_ends,
                price,
                size,
                sign,
            })
        }
        Dataset::Ticker => {
            let opt = |name: &str| -> Result<Vec<Option<f64>>> {
                let c = f64_col(batch, name, path)?;
                let v: Vec<Option<f64>> = c.iter().collect();
                for (i, x) in v.iter().enumerate() {
                    if let Some(x) = x {
                        let ok =
                            x.is_finite() && (*x > 0.0 || (name.ends_with("size") && *x == 0.0));
                        if !ok {
                            return Err(bad(
                                path,
                                first_row + i as u64,
                                format!("{name} {x} must be finite and positive"),
                            ));
                        }
                    }
                }
                Ok(v)
            };
            let ts = match clock {
                OrderClock::Event => ts_event.clone(),
                OrderClock::Receive => ts_recv.clone(),
            };
            ChunkData::Ticker(TickerCols {
                ts,
                ts_event,
                ts_recv,
                seq: u64_col(batch, "seq", path)?.iter().collect(),
                bid_price: opt("bid_price")?,
                bid_size: opt("bid_size")?,
                ask_price: opt("ask_price")?,
                ask_size: opt("ask_size")?,
            })
        }
    })
}

/// Lower bound of the ordering clock for a partition's rows before its footer is read.
pub fn date_lower_bound(date: Date, clock: OrderClock) -> Nanos {
    match clock {
        OrderClock::Event => date.start_nanos(),
        OrderClock::Receive => date.start_nanos() - NANOS_PER_DAY,
    }
}

/// Total traded volume (Σ `size`) of one bronze `trades` partition, reading only the `size`
/// column. Used by the VPIN `adv` rule and the demo's bucket volumes.
pub fn partition_traded_volume(p: &BronzePartition) -> Result<f64> {
    let mut total = 0.0;
    for path in &p.files {
        FILES_OPENED.fetch_add(1, Ordering::Relaxed);
        let file = File::open(path).map_err(|source| BronzeError::Io {
            path: path.clone(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| {
            BronzeError::Parquet {
                path: path.clone(),
                source,
            }
        })?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), ["size"]);
        let reader =
            builder
                .with_projection(mask)
                .build()
                .map_err(|source| BronzeError::Parquet {
                    path: path.clone(),
                    source,
                })?;
        let mut row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|source| BronzeError::Arrow {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero-copy columns survive a serialization round trip (chunks that cross processes).
    #[test]
    fn columns_shared_with_arrow_round_trip_through_serde() {
        let arr = arrow_array::Int64Array::from(vec![5, 6, 7, 8]);
        // A slice of a larger buffer, as a decoded batch can be.
        let col: Col<Nanos> = Col(arr.values().slice(1, 2));
        assert_eq!(&col[..], &[6, 7]);
        let cols = TradeCols {
            clock: OrderClock::Receive,
            ts_event: col.clone(),
            ts_recv: Col::from(vec![9, 10]),
            ids: "ab".into(),
            id_ends: vec![1, 2],
            price: Col::from(vec![1.5, 2.5]),
            size: Col::from(vec![0.1, 0.2]),
            sign: vec![1, -1],
        };
        let json = serde_json::to_string(&cols).unwrap();
        let back: TradeCols = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cols);
        assert_eq!(back.ts(), &[9, 10]);
        assert_eq!(back.id(1), "b");
    }

    /// Sides map once per dictionary value; an unknown value names its first row.
    #[test]
    fn side_codes_map_dictionary_values_and_name_the_bad_row() {
        use arrow_array::{DictionaryArray, types::Int8Type};
        let sides: DictionaryArray<Int8Type> = vec!["buy", "sell", "buy", "oops", "buy"]
            .into_iter()
            .collect();
        let batch = RecordBatch::try_from_iter([(
            "side",
            std::sync::Arc::new(sides) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let code = |s: Option<&str>| match s {
            Some("buy") => Some(1i8),
            Some("sell") => Some(-1),
            _ => None,
        };
        let path = Path::new("t.parquet");
        let err = side_codes(&batch, path, 100, "trade", code).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("row 103") || msg.contains("103"), "{msg}");
        assert!(msg.contains("oops"), "{msg}");
        let ok: DictionaryArray<Int8Type> = vec!["sell", "buy"].into_iter().collect();
        let batch = RecordBatch::try_from_iter([(
            "side",
            std::sync::Arc::new(ok) as arrow_array::ArrayRef,
        )])
        .unwrap();
        assert_eq!(
            side_codes(&batch, path, 0, "trade", code).unwrap(),
            vec![-1, 1]
        );
    }
}
