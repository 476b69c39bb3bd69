//! [`Chunk`]: a columnar block of bronze rows of one market and dataset, as the dataflow source
//! sends it. Columns share the decoded Arrow buffers where they can ([`Col`]); trade ids sit in
//! one string buffer; everything serialises so chunks can cross workers and processes.

use super::clock::OrderClock;
use arrow_buffer::{ArrowNativeType, ScalarBuffer};
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};

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
            ts_event: col,
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
}
