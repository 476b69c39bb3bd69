//! [`decode_batch`]: a bronze record batch to [`ChunkData`] columns, validating the CONTRACT
//! §2/§8 value rules. This is the run's hot path: numeric columns share the Arrow buffers (no
//! copy), value checks run branch-free over whole columns and only a failing column is walked
//! again to name its first bad row; nothing is done or allocated per row beyond the columns.

use super::chunk::{
    BookCols, BookTimeCarry, ChunkData, Col, SIDE_ASK, SIDE_BID, TickerCols, TradeCols,
};
use super::clock::OrderClock;
use super::columns::{bad, column_error, f64_col, ts_col, u64_col};
use crate::error::{Result, SourceError};
use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use arrow_array::{Array, RecordBatch, StringArray};
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Nanos, TIME_MAX, TIME_MIN, check_time};
use std::path::Path;

/// Decodes a bronze batch into columns, validating CONTRACT §2/§8 value rules. `first_row` is
/// the 0-based file row of the batch's first row (for error messages).
pub fn decode_batch(
    dataset: Dataset,
    batch: &RecordBatch,
    path: &Path,
    first_row: u64,
    clock: OrderClock,
    carry: &mut BookTimeCarry,
) -> Result<ChunkData> {
    let b = Batch {
        batch,
        path,
        first_row,
    };
    let (ts_event, ts_recv) = b.timestamps()?;
    Ok(match dataset {
        Dataset::Book => ChunkData::Book(b.book(ts_event, ts_recv, clock, carry)?),
        Dataset::Trades => ChunkData::Trades(b.trades(ts_event, ts_recv, clock)?),
        Dataset::Ticker => ChunkData::Ticker(b.ticker(ts_event, ts_recv, clock)?),
    })
}

/// A batch being decoded, with what its errors name.
struct Batch<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
    /// 0-based file row of the batch's first row.
    first_row: u64,
}

fn book_side(s: Option<&str>) -> Option<u8> {
    match s {
        Some("bid") => Some(SIDE_BID),
        Some("ask") => Some(SIDE_ASK),
        _ => None,
    }
}

fn trade_sign(s: Option<&str>) -> Option<i8> {
    match s {
        Some("buy") => Some(1),
        Some("sell") => Some(-1),
        Some("unknown") => Some(0),
        _ => None,
    }
}

impl Batch<'_> {
    fn bad(&self, i: usize, rule: impl Into<String>) -> SourceError {
        bad(self.path, self.first_row + i as u64, rule)
    }

    /// `ts_event` and `ts_recv`, shared with the batch; a null is an error.
    fn timestamps(&self) -> Result<(Col<Nanos>, Col<Nanos>)> {
        let te = ts_col(self.batch, "ts_event", self.path)?;
        let tr = ts_col(self.batch, "ts_recv", self.path)?;
        if te.null_count() > 0 || tr.null_count() > 0 {
            let i = (0..self.batch.num_rows())
                .find(|&i| te.is_null(i) || tr.is_null(i))
                .unwrap_or(0);
            return Err(self.bad(i, "null timestamp"));
        }
        self.check_times(te.values(), "ts_event")?;
        self.check_times(tr.values(), "ts_recv")?;
        Ok((Col(te.values().clone()), Col(tr.values().clone())))
    }

    /// Every time of column `what` in the accepted range (bronze written by another tool may
    /// hold a 1969 or year-3000 stamp; issue 16). Branch-free over the column; only a failing
    /// column is walked again to name its first bad row.
    fn check_times(&self, v: &[Nanos], what: &str) -> Result<()> {
        let all_ok = (v.iter()).fold(true, |ok, t| ok & (TIME_MIN..TIME_MAX).contains(t));
        if all_ok {
            return Ok(());
        }
        for (i, &t) in v.iter().enumerate() {
            if let Err(rule) = check_time(what, t) {
                return Err(self.bad(i, rule));
            }
        }
        Ok(())
    }

    /// Float column `name`, shared with the batch.
    fn shared_f64(&self, name: &str) -> Result<Col<f64>> {
        Ok(Col(f64_col(self.batch, name, self.path)?.values().clone()))
    }

    /// Checks every value of column `what` is finite and `> 0` (or `>= 0` with `allow_zero`).
    #[inline]
    fn check(&self, v: &[f64], what: &str, allow_zero: bool) -> Result<()> {
        // Fast path without short-circuit (vectorizes); the slow loop only names the bad row.
        let all_ok = v.iter().fold(true, |ok, &x| {
            ok & x.is_finite() & ((x > 0.0) | (allow_zero & (x == 0.0)))
        });
        if all_ok {
            return Ok(());
        }
        for (i, &x) in v.iter().enumerate() {
            let ok = x.is_finite() && (x > 0.0 || (allow_zero && x == 0.0));
            if !ok {
                let bound = if allow_zero { ">= 0" } else { "> 0" };
                return Err(self.bad(i, format!("{what} {x} must be finite and {bound}")));
            }
        }
        Ok(())
    }

    fn book(
        &self,
        ts_event: Col<Nanos>,
        ts_recv: Col<Nanos>,
        clock: OrderClock,
        carry: &mut BookTimeCarry,
    ) -> Result<BookCols> {
        let price = self.shared_f64("price")?;
        let size = self.shared_f64("size")?;
        self.check(&price, "price", false)?;
        self.check(&size, "size", true)?;
        let side = self.side_codes("book", book_side)?;
        let seq = u64_col(self.batch, "seq", self.path)?.iter().collect();
        let prev_seq = u64_col(self.batch, "prev_seq", self.path)?.iter().collect();
        let is_snapshot = self.is_snapshot()?;
        let ts = match clock {
            OrderClock::Receive => ts_recv.to_vec(),
            OrderClock::Event => running_max(&ts_event, carry),
        };
        Ok(BookCols {
            ts,
            ts_event,
            ts_recv,
            seq,
            prev_seq,
            is_snapshot,
            side,
            price,
            size,
        })
    }

    fn is_snapshot(&self) -> Result<Vec<bool>> {
        let col = self
            .batch
            .column_by_name("is_snapshot")
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| SourceError::Schema {
                path: self.path.into(),
                dataset: "book",
                detail: "is_snapshot".into(),
            })?;
        Ok(col.iter().map(|v| v.unwrap_or(false)).collect())
    }

    fn trades(
        &self,
        ts_event: Col<Nanos>,
        ts_recv: Col<Nanos>,
        clock: OrderClock,
    ) -> Result<TradeCols> {
        let price = self.shared_f64("price")?;
        let size = self.shared_f64("size")?;
        self.check(&price, "price", false)?;
        self.check(&size, "size", false)?;
        let sign = self.side_codes("trade", trade_sign)?;
        let (ids, id_ends) = self.trade_ids()?;
        Ok(TradeCols {
            clock,
            ts_event,
            ts_recv,
            ids,
            id_ends,
            price,
            size,
            sign,
        })
    }

    /// Trade ids concatenated, and the end offset of each. Empty when the reader skips ids
    /// (`skip_trade_ids`).
    fn trade_ids(&self) -> Result<(String, Vec<u32>)> {
        let Some(c) = self.batch.column_by_name("trade_id") else {
            return Ok((String::new(), Vec::new()));
        };
        let idc = c
            .as_string_opt::<i32>()
            .ok_or_else(|| SourceError::Schema {
                path: self.path.into(),
                dataset: "trades",
                detail: "trade_id".into(),
            })?;
        let n = self.batch.num_rows();
        let mut ids = String::with_capacity(idc.value_data().len());
        let mut id_ends = Vec::with_capacity(n);
        for i in 0..n {
            if !idc.is_null(i) {
                ids.push_str(idc.value(i));
            }
            id_ends.push(ids.len() as u32);
        }
        Ok((ids, id_ends))
    }

    fn ticker(
        &self,
        ts_event: Col<Nanos>,
        ts_recv: Col<Nanos>,
        clock: OrderClock,
    ) -> Result<TickerCols> {
        let ts = match clock {
            OrderClock::Event => ts_event.clone(),
            OrderClock::Receive => ts_recv.clone(),
        };
        Ok(TickerCols {
            ts,
            ts_event,
            ts_recv,
            seq: u64_col(self.batch, "seq", self.path)?.iter().collect(),
            bid_price: self.optional_price("bid_price")?,
            bid_size: self.optional_price("bid_size")?,
            ask_price: self.optional_price("ask_price")?,
            ask_size: self.optional_price("ask_size")?,
        })
    }

    /// Nullable float column `name`: each value finite and positive (sizes may be zero).
    fn optional_price(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let v: Vec<Option<f64>> = f64_col(self.batch, name, self.path)?.iter().collect();
        let allow_zero = name.ends_with("size");
        for (i, x) in v.iter().enumerate() {
            if let Some(x) = x {
                let ok = x.is_finite() && (*x > 0.0 || (allow_zero && *x == 0.0));
                if !ok {
                    return Err(self.bad(i, format!("{name} {x} must be finite and positive")));
                }
            }
        }
        Ok(v)
    }

    /// Reads the `side` column (dictionary or plain utf8) into codes: `code(value)` maps each
    /// string (`None`: null) to a code or `None` (invalid; the error names the first such row
    /// with `what`). For a dictionary column the mapping runs once per dictionary value, not
    /// per row.
    fn side_codes<T: Copy>(
        &self,
        what: &str,
        code: impl Fn(Option<&str>) -> Option<T>,
    ) -> Result<Vec<T>> {
        let col = self
            .batch
            .column_by_name("side")
            .ok_or_else(|| column_error(self.path, "missing column `side`".into()))?;
        let invalid = |i: usize, v: Option<&str>| self.bad(i, format!("unknown {what} side {v:?}"));
        if let Some(d) = col.as_dictionary_opt::<Int8Type>() {
            let values = d.values().as_string::<i32>();
            dictionary_codes(d.keys(), values, code).map_err(|(i, v)| invalid(i, v))
        } else if let Some(s) = col.as_string_opt::<i32>() {
            let mut out = Vec::with_capacity(s.len());
            for i in 0..s.len() {
                let v = (!s.is_null(i)).then(|| s.value(i));
                out.push(code(v).ok_or_else(|| invalid(i, v))?);
            }
            Ok(out)
        } else {
            Err(column_error(
                self.path,
                "`side` is not a string column".into(),
            ))
        }
    }
}

/// Codes of a dictionary column via a table of its values' codes; `Err((row, value))` names
/// the first row whose value has none.
fn dictionary_codes<'v, T: Copy>(
    keys: &arrow_array::PrimitiveArray<Int8Type>,
    values: &'v StringArray,
    code: impl Fn(Option<&str>) -> Option<T>,
) -> std::result::Result<Vec<T>, (usize, Option<&'v str>)> {
    let table: Vec<Option<T>> = (0..values.len())
        .map(|j| code((!values.is_null(j)).then(|| values.value(j))))
        .collect();
    let null_code = code(None);
    let mut out = Vec::with_capacity(keys.len());
    for (i, &k) in keys.values().iter().enumerate() {
        let c = if keys.is_null(i) {
            null_code
        } else {
            table.get(k as usize).copied().flatten()
        };
        match c {
            Some(c) => out.push(c),
            None => {
                let v = (!keys.is_null(i))
                    .then_some(k as usize)
                    .filter(|&k| k < values.len() && !values.is_null(k))
                    .map(|k| values.value(k));
                return Err((i, v));
            }
        }
    }
    Ok(out)
}

/// The book's effective event time: the running maximum of `ts_event` in stored order,
/// continued from `carry` and left in it (CONTRACT §9.3).
fn running_max(ts_event: &[Nanos], carry: &mut BookTimeCarry) -> Vec<Nanos> {
    let mut m = carry.0.unwrap_or(i64::MIN);
    let v: Vec<Nanos> = ts_event
        .iter()
        .map(|&t| {
            m = m.max(t);
            m
        })
        .collect();
    carry.0 = Some(m);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sides map once per dictionary value; an unknown value names its first row.
    #[test]
    fn side_codes_map_dictionary_values_and_name_the_bad_row() {
        use arrow_array::{DictionaryArray, types::Int8Type};
        let sides: DictionaryArray<Int8Type> = vec!["buy", "sell", "buy", "oops", "buy"]
            .into_iter()
            .collect();
        let batch = RecordBatch::try_from_iter([(
            "side",
            std::sync::Arc::new(sides) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let code = |s: Option<&str>| match s {
            Some("buy") => Some(1i8),
            Some("sell") => Some(-1),
            _ => None,
        };
        let path = Path::new("t.parquet");
        let b = Batch {
            batch: &batch,
            path,
            first_row: 100,
        };
        let err = b.side_codes("trade", code).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("row 103") || msg.contains("103"), "{msg}");
        assert!(msg.contains("oops"), "{msg}");
        let ok: DictionaryArray<Int8Type> = vec!["sell", "buy"].into_iter().collect();
        let batch = RecordBatch::try_from_iter([(
            "side",
            std::sync::Arc::new(ok) as arrow_array::ArrayRef,
        )])
        .unwrap();
        let b = Batch {
            batch: &batch,
            path,
            first_row: 0,
        };
        assert_eq!(b.side_codes("trade", code).unwrap(), vec![-1, 1]);
    }
}
