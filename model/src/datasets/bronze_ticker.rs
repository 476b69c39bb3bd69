//! `bronze/ticker`: one row per venue best bid/offer (CONTRACT §2).

use super::{Encoder, batch, f64n, opt, ts, ts_builder};
use crate::rows::TickerRow;
use arrow_array::RecordBatch;
use arrow_array::builder::{
    ArrayBuilder, Float64Builder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The `bronze/ticker` schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        opt("seq", DataType::UInt64),
        f64n("bid_price"),
        f64n("bid_size"),
        f64n("ask_price"),
        f64n("ask_size"),
    ]))
}

/// Encodes [`TickerRow`]s as `bronze/ticker` batches.
pub struct BronzeTickerEncoder {
    schema: SchemaRef,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    seq: UInt64Builder,
    bid_price: Float64Builder,
    bid_size: Float64Builder,
    ask_price: Float64Builder,
    ask_size: Float64Builder,
}

impl BronzeTickerEncoder {
    /// An encoder with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        BronzeTickerEncoder {
            schema: schema(),
            ts_event: ts_builder(capacity),
            ts_recv: ts_builder(capacity),
            seq: UInt64Builder::with_capacity(capacity),
            bid_price: Float64Builder::with_capacity(capacity),
            bid_size: Float64Builder::with_capacity(capacity),
            ask_price: Float64Builder::with_capacity(capacity),
            ask_size: Float64Builder::with_capacity(capacity),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, r: &TickerRow) {
        self.ts_event.append_value(r.ts_event);
        self.ts_recv.append_value(r.ts_recv);
        self.seq.append_option(r.seq);
        self.bid_price.append_option(r.bid_price);
        self.bid_size.append_option(r.bid_size);
        self.ask_price.append_option(r.ask_price);
        self.ask_size.append_option(r.ask_size);
    }
}

impl Encoder for BronzeTickerEncoder {
    fn rows(&self) -> usize {
        self.ts_event.len()
    }

    fn finish(&mut self) -> RecordBatch {
        batch(
            &self.schema,
            vec![
                Arc::new(self.ts_event.finish()),
                Arc::new(self.ts_recv.finish()),
                Arc::new(self.seq.finish()),
                Arc::new(self.bid_price.finish()),
                Arc::new(self.bid_size.finish()),
                Arc::new(self.ask_price.finish()),
                Arc::new(self.ask_size.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;

    #[test]
    fn one_row_round_trips_column_by_column() {
        let mut e = BronzeTickerEncoder::with_capacity(1);
        e.append(&TickerRow {
            ts_event: 1,
            ts_recv: 2,
            seq: Some(3),
            bid_price: Some(4.0),
            bid_size: Some(5.0),
            ask_price: Some(6.0),
            ask_size: Some(7.0),
        });
        assert_columns(
            &e.finish(),
            &schema(),
            &[
                ("ts_event", times(&[1])),
                ("ts_recv", times(&[2])),
                ("seq", u64s(&[3])),
                ("bid_price", floats(&[4.0])),
                ("bid_size", floats(&[5.0])),
                ("ask_price", floats(&[6.0])),
                ("ask_size", floats(&[7.0])),
            ],
        );
    }
}
