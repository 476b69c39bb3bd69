//! Bronze Parquet sources: partition discovery, pruning and columnar decoding.
//!
//! - [`discover`] walks `<root>/bronze/<dataset>/exchange=/symbol=/date=/` with directory
//!   listings only, so filters prune partitions before any file is opened.
//! - [`BronzeFileReader`] opens one file, checks its schema against CONTRACT §2 and reads the
//!   per-row-group bounds of the ordering clock ([`OrderClock`]) from the footer statistics.
//! - [`decode_batch`] turns a record batch into a [`Chunk`]'s columns ([`ChunkData`]),
//!   validating values on the way.
//! - [`partition_traded_volume`] sums a trades partition's sizes for the VPIN `adv` rule.
//!
//! Book timestamps: CONTRACT §9.3 — the book's effective event time is the running maximum of
//! `ts_event` in stored (application) order; [`BookTimeCarry`] carries that maximum from row
//! group to row group and file to file of one partition.

mod chunk;
mod clock;
mod columns;
mod decode;
mod discover;
mod reader;
mod volume;

pub use chunk::{
    BookCols, BookTimeCarry, Chunk, ChunkData, Col, SIDE_ASK, SIDE_BID, TickerCols, TradeCols,
};
pub use clock::{OrderClock, date_lower_bound};
pub use decode::decode_batch;
pub use discover::{BronzePartition, discover};
pub use reader::BronzeFileReader;
pub use volume::partition_traded_volume;
