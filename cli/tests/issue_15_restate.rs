//! Issue 15, items 3 and 5 (and issue 14, item 6): recompute, then replace.
//!
//! `--rebuild` and `--restate` compute into a shadow and switch each market over in one commit
//! (a swap journal); a failure before that leaves every previous output and checkpoint as it was
//! (bytes and mtimes), a failure after it is rolled forward by the next run. Late, replaced and
//! removed bronze is restated from the checkpoint history, and the result equals one batch run
//! over the bronze as it is now, while outputs outside the affected market and days keep their
//! mtimes.

use daedalus_tests::{assert_same_outputs, copy_tree, files_under};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");
const LAYERS: &[&str] = &["silver", "gold"];

fn daedalus(args: &[&str], fault: Option<&str>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).arg("--quiet");
    match fault {
        Some(f) => c.env("DAEDALUS_FAULT", f),
        None => c.env_remove("DAEDALUS_FAULT"),
    };
    c.output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = daedalus(args, None);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "daedalus {args:?}: {err}");
    err
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Bytes and mtime of every output and checkpoint file.
type Snapshot = BTreeMap<PathBuf, (Vec<u8>, SystemTime)>;

fn snapshot(root: &Path) -> Snapshot {
    ["silver", "gold", "_daedalus/markets"]
        .iter()
        .flat_map(|d| files_under(root, &root.join(d)))
        .map(|rel| {
            let p = root.join(&rel);
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (rel, (std::fs::read(&p).unwrap(), m))
        })
        .collect()
}

/// No staged file, no shadow, no pending journal.
fn assert_clean(root: &Path) {
    for d in ["silver", "gold", "_daedalus"] {
        for rel in files_under(root, &root.join(d)) {
            let n = rel.file_name().unwrap().to_string_lossy().to_string();
            assert!(!n.starts_with('.'), "staged file left: {}", rel.display());
            let r = rel.to_string_lossy();
            assert!(!r.contains("shadow/"), "shadow left: {r}");
            assert!(!r.contains("swap/"), "journal left: {r}");
        }
    }
}

/// The files `keep` selects are in both snapshots with the same bytes and mtime; the message
/// lists those that are not.
fn assert_kept(before: &Snapshot, after: &Snapshot, keep: impl Fn(&str) -> bool) {
    let paths: std::collections::BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    let changed: Vec<String> = paths
        .into_iter()
        .filter(|p| keep(&p.to_string_lossy()))
        .filter(|p| before.get(*p) != after.get(*p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        changed.is_empty(),
        "changed (bytes, mtime or presence): {changed:#?}"
    );
}

/// A 3-day, 2-market synthetic bronze root and the outputs of one batch run over it.
struct Synthetic {
    src: tempfile::TempDir,
    full: tempfile::TempDir,
}

const WITHHELD: &str =
    "bronze/trades/exchange=binance/symbol=BTC-USDT/date=2024-01-02/synthetic-42.parquet";

/// A day-1 file: once a run has checkpointed the day-2 boundary, all of its rows are late.
const WITHHELD_DAY1: &str =
    "bronze/trades/exchange=binance/symbol=BTC-USDT/date=2024-01-01/synthetic-42.parquet";

fn synthetic() -> &'static Synthetic {
    static S: OnceLock<Synthetic> = OnceLock::new();
    S.get_or_init(|| {
        let src = tempfile::tempdir().unwrap();
        ok(&[
            "gen",
            "--root",
            &s(src.path()),
            "--events",
            "60000",
            "--days",
            "3",
            "--markets",
            "2",
        ]);
        let full = tempfile::tempdir().unwrap();
        copy_tree(src.path(), full.path());
        ok(&["run", "--root", &s(full.path())]);
        Synthetic { src, full }
    })
}

/// The outputs of one batch run over the synthetic bronze without [`WITHHELD`].
fn without_withheld() -> &'static Path {
    static S: OnceLock<tempfile::TempDir> = OnceLock::new();
    S.get_or_init(|| ran_root(&[WITHHELD])).path()
}

/// A run root of the synthetic bronze, run once; `without`: bronze files withheld from it.
fn ran_root(without: &[&str]) -> tempfile::TempDir {
    let syn = synthetic();
    let dir = tempfile::tempdir().unwrap();
    copy_tree(syn.src.path(), dir.path());
    for f in without {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    ok(&["run", "--root", &s(dir.path())]);
    dir
}

/// Adds a withheld file by rename (as writers do).
fn add_back(root: &Path, rel: &str) {
    let syn = synthetic();
    let tmp = root.join("bronze/.incoming.parquet");
    std::fs::copy(syn.src.path().join(rel), &tmp).unwrap();
    std::fs::rename(&tmp, root.join(rel)).unwrap();
}

/// Reproduction 3a: `--rebuild` with one corrupt bronze file fails and deletes nothing.
#[test]
fn issue_15_rebuild_with_a_corrupt_file_changes_nothing() {
    let root = ran_root(&[]);
    let r = root.path();
    let before = snapshot(r);
    let bad = r.join(
        "bronze/trades/exchange=binance/symbol=BTC-USDC/date=2024-01-03/synthetic-42.parquet",
    );
    let good = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, b"not parquet").unwrap();
    let out = daedalus(&["run", "--root", &s(r), "--rebuild"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("nothing was replaced") && err.contains("synthetic-42.parquet"),
        "{err}"
    );
    assert!(
        before == snapshot(r),
        "a failed rebuild changed outputs or checkpoints"
    );
    assert_clean(r);
    std::fs::write(&bad, good).unwrap();
    ok(&["run", "--root", &s(r), "--rebuild"]);
    assert_same_outputs(synthetic().full.path(), r, LAYERS);
    assert_clean(r);
}

/// Reproduction 3b: a deleted checkpoint plus a corrupt file keeps that market's outputs; once
/// the file is good again, the plain run recomputes the market and then replaces them.
#[test]
fn issue_15_deleted_checkpoint_and_corrupt_file_keep_the_outputs() {
    let root = ran_root(&[]);
    let r = root.path();
    std::fs::remove_file(r.join("_daedalus/markets/exchange=binance/symbol=BTC-USDT.ckpt"))
        .unwrap();
    let before = snapshot(r);
    let bad =
        r.join("bronze/book/exchange=binance/symbol=BTC-USDT/date=2024-01-02/synthetic-42.parquet");
    let good = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, b"not parquet").unwrap();
    let out = daedalus(&["run", "--root", &s(r)], None);
    assert!(!out.status.success());
    assert!(
        before == snapshot(r),
        "outputs of the market without checkpoint were touched"
    );
    std::fs::write(&bad, good).unwrap();
    let err = ok(&["run", "--root", &s(r)]);
    assert!(
        err.contains("rebuilt (no checkpoint) binance/BTC-USDT"),
        "{err}"
    );
    assert_same_outputs(synthetic().full.path(), r, LAYERS);
    assert_clean(r);
}

/// Reproduction 3c: `--rebuild --from D --to D` replaces only day D's partitions: with day D's
/// bronze of one market changed, day D equals a fresh run over the new bronze, every other
/// output keeps its bytes and mtime.
#[test]
fn issue_15_window_rebuild_replaces_only_the_window() {
    let root = ran_root(&[]);
    let r = root.path();
    std::fs::remove_file(r.join(WITHHELD)).unwrap();
    let before = snapshot(r);
    std::thread::sleep(Duration::from_millis(20));
    ok(&[
        "run",
        "--root",
        &s(r),
        "--rebuild",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-02",
    ]);
    let after = snapshot(r);
    assert_kept(&before, &after, |p| {
        !p.contains("date=2024-01-02") && !p.starts_with("_daedalus")
    });
    let fresh = tempfile::tempdir().unwrap();
    copy_tree(&r.join("bronze"), &{
        let b = fresh.path().join("bronze");
        std::fs::create_dir_all(&b).unwrap();
        b
    });
    ok(&["run", "--root", &s(fresh.path())]);
    let day = |root: &Path| {
        let mut m = BTreeMap::new();
        for layer in LAYERS {
            for (k, v) in daedalus_tests::read_partitions(root, layer) {
                if k.contains("date=2024-01-02") {
                    m.insert(k, v);
                }
            }
        }
        m
    };
    let (want, got) = (day(fresh.path()), day(r));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (k, b) in &want {
        assert_eq!(b, &got[k], "{k}");
    }
    let changed = want
        .keys()
        .filter(|k| k.contains("symbol=BTC-USDT"))
        .count();
    assert!(changed > 0);
    assert_clean(r);
}

/// Late data, batch: a withheld file added back and `run --restate` gives one batch run's
/// outputs; the other market and the days before keep their mtimes; `inspect` lists the input
/// as pending before and not after.
#[test]
fn issue_15_restate_late_file_equals_a_batch_run() {
    let root = ran_root(&[WITHHELD]);
    let r = root.path();
    add_back(r, WITHHELD);
    let pending = ok(&["inspect", "--root", &s(r)]);
    let listing =
        String::from_utf8_lossy(&daedalus(&["inspect", "--root", &s(r)], None).stdout).to_string();
    assert!(
        listing.contains("pending late inputs") && listing.contains(WITHHELD),
        "{pending}{listing}"
    );
    let before = snapshot(r);
    std::thread::sleep(Duration::from_millis(20));
    let err = ok(&["run", "--root", &s(r), "--restate"]);
    assert!(
        err.contains("restated binance/BTC-USDT from the checkpoint at 2024-01-02"),
        "{err}"
    );
    assert_same_outputs(synthetic().full.path(), r, LAYERS);
    let untouched = |p: &str| {
        p.contains("symbol=BTC-USDC")
            || (p.contains("date=2024-01-01") && !p.starts_with("_daedalus"))
    };
    assert_kept(&before, &snapshot(r), untouched);
    let listing =
        String::from_utf8_lossy(&daedalus(&["inspect", "--root", &s(r)], None).stdout).to_string();
    assert!(!listing.contains("pending late inputs"), "{listing}");
    assert_clean(r);
}

/// Issue 14 item 6: a consumed bronze file replaced (other content) or removed is named by the
/// run, stops it under `--on-late fail`, and `--restate` gives a batch run over the bronze as
/// it is now.
#[test]
fn issue_14_replaced_and_removed_bronze_is_reported_and_restated() {
    let syn = synthetic();
    let root = ran_root(&[]);
    let r = root.path();
    let f = r.join(WITHHELD);
    // Replaced: the same name with day 3's trades of the market (other rows, other size).
    let other =
        "bronze/trades/exchange=binance/symbol=BTC-USDC/date=2024-01-02/synthetic-42.parquet";
    std::fs::copy(syn.src.path().join(other), &f).unwrap();
    let out = daedalus(&["run", "--root", &s(r), "--on-late", "fail"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(WITHHELD) && err.contains("late"), "{err}");
    ok(&["run", "--root", &s(r), "--restate"]);
    let expected = tempfile::tempdir().unwrap();
    copy_tree(&r.join("bronze"), &{
        let b = expected.path().join("bronze");
        std::fs::create_dir_all(&b).unwrap();
        b
    });
    ok(&["run", "--root", &s(expected.path())]);
    assert_same_outputs(expected.path(), r, LAYERS);
    // Removed.
    std::fs::remove_file(&f).unwrap();
    let out = daedalus(&["run", "--root", &s(r), "--on-late", "fail"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(WITHHELD) && err.contains("gone"),
        "{err}"
    );
    let out = daedalus(&["run", "--root", &s(r)], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone"));
    ok(&["run", "--root", &s(r), "--restate"]);
    std::fs::remove_file(expected.path().join(WITHHELD)).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    copy_tree(&expected.path().join("bronze"), &{
        let b = fresh.path().join("bronze");
        std::fs::create_dir_all(&b).unwrap();
        b
    });
    ok(&["run", "--root", &s(fresh.path())]);
    assert_same_outputs(fresh.path(), r, LAYERS);
    assert_clean(r);
}

/// Steps of the switch-over (the journal and its application) and of the recomputation.
/// `{root}` is replaced by the root's path, so a rule matches live files, not shadow ones.
const RECOMPUTE_FAULTS: &[(&str, bool, &[bool])] = &[
    // (rule, fails after the commit point, restate? (false: rebuild))
    ("stage-write:2", false, &[false, true]),
    ("flush:1", false, &[false, true]),
    ("fsync:1", false, &[false, true]),
    ("rename:1", false, &[false, true]),
    ("checkpoint-write:1", false, &[false, true]),
    ("checkpoint-write@_daedalus/swap:1", false, &[false, true]),
    ("checkpoint-rename@_daedalus/swap:1", false, &[false, true]),
    ("rename@{root}/silver:1", true, &[false, true]),
    // Only the rebuild removes a previous file (the stale part it is given).
    ("cleanup@{root}/gold:1", true, &[false]),
    ("dir-fsync@{root}/silver:1", true, &[false, true]),
    (
        "checkpoint-rename@{root}/_daedalus/markets:1",
        true,
        &[false, true],
    ),
    ("cleanup@_daedalus/swap:1", true, &[false, true]),
];

/// `--rebuild` and `--restate` with a fault at each step: before the commit point the root is
/// exactly as it was; after it, the next run rolls the switch-over forward; either way a rerun
/// gives the uninterrupted result and leaves nothing staged.
#[test]
fn issue_15_faults_in_rebuild_and_restate_leave_the_previous_outputs() {
    for &(rule, after_commit, modes) in RECOMPUTE_FAULTS {
        for &restate in modes {
            let root = ran_root(if restate { &[WITHHELD] } else { &[] });
            let r = root.path();
            if restate {
                add_back(r, WITHHELD);
            } else {
                // The rebuild has something to change (BTC-USDT's day-2 trades are gone) and
                // something to remove: a stale extra part in a gold partition.
                std::fs::remove_file(r.join(WITHHELD)).unwrap();
                let d = r
                    .join("gold/bars/bar=time_1m/exchange=binance/symbol=BTC-USDT/date=2024-01-02");
                std::fs::copy(d.join("part-00000.parquet"), d.join("part-00042.parquet")).unwrap();
                let ck = r.join("_daedalus/markets/exchange=binance/symbol=BTC-USDT.ckpt");
                std::fs::remove_file(ck).unwrap(); // and the market is an orphan: rebuilt whole
            }
            let before = snapshot(r);
            let rule = rule.replace("{root}", &s(r));
            let flag = if restate { "--restate" } else { "--rebuild" };
            let out = daedalus(&["run", "--root", &s(r), flag], Some(&rule));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{rule} {flag}: succeeded: {err}");
            assert!(
                err.contains("fault injected"),
                "{rule} {flag}: nothing injected: {err}"
            );
            if !after_commit {
                assert!(
                    before == snapshot(r),
                    "{rule} {flag}: the root changed before the commit"
                );
            }
            ok(&["run", "--root", &s(r), flag]);
            let expected = if restate {
                synthetic().full.path()
            } else {
                without_withheld()
            };
            assert_same_outputs(expected, r, LAYERS);
            assert_clean(r);
        }
    }
}

/// A watch run with `--restate`: a day-1 file arrives once the run has checkpointed day 1 (so
/// all of its rows are behind the run), the market is restated, and after SIGINT a batch run
/// gives one batch run's outputs.
#[test]
fn issue_15_watch_restates_late_files_as_they_arrive() {
    let syn = synthetic();
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    copy_tree(syn.src.path(), r);
    std::fs::remove_file(r.join(WITHHELD_DAY1)).unwrap();
    let (child, lines) = watch_until_checkpointed(r, &[]);
    add_back(r, WITHHELD_DAY1);
    wait_for(&lines, "restated binance/BTC-USDT", Duration::from_secs(60));
    stop(child);
    ok(&["run", "--root", &s(r)]);
    assert_same_outputs(syn.full.path(), r, LAYERS);
    assert_clean(r);
}

/// Starts `run --watch --restate` on `root` (with `extra` flags) and waits until it has
/// checkpointed spot BTC-USDT; returns the child and its stderr lines.
fn watch_until_checkpointed(root: &Path, extra: &[&str]) -> (Child, Lines) {
    let r = s(root);
    let mut args = vec![
        "run",
        "--root",
        &r,
        "--watch",
        "--restate",
        "--poll",
        "50ms",
        "--settle",
        "0s",
        "--log",
        "info",
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(BIN)
        .args(&args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let ck = root.join("_daedalus/markets/exchange=binance/symbol=BTC-USDT.ckpt");
    let t0 = Instant::now();
    while !ck.exists() {
        let waited = t0.elapsed();
        assert!(
            waited < Duration::from_secs(120),
            "no checkpoint: {:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, lines)
}

type Lines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

fn stderr_lines(child: &mut Child) -> Lines {
    let lines: Lines = Default::default();
    let l = lines.clone();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            l.lock().unwrap().push(line);
        }
    });
    lines
}

fn wait_for(lines: &Lines, needle: &str, limit: Duration) {
    let t0 = Instant::now();
    while !lines.lock().unwrap().iter().any(|l| l.contains(needle)) {
        assert!(
            t0.elapsed() < limit,
            "no {needle:?} within {limit:?}: {:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(child: Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "watch run exit {:?}", out.status);
}

/// The real Binance root, ingested: (bronze root, outputs of one batch run over it, the
/// withheld 2024-08-09 trades file of spot BTC-USDT relative to the root); `None` without data.
fn real_roots() -> Option<(tempfile::TempDir, tempfile::TempDir, String)> {
    let files = daedalus_tests::binance_file_args()?;
    let src = tempfile::tempdir().unwrap();
    let src_root = s(src.path());
    let mut a = vec!["ingest", "--format", "binance-raw", "--root", &src_root];
    a.extend(files.iter().map(String::as_str));
    ok(&a);
    let full = tempfile::tempdir().unwrap();
    copy_tree(src.path(), full.path());
    ok(&["run", "--root", &s(full.path())]);
    let day = src
        .path()
        .join("bronze/trades/exchange=binance/symbol=BTC-USDT/date=2024-08-09");
    let withheld = std::fs::read_dir(&day)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("20240809"))
        .min()
        .expect("a 2024-08-09 trades file of btcusdt_20240809");
    let rel = withheld
        .strip_prefix(src.path())
        .unwrap()
        .to_string_lossy()
        .to_string();
    Some((src, full, rel))
}

/// Adds `rel` of `src` to `root` by rename.
fn add_from(src: &Path, root: &Path, rel: &str) {
    let tmp = root.join("bronze/.incoming.parquet");
    std::fs::copy(src.join(rel), &tmp).unwrap();
    std::fs::rename(&tmp, root.join(rel)).unwrap();
}

/// The acceptance on the real Binance root: one 2024-08-09 trades file withheld, run, the file
/// added, `run --restate`: every output equals one batch run over all files, and outputs of the
/// other markets and of 2024-08-08 keep their mtimes.
#[test]
fn issue_15_restate_real_binance_late_trades_file() {
    let Some((src, full, rel)) = real_roots() else {
        println!(
            "SKIP issue_15_restate_real_binance_late_trades_file: ../shared/data/real is absent"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    copy_tree(src.path(), r);
    std::fs::remove_file(r.join(&rel)).unwrap();
    ok(&["run", "--root", &s(r)]);
    add_from(src.path(), r, &rel);
    let before = snapshot(r);
    std::thread::sleep(Duration::from_millis(20));
    let err = ok(&["run", "--root", &s(r), "--restate"]);
    assert!(err.contains("restated binance/BTC-USDT"), "{err}");
    assert_same_outputs(full.path(), r, LAYERS);
    let untouched = |p: &str| {
        !p.starts_with("_daedalus")
            && (!p.contains("symbol=BTC-USDT/") || p.contains("date=2024-08-08"))
    };
    assert_kept(&before, &snapshot(r), untouched);
    assert_clean(r);
}

/// The same with a watch run: the file arrives while `run --watch --restate` runs (with an
/// intraday watermark and a short idle timeout, so the run has passed its rows and they are
/// late); the market is restated
/// as it arrives; after SIGINT nothing is pending and a batch run gives one batch run's outputs.
#[test]
fn issue_15_watch_restates_real_binance_late_trades_file() {
    let Some((src, full, rel)) = real_roots() else {
        println!(
            "SKIP issue_15_watch_restates_real_binance_late_trades_file: ../shared/data/real is absent"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    copy_tree(src.path(), r);
    std::fs::remove_file(r.join(&rel)).unwrap();
    let (child, lines) =
        watch_until_checkpointed(r, &["--watermark-delay", "1m", "--idle-timeout", "1s"]);
    std::thread::sleep(Duration::from_secs(3)); // the run reads on to its watermark
    add_from(src.path(), r, &rel);
    // Late (restated) when the run had passed its rows, else merged in order: either way the
    // outputs below must be a batch run's and nothing may stay pending.
    let t0 = Instant::now();
    let restated = |l: &Lines| {
        l.lock()
            .unwrap()
            .iter()
            .any(|x| x.contains("restated binance/BTC-USDT"))
    };
    while !restated(&lines) && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "the added file was {}",
        if restated(&lines) {
            "late: restated"
        } else {
            "merged in order"
        }
    );
    stop(child);
    let listing =
        String::from_utf8_lossy(&daedalus(&["inspect", "--root", &s(r)], None).stdout).to_string();
    assert!(!listing.contains("pending late inputs"), "{listing}");
    ok(&["run", "--root", &s(r)]);
    assert_same_outputs(full.path(), r, LAYERS);
    assert_clean(r);
}
