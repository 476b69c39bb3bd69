//! Silver and gold rows to batches, one batch per output partition.
//!
//! [`SilverBatcher`] implements [`FeatureSink`] for one market: it hands every row to the
//! dataset's encoder ([`daedalus_model::datasets`]) and cuts a batch whenever the row's UTC date
//! changes or the batch reaches `MAX_BATCH_ROWS`; [`SilverBatcher::drain_into`] hands finished
//! batches to the sink. Partition date = UTC date of the row's ordering time (`ts_event`, or the
//! book's effective time, or `ts_recv` under `--clock receive`; `ts_open` for intervals and bars).

use arrow_array::RecordBatch;
use daedalus_model::cross::CrossPoint;
use daedalus_model::datasets::{
    Encoder, GoldBarsEncoder, SilverBookEncoder, SilverIntervalsEncoder, SilverTickerEncoder,
    SilverTradesEncoder,
};
use daedalus_model::features::{
    BarRow, BookFeatureRow, IntervalRow, TickerFeatureRow, TradeFeatureRow,
};
use daedalus_model::layout::OutputLayout;
use daedalus_model::partition::Partition;
use daedalus_model::rows::TickerRow;
use daedalus_model::sink::FeatureSink;
use daedalus_model::time::{Date, Nanos};

use crate::grid_run::{AppendRow, GridRow, GridRun, RunContext};

/// Rows per batch before a cut.
pub(crate) const MAX_BATCH_ROWS: usize = 64 * 1024;

/// A finished batch for one output partition.
#[derive(Debug, Clone)]
pub struct OutBatch {
    /// Where it goes.
    pub partition: Partition,
    /// The rows.
    pub rows: OutRows,
}

/// The rows of an [`OutBatch`].
#[derive(Debug, Clone)]
pub enum OutRows {
    /// Encoded.
    Encoded(RecordBatch),
    /// A run of repeated grid rows, encoded when written ([`crate::grid_run`]).
    Run(GridRun),
}

impl OutBatch {
    /// The rows as one batch of the dataset's schema (a run is encoded now).
    pub fn record_batch(&self) -> RecordBatch {
        match &self.rows {
            OutRows::Encoded(b) => b.clone(),
            OutRows::Run(r) => r.record_batch(),
        }
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        match &self.rows {
            OutRows::Encoded(b) => b.num_rows(),
            OutRows::Run(r) => r.rows(),
        }
    }
}

/// The market's partition ids, shared by every stream.
struct Ids {
    exchange: String,
    symbol: String,
}

/// One output stream (dataset + spec) of one market: its encoder and the partition of the rows
/// it holds.
struct Stream<E> {
    enc: E,
    partition: Option<Partition>,
    layer: &'static str,
    dataset: &'static str,
    spec: Option<(&'static str, String)>,
}

impl<E: Encoder> Stream<E> {
    fn new(enc: E, layer: &'static str, dataset: &'static str) -> Self {
        Stream {
            enc,
            partition: None,
            layer,
            dataset,
            spec: None,
        }
    }

    fn with_spec(mut self, key: &'static str, value: &str) -> Self {
        self.spec = Some((key, value.to_string()));
        self
    }

    /// The rows held so far as a batch of their partition, if any.
    fn cut(&mut self) -> Option<OutBatch> {
        if self.enc.rows() == 0 {
            return None;
        }
        Some(OutBatch {
            partition: self.partition.clone().expect("rows imply a partition"),
            rows: OutRows::Encoded(self.enc.finish()),
        })
    }

    /// True when a row at `date` goes to this stream's partition.
    fn same_date(&self, date: Date) -> bool {
        self.partition.as_ref().is_some_and(|p| p.date == date)
    }

    /// Prepares for a row at `ts`: cuts a batch into `done` on a date change or when full.
    fn begin(&mut self, ts: Nanos, ids: &Ids, done: &mut Vec<OutBatch>) -> &mut E {
        let date = Date::of_nanos(ts);
        if !self.same_date(date) || self.enc.rows() >= MAX_BATCH_ROWS {
            done.extend(self.cut());
            self.set_date(date, ids);
        }
        &mut self.enc
    }

    /// Moves the stream to the partition of `date` (nothing when it is there already).
    fn set_date(&mut self, date: Date, ids: &Ids) {
        if self.same_date(date) {
            return;
        }
        let spec = self.spec.as_ref().map(|(k, v)| (*k, v.as_str()));
        self.partition = Some(
            Partition::new(
                self.layer,
                self.dataset,
                spec,
                &ids.exchange,
                &ids.symbol,
                date,
            )
            .expect("market ids and specs are validated when the run is planned"),
        );
    }
}

/// An interval or bar stream: a [`Stream`] whose batches that start with a run of repeated grid
/// rows keep the run as its first row and a count ([`crate::grid_run`]). Invariant: a run is
/// held only while the encoder is empty, so the run is the batch's leading rows.
struct GridStream<E, R> {
    inner: Stream<E>,
    run: Option<(R, usize)>,
    ctx: RunContext,
}

impl<E: AppendRow<R>, R: GridRow> GridStream<E, R> {
    fn new(inner: Stream<E>, ctx: RunContext) -> Self {
        GridStream {
            inner,
            run: None,
            ctx,
        }
    }

    fn rows(&self) -> usize {
        self.inner.enc.rows() + self.run.as_ref().map_or(0, |r| r.1)
    }

    /// The rows held as a batch: the run, or the encoded rows.
    fn cut(&mut self) -> Option<OutBatch> {
        match self.run.take() {
            Some((first, count)) => Some(OutBatch {
                partition: self
                    .inner
                    .partition
                    .clone()
                    .expect("rows imply a partition"),
                rows: OutRows::Run(R::into_run(first, count, &self.ctx)),
            }),
            None => self.inner.cut(),
        }
    }

    /// One row starting at `ts_open`: extends the run, or cuts a batch where [`Stream::begin`]
    /// cuts one, encodes a run the row does not continue, and starts a run in an empty batch.
    fn push(&mut self, ts_open: Nanos, r: &R, ids: &Ids, done: &mut Vec<OutBatch>) {
        let date = Date::of_nanos(ts_open);
        let same = self.inner.same_date(date);
        if let Some((first, n)) = self.run.as_mut()
            && same
            && *n < MAX_BATCH_ROWS
            && first.is_shifted(r, *n as i64)
        {
            *n += 1;
            return;
        }
        if !same || self.rows() >= MAX_BATCH_ROWS {
            done.extend(self.cut());
            self.inner.set_date(date, ids);
        } else if let Some((first, n)) = self.run.take() {
            for i in 0..n {
                self.inner.enc.append_row(&first.shifted(i as i64));
            }
        }
        if self.inner.enc.rows() == 0 {
            self.run = Some((r.clone(), 1));
        } else {
            self.inner.enc.append_row(r);
        }
    }
}

/// Batches every output of one market.
pub struct SilverBatcher {
    ids: Ids,
    book: Stream<SilverBookEncoder>,
    ticker: Stream<SilverTickerEncoder>,
    trades: Stream<SilverTradesEncoder>,
    intervals: Vec<GridStream<SilverIntervalsEncoder, IntervalRow>>,
    bars: Vec<GridStream<GoldBarsEncoder, BarRow>>,
    done: Vec<OutBatch>,
    /// `silver/intervals` rows are written (off when they are computed only for `silver/cross`).
    write_intervals: bool,
    /// The interval points `silver/cross` reads, by grid index, when the market is in a group.
    points: Option<Vec<(u8, CrossPoint)>>,
}

impl SilverBatcher {
    /// A batcher for the market and outputs of `layout`.
    pub fn new(layout: &OutputLayout) -> Self {
        let (m, sn) = (layout.mlofi_levels, layout.symbol_norm.as_str());
        let ctx = RunContext {
            mlofi_levels: m,
            symbol_norm: sn.into(),
        };
        SilverBatcher {
            ids: Ids {
                exchange: layout.exchange.clone(),
                symbol: layout.symbol.clone(),
            },
            book: Stream::new(
                SilverBookEncoder::new(m, &layout.book_windows, sn),
                "silver",
                "book",
            ),
            ticker: Stream::new(
                SilverTickerEncoder::new(&layout.ticker_windows, sn),
                "silver",
                "ticker",
            ),
            trades: Stream::new(
                SilverTradesEncoder::new(&layout.trade_windows, sn),
                "silver",
                "trades",
            ),
            intervals: (layout.intervals.iter())
                .map(|spec| {
                    let s = Stream::new(SilverIntervalsEncoder::new(m, sn), "silver", "intervals")
                        .with_spec("interval", spec);
                    GridStream::new(s, ctx.clone())
                })
                .collect(),
            bars: (layout.bars.iter())
                .map(|name| {
                    let s = Stream::new(GoldBarsEncoder::new(sn), "gold", "bars")
                        .with_spec("bar", name);
                    GridStream::new(s, ctx.clone())
                })
                .collect(),
            done: Vec::new(),
            write_intervals: true,
            points: None,
        }
    }

    /// Also keeps every interval row's [`CrossPoint`] for `silver/cross` (the market is in a
    /// group); `write_intervals` says whether `silver/intervals` rows are still written.
    pub fn with_cross_tap(mut self, write_intervals: bool) -> Self {
        self.write_intervals = write_intervals;
        self.points = Some(Vec::new());
        self
    }

    /// The interval points kept since the last call, by grid index.
    pub fn take_points(&mut self) -> Vec<(u8, CrossPoint)> {
        self.points.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Moves every finished batch (and every partial one) to `out`.
    pub fn drain_into(&mut self, out: &mut Vec<OutBatch>) {
        self.done.extend(self.book.cut());
        self.done.extend(self.ticker.cut());
        self.done.extend(self.trades.cut());
        self.done
            .extend(self.intervals.iter_mut().filter_map(GridStream::cut));
        self.done
            .extend(self.bars.iter_mut().filter_map(GridStream::cut));
        out.append(&mut self.done);
    }
}

impl FeatureSink for SilverBatcher {
    fn book(&mut self, ts: Nanos, ts_event: Nanos, r: &BookFeatureRow) {
        (self.book.begin(ts, &self.ids, &mut self.done)).append(ts_event, r);
    }

    fn ticker(&mut self, ts: Nanos, q: &TickerRow, r: &TickerFeatureRow) {
        (self.ticker.begin(ts, &self.ids, &mut self.done)).append(q, r);
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
        let enc = self.trades.begin(ts, &self.ids, &mut self.done);
        enc.append(ts_event, ts_recv, id, price, size, r);
    }

    fn interval(&mut self, idx: usize, r: &IntervalRow) {
        if let Some(p) = self.points.as_mut() {
            let point = CrossPoint {
                ts_open: r.ts_open,
                ts_close: r.ts_close,
                mid: r.mid_close,
                ofi: r.ofi,
                tfi: r.tfi,
                signed_volume: r.signed_volume,
            };
            p.push((idx as u8, point));
        }
        if self.write_intervals {
            self.intervals[idx].push(r.ts_open, r, &self.ids, &mut self.done);
        }
    }

    fn bar(&mut self, idx: usize, r: &BarRow) {
        self.bars[idx].push(r.ts_open, r, &self.ids, &mut self.done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daedalus_model::time::NANOS_PER_SEC;

    fn layout() -> OutputLayout {
        OutputLayout {
            exchange: "binance".into(),
            symbol: "BTC-USDT".into(),
            symbol_norm: "BTC-USDT".into(),
            mlofi_levels: 2,
            book_windows: vec![],
            ticker_windows: vec![],
            trade_windows: vec![],
            intervals: vec!["1s".into()],
            bars: vec![],
        }
    }

    fn row(k: i64, ofi: f64) -> IntervalRow {
        IntervalRow {
            ts_open: k * NANOS_PER_SEC,
            ts_close: (k + 1) * NANOS_PER_SEC,
            n_book_events: 0,
            n_trades: 0,
            ofi,
            mlofi: vec![0.0, 0.0],
            buy_volume: 0.0,
            sell_volume: 0.0,
            unknown_volume: 0.0,
            signed_volume: 0.0,
            tfi: None,
            mid_close: Some(100.5),
            mid_change: Some(0.0),
            spread_mean: Some(0.01),
            kyle_lambda: None,
            kyle_alpha: None,
            kyle_r2: None,
            vpin: Some(0.25),
            reset: false,
        }
    }

    /// Rows around and across a gap of two days and more (runs crossing dates and 64K cuts,
    /// broken by a `-0.0` that equals `0.0` but not in its bits) give, batch for batch, what
    /// encoding every row gives, cut where the eager batcher cuts.
    #[test]
    fn runs_encode_as_the_rows_do() {
        let k0 = 19_000 * 86_400 + 86_000;
        let mut rows: Vec<IntervalRow> = (0..3).map(|i| row(k0 + i, i as f64 + 1.0)).collect();
        let gap = 2 * 86_400 + 70_000;
        rows.extend((3..gap).map(|i| row(k0 + i, 0.0)));
        rows.push(row(k0 + gap, -0.0));
        rows.extend((gap + 1..gap + 6).map(|i| row(k0 + i, 0.0)));
        rows.push(row(k0 + gap + 6, 7.0));
        let mut b = SilverBatcher::new(&layout());
        for r in &rows {
            b.interval(0, r);
        }
        let mut got = Vec::new();
        b.drain_into(&mut got);
        // The eager cuts: a date change, or a full batch.
        let mut want: Vec<(Date, Vec<&IntervalRow>)> = Vec::new();
        for r in &rows {
            let d = Date::of_nanos(r.ts_open);
            match want.last_mut() {
                Some((wd, v)) if *wd == d && v.len() < MAX_BATCH_ROWS => v.push(r),
                _ => want.push((d, vec![r])),
            }
        }
        assert_eq!(got.len(), want.len());
        let runs = got
            .iter()
            .filter(|o| matches!(o.rows, OutRows::Run(_)))
            .count();
        assert!(runs >= 3, "{runs} runs");
        for (o, (d, v)) in got.iter().zip(&want) {
            assert_eq!(o.partition.date, *d);
            let mut enc = SilverIntervalsEncoder::new(2, "BTC-USDT");
            v.iter().for_each(|r| enc.append(r));
            assert_eq!(o.num_rows(), v.len());
            assert_eq!(o.record_batch(), enc.finish());
        }
        // The -0.0 row is kept with its sign.
        let neg = got.iter().flat_map(|o| {
            let b = o.record_batch();
            let c = b.column_by_name("ofi").unwrap().clone();
            let a = c
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .unwrap()
                .clone();
            a.values().to_vec()
        });
        assert_eq!(
            neg.filter(|x| x.to_bits() == (-0.0f64).to_bits()).count(),
            1
        );
    }
    /// Empty `time_1m` bars over three days: `bar_seq` restarts at each date, the runs encode
    /// to exactly the rows.
    #[test]
    fn bar_runs_encode_as_the_rows_do() {
        let w = 60 * NANOS_PER_SEC;
        let k0 = 19_000 * 1440 + 1000;
        let mut rows = Vec::new();
        let mut seq = 0;
        for k in k0..k0 + 3 * 1440 {
            if k % 1440 == 0 {
                seq = 0;
            }
            rows.push(BarRow {
                ts_open: k * w,
                ts_close: (k + 1) * w,
                bar_seq: seq,
                is_complete: true,
                mid_open: Some(10.0),
                mid_close: Some(10.0),
                vpin: Some(0.5),
                ..BarRow::default()
            });
            seq += 1;
        }
        let mut layout = layout();
        layout.bars = vec!["time_1m".into()];
        let mut b = SilverBatcher::new(&layout);
        rows.iter().for_each(|r| b.bar(0, r));
        let mut got = Vec::new();
        b.drain_into(&mut got);
        assert_eq!(got.len(), 4, "four dates");
        assert!(got.iter().all(|o| matches!(o.rows, OutRows::Run(_))));
        let mut at = 0;
        for o in &got {
            let n = o.num_rows();
            let mut enc = GoldBarsEncoder::new("BTC-USDT");
            rows[at..at + n].iter().for_each(|r| enc.append(r));
            assert_eq!(o.record_batch(), enc.finish());
            at += n;
        }
        assert_eq!(at, rows.len());
    }
}
