//! Arrow schemas of every dataset (CONTRACT §2, §4, §5).
//!
//! Partition values (`exchange`, `symbol`, `date`, `interval`, `bar`) live in paths only, never as
//! columns. Timestamps are `Timestamp(Nanosecond, "UTC")`. Silver and gold carry `symbol_norm`.

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// The timestamp type of every time column: nanoseconds, UTC.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn ts(name: &str) -> Field {
    Field::new(name, ts_type(), false)
}
fn ts_null(name: &str) -> Field {
    Field::new(name, ts_type(), true)
}
fn f64n(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}
fn f64r(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}
fn side_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
        false,
    )
}

/// `bronze/book`.
pub fn bronze_book() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("seq", DataType::UInt64, true),
        Field::new("prev_seq", DataType::UInt64, true),
        Field::new("is_snapshot", DataType::Boolean, false),
        side_field("side"),
        f64r("price"),
        f64r("size"),
    ]))
}

/// `bronze/trades`.
pub fn bronze_trades() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("trade_id", DataType::Utf8, false),
        f64r("price"),
        f64r("size"),
        side_field("side"),
    ]))
}

/// `bronze/ticker`.
pub fn bronze_ticker() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("seq", DataType::UInt64, true),
        f64n("bid_price"),
        f64n("bid_size"),
        f64n("ask_price"),
        f64n("ask_size"),
    ]))
}

fn mlofi_fields(levels: usize) -> impl Iterator<Item = Field> {
    (1..=levels).map(|m| f64n(&format!("mlofi_{m}")))
}

/// `silver/book` with `mlofi_1 ..= mlofi_<levels>`.
pub fn silver_book(levels: usize) -> SchemaRef {
    let mut f = vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("seq", DataType::UInt64, true),
        Field::new("reset", DataType::Boolean, false),
        Field::new("gap", DataType::Boolean, false),
        Field::new("uncrossed", DataType::Boolean, false),
    ];
    for n in [
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
    ] {
        f.push(f64n(n));
    }
    f.extend(mlofi_fields(levels));
    for n in ["ofi_1s", "ofi_10s", "ofi_60s"] {
        f.push(f64n(n));
    }
    f.push(Field::new("symbol_norm", DataType::Utf8, false));
    Arc::new(Schema::new(f))
}

/// `silver/trades`.
pub fn silver_trades() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("trade_id", DataType::Utf8, false),
        f64r("price"),
        f64r("size"),
        Field::new("sign", DataType::Int8, false),
        f64r("notional"),
        f64n("mid"),
        f64n("tfi_1s"),
        f64n("tfi_10s"),
        f64n("tfi_60s"),
        f64n("vpin"),
        Field::new("vpin_bucket", DataType::Int64, true),
        Field::new("symbol_norm", DataType::Utf8, false),
    ]))
}

/// `silver/ticker`.
pub fn silver_ticker() -> SchemaRef {
    let mut f = vec![
        ts("ts_event"),
        ts("ts_recv"),
        Field::new("seq", DataType::UInt64, true),
    ];
    for n in [
        "bid_price",
        "bid_size",
        "ask_price",
        "ask_size",
        "mid",
        "spread",
        "rel_spread_bps",
        "wmid",
        "imbalance_1",
    ] {
        f.push(f64n(n));
    }
    f.push(Field::new("crossed", DataType::Boolean, false));
    for n in ["ofi_l1", "ofi_l1_1s", "ofi_l1_10s", "ofi_l1_60s"] {
        f.push(f64n(n));
    }
    f.push(Field::new("symbol_norm", DataType::Utf8, false));
    Arc::new(Schema::new(f))
}

/// `silver/intervals/interval=<spec>` with `mlofi_1 ..= mlofi_<levels>`.
pub fn silver_intervals(levels: usize) -> SchemaRef {
    let mut f = vec![
        ts("ts_open"),
        ts("ts_close"),
        Field::new("n_book_events", DataType::Int64, false),
        Field::new("n_trades", DataType::Int64, false),
        f64r("ofi"),
    ];
    f.extend((1..=levels).map(|m| f64r(&format!("mlofi_{m}"))));
    for n in [
        "buy_volume",
        "sell_volume",
        "unknown_volume",
        "signed_volume",
    ] {
        f.push(f64r(n));
    }
    for n in [
        "tfi",
        "mid_close",
        "mid_change",
        "spread_mean",
        "kyle_lambda",
        "kyle_alpha",
        "kyle_r2",
        "vpin",
    ] {
        f.push(f64n(n));
    }
    f.push(Field::new("reset", DataType::Boolean, false));
    f.push(Field::new("symbol_norm", DataType::Utf8, false));
    Arc::new(Schema::new(f))
}

/// `gold/bars/bar=<spec>`.
pub fn gold_bars() -> SchemaRef {
    let mut f = vec![
        ts("ts_open"),
        ts("ts_close"),
        ts_null("first_trade_ts"),
        ts_null("last_trade_ts"),
        Field::new("bar_seq", DataType::Int64, false),
        Field::new("is_complete", DataType::Boolean, false),
    ];
    for n in ["open", "high", "low", "close", "vwap"] {
        f.push(f64n(n));
    }
    f.push(f64r("volume"));
    f.push(f64r("quote_volume"));
    f.push(Field::new("trade_count", DataType::Int64, false));
    f.push(Field::new("trade_count_started", DataType::Int64, false));
    for n in ["buy_volume", "sell_volume", "unknown_volume"] {
        f.push(f64r(n));
    }
    for n in ["buy_count", "sell_count", "unknown_count"] {
        f.push(Field::new(n, DataType::Int64, false));
    }
    f.push(f64r("ofi"));
    f.push(f64r("signed_volume"));
    for n in [
        "tfi",
        "vpin",
        "kyle_lambda",
        "mid_open",
        "mid_close",
        "spread_mean",
    ] {
        f.push(f64n(n));
    }
    f.push(Field::new("symbol_norm", DataType::Utf8, false));
    Arc::new(Schema::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silver_book_has_m_mlofi_columns() {
        let s = silver_book(10);
        assert!(s.field_with_name("mlofi_10").is_ok());
        assert!(s.field_with_name("mlofi_11").is_err());
        assert_eq!(s.fields().last().unwrap().name(), "symbol_norm");
    }
}
