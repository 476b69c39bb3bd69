//! `daedalus`: the command-line tool. See `daedalus --help` and README.md.

use anyhow::{Context, Result, bail};
use clap::Parser;
use daedalus_dataflow::cli::{Cli, ClusterArgs, Command, DemoArgs, GenArgs, IngestArgs, RunArgs};
use daedalus_dataflow::cli::{ModeArgs, parse_wall};
use daedalus_dataflow::config::RunConfig;
use daedalus_dataflow::graph::{
    ClusterConfig, ExecOptions, LatePolicy, WatchOptions, execute, plan_with,
};
use daedalus_dataflow::summary::WorkerSummary;
use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use daedalus_sources::synthetic::{GenConfig, generate};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let cli = Cli::parse();
    daedalus_dataflow::logging::init(&cli.log, cli.log_format, cli.quiet);
    let res = match cli.command {
        Command::Ingest(a) => cmd_ingest(&a),
        Command::Gen(a) => cmd_gen(&a),
        Command::Run(a) => cmd_run(&a),
        Command::Demo(a) => cmd_demo(&a),
        Command::Inspect(a) => daedalus_dataflow::inspect_cmd::cmd_inspect(&a),
        Command::Report(a) => daedalus_dataflow::report::cmd_report(&a),
        Command::Bench(a) => daedalus_dataflow::bench::cmd_bench(&a),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_ingest(a: &IngestArgs) -> Result<()> {
    let format = match a.format.as_str() {
        "binance-raw" => InputFormat::BinanceRaw,
        "tardis-csv" => InputFormat::TardisCsv,
        other => bail!("unknown --format {other}"),
    };
    let t0 = Instant::now();
    let metrics = std::sync::Arc::new(daedalus_dataflow::metrics::Metrics::default());
    if let Some(addr) = &a.metrics {
        daedalus_dataflow::metrics::serve(
            daedalus_dataflow::metrics::parse_addr(addr)?,
            metrics.clone(),
        )?;
    }
    let progress = daedalus_dataflow::progress::Progress::start_with("input lines read", || {
        daedalus_sources::ingest::LINES_READ.load(std::sync::atomic::Ordering::Relaxed)
    });
    let report = ingest(
        format,
        &a.inputs,
        &a.out,
        &IngestOptions { lenient: a.lenient },
    );
    progress.finish();
    let report = report?;
    // Ingest is one call: its metrics are published when it returns (rows written per dataset
    // and market, files read, lenient skips), and served until the process exits.
    metrics.files_read.inc_by(a.inputs.len() as u64);
    for (m, c) in &report.markets {
        for (ds, n) in [
            ("book", c.book_rows),
            ("trades", c.trades),
            ("ticker", c.tickers),
        ] {
            metrics
                .rows_out
                .get_or_create(&daedalus_dataflow::metrics::dm(ds, m))
                .inc_by(n);
        }
        metrics
            .quality
            .get_or_create(&vec![
                ("market".to_string(), m.clone()),
                ("counter".to_string(), "gaps".to_string()),
            ])
            .set(c.gaps as i64);
    }
    metrics
        .files_quarantined
        .inc_by(report.skipped.values().sum::<u64>() + report.truncated_files.len() as u64);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
        println!(
            "ingested {} file(s) into {} in {:.2}s",
            a.inputs.len(),
            a.out.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn gen_config(a: &GenArgs) -> GenConfig {
    GenConfig {
        seed: a.seed,
        events: a.events,
        markets: a.markets,
        days: a.days,
        ..GenConfig::default()
    }
}

fn cmd_gen(a: &GenArgs) -> Result<()> {
    let t0 = Instant::now();
    let progress =
        daedalus_dataflow::progress::Progress::start_with("bronze rows generated", || {
            daedalus_sources::synthetic::EVENTS_GENERATED.load(std::sync::atomic::Ordering::Relaxed)
        });
    let report = generate(&gen_config(a), &a.out);
    progress.finish();
    let report = report?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_gen(&report);
        println!(
            "generated {} events into {} in {:.2}s",
            report.events,
            a.out.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn print_gen(r: &daedalus_sources::synthetic::GenReport) {
    println!(
        "{:<18} {:<16} {:>10} {:>10} {:>10} {:>6} {:>6}",
        "exchange", "symbol", "book", "trades", "ticker", "gaps", "snaps"
    );
    for (e, s, b, t, k, g, sn) in &r.markets {
        println!("{e:<18} {s:<16} {b:>10} {t:>10} {k:>10} {g:>6} {sn:>6}");
    }
}

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

fn run_pipeline(root: &Path, config: RunConfig, cl: &ClusterConfig) -> Result<WorkerSummary> {
    run_pipeline_with(root, config, ExecOptions::default(), cl)
}

fn exec_options(m: &ModeArgs) -> Result<ExecOptions> {
    let checkpoint_every = if m.checkpoint_every == "0" {
        0
    } else {
        daedalus_dataflow::config::parse_duration(&m.checkpoint_every)
            .context("--checkpoint-every")?
    };
    Ok(ExecOptions {
        state_dir: m.state_dir.clone(),
        checkpoint_every,
        watch: m
            .watch
            .then(|| -> Result<WatchOptions> {
                Ok(WatchOptions {
                    poll: parse_wall(&m.poll).context("--poll")?,
                    settle: parse_wall(&m.settle).context("--settle")?,
                    idle: parse_wall(&m.idle_timeout).context("--idle-timeout")?,
                    delay: m
                        .watermark_delay
                        .as_deref()
                        .map(|d| parse_wall(d).context("--watermark-delay"))
                        .transpose()?,
                })
            })
            .transpose()?,
        on_late: if m.on_late == "fail" {
            LatePolicy::Fail
        } else {
            LatePolicy::Record
        },
        rebuild: m.rebuild,
        metrics: {
            let metrics = std::sync::Arc::new(daedalus_dataflow::metrics::Metrics::default());
            if let Some(a) = &m.metrics {
                daedalus_dataflow::metrics::serve(
                    daedalus_dataflow::metrics::parse_addr(a)?,
                    metrics.clone(),
                )?;
            }
            metrics
        },
    })
}

fn run_pipeline_with(
    root: &Path,
    config: RunConfig,
    exec: ExecOptions,
    cl: &ClusterConfig,
) -> Result<WorkerSummary> {
    let t0 = Instant::now();
    let watch = exec.watch.is_some();
    let p = plan_with(root.to_path_buf(), config, exec)?;
    if watch {
        tracing::info!(
            "watching {} for new bronze files (SIGINT/SIGTERM: checkpoint and stop)",
            root.join("bronze").display()
        );
    }
    tracing::info!(
        "run: {} market(s), {} bronze partition(s), {} worker(s) x {} process(es)",
        p.markets.len(),
        p.partitions.len(),
        cl.workers,
        cl.processes
    );
    let s = execute(p, cl)?;
    if !s.errors.is_empty() {
        bail!(
            "run failed ({} error(s)); nothing from the failed partitions was committed:\n  {}",
            s.errors.len(),
            s.errors.join("\n  ")
        );
    }
    tracing::info!("run finished in {:.2}s", t0.elapsed().as_secs_f64());
    Ok(s)
}

fn print_summary(s: &WorkerSummary, root: &Path) {
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

fn cmd_run(a: &RunArgs) -> Result<()> {
    let config = a.params.resolve()?;
    let cl = cluster(&a.cluster)?;
    let s = run_pipeline_with(&a.root, config, exec_options(&a.mode)?, &cl)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print_summary(&s, &a.root);
    }
    Ok(())
}

/// Average daily traded volume per market (`exchange/symbol`) in a root's bronze trades.
fn daily_volume_per_market(root: &Path) -> Result<std::collections::BTreeMap<String, f64>> {
    use daedalus_model::rows::Dataset;
    use daedalus_sources::bronze::discover;
    let mut vol: std::collections::BTreeMap<String, (f64, std::collections::BTreeSet<String>)> =
        Default::default();
    for p in discover(root, &[Dataset::Trades], |_, _, _| true)? {
        let e = vol
            .entry(format!("{}/{}", p.exchange, p.symbol))
            .or_default();
        e.1.insert(p.date.to_string());
        e.0 += daedalus_sources::bronze::partition_traded_volume(&p)?;
    }
    Ok(vol
        .into_iter()
        .filter(|(_, (v, _))| *v > 0.0)
        .map(|(m, (v, d))| (m, v / d.len() as f64))
        .collect())
}

fn cmd_demo(a: &DemoArgs) -> Result<()> {
    let t0 = Instant::now();
    let out = &a.out;
    if out.exists() {
        let marker = out.join(".daedalus-demo");
        if !marker.exists() {
            bail!(
                "{} exists and is not a previous demo root; choose another --out",
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
    println!(
        "1/2 generating a synthetic market ({} events) into {}",
        a.events,
        out.display()
    );
    let g = GenArgs {
        out: out.clone(),
        seed: 42,
        events: a.events,
        markets: 4,
        days: 1,
        json: false,
    };
    let report = generate(&gen_config(&g), out)?;
    print_gen(&report);
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
    let s = run_pipeline(out, config, &cl)?;
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
