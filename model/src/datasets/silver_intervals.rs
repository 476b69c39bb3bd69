//! `silver/intervals/interval=<spec>`: one row per interval of an epoch grid (CONTRACT §4).
//!
//! Columns: the interval's bounds and counts, the exact flow sums (`ofi`, `mlofi_1 ..= mlofi_M`,
//! volumes), the nullable ratios and regressions, `reset`, `symbol_norm`.

use super::{Encoder, SILVER_CAPACITY, batch, f64n, f64r, req, symbol_norm_field, ts, ts_builder};
use crate::features::IntervalRow;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The volume sums after the MLOFI columns, in order.
const VOLUMES: [&str; 4] = [
    "buy_volume",
    "sell_volume",
    "unknown_volume",
    "signed_volume",
];

/// The nullable columns after the volumes, in order.
const NULLABLE: [&str; 8] = [
    "tfi",
    "mid_close",
    "mid_change",
    "spread_mean",
    "kyle_lambda",
    "kyle_alpha",
    "kyle_r2",
    "vpin",
];

/// The `silver/intervals` schema with `mlofi_1 ..= mlofi_<mlofi_levels>`.
pub fn schema(mlofi_levels: usize) -> SchemaRef {
    let mut f = vec![
        ts("ts_open"),
        ts("ts_close"),
        req("n_book_events", DataType::Int64),
        req("n_trades", DataType::Int64),
        f64r("ofi"),
    ];
    f.extend((1..=mlofi_levels).map(|m| f64r(&format!("mlofi_{m}"))));
    f.extend(VOLUMES.map(f64r));
    f.extend(NULLABLE.map(f64n));
    f.push(req("reset", DataType::Boolean));
    f.push(symbol_norm_field());
    Arc::new(Schema::new(f))
}

/// Encodes [`IntervalRow`]s of one market and grid as `silver/intervals` batches.
pub struct SilverIntervalsEncoder {
    schema: SchemaRef,
    symbol_norm_value: String,
    ts_open: TimestampNanosecondBuilder,
    ts_close: TimestampNanosecondBuilder,
    n_book_events: Int64Builder,
    n_trades: Int64Builder,
    ofi: Float64Builder,
    mlofi: Vec<Float64Builder>,
    buy_volume: Float64Builder,
    sell_volume: Float64Builder,
    unknown_volume: Float64Builder,
    signed_volume: Float64Builder,
    tfi: Float64Builder,
    mid_close: Float64Builder,
    mid_change: Float64Builder,
    spread_mean: Float64Builder,
    kyle_lambda: Float64Builder,
    kyle_alpha: Float64Builder,
    kyle_r2: Float64Builder,
    vpin: Float64Builder,
    reset: BooleanBuilder,
    symbol_norm: StringBuilder,
}

impl SilverIntervalsEncoder {
    /// An encoder for [`schema`]`(mlofi_levels)` writing `symbol_norm` on every row.
    pub fn new(mlofi_levels: usize, symbol_norm: &str) -> Self {
        SilverIntervalsEncoder {
            schema: schema(mlofi_levels),
            symbol_norm_value: symbol_norm.to_string(),
            ts_open: ts_builder(SILVER_CAPACITY),
            ts_close: ts_builder(SILVER_CAPACITY),
            n_book_events: Int64Builder::new(),
            n_trades: Int64Builder::new(),
            ofi: Float64Builder::new(),
            mlofi: (0..mlofi_levels).map(|_| Float64Builder::new()).collect(),
            buy_volume: Float64Builder::new(),
            sell_volume: Float64Builder::new(),
            unknown_volume: Float64Builder::new(),
            signed_volume: Float64Builder::new(),
            tfi: Float64Builder::new(),
            mid_close: Float64Builder::new(),
            mid_change: Float64Builder::new(),
            spread_mean: Float64Builder::new(),
            kyle_lambda: Float64Builder::new(),
            kyle_alpha: Float64Builder::new(),
            kyle_r2: Float64Builder::new(),
            vpin: Float64Builder::new(),
            reset: BooleanBuilder::new(),
            symbol_norm: StringBuilder::new(),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, r: &IntervalRow) {
        debug_assert_eq!(r.mlofi.len(), self.mlofi.len());
        self.ts_open.append_value(r.ts_open);
        self.ts_close.append_value(r.ts_close);
        self.n_book_events.append_value(r.n_book_events);
        self.n_trades.append_value(r.n_trades);
        self.ofi.append_value(r.ofi);
        for (b, v) in self.mlofi.iter_mut().zip(&r.mlofi) {
            b.append_value(*v);
        }
        self.buy_volume.append_value(r.buy_volume);
        self.sell_volume.append_value(r.sell_volume);
        self.unknown_volume.append_value(r.unknown_volume);
        self.signed_volume.append_value(r.signed_volume);
        self.tfi.append_option(r.tfi);
        self.mid_close.append_option(r.mid_close);
        self.mid_change.append_option(r.mid_change);
        self.spread_mean.append_option(r.spread_mean);
        self.kyle_lambda.append_option(r.kyle_lambda);
        self.kyle_alpha.append_option(r.kyle_alpha);
        self.kyle_r2.append_option(r.kyle_r2);
        self.vpin.append_option(r.vpin);
        self.reset.append_value(r.reset);
        self.symbol_norm.append_value(&self.symbol_norm_value);
    }
}

impl Encoder for SilverIntervalsEncoder {
    fn rows(&self) -> usize {
        self.ts_open.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let mut c: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        c.push(Arc::new(self.ts_open.finish()));
        c.push(Arc::new(self.ts_close.finish()));
        c.push(Arc::new(self.n_book_events.finish()));
        c.push(Arc::new(self.n_trades.finish()));
        c.push(Arc::new(self.ofi.finish()));
        for b in &mut self.mlofi {
            c.push(Arc::new(b.finish()));
        }
        for b in [
            &mut self.buy_volume,
            &mut self.sell_volume,
            &mut self.unknown_volume,
            &mut self.signed_volume,
            &mut self.tfi,
            &mut self.mid_close,
            &mut self.mid_change,
            &mut self.spread_mean,
            &mut self.kyle_lambda,
            &mut self.kyle_alpha,
            &mut self.kyle_r2,
            &mut self.vpin,
        ] {
            c.push(Arc::new(b.finish()));
        }
        c.push(Arc::new(self.reset.finish()));
        c.push(Arc::new(self.symbol_norm.finish()));
        batch(&self.schema, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;

    #[test]
    fn one_row_round_trips_column_by_column() {
        let r = IntervalRow {
            ts_open: 1,
            ts_close: 2,
            n_book_events: 3,
            n_trades: 4,
            ofi: 5.0,
            mlofi: vec![6.0, 7.0],
            buy_volume: 8.0,
            sell_volume: 9.0,
            unknown_volume: 10.0,
            signed_volume: 11.0,
            tfi: Some(12.0),
            mid_close: Some(13.0),
            mid_change: Some(14.0),
            spread_mean: Some(15.0),
            kyle_lambda: Some(16.0),
            kyle_alpha: Some(17.0),
            kyle_r2: Some(18.0),
            vpin: Some(19.0),
            reset: true,
        };
        let mut e = SilverIntervalsEncoder::new(2, "BTC-USD");
        e.append(&r);
        assert_columns(
            &e.finish(),
            &schema(2),
            &[
                ("ts_open", times(&[1])),
                ("ts_close", times(&[2])),
                ("n_book_events", i64s(&[3])),
                ("n_trades", i64s(&[4])),
                ("ofi", floats(&[5.0])),
                ("mlofi_1", floats(&[6.0])),
                ("mlofi_2", floats(&[7.0])),
                ("buy_volume", floats(&[8.0])),
                ("sell_volume", floats(&[9.0])),
                ("unknown_volume", floats(&[10.0])),
                ("signed_volume", floats(&[11.0])),
                ("tfi", floats(&[12.0])),
                ("mid_close", floats(&[13.0])),
                ("mid_change", floats(&[14.0])),
                ("spread_mean", floats(&[15.0])),
                ("kyle_lambda", floats(&[16.0])),
                ("kyle_alpha", floats(&[17.0])),
                ("kyle_r2", floats(&[18.0])),
                ("vpin", floats(&[19.0])),
                ("reset", bools(&[true])),
                ("symbol_norm", strs(&["BTC-USD"])),
            ],
        );
    }
}
