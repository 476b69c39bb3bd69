//! `bronze/trades`: one row per trade, venue order (CONTRACT §2).

use super::{Encoder, SideBuilder, batch, f64r, req, side_field, ts, ts_builder};
use crate::rows::TradeRow;
use arrow_array::RecordBatch;
use arrow_array::builder::{
    ArrayBuilder, Float64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// Bytes reserved per trade id.
const ID_BYTES: usize = 12;

/// The `bronze/trades` schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        req("trade_id", DataType::Utf8),
        f64r("price"),
        f64r("size"),
        side_field(),
    ]))
}

/// Encodes [`TradeRow`]s as `bronze/trades` batches.
pub struct BronzeTradesEncoder {
    schema: SchemaRef,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    trade_id: StringBuilder,
    price: Float64Builder,
    size: Float64Builder,
    side: SideBuilder,
}

impl BronzeTradesEncoder {
    /// An encoder with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        BronzeTradesEncoder {
            schema: schema(),
            ts_event: ts_builder(capacity),
            ts_recv: ts_builder(capacity),
            trade_id: StringBuilder::with_capacity(capacity, capacity * ID_BYTES),
            price: Float64Builder::with_capacity(capacity),
            size: Float64Builder::with_capacity(capacity),
            side: SideBuilder::with_capacity(capacity),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, r: &TradeRow) {
        self.ts_event.append_value(r.ts_event);
        self.ts_recv.append_value(r.ts_recv);
        self.trade_id.append_value(&r.trade_id);
        self.price.append_value(r.price);
        self.size.append_value(r.size);
        self.side.append(r.side as usize, r.side.as_str());
    }
}

impl Encoder for BronzeTradesEncoder {
    fn rows(&self) -> usize {
        self.ts_event.len()
    }

    fn finish(&mut self) -> RecordBatch {
        batch(
            &self.schema,
            vec![
                Arc::new(self.ts_event.finish()),
                Arc::new(self.ts_recv.finish()),
                Arc::new(self.trade_id.finish()),
                Arc::new(self.price.finish()),
                Arc::new(self.size.finish()),
                Arc::new(self.side.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;
    use crate::rows::TradeSide;

    #[test]
    fn one_row_round_trips_column_by_column() {
        let mut e = BronzeTradesEncoder::with_capacity(1);
        e.append(&TradeRow {
            ts_event: 1,
            ts_recv: 2,
            trade_id: "t3".into(),
            price: 4.0,
            size: 5.0,
            side: TradeSide::Sell,
        });
        assert_columns(
            &e.finish(),
            &schema(),
            &[
                ("ts_event", times(&[1])),
                ("ts_recv", times(&[2])),
                ("trade_id", strs(&["t3"])),
                ("price", floats(&[4.0])),
                ("size", floats(&[5.0])),
                ("side", dict(&["sell"])),
            ],
        );
    }
}
