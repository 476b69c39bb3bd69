//! `daedalus bench --ingest FILES`: ingest throughput on recordings (issue 14 item 8), as MB/s
//! of raw (decompressed) JSON and rows/s, for `-j 1` and `-j 2` in one call and for one call per
//! file (in the order of their first receive time). The three are interleaved per repetition
//! (A B C A B C ...) so each repetition's runs share the machine's state; every run ingests into
//! a fresh root under `--data`.

use super::{StageReport, Timings, reset_peak_rss};
use anyhow::Result;
use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest_jobs, raw_len};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One ingest run into a fresh root: `calls` ingest calls with `jobs` threads; returns rows.
fn run_once(data: &Path, calls: &[Vec<PathBuf>], jobs: usize) -> Result<(f64, u64)> {
    let root = data.join("ingest.run");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let t0 = Instant::now();
    let mut rows = 0;
    for c in calls {
        let r = ingest_jobs(
            InputFormat::BinanceRaw,
            c,
            &root,
            &IngestOptions::default(),
            jobs,
        )?;
        rows += r
            .markets
            .values()
            .map(|m| m.book_rows + m.trades + m.tickers)
            .sum::<u64>();
    }
    Ok((t0.elapsed().as_secs_f64(), rows))
}

/// The ingest stages over `files` (Binance raw), `repeat` interleaved repetitions.
pub(crate) fn ingest_stages(
    files: &[PathBuf],
    data: &Path,
    repeat: usize,
) -> Result<Vec<StageReport>> {
    std::fs::create_dir_all(data)?;
    let mut bytes = 0;
    for f in files {
        bytes += raw_len(f)?;
    }
    let mut dated: Vec<PathBuf> = files.to_vec();
    dated.sort_by_key(|p| (date_of(p), p.clone()));
    let one = vec![files.to_vec()];
    let per_file: Vec<Vec<PathBuf>> = dated.into_iter().map(|f| vec![f]).collect();
    let runs: [(&str, &[Vec<PathBuf>], usize); 3] = [
        ("ingest -j 1, one call", &one, 1),
        ("ingest -j 2, one call", &one, 2),
        ("ingest -j 1, per-file calls", &per_file, 1),
    ];
    let mut t: Vec<Timings> = (0..runs.len()).map(|_| Timings::default()).collect();
    let mut rows = 0;
    for _ in 0..repeat.max(1) {
        for (i, (_, calls, jobs)) in runs.iter().enumerate() {
            let reset = reset_peak_rss();
            let (secs, r) = run_once(data, calls, *jobs)?;
            rows = r;
            t[i].record(secs, reset);
        }
    }
    Ok(runs
        .iter()
        .zip(&t)
        .map(|((name, _, _), t)| t.report(name, rows, bytes))
        .collect())
}

/// The `YYYYMMDD` in a recording's file name (files sort by it, then by path).
fn date_of(p: &Path) -> String {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    name.and_then(|n| {
        n.split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 8)
            .map(str::to_string)
    })
    .unwrap_or_default()
}
