//! `daedalus run`: bronze to silver and gold. Resolves the run parameters (defaults, `--config`,
//! flags), the cluster layout and the run mode, then plans and executes the engine.

use crate::args::{ClusterArgs, ModeArgs, ParamArgs};
use crate::metrics::{Metrics, MetricsObserver};
use crate::runner::{execute_with_progress, print_summary};
use anyhow::{Context, Result, bail};
use clap::Args;
use daedalus_dataflow::cost;
use daedalus_dataflow::restate::{self, PendingReason, RecomputeReport};
use daedalus_dataflow::{
    ClusterConfig, EngineError, ExecOptions, RunPlan, WatchOptions, plan_with,
};
use daedalus_model::market::Market;
use daedalus_sinks::lock::{Wait, run_lock};
use daedalus_sinks::manifest;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `daedalus run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Root holding `bronze/`; silver and gold are written beside it.
    #[arg(long, value_name = "ROOT")]
    pub root: PathBuf,
    /// Run parameters.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Cluster layout.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run mode: checkpoints, watch, lateness.
    #[command(flatten)]
    pub mode: ModeArgs,
    /// Run even when the interval and time-bar grids would exceed the row limit (about 500
    /// million rows over the bronze date range; docs/OPERATIONS.md "Parameter bounds")
    #[arg(long)]
    pub force: bool,
    /// The grid-row limit `--force` overrides: interval and time-bar rows over the bronze date
    /// range, all markets
    #[arg(long, value_name = "ROWS", default_value_t = cost::MAX_GRID_ROWS)]
    pub max_grid_rows: u64,
}

/// Runs `daedalus run`.
pub(crate) fn run(a: &RunArgs) -> Result<()> {
    let config = crate::config_file::resolve(&a.params)?;
    let cl = cluster(&a.cluster)?;
    check_paths(a)?;
    // One writer per root (docs/OPERATIONS.md): process 0 of a cluster holds the lock for the
    // whole cluster; the others write nothing before they are connected to it.
    let _lock = if cl.process == 0 {
        let wait = if a.mode.wait {
            Wait::Block
        } else {
            Wait::Refuse
        };
        Some(run_lock(&a.root, wait)?)
    } else {
        None
    };
    let observer = Arc::new(MetricsObserver::new(Arc::new(Metrics::default())));
    let _server = crate::metrics::serve_opt(a.mode.metrics.as_deref(), &observer.metrics)?;
    let exec = exec_options(&a.mode, observer.clone());
    let watch = exec.watch.is_some();
    if watch && a.mode.restate && cl.processes > 1 {
        bail!("--restate with --watch restates in the watching process: run it with -n 1");
    }
    let p = plan_with(a.root.clone(), config, exec)?;
    check_grid_cost(&p, a)?;
    if cl.process == 0 {
        // Recompute, then replace, before the run proper; the other processes of a cluster
        // connect to this one only after it (they wait for it to listen).
        if a.mode.rebuild {
            let r = restate::rebuild(&p, cl.workers)?;
            print_recompute(&r, "rebuilt");
        } else if a.mode.restate {
            let r = restate::restate(&p, cl.workers)?;
            print_recompute(&r, "restated");
        }
        let orphans = restate::orphans(&p)?;
        if !orphans.is_empty() {
            // Outputs without a checkpoint are recomputed before they are replaced.
            let r = restate::rebuild_orphans(&p, orphans, cl.workers)?;
            print_recompute(&r, "rebuilt (no checkpoint)");
        }
    }
    if watch {
        tracing::info!(
            "watching {} for new bronze files (SIGINT/SIGTERM: checkpoint and stop)",
            a.root.join("bronze").display()
        );
    }
    let s = loop {
        let s = execute_with_progress(p.clone(), &cl, observer.clone())?;
        if !s.restart || s.stopped {
            break s;
        }
        // A watch run with --restate stopped reading at late bronze: restate, watch on.
        tracing::info!("late bronze arrived: restating, then watching on");
        match restate::restate(&p, cl.workers) {
            Ok(r) => print_recompute(&r, "restated"),
            // SIGINT/SIGTERM during the restatement: nothing was replaced, the late input stays
            // pending (inspect lists it); a requested stop, so exit 0 like a watch run's stop.
            Err(e @ EngineError::RecomputeStopped { .. }) => {
                tracing::warn!("{e}");
                break s;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print_summary(&s, &a.root);
    }
    Ok(())
}

/// Refuses a run whose interval and time-bar grids would exceed `--max-grid-rows` (default
/// [`cost::MAX_GRID_ROWS`]) rows over the bronze date range, unless `--force` (issue 16): the
/// estimate is made from partition dates and checkpoints before anything is written.
fn check_grid_cost(p: &RunPlan, a: &RunArgs) -> Result<()> {
    let state_dir = (a.mode.state_dir.clone()).unwrap_or_else(|| a.root.join("_daedalus"));
    let resumed = |m: &Market| {
        // A rebuild starts over; a corrupt checkpoint is reported by the run itself.
        if a.mode.rebuild {
            return None;
        }
        let c = manifest::load(&state_dir, &m.exchange, &m.symbol).ok()??;
        Some(c.header.processed_until)
    };
    let c = cost::estimate(p, &resumed);
    if c.rows <= a.max_grid_rows {
        return Ok(());
    }
    let largest = c.largest.as_ref().map_or(String::new(), |(m, rows, days)| {
        format!(" (the largest, {m}, spans {days} days: {rows} rows)")
    });
    let what = format!(
        "this run's interval and time-bar grids would write about {} rows (~{:.1} GB), above the limit of {} rows (--max-grid-rows){largest}",
        c.rows,
        c.bytes() as f64 / 1e9,
        a.max_grid_rows
    );
    if a.force {
        tracing::warn!("{what}: running anyway (--force)");
        return Ok(());
    }
    bail!(
        "{what}: check --interval/--bar and the bronze date range (`daedalus inspect`; a stray \
         timestamp years away makes a long grid), narrow it with --from/--to, or pass --force"
    )
}

/// Prints what a rebuild or restatement replaced (to stderr: stdout may carry `--json`).
fn print_recompute(r: &RecomputeReport, verb: &str) {
    for p in &r.pending {
        for reason in &p.reasons {
            eprintln!("{}: needs restating: {}", p.market, describe(reason));
        }
    }
    for m in &r.markets {
        let from = m.start.map_or("its first row".to_string(), |t| {
            format!("the checkpoint at {}", fmt_ns(t))
        });
        eprintln!(
            "{verb} {} from {from}: {} file(s) replaced or added, {} removed",
            m.market, m.files_in, m.files_removed
        );
    }
}

fn describe(r: &PendingReason) -> String {
    match r {
        PendingReason::Late { file, rows, .. } => format!("{file}: {rows} late row(s)"),
        PendingReason::Removed { file } => format!("{file}: consumed, now gone"),
        PendingReason::Changed { file, was, now } => {
            format!("{file}: consumed at {was} bytes, now {now}")
        }
        PendingReason::Unconsumed { file, min_ts } => {
            format!(
                "{file}: rows from {} behind the checkpoint",
                fmt_ns(*min_ts)
            )
        }
    }
}

/// An ordering time as UTC.
fn fmt_ns(t: i64) -> String {
    daedalus_model::time::Date::of_nanos(t).to_string()
        + &format!(
            "T{:02}:{:02}:{:02}Z",
            t.rem_euclid(86_400_000_000_000) / 3_600_000_000_000,
            t.rem_euclid(3_600_000_000_000) / 60_000_000_000,
            t.rem_euclid(60_000_000_000) / 1_000_000_000
        )
}

/// Refuses a root that does not exist (outside watch mode, where bronze may arrive later) and a
/// `--state-dir` inside a dataset folder of the root (issue 16): checkpoints there would be read
/// as data and break every later run.
fn check_paths(a: &RunArgs) -> Result<()> {
    if !a.mode.watch && !a.root.exists() {
        bail!(
            "root {} does not exist: give the folder that holds bronze/",
            a.root.display()
        );
    }
    if let Some(sd) = &a.mode.state_dir {
        let norm = |p: &Path| {
            p.canonicalize()
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.to_path_buf())
        };
        let (sd_n, root_n) = (norm(sd), norm(&a.root));
        for ds in ["bronze", "silver", "gold"] {
            let lexical = std::path::absolute(a.root.join(ds)).unwrap_or_default();
            if sd_n.starts_with(root_n.join(ds)) || norm(sd).starts_with(&lexical) {
                bail!(
                    "--state-dir {} is inside the dataset folder {}: checkpoints there would be \
                     read as data; choose a folder outside bronze/, silver/ and gold/ (default \
                     {})",
                    sd.display(),
                    a.root.join(ds).display(),
                    a.root.join("_daedalus").display()
                );
            }
        }
    }
    Ok(())
}

/// The engine's execution options of the run-mode flags.
fn exec_options(m: &ModeArgs, observer: Arc<MetricsObserver>) -> ExecOptions {
    ExecOptions {
        state_dir: m.state_dir.clone(),
        checkpoint_every: m.checkpoint_every.as_nanos() as i64,
        watch: m.watch.then_some(WatchOptions {
            poll: m.poll,
            settle: m.settle,
            idle: m.idle_timeout,
            delay: m.watermark_delay,
        }),
        on_late: m.on_late.into(),
        restate: m.restate,
        keep_checkpoints: m.keep_checkpoints.as_nanos() as i64,
        observer,
        shadow: None,
    }
}

/// The cluster layout of timely's flags and the hostfile.
fn cluster(c: &ClusterArgs) -> Result<ClusterConfig> {
    let addresses = match &c.hostfile {
        Some(h) => std::fs::read_to_string(h)
            .with_context(|| format!("reading hostfile {}", h.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(c.processes)
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    if c.processes > 1 && c.hostfile.is_some() && addresses.len() < c.processes {
        bail!(
            "hostfile has {} address(es) for {} processes",
            addresses.len(),
            c.processes
        );
    }
    if c.process >= c.processes.max(1) {
        bail!("-p {} is not below -n {}", c.process, c.processes);
    }
    Ok(ClusterConfig {
        workers: c.workers.max(1),
        processes: c.processes.max(1),
        process: c.process,
        addresses,
    })
}
