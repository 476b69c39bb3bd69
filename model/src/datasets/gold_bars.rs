//! `gold/bars/bar=<spec>`: one row per bar of one bar spec (CONTRACT §5).
//!
//! Columns: the bar's bounds and trade times, `bar_seq`, `is_complete`, OHLC and VWAP, volumes and
//! counts by aggressor side, the book and trade flow, the nullable features, `symbol_norm`. The
//! AFML audit of a row is not written.

use super::{
    Encoder, SILVER_CAPACITY, batch, f64n, f64r, req, symbol_norm_field, ts, ts_builder, ts_null,
};
use crate::features::BarRow;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};
use std::sync::Arc;

/// The `gold/bars` schema.
pub fn schema() -> SchemaRef {
    let i64r = |n: &str| req(n, DataType::Int64);
    let mut f = vec![
        ts("ts_open"),
        ts("ts_close"),
        ts_null("first_trade_ts"),
        ts_null("last_trade_ts"),
        i64r("bar_seq"),
        req("is_complete", DataType::Boolean),
    ];
    f.extend(["open", "high", "low", "close", "vwap"].map(f64n));
    f.extend(["volume", "quote_volume"].map(f64r));
    f.extend(["trade_count", "trade_count_started"].map(i64r));
    f.extend(["buy_volume", "sell_volume", "unknown_volume"].map(f64r));
    f.extend(["buy_count", "sell_count", "unknown_count"].map(i64r));
    f.extend(["ofi", "signed_volume"].map(f64r));
    f.extend(
        [
            "tfi",
            "vpin",
            "kyle_lambda",
            "mid_open",
            "mid_close",
            "spread_mean",
        ]
        .map(f64n),
    );
    f.push(symbol_norm_field());
    Arc::new(Schema::new(f))
}

/// Encodes [`BarRow`]s of one market and bar spec as `gold/bars` batches.
pub struct GoldBarsEncoder {
    schema: SchemaRef,
    symbol_norm_value: String,
    ts_open: TimestampNanosecondBuilder,
    ts_close: TimestampNanosecondBuilder,
    first_trade_ts: TimestampNanosecondBuilder,
    last_trade_ts: TimestampNanosecondBuilder,
    bar_seq: Int64Builder,
    is_complete: BooleanBuilder,
    open: Float64Builder,
    high: Float64Builder,
    low: Float64Builder,
    close: Float64Builder,
    vwap: Float64Builder,
    volume: Float64Builder,
    quote_volume: Float64Builder,
    trade_count: Int64Builder,
    trade_count_started: Int64Builder,
    buy_volume: Float64Builder,
    sell_volume: Float64Builder,
    unknown_volume: Float64Builder,
    buy_count: Int64Builder,
    sell_count: Int64Builder,
    unknown_count: Int64Builder,
    ofi: Float64Builder,
    signed_volume: Float64Builder,
    tfi: Float64Builder,
    vpin: Float64Builder,
    kyle_lambda: Float64Builder,
    mid_open: Float64Builder,
    mid_close: Float64Builder,
    spread_mean: Float64Builder,
    symbol_norm: StringBuilder,
}

impl GoldBarsEncoder {
    /// An encoder writing `symbol_norm` on every row.
    pub fn new(symbol_norm: &str) -> Self {
        let f = Float64Builder::new;
        let i = Int64Builder::new;
        GoldBarsEncoder {
            schema: schema(),
            symbol_norm_value: symbol_norm.to_string(),
            ts_open: ts_builder(SILVER_CAPACITY),
            ts_close: ts_builder(SILVER_CAPACITY),
            first_trade_ts: ts_builder(SILVER_CAPACITY),
            last_trade_ts: ts_builder(SILVER_CAPACITY),
            bar_seq: i(),
            is_complete: BooleanBuilder::new(),
            open: f(),
            high: f(),
            low: f(),
            close: f(),
            vwap: f(),
            volume: f(),
            quote_volume: f(),
            trade_count: i(),
            trade_count_started: i(),
            buy_volume: f(),
            sell_volume: f(),
            unknown_volume: f(),
            buy_count: i(),
            sell_count: i(),
            unknown_count: i(),
            ofi: f(),
            signed_volume: f(),
            tfi: f(),
            vpin: f(),
            kyle_lambda: f(),
            mid_open: f(),
            mid_close: f(),
            spread_mean: f(),
            symbol_norm: StringBuilder::new(),
        }
    }

    /// Appends one row.
    pub fn append(&mut self, r: &BarRow) {
        self.ts_open.append_value(r.ts_open);
        self.ts_close.append_value(r.ts_close);
        self.first_trade_ts.append_option(r.first_trade_ts);
        self.last_trade_ts.append_option(r.last_trade_ts);
        self.bar_seq.append_value(r.bar_seq);
        self.is_complete.append_value(r.is_complete);
        self.open.append_option(r.open);
        self.high.append_option(r.high);
        self.low.append_option(r.low);
        self.close.append_option(r.close);
        self.vwap.append_option(r.vwap);
        self.volume.append_value(r.volume);
        self.quote_volume.append_value(r.quote_volume);
        self.trade_count.append_value(r.trade_count);
        self.trade_count_started.append_value(r.trade_count_started);
        self.buy_volume.append_value(r.buy_volume);
        self.sell_volume.append_value(r.sell_volume);
        self.unknown_volume.append_value(r.unknown_volume);
        self.buy_count.append_value(r.buy_count);
        self.sell_count.append_value(r.sell_count);
        self.unknown_count.append_value(r.unknown_count);
        self.ofi.append_value(r.ofi);
        self.signed_volume.append_value(r.signed_volume);
        self.tfi.append_option(r.tfi);
        self.vpin.append_option(r.vpin);
        self.kyle_lambda.append_option(r.kyle_lambda);
        self.mid_open.append_option(r.mid_open);
        self.mid_close.append_option(r.mid_close);
        self.spread_mean.append_option(r.spread_mean);
        self.symbol_norm.append_value(&self.symbol_norm_value);
    }
}

impl Encoder for GoldBarsEncoder {
    fn rows(&self) -> usize {
        self.ts_open.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let c: Vec<ArrayRef> = vec![
            Arc::new(self.ts_open.finish()),
            Arc::new(self.ts_close.finish()),
            Arc::new(self.first_trade_ts.finish()),
            Arc::new(self.last_trade_ts.finish()),
            Arc::new(self.bar_seq.finish()),
            Arc::new(self.is_complete.finish()),
            Arc::new(self.open.finish()),
            Arc::new(self.high.finish()),
            Arc::new(self.low.finish()),
            Arc::new(self.close.finish()),
            Arc::new(self.vwap.finish()),
            Arc::new(self.volume.finish()),
            Arc::new(self.quote_volume.finish()),
            Arc::new(self.trade_count.finish()),
            Arc::new(self.trade_count_started.finish()),
            Arc::new(self.buy_volume.finish()),
            Arc::new(self.sell_volume.finish()),
            Arc::new(self.unknown_volume.finish()),
            Arc::new(self.buy_count.finish()),
            Arc::new(self.sell_count.finish()),
            Arc::new(self.unknown_count.finish()),
            Arc::new(self.ofi.finish()),
            Arc::new(self.signed_volume.finish()),
            Arc::new(self.tfi.finish()),
            Arc::new(self.vpin.finish()),
            Arc::new(self.kyle_lambda.finish()),
            Arc::new(self.mid_open.finish()),
            Arc::new(self.mid_close.finish()),
            Arc::new(self.spread_mean.finish()),
            Arc::new(self.symbol_norm.finish()),
        ];
        batch(&self.schema, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::testing::*;
    use crate::features::AfmlAudit;

    #[test]
    fn one_row_round_trips_column_by_column() {
        let r = BarRow {
            ts_open: 1,
            ts_close: 2,
            first_trade_ts: Some(3),
            last_trade_ts: Some(4),
            bar_seq: 5,
            is_complete: true,
            open: Some(6.0),
            high: Some(7.0),
            low: Some(8.0),
            close: Some(9.0),
            vwap: Some(10.0),
            volume: 11.0,
            quote_volume: 12.0,
            trade_count: 13,
            trade_count_started: 14,
            buy_volume: 15.0,
            sell_volume: 16.0,
            unknown_volume: 17.0,
            buy_count: 18,
            sell_count: 19,
            unknown_count: 20,
            ofi: 21.0,
            signed_volume: 22.0,
            tfi: Some(23.0),
            vpin: Some(24.0),
            kyle_lambda: Some(25.0),
            mid_open: Some(26.0),
            mid_close: Some(27.0),
            spread_mean: Some(28.0),
            audit: Some(AfmlAudit {
                theta: 29.0,
                exp_num_ticks: 30.0,
                exp_imbalance: 31.0,
            }),
        };
        let mut e = GoldBarsEncoder::new("BTC-USDT");
        e.append(&r);
        assert_columns(
            &e.finish(),
            &schema(),
            &[
                ("ts_open", times(&[1])),
                ("ts_close", times(&[2])),
                ("first_trade_ts", times(&[3])),
                ("last_trade_ts", times(&[4])),
                ("bar_seq", i64s(&[5])),
                ("is_complete", bools(&[true])),
                ("open", floats(&[6.0])),
                ("high", floats(&[7.0])),
                ("low", floats(&[8.0])),
                ("close", floats(&[9.0])),
                ("vwap", floats(&[10.0])),
                ("volume", floats(&[11.0])),
                ("quote_volume", floats(&[12.0])),
                ("trade_count", i64s(&[13])),
                ("trade_count_started", i64s(&[14])),
                ("buy_volume", floats(&[15.0])),
                ("sell_volume", floats(&[16.0])),
                ("unknown_volume", floats(&[17.0])),
                ("buy_count", i64s(&[18])),
                ("sell_count", i64s(&[19])),
                ("unknown_count", i64s(&[20])),
                ("ofi", floats(&[21.0])),
                ("signed_volume", floats(&[22.0])),
                ("tfi", floats(&[23.0])),
                ("vpin", floats(&[24.0])),
                ("kyle_lambda", floats(&[25.0])),
                ("mid_open", floats(&[26.0])),
                ("mid_close", floats(&[27.0])),
                ("spread_mean", floats(&[28.0])),
                ("symbol_norm", strs(&["BTC-USDT"])),
            ],
        );
    }
}
