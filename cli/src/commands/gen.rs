//! `daedalus gen`: a deterministic synthetic multi-market bronze root (the sources library's
//! generator), with a progress display.

use crate::progress::Progress;
use anyhow::Result;
use clap::Args;
use daedalus_sources::synthetic::{GenConfig, GenReport, generate};
use std::path::PathBuf;
use std::time::Instant;

/// `daedalus gen`.
#[derive(Debug, Args)]
pub(crate) struct GenArgs {
    /// Output root (bronze goes to `<root>/bronze`).
    #[arg(long = "root", visible_alias = "out", value_name = "ROOT")]
    pub root: PathBuf,
    /// Seed (same seed, same bytes).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Total bronze rows across markets.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Number of markets.
    #[arg(long, default_value_t = 4)]
    pub markets: usize,
    /// Number of UTC days.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `daedalus gen`.
pub(crate) fn run(a: &GenArgs) -> Result<()> {
    let t0 = Instant::now();
    let progress = Progress::start_with("bronze rows generated", || {
        daedalus_sources::synthetic::EVENTS_GENERATED.load(std::sync::atomic::Ordering::Relaxed)
    });
    let cfg = GenConfig {
        seed: a.seed,
        events: a.events,
        markets: a.markets,
        days: a.days,
        ..GenConfig::default()
    };
    let report = generate(&cfg, &a.root);
    progress.finish();
    let report = report?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
        println!(
            "generated {} events into {} in {:.2}s",
            report.events,
            a.root.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Prints the generator's per-market table.
pub(crate) fn print_report(r: &GenReport) {
    println!(
        "{:<18} {:<16} {:>10} {:>10} {:>10} {:>6} {:>6}",
        "exchange", "symbol", "book", "trades", "ticker", "gaps", "snaps"
    );
    for (e, s, b, t, k, g, sn) in &r.markets {
        println!("{e:<18} {s:<16} {b:>10} {t:>10} {k:>10} {g:>6} {sn:>6}");
    }
}
