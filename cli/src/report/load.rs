//! Reading a root for the report: one market's gold bars and silver series, streamed
//! column-projected batch by batch, with exact statistics for the tables and min/max buckets for
//! drawing.

use crate::inspect::{Inventory, PartitionInfo};
use anyhow::{Context, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, RecordBatch};
use daedalus_model::time::Nanos;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Committed files of the partitions of one dataset path and market, in date and name order.
pub(super) fn files_of(inv: &Inventory, dataset_path: &str, market: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inv
        .partitions
        .iter()
        .filter(|p| p.dataset_path() == dataset_path && p.market() == market)
    {
        let dir = partition_dir(Path::new(&inv.root), p);
        out.extend(crate::inspect::committed_files(&dir)?);
    }
    Ok(out)
}

pub(super) fn partition_dir(root: &Path, p: &PartitionInfo) -> PathBuf {
    let mut d = root.join(&p.layer).join(&p.dataset);
    if let Some(s) = &p.spec {
        d.push(s);
    }
    if p.dataset == "cross" {
        // silver/cross: `base=<BASE>` (inspect lists it as market `base/<BASE>`).
        return d
            .join(format!("base={}", p.symbol))
            .join(format!("date={}", p.date));
    }
    d.join(format!("exchange={}", p.exchange))
        .join(format!("symbol={}", p.symbol))
        .join(format!("date={}", p.date))
}

/// Streams the named columns (those present) of `files`, batch by batch.
pub(super) fn for_each_batch(
    files: &[PathBuf],
    columns: &[&str],
    mut f: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    for path in files {
        let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let leaves: Vec<usize> = b
            .parquet_schema()
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| columns.contains(&c.name()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::leaves(b.parquet_schema(), leaves);
        let r = b
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .with_context(|| format!("{}", path.display()))?;
        for batch in r {
            let batch = batch.with_context(|| format!("{}: reading", path.display()))?;
            f(&batch).with_context(|| format!("{}", path.display()))?;
        }
    }
    Ok(())
}

pub(super) fn col_ts(b: &RecordBatch, name: &str) -> Result<Vec<Nanos>> {
    let c = b
        .column_by_name(name)
        .with_context(|| format!("column {name} missing"))?;
    let a = c
        .as_primitive_opt::<TimestampNanosecondType>()
        .with_context(|| format!("column {name} is not a nanosecond timestamp"))?;
    Ok(a.iter().map(|v| v.unwrap_or(0)).collect())
}

pub(super) fn col_f64(b: &RecordBatch, name: &str) -> Option<Vec<Option<f64>>> {
    let a = b.column_by_name(name)?.as_primitive_opt::<Float64Type>()?;
    Some(a.iter().map(|v| v.filter(|x| x.is_finite())).collect())
}

fn col_i64(b: &RecordBatch, name: &str) -> Option<Vec<Option<i64>>> {
    let a = b.column_by_name(name)?.as_primitive_opt::<Int64Type>()?;
    Some(a.iter().collect())
}

fn col_bool(b: &RecordBatch, name: &str) -> Option<Vec<bool>> {
    let a = b.column_by_name(name)?.as_boolean_opt()?;
    Some((0..a.len()).map(|i| a.is_valid(i) && a.value(i)).collect())
}

/// Exact count/sum/min/max/last of a series (all rows), for the tables.
#[derive(Debug, Clone, Default)]
pub(super) struct Stat {
    pub(super) n: u64,
    pub(super) sum: f64,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) last: Option<f64>,
}

impl Stat {
    pub(super) fn push(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.last = Some(v);
    }
    pub(super) fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Min/max per time bucket, for drawing a long series with at most `2 * n` points.
#[derive(Debug, Clone)]
pub(super) struct Buckets {
    pub(super) t0: Nanos,
    pub(super) t1: Nanos,
    pub(super) lo: Vec<Option<(Nanos, f64)>>,
    pub(super) hi: Vec<Option<(Nanos, f64)>>,
    pub(super) stat: Stat,
}

impl Buckets {
    pub(super) fn new(t0: Nanos, t1: Nanos, n: usize) -> Self {
        let n = n.max(1);
        Buckets {
            t0,
            t1: t1.max(t0 + 1),
            lo: vec![None; n],
            hi: vec![None; n],
            stat: Stat::default(),
        }
    }
    pub(super) fn index(&self, t: Nanos) -> usize {
        let n = self.lo.len() as i128;
        let k = ((t as i128 - self.t0 as i128) * n) / ((self.t1 - self.t0) as i128 + 1);
        k.clamp(0, n - 1) as usize
    }
    pub(super) fn push(&mut self, t: Nanos, v: f64) {
        self.stat.push(v);
        let k = self.index(t);
        match self.lo[k] {
            Some((_, m)) if m <= v => {}
            _ => self.lo[k] = Some((t, v)),
        }
        match self.hi[k] {
            Some((_, m)) if m >= v => {}
            _ => self.hi[k] = Some((t, v)),
        }
    }
    /// The drawn points, in time order.
    pub(super) fn points(&self) -> Vec<(Nanos, f64)> {
        let mut out = Vec::new();
        for (l, h) in self.lo.iter().zip(&self.hi) {
            match (l, h) {
                (Some(a), Some(b)) if a.0 == b.0 => out.push(*a),
                (Some(a), Some(b)) => {
                    if a.0 < b.0 {
                        out.extend([*a, *b]);
                    } else {
                        out.extend([*b, *a]);
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Counts of events per time bucket, for the quality timeline.
#[derive(Debug, Clone)]
pub(super) struct EventCounts {
    pub(super) t0: Nanos,
    pub(super) t1: Nanos,
    pub(super) counts: Vec<u64>,
    pub(super) total: u64,
}

impl EventCounts {
    pub(super) fn new(t0: Nanos, t1: Nanos, n: usize) -> Self {
        EventCounts {
            t0,
            t1: t1.max(t0 + 1),
            counts: vec![0; n.max(1)],
            total: 0,
        }
    }
    pub(super) fn push(&mut self, t: Nanos) {
        self.push_n(t, 1);
    }
    pub(super) fn push_n(&mut self, t: Nanos, c: u64) {
        let n = self.counts.len() as i128;
        let k = ((t as i128 - self.t0 as i128) * n) / ((self.t1 - self.t0) as i128 + 1);
        self.counts[k.clamp(0, n - 1) as usize] += c;
        self.total += c;
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Bar {
    pub(super) ts_open: Nanos,
    pub(super) ts_close: Nanos,
    pub(super) open: Option<f64>,
    pub(super) high: Option<f64>,
    pub(super) low: Option<f64>,
    pub(super) close: Option<f64>,
    pub(super) volume: f64,
    pub(super) buy: f64,
    pub(super) sell: f64,
    pub(super) trades: i64,
}

pub(super) struct MarketData {
    pub(super) market: String,
    pub(super) t0: Nanos,
    pub(super) t1: Nanos,
    pub(super) bar_spec: Option<String>,
    pub(super) bars: Vec<Bar>,
    pub(super) interval_spec: Option<String>,
    pub(super) series: BTreeMap<&'static str, Buckets>,
    pub(super) vpin_buckets: Vec<(Nanos, i64, f64)>,
    pub(super) quality: BTreeMap<&'static str, EventCounts>,
    pub(super) rows: BTreeMap<String, u64>,
}

/// Bar spec duration for ordering (`time_1m` -> 60 s); non-time specs are not charted.
pub(super) fn time_spec_ns(spec: &str) -> Option<i64> {
    daedalus_dataflow::config::parse_duration(spec.strip_prefix("bar=")?.strip_prefix("time_")?)
        .ok()
}

pub(super) fn interval_spec_ns(spec: &str) -> Option<i64> {
    daedalus_dataflow::config::parse_duration(spec.strip_prefix("interval=")?).ok()
}

/// Series and quality events are drawn from buckets of the market's time range.
struct Canvas {
    pub(super) t0: Nanos,
    pub(super) t1: Nanos,
    /// Buckets per line series.
    pub(super) nb: usize,
}

/// Reads one market's gold bars and silver series (column-projected, batch by batch).
pub(super) fn load_market(inv: &Inventory, market: &str, max_points: usize) -> Result<MarketData> {
    let parts: Vec<&PartitionInfo> = inv
        .partitions
        .iter()
        .filter(|p| p.market() == market && p.layer != "bronze")
        .collect();
    let t0 = parts.iter().filter_map(|p| p.min_ts).min().unwrap_or(0);
    let t1 = parts
        .iter()
        .filter_map(|p| p.max_ts)
        .max()
        .unwrap_or(t0 + 1)
        .max(t0 + 1);
    let cv = Canvas {
        t0,
        t1,
        nb: (max_points / 2).max(1),
    };
    let mut rows = BTreeMap::new();
    for p in &parts {
        *rows.entry(p.dataset_path()).or_insert(0) += p.rows;
    }
    // Gold: the finest time-bar spec; silver intervals: the finest spec.
    let bar_spec = finest_spec(&parts, "bars", time_spec_ns);
    let interval_spec = finest_spec(&parts, "intervals", interval_spec_ns);
    let bars = match &bar_spec {
        Some(spec) => load_bars(inv, market, spec)?,
        None => Vec::new(),
    };
    let mut series: BTreeMap<&'static str, Buckets> = BTreeMap::new();
    let mut quality: BTreeMap<&'static str, EventCounts> = BTreeMap::new();
    for k in [
        "book gap",
        "book reset",
        "book uncrossed",
        "ticker crossed",
        "interval reset",
        "late rows",
    ] {
        quality.insert(k, EventCounts::new(t0, t1, 300));
    }
    load_late(inv, market, &mut quality);
    let mut sinks = Sinks {
        cv: &cv,
        series: &mut series,
        quality: &mut quality,
    };
    if let Some(spec) = &interval_spec {
        load_intervals(inv, market, spec, &mut sinks)?;
    }
    load_book(inv, market, &mut sinks)?;
    load_ticker(inv, market, &mut sinks)?;
    let vpin_buckets = load_vpin_buckets(inv, market)?;
    Ok(MarketData {
        market: market.to_string(),
        t0,
        t1,
        bar_spec: bar_spec.map(|s| s.trim_start_matches("bar=").to_string()),
        bars,
        interval_spec: interval_spec.map(|s| s.trim_start_matches("interval=").to_string()),
        series,
        vpin_buckets,
        quality,
        rows,
    })
}

/// The finest spec (`bar=time_1m`, `interval=1s`) of a dataset among the partitions, by the
/// duration `ns_of` gives it (specs without one are not charted).
fn finest_spec(
    parts: &[&PartitionInfo],
    dataset: &str,
    ns_of: fn(&str) -> Option<i64>,
) -> Option<String> {
    parts
        .iter()
        .filter(|p| p.dataset == dataset)
        .filter_map(|p| p.spec.clone())
        .filter_map(|s| ns_of(&s).map(|d| (d, s)))
        .min()
        .map(|(_, s)| s)
}

/// The gold bars of `spec`, in time order.
fn load_bars(inv: &Inventory, market: &str, spec: &str) -> Result<Vec<Bar>> {
    let mut bars = Vec::new();
    let files = files_of(inv, &format!("gold/bars/{spec}"), market)?;
    for_each_batch(
        &files,
        &[
            "ts_open",
            "ts_close",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "buy_volume",
            "sell_volume",
            "trade_count",
        ],
        |b| {
            let to = col_ts(b, "ts_open")?;
            let tc = col_ts(b, "ts_close")?;
            let get = |n: &str| col_f64(b, n).unwrap_or_else(|| vec![None; b.num_rows()]);
            let (o, h, l, c) = (get("open"), get("high"), get("low"), get("close"));
            let (v, bu, se) = (get("volume"), get("buy_volume"), get("sell_volume"));
            let tr = col_i64(b, "trade_count").unwrap_or_else(|| vec![None; b.num_rows()]);
            for i in 0..b.num_rows() {
                bars.push(Bar {
                    ts_open: to[i],
                    ts_close: tc[i],
                    open: o[i],
                    high: h[i],
                    low: l[i],
                    close: c[i],
                    volume: v[i].unwrap_or(0.0),
                    buy: bu[i].unwrap_or(0.0),
                    sell: se[i].unwrap_or(0.0),
                    trades: tr[i].unwrap_or(0),
                });
            }
            Ok(())
        },
    )?;
    bars.sort_by_key(|b| b.ts_open);
    Ok(bars)
}

/// Late bronze rows recorded by watch runs (`_daedalus/late.jsonl`, one JSON object a line:
/// market, late_rows, min_ts), at the least late time.
fn load_late(inv: &Inventory, market: &str, quality: &mut BTreeMap<&'static str, EventCounts>) {
    if let Ok(text) = std::fs::read_to_string(Path::new(&inv.root).join("_daedalus/late.jsonl"))
        && let Some(q) = quality.get_mut("late rows")
    {
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["market"].as_str() == Some(market)
                && let (Some(n), Some(t)) = (v["late_rows"].as_u64(), v["min_ts"].as_i64())
            {
                q.push_n(t, n);
            }
        }
    }
}

/// A column fed into a series or a quality counter: (column, series or counter name).
type Feed = (&'static str, &'static str);

/// The series and quality counters a market's report is drawn from.
struct Sinks<'a> {
    cv: &'a Canvas,
    series: &'a mut BTreeMap<&'static str, Buckets>,
    quality: &'a mut BTreeMap<&'static str, EventCounts>,
}

impl Sinks<'_> {
    /// Reads the `values` and `flags` columns of `files` with their time column `ts`: every
    /// finite value into its series (created here), every true flag into its quality counter
    /// (those registered by [`load_market`]).
    fn feed(&mut self, files: &[PathBuf], ts: &str, values: &[Feed], flags: &[Feed]) -> Result<()> {
        for (_, name) in values {
            (self.series).insert(name, Buckets::new(self.cv.t0, self.cv.t1, self.cv.nb));
        }
        let columns: Vec<&str> = std::iter::once(ts)
            .chain(values.iter().chain(flags).map(|(c, _)| *c))
            .collect();
        for_each_batch(files, &columns, |b| {
            let t = col_ts(b, ts)?;
            for (c, name) in values {
                if let Some(v) = col_f64(b, c)
                    && let Some(s) = self.series.get_mut(name)
                {
                    for (x, t) in v.iter().zip(&t) {
                        if let Some(x) = x {
                            s.push(*t, *x);
                        }
                    }
                }
            }
            for (c, name) in flags {
                if let Some(r) = col_bool(b, c)
                    && let Some(q) = self.quality.get_mut(name)
                {
                    for (_, t) in r.iter().zip(&t).filter(|(x, _)| **x) {
                        q.push(*t);
                    }
                }
            }
            Ok(())
        })
    }
}

/// Silver intervals of `spec`: OFI, TFI, signed volume, Kyle, VPIN; interval resets.
fn load_intervals(inv: &Inventory, market: &str, spec: &str, sinks: &mut Sinks) -> Result<()> {
    let files = files_of(inv, &format!("silver/intervals/{spec}"), market)?;
    let values = [
        "ofi",
        "tfi",
        "signed_volume",
        "kyle_lambda",
        "kyle_r2",
        "vpin",
    ]
    .map(|c| (c, c));
    sinks.feed(&files, "ts_open", &values, &[("reset", "interval reset")])
}

/// Silver book: spread and depth imbalance, gap/reset/uncrossed flags.
fn load_book(inv: &Inventory, market: &str, sinks: &mut Sinks) -> Result<()> {
    let files = files_of(inv, "silver/book", market)?;
    if files.is_empty() {
        return Ok(());
    }
    let values = [
        "rel_spread_bps",
        "spread",
        "imbalance_1",
        "depth_imbalance_5",
        "depth_imbalance_10",
    ]
    .map(|c| (c, c));
    let flags = [
        ("gap", "book gap"),
        ("reset", "book reset"),
        ("uncrossed", "book uncrossed"),
    ];
    sinks.feed(&files, "ts_event", &values, &flags)
}

/// Silver ticker: crossed quotes, and the spread where there is no book.
fn load_ticker(inv: &Inventory, market: &str, sinks: &mut Sinks) -> Result<()> {
    let files = files_of(inv, "silver/ticker", market)?;
    if files.is_empty() {
        return Ok(());
    }
    let values = [("rel_spread_bps", "ticker_rel_spread_bps")];
    sinks.feed(
        &files,
        "ts_event",
        &values,
        &[("crossed", "ticker crossed")],
    )
}

/// Silver trades: VPIN per completed bucket (the value after the bucket's last trade).
fn load_vpin_buckets(inv: &Inventory, market: &str) -> Result<Vec<(Nanos, i64, f64)>> {
    let trade_files = files_of(inv, "silver/trades", market)?;
    let mut vpin_buckets: Vec<(Nanos, i64, f64)> = Vec::new();
    if !trade_files.is_empty() {
        let mut cur: Option<(Nanos, i64, Option<f64>)> = None;
        for_each_batch(&trade_files, &["ts_event", "vpin", "vpin_bucket"], |b| {
            let t = col_ts(b, "ts_event")?;
            let (Some(v), Some(k)) = (col_f64(b, "vpin"), col_i64(b, "vpin_bucket")) else {
                return Ok(());
            };
            for i in 0..b.num_rows() {
                let Some(bk) = k[i] else { continue };
                if let Some((ct, ck, cv)) = cur
                    && ck != bk
                    && let Some(x) = cv
                {
                    vpin_buckets.push((ct, ck, x));
                }
                if cur.is_some_and(|c| c.1 != bk) || cur.is_none() {
                    cur = Some((t[i], bk, v[i]));
                } else if let Some(c) = cur.as_mut() {
                    c.0 = t[i];
                    if v[i].is_some() {
                        c.2 = v[i];
                    }
                }
            }
            Ok(())
        })?;
        if let Some((ct, ck, Some(x))) = cur {
            vpin_buckets.push((ct, ck, x));
        }
    }
    Ok(vpin_buckets)
}
