//! Issue 15, item 1: an error while writing, flushing, fsyncing or renaming a market's outputs
//! fails that market's commit before its checkpoint is written, the run exits non-zero naming
//! the file and the OS error, and a rerun completes the output exactly.
//!
//! Faults are injected in the `daedalus` child process through `DAEDALUS_FAULT` (the test build
//! enables `daedalus-sinks/fault-injection`), once per commit step, on a root whose day 1 is
//! committed and whose day 2 bronze was just added. A real full filesystem (a 20 MB tmpfs,
//! reproduction 1) runs where the test may mount one, and prints `SKIP` where it may not.

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use daedalus_sinks::manifest;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

/// Runs `daedalus args`, with `fault` as `DAEDALUS_FAULT` (none: cleared).
fn daedalus(args: &[&str], fault: Option<&str>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).arg("--quiet");
    match fault {
        Some(f) => c.env("DAEDALUS_FAULT", f),
        None => c.env_remove("DAEDALUS_FAULT"),
    };
    c.output().unwrap()
}

fn ok(args: &[&str]) {
    let out = daedalus(args, None);
    assert!(
        out.status.success(),
        "daedalus {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Copies the bronze files of `from` whose path contains one of `dates` (all: empty).
fn copy_bronze(from: &Path, to: &Path, dates: &[&str]) {
    for rel in daedalus_tests::files_under(from, &from.join("bronze")) {
        let r = rel.to_string_lossy();
        if dates.is_empty() || dates.iter().any(|d| r.contains(&format!("date={d}"))) {
            let q = to.join(&rel);
            std::fs::create_dir_all(q.parent().unwrap()).unwrap();
            std::fs::copy(from.join(&rel), q).unwrap();
        }
    }
}

/// Every visible Parquet file under `root/{silver,gold}`, concatenated per partition directory.
fn partitions(root: &Path) -> BTreeMap<String, RecordBatch> {
    let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for layer in ["silver", "gold"] {
        for rel in daedalus_tests::files_under(root, &root.join(layer)) {
            let name = rel.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".parquet") && !name.starts_with('.') {
                let d = rel.parent().unwrap().to_path_buf();
                dirs.entry(d).or_default().push(root.join(rel));
            }
        }
    }
    dirs.into_iter()
        .map(|(d, files)| {
            let batches: Vec<RecordBatch> = files
                .iter()
                .flat_map(|f| {
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
                        .unwrap()
                        .build()
                        .unwrap()
                        .map(|b| b.unwrap())
                })
                .collect();
            let b = concat_batches(&batches[0].schema(), &batches).unwrap();
            (d.display().to_string(), b)
        })
        .collect()
}

/// Every silver and gold table of `got` equals `expected`'s, row for row and column by column.
fn assert_same(expected: &Path, got: &Path) {
    let (x, y) = (partitions(expected), partitions(got));
    assert!(!x.is_empty(), "nothing written");
    assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
    for (k, b) in &x {
        assert_eq!(b.num_rows(), y[k].num_rows(), "{k}: row counts");
        for i in 0..b.num_columns() {
            let name = b.schema().field(i).name().clone();
            assert_eq!(
                b.column(i).to_data(),
                y[k].column(i).to_data(),
                "{k}: {name}"
            );
        }
    }
}

/// Path, bytes and mtime of every visible output and checkpoint file.
type Snapshot = BTreeMap<PathBuf, (Vec<u8>, SystemTime)>;

fn snapshot(root: &Path) -> Snapshot {
    ["silver", "gold", "_daedalus/markets"]
        .iter()
        .flat_map(|d| daedalus_tests::files_under(root, &root.join(d)))
        .filter(|rel| !rel.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|rel| {
            let p = root.join(&rel);
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (rel, (std::fs::read(&p).unwrap(), m))
        })
        .collect()
}

/// Committed outputs of every checkpoint: `(path, provisional)`.
fn listed(root: &Path) -> Vec<(PathBuf, bool)> {
    let state = root.join("_daedalus");
    let mut out = Vec::new();
    for (e, sy) in manifest::list_markets(&state).unwrap() {
        let cp = manifest::load(&state, &e, &sy).unwrap().unwrap();
        out.extend(
            cp.header
                .outputs
                .into_iter()
                .map(|o| (PathBuf::from(o.path), o.provisional)),
        );
    }
    out
}

/// Every file a checkpoint lists exists, visible or (committed, not yet renamed) staged.
fn assert_listed_exist(root: &Path) {
    for (rel, _) in listed(root) {
        let p = root.join(&rel);
        let staged = p.parent().unwrap().join(format!(
            ".{}.inprogress",
            p.file_name().unwrap().to_string_lossy()
        ));
        assert!(
            p.exists() || staged.exists(),
            "a checkpoint lists {} but it is not there",
            p.display()
        );
    }
}

fn assert_no_dot_files(root: &Path) {
    for d in ["silver", "gold", "_daedalus"] {
        for rel in daedalus_tests::files_under(root, &root.join(d)) {
            let n = rel.file_name().unwrap().to_string_lossy().to_string();
            assert!(!n.starts_with('.'), "staged file left: {}", rel.display());
        }
    }
}

/// A 2-day, 2-market synthetic bronze root and the outputs of an uninterrupted day-1 then
/// day-2 run on it.
struct Synthetic {
    src: tempfile::TempDir,
    expected: tempfile::TempDir,
}

const DAY1: &str = "2024-01-01";
const DAY2: &str = "2024-01-02";

fn synthetic() -> &'static Synthetic {
    static S: OnceLock<Synthetic> = OnceLock::new();
    S.get_or_init(|| {
        let src = tempfile::tempdir().unwrap();
        let r = s(src.path());
        ok(&[
            "gen",
            "--root",
            &r,
            "--events",
            "50000",
            "--days",
            "2",
            "--markets",
            "2",
        ]);
        let expected = tempfile::tempdir().unwrap();
        two_day_run(src.path(), expected.path(), &[DAY1], &[DAY2], None);
        Synthetic { src, expected }
    })
}

/// Runs day 1 of `src` on `root` (committed), adds day 2 and runs with `fault`.
fn two_day_run(src: &Path, root: &Path, d1: &[&str], d2: &[&str], fault: Option<&str>) -> Output {
    copy_bronze(src, root, d1);
    ok(&["run", "--root", &s(root)]);
    copy_bronze(src, root, d2);
    daedalus(&["run", "--root", &s(root)], fault)
}

/// Steps before the checkpoint's rename: a fault there leaves the root exactly as it was.
const BEFORE_COMMIT: &[&str] = &[
    "stage-write",
    "flush",
    "fsync",
    "checkpoint-write",
    "checkpoint-rename",
];

/// Injects `fault` into day 2's run on a root whose day 1 is committed; checks the failure and
/// what it left, then reruns without the fault and compares with `expected`.
fn fault_case(src: &Path, expected: &Path, d1: &[&str], d2: &[&str], fault: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_bronze(src, root, d1);
    ok(&["run", "--root", &s(root)]);
    let before = snapshot(root);
    let day1_committed: Vec<PathBuf> = listed(root)
        .into_iter()
        .filter(|(_, prov)| !prov)
        .map(|(p, _)| p)
        .collect();
    copy_bronze(src, root, d2);
    let out = daedalus(&["run", "--root", &s(root)], Some(fault));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{fault}: the run succeeded: {err}");
    // The hook prints the path it failed; the exit message names it and the OS error.
    let injected = err
        .lines()
        .find_map(|l| l.strip_prefix("fault injected: "))
        .unwrap_or_else(|| panic!("{fault}: nothing injected: {err}"));
    let path = injected.split(' ').nth(1).unwrap();
    let exit = err
        .split("run failed")
        .nth(1)
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        exit.contains(path),
        "{fault}: exit message does not name {path}: {err}"
    );
    assert!(
        exit.contains("No space left on device"),
        "{fault}: no OS error: {err}"
    );
    let after = snapshot(root);
    for rel in &day1_committed {
        assert_eq!(
            before.get(rel),
            after.get(rel),
            "{fault}: {} changed",
            rel.display()
        );
    }
    let step = fault.split([':', '@']).next().unwrap();
    if BEFORE_COMMIT.contains(&step) {
        assert!(
            before == after,
            "{fault}: the root changed before the commit point"
        );
        if !fault.contains("cleanup") {
            assert_no_dot_files(root);
        }
    }
    assert_listed_exist(root);
    ok(&["run", "--root", &s(root)]);
    assert_same(expected, root);
    assert_no_dot_files(root);
    assert_listed_exist(root);
}

fn synthetic_case(fault: &str) {
    let syn = synthetic();
    fault_case(syn.src.path(), syn.expected.path(), &[DAY1], &[DAY2], fault);
}

#[test]
fn issue_15_fault_at_stage_write() {
    synthetic_case("stage-write:3");
}

#[test]
fn issue_15_fault_at_flush() {
    synthetic_case("flush:2");
}

#[test]
fn issue_15_fault_at_fsync() {
    synthetic_case("fsync:2");
}

#[test]
fn issue_15_fault_at_rename() {
    synthetic_case("rename:2");
}

#[test]
fn issue_15_fault_at_dir_fsync() {
    synthetic_case("dir-fsync:1");
}

#[test]
fn issue_15_fault_at_checkpoint_write() {
    synthetic_case("checkpoint-write:1");
}

#[test]
fn issue_15_fault_at_checkpoint_rename() {
    synthetic_case("checkpoint-rename:1");
}

#[test]
fn issue_15_fault_at_cleanup_of_provisional_files() {
    synthetic_case("cleanup:1");
}

/// A failed write whose clean-up fails too leaves only dot-files, which the rerun removes.
#[test]
fn issue_15_fault_at_flush_with_failing_cleanup() {
    synthetic_case("flush:1,cleanup:all");
}

/// The real Binance recordings: 2024-08-08 committed, then 2024-08-09 added, with a fault at
/// the checkpoint's write, its rename and an output rename.
#[test]
fn issue_15_faults_on_real_binance() {
    let Some(files) = daedalus_tests::binance_file_args() else {
        println!("SKIP issue_15_faults_on_real_binance: ../shared/data/real is absent");
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let out = s(src.path());
    let mut a = vec!["ingest", "--format", "binance-raw", "--out", &out];
    a.extend(files.iter().map(String::as_str));
    ok(&a);
    let (d1, d2) = (["2024-08-08"], ["2024-08-09"]);
    let expected = tempfile::tempdir().unwrap();
    let o = two_day_run(src.path(), expected.path(), &d1, &d2, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for fault in [
        "checkpoint-write:1",
        "checkpoint-rename:1",
        "rename:5",
        "dir-fsync:1",
    ] {
        fault_case(src.path(), expected.path(), &d1, &d2, fault);
    }
}

/// Runs `cmd args`, true when it exits 0.
fn sh(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Reproduction 1 on a real full filesystem: a 20 MB tmpfs, day 1 committed, day 2 added; the
/// run fails, every checkpoint lists only files that exist, and after the filesystem grows a
/// rerun completes the output of an uninterrupted run on a roomy disk.
#[test]
fn issue_15_full_tmpfs_loses_nothing_committed() {
    let mnt = tempfile::tempdir().unwrap();
    let m = s(mnt.path());
    if !sh("mount", &["-t", "tmpfs", "-o", "size=20m", "tmpfs", &m]) {
        println!("SKIP issue_15_full_tmpfs_loses_nothing_committed: cannot mount a tmpfs here");
        return;
    }
    let res = std::panic::catch_unwind(|| full_tmpfs(mnt.path()));
    assert!(sh("umount", &[&m]), "umount {m}");
    if let Err(e) = res {
        std::panic::resume_unwind(e);
    }
}

fn full_tmpfs(mnt: &Path) {
    let src = tempfile::tempdir().unwrap();
    let r = s(src.path());
    ok(&[
        "gen",
        "--root",
        &r,
        "--events",
        "200000",
        "--days",
        "2",
        "--markets",
        "2",
    ]);
    let expected = tempfile::tempdir().unwrap();
    let o = two_day_run(src.path(), expected.path(), &[DAY1], &[DAY2], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = mnt.join("root");
    let out = two_day_run(src.path(), &root, &[DAY1], &[DAY2], None);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        println!("note: day 2 fitted in 20 MB; no ENOSPC to recover from");
    } else {
        assert!(err.contains("No space left on device"), "{err}");
    }
    assert_listed_exist(&root);
    assert!(
        sh("mount", &["-o", "remount,size=400m", &s(mnt)]),
        "remount"
    );
    ok(&["run", "--root", &s(&root)]);
    assert_same(expected.path(), &root);
    assert_no_dot_files(&root);
}
