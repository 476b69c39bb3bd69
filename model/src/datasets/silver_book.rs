//! `silver/book`: one row per atomic book message once the book is ready (CONTRACT §4).
//!
//! Columns: times and flags, the L1/depth features, `ofi`, `mlofi_1 ..= mlofi_M`, one trailing
//! OFI sum `ofi_<W>` per configured window, `symbol_norm`.

use super::{Encoder, batch, f64n, req, symbol_norm_field, ts, ts_builder, window_fields};
use crate::features::BookFeatureRow;
use crate::time::Nanos;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, StringBuilder, TimestampNanosecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// The L1 and depth feature columns, in order.
const FEATURES: [&str; 12] = [
    "best_bid",
    "best_ask",
    "bid_size_1",
    "ask_size_1",
    "mid",
    "spread",
    "rel_spread_bps",
    "wmid",
    "imbalance_1",
    "depth_imbalance_5",
    "depth_imbalance_10",
    "ofi",
];

/// The `silver/book` schema with `mlofi_1 ..= mlofi_<mlofi_levels>` and `ofi_<W>` per window.
pub fn schema(mlofi_levels: usize, windows: &[Nanos]) -> SchemaRef {
    let mut f = vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("seq", DataType::UInt64, true),
        req("reset", DataType::Boolean),
        req("gap", DataType::Boolean),
        req("uncrossed", DataType::Boolean),
    ];
    f.extend(FEATURES.map(f64n));
    f.extend((1..=mlofi_levels).map(|m| f64n(&format!("mlofi_{m}"))));
    f.extend(window_fields("ofi", windows));
    f.push(symbol_norm_field());
    Arc::new(Schema::new(f))
}

/// Encodes [`BookFeatureRow`]s of one market as `silver/book` batches.
pub struct SilverBookEncoder {
    schema: SchemaRef,
    symbol_norm_value: String,
    ts_event: TimestampNanosecondBuilder,
    ts_recv: TimestampNanosecondBuilder,
    seq: UInt64Builder,
    reset: BooleanBuilder,
    gap: BooleanBuilder,
    uncrossed: BooleanBuilder,
    best_bid: Float64Builder,
    best_ask: Float64Builder,
    bid_size_1: Float64Builder,
    ask_size_1: Float64Builder,
    mid: Float64Builder,
    spread: Float64Builder,
    rel_spread_bps: Float64Builder,
    wmid: Float64Builder,
    imbalance_1: Float64Builder,
    depth_imbalance_5: Float64Builder,
    depth_imbalance_10: Float64Builder,
    ofi: Float64Builder,
    mlofi: Vec<Float64Builder>,
    ofi_windows: Vec<Float64Builder>,
    symbol_norm: StringBuilder,
}

impl SilverBookEncoder {
    /// An encoder for [`schema`]`(mlofi_levels, windows)` writing `symbol_norm` on every row.
    pub fn new(mlofi_levels: usize, windows: &[Nanos], symbol_norm: &str) -> Self {
        let floats = |n: usize| (0..n).map(|_| Float64Builder::new()).collect();
        SilverBookEncoder {
            schema: schema(mlofi_levels, windows),
            symbol_norm_value: symbol_norm.to_string(),
            ts_event: ts_builder(super::SILVER_CAPACITY),
            ts_recv: ts_builder(super::SILVER_CAPACITY),
            seq: UInt64Builder::new(),
            reset: BooleanBuilder::new(),
            gap: BooleanBuilder::new(),
            uncrossed: BooleanBuilder::new(),
            best_bid: Float64Builder::new(),
            best_ask: Float64Builder::new(),
            bid_size_1: Float64Builder::new(),
            ask_size_1: Float64Builder::new(),
            mid: Float64Builder::new(),
            spread: Float64Builder::new(),
            rel_spread_bps: Float64Builder::new(),
            wmid: Float64Builder::new(),
            imbalance_1: Float64Builder::new(),
            depth_imbalance_5: Float64Builder::new(),
            depth_imbalance_10: Float64Builder::new(),
            ofi: Float64Builder::new(),
            mlofi: floats(mlofi_levels),
            ofi_windows: floats(windows.len()),
            symbol_norm: StringBuilder::new(),
        }
    }

    /// Appends one row; `ts_event` is the venue time written (the row's own is the ordering
    /// time).
    pub fn append(&mut self, ts_event: Nanos, r: &BookFeatureRow) {
        debug_assert_eq!(r.mlofi.len(), self.mlofi.len());
        debug_assert_eq!(r.ofi_windows.len(), self.ofi_windows.len());
        self.ts_event.append_value(ts_event);
        self.ts_recv.append_value(r.ts_recv);
        self.seq.append_option(r.seq);
        self.reset.append_value(r.reset);
        self.gap.append_value(r.gap);
        self.uncrossed.append_value(r.uncrossed);
        self.best_bid.append_option(r.best_bid);
        self.best_ask.append_option(r.best_ask);
        self.bid_size_1.append_option(r.bid_size_1);
        self.ask_size_1.append_option(r.ask_size_1);
        self.mid.append_option(r.mid);
        self.spread.append_option(r.spread);
        self.rel_spread_bps.append_option(r.rel_spread_bps);
        self.wmid.append_option(r.wmid);
        self.imbalance_1.append_option(r.imbalance_1);
        self.depth_imbalance_5.append_option(r.depth_imbalance_5);
        self.depth_imbalance_10.append_option(r.depth_imbalance_10);
        self.ofi.append_option(r.ofi);
        for (b, v) in self.mlofi.iter_mut().zip(&r.mlofi) {
            b.append_option(*v);
        }
        for (b, v) in self.ofi_windows.iter_mut().zip(&r.ofi_windows) {
            b.append_option(*v);
        }
        self.symbol_norm.append_value(&self.symbol_norm_value);
    }
}

impl Encoder for SilverBookEncoder {
    fn rows(&self) -> usize {
        self.ts_event.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let mut c: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        c.push(Arc::new(self.ts_event.finish()));
        c.push(Arc::new(self.ts_recv.finish()));
        c.push(Arc::new(self.seq.finish()));
        c.push(Arc::new(self.reset.finish()));
        c.push(Arc::new(self.gap.finish()));
        c.push(Arc::new(self.uncrossed.finish()));
        for b in [
            &mut self.best_bid,
            &mut self.best_ask,
            &mut self.bid_size_1,
            &mut self.ask_size_1,
            &mut self.mid,
            &mut self.spread,
            &mut self.rel_spread_bps,
            &mut self.wmid,
            &mut self.imbalance_1,
            &mut self.depth_imbalance_5,
            &mut self.depth_imbalance_10,
            &mut self.ofi,
        ] {
            c.push(Arc::new(b.finish()));
        }
        for b in self.mlofi.iter_mut().chain(&mut self.ofi_windows) {
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
        let s = schema(10, &[SEC, 10 * SEC, 60 * SEC]);
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names[18..],
            [
                "mlofi_1",
                "mlofi_2",
                "mlofi_3",
                "mlofi_4",
                "mlofi_5",
                "mlofi_6",
                "mlofi_7",
                "mlofi_8",
                "mlofi_9",
                "mlofi_10",
                "ofi_1s",
                "ofi_10s",
                "ofi_60s",
                "symbol_norm",
            ]
        );
    }

    #[test]
    fn has_m_mlofi_columns() {
        let s = schema(10, &[SEC]);
        assert!(s.field_with_name("mlofi_10").is_ok());
        assert!(s.field_with_name("mlofi_11").is_err());
        assert_eq!(s.fields().last().unwrap().name(), "symbol_norm");
    }

    /// Two rows, so each of the three flags has its own pattern; every other column holds
    /// values found in no other column.
    #[test]
    fn rows_round_trip_column_by_column() {
        let row = |k: f64, reset, gap, uncrossed| BookFeatureRow {
            ts_event: -1,
            ts_recv: 2 + k as i64,
            seq: Some(3 + k as u64),
            reset,
            gap,
            uncrossed,
            best_bid: Some(k + 0.1),
            best_ask: Some(k + 0.2),
            bid_size_1: Some(k + 0.3),
            ask_size_1: Some(k + 0.4),
            mid: Some(k + 0.5),
            spread: Some(k + 0.6),
            rel_spread_bps: Some(k + 0.7),
            wmid: Some(k + 0.8),
            imbalance_1: Some(k + 0.9),
            depth_imbalance_5: Some(k + 0.11),
            depth_imbalance_10: Some(k + 0.12),
            ofi: Some(k + 0.13),
            mlofi: vec![Some(k + 0.21), Some(k + 0.22)],
            ofi_windows: vec![Some(k + 0.31), Some(k + 0.32)],
            ofi_units: 0,
            mlofi_units: vec![0, 0],
        };
        let mut e = SilverBookEncoder::new(2, &[SEC, 250_000_000], "BTC-USDT");
        e.append(1, &row(10.0, true, true, false));
        e.append(11, &row(20.0, true, false, true));
        let two = |d: f64| floats(&[10.0 + d, 20.0 + d]);
        assert_columns(
            &e.finish(),
            &schema(2, &[SEC, 250_000_000]),
            &[
                ("ts_event", times(&[1, 11])),
                ("ts_recv", times(&[12, 22])),
                ("seq", u64s(&[13, 23])),
                ("reset", bools(&[true, true])),
                ("gap", bools(&[true, false])),
                ("uncrossed", bools(&[false, true])),
                ("best_bid", two(0.1)),
                ("best_ask", two(0.2)),
                ("bid_size_1", two(0.3)),
                ("ask_size_1", two(0.4)),
                ("mid", two(0.5)),
                ("spread", two(0.6)),
                ("rel_spread_bps", two(0.7)),
                ("wmid", two(0.8)),
                ("imbalance_1", two(0.9)),
                ("depth_imbalance_5", two(0.11)),
                ("depth_imbalance_10", two(0.12)),
                ("ofi", two(0.13)),
                ("mlofi_1", two(0.21)),
                ("mlofi_2", two(0.22)),
                ("ofi_1s", two(0.31)),
                ("ofi_250ms", two(0.32)),
                ("symbol_norm", strs(&["BTC-USDT", "BTC-USDT"])),
            ],
        );
    }
}
