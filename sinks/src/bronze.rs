//! A writer of bronze rows that splits them into UTC-date partitions and encodes each
//! partition's rows with the dataset's encoder ([`daedalus_model::datasets`]).

use crate::Result;
use crate::atomic::WriteOptions;
use crate::partitioned::PartitionedWriter;
use arrow_array::RecordBatch;
use daedalus_model::datasets::{
    BronzeBookEncoder, BronzeTickerEncoder, BronzeTradesEncoder, Encoder,
};
use daedalus_model::market::Market;
use daedalus_model::partition::Partition;
use daedalus_model::rows::{BookRow, Dataset, TickerRow, TradeRow};
use daedalus_model::time::{Date, NANOS_PER_DAY};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The buffered `rows` as one batch (none if empty), leaving the buffer empty.
fn encode<R, E: Encoder>(
    rows: &mut Vec<R>,
    with_capacity: fn(usize) -> E,
    append: fn(&mut E, &R),
) -> Option<RecordBatch> {
    if rows.is_empty() {
        return None;
    }
    let mut e = with_capacity(rows.len());
    rows.iter().for_each(|r| append(&mut e, r));
    rows.clear();
    Some(e.finish())
}

/// Rows of one dataset buffered for one partition.
#[derive(Default)]
struct Buffers {
    book: Vec<BookRow>,
    trades: Vec<TradeRow>,
    ticker: Vec<TickerRow>,
}

/// Writes bronze rows of any markets, splitting them into `date=` partitions by `ts_event`, in
/// the order given (CONTRACT §2: bronze keeps venue/application order). Buffers up to
/// `flush_rows` rows per partition and dataset before encoding them; all files become visible
/// together at [`BronzeWriter::commit`], and none if the writer is dropped.
pub struct BronzeWriter {
    inner: PartitionedWriter,
    flush_rows: usize,
    /// Buffers per market, then date: looked up by `&Market` (no clone per row).
    buffers: BTreeMap<Market, BTreeMap<Date, Buffers>>,
    /// Least and greatest `ts_recv` written per market.
    recv: BTreeMap<Market, (i64, i64)>,
    /// The day of the last row: `[start, end)` in ns and its date (rows mostly share a day).
    day: (i64, i64, Date),
}

/// The files of a writer finished but not yet visible ([`BronzeWriter::stage`]).
pub struct StagedBronze {
    /// `(partition, staged file, rows)` in partition order.
    pub files: Vec<(Partition, crate::atomic::StagedFile, u64)>,
    /// Least and greatest `ts_recv` of the rows written, per market.
    pub recv: BTreeMap<Market, (i64, i64)>,
}

impl BronzeWriter {
    /// A writer under `root` naming every file `file_name`.
    pub fn new(root: &Path, file_name: &str) -> Self {
        let opts = WriteOptions::default();
        let flush_rows = opts.row_group_rows.clamp(1024, 1 << 20);
        BronzeWriter {
            inner: PartitionedWriter::new(root, file_name, opts),
            flush_rows,
            buffers: BTreeMap::new(),
            recv: BTreeMap::new(),
            day: (0, 0, Date::of_nanos(0)),
        }
    }

    fn buf(&mut self, market: &Market, ts_event: i64, ts_recv: i64) -> (&mut Buffers, Date) {
        match self.recv.get_mut(market) {
            Some(r) => *r = (r.0.min(ts_recv), r.1.max(ts_recv)),
            None => {
                self.recv.insert(market.clone(), (ts_recv, ts_recv));
            }
        }
        let date = self.date_of(ts_event);
        if !self.buffers.contains_key(market) {
            self.buffers.insert(market.clone(), BTreeMap::new());
        }
        let by_date = self.buffers.get_mut(market).expect("inserted above");
        (by_date.entry(date).or_default(), date)
    }

    /// The UTC date of `ts`, from the cached day when it falls in it.
    fn date_of(&mut self, ts: i64) -> Date {
        let (start, end, date) = self.day;
        if (start..end).contains(&ts) {
            return date;
        }
        let date = Date::of_nanos(ts);
        let start = date.start_nanos();
        self.day = (start, start.saturating_add(NANOS_PER_DAY), date);
        date
    }

    /// Adds a book row.
    pub fn book(&mut self, market: &Market, row: BookRow) -> Result<()> {
        let flush = self.flush_rows;
        let (b, date) = self.buf(market, row.ts_event, row.ts_recv);
        b.book.push(row);
        if b.book.len() >= flush {
            self.flush_one(market, date, Dataset::Book)?;
        }
        Ok(())
    }

    /// Adds a trade row.
    pub fn trade(&mut self, market: &Market, row: TradeRow) -> Result<()> {
        let flush = self.flush_rows;
        let (b, date) = self.buf(market, row.ts_event, row.ts_recv);
        b.trades.push(row);
        if b.trades.len() >= flush {
            self.flush_one(market, date, Dataset::Trades)?;
        }
        Ok(())
    }

    /// Adds a ticker row.
    pub fn ticker(&mut self, market: &Market, row: TickerRow) -> Result<()> {
        let flush = self.flush_rows;
        let (b, date) = self.buf(market, row.ts_event, row.ts_recv);
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

    fn flush_one(&mut self, market: &Market, date: Date, ds: Dataset) -> Result<()> {
        let Some(b) = self.buffers.get_mut(market).and_then(|m| m.get_mut(&date)) else {
            return Ok(());
        };
        let batch = match ds {
            Dataset::Book => encode(
                &mut b.book,
                BronzeBookEncoder::with_capacity,
                BronzeBookEncoder::append,
            ),
            Dataset::Trades => encode(
                &mut b.trades,
                BronzeTradesEncoder::with_capacity,
                BronzeTradesEncoder::append,
            ),
            Dataset::Ticker => encode(
                &mut b.ticker,
                BronzeTickerEncoder::with_capacity,
                BronzeTickerEncoder::append,
            ),
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
            self.inner.write(&p, &batch)?;
        }
        Ok(())
    }

    fn flush_all(&mut self) -> Result<()> {
        let keys: Vec<(Market, Date)> = self
            .buffers
            .iter()
            .flat_map(|(m, ds)| ds.keys().map(move |d| (m.clone(), *d)))
            .collect();
        for (m, d) in keys {
            for ds in Dataset::ALL {
                self.flush_one(&m, d, ds)?;
            }
        }
        self.buffers.clear();
        Ok(())
    }

    /// Flushes every buffer and commits every file; returns `(partition, path, rows)`.
    pub fn commit(mut self) -> Result<Vec<(Partition, PathBuf, u64)>> {
        self.flush_all()?;
        self.inner.commit()
    }

    /// Flushes every buffer and finishes every file under its staged name (fsynced, not yet
    /// visible): the caller commits them (an ingest commit renames them with its state).
    pub fn stage(mut self) -> Result<StagedBronze> {
        self.flush_all()?;
        let recv = std::mem::take(&mut self.recv);
        Ok(StagedBronze {
            files: self.inner.finish()?,
            recv,
        })
    }
}
