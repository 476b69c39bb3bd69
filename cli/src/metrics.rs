//! Prometheus metrics (`--metrics ADDR`): rows in and out per dataset and market, the event-time
//! watermark and its lag behind the wall clock, checkpoint count/age/duration, late rows, quality
//! counters, files read. Exposition by the `prometheus-client` crate (OpenMetrics text), served
//! at `/metrics` by the HTTP server of [`server`] (hyper, concurrent connections, timeouts) on
//! the address the user names (default: none; a bare port means `127.0.0.1:PORT`, so nothing
//! listens beyond loopback unless asked).
//!
//! `ingest --watch` adds the metrics of [`ingest`] ([`Metrics::for_ingest`]).
//!
//! [`MetricsObserver`] is the engine's [`RunObserver`] of a run: it feeds these metrics and the
//! rows counter of the progress display.

use anyhow::{Context, Result};
use daedalus_dataflow::RunObserver;
use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::Nanos;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub(crate) mod ingest;
mod server;

pub(crate) use server::{MetricsServer, serve};

type Labels = Vec<(String, String)>;
type FGauge = Gauge<f64, AtomicU64>;

/// Every metric of a process.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Bronze rows decoded, by dataset and market.
    pub rows_in: Family<Labels, Counter>,
    /// Rows committed, by dataset and market.
    pub rows_out: Family<Labels, Counter>,
    /// Bronze files opened.
    pub files_read: Counter,
    /// Event-time watermark (the market operators' input frontier), seconds since the epoch.
    pub watermark: FGauge,
    watermark_lag: FGauge,
    /// Per-market checkpoints committed.
    pub checkpoints: Counter,
    /// Wall clock of the last checkpoint, seconds since the epoch.
    pub last_checkpoint: FGauge,
    checkpoint_age: FGauge,
    /// Duration of the last checkpoint commit, seconds.
    pub checkpoint_duration: FGauge,
    /// Rows behind the watermark (never applied).
    pub late_rows: Counter,
    /// Bronze files with late rows.
    pub late_files: Counter,
    /// Cumulative quality counters per market (`gaps`, `resets`, `uncrossed`, ...).
    pub quality: Family<Labels, Gauge>,
    /// Input files quarantined or skipped as bad (ingest `--lenient`).
    pub files_quarantined: Counter,
    /// `ingest --watch` (registered by [`Metrics::for_ingest`] only).
    pub ingest: ingest::IngestMetrics,
}

/// Labels `{dataset, market}`.
pub(crate) fn dm(dataset: &str, market: &str) -> Labels {
    vec![
        ("dataset".to_string(), dataset.to_string()),
        ("market".to_string(), market.to_string()),
    ]
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("daedalus");
        let m = Metrics {
            rows_in: Family::default(),
            rows_out: Family::default(),
            files_read: Counter::default(),
            watermark: FGauge::default(),
            watermark_lag: FGauge::default(),
            checkpoints: Counter::default(),
            last_checkpoint: FGauge::default(),
            checkpoint_age: FGauge::default(),
            checkpoint_duration: FGauge::default(),
            late_rows: Counter::default(),
            late_files: Counter::default(),
            quality: Family::default(),
            files_quarantined: Counter::default(),
            ingest: ingest::IngestMetrics::default(),
            registry: Registry::default(),
        };
        registry.register(
            "rows_in",
            "Bronze rows decoded, by dataset and market",
            m.rows_in.clone(),
        );
        registry.register(
            "rows_out",
            "Rows committed to silver and gold, by dataset and market",
            m.rows_out.clone(),
        );
        registry.register("files_read", "Bronze files opened", m.files_read.clone());
        registry.register(
            "watermark_seconds",
            "Event-time watermark (input frontier of the market operators), seconds since the Unix epoch",
            m.watermark.clone(),
        );
        registry.register(
            "watermark_lag_seconds",
            "Wall clock minus the event-time watermark, seconds",
            m.watermark_lag.clone(),
        );
        registry.register(
            "checkpoints",
            "Per-market checkpoints committed",
            m.checkpoints.clone(),
        );
        registry.register(
            "last_checkpoint_seconds",
            "Wall clock of the last checkpoint commit, seconds since the Unix epoch",
            m.last_checkpoint.clone(),
        );
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the last checkpoint commit",
            m.checkpoint_age.clone(),
        );
        registry.register(
            "checkpoint_duration_seconds",
            "Duration of the last checkpoint commit (finish parts, write checkpoint, rename)",
            m.checkpoint_duration.clone(),
        );
        registry.register(
            "late_rows",
            "Bronze rows behind the watermark, never applied (listed in late.jsonl)",
            m.late_rows.clone(),
        );
        registry.register(
            "late_files",
            "Bronze files with late rows",
            m.late_files.clone(),
        );
        registry.register(
            "quality",
            "Cumulative data-quality counters per market (gaps, resets, uncrossed, crossed_tickers, ...)",
            m.quality.clone(),
        );
        registry.register(
            "files_quarantined",
            "Input files or lines skipped as bad (ingest --lenient)",
            m.files_quarantined.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The metrics of `ingest --watch`: these and the `ingest_*` ones.
    pub(crate) fn for_ingest() -> Self {
        let mut m = Metrics::default();
        m.ingest.register(&mut m.registry);
        m
    }

    /// The exposition text (OpenMetrics), with the wall-clock-derived gauges refreshed.
    pub(crate) fn render(&self) -> String {
        let now = now_secs();
        let wm = self.watermark.get();
        if wm > 0.0 {
            self.watermark_lag.set(now - wm);
        }
        let last = self.last_checkpoint.get();
        if last > 0.0 {
            self.checkpoint_age.set(now - last);
        }
        self.ingest.refresh();
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("encoding to a String cannot fail");
        out
    }

    /// Raises the watermark gauge to `ns` (event time, ns) if later.
    pub(crate) fn advance_watermark(&self, ns: i64) {
        let s = ns as f64 / 1e9;
        if s > self.watermark.get() {
            self.watermark.set(s);
        }
    }
}

/// Parses `--metrics`: `HOST:PORT`, `[V6]:PORT`, or a bare `PORT` (127.0.0.1).
pub(crate) fn parse_addr(spec: &str) -> Result<SocketAddr> {
    if let Ok(port) = spec.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(a) = spec.parse::<SocketAddr>() {
        return Ok(a);
    }
    // A host name (`localhost:9184`): resolved, the first address taken (issue 16).
    use std::net::ToSocketAddrs;
    spec.to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .with_context(|| {
            format!(
                "--metrics {spec:?}: expected HOST:PORT (e.g. 127.0.0.1:9184 or localhost:9184) \
                 or a port number"
            )
        })
}

/// Serves `metrics` on the address of `--metrics SPEC` when one is given ([`serve`]); the server
/// runs until the returned value is dropped.
pub(crate) fn serve_opt(
    spec: Option<&str>,
    metrics: &Arc<Metrics>,
) -> Result<Option<MetricsServer>> {
    spec.map(|s| serve(parse_addr(s)?, metrics.clone()))
        .transpose()
}

/// The run observer of a command: Prometheus metrics, and the bronze rows read for the progress
/// display.
#[derive(Debug)]
pub(crate) struct MetricsObserver {
    /// The metrics served by `--metrics`.
    pub metrics: Arc<Metrics>,
    /// Bronze rows decoded so far.
    pub rows_read: AtomicU64,
}

impl MetricsObserver {
    /// An observer feeding `metrics`.
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        MetricsObserver {
            metrics,
            rows_read: AtomicU64::new(0),
        }
    }
}

impl RunObserver for MetricsObserver {
    fn rows_in(&self, dataset: Dataset, market: &Market, rows: u64) {
        self.rows_read.fetch_add(rows, Ordering::Relaxed);
        self.metrics
            .rows_in
            .get_or_create(&dm(dataset.name(), &market.to_string()))
            .inc_by(rows);
    }

    fn files_opened(&self, files: u64) {
        self.metrics.files_read.inc_by(files);
    }

    fn watermark(&self, ns: Nanos) {
        self.metrics.advance_watermark(ns);
    }

    fn late_file(&self, _market: &Market, rows: u64) {
        self.metrics.late_rows.inc_by(rows);
        self.metrics.late_files.inc();
    }

    fn quality(&self, market: &Market, counters: &BTreeMap<String, u64>) {
        let market = market.to_string();
        for (k, v) in counters {
            self.metrics
                .quality
                .get_or_create(&vec![
                    ("market".to_string(), market.clone()),
                    ("counter".to_string(), k.clone()),
                ])
                .set(*v as i64);
        }
    }

    fn rows_out(&self, dataset: &str, market: &Market, rows: u64) {
        self.metrics
            .rows_out
            .get_or_create(&dm(dataset, &market.to_string()))
            .inc_by(rows);
    }

    fn checkpoint_committed(&self, took: Duration) {
        self.metrics.checkpoints.inc();
        self.metrics.last_checkpoint.set(now_secs());
        self.metrics.checkpoint_duration.set(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn renders_openmetrics_and_serves_it() {
        let m = Arc::new(Metrics::default());
        m.rows_in
            .get_or_create(&dm("trades", "binance/BTC-USDT"))
            .inc_by(7);
        m.advance_watermark(1_723_161_600_000_000_000);
        let text = m.render();
        assert!(
            text.contains(
                "daedalus_rows_in_total{dataset=\"trades\",market=\"binance/BTC-USDT\"} 7"
            ),
            "{text}"
        );
        assert!(
            text.contains("daedalus_watermark_seconds 1723161600"),
            "{text}"
        );
        let server = serve(parse_addr("127.0.0.1:0").unwrap(), m).unwrap();
        let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK"));
        assert!(got.contains("daedalus_rows_in_total"));
        assert!(parse_addr("not an address").is_err());
        assert!(parse_addr("localhost:9184").unwrap().ip().is_loopback());
        assert_eq!(
            parse_addr("9184").unwrap(),
            "127.0.0.1:9184".parse().unwrap()
        );
    }
}
