//! Every output dataset as one module holding its Arrow schema and its encoder (CONTRACT §2, §4,
//! §5), so a column's name, type and the row field that fills it are read in one place.
//!
//! An encoder is a struct of named Arrow builders, one per column (column families such as
//! `mlofi_1 ..= mlofi_M` or the window sums are one `Vec` per family, in column order). Rows are
//! appended straight into the builders (no per-row allocation); [`Encoder::finish`] takes the
//! batch in schema order and leaves the encoder empty for the next one. Encoders do no I/O: the
//! sinks decide where batches go.
//!
//! Partition values (`exchange`, `symbol`, `date`, `interval`, `bar`) live in paths only, never as
//! columns. Timestamps are `Timestamp(Nanosecond, "UTC")`. Silver and gold carry `symbol_norm`.
//! Window columns are named after the configured windows ([`window_suffix`]).

pub mod bronze_book;
pub mod bronze_ticker;
pub mod bronze_trades;
pub mod gold_bars;
pub mod silver_book;
pub mod silver_cross;
pub mod silver_intervals;
pub mod silver_ticker;
pub mod silver_trades;
#[cfg(test)]
mod testing;

pub use bronze_book::BronzeBookEncoder;
pub use bronze_ticker::BronzeTickerEncoder;
pub use bronze_trades::BronzeTradesEncoder;
pub use gold_bars::GoldBarsEncoder;
pub use silver_book::SilverBookEncoder;
pub use silver_cross::SilverCrossEncoder;
pub use silver_intervals::SilverIntervalsEncoder;
pub use silver_ticker::SilverTickerEncoder;
pub use silver_trades::SilverTradesEncoder;

use crate::rows::Dataset;
use crate::time::{NANOS_PER_SEC, Nanos};
use arrow_array::builder::TimestampNanosecondBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, SchemaRef, TimeUnit};

/// Appends rows of one dataset into Arrow builders and cuts them into batches.
pub trait Encoder {
    /// Rows appended since the last [`Encoder::finish`].
    fn rows(&self) -> usize;
    /// The rows appended so far as one batch of the dataset's schema; the encoder is left empty.
    fn finish(&mut self) -> RecordBatch;
}

/// The schema of a bronze dataset.
pub fn bronze_schema(dataset: Dataset) -> SchemaRef {
    match dataset {
        Dataset::Book => bronze_book::schema(),
        Dataset::Ticker => bronze_ticker::schema(),
        Dataset::Trades => bronze_trades::schema(),
    }
}

/// The timestamp type of every time column: nanoseconds, UTC.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The column-name suffix of a trailing window of `w` ns: `1s`, `10s`, `60s` for whole seconds
/// (never minutes, so the default windows keep the names `ofi_60s`, `tfi_60s`), else `<n>ms` or
/// `<n>ns`.
pub fn window_suffix(w: Nanos) -> String {
    const NANOS_PER_MS: Nanos = 1_000_000;
    if w % NANOS_PER_SEC == 0 {
        format!("{}s", w / NANOS_PER_SEC)
    } else if w % NANOS_PER_MS == 0 {
        format!("{}ms", w / NANOS_PER_MS)
    } else {
        format!("{w}ns")
    }
}

/// A non-null timestamp column.
pub(crate) fn ts(name: &str) -> Field {
    Field::new(name, ts_type(), false)
}

/// A nullable timestamp column.
pub(crate) fn ts_null(name: &str) -> Field {
    Field::new(name, ts_type(), true)
}

/// A nullable `Float64` column.
pub(crate) fn f64n(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

/// A non-null `Float64` column.
pub(crate) fn f64r(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}

/// A non-null column of type `t`.
pub(crate) fn req(name: &str, t: DataType) -> Field {
    Field::new(name, t, false)
}

/// A nullable column of type `t`.
pub(crate) fn opt(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

/// The dictionary-encoded `side` column of bronze book and trades.
pub(crate) fn side_field() -> Field {
    Field::new(
        "side",
        DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
        false,
    )
}

/// A builder of the `side` column: the same array as a `StringDictionaryBuilder<Int8Type>` fed
/// the same strings (values in order of first appearance), without hashing each row's string:
/// a side is one of at most [`SideBuilder::SLOTS`] known values, passed with its index.
pub(crate) struct SideBuilder {
    keys: Vec<i8>,
    /// The key of each side index, `-1` until it first appears.
    slots: [i8; SideBuilder::SLOTS],
    values: arrow_array::builder::StringBuilder,
}

impl SideBuilder {
    /// How many distinct sides a column can hold.
    pub(crate) const SLOTS: usize = 3;

    /// A builder with room for `capacity` rows.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        SideBuilder {
            keys: Vec::with_capacity(capacity),
            slots: [-1; Self::SLOTS],
            values: arrow_array::builder::StringBuilder::new(),
        }
    }

    /// Appends side number `slot` (below [`SideBuilder::SLOTS`]), spelled `name`.
    pub(crate) fn append(&mut self, slot: usize, name: &str) {
        let k = &mut self.slots[slot];
        if *k < 0 {
            *k = arrow_array::builder::ArrayBuilder::len(&self.values) as i8;
            self.values.append_value(name);
        }
        self.keys.push(*k);
    }

    /// The column, leaving the builder empty.
    pub(crate) fn finish(&mut self) -> arrow_array::DictionaryArray<arrow_array::types::Int8Type> {
        let keys = arrow_array::Int8Array::from(std::mem::take(&mut self.keys));
        self.slots = [-1; Self::SLOTS];
        let values = std::sync::Arc::new(self.values.finish());
        arrow_array::DictionaryArray::try_new(keys, values).expect("every key indexes a value")
    }
}

/// The non-null `symbol_norm` column that ends every silver and gold schema.
pub(crate) fn symbol_norm_field() -> Field {
    Field::new("symbol_norm", DataType::Utf8, false)
}

/// A nullable `Float64` column per window: `<prefix>_<suffix>`.
pub(crate) fn window_fields(prefix: &str, windows: &[Nanos]) -> impl Iterator<Item = Field> {
    windows
        .iter()
        .map(move |&w| f64n(&format!("{prefix}_{}", window_suffix(w))))
}

/// Initial rows of a silver or gold encoder's builders (Arrow's default; they grow as needed).
pub(crate) const SILVER_CAPACITY: usize = 1024;

/// A timestamp builder of `capacity` rows in the UTC zone of [`ts_type`].
pub(crate) fn ts_builder(capacity: usize) -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::with_capacity(capacity).with_timezone("UTC")
}

/// The batch of `columns`, which an encoder lists in its schema's order.
pub(crate) fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema.clone(), columns).expect("an encoder's columns follow its schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_suffixes() {
        assert_eq!(window_suffix(NANOS_PER_SEC), "1s");
        assert_eq!(window_suffix(60 * NANOS_PER_SEC), "60s");
        assert_eq!(window_suffix(250_000_000), "250ms");
        assert_eq!(window_suffix(7), "7ns");
    }
}
