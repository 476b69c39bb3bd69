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

/// Rows per batch before a cut.
pub(crate) const MAX_BATCH_ROWS: usize = 64 * 1024;

/// A finished batch for one output partition.
#[derive(Debug, Clone)]
pub struct OutBatch {
    /// Where it goes.
    pub partition: Partition,
    /// The rows.
    pub batch: RecordBatch,
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
            batch: self.enc.finish(),
        })
    }

    /// Prepares for a row at `ts`: cuts a batch into `done` on a date change or when full.
    fn begin(&mut self, ts: Nanos, ids: &Ids, done: &mut Vec<OutBatch>) -> &mut E {
        let date = Date::of_nanos(ts);
        let same = self.partition.as_ref().is_some_and(|p| p.date == date);
        if !same || self.enc.rows() >= MAX_BATCH_ROWS {
            done.extend(self.cut());
            if !same {
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
        &mut self.enc
    }
}

/// Batches every output of one market.
pub struct SilverBatcher {
    ids: Ids,
    book: Stream<SilverBookEncoder>,
    ticker: Stream<SilverTickerEncoder>,
    trades: Stream<SilverTradesEncoder>,
    intervals: Vec<Stream<SilverIntervalsEncoder>>,
    bars: Vec<Stream<GoldBarsEncoder>>,
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
                    Stream::new(SilverIntervalsEncoder::new(m, sn), "silver", "intervals")
                        .with_spec("interval", spec)
                })
                .collect(),
            bars: (layout.bars.iter())
                .map(|name| {
                    Stream::new(GoldBarsEncoder::new(sn), "gold", "bars").with_spec("bar", name)
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
            .extend(self.intervals.iter_mut().filter_map(Stream::cut));
        self.done
            .extend(self.bars.iter_mut().filter_map(Stream::cut));
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
            (self.intervals[idx].begin(r.ts_open, &self.ids, &mut self.done)).append(r);
        }
    }

    fn bar(&mut self, idx: usize, r: &BarRow) {
        (self.bars[idx].begin(r.ts_open, &self.ids, &mut self.done)).append(r);
    }
}
