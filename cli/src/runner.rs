//! Running a plan from a command (`run`, `demo`, `bench`): the engine's [`execute`] with the
//! progress display and metrics of the command, the failure message, and the summary printout.

use crate::metrics::MetricsObserver;
use crate::progress::Progress;
use anyhow::{Result, bail};
use daedalus_dataflow::{ClusterConfig, RunPlan, WorkerSummary, execute};
use daedalus_model::rows::Dataset;
use daedalus_sources::bronze::{discover, partition_traded_volume};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Executes `plan`, showing bronze rows read as progress (counted by `observer`, which the plan's
/// execution options must hold). A run whose workers recorded errors is an error listing them.
pub(crate) fn execute_with_progress(
    plan: RunPlan,
    cluster: &ClusterConfig,
    observer: Arc<MetricsObserver>,
) -> Result<WorkerSummary> {
    let t0 = Instant::now();
    tracing::info!(
        "run: {} market(s), {} bronze partition(s), {} worker(s) x {} process(es)",
        plan.markets.len(),
        plan.partitions.len(),
        cluster.workers,
        cluster.processes
    );
    let progress = Progress::start_with("bronze rows read", move || {
        observer.rows_read.load(Ordering::Relaxed)
    });
    let s = execute(plan, cluster);
    progress.finish();
    let s = s?;
    if !s.errors.is_empty() {
        bail!(
            "run failed ({} error(s)); each failed market keeps its last committed checkpoint and outputs (a rerun completes them):\n  {}",
            s.errors.len(),
            s.errors
                .iter()
                .map(|e| daedalus_dataflow::chain(e))
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    tracing::info!("run finished in {:.2}s", t0.elapsed().as_secs_f64());
    Ok(s)
}

/// Prints a run's summary (rows read and written, quality counters, commits).
pub(crate) fn print_summary(s: &WorkerSummary, root: &Path) {
    println!(
        "bronze rows read: book {}  ticker {}  trades {}  ({} file(s))",
        s.rows_in[0], s.rows_in[1], s.rows_in[2], s.files_opened
    );
    println!("rows written under {}:", root.display());
    for (k, v) in &s.rows_out {
        println!("  {k:<40} {v:>12}");
    }
    if !s.quality.is_empty() {
        let q: Vec<String> = s.quality.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("quality: {}", q.join("  "));
    }
    println!(
        "checkpoints committed: {}  files committed: {}",
        s.checkpoints, s.files_written
    );
}

/// Average daily traded volume per market (`exchange/symbol`) in a root's bronze trades.
pub(crate) fn daily_volume_per_market(root: &Path) -> Result<BTreeMap<String, f64>> {
    let mut vol: BTreeMap<String, (f64, BTreeSet<String>)> = BTreeMap::new();
    for p in discover(root, &[Dataset::Trades], |_, _, _| true)? {
        let e = vol
            .entry(format!("{}/{}", p.exchange, p.symbol))
            .or_default();
        e.1.insert(p.date.to_string());
        e.0 += partition_traded_volume(&p)?;
    }
    Ok(vol
        .into_iter()
        .filter(|(_, (v, _))| *v > 0.0)
        .map(|(m, (v, d))| (m, v / d.len() as f64))
        .collect())
}
