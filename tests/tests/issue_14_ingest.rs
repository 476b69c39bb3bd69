//! Issue 14 acceptance on the real Binance recordings (skips when `../shared` is absent): bronze
//! is a function of the set of inputs. The ten files ingested one call per file in date order,
//! in reverse order, in a random grouping and in one call give the same bronze files and rows,
//! and `run` gives the same silver and gold on each root; the continuation file keeps its book
//! rows; a rerun of a completed call writes nothing.

use daedalus_dataflow::config::RunConfig;
use daedalus_dataflow::{ClusterConfig, execute, plan};
use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use daedalus_tests::{assert_same_outputs, binance_files, read_partitions, skip};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const OUTPUTS: [&str; 5] = [
    "silver/book",
    "silver/ticker",
    "silver/trades",
    "silver/intervals",
    "gold/bars",
];

fn ingest_calls(calls: &[Vec<PathBuf>]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    // Reversed and random orders ingest a day before its predecessor: unsynced until the
    // predecessor arrives and re-applies it, the scenario under test, so allowed (issue 16).
    let opts = IngestOptions {
        allow_unsynced: true,
        ..IngestOptions::default()
    };
    for c in calls {
        ingest(InputFormat::BinanceRaw, c, d.path(), &opts).unwrap();
    }
    d
}

fn run(root: &Path) {
    let c = RunConfig {
        vpin_n: 10,
        ..RunConfig::default()
    };
    let cluster = ClusterConfig {
        workers: 1,
        processes: 1,
        process: 0,
        addresses: vec![],
    };
    let s = execute(plan(root.to_path_buf(), c).unwrap(), &cluster).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

/// Every file under `root` with its modification time.
fn files_and_mtimes(root: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), e.metadata().unwrap().modified().unwrap());
            }
        }
    }
    out
}

fn bronze_names(root: &Path) -> Vec<PathBuf> {
    let all = files_and_mtimes(&root.join("bronze"));
    all.into_keys()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect()
}

/// The files in date order (date suffix, then name).
fn date_order(mut files: Vec<PathBuf>) -> Vec<PathBuf> {
    let key = |p: &PathBuf| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let date = n.rsplit('_').next().unwrap_or("").to_string();
        (date, n)
    };
    files.sort_by_key(key);
    files
}

/// A fixed-seed random grouping of `files` (shuffled, then cut into calls of 1 to 4 files).
fn random_grouping(files: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    let mut v = files.to_vec();
    let mut s: u64 = 0x5eed_1414;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as usize
    };
    for i in (1..v.len()).rev() {
        v.swap(i, next() % (i + 1));
    }
    let mut out = Vec::new();
    while !v.is_empty() {
        let n = (1 + next() % 4).min(v.len());
        out.push(v.drain(..n).collect());
    }
    out
}

fn spot_btc_0809(root: &Path) -> (usize, usize) {
    let b = read_partitions(root, "bronze");
    let rows = |ds: &str| {
        b[&format!("bronze/{ds}/exchange=binance/symbol=BTC-USDT/date=2024-08-09")].num_rows()
    };
    (rows("book"), rows("trades"))
}

#[test]
fn issue_14_grouping_and_order_do_not_change_bronze_or_outputs() {
    let Some(files) = binance_files() else {
        return skip(
            "issue_14_grouping_and_order",
            "../shared/data/real not found",
        );
    };
    let ordered = date_order(files.clone());
    let one_call = ingest_calls(std::slice::from_ref(&files));
    let per_file: Vec<Vec<PathBuf>> = ordered.iter().map(|f| vec![f.clone()]).collect();
    let reversed: Vec<Vec<PathBuf>> = per_file.iter().rev().cloned().collect();
    let roots = [
        ingest_calls(&per_file),
        ingest_calls(&reversed),
        ingest_calls(&random_grouping(&files)),
    ];
    assert_eq!(spot_btc_0809(one_call.path()), (174_271, 10_166));
    run(one_call.path());
    for r in &roots {
        assert_eq!(bronze_names(r.path()), bronze_names(one_call.path()));
        assert_same_outputs(one_call.path(), r.path(), &["bronze"]);
        assert_eq!(spot_btc_0809(r.path()), (174_271, 10_166));
        run(r.path());
        assert_same_outputs(one_call.path(), r.path(), &OUTPUTS);
    }
}

#[test]
fn issue_14_rerun_of_a_completed_call_writes_nothing() {
    let Some(files) = binance_files() else {
        return skip("issue_14_rerun", "../shared/data/real not found");
    };
    let files = &files[..2];
    let root = ingest_calls(&[files.to_vec()]);
    let before = files_and_mtimes(root.path());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = ingest(
        InputFormat::BinanceRaw,
        files,
        root.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(r.unchanged.len(), 2);
    assert!(r.files.is_empty());
    assert_eq!(files_and_mtimes(root.path()), before);
}
