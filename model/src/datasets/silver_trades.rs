//! `silver/trades`: one row per trade with its features (CONTRACT §4).
//!
//! Columns: the trade as received, `sign`, `notional`, the as-of `mid`, one `tfi_<W>` per
//! configured window, `vpin`, `vpin_bucket`, `symbol_norm`.

use super::{
    Encoder, SILVER_CAPACITY, batch, f64n, f64r, opt, req, symbol_norm_field, ts, ts_builder,
    window_fields,
};
use crate::features::TradeFeatureRow;
use crate::time::Nanos;
use arrow_array::builder::{
    ArrayBuilder, Float64Builder, Int8Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The `silver/trades` schema with `tfi_<W>` per window.
pub fn schema(windows: &[Nanos]) -> SchemaRef {
    let mut f = vec![
        ts("ts_event"),
        ts("ts_recv"),
        req("trade_id", DataType::Utf8),
        f64r("price"),
        f64r("size"),
        req("sign", DataType::Int8),
        f64r("notional"),
        f64n("mid"),
    ];
    f.extend(window_fields("tfi", windows));
    f.push(f64n("vpin"));
    f.push(opt("vpin_bucket", DataType::Int64));
    f.push(symbol_norm_field());
    Arc::new(Schema::new(f))
}

/// Encodes trades and their [`TradeFeatureRow`]s of one market as `silver/trades` batches.
pub struct SilverTradesEncoder {
    schema: SchemaRef,
    symbol_norm_value: String,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    trade_id: StringBuilder,
    price: Float64Builder,
    size: Float64Builder,
    sign: Int8Builder,
    notional: Float64Builder,
    mid: Float64Builder,
    tfi: Vec<Float64Builder>,
    vpin: Float64Builder,
    vpin_bucket: Int64Builder,
    symbol_norm: StringBuilder,
}

impl SilverTradesEncoder {
    /// An encoder for [`schema`]`(windows)` writing `symbol_norm` on every row.
    pub fn new(windows: &[Nanos], symbol_norm: &str) -> Self {
        SilverTradesEncoder {
            schema: schema(windows),
            symbol_norm_value: symbol_norm.to_string(),
            ts_event: ts_builder(SILVER_CAPACITY),
            ts_recv: ts_builder(SILVER_CAPACITY),
            trade_id: StringBuilder::new(),
            price: Float64Builder::new(),
            size: Float64Builder::new(),
            sign: Int8Builder::new(),
            notional: Float64Builder::new(),
            mid: Float64Builder::new(),
            tfi: windows.iter().map(|_| Float64Builder::new()).collect(),
            vpin: Float64Builder::new(),
            vpin_bucket: Int64Builder::new(),
            symbol_norm: StringBuilder::new(),
        }
    }

    /// Appends one row: the trade as received (`ts_event`, `ts_recv`, `id`, `price`, `size`)
    /// and its features `r`.
    pub fn append(
        &mut self,
        ts_event: Nanos,
        ts_recv: Nanos,
        id: &str,
        price: f64,
        size: f64,
        r: &TradeFeatureRow,
    ) {
        debug_assert_eq!(r.tfi.len(), self.tfi.len());
        self.ts_event.append_value(ts_event);
        self.ts_recv.append_value(ts_recv);
        self.trade_id.append_value(id);
        self.price.append_value(price);
        self.size.append_value(size);
        self.sign.append_value(r.sign);
        self.notional.append_value(r.notional);
        self.mid.append_option(r.mid);
        for (b, v) in self.tfi.iter_mut().zip(&r.tfi) {
            b.append_option(*v);
        }
        self.vpin.append_option(r.vpin);
        self.vpin_bucket.append_option(r.vpin_bucket);
        self.symbol_norm.append_value(&self.symbol_norm_value);
    }
}

impl Encoder for SilverTradesEncoder {
    fn rows(&self) -> usize {
        self.ts_event.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let mut c: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        c.push(Arc::new(self.ts_event.finish()));
        c.push(Arc::new(self.ts_recv.finish()));
        c.push(Arc::new(self.trade_id.finish()));
        c.push(Arc::new(self.price.finish()));
        c.push(Arc::new(self.size.finish()));
        c.push(Arc::new(self.sign.finish()));
        c.push(Arc::new(self.notional.finish()));
        c.push(Arc::new(self.mid.finish()));
        for b in &mut self.tfi {
            c.push(Arc::new(b.finish()));
        }
        c.push(Arc::new(self.vpin.finish()));
        c.push(Arc::new(self.vpin_bucket.finish()));
        c.push(Arc::new(self.symbol_norm.finish()));
        batch(&self.schema, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;
    use crate::fixed::Qty;
    use crate::time::NANOS_PER_SEC;

    const SEC: Nanos = NANOS_PER_SEC;

    #[test]
    fn default_windows_give_todays_names() {
        let s = schema(&[SEC, 10 * SEC, 60 * SEC]);
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names[7..],
            [
                "mid",
                "tfi_1s",
                "tfi_10s",
                "tfi_60s",
                "vpin",
                "vpin_bucket",
                "symbol_norm",
            ]
        );
    }

    #[test]
    fn one_row_round_trips_column_by_column() {
        let r = TradeFeatureRow {
            sign: -1,
            notional: 6.0,
            mid: Some(7.0),
            tfi: vec![Some(8.0), Some(9.0)],
            vpin: Some(10.0),
            vpin_bucket: Some(11),
            qty: Qty(1),
        };
        let mut e = SilverTradesEncoder::new(&[SEC, 5 * SEC], "SOL-USDT");
        e.append(1, 2, "t3", 4.0, 5.0, &r);
        assert_columns(
            &e.finish(),
            &schema(&[SEC, 5 * SEC]),
            &[
                ("ts_event", times(&[1])),
                ("ts_recv", times(&[2])),
                ("trade_id", strs(&["t3"])),
                ("price", floats(&[4.0])),
                ("size", floats(&[5.0])),
                ("sign", i8s(&[-1])),
                ("notional", floats(&[6.0])),
                ("mid", floats(&[7.0])),
                ("tfi_1s", floats(&[8.0])),
                ("tfi_5s", floats(&[9.0])),
                ("vpin", floats(&[10.0])),
                ("vpin_bucket", i64s(&[11])),
                ("symbol_norm", strs(&["SOL-USDT"])),
            ],
        );
    }
}
