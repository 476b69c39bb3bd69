//! `daedalus demo`: generates a small synthetic market into a fresh root and runs the whole
//! pipeline on it, with VPIN bucket volumes of about 50 buckets a day per market.

use crate::metrics::{Metrics, MetricsObserver};
use crate::runner::{daily_volume_per_market, execute_with_progress, print_summary};
use anyhow::{Context, Result, bail};
use clap::Args;
use daedalus_dataflow::{ClusterConfig, ExecOptions, RunConfig, plan_with};
use daedalus_sources::synthetic::{GenConfig, generate};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// `daedalus demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to put the demo root (replaced if it exists and holds a previous demo).
    #[arg(
        long = "root",
        visible_alias = "out",
        value_name = "ROOT",
        default_value = "daedalus-demo"
    )]
    pub root: PathBuf,
    /// Synthetic events to generate.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Worker threads.
    #[arg(short = 'w', long = "workers", default_value_t = 2,
          value_parser = crate::duration::workers, allow_negative_numbers = true)]
    pub workers: usize,
}

/// Runs `daedalus demo`.
pub(crate) fn run(a: &DemoArgs) -> Result<()> {
    let t0 = Instant::now();
    let out = &a.root;
    fresh_demo_root(out)?;
    println!(
        "1/2 generating a synthetic market ({} events) into {}",
        a.events,
        out.display()
    );
    let g = GenConfig {
        seed: 42,
        events: a.events,
        markets: 4,
        days: 1,
        ..GenConfig::default()
    };
    let report = generate(&g, out)?;
    crate::commands::r#gen::print_report(&report);
    let mut config = RunConfig {
        interval: vec!["1s".into(), "1m".into()],
        bar: vec!["time_1m".into(), "volume_50".into()],
        vpin_n: 50,
        ..RunConfig::default()
    };
    // VPIN bucket volume per synthetic market: about 50 buckets a day at its traded volume.
    for (m, v) in daily_volume_per_market(out)? {
        config.vpin_v.insert(m, v / 50.0);
    }
    println!(
        "2/2 running bronze -> silver -> gold on {} worker(s)",
        a.workers
    );
    let cl = ClusterConfig {
        workers: a.workers,
        processes: 1,
        process: 0,
        addresses: Vec::new(),
    };
    let observer = Arc::new(MetricsObserver::new(Arc::new(Metrics::default())));
    let exec = ExecOptions {
        observer: observer.clone(),
        ..ExecOptions::default()
    };
    let s = execute_with_progress(plan_with(out.clone(), config, exec)?, &cl, observer)?;
    print_summary(&s, out);
    println!(
        "demo finished in {:.2}s; read it with e.g.",
        t0.elapsed().as_secs_f64()
    );
    println!(
        "  duckdb -c \"select * from read_parquet('{}/gold/bars/**/*.parquet', hive_partitioning=true) limit 5\"",
        out.display()
    );
    Ok(())
}

/// Clears a previous demo root (never anything else) and marks the new one.
fn fresh_demo_root(out: &Path) -> Result<()> {
    if out.exists() {
        let marker = out.join(".daedalus-demo");
        if !marker.exists() {
            bail!(
                "{} exists and is not a previous demo root; choose another --root",
                out.display()
            );
        }
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join(".daedalus-demo"),
        "created by `daedalus demo`; safe to delete\n",
    )?;
    Ok(())
}
