//! `daedalus bench`: throughput of the one pipeline on a synthetic bronze root, with the I/O
//! ceiling of this machine measured in the same invocation.
//!
//! Stages (each repeated `--repeat` times; best and median reported):
//!
//! | stage | what is timed |
//! |---|---|
//! | `parquet_decode` | bare Parquet → Arrow `RecordBatch` of every bronze file the run reads (reference) |
//! | `decode` | the same files through the sources crate's reader (`BronzeFileReader` + `decode_batch`: value checks, columnar chunks) |
//! | `pipeline` | the run end to end: [`graph::plan`] + [`graph::execute`], the one graph builder |
//! | `order_state_features` | `pipeline − decode − encode` (derived: the stages overlap in one graph and are not instrumented separately) |
//! | `ingest -j 1/-j 2, one call; -j 1 per-file calls` | with `--ingest FILES` only: `daedalus ingest` of Binance recordings ([`ingest`]); MB/s of raw JSON |
//! | `parquet_encode` | bare re-encode of the run's output files with the sinks' writer and settings (`AtomicParquetFile`, [`WriteOptions`]): the reading side is not timed (reference) |
//!
//! The **I/O ceiling** is `parquet_decode + parquet_encode` (best times): what a job that only
//! reads the bronze and writes output of the same size would take. The pipeline is reported as a
//! percentage of it (`ceiling / pipeline`). Decode and encode references run on `-w` threads,
//! files assigned round-robin (the executor instead routes whole markets to workers, balanced by
//! bronze bytes; the references only need the same thread count).
//!
//! Data: the bronze root is generated once per `(events, markets, days, seed)` under `--data`
//! (default `target/bench-data`) and reused; the pipeline writes into a sibling run root whose
//! `bronze` is a symlink to it, cleared before every repetition. Peak RSS per stage is the
//! process's `VmHWM`, reset before each stage through `/proc/self/clear_refs`.

pub(crate) mod ingest;

use crate::metrics::{Metrics, MetricsObserver};
use anyhow::{Context, Result, bail};
use daedalus_dataflow::{ClusterConfig, ExecOptions, RunConfig, plan, plan_with};
use daedalus_model::rows::Dataset;
use daedalus_sinks::atomic::{AtomicParquetFile, WriteOptions};
use daedalus_sources::bronze::{
    BookTimeCarry, BronzeFileReader, OrderClock, date_lower_bound, decode_batch,
};
use daedalus_sources::synthetic::{GenConfig, generate};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// One timed stage.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageReport {
    /// Stage name.
    pub stage: String,
    /// Best wall time over the repetitions, seconds.
    pub seconds_best: f64,
    /// Median wall time, seconds.
    pub seconds_median: f64,
    /// Bronze rows (events) the stage covers.
    pub events: u64,
    /// Bytes the stage covers (bronze file bytes for decode stages, output file bytes for encode).
    pub bytes: u64,
    /// `events / seconds_best`.
    pub events_per_s: f64,
    /// `bytes / seconds_best`.
    pub bytes_per_s: f64,
    /// Peak RSS during the stage (max over repetitions), bytes; `None` if not measurable.
    pub peak_rss_bytes: Option<u64>,
}

/// The machine.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MachineInfo {
    /// Logical CPUs.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal` from `/proc/meminfo`, bytes.
    pub mem_total_bytes: Option<u64>,
}

/// Everything `daedalus bench` measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchReport {
    /// Run parameters as resolved (outputs, bars, intervals, VPIN ...).
    pub config: RunConfig,
    /// Generator parameters (`None` with `--root`).
    pub generator: Option<GenConfig>,
    /// Bronze root read.
    pub bronze_root: PathBuf,
    /// Run root written.
    pub run_root: PathBuf,
    /// Worker threads.
    pub workers: usize,
    /// Repetitions.
    pub repeat: usize,
    /// Bronze rows read per dataset (book, ticker, trades).
    pub bronze_rows: [u64; 3],
    /// Bronze files the run reads.
    pub bronze_files: u64,
    /// Bronze bytes the run reads.
    pub bronze_bytes: u64,
    /// Rows written per output dataset.
    pub output_rows: BTreeMap<String, u64>,
    /// Output files written.
    pub output_files: u64,
    /// Output bytes written.
    pub output_bytes: u64,
    /// Stages.
    pub stages: Vec<StageReport>,
    /// `parquet_decode + parquet_encode` best seconds.
    pub ceiling_seconds: Option<f64>,
    /// `100 * ceiling_seconds / pipeline best seconds`.
    pub pipeline_pct_of_ceiling: Option<f64>,
    /// The machine.
    pub machine: MachineInfo,
}

fn proc_status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Resets the peak RSS counter (`VmHWM`); false if the kernel does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Current peak RSS in bytes.
fn peak_rss_bytes() -> Option<u64> {
    proc_status_kb("VmHWM:").map(|k| k * 1024)
}

fn machine_info() -> MachineInfo {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_total_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|k| k * 1024)
    });
    MachineInfo {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        mem_total_bytes,
    }
}

/// Generated bronze for `cfg` under `data`, reused when a previous generation completed.
fn cached_bronze(data: &Path, cfg: &GenConfig) -> Result<PathBuf> {
    let key = format!(
        "gen-e{}-m{}-d{}-s{}",
        cfg.events, cfg.markets, cfg.days, cfg.seed
    );
    let root = data.join(&key);
    let marker = root.join(".complete");
    if marker.exists() {
        tracing::info!("bench: reusing {}", root.display());
        return Ok(root);
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    std::fs::create_dir_all(&root)?;
    let t0 = Instant::now();
    let r = generate(cfg, &root)?;
    tracing::info!(
        "bench: generated {} events into {} in {:.2}s",
        r.events,
        root.display(),
        t0.elapsed().as_secs_f64()
    );
    std::fs::write(&marker, serde_json::to_string_pretty(cfg)?)?;
    Ok(root)
}

/// A run root under `data` whose `bronze` is a symlink to `bronze_root/bronze`.
fn run_root(data: &Path, bronze_root: &Path) -> Result<PathBuf> {
    let name = bronze_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    let run = data.join(format!("{name}.run"));
    std::fs::create_dir_all(&run)?;
    let link = run.join("bronze");
    let target = std::fs::canonicalize(bronze_root.join("bronze"))
        .with_context(|| format!("{} has no bronze/", bronze_root.display()))?;
    if std::fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(run)
}

/// Removes the previous repetition's outputs and run state (checkpoints would make a rerun a
/// no-op), so every repetition does the whole job.
fn clear_outputs(run: &Path) -> Result<()> {
    for d in ["silver", "gold", "_daedalus"] {
        let p = run.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).with_context(|| format!("clearing {}", p.display()))?;
        }
    }
    Ok(())
}

fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            parquet_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    Ok(())
}

fn file_bytes(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Runs `f` over `items` on `threads` threads, items assigned round-robin; returns the results.
fn par_round_robin<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[&T]) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = threads.max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&T> = items
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % threads == t)
                    .map(|(_, x)| x)
                    .collect();
                let f = &f;
                s.spawn(move || f(&mine))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("bench thread panicked"))?
            })
            .collect()
    })
}

/// A bronze file with its dataset and partition date.
struct BronzeFile {
    path: PathBuf,
    dataset: Dataset,
    lower_bound: i64,
}

/// Bare Parquet decode of every file: rows decoded.
fn stage_parquet_decode(files: &[BronzeFile], threads: usize) -> Result<u64> {
    let per = par_round_robin(files, threads, |mine| {
        let mut rows = 0u64;
        for f in mine {
            let file = std::fs::File::open(&f.path)?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
                .with_batch_size(16 * 1024)
                .build()?;
            for b in reader {
                rows += b?.num_rows() as u64;
            }
        }
        Ok(rows)
    })?;
    Ok(per.into_iter().sum())
}

/// The sources crate's reader: open, read every row group, decode and check into chunks, with
/// the run's projection (`trade_id` only when `silver/trades` is an output) and batch size.
fn stage_decode(
    files: &[BronzeFile],
    threads: usize,
    clock: OrderClock,
    trade_ids: bool,
) -> Result<u64> {
    let per = par_round_robin(files, threads, |mine| {
        let mut rows = 0u64;
        for f in mine {
            let mut r = BronzeFileReader::open(&f.path, f.dataset, clock, f.lower_bound)?;
            if !trade_ids {
                r.skip_trade_ids();
            }
            let mut carry = BookTimeCarry::default();
            let mut first = 0u64;
            for gi in 0..r.groups().len() {
                for b in r.read_group(gi, daedalus_dataflow::DECODE_BATCH_ROWS)? {
                    let d = decode_batch(f.dataset, &b, r.path(), first, clock, &mut carry)?;
                    first += b.num_rows() as u64;
                    rows += d.len() as u64;
                }
            }
        }
        Ok(rows)
    })?;
    Ok(per.into_iter().sum())
}

/// Re-encodes every output file with the sinks' writer; only the encoding side is timed.
/// Returns the summed encode seconds over threads' wall time (max over threads).
fn stage_parquet_encode(files: &[PathBuf], threads: usize, opts: &WriteOptions) -> Result<f64> {
    let scratch =
        std::env::temp_dir().join(format!("daedalus-bench-encode-{}", std::process::id()));
    let per = par_round_robin(files, threads, |mine| {
        let mut secs = 0.0;
        for (i, path) in mine.iter().enumerate() {
            let file = std::fs::File::open(path)?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
                .with_batch_size(8 * 1024)
                .build()?;
            let dir = scratch.clone();
            let name = format!("part-{i:05}-{:x}.parquet", path_hash(path));
            let mut w: Option<AtomicParquetFile> = None;
            for b in reader {
                let b = b?;
                let t = Instant::now();
                if w.is_none() {
                    w = Some(AtomicParquetFile::create(&dir, &name, b.schema(), opts)?);
                }
                w.as_mut().expect("set").write(&b)?;
                secs += t.elapsed().as_secs_f64();
            }
            if let Some(w) = w {
                let t = Instant::now();
                let p = w.commit()?;
                secs += t.elapsed().as_secs_f64();
                std::fs::remove_file(p)?;
            }
        }
        Ok(secs)
    });
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(per?.into_iter().fold(0.0, f64::max))
}

/// FNV-1a of a path: distinct scratch names for files of the same index on different threads.
fn path_hash(p: &Path) -> u64 {
    p.to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

/// Timing of one stage over the repetitions.
#[derive(Default)]
struct Timings {
    secs: Vec<f64>,
    peak: Option<u64>,
}

impl Timings {
    fn record(&mut self, secs: f64, reset_ok: bool) {
        self.secs.push(secs);
        if reset_ok {
            self.peak = self.peak.max(peak_rss_bytes());
        }
    }
    fn best(&self) -> f64 {
        self.secs.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        let mut v = self.secs.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
    fn report(&self, stage: &str, events: u64, bytes: u64) -> StageReport {
        let b = self.best();
        StageReport {
            stage: stage.into(),
            seconds_best: b,
            seconds_median: self.median(),
            events,
            bytes,
            events_per_s: events as f64 / b,
            bytes_per_s: bytes as f64 / b,
            peak_rss_bytes: self.peak,
        }
    }
}

/// What to benchmark (from `daedalus bench`'s flags).
#[derive(Debug, Clone)]
pub(crate) struct BenchOptions {
    /// The synthetic bronze to generate (unless `root` is given).
    pub generator: GenConfig,
    /// Cache directory for generated bronze and run outputs.
    pub data: PathBuf,
    /// An existing root whose bronze is read instead of a generated one.
    pub root: Option<PathBuf>,
    /// Repetitions of every stage.
    pub repeat: usize,
    /// Worker threads (and threads of the references).
    pub workers: usize,
    /// Skip the decode and encode reference stages.
    pub pipeline_only: bool,
    /// The run's parameters.
    pub config: RunConfig,
}

/// The timings of every stage over the repetitions.
#[derive(Default)]
struct StageTimings {
    parquet_decode: Timings,
    decode: Timings,
    pipeline: Timings,
    parquet_encode: Timings,
}

/// What the repetitions produced besides timings.
struct Outcome {
    summary: daedalus_dataflow::WorkerSummary,
    bronze_rows_decoded: u64,
    out_files: Vec<PathBuf>,
}

/// The bronze root to read (cached generated bronze, or `--root`), its generator, and the run
/// root the pipeline writes.
fn roots(a: &BenchOptions) -> Result<(PathBuf, Option<GenConfig>, PathBuf)> {
    std::fs::create_dir_all(&a.data)
        .with_context(|| format!("creating --data {}", a.data.display()))?;
    let (bronze_root, generator) = match &a.root {
        Some(r) => (r.clone(), None),
        None => (
            cached_bronze(&a.data, &a.generator)?,
            Some(a.generator.clone()),
        ),
    };
    let run = run_root(&a.data, &bronze_root)?;
    Ok((bronze_root, generator, run))
}

/// The files the run reads: from the plan itself, so the references cover the same bronze.
fn planned_files(run: &Path, config: &RunConfig, clock: OrderClock) -> Result<Vec<BronzeFile>> {
    let p0 = plan(run.to_path_buf(), config.clone())?;
    Ok(p0
        .partitions
        .iter()
        .flat_map(|ap| {
            let lb = date_lower_bound(ap.partition.date, clock);
            ap.partition.files.iter().map(move |f| BronzeFile {
                path: f.clone(),
                dataset: ap.partition.dataset,
                lower_bound: lb,
            })
        })
        .collect())
}

/// Runs every repetition: the decode references, the pipeline, the encode reference.
fn measure(
    a: &BenchOptions,
    run: &Path,
    config: &RunConfig,
    files: &[BronzeFile],
    cluster: &ClusterConfig,
    reset_ok: bool,
) -> Result<(StageTimings, Outcome)> {
    let clock = clock_of(config);
    let repeat = a.repeat.max(1);
    let mut t = StageTimings::default();
    let mut bronze_rows_decoded = 0;
    let mut summary = None;
    let write_opts = WriteOptions {
        metadata: config.metadata(),
        ..WriteOptions::default()
    };
    let mut out_files = Vec::new();
    for rep in 0..repeat {
        if !a.pipeline_only {
            reset_peak_rss();
            let t0 = Instant::now();
            let n = stage_parquet_decode(files, cluster.workers)?;
            t.parquet_decode
                .record(t0.elapsed().as_secs_f64(), reset_ok);
            bronze_rows_decoded = n;
            reset_peak_rss();
            let t0 = Instant::now();
            let n2 = stage_decode(files, cluster.workers, clock, config.reads_trade_ids())?;
            t.decode.record(t0.elapsed().as_secs_f64(), reset_ok);
            if n2 != n {
                bail!("bench: sources reader decoded {n2} rows, bare Parquet {n}");
            }
        }
        clear_outputs(run)?;
        reset_peak_rss();
        let t0 = Instant::now();
        let s = stage_pipeline(run, config, cluster)?;
        t.pipeline.record(t0.elapsed().as_secs_f64(), reset_ok);
        tracing::info!(
            "bench: repetition {}/{}: pipeline {:.2}s",
            rep + 1,
            repeat,
            t.pipeline.secs.last().copied().unwrap_or_default()
        );
        out_files.clear();
        parquet_files(&run.join("silver"), &mut out_files)?;
        parquet_files(&run.join("gold"), &mut out_files)?;
        if !a.pipeline_only {
            reset_peak_rss();
            let secs = stage_parquet_encode(&out_files, cluster.workers, &write_opts)?;
            t.parquet_encode.record(secs, reset_ok);
        }
        summary = Some(s);
    }
    let outcome = Outcome {
        summary: summary.expect("at least one repetition"),
        bronze_rows_decoded,
        out_files,
    };
    Ok((t, outcome))
}

/// The run end to end: plan and execute, as `daedalus run` does.
fn stage_pipeline(
    run: &Path,
    config: &RunConfig,
    cluster: &ClusterConfig,
) -> Result<daedalus_dataflow::WorkerSummary> {
    let observer = Arc::new(MetricsObserver::new(Arc::new(Metrics::default())));
    let exec = ExecOptions {
        observer: observer.clone(),
        ..ExecOptions::default()
    };
    let p = plan_with(run.to_path_buf(), config.clone(), exec)?;
    crate::runner::execute_with_progress(p, cluster, observer)
}

/// The stage reports, with the derived `order_state_features` stage.
fn stage_reports(
    a: &BenchOptions,
    t: &StageTimings,
    events: u64,
    bronze_bytes: u64,
    output_bytes: u64,
) -> Vec<StageReport> {
    let mut stages = Vec::new();
    if !a.pipeline_only {
        stages.push(
            t.parquet_decode
                .report("parquet_decode", events, bronze_bytes),
        );
        stages.push(t.decode.report("decode", events, bronze_bytes));
        // Derived: pipeline minus the decode and encode stages, per repetition.
        let mut t_feat = Timings::default();
        for i in 0..t.pipeline.secs.len() {
            t_feat
                .secs
                .push((t.pipeline.secs[i] - t.decode.secs[i] - t.parquet_encode.secs[i]).max(1e-9));
        }
        stages.push(t_feat.report("order_state_features", events, 0));
        stages.push(
            t.parquet_encode
                .report("parquet_encode", events, output_bytes),
        );
    }
    stages.push(
        t.pipeline
            .report("pipeline", events, bronze_bytes + output_bytes),
    );
    stages
}

fn clock_of(config: &RunConfig) -> OrderClock {
    match config.clock {
        daedalus_dataflow::Clock::Event => OrderClock::Event,
        daedalus_dataflow::Clock::Receive => OrderClock::Receive,
    }
}

/// Runs the benchmark.
pub(crate) fn run_bench(a: &BenchOptions) -> Result<BenchReport> {
    let mut config = a.config.clone();
    let (bronze_root, generator, run) = roots(a)?;
    // VPIN bucket volume per market like `demo`: about 50 buckets a day at its traded volume.
    if config.vpin_v.is_empty() {
        for (m, v) in crate::runner::daily_volume_per_market(&run)? {
            config.vpin_v.insert(m, v / 50.0);
        }
    }
    let cluster = ClusterConfig {
        workers: a.workers.max(1),
        processes: 1,
        process: 0,
        addresses: Vec::new(),
    };
    let files = planned_files(&run, &config, clock_of(&config))?;
    let bronze_paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let bronze_bytes = file_bytes(&bronze_paths);
    let reset_ok = reset_peak_rss();
    if !reset_ok {
        tracing::warn!("bench: cannot reset VmHWM; peak RSS per stage is not reported");
    }
    let (t, o) = measure(a, &run, &config, &files, &cluster, reset_ok)?;
    let s = o.summary;
    let events: u64 = s.rows_in.iter().sum();
    if !a.pipeline_only && o.bronze_rows_decoded != events {
        tracing::warn!(
            "bench: decoded {} rows, the run read {events}",
            o.bronze_rows_decoded
        );
    }
    let output_bytes = file_bytes(&o.out_files);
    let stages = stage_reports(a, &t, events, bronze_bytes, output_bytes);
    let (ceiling_seconds, pct) = if a.pipeline_only {
        (None, None)
    } else {
        let c = t.parquet_decode.best() + t.parquet_encode.best();
        (Some(c), Some(100.0 * c / t.pipeline.best()))
    };
    Ok(BenchReport {
        config,
        generator,
        bronze_root,
        run_root: run,
        workers: cluster.workers,
        repeat: a.repeat.max(1),
        bronze_rows: s.rows_in,
        bronze_files: files.len() as u64,
        bronze_bytes,
        output_rows: s.rows_out,
        output_files: o.out_files.len() as u64,
        output_bytes,
        stages,
        ceiling_seconds,
        pipeline_pct_of_ceiling: pct,
        machine: machine_info(),
    })
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

/// Prints the report as a table.
pub(crate) fn print_report(r: &BenchReport) {
    let outs: Vec<&str> = r.config.outputs.iter().map(|o| o.name()).collect();
    println!(
        "daedalus bench: {} worker(s), {} repetition(s), outputs {}, bars {}, on {} ({} CPU, {})",
        r.workers,
        r.repeat,
        outs.join(","),
        r.config.bar.join(","),
        r.machine.cpu_model,
        r.machine.nproc,
        r.bronze_root.display()
    );
    println!(
        "bronze: {} rows (book {}, ticker {}, trades {}) in {} file(s), {:.1} MB; output: {} row(s) in {} file(s), {:.1} MB",
        r.bronze_rows.iter().sum::<u64>(),
        r.bronze_rows[0],
        r.bronze_rows[1],
        r.bronze_rows[2],
        r.bronze_files,
        mb(r.bronze_bytes),
        r.output_rows.values().sum::<u64>(),
        r.output_files,
        mb(r.output_bytes)
    );
    println!(
        "{:<22} {:>9} {:>9} {:>13} {:>10} {:>10}",
        "stage", "best s", "median s", "events/s", "MB/s", "peak RSS"
    );
    for s in &r.stages {
        println!(
            "{:<22} {:>9.3} {:>9.3} {:>13.0} {:>10.1} {:>10}",
            s.stage,
            s.seconds_best,
            s.seconds_median,
            s.events_per_s,
            s.bytes_per_s / 1e6,
            s.peak_rss_bytes
                .map_or("-".to_string(), |b| format!("{:.0} MB", mb(b)))
        );
    }
    if let (Some(c), Some(p)) = (r.ceiling_seconds, r.pipeline_pct_of_ceiling) {
        println!(
            "I/O ceiling (parquet_decode + parquet_encode): {c:.3}s; pipeline at {p:.1}% of the ceiling"
        );
    }
}
