//! Bronze rows to Arrow batches, and a writer that splits rows into UTC-date partitions.

use crate::Result;
use crate::atomic::WriteOptions;
use crate::partitioned::PartitionedWriter;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, StringDictionaryBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use daedalus_model::market::Market;
use daedalus_model::partition::Partition;
use daedalus_model::rows::{BookRow, Dataset, TickerRow, TradeRow};
use daedalus_model::schema;
use daedalus_model::time::Date;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn ts_builder(n: usize) -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC")
}

/// `bronze/book` batch of `rows`.
pub fn book_batch(rows: &[BookRow]) -> Result<RecordBatch> {
    let n = rows.len();
    let (mut te, mut tr) = (ts_builder(n), ts_builder(n));
    let (mut seq, mut prev) = (
        UInt64Builder::with_capacity(n),
        UInt64Builder::with_capacity(n),
    );
    let mut snap = BooleanBuilder::with_capacity(n);
    let mut side = StringDictionaryBuilder::<Int8Type>::new();
    let (mut px, mut sz) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    for r in rows {
        te.append_value(r.ts_event);
        tr.append_value(r.ts_recv);
        seq.append_option(r.seq);
        prev.append_option(r.prev_seq);
        snap.append_value(r.is_snapshot);
        side.append_value(r.side.as_str());
        px.append_value(r.price);
        sz.append_value(r.size);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(te.finish()),
        Arc::new(tr.finish()),
        Arc::new(seq.finish()),
        Arc::new(prev.finish()),
        Arc::new(snap.finish()),
        Arc::new(side.finish()),
        Arc::new(px.finish()),
        Arc::new(sz.finish()),
    ];
    Ok(RecordBatch::try_new(schema::bronze_book(), cols)?)
}

/// `bronze/trades` batch of `rows`.
pub fn trades_batch(rows: &[TradeRow]) -> Result<RecordBatch> {
    let n = rows.len();
    let (mut te, mut tr) = (ts_builder(n), ts_builder(n));
    let mut id = StringBuilder::with_capacity(n, n * 12);
    let (mut px, mut sz) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    let mut side = StringDictionaryBuilder::<Int8Type>::new();
    for r in rows {
        te.append_value(r.ts_event);
        tr.append_value(r.ts_recv);
        id.append_value(&r.trade_id);
        px.append_value(r.price);
        sz.append_value(r.size);
        side.append_value(r.side.as_str());
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(te.finish()),
        Arc::new(tr.finish()),
        Arc::new(id.finish()),
        Arc::new(px.finish()),
        Arc::new(sz.finish()),
        Arc::new(side.finish()),
    ];
    Ok(RecordBatch::try_new(schema::bronze_trades(), cols)?)
}

/// `bronze/ticker` batch of `rows`.
pub fn ticker_batch(rows: &[TickerRow]) -> Result<RecordBatch> {
    let n = rows.len();
    let (mut te, mut tr) = (ts_builder(n), ts_builder(n));
    let mut seq = UInt64Builder::with_capacity(n);
    let mut f: [Float64Builder; 4] = std::array::from_fn(|_| Float64Builder::with_capacity(n));
    for r in rows {
        te.append_value(r.ts_event);
        tr.append_value(r.ts_recv);
        seq.append_option(r.seq);
        f[0].append_option(r.bid_price);
        f[1].append_option(r.bid_size);
        f[2].append_option(r.ask_price);
        f[3].append_option(r.ask_size);
    }
    let [mut a, mut b, mut c, mut d] = f;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(te.finish()),
        Arc::new(tr.finish()),
        Arc::new(seq.finish()),
        Arc::new(a.finish()),
        Arc::new(b.finish()),
        Arc::new(c.finish()),
        Arc::new(d.finish()),
    ];
    Ok(RecordBatch::try_new(schema::bronze_ticker(), cols)?)
}

/// Rows of one dataset buffered for one partition.
#[derive(Default)]
struct Buffers {
    book: Vec<BookRow>,
    trades: Vec<TradeRow>,
    ticker: Vec<TickerRow>,
}

/// Counts of rows written per dataset.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BronzeCounts {
    /// Book rows.
    pub book: u64,
    /// Trade rows.
    pub trades: u64,
    /// Ticker rows.
    pub ticker: u64,
}

/// Writes bronze rows of any markets, splitting them into `date=` partitions by `ts_event`, in
/// the order given (CONTRACT §2: bronze keeps venue/application order). Buffers up to
/// `flush_rows` rows per partition and dataset before encoding them; all files become visible
/// together at [`BronzeWriter::commit`], and none if the writer is dropped.
pub struct BronzeWriter {
    inner: PartitionedWriter,
    flush_rows: usize,
    buffers: BTreeMap<(Market, Date), Buffers>,
    counts: BronzeCounts,
}

impl BronzeWriter {
    /// A writer under `root` naming every file `file_name`.
    pub fn new(root: &Path, file_name: &str) -> Self {
        Self::with_options(root, file_name, WriteOptions::default())
    }

    /// As [`BronzeWriter::new`] with explicit options.
    pub fn with_options(root: &Path, file_name: &str, opts: WriteOptions) -> Self {
        let flush_rows = opts.row_group_rows.clamp(1024, 1 << 20);
        BronzeWriter {
            inner: PartitionedWriter::new(root, file_name, opts),
            flush_rows,
            buffers: BTreeMap::new(),
            counts: BronzeCounts::default(),
        }
    }

    fn buf(&mut self, market: &Market, ts_event: i64) -> (&mut Buffers, Date) {
        let date = Date::of_nanos(ts_event);
        let key = (market.clone(), date);
        (self.buffers.entry(key).or_default(), date)
    }

    /// Adds a book row.
    pub fn book(&mut self, market: &Market, row: BookRow) -> Result<()> {
        let flush = self.flush_rows;
        self.counts.book += 1;
        let (b, date) = self.buf(market, row.ts_event);
        b.book.push(row);
        if b.book.len() >= flush {
            self.flush_one(market, date, Dataset::Book)?;
        }
        Ok(())
    }

    /// Adds a trade row.
    pub fn trade(&mut self, market: &Market, row: TradeRow) -> Result<()> {
        let flush = self.flush_rows;
        self.counts.trades += 1;
        let (b, date) = self.buf(market, row.ts_event);
        b.trades.push(row);
        if b.trades.len() >= flush {
            self.flush_one(market, date, Dataset::Trades)?;
        }
        Ok(())
    }

    /// Adds a ticker row.
    pub fn ticker(&mut self, market: &Market, row: TickerRow) -> Result<()> {
        let flush = self.flush_rows;
        self.counts.ticker += 1;
        let (b, date) = self.buf(market, row.ts_event);
        b.ticker.push(row);
        if b.ticker.len() >= flush {
            self.flush_one(market, date, Dataset::Ticker)?;
        }
        Ok(())
    }

    /// Sets how many rows of one partition and dataset are buffered before they are encoded
    /// (bounds memory when many partitions are open at once).
    pub fn set_flush_rows(&mut self, rows: usize) {
        self.flush_rows = rows.max(1);
    }

    /// Rows accepted so far.
    pub fn counts(&self) -> BronzeCounts {
        self.counts
    }

    fn flush_one(&mut self, market: &Market, date: Date, ds: Dataset) -> Result<()> {
        let Some(b) = self.buffers.get_mut(&(market.clone(), date)) else {
            return Ok(());
        };
        let (batch, schema): (Option<RecordBatch>, SchemaRef) = match ds {
            Dataset::Book if !b.book.is_empty() => {
                let r = book_batch(&b.book)?;
                b.book.clear();
                (Some(r), schema::bronze_book())
            }
            Dataset::Trades if !b.trades.is_empty() => {
                let r = trades_batch(&b.trades)?;
                b.trades.clear();
                (Some(r), schema::bronze_trades())
            }
            Dataset::Ticker if !b.ticker.is_empty() => {
                let r = ticker_batch(&b.ticker)?;
                b.ticker.clear();
                (Some(r), schema::bronze_ticker())
            }
            _ => (None, schema::bronze_book()),
        };
        if let Some(batch) = batch {
            let p = Partition::new(
                "bronze",
                ds.name(),
                None,
                &market.exchange,
                &market.symbol,
                date,
            )?;
            self.inner.write(&p, &schema, &batch)?;
        }
        Ok(())
    }

    /// Flushes every buffer and commits every file; returns `(partition, path, rows)`.
    pub fn commit(mut self) -> Result<Vec<(Partition, PathBuf, u64)>> {
        let keys: Vec<(Market, Date)> = self.buffers.keys().cloned().collect();
        for (m, d) in keys {
            for ds in Dataset::ALL {
                self.flush_one(&m, d, ds)?;
            }
        }
        self.buffers.clear();
        self.inner.commit()
    }
}
