//! `silver/cross/interval=<spec>/base=<BASE>`: one row per interval, per non-reference market of
//! a group, where the market and its reference both have a `silver/intervals` row (CONTRACT §11).
//!
//! Columns: the interval's bounds, the two markets' ids, the point columns of both markets
//! (§11.3) and the window statistics over the last `W` intervals (§11.4). Unlike the per-market
//! datasets, the market ids are columns (a `base` partition holds every market of the group).

use super::{Encoder, SILVER_CAPACITY, batch, f64n, f64r, req, ts, ts_builder};
use crate::cross::CrossStats;
use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The market id columns, in order.
const IDS: [&str; 4] = ["exchange", "symbol", "ref_exchange", "ref_symbol"];

/// The nullable point columns after the ids, in order (`ofi`, `ref_ofi`, `signed_volume` and
/// `ref_signed_volume` are never null and placed as §11.3 lists them).
const POINT: [(&str, bool); 11] = [
    ("mid", true),
    ("ref_mid", true),
    ("spread_bps", true),
    ("ret", true),
    ("ref_ret", true),
    ("ofi", false),
    ("ref_ofi", false),
    ("tfi", true),
    ("ref_tfi", true),
    ("signed_volume", false),
    ("ref_signed_volume", false),
];

/// The window columns after `n`, in order.
const WINDOW: [&str; 5] = [
    "corr",
    "beta",
    "lead_lag",
    "spread_bps_mean",
    "spread_bps_z",
];

/// The `silver/cross` schema.
pub fn schema() -> SchemaRef {
    let mut f = vec![ts("ts_open"), ts("ts_close")];
    f.extend(IDS.map(|n| req(n, DataType::Utf8)));
    f.extend(POINT.map(|(n, null)| if null { f64n(n) } else { f64r(n) }));
    f.push(req("n", DataType::Int64));
    f.extend(WINDOW.map(f64n));
    Arc::new(Schema::new(f))
}

/// The ids of a row's market and reference: `[exchange, symbol, ref_exchange, ref_symbol]`.
pub type CrossIds<'a> = [&'a str; 4];

/// Encodes [`CrossStats`] rows as `silver/cross` batches.
pub struct SilverCrossEncoder {
    schema: SchemaRef,
    ts_open: TimestampNanosecondBuilder,
    ts_close: TimestampNanosecondBuilder,
    ids: [StringBuilder; 4],
    point: Vec<Float64Builder>,
    n: Int64Builder,
    window: Vec<Float64Builder>,
}

impl Default for SilverCrossEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SilverCrossEncoder {
    /// An empty encoder.
    pub fn new() -> Self {
        SilverCrossEncoder {
            schema: schema(),
            ts_open: ts_builder(SILVER_CAPACITY),
            ts_close: ts_builder(SILVER_CAPACITY),
            ids: std::array::from_fn(|_| StringBuilder::new()),
            point: POINT.iter().map(|_| Float64Builder::new()).collect(),
            n: Int64Builder::new(),
            window: WINDOW.iter().map(|_| Float64Builder::new()).collect(),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, ids: CrossIds<'_>, r: &CrossStats) {
        self.ts_open.append_value(r.ts_open);
        self.ts_close.append_value(r.ts_close);
        for (b, v) in self.ids.iter_mut().zip(ids) {
            b.append_value(v);
        }
        let point = [
            r.mid,
            r.ref_mid,
            r.spread_bps,
            r.ret,
            r.ref_ret,
            Some(r.ofi),
            Some(r.ref_ofi),
            r.tfi,
            r.ref_tfi,
            Some(r.signed_volume),
            Some(r.ref_signed_volume),
        ];
        for (b, v) in self.point.iter_mut().zip(point) {
            b.append_option(v);
        }
        self.n.append_value(r.n);
        let window = [
            r.corr,
            r.beta,
            r.lead_lag,
            r.spread_bps_mean,
            r.spread_bps_z,
        ];
        for (b, v) in self.window.iter_mut().zip(window) {
            b.append_option(v);
        }
    }
}

impl Encoder for SilverCrossEncoder {
    fn rows(&self) -> usize {
        arrow_array::builder::ArrayBuilder::len(&self.ts_open)
    }

    fn finish(&mut self) -> RecordBatch {
        let mut c: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        c.push(Arc::new(self.ts_open.finish()));
        c.push(Arc::new(self.ts_close.finish()));
        for b in &mut self.ids {
            c.push(Arc::new(b.finish()));
        }
        for b in &mut self.point {
            c.push(Arc::new(b.finish()));
        }
        c.push(Arc::new(self.n.finish()));
        for b in &mut self.window {
            c.push(Arc::new(b.finish()));
        }
        batch(&self.schema, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;

    #[test]
    fn one_row_round_trips_with_its_nulls() {
        let r = CrossStats {
            ts_open: 1,
            ts_close: 2,
            mid: Some(3.0),
            ref_mid: Some(4.0),
            spread_bps: Some(-2500.0),
            ret: None,
            ref_ret: Some(0.1),
            ofi: 5.0,
            ref_ofi: 6.0,
            tfi: None,
            ref_tfi: Some(0.2),
            signed_volume: 7.0,
            ref_signed_volume: 8.0,
            n: 9,
            corr: Some(0.5),
            beta: None,
            lead_lag: Some(-0.25),
            spread_bps_mean: Some(1.5),
            spread_bps_z: None,
        };
        let mut e = SilverCrossEncoder::new();
        e.append(["x", "BTC-USDC", "x", "BTC-USDT"], &r);
        let b = e.finish();
        assert_eq!(b.schema(), schema());
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.num_columns(), 2 + 4 + 11 + 1 + 5);
        let f = |n: &str| {
            let c = b.column_by_name(n).unwrap().as_primitive::<Float64Type>();
            (!c.is_null(0)).then(|| c.value(0))
        };
        assert_eq!(f("spread_bps"), Some(-2500.0));
        assert_eq!(f("ret"), None);
        assert_eq!(f("ref_signed_volume"), Some(8.0));
        assert_eq!(f("lead_lag"), Some(-0.25));
        assert_eq!(f("spread_bps_z"), None);
        let s = b.column_by_name("ref_symbol").unwrap().as_string::<i32>();
        assert_eq!(s.value(0), "BTC-USDT");
        assert_eq!(e.rows(), 0);
    }
}
