//! The metrics of `ingest --watch` (registered only by that command, so a run's exposition is
//! unchanged): inputs seen, ingested, unchanged and rejected; batches; bronze rows per dataset
//! and market and the newest committed receive time per market, both read from the ingest state
//! after each batch (so an input re-applied after an earlier one arrives is counted once); and
//! two lags: from a file settling to its commit, and from the newest committed receive time to
//! now.

use super::{FGauge, Labels, now_secs};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The counters and gauges of an `ingest --watch` process.
#[derive(Debug, Default)]
pub(crate) struct IngestMetrics {
    /// Settled files (new or changed) handed to an ingest.
    pub inputs_seen: Counter,
    /// Inputs newly committed (new, or a new version of a known name).
    pub inputs_ingested: Counter,
    /// Settled files found already ingested with the same content (no-ops).
    pub inputs_unchanged: Counter,
    /// Files rejected as bad input (skipped until their size or mtime changes).
    pub inputs_rejected: Counter,
    /// Ingest calls (one per batch of settled files).
    pub batches: Counter,
    /// Rows in bronze per dataset and market, as the ingest state records them.
    pub rows: Family<Labels, Gauge>,
    /// Seconds from the last batch's earliest-settled file settling to its commit.
    pub commit_lag: FGauge,
    /// Newest committed receive time per market, seconds since the epoch.
    pub newest_recv: Family<Labels, FGauge>,
    recv_lag: Family<Labels, FGauge>,
    newest: Mutex<BTreeMap<String, f64>>,
}

fn market(m: &str) -> Labels {
    vec![("market".to_string(), m.to_string())]
}

impl IngestMetrics {
    /// Registers every metric under `ingest_*`.
    pub(crate) fn register(&self, r: &mut Registry) {
        let c = [
            (
                "ingest_inputs_seen",
                "Settled landing files (new or changed) handed to an ingest",
                &self.inputs_seen,
            ),
            (
                "ingest_inputs_ingested",
                "Inputs newly committed to bronze",
                &self.inputs_ingested,
            ),
            (
                "ingest_inputs_unchanged",
                "Settled files already ingested with the same content (not re-ingested)",
                &self.inputs_unchanged,
            ),
            (
                "ingest_inputs_rejected",
                "Files rejected as bad input (skipped until their size or mtime changes)",
                &self.inputs_rejected,
            ),
            (
                "ingest_batches",
                "Ingest calls, one per batch of settled files",
                &self.batches,
            ),
        ];
        for (name, help, m) in c {
            r.register(name, help, m.clone());
        }
        r.register(
            "ingest_rows",
            "Rows in bronze by dataset and market (ingest state)",
            self.rows.clone(),
        );
        r.register(
            "ingest_commit_lag_seconds",
            "Seconds from a file settling to its commit (last batch, earliest-settled file)",
            self.commit_lag.clone(),
        );
        r.register(
            "ingest_newest_recv_seconds",
            "Newest committed receive time per market, seconds since the Unix epoch",
            self.newest_recv.clone(),
        );
        r.register(
            "ingest_recv_lag_seconds",
            "Wall clock minus the newest committed receive time per market, seconds",
            self.recv_lag.clone(),
        );
    }

    /// Records the newest committed receive time of `m` (ns).
    pub(crate) fn set_newest_recv(&self, m: &str, ns: i64) {
        let s = ns as f64 / 1e9;
        self.newest_recv.get_or_create(&market(m)).set(s);
        if let Ok(mut n) = self.newest.lock() {
            n.insert(m.to_string(), s);
        }
    }

    /// Refreshes the wall-clock lags (at each exposition).
    pub(crate) fn refresh(&self) {
        let now = now_secs();
        if let Ok(n) = self.newest.lock() {
            for (m, s) in n.iter() {
                self.recv_lag.get_or_create(&market(m)).set(now - s);
            }
        }
    }
}
