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
use daedalus_model::rows::{BookRow, BookSide, Dataset, TickerRow, TradeRow};
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

/// One open partition: its market and date, the least and greatest `ts_recv` of its rows, and
/// its buffered rows.
struct Slot {
    market: Market,
    date: Date,
    recv: (i64, i64),
    bufs: Buffers,
}

/// Writes bronze rows of any markets, splitting them into `date=` partitions by `ts_event`, in
/// the order given (CONTRACT §2: bronze keeps venue/application order). Buffers up to
/// `flush_rows` rows per partition and dataset before encoding them; all files become visible
/// together at [`BronzeWriter::commit`], and none if the writer is dropped.
///
/// Why slots and a cached `last`: rows come in long runs of one market and date, and looking
/// the partition up in ordered maps keyed by `Market` (two string compares per node) for every
/// row was a measurable share of ingest; now a row of the same partition as the previous one
/// costs one comparison.
pub struct BronzeWriter {
    inner: PartitionedWriter,
    flush_rows: usize,
    /// Open partitions, in order of first row.
    slots: Vec<Slot>,
    /// The slot of each `(market, date)`.
    index: BTreeMap<(Market, Date), usize>,
    /// The slot of the last row (`usize::MAX`: none).
    last: usize,
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
            slots: Vec::new(),
            index: BTreeMap::new(),
            last: usize::MAX,
            day: (0, 0, Date::of_nanos(0)),
        }
    }

    /// The slot of `market` on the date of `ts_event`, its `ts_recv` range widened.
    fn buf(&mut self, market: &Market, ts_event: i64, ts_recv: i64) -> usize {
        let date = self.date_of(ts_event);
        let i = match self.slots.get(self.last) {
            Some(s) if s.date == date && s.market == *market => self.last,
            _ => self.slot_of(market, date),
        };
        self.last = i;
        let s = &mut self.slots[i];
        s.recv = (s.recv.0.min(ts_recv), s.recv.1.max(ts_recv));
        i
    }

    fn slot_of(&mut self, market: &Market, date: Date) -> usize {
        if let Some(i) = self.index.get(&(market.clone(), date)) {
            return *i;
        }
        let i = self.slots.len();
        self.slots.push(Slot {
            market: market.clone(),
            date,
            recv: (i64::MAX, i64::MIN),
            bufs: Buffers::default(),
        });
        self.index.insert((market.clone(), date), i);
        i
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
        let i = self.buf(market, row.ts_event, row.ts_recv);
        let b = &mut self.slots[i].bufs.book;
        b.push(row);
        if b.len() >= flush {
            self.flush_one(i, Dataset::Book)?;
        }
        Ok(())
    }

    /// Adds the book rows of one message: `head` with each `(side, price, size)` of `levels`,
    /// the same rows in the same order as [`BronzeWriter::book`] once per level. Why: the levels
    /// of a message share market and times, so the partition is looked up once, not per level.
    pub fn book_levels(
        &mut self,
        market: &Market,
        head: &BookRow,
        levels: impl ExactSizeIterator<Item = (BookSide, f64, f64)>,
    ) -> Result<()> {
        if levels.len() == 0 {
            return Ok(());
        }
        let flush = self.flush_rows;
        let i = self.buf(market, head.ts_event, head.ts_recv);
        for (side, price, size) in levels {
            let b = &mut self.slots[i].bufs.book;
            b.push(BookRow {
                side,
                price,
                size,
                ..*head
            });
            if b.len() >= flush {
                self.flush_one(i, Dataset::Book)?;
            }
        }
        Ok(())
    }

    /// Adds a trade row.
    pub fn trade(&mut self, market: &Market, row: TradeRow) -> Result<()> {
        let flush = self.flush_rows;
        let i = self.buf(market, row.ts_event, row.ts_recv);
        let b = &mut self.slots[i].bufs.trades;
        b.push(row);
        if b.len() >= flush {
            self.flush_one(i, Dataset::Trades)?;
        }
        Ok(())
    }

    /// Adds a ticker row.
    pub fn ticker(&mut self, market: &Market, row: TickerRow) -> Result<()> {
        let flush = self.flush_rows;
        let i = self.buf(market, row.ts_event, row.ts_recv);
        let b = &mut self.slots[i].bufs.ticker;
        b.push(row);
        if b.len() >= flush {
            self.flush_one(i, Dataset::Ticker)?;
        }
        Ok(())
    }

    /// Sets how many rows of one partition and dataset are buffered before they are encoded
    /// (bounds memory when many partitions are open at once).
    pub fn set_flush_rows(&mut self, rows: usize) {
        self.flush_rows = rows.max(1);
    }

    fn flush_one(&mut self, i: usize, ds: Dataset) -> Result<()> {
        let s = &mut self.slots[i];
        let b = &mut s.bufs;
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
            let m = &s.market;
            let p = Partition::new("bronze", ds.name(), None, &m.exchange, &m.symbol, s.date)?;
            self.inner.write(&p, &batch)?;
        }
        Ok(())
    }

    /// Flushes every slot in `(market, date)` order; returns each market's `ts_recv` range.
    fn flush_all(&mut self) -> Result<BTreeMap<Market, (i64, i64)>> {
        let order: Vec<usize> = self.index.values().copied().collect();
        for i in order {
            for ds in Dataset::ALL {
                self.flush_one(i, ds)?;
            }
        }
        let mut recv: BTreeMap<Market, (i64, i64)> = BTreeMap::new();
        for s in self.slots.drain(..) {
            let r = recv.entry(s.market).or_insert(s.recv);
            *r = (r.0.min(s.recv.0), r.1.max(s.recv.1));
        }
        self.index.clear();
        self.last = usize::MAX;
        Ok(recv)
    }

    /// Flushes every buffer and commits every file; returns `(partition, path, rows)`.
    pub fn commit(mut self) -> Result<Vec<(Partition, PathBuf, u64)>> {
        self.flush_all()?;
        self.inner.commit()
    }

    /// Flushes every buffer and finishes every file under its staged name (fsynced, not yet
    /// visible): the caller commits them (an ingest commit renames them with its state).
    pub fn stage(mut self) -> Result<StagedBronze> {
        let recv = self.flush_all()?;
        Ok(StagedBronze {
            files: self.inner.finish()?,
            recv,
        })
    }
}
