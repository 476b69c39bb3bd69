//! `daedalus report`: one self-contained HTML file with charts per market.
//!
//! Everything is inline (CSS and hand-written SVG; no script, font, image or link to anything
//! outside the file), so it opens offline in any browser. Per market: candlesticks with volume
//! from gold time bars, VPIN per completed bucket, OFI and TFI per interval, spread and depth
//! imbalance from silver book, Kyle's lambda, and a data-quality timeline (book gaps, resets,
//! uncrossed books, crossed tickers, interval resets, late rows of watch runs); then the run
//! parameters and the inventory of [`crate::inspect`].
//!
//! Long series are downsampled **for drawing only**: each line chart keeps the minimum and the
//! maximum of each of at most `max_points / 2` time buckets (so spikes survive), and more than
//! `max_points` bars are merged into candles of `k` consecutive bars (`data-bars="k"`). Every
//! number in the tables is computed from all rows. Data is streamed column-projected batch by
//! batch, so memory stays bounded whatever the root's size.
//!
//! Each candle is one `<g class="candle" data-bars="n">` element (empty time bars, with no
//! trades, are `<g class="candle empty">`), so the candles of a market sum to its bars.

use crate::inspect::{InspectOptions, Inventory, PartitionInfo, fmt_ts, inspect};
use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, RecordBatch};
use daedalus_model::time::Nanos;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Largest report written (the acceptance bound is 5 MB).
pub const MAX_REPORT_BYTES: usize = 5 * 1024 * 1024;

/// Options of [`build_report`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Which partitions.
    pub inspect: InspectOptions,
    /// Most points drawn per chart.
    pub max_points: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            inspect: InspectOptions::default(),
            max_points: 2000,
        }
    }
}

/// What a report holds (for the command's summary and tests).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReportSummary {
    /// Markets with a section.
    pub markets: Vec<String>,
    /// Time bars per market (of the charted bar spec).
    pub bars: BTreeMap<String, u64>,
    /// The charted bar spec per market (`time_1m`).
    pub bar_spec: BTreeMap<String, String>,
    /// The charted interval spec per market (`1s`).
    pub interval_spec: BTreeMap<String, String>,
    /// Bytes of the HTML.
    pub bytes: usize,
    /// Points per chart actually used (halved from `--max-points` until the file fits 5 MB).
    pub max_points: usize,
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Committed files of the partitions of one dataset path and market, in date and name order.
fn files_of(inv: &Inventory, dataset_path: &str, market: &str) -> Result<Vec<PathBuf>> {
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

fn partition_dir(root: &Path, p: &PartitionInfo) -> PathBuf {
    let mut d = root.join(&p.layer).join(&p.dataset);
    if let Some(s) = &p.spec {
        d.push(s);
    }
    d.join(format!("exchange={}", p.exchange))
        .join(format!("symbol={}", p.symbol))
        .join(format!("date={}", p.date))
}

/// Streams the named columns (those present) of `files`, batch by batch.
fn for_each_batch(
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

fn col_ts(b: &RecordBatch, name: &str) -> Result<Vec<Nanos>> {
    let c = b
        .column_by_name(name)
        .with_context(|| format!("column {name} missing"))?;
    let a = c
        .as_primitive_opt::<TimestampNanosecondType>()
        .with_context(|| format!("column {name} is not a nanosecond timestamp"))?;
    Ok(a.iter().map(|v| v.unwrap_or(0)).collect())
}

fn col_f64(b: &RecordBatch, name: &str) -> Option<Vec<Option<f64>>> {
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

// ---------------------------------------------------------------------------------------------
// Exact running statistics and drawing buckets

/// Exact count/sum/min/max/last of a series (all rows), for the tables.
#[derive(Debug, Clone, Default)]
struct Stat {
    n: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    last: Option<f64>,
}

impl Stat {
    fn push(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.last = Some(v);
    }
    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Min/max per time bucket, for drawing a long series with at most `2 * n` points.
#[derive(Debug, Clone)]
struct Buckets {
    t0: Nanos,
    t1: Nanos,
    lo: Vec<Option<(Nanos, f64)>>,
    hi: Vec<Option<(Nanos, f64)>>,
    stat: Stat,
}

impl Buckets {
    fn new(t0: Nanos, t1: Nanos, n: usize) -> Self {
        let n = n.max(1);
        Buckets {
            t0,
            t1: t1.max(t0 + 1),
            lo: vec![None; n],
            hi: vec![None; n],
            stat: Stat::default(),
        }
    }
    fn index(&self, t: Nanos) -> usize {
        let n = self.lo.len() as i128;
        let k = ((t as i128 - self.t0 as i128) * n) / ((self.t1 - self.t0) as i128 + 1);
        k.clamp(0, n - 1) as usize
    }
    fn push(&mut self, t: Nanos, v: f64) {
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
    fn points(&self) -> Vec<(Nanos, f64)> {
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
struct EventCounts {
    t0: Nanos,
    t1: Nanos,
    counts: Vec<u64>,
    total: u64,
}

impl EventCounts {
    fn new(t0: Nanos, t1: Nanos, n: usize) -> Self {
        EventCounts {
            t0,
            t1: t1.max(t0 + 1),
            counts: vec![0; n.max(1)],
            total: 0,
        }
    }
    fn push(&mut self, t: Nanos) {
        self.push_n(t, 1);
    }
    fn push_n(&mut self, t: Nanos, c: u64) {
        let n = self.counts.len() as i128;
        let k = ((t as i128 - self.t0 as i128) * n) / ((self.t1 - self.t0) as i128 + 1);
        self.counts[k.clamp(0, n - 1) as usize] += c;
        self.total += c;
    }
}

// ---------------------------------------------------------------------------------------------
// One market's data

#[derive(Debug, Clone, Default)]
struct Bar {
    ts_open: Nanos,
    ts_close: Nanos,
    open: Option<f64>,
    high: Option<f64>,
    low: Option<f64>,
    close: Option<f64>,
    volume: f64,
    buy: f64,
    sell: f64,
    trades: i64,
}

struct MarketData {
    market: String,
    t0: Nanos,
    t1: Nanos,
    bar_spec: Option<String>,
    bars: Vec<Bar>,
    interval_spec: Option<String>,
    series: BTreeMap<&'static str, Buckets>,
    vpin_buckets: Vec<(Nanos, i64, f64)>,
    quality: BTreeMap<&'static str, EventCounts>,
    rows: BTreeMap<String, u64>,
}

/// Bar spec duration for ordering (`time_1m` -> 60 s); non-time specs are not charted.
fn time_spec_ns(spec: &str) -> Option<i64> {
    daedalus_dataflow::config::parse_duration(spec.strip_prefix("bar=")?.strip_prefix("time_")?)
        .ok()
}

fn interval_spec_ns(spec: &str) -> Option<i64> {
    daedalus_dataflow::config::parse_duration(spec.strip_prefix("interval=")?).ok()
}

fn load_market(inv: &Inventory, market: &str, max_points: usize) -> Result<MarketData> {
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
    let nb = (max_points / 2).max(1);
    let mut rows = BTreeMap::new();
    for p in &parts {
        *rows.entry(p.dataset_path()).or_insert(0) += p.rows;
    }

    // Gold: the finest time-bar spec.
    let bar_spec = parts
        .iter()
        .filter(|p| p.dataset == "bars")
        .filter_map(|p| p.spec.clone())
        .filter_map(|s| time_spec_ns(&s).map(|d| (d, s)))
        .min()
        .map(|(_, s)| s);
    let mut bars = Vec::new();
    if let Some(spec) = &bar_spec {
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
    }

    let mut series: BTreeMap<&'static str, Buckets> = BTreeMap::new();
    let mut quality: BTreeMap<&'static str, EventCounts> = BTreeMap::new();
    let qn = 300;
    for k in [
        "book gap",
        "book reset",
        "book uncrossed",
        "ticker crossed",
        "interval reset",
        "late rows",
    ] {
        quality.insert(k, EventCounts::new(t0, t1, qn));
    }
    // Late bronze rows recorded by watch runs (`_daedalus/late.jsonl`, one JSON object a line:
    // market, late_rows, min_ts), at the least late time.
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

    // Silver intervals: the finest spec.
    let interval_spec = parts
        .iter()
        .filter(|p| p.dataset == "intervals")
        .filter_map(|p| p.spec.clone())
        .filter_map(|s| interval_spec_ns(&s).map(|d| (d, s)))
        .min()
        .map(|(_, s)| s);
    if let Some(spec) = &interval_spec {
        let files = files_of(inv, &format!("silver/intervals/{spec}"), market)?;
        let names = [
            "ofi",
            "tfi",
            "signed_volume",
            "kyle_lambda",
            "kyle_r2",
            "vpin",
        ];
        for n in names {
            series.insert(n, Buckets::new(t0, t1, nb));
        }
        for_each_batch(
            &files,
            &[
                "ts_open",
                "ofi",
                "tfi",
                "signed_volume",
                "kyle_lambda",
                "kyle_r2",
                "vpin",
                "reset",
            ],
            |b| {
                let t = col_ts(b, "ts_open")?;
                for n in names {
                    if let Some(v) = col_f64(b, n)
                        && let Some(s) = series.get_mut(n)
                    {
                        for (i, x) in v.iter().enumerate() {
                            if let Some(x) = x {
                                s.push(t[i], *x);
                            }
                        }
                    }
                }
                if let Some(r) = col_bool(b, "reset")
                    && let Some(q) = quality.get_mut("interval reset")
                {
                    for (i, x) in r.iter().enumerate() {
                        if *x {
                            q.push(t[i]);
                        }
                    }
                }
                Ok(())
            },
        )?;
    }

    // Silver book: spread and depth imbalance, gap/reset/uncrossed flags.
    let book_files = files_of(inv, "silver/book", market)?;
    if !book_files.is_empty() {
        let names = [
            "rel_spread_bps",
            "spread",
            "imbalance_1",
            "depth_imbalance_5",
            "depth_imbalance_10",
        ];
        for n in names {
            series.insert(n, Buckets::new(t0, t1, nb));
        }
        for_each_batch(
            &book_files,
            &[
                "ts_event",
                "rel_spread_bps",
                "spread",
                "imbalance_1",
                "depth_imbalance_5",
                "depth_imbalance_10",
                "gap",
                "reset",
                "uncrossed",
            ],
            |b| {
                let t = col_ts(b, "ts_event")?;
                for n in names {
                    if let Some(v) = col_f64(b, n)
                        && let Some(s) = series.get_mut(n)
                    {
                        for (i, x) in v.iter().enumerate() {
                            if let Some(x) = x {
                                s.push(t[i], *x);
                            }
                        }
                    }
                }
                for (c, k) in [
                    ("gap", "book gap"),
                    ("reset", "book reset"),
                    ("uncrossed", "book uncrossed"),
                ] {
                    if let Some(r) = col_bool(b, c)
                        && let Some(q) = quality.get_mut(k)
                    {
                        for (i, x) in r.iter().enumerate() {
                            if *x {
                                q.push(t[i]);
                            }
                        }
                    }
                }
                Ok(())
            },
        )?;
    }

    // Silver ticker: crossed quotes, and the spread where there is no book.
    let ticker_files = files_of(inv, "silver/ticker", market)?;
    if !ticker_files.is_empty() {
        series.insert("ticker_rel_spread_bps", Buckets::new(t0, t1, nb));
        for_each_batch(
            &ticker_files,
            &["ts_event", "crossed", "rel_spread_bps"],
            |b| {
                let t = col_ts(b, "ts_event")?;
                if let Some(r) = col_bool(b, "crossed")
                    && let Some(q) = quality.get_mut("ticker crossed")
                {
                    for (i, x) in r.iter().enumerate() {
                        if *x {
                            q.push(t[i]);
                        }
                    }
                }
                if let Some(v) = col_f64(b, "rel_spread_bps")
                    && let Some(s) = series.get_mut("ticker_rel_spread_bps")
                {
                    for (i, x) in v.iter().enumerate() {
                        if let Some(x) = x {
                            s.push(t[i], *x);
                        }
                    }
                }
                Ok(())
            },
        )?;
    }

    // Silver trades: VPIN per completed bucket (the value after the bucket's last trade).
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

// ---------------------------------------------------------------------------------------------
// SVG

const W: f64 = 1100.0;
const ML: f64 = 120.0;
const MR: f64 = 20.0;
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A number for axes and tables: up to 6 significant digits, exponent for extremes.
fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let digits = (6 - (a.log10().floor() as i32 + 1)).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "–".into())
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + step * 1e-9 && v.len() < 50 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

fn time_ticks(t0: Nanos, t1: Nanos) -> (Vec<Nanos>, bool) {
    const S: i64 = 1_000_000_000;
    let steps = [
        S / 1000,
        S / 100,
        S / 10,
        S,
        2 * S,
        5 * S,
        10 * S,
        15 * S,
        30 * S,
        60 * S,
        120 * S,
        300 * S,
        600 * S,
        900 * S,
        1800 * S,
        3600 * S,
        7200 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        12 * 3600 * S,
        86400 * S,
        7 * 86400 * S,
        30 * 86400 * S,
    ];
    let span = (t1 - t0).max(1);
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 8)
        .unwrap_or(365 * 86400 * S);
    let mut v = Vec::new();
    let mut t = t0.div_euclid(step) * step;
    if t < t0 {
        t += step;
    }
    while t <= t1 && v.len() < 20 {
        v.push(t);
        t += step;
    }
    (v, span > 86400 * S)
}

fn time_label(t: Nanos, with_date: bool) -> String {
    let f = fmt_ts(t);
    if with_date {
        format!("{} {}", &f[5..10], &f[11..16])
    } else {
        f[11..19].to_string()
    }
}

/// A plot area with a shared time axis.
struct Frame {
    h: f64,
    mt: f64,
    mb: f64,
    t0: Nanos,
    t1: Nanos,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn new(h: f64, t0: Nanos, t1: Nanos, y0: f64, y1: f64) -> Self {
        let (y0, y1) = if y1 > y0 {
            let pad = (y1 - y0) * 0.05;
            (y0 - pad, y1 + pad)
        } else {
            let d = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.01 };
            (y0 - d, y0 + d)
        };
        Frame {
            h,
            mt: 24.0,
            mb: 22.0,
            t0,
            t1: t1.max(t0 + 1),
            y0,
            y1,
        }
    }
    fn x(&self, t: Nanos) -> f64 {
        ML + (W - ML - MR) * ((t - self.t0) as f64 / (self.t1 - self.t0) as f64)
    }
    fn y(&self, v: f64) -> f64 {
        self.mt + (self.h - self.mt - self.mb) * (1.0 - (v - self.y0) / (self.y1 - self.y0))
    }
    fn bottom(&self) -> f64 {
        self.h - self.mb
    }
    /// Grid, axes and labels into `out`.
    fn axes(&self, out: &mut String, title: &str, time_labels: bool) {
        let _ = write!(
            out,
            r#"<text class="title" x="{ML}" y="15">{}</text>"#,
            esc(title)
        );
        for v in nice_ticks(self.y0, self.y1, 4) {
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line class="grid" x1="{ML}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="ytick" x="{:.1}" y="{:.1}">{}</text>"##,
                W - MR,
                ML - 4.0,
                y + 4.0,
                num(v)
            );
        }
        let (ticks, with_date) = time_ticks(self.t0, self.t1);
        for t in ticks {
            let x = self.x(t);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/>"#,
                self.mt,
                self.bottom()
            );
            if time_labels {
                // The last label would be clipped at the right edge: right-align it.
                let cls = if x > W - MR - 40.0 {
                    "xtick end"
                } else {
                    "xtick"
                };
                let _ = write!(
                    out,
                    r#"<text class="{cls}" x="{x:.1}" y="{:.1}">{}</text>"#,
                    self.bottom() + 14.0,
                    time_label(t, with_date)
                );
            }
        }
        let _ = write!(
            out,
            r#"<rect class="frame" x="{ML}" y="{}" width="{:.1}" height="{:.1}"/>"#,
            self.mt,
            W - ML - MR,
            self.bottom() - self.mt
        );
    }
}

fn svg_open(out: &mut String, chart: &str, h: f64, extra: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" data-chart="{chart}" {extra} viewBox="0 0 {W} {h}" width="{W}" height="{h}">"#
    );
}

fn nodata(chart: &str, what: &str) -> String {
    format!(
        r#"<p class="nodata" data-chart="{chart}">{}: no data in this root</p>"#,
        esc(what)
    )
}

/// Line chart of one or more series (already downsampled points).
fn line_chart(
    chart: &str,
    title: &str,
    t0: Nanos,
    t1: Nanos,
    series: &[(&str, Vec<(Nanos, f64)>)],
    zero_line: bool,
) -> String {
    let pts: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .collect();
    if pts.is_empty() {
        return nodata(chart, title);
    }
    let lo = pts.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if zero_line {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    };
    let f = Frame::new(180.0, t0, t1, lo, hi);
    let mut out = String::new();
    let drawn: usize = series.iter().map(|s| s.1.len()).sum();
    svg_open(&mut out, chart, f.h, &format!(r#"data-points="{drawn}""#));
    f.axes(&mut out, title, true);
    if zero_line && f.y0 < 0.0 && f.y1 > 0.0 {
        let y = f.y(0.0);
        let _ = write!(
            out,
            r#"<line class="zero" x1="{ML}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
            W - MR
        );
    }
    for (i, (name, p)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if p.len() == 1 {
            let _ = write!(
                out,
                r#"<circle class="series" cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"#,
                f.x(p[0].0),
                f.y(p[0].1)
            );
        } else {
            let mut d = String::with_capacity(p.len() * 14);
            for (j, (t, v)) in p.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if j == 0 { "M" } else { "L" },
                    f.x(*t),
                    f.y(*v)
                );
            }
            let _ = write!(
                out,
                r#"<path class="series" data-series="{}" d="{d}" stroke="{color}"/>"#,
                esc(name)
            );
        }
        let _ = write!(
            out,
            r#"<text class="legend" x="{:.1}" y="15" fill="{color}">{}</text>"#,
            W - MR - 160.0 * (series.len() - i) as f64,
            esc(name)
        );
    }
    out.push_str("</svg>");
    out
}

/// Candles (merged `k` per drawn candle beyond `max` bars) over a volume panel.
fn candle_chart(d: &MarketData, max: usize) -> String {
    if d.bars.is_empty() {
        return nodata("candles", "candlesticks (gold time bars)");
    }
    let k = d.bars.len().div_ceil(max.max(1)).max(1);
    let groups: Vec<&[Bar]> = d.bars.chunks(k).collect();
    let lo = d
        .bars
        .iter()
        .filter_map(|b| b.low)
        .fold(f64::INFINITY, f64::min);
    let hi = d
        .bars
        .iter()
        .filter_map(|b| b.high)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let t0 = d.bars[0].ts_open.min(d.t0);
    let t1 = d.bars.last().map_or(d.t1, |b| b.ts_close).max(d.t1);
    let price = Frame::new(300.0, t0, t1, lo, hi);
    let vmax = groups
        .iter()
        .map(|g| g.iter().map(|b| b.volume).sum::<f64>())
        .fold(0.0, f64::max);
    let vol = Frame::new(110.0, t0, t1, 0.0, if vmax > 0.0 { vmax } else { 1.0 });
    let spec = d.bar_spec.clone().unwrap_or_default();
    let mut out = String::new();
    svg_open(
        &mut out,
        "candles",
        price.h + vol.h,
        &format!(
            r#"data-bars="{}" data-candles="{}" data-bar-spec="{}""#,
            d.bars.len(),
            groups.len(),
            esc(&spec)
        ),
    );
    let title = if k > 1 {
        format!("price: {spec} bars, {k} bars per candle (drawing only)")
    } else {
        format!("price: {spec} bars")
    };
    price.axes(&mut out, &title, false);
    let _ = write!(out, r#"<g transform="translate(0,{})">"#, price.h);
    vol.axes(&mut out, "volume (buy / sell)", true);
    out.push_str("</g>");
    for g in &groups {
        let first = &g[0];
        let last = &g[g.len() - 1];
        let x0 = price.x(first.ts_open);
        let x1 = price.x(last.ts_close);
        let w = ((x1 - x0) * 0.7).max(0.6);
        let xc = (x0 + x1) / 2.0;
        let open = g.iter().find_map(|b| b.open);
        let close = g.iter().rev().find_map(|b| b.close);
        let high = g.iter().filter_map(|b| b.high).reduce(f64::max);
        let low = g.iter().filter_map(|b| b.low).reduce(f64::min);
        let volume: f64 = g.iter().map(|b| b.volume).sum();
        let buy: f64 = g.iter().map(|b| b.buy).sum();
        let sell: f64 = g.iter().map(|b| b.sell).sum();
        let trades: i64 = g.iter().map(|b| b.trades).sum();
        let tip = format!(
            "{} O {} H {} L {} C {} V {} n {}",
            &fmt_ts(first.ts_open)[..19],
            opt(open),
            opt(high),
            opt(low),
            opt(close),
            num(volume),
            trades
        );
        match (open, high, low, close) {
            (Some(o), Some(h), Some(l), Some(c)) => {
                let up = c >= o;
                let cls = if up { "up" } else { "down" };
                let (yo, yc) = (price.y(o), price.y(c));
                let top = yo.min(yc);
                let bh = (yo - yc).abs().max(0.8);
                let _ = write!(
                    out,
                    r#"<g class="candle {cls}" data-bars="{}"><title>{}</title><line x1="{xc:.1}" x2="{xc:.1}" y1="{:.1}" y2="{:.1}"/><rect x="{:.1}" y="{top:.1}" width="{w:.1}" height="{bh:.1}"/></g>"#,
                    g.len(),
                    esc(&tip),
                    price.y(h),
                    price.y(l),
                    xc - w / 2.0
                );
            }
            _ => {
                let _ = write!(
                    out,
                    r#"<g class="candle empty" data-bars="{}"><title>{}</title></g>"#,
                    g.len(),
                    esc(&tip)
                );
            }
        }
        // Volume: buy stacked under sell; unknown-side volume makes up the rest.
        let base = price.h + vol.bottom();
        let yb = price.h + vol.y(buy);
        let ys = price.h + vol.y(buy + sell);
        let yv = price.h + vol.y(volume);
        let _ = write!(
            out,
            r#"<rect class="vol buy" x="{:.1}" y="{yb:.1}" width="{w:.1}" height="{:.1}"/><rect class="vol sell" x="{:.1}" y="{ys:.1}" width="{w:.1}" height="{:.1}"/>"#,
            xc - w / 2.0,
            (base - yb).max(0.0),
            xc - w / 2.0,
            (yb - ys).max(0.0)
        );
        if yv < ys - 0.05 {
            let _ = write!(
                out,
                r#"<rect class="vol unknown" x="{:.1}" y="{yv:.1}" width="{w:.1}" height="{:.1}"/>"#,
                xc - w / 2.0,
                ys - yv
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn vpin_chart(d: &MarketData, max: usize) -> String {
    if d.vpin_buckets.is_empty() {
        let iv = d.series.get("vpin").map(|b| b.points()).unwrap_or_default();
        if iv.is_empty() {
            return nodata(
                "vpin",
                "VPIN (no completed window: set --vpin-v or --vpin-n)",
            );
        }
        return line_chart(
            "vpin",
            "VPIN per interval",
            d.t0,
            d.t1,
            &[("vpin", iv)],
            false,
        );
    }
    let mut b = Buckets::new(d.t0, d.t1, max / 2);
    for (t, _, v) in &d.vpin_buckets {
        b.push(*t, *v);
    }
    let pts = if d.vpin_buckets.len() <= max {
        d.vpin_buckets.iter().map(|(t, _, v)| (*t, *v)).collect()
    } else {
        b.points()
    };
    let mut s = line_chart(
        "vpin",
        &format!(
            "VPIN after each completed bucket ({} buckets)",
            d.vpin_buckets.len()
        ),
        d.t0,
        d.t1,
        &[("vpin", pts.clone())],
        false,
    );
    // Bucket completion marks (when not too many).
    if pts.len() <= 400
        && let Some(end) = s.rfind("</svg>")
    {
        let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let f = Frame::new(180.0, d.t0, d.t1, lo, hi);
        let mut marks = String::new();
        for (t, v) in &pts {
            let _ = write!(
                marks,
                r#"<circle class="bucket" cx="{:.1}" cy="{:.1}" r="2"/>"#,
                f.x(*t),
                f.y(*v)
            );
        }
        s.insert_str(end, &marks);
    }
    s
}

fn quality_chart(d: &MarketData) -> String {
    let rows: Vec<(&str, &EventCounts)> = d.quality.iter().map(|(k, v)| (*k, v)).collect();
    let h = 30.0 + 22.0 * rows.len() as f64 + 22.0;
    let f = Frame {
        h,
        mt: 24.0,
        mb: 22.0,
        t0: d.t0,
        t1: d.t1.max(d.t0 + 1),
        y0: 0.0,
        y1: 1.0,
    };
    let mut out = String::new();
    svg_open(&mut out, "quality", h, "");
    let _ = write!(
        out,
        r#"<text class="title" x="{ML}" y="15">data quality: events over time (count in the tooltip)</text>"#
    );
    let (ticks, with_date) = time_ticks(f.t0, f.t1);
    for t in ticks {
        let x = f.x(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="xtick" x="{x:.1}" y="{:.1}">{}</text>"#,
            f.mt,
            f.bottom(),
            f.bottom() + 14.0,
            time_label(t, with_date)
        );
    }
    for (i, (name, c)) in rows.iter().enumerate() {
        let y = f.mt + 6.0 + 22.0 * i as f64;
        let _ = write!(
            out,
            r#"<text class="ytick" x="{:.1}" y="{:.1}">{} ({})</text><line class="lane" x1="{ML}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
            ML - 4.0,
            y + 12.0,
            esc(name),
            c.total,
            W - MR,
            y + 8.0,
            y + 8.0
        );
        let n = c.counts.len() as i128;
        let span = (c.t1 - c.t0) as i128 + 1;
        for (k, cnt) in c.counts.iter().enumerate() {
            if *cnt == 0 {
                continue;
            }
            let ta = c.t0 + ((k as i128 * span) / n) as i64;
            let tb = c.t0 + (((k as i128 + 1) * span) / n) as i64;
            let x = f.x(ta);
            let w = (f.x(tb) - x).max(2.0);
            let _ = write!(
                out,
                r#"<rect class="event e{i}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="16"><title>{}: {cnt} from {}</title></rect>"#,
                esc(name),
                fmt_ts(ta)
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn market_section(d: &MarketData, max: usize) -> String {
    let mut out = String::new();
    let id: String = d
        .market
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let _ = write!(
        out,
        r#"<section class="market" id="m-{id}" data-market="{}"><h2>{}</h2>"#,
        esc(&d.market),
        esc(&d.market)
    );
    // Exact numbers.
    let bars_n = d.bars.len();
    let traded: Vec<&Bar> = d.bars.iter().filter(|b| b.open.is_some()).collect();
    let high = traded.iter().filter_map(|b| b.high).reduce(f64::max);
    let low = traded.iter().filter_map(|b| b.low).reduce(f64::min);
    let volume: f64 = d.bars.iter().map(|b| b.volume).sum();
    let trades: i64 = d.bars.iter().map(|b| b.trades).sum();
    let st = |k: &str| d.series.get(k).map(|b| b.stat.clone()).unwrap_or_default();
    let _ = write!(
        out,
        r#"<table class="facts"><tr><th>range</th><td>{} .. {}</td><th>bars ({})</th><td class="n" data-fact="bars">{bars_n}</td><th>empty bars</th><td class="n">{}</td></tr>"#,
        fmt_ts(d.t0),
        fmt_ts(d.t1),
        esc(d.bar_spec.as_deref().unwrap_or("none")),
        bars_n - traded.len()
    );
    let _ = write!(
        out,
        r#"<tr><th>open / high / low / close</th><td>{} / {} / {} / {}</td><th>volume</th><td class="n">{}</td><th>trades</th><td class="n">{trades}</td></tr>"#,
        opt(traded.first().and_then(|b| b.open)),
        opt(high),
        opt(low),
        opt(traded.last().and_then(|b| b.close)),
        num(volume)
    );
    let spread = st("rel_spread_bps");
    let kyle = st("kyle_lambda");
    let ofi = st("ofi");
    let tfi = st("tfi");
    let _ = write!(
        out,
        r#"<tr><th>spread bps mean / min / max</th><td>{} / {} / {}</td><th>VPIN buckets</th><td class="n">{}</td><th>last VPIN</th><td class="n">{}</td></tr>"#,
        opt(spread.mean()),
        opt(spread.min),
        opt(spread.max),
        d.vpin_buckets.len(),
        opt(d.vpin_buckets.last().map(|x| x.2))
    );
    let _ = write!(
        out,
        r#"<tr><th>intervals ({}) OFI sum / TFI mean</th><td>{} / {}</td><th>Kyle λ mean</th><td class="n">{}</td><th>Kyle λ last</th><td class="n">{}</td></tr>"#,
        esc(d.interval_spec.as_deref().unwrap_or("none")),
        num(ofi.sum),
        opt(tfi.mean()),
        opt(kyle.mean()),
        opt(kyle.last)
    );
    let q: Vec<String> = d
        .quality
        .iter()
        .map(|(k, v)| format!("{k} {}", v.total))
        .collect();
    let rows: Vec<String> = d.rows.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = write!(
        out,
        r#"<tr><th>quality events</th><td colspan="5">{}</td></tr><tr><th>rows</th><td colspan="5">{}</td></tr></table>"#,
        esc(&q.join(" · ")),
        esc(&rows.join(" · "))
    );

    out.push_str(&candle_chart(d, max));
    let pts = |k: &str| d.series.get(k).map(|b| b.points()).unwrap_or_default();
    let iv = d.interval_spec.clone().unwrap_or_default();
    out.push_str(&line_chart(
        "ofi",
        &format!("OFI per {iv} interval"),
        d.t0,
        d.t1,
        &[("ofi", pts("ofi"))],
        true,
    ));
    out.push_str(&line_chart(
        "tfi",
        &format!("TFI per {iv} interval"),
        d.t0,
        d.t1,
        &[("tfi", pts("tfi"))],
        true,
    ));
    out.push_str(&vpin_chart(d, max));
    let mut spread_series = vec![("book rel spread (bps)", pts("rel_spread_bps"))];
    if spread_series[0].1.is_empty() {
        spread_series = vec![("ticker rel spread (bps)", pts("ticker_rel_spread_bps"))];
    }
    out.push_str(&line_chart(
        "spread",
        "relative spread (bps)",
        d.t0,
        d.t1,
        &spread_series,
        false,
    ));
    out.push_str(&line_chart(
        "depth",
        "depth imbalance",
        d.t0,
        d.t1,
        &[
            ("depth_imbalance_5", pts("depth_imbalance_5")),
            ("depth_imbalance_10", pts("depth_imbalance_10")),
        ],
        true,
    ));
    out.push_str(&line_chart(
        "kyle",
        &format!("Kyle's lambda per {iv} interval"),
        d.t0,
        d.t1,
        &[("kyle_lambda", pts("kyle_lambda"))],
        true,
    ));
    out.push_str(&quality_chart(d));
    out.push_str("</section>");
    out
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;margin:4px 0;font-size:10px}
svg .title{font-size:12px;font-weight:600;fill:#333}
svg .legend{font-size:11px}
svg .grid{stroke:#eee;stroke-width:1}
svg .frame{fill:none;stroke:#999;stroke-width:1}
svg .zero{stroke:#888;stroke-dasharray:3 3}
svg .ytick{text-anchor:end;fill:#555}
svg .xtick{text-anchor:middle;fill:#555}svg .xtick.end{text-anchor:end}
svg path.series{fill:none;stroke-width:1.2}
svg .candle line{stroke:#444;stroke-width:1}
svg .candle.up rect{fill:#2ca02c;stroke:#1d6b1d}
svg .candle.down rect{fill:#d62728;stroke:#8b1a1a}
svg .vol.buy{fill:#2ca02c;opacity:.6}svg .vol.sell{fill:#d62728;opacity:.6}svg .vol.unknown{fill:#999;opacity:.6}
svg .bucket{fill:#1f77b4}
svg .lane{stroke:#eee}
svg .event{fill:#d62728;opacity:.8}svg .event.e1{fill:#ff7f0e}svg .event.e2{fill:#9467bd}svg .event.e3{fill:#8c564b}svg .event.e4{fill:#17becf}svg .event.e5{fill:#e377c2}
pre{font-size:11px;background:#f8f8f8;padding:6px;white-space:pre-wrap}
.nodata{color:#888;font-style:italic}
"#;

/// Builds the report's HTML for a root. Errors (naming the file) on an empty root, unreadable
/// files or a newer contract version; never panics on bad input.
pub fn build_report(root: &Path, opts: &ReportOptions) -> Result<(String, ReportSummary)> {
    let mut max = opts.max_points.max(10);
    loop {
        let (html, s) = build_report_once(root, opts, max)?;
        if html.len() <= MAX_REPORT_BYTES {
            return Ok((html, s));
        }
        if max <= 100 {
            bail!(
                "report would be {:.1} MB even at {max} points per chart, over the 5 MB bound: narrow it with --exchange/--symbol/--from/--to",
                html.len() as f64 / 1048576.0
            );
        }
        tracing::info!(
            "report: {:.1} MB at {max} points per chart; drawing fewer points to stay under 5 MB",
            html.len() as f64 / 1048576.0
        );
        max /= 2;
    }
}

fn build_report_once(
    root: &Path,
    opts: &ReportOptions,
    max: usize,
) -> Result<(String, ReportSummary)> {
    let inv = inspect(root, &opts.inspect)?;
    if !inv.errors.is_empty() {
        bail!(
            "cannot report on {}: {} problem(s):\n  {}",
            root.display(),
            inv.errors.len(),
            inv.errors.join("\n  ")
        );
    }
    let markets: BTreeSet<String> = inv
        .partitions
        .iter()
        .filter(|p| p.layer != "bronze" && p.rows > 0)
        .map(|p| p.market())
        .collect();
    if markets.is_empty() {
        bail!(
            "{}: no silver or gold rows to report on{} (run `daedalus run --root {}` first)",
            root.display(),
            if inv.partitions.is_empty() {
                ""
            } else {
                " for these filters"
            },
            root.display()
        );
    }
    let mut summary = ReportSummary::default();
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>daedalus report: {}</title><style>{CSS}</style></head><body><h1>daedalus report</h1><p class="meta">root <code>{}</code> · {} market(s) · produced by {} (contract version {}) · charts draw at most {max} points each (min/max per time bucket); every number in the tables uses every row</p>"#,
        esc(&inv.root),
        esc(&inv.root),
        markets.len(),
        esc(daedalus_model::PRODUCER),
        esc(daedalus_model::CONTRACT_VERSION)
    );
    html.push_str(r#"<nav><table><tr><th>market</th></tr>"#);
    for m in &markets {
        let id: String = m
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let _ = write!(
            html,
            r##"<tr><td><a href="#m-{id}">{}</a></td></tr>"##,
            esc(m)
        );
    }
    html.push_str("</table></nav>");
    for m in &markets {
        let d = load_market(&inv, m, max).with_context(|| format!("market {m}"))?;
        summary.markets.push(m.clone());
        summary.bars.insert(m.clone(), d.bars.len() as u64);
        if let Some(s) = &d.bar_spec {
            summary.bar_spec.insert(m.clone(), s.clone());
        }
        if let Some(s) = &d.interval_spec {
            summary.interval_spec.insert(m.clone(), s.clone());
        }
        html.push_str(&market_section(&d, max));
    }
    // Run parameters.
    html.push_str(r#"<h2 id="params">run parameters</h2>"#);
    if inv.run_configs.is_empty() {
        html.push_str(r#"<p class="nodata">no run parameters recorded in the files</p>"#);
    }
    for (i, rc) in inv.run_configs.iter().enumerate() {
        let _ = write!(
            html,
            r#"<p>#{}</p><pre class="params">{}</pre>"#,
            i + 1,
            esc(&serde_json::to_string_pretty(rc).unwrap_or_default())
        );
    }
    // Inventory.
    html.push_str(r#"<h2 id="inventory">inventory</h2><table><tr><th>dataset</th><th>market</th><th>dates</th><th>files</th><th>rows</th><th>bytes</th><th>first</th><th>last</th><th>staged</th></tr>"#);
    for t in &inv.markets {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}/{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            esc(&t.dataset),
            esc(&t.exchange),
            esc(&t.symbol),
            t.dates,
            t.files,
            t.rows,
            t.bytes,
            t.min_ts.map(fmt_ts).unwrap_or_default(),
            t.max_ts.map(fmt_ts).unwrap_or_default(),
            t.staged_files
        );
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        r#"<p class="meta">state directory {}: {}</p>"#,
        esc(&inv.state.dir),
        if inv.state.present {
            format!("{} checkpoint(s)", inv.state.checkpoints.len())
        } else {
            "absent".into()
        }
    );
    html.push_str("</body></html>\n");
    summary.bytes = html.len();
    summary.max_points = max;
    Ok((html, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_extremes() {
        let mut b = Buckets::new(0, 999, 10);
        for t in 0..1000 {
            b.push(t, if t == 555 { 100.0 } else { (t % 7) as f64 });
        }
        let p = b.points();
        assert!(p.len() <= 20);
        assert!(p.iter().any(|x| x.1 == 100.0));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(b.stat.n, 1000);
        assert_eq!(b.stat.max, Some(100.0));
    }

    #[test]
    fn numbers_and_ticks() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(61234.5), "61234.5");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
