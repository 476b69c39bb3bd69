//! `bronze/book`: one row per L2 level change, absolute size, 0 deletes (CONTRACT §2).

use super::{Encoder, SideBuilder, batch, f64r, opt, req, side_field, ts, ts_builder};
use crate::rows::BookRow;
use arrow_array::RecordBatch;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The `bronze/book` schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        opt("seq", DataType::UInt64),
        opt("prev_seq", DataType::UInt64),
        req("is_snapshot", DataType::Boolean),
        side_field(),
        f64r("price"),
        f64r("size"),
    ]))
}

/// Encodes [`BookRow`]s as `bronze/book` batches.
pub struct BronzeBookEncoder {
    schema: SchemaRef,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    seq: UInt64Builder,
    prev_seq: UInt64Builder,
    is_snapshot: BooleanBuilder,
    side: SideBuilder,
    price: Float64Builder,
    size: Float64Builder,
}

impl BronzeBookEncoder {
    /// An encoder with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        BronzeBookEncoder {
            schema: schema(),
            ts_event: ts_builder(capacity),
            ts_recv: ts_builder(capacity),
            seq: UInt64Builder::with_capacity(capacity),
            prev_seq: UInt64Builder::with_capacity(capacity),
            is_snapshot: BooleanBuilder::with_capacity(capacity),
            side: SideBuilder::with_capacity(capacity),
            price: Float64Builder::with_capacity(capacity),
            size: Float64Builder::with_capacity(capacity),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, r: &BookRow) {
        self.ts_event.append_value(r.ts_event);
        self.ts_recv.append_value(r.ts_recv);
        self.seq.append_option(r.seq);
        self.prev_seq.append_option(r.prev_seq);
        self.is_snapshot.append_value(r.is_snapshot);
        self.side.append(r.side as usize, r.side.as_str());
        self.price.append_value(r.price);
        self.size.append_value(r.size);
    }
}

impl Encoder for BronzeBookEncoder {
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
                Arc::new(self.prev_seq.finish()),
                Arc::new(self.is_snapshot.finish()),
                Arc::new(self.side.finish()),
                Arc::new(self.price.finish()),
                Arc::new(self.size.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;
    use crate::rows::BookSide;

    #[test]
    fn one_row_round_trips_column_by_column() {
        let mut e = BronzeBookEncoder::with_capacity(1);
        e.append(&BookRow {
            ts_event: 1,
            ts_recv: 2,
            seq: Some(3),
            prev_seq: Some(4),
            is_snapshot: true,
            side: BookSide::Ask,
            price: 5.0,
            size: 6.0,
        });
        assert_eq!(e.rows(), 1);
        let got = e.finish();
        assert_eq!(e.rows(), 0);
        assert_columns(
            &got,
            &schema(),
            &[
                ("ts_event", times(&[1])),
                ("ts_recv", times(&[2])),
                ("seq", u64s(&[3])),
                ("prev_seq", u64s(&[4])),
                ("is_snapshot", bools(&[true])),
                ("side", dict(&["ask"])),
                ("price", floats(&[5.0])),
                ("size", floats(&[6.0])),
            ],
        );
    }
}
