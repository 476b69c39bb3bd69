//! Silver and gold rows to Arrow batches, one batch per output partition.
//!
//! [`SilverBatcher`] implements [`FeatureSink`] for one market: it appends every row straight into
//! Arrow builders (no per-row allocation) and cuts a batch whenever the row's UTC date changes or
//! the batch reaches [`MAX_BATCH_ROWS`]; [`SilverBatcher::drain_into`] hands finished batches to
//! the sink. Partition date = UTC date of the row's ordering time (`ts_event`, or the book's
//! effective time, or `ts_recv` under `--clock receive`; `ts_open` for intervals and bars).

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int8Builder, Int64Builder, StringBuilder,
    StringDictionaryBuilder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use daedalus_model::features::{
    BarRow, BookFeatureRow, IntervalRow, TickerFeatureRow, TradeFeatureRow,
};
use daedalus_model::layout::OutputLayout;
use daedalus_model::partition::Partition;
use daedalus_model::rows::TickerRow;
use daedalus_model::schema;
use daedalus_model::sink::FeatureSink;
use daedalus_model::time::{Date, Nanos};
use std::sync::Arc;

/// Rows per batch before a cut.
pub const MAX_BATCH_ROWS: usize = 64 * 1024;

/// A finished batch for one output partition.
#[derive(Debug, Clone)]
pub struct OutBatch {
    /// Where it goes.
    pub partition: Partition,
    /// The rows.
    pub batch: RecordBatch,
}

fn tsb() -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::new().with_timezone("UTC")
}

/// A set of column builders for one schema, with the date of the rows it holds.
struct Cols {
    schema: SchemaRef,
    partition: Option<Partition>,
    ts: Vec<TimestampNanosecondBuilder>,
    f: Vec<Float64Builder>,
    i: Vec<Int64Builder>,
    b: Vec<BooleanBuilder>,
    u: Vec<UInt64Builder>,
    s: Vec<StringBuilder>,
    i8s: Vec<Int8Builder>,
    rows: usize,
}

impl Cols {
    fn new(schema: SchemaRef) -> Self {
        use arrow_schema::DataType as D;
        let count =
            |p: &dyn Fn(&D) -> bool| schema.fields().iter().filter(|f| p(f.data_type())).count();
        let nts = count(&|d| matches!(d, D::Timestamp(..)));
        let nf = count(&|d| matches!(d, D::Float64));
        let ni = count(&|d| matches!(d, D::Int64));
        let nb = count(&|d| matches!(d, D::Boolean));
        let nu = count(&|d| matches!(d, D::UInt64));
        let ns = count(&|d| matches!(d, D::Utf8));
        let n8 = count(&|d| matches!(d, D::Int8));
        Cols {
            ts: (0..nts).map(|_| tsb()).collect(),
            f: (0..nf).map(|_| Float64Builder::new()).collect(),
            i: (0..ni).map(|_| Int64Builder::new()).collect(),
            b: (0..nb).map(|_| BooleanBuilder::new()).collect(),
            u: (0..nu).map(|_| UInt64Builder::new()).collect(),
            s: (0..ns).map(|_| StringBuilder::new()).collect(),
            i8s: (0..n8).map(|_| Int8Builder::new()).collect(),
            schema,
            partition: None,
            rows: 0,
        }
    }

    /// Finishes the builders into a batch in schema column order.
    fn finish(&mut self) -> Option<OutBatch> {
        use arrow_schema::DataType as D;
        if self.rows == 0 {
            return None;
        }
        let (mut its, mut itf, mut iti, mut itb, mut itu, mut its_, mut it8) =
            (0, 0, 0, 0, 0, 0, 0);
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for f in self.schema.fields() {
            let a: ArrayRef = match f.data_type() {
                D::Timestamp(..) => {
                    its += 1;
                    Arc::new(self.ts[its - 1].finish())
                }
                D::Float64 => {
                    itf += 1;
                    Arc::new(self.f[itf - 1].finish())
                }
                D::Int64 => {
                    iti += 1;
                    Arc::new(self.i[iti - 1].finish())
                }
                D::Boolean => {
                    itb += 1;
                    Arc::new(self.b[itb - 1].finish())
                }
                D::UInt64 => {
                    itu += 1;
                    Arc::new(self.u[itu - 1].finish())
                }
                D::Utf8 => {
                    its_ += 1;
                    Arc::new(self.s[its_ - 1].finish())
                }
                D::Int8 => {
                    it8 += 1;
                    Arc::new(self.i8s[it8 - 1].finish())
                }
                D::Dictionary(..) => {
                    let mut d = StringDictionaryBuilder::<Int8Type>::new();
                    its_ += 1;
                    let s = self.s[its_ - 1].finish();
                    for v in s.iter() {
                        d.append_option(v);
                    }
                    Arc::new(d.finish())
                }
                other => unreachable!("no builder for {other}"),
            };
            cols.push(a);
        }
        self.rows = 0;
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).expect("columns follow the schema");
        Some(OutBatch {
            partition: self.partition.clone().expect("rows imply a partition"),
            batch,
        })
    }
}

/// One output stream (dataset + spec) of one market.
struct Stream {
    cols: Cols,
    layer: &'static str,
    dataset: &'static str,
    spec: Option<(&'static str, String)>,
}

/// Batches every output of one market.
pub struct SilverBatcher {
    exchange: String,
    symbol: String,
    symbol_norm: String,
    book: Stream,
    ticker: Stream,
    trades: Stream,
    intervals: Vec<Stream>,
    bars: Vec<Stream>,
    done: Vec<OutBatch>,
}

impl SilverBatcher {
    /// A batcher for the market and outputs of `p`.
    pub fn new(p: &OutputLayout) -> Self {
        let m = p.mlofi_levels;
        let st = |schema: SchemaRef, layer, dataset, spec| Stream {
            cols: Cols::new(schema),
            layer,
            dataset,
            spec,
        };
        SilverBatcher {
            exchange: p.exchange.clone(),
            symbol: p.symbol.clone(),
            symbol_norm: p.symbol_norm.clone(),
            book: st(schema::silver_book(m), "silver", "book", None),
            ticker: st(schema::silver_ticker(), "silver", "ticker", None),
            trades: st(schema::silver_trades(), "silver", "trades", None),
            intervals: p
                .intervals
                .iter()
                .map(|spec| {
                    st(
                        schema::silver_intervals(m),
                        "silver",
                        "intervals",
                        Some(("interval", spec.clone())),
                    )
                })
                .collect(),
            bars: p
                .bars
                .iter()
                .map(|name| {
                    st(
                        schema::gold_bars(),
                        "gold",
                        "bars",
                        Some(("bar", name.clone())),
                    )
                })
                .collect(),
            done: Vec::new(),
        }
    }

    /// Moves every finished batch (and every partial one) to `out`.
    pub fn drain_into(&mut self, out: &mut Vec<OutBatch>) {
        let all = std::iter::once(&mut self.book)
            .chain(std::iter::once(&mut self.ticker))
            .chain(std::iter::once(&mut self.trades))
            .chain(self.intervals.iter_mut())
            .chain(self.bars.iter_mut());
        for s in all {
            if let Some(b) = s.cols.finish() {
                self.done.push(b);
            }
        }
        out.append(&mut self.done);
    }
}

/// Prepares `s` for a row at `ts`: cuts a batch on a date change or when full.
fn begin(s: &mut Stream, ts: Nanos, exchange: &str, symbol: &str, done: &mut Vec<OutBatch>) {
    let date = Date::of_nanos(ts);
    let same = s.cols.partition.as_ref().is_some_and(|p| p.date == date);
    if !same || s.cols.rows >= MAX_BATCH_ROWS {
        if let Some(b) = s.cols.finish() {
            done.push(b);
        }
        if !same {
            let spec = s.spec.as_ref().map(|(k, v)| (*k, v.as_str()));
            s.cols.partition = Some(
                Partition::new(s.layer, s.dataset, spec, exchange, symbol, date)
                    .expect("market ids and specs are validated when the run is planned"),
            );
        }
    }
    s.cols.rows += 1;
}

impl FeatureSink for SilverBatcher {
    fn book(&mut self, ts: Nanos, ts_event: Nanos, r: &BookFeatureRow) {
        begin(
            &mut self.book,
            ts,
            &self.exchange,
            &self.symbol,
            &mut self.done,
        );
        let c = &mut self.book.cols;
        c.ts[0].append_value(ts_event);
        c.ts[1].append_value(r.ts_recv);
        c.u[0].append_option(r.seq);
        c.b[0].append_value(r.reset);
        c.b[1].append_value(r.gap);
        c.b[2].append_value(r.uncrossed);
        let vals = [
            r.best_bid,
            r.best_ask,
            r.bid_size_1,
            r.ask_size_1,
            r.mid,
            r.spread,
            r.rel_spread_bps,
            r.wmid,
            r.imbalance_1,
            r.depth_imbalance_5,
            r.depth_imbalance_10,
            r.ofi,
        ];
        let mut k = 0;
        for v in vals {
            c.f[k].append_option(v);
            k += 1;
        }
        for v in &r.mlofi {
            c.f[k].append_option(*v);
            k += 1;
        }
        for v in &r.ofi_windows {
            c.f[k].append_option(*v);
            k += 1;
        }
        c.s[0].append_value(&self.symbol_norm);
    }

    fn ticker(&mut self, ts: Nanos, q: &TickerRow, r: &TickerFeatureRow) {
        begin(
            &mut self.ticker,
            ts,
            &self.exchange,
            &self.symbol,
            &mut self.done,
        );
        let c = &mut self.ticker.cols;
        c.ts[0].append_value(q.ts_event);
        c.ts[1].append_value(q.ts_recv);
        c.u[0].append_option(q.seq);
        let vals = [
            q.bid_price,
            q.bid_size,
            q.ask_price,
            q.ask_size,
            r.mid,
            r.spread,
            r.rel_spread_bps,
            r.wmid,
            r.imbalance_1,
        ];
        for (k, v) in vals.into_iter().enumerate() {
            c.f[k].append_option(v);
        }
        c.b[0].append_value(r.crossed);
        c.f[9].append_option(r.ofi_l1);
        for (k, v) in r.ofi_l1_windows.iter().enumerate() {
            c.f[10 + k].append_option(*v);
        }
        c.s[0].append_value(&self.symbol_norm);
    }

    fn trade(
        &mut self,
        ts: Nanos,
        ts_event: Nanos,
        ts_recv: Nanos,
        id: &str,
        price: f64,
        size: f64,
        r: &TradeFeatureRow,
    ) {
        begin(
            &mut self.trades,
            ts,
            &self.exchange,
            &self.symbol,
            &mut self.done,
        );
        let c = &mut self.trades.cols;
        c.ts[0].append_value(ts_event);
        c.ts[1].append_value(ts_recv);
        c.s[0].append_value(id);
        c.f[0].append_value(price);
        c.f[1].append_value(size);
        c.i8s[0].append_value(r.sign);
        c.f[2].append_value(r.notional);
        c.f[3].append_option(r.mid);
        for (k, v) in r.tfi.iter().enumerate() {
            c.f[4 + k].append_option(*v);
        }
        c.f[7].append_option(r.vpin);
        c.i[0].append_option(r.vpin_bucket);
        c.s[1].append_value(&self.symbol_norm);
    }

    fn interval(&mut self, idx: usize, r: &IntervalRow) {
        let s = &mut self.intervals[idx];
        begin(s, r.ts_open, &self.exchange, &self.symbol, &mut self.done);
        let c = &mut s.cols;
        c.ts[0].append_value(r.ts_open);
        c.ts[1].append_value(r.ts_close);
        c.i[0].append_value(r.n_book_events);
        c.i[1].append_value(r.n_trades);
        let mut k = 0;
        let mut put = |c: &mut Cols, v: Option<f64>| {
            c.f[k].append_option(v);
            k += 1;
        };
        put(c, Some(r.ofi));
        for v in &r.mlofi {
            put(c, Some(*v));
        }
        for v in [
            r.buy_volume,
            r.sell_volume,
            r.unknown_volume,
            r.signed_volume,
        ] {
            put(c, Some(v));
        }
        for v in [
            r.tfi,
            r.mid_close,
            r.mid_change,
            r.spread_mean,
            r.kyle_lambda,
            r.kyle_alpha,
            r.kyle_r2,
            r.vpin,
        ] {
            put(c, v);
        }
        c.b[0].append_value(r.reset);
        c.s[0].append_value(&self.symbol_norm);
    }

    fn bar(&mut self, idx: usize, r: &BarRow) {
        let s = &mut self.bars[idx];
        begin(s, r.ts_open, &self.exchange, &self.symbol, &mut self.done);
        let c = &mut s.cols;
        c.ts[0].append_value(r.ts_open);
        c.ts[1].append_value(r.ts_close);
        c.ts[2].append_option(r.first_trade_ts);
        c.ts[3].append_option(r.last_trade_ts);
        c.i[0].append_value(r.bar_seq);
        c.b[0].append_value(r.is_complete);
        let f = [
            r.open,
            r.high,
            r.low,
            r.close,
            r.vwap,
            Some(r.volume),
            Some(r.quote_volume),
        ];
        for (k, v) in f.into_iter().enumerate() {
            c.f[k].append_option(v);
        }
        c.i[1].append_value(r.trade_count);
        c.i[2].append_value(r.trade_count_started);
        for (k, v) in [r.buy_volume, r.sell_volume, r.unknown_volume]
            .into_iter()
            .enumerate()
        {
            c.f[7 + k].append_value(v);
        }
        c.i[3].append_value(r.buy_count);
        c.i[4].append_value(r.sell_count);
        c.i[5].append_value(r.unknown_count);
        let g = [
            Some(r.ofi),
            Some(r.signed_volume),
            r.tfi,
            r.vpin,
            r.kyle_lambda,
            r.mid_open,
            r.mid_close,
            r.spread_mean,
        ];
        for (k, v) in g.into_iter().enumerate() {
            c.f[10 + k].append_option(v);
        }
        c.s[0].append_value(&self.symbol_norm);
    }
}
