//! `silver/ticker`: one row per venue best bid/offer with its L1 features (CONTRACT §4).
//!
//! Columns: the quote as received, the L1 features, `crossed`, `ofi_l1` and one trailing sum
//! `ofi_l1_<W>` per configured window, `symbol_norm`.

use super::{
    Encoder, SILVER_CAPACITY, batch, f64n, opt, req, symbol_norm_field, ts, ts_builder,
    window_fields,
};
use crate::features::TickerFeatureRow;
use crate::rows::TickerRow;
use crate::time::Nanos;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, StringBuilder, TimestampNanosecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The quote and L1 feature columns, in order.
const QUOTE_AND_FEATURES: [&str; 9] = [
    "bid_price",
    "bid_size",
    "ask_price",
    "ask_size",
    "mid",
    "spread",
    "rel_spread_bps",
    "wmid",
    "imbalance_1",
];

/// The `silver/ticker` schema with `ofi_l1_<W>` per window.
pub fn schema(windows: &[Nanos]) -> SchemaRef {
    let mut f = vec![ts("ts_event"), ts("ts_recv"), opt("seq", DataType::UInt64)];
    f.extend(QUOTE_AND_FEATURES.map(f64n));
    f.push(req("crossed", DataType::Boolean));
    f.push(f64n("ofi_l1"));
    f.extend(window_fields("ofi_l1", windows));
    f.push(symbol_norm_field());
    Arc::new(Schema::new(f))
}

/// Encodes quotes and their [`TickerFeatureRow`]s of one market as `silver/ticker` batches.
pub struct SilverTickerEncoder {
    schema: SchemaRef,
    symbol_norm_value: String,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    seq: UInt64Builder,
    bid_price: Float64Builder,
    bid_size: Float64Builder,
    ask_price: Float64Builder,
    ask_size: Float64Builder,
    mid: Float64Builder,
    spread: Float64Builder,
    rel_spread_bps: Float64Builder,
    wmid: Float64Builder,
    imbalance_1: Float64Builder,
    crossed: BooleanBuilder,
    ofi_l1: Float64Builder,
    ofi_l1_windows: Vec<Float64Builder>,
    symbol_norm: StringBuilder,
}

impl SilverTickerEncoder {
    /// An encoder for [`schema`]`(windows)` writing `symbol_norm` on every row.
    pub fn new(windows: &[Nanos], symbol_norm: &str) -> Self {
        SilverTickerEncoder {
            schema: schema(windows),
            symbol_norm_value: symbol_norm.to_string(),
            ts_event: ts_builder(SILVER_CAPACITY),
            ts_recv: ts_builder(SILVER_CAPACITY),
            seq: UInt64Builder::new(),
            bid_price: Float64Builder::new(),
            bid_size: Float64Builder::new(),
            ask_price: Float64Builder::new(),
            ask_size: Float64Builder::new(),
            mid: Float64Builder::new(),
            spread: Float64Builder::new(),
            rel_spread_bps: Float64Builder::new(),
            wmid: Float64Builder::new(),
            imbalance_1: Float64Builder::new(),
            crossed: BooleanBuilder::new(),
            ofi_l1: Float64Builder::new(),
            ofi_l1_windows: windows.iter().map(|_| Float64Builder::new()).collect(),
            symbol_norm: StringBuilder::new(),
        }
    }

    /// Appends one row: the quote `q` as received and its features `r`.
    pub fn append(&mut self, q: &TickerRow, r: &TickerFeatureRow) {
        debug_assert_eq!(r.ofi_l1_windows.len(), self.ofi_l1_windows.len());
        self.ts_event.append_value(q.ts_event);
        self.ts_recv.append_value(q.ts_recv);
        self.seq.append_option(q.seq);
        self.bid_price.append_option(q.bid_price);
        self.bid_size.append_option(q.bid_size);
        self.ask_price.append_option(q.ask_price);
        self.ask_size.append_option(q.ask_size);
        self.mid.append_option(r.mid);
        self.spread.append_option(r.spread);
        self.rel_spread_bps.append_option(r.rel_spread_bps);
        self.wmid.append_option(r.wmid);
        self.imbalance_1.append_option(r.imbalance_1);
        self.crossed.append_value(r.crossed);
        self.ofi_l1.append_option(r.ofi_l1);
        for (b, v) in self.ofi_l1_windows.iter_mut().zip(&r.ofi_l1_windows) {
            b.append_option(*v);
        }
        self.symbol_norm.append_value(&self.symbol_norm_value);
    }
}

impl Encoder for SilverTickerEncoder {
    fn rows(&self) -> usize {
        self.ts_event.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let mut c: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        c.push(Arc::new(self.ts_event.finish()));
        c.push(Arc::new(self.ts_recv.finish()));
        c.push(Arc::new(self.seq.finish()));
        for b in [
            &mut self.bid_price,
            &mut self.bid_size,
            &mut self.ask_price,
            &mut self.ask_size,
            &mut self.mid,
            &mut self.spread,
            &mut self.rel_spread_bps,
            &mut self.wmid,
            &mut self.imbalance_1,
        ] {
            c.push(Arc::new(b.finish()));
        }
        c.push(Arc::new(self.crossed.finish()));
        c.push(Arc::new(self.ofi_l1.finish()));
        for b in &mut self.ofi_l1_windows {
            c.push(Arc::new(b.finish()));
        }
        c.push(Arc::new(self.symbol_norm.finish()));
        batch(&self.schema, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;
    use crate::time::NANOS_PER_SEC;

    const SEC: Nanos = NANOS_PER_SEC;

    #[test]
    fn default_windows_give_todays_names() {
        let s = schema(&[SEC, 10 * SEC, 60 * SEC]);
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names[12..],
            [
                "crossed",
                "ofi_l1",
                "ofi_l1_1s",
                "ofi_l1_10s",
                "ofi_l1_60s",
                "symbol_norm",
            ]
        );
    }

    #[test]
    fn one_row_round_trips_column_by_column() {
        let q = TickerRow {
            ts_event: 1,
            ts_recv: 2,
            seq: Some(3),
            bid_price: Some(4.0),
            bid_size: Some(5.0),
            ask_price: Some(6.0),
            ask_size: Some(7.0),
        };
        let r = TickerFeatureRow {
            mid: Some(8.0),
            spread: Some(9.0),
            rel_spread_bps: Some(10.0),
            wmid: Some(11.0),
            imbalance_1: Some(12.0),
            crossed: true,
            ofi_l1: Some(13.0),
            ofi_l1_windows: vec![Some(14.0), Some(15.0)],
        };
        let mut e = SilverTickerEncoder::new(&[SEC, 2 * SEC], "ETH-USDT");
        e.append(&q, &r);
        assert_columns(
            &e.finish(),
            &schema(&[SEC, 2 * SEC]),
            &[
                ("ts_event", times(&[1])),
                ("ts_recv", times(&[2])),
                ("seq", u64s(&[3])),
                ("bid_price", floats(&[4.0])),
                ("bid_size", floats(&[5.0])),
                ("ask_price", floats(&[6.0])),
                ("ask_size", floats(&[7.0])),
                ("mid", floats(&[8.0])),
                ("spread", floats(&[9.0])),
                ("rel_spread_bps", floats(&[10.0])),
                ("wmid", floats(&[11.0])),
                ("imbalance_1", floats(&[12.0])),
                ("crossed", bools(&[true])),
                ("ofi_l1", floats(&[13.0])),
                ("ofi_l1_1s", floats(&[14.0])),
                ("ofi_l1_2s", floats(&[15.0])),
                ("symbol_norm", strs(&["ETH-USDT"])),
            ],
        );
    }
}
