//! Continuous runs, checkpoints and exactly-once sinks (issue 6), through the `daedalus` binary
//! as a user runs it:
//!
//! - a `--watch` run fed the real Binance bronze file by file (date by date, shuffled within a
//!   date), stopped with SIGINT, writes a subset of one batch run's rows; a batch run on the same
//!   root then completes exactly the batch output, row for row;
//! - 20 SIGKILLs at random points, each followed by a restart, end row-identical to an
//!   uninterrupted run with no staged file left and no file outside the manifest;
//! - a restart across the real data's UTC midnight, single process and 2-process cluster;
//! - truncated and bit-flipped checkpoints are reported; a bronze file arriving after its time
//!   range was checkpointed is reported as late, not absorbed.
//!
//! Tests on the real recordings need `../shared` beside the checkout and print a skip line
//! without it.

mod common;

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use common::{BIN, daedalus, s};
use daedalus_sinks::manifest;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A root with the real Binance recordings ingested into `bronze/`.
fn ingest_real() -> Option<tempfile::TempDir> {
    let files = daedalus_tests::binance_file_args()?;
    let d = tempfile::tempdir().unwrap();
    let out = s(d.path());
    let mut a = vec!["ingest", "--format", "binance-raw", "--out", &out];
    a.extend(files.iter().map(String::as_str));
    daedalus(&a);
    Some(d)
}

/// Every bronze file under `root`, relative.
fn bronze_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("bronze")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn copy_bronze(from: &Path, to: &Path) {
    for rel in bronze_files(from) {
        let q = to.join(&rel);
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), q).unwrap();
    }
}

/// Every visible Parquet file under `root/{silver,gold}`, concatenated per partition directory in
/// part-name order.
fn partitions(root: &Path) -> BTreeMap<String, RecordBatch> {
    let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![root.join("silver"), root.join("gold")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".parquet") && !name.starts_with('.') {
                dirs.entry(d.clone()).or_default().push(p);
            }
        }
    }
    dirs.into_iter()
        .map(|(d, mut files)| {
            files.sort();
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
            (
                d.strip_prefix(root).unwrap().display().to_string(),
                concat_batches(&batches[0].schema(), &batches).unwrap(),
            )
        })
        .collect()
}

fn assert_identical(expected: &Path, got: &Path) {
    let (x, y) = (partitions(expected), partitions(got));
    assert!(!x.is_empty(), "nothing written");
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "partition sets differ"
    );
    for (k, b) in &x {
        assert_eq!(b.num_rows(), y[k].num_rows(), "{k}: row counts");
        for i in 0..b.num_columns() {
            assert_eq!(
                b.column(i).to_data(),
                y[k].column(i).to_data(),
                "{k}: column {}",
                b.schema().field(i).name()
            );
        }
    }
}

/// Each row as comparable bytes (arrow's row format: equal rows, equal bytes).
fn row_strings(b: &RecordBatch) -> Vec<Vec<u8>> {
    use arrow::row::{RowConverter, SortField};
    let conv = RowConverter::new(
        b.schema()
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )
    .unwrap();
    let rows = conv.convert_columns(b.columns()).unwrap();
    (0..b.num_rows())
        .map(|i| rows.row(i).as_ref().to_vec())
        .collect()
}

/// Every row of `sub` is a row of `sup` (as a multiset, per partition).
fn assert_subset(sub: &Path, sup: &Path) -> usize {
    let (a, b) = (partitions(sub), partitions(sup));
    let mut n = 0;
    for (k, ba) in &a {
        let bb = b
            .get(k)
            .unwrap_or_else(|| panic!("{k}: partition not in the batch output"));
        let mut have: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
        for r in row_strings(bb) {
            *have.entry(r).or_default() += 1;
        }
        for r in row_strings(ba) {
            let e = have.entry(r.clone()).or_default();
            *e -= 1;
            assert!(*e >= 0, "{k}: a row is not in the batch output: {r:?}");
            n += 1;
        }
    }
    n
}

/// No staged file anywhere under the outputs, and every visible file listed by a checkpoint.
fn assert_manifest_exact(root: &Path) {
    let state = root.join("_daedalus");
    let mut listed = BTreeSet::new();
    for (e, sy) in manifest::list_markets(&state).unwrap() {
        let cp = manifest::load(&state, &e, &sy).unwrap().unwrap();
        for o in cp.header.outputs {
            listed.insert(root.join(o.path));
        }
    }
    let mut stack = vec![root.join("silver"), root.join("gold")];
    let mut seen = BTreeSet::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else {
                assert!(!name.starts_with('.'), "staged file left: {}", p.display());
                assert!(
                    listed.contains(&p),
                    "file outside the manifest: {}",
                    p.display()
                );
                seen.insert(p);
            }
        }
    }
    assert_eq!(seen, listed, "manifest lists files that are not there");
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Waits until every market's checkpoint has `processed_until >= t` (ns).
fn wait_for_checkpoints(root: &Path, markets: usize, t: i64, timeout: Duration) -> bool {
    let t0 = Instant::now();
    let state = root.join("_daedalus");
    while t0.elapsed() < timeout {
        let ok = manifest::list_markets(&state)
            .map(|ms| {
                ms.len() == markets
                    && ms.iter().all(|(e, sy)| {
                        manifest::load(&state, e, sy)
                            .ok()
                            .flatten()
                            .is_some_and(|c| c.header.processed_until >= t)
                    })
            })
            .unwrap_or(false);
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Small deterministic PRNG (xorshift) for shuffles and kill points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DAY2_START: i64 = 1_723_161_600_000_000_000; // 2024-08-09T00:00:00Z

#[test]
fn watch_then_batch_equals_batch_on_real_binance() {
    let Some(src) = ingest_real() else {
        return eprintln!(
            "SKIP watch_then_batch_equals_batch_on_real_binance: ../shared not found"
        );
    };
    let reference = tempfile::tempdir().unwrap();
    copy_bronze(src.path(), reference.path());
    daedalus(&["run", "--root", &s(reference.path()), "-w", "2"]);

    // The watch root starts empty; files are renamed in from a staging copy on the same
    // filesystem, one at a time, date by date, shuffled within a date.
    let work = tempfile::tempdir().unwrap();
    let stage = work.path().join("stage");
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    copy_bronze(src.path(), &stage);
    let mut watch = spawn(&[
        "run",
        "--root",
        &s(&root),
        "--watch",
        "--poll",
        "50ms",
        "--settle",
        "0s",
        "-w",
        "2",
    ]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files = bronze_files(&stage);
    for date in ["date=2024-08-08", "date=2024-08-09"] {
        let mut day: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.to_string_lossy().contains(date))
            .collect();
        for i in (1..day.len()).rev() {
            day.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for rel in day {
            let to = root.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(stage.join(rel), &to).unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    }
    // Day 1 is complete once every market has a day-2 file: the watch run commits it.
    assert!(
        wait_for_checkpoints(&root, 6, DAY2_START, Duration::from_secs(120)),
        "the watch run did not checkpoint day 1 of every market"
    );
    signal(&watch, "-INT");
    let status = watch.wait().unwrap();
    assert!(
        status.success(),
        "SIGINT must stop a watch run with exit 0: {status:?}"
    );
    assert_manifest_exact(&root);
    let n = assert_subset(&root, reference.path());
    assert!(n > 0, "the watch run committed nothing");

    // The batch command on the same root resumes and completes exactly the batch output.
    daedalus(&["run", "--root", &s(&root), "-w", "2"]);
    assert_identical(reference.path(), &root);
    assert_manifest_exact(&root);

    // A second run over unchanged input changes nothing.
    let before = file_stamps(&root);
    let out = daedalus(&["run", "--root", &s(&root), "-w", "1", "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["files_written"], 0);
    assert_eq!(
        file_stamps(&root),
        before,
        "an idempotent rerun touched outputs"
    );

    // A bronze file that appears after its time range was checkpointed is late: reported, not
    // absorbed (outputs unchanged), and fails the run under --on-late fail.
    let trades_dir = root.join("bronze/trades/exchange=binance/symbol=BTC-USDT/date=2024-08-08");
    let late_src = std::fs::read_dir(&trades_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("binance-raw-")
        })
        .unwrap();
    let late = late_src.with_file_name("zz-late.parquet");
    std::fs::copy(&late_src, &late).unwrap();
    let out = daedalus(&["run", "--root", &s(&root), "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        summary["quality"]["late_rows"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert_eq!(summary["quality"]["late_files"], 1);
    let log = std::fs::read_to_string(root.join("_daedalus/late.jsonl")).unwrap();
    assert!(log.contains("zz-late.parquet"), "{log}");
    assert_eq!(file_stamps(&root), before, "late rows were absorbed");
    let out = Command::new(BIN)
        .args(["run", "--root", &s(&root), "--on-late", "fail"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zz-late.parquet") && err.contains("late"),
        "{err}"
    );
}

fn file_stamps(root: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("silver"), root.join("gold")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let m = e.metadata().unwrap();
                out.push((p, m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sigkill_at_20_random_points_then_restart_equals_uninterrupted() {
    let bronze = tempfile::tempdir().unwrap();
    daedalus(&[
        "gen",
        "--out",
        &s(bronze.path()),
        "--events",
        "2000000",
        "--markets",
        "2",
        "--days",
        "1",
    ]);
    let args = ["-w", "1", "--checkpoint-every", "30m"];
    let reference = tempfile::tempdir().unwrap();
    copy_bronze(bronze.path(), reference.path());
    let t0 = Instant::now();
    let mut a = vec!["run", "--root"];
    let r = s(reference.path());
    a.push(&r);
    a.extend_from_slice(&args);
    daedalus(&a);
    let full = t0.elapsed();

    let crashed = tempfile::tempdir().unwrap();
    copy_bronze(bronze.path(), crashed.path());
    let c = s(crashed.path());
    let mut a = vec!["run", "--root", &c];
    a.extend_from_slice(&args);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut killed = 0;
    for _ in 0..20 {
        let mut child = spawn(&a);
        // Kill points spread over the whole run: each restart resumes from the last checkpoint
        // and is killed 2-6% of a full run's time later, so the 20 kills walk through the run
        // (startup, reading, mid-checkpoint, commit) and the final restart completes it.
        let ms = full.as_millis().max(500) as u64;
        let at = Duration::from_millis(ms / 50 + rng.below(ms / 25));
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            signal(&child, "-KILL");
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed >= 15, "only {killed} of 20 runs were killed mid-way");
    daedalus(&a);
    assert_identical(reference.path(), crashed.path());
    assert_manifest_exact(crashed.path());
}

#[test]
fn restart_across_midnight_single_and_cluster_on_real_binance() {
    let Some(src) = ingest_real() else {
        return eprintln!(
            "SKIP restart_across_midnight_single_and_cluster_on_real_binance: ../shared not found"
        );
    };
    let reference = tempfile::tempdir().unwrap();
    copy_bronze(src.path(), reference.path());
    daedalus(&["run", "--root", &s(reference.path()), "-w", "1"]);

    // Single process: day 1 only (its end flush is provisional), then everything.
    let single = tempfile::tempdir().unwrap();
    copy_bronze(src.path(), single.path());
    let r = s(single.path());
    daedalus(&["run", "--root", &r, "-w", "2", "--to", "2024-08-08"]);
    daedalus(&["run", "--root", &r, "-w", "1"]);
    assert_identical(reference.path(), single.path());
    assert_manifest_exact(single.path());

    // A 2-process cluster: day 1 in a cluster, the rest in a cluster of 2 processes x 2 workers
    // (a different worker count: state is per market, so any count resumes).
    let cluster = tempfile::tempdir().unwrap();
    copy_bronze(src.path(), cluster.path());
    let c = s(cluster.path());
    let hosts = cluster.path().join("hosts.txt");
    let run_cluster = |extra: &[&str]| {
        let port = |_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", port(0), port(1)),
        )
        .unwrap();
        let h = s(&hosts);
        let children: Vec<Child> = ["0", "1"]
            .iter()
            .map(|p| {
                let mut a = vec!["run", "--root", &c, "-n", "2", "-p", p, "-H", &h];
                a.extend_from_slice(extra);
                Command::new(BIN)
                    .args(&a)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut ch in children {
            assert!(ch.wait().unwrap().success(), "a cluster process failed");
        }
    };
    run_cluster(&["--to", "2024-08-08"]);
    run_cluster(&["-w", "2"]);
    assert_identical(reference.path(), cluster.path());
    assert_manifest_exact(cluster.path());
}

#[test]
fn corrupt_checkpoints_are_reported_never_a_silent_fresh_start() {
    let bronze = tempfile::tempdir().unwrap();
    daedalus(&[
        "gen",
        "--out",
        &s(bronze.path()),
        "--events",
        "20000",
        "--markets",
        "1",
    ]);
    let r = s(bronze.path());
    daedalus(&["run", "--root", &r, "--checkpoint-every", "6h"]);
    let state = bronze.path().join("_daedalus");
    let (e, sy) = manifest::list_markets(&state).unwrap().remove(0);
    let ck = manifest::checkpoint_path(&state, &e, &sy);
    let good = std::fs::read(&ck).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    for (what, bytes) in [
        ("truncated", good[..good.len() - 7].to_vec()),
        ("bit-flipped", flipped),
    ] {
        std::fs::write(&ck, &bytes).unwrap();
        let out = Command::new(BIN)
            .args(["run", "--root", &r])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{what} checkpoint accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&ck.display().to_string()) && err.contains("checksum"),
            "{what}: {err}"
        );
    }
    // An incompatible format marker is refused too.
    std::fs::write(&ck, &good).unwrap();
    std::fs::write(state.join("FORMAT"), "daedalus-state 999\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--root", &r])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("format"));

    // `--rebuild` recovers from a corrupt checkpoint: the market is recomputed from bronze and
    // its outputs equal a fresh run's.
    std::fs::write(state.join("FORMAT"), "daedalus-state 1\n").unwrap();
    std::fs::write(&ck, &good[..good.len() / 2]).unwrap();
    daedalus(&[
        "run",
        "--root",
        &r,
        "--checkpoint-every",
        "6h",
        "--rebuild",
        "--exchange",
        &e,
    ]);
    let fresh = tempfile::tempdir().unwrap();
    copy_bronze(bronze.path(), fresh.path());
    daedalus(&["run", "--root", &s(fresh.path())]);
    assert_identical(fresh.path(), bronze.path());
    assert_manifest_exact(bronze.path());
    assert!(manifest::load(&state, &e, &sy).unwrap().is_some());
}

fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Issue 8: `--metrics` during a watch run: rows and the watermark advance as files arrive; a bad
/// address is a clear error.
#[test]
fn metrics_advance_as_files_arrive_in_a_watch_run() {
    let bronze = tempfile::tempdir().unwrap();
    daedalus(&[
        "gen",
        "--out",
        &s(bronze.path()),
        "--events",
        "40000",
        "--markets",
        "2",
        "--days",
        "3",
    ]);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut watch = spawn(&[
        "run",
        "--root",
        &s(&root),
        "--watch",
        "--poll",
        "50ms",
        "--settle",
        "0s",
        "--metrics",
        &addr,
    ]);
    let t0 = Instant::now();
    let mut text = String::new();
    while t0.elapsed() < Duration::from_secs(30) {
        if let Ok(t) = std::panic::catch_unwind(|| scrape(port)) {
            text = t;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(text.contains("daedalus_watermark_seconds"), "{text}");
    let files = bronze_files(bronze.path());
    let mut seen: Vec<(f64, f64)> = Vec::new();
    let dates: BTreeSet<String> = files
        .iter()
        .filter_map(|f| {
            f.to_string_lossy()
                .split('/')
                .find(|p| p.starts_with("date="))
                .map(str::to_string)
        })
        .collect();
    for d in &dates {
        for rel in files
            .iter()
            .filter(|f| f.to_string_lossy().contains(d.as_str()))
        {
            // Delivered as users should: copied under a dot-name, renamed in.
            let to = root.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let tmp = to.with_file_name(".incoming.tmp");
            std::fs::copy(bronze.path().join(rel), &tmp).unwrap();
            std::fs::rename(&tmp, &to).unwrap();
        }
        // Wait until the watermark reaches this date's start (all earlier dates complete and
        // read), then record the metrics.
        let t0 = Instant::now();
        let prev = seen.last().map_or(0.0, |(_, w)| *w);
        loop {
            let t = scrape(port);
            let wm = metric(&t, "daedalus_watermark_seconds");
            if (wm > prev && wm % 86_400.0 == 0.0) || t0.elapsed() > Duration::from_secs(60) {
                seen.push((metric(&t, "daedalus_rows_in_total"), wm));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    signal(&watch, "-INT");
    assert!(watch.wait().unwrap().success());
    assert_eq!(seen.len(), 3, "{seen:?}");
    for w in seen.windows(2) {
        assert!(w[1].0 >= w[0].0, "rows_in went back: {seen:?}");
        assert!(w[1].1 > w[0].1, "watermark did not advance: {seen:?}");
    }
    // Day 1 is read once day 2 has files, day 2 once day 3 has: rows counted grow.
    assert!(seen[2].0 > seen[1].0 && seen[1].0 > 0.0, "{seen:?}");
    assert_eq!(seen[2].1 - seen[0].1, 2.0 * 86_400.0, "{seen:?}");

    let out = Command::new(BIN)
        .args(["run", "--root", &s(&root), "--metrics", "no-such-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--metrics") && err.contains("HOST:PORT"),
        "{err}"
    );
}

/// `--watermark-delay`: intraday progress. Only day 1 of the real data is delivered; with a 2 min
/// delay the watch run commits day 1 up to 2 minutes before its last event (the date rule alone
/// would commit nothing), and a following batch run completes exactly the batch output.
#[test]
fn watermark_delay_commits_intraday_and_batch_completes_on_real_binance() {
    let Some(src) = ingest_real() else {
        return eprintln!(
            "SKIP watermark_delay_commits_intraday_and_batch_completes_on_real_binance: ../shared not found"
        );
    };
    let reference = tempfile::tempdir().unwrap();
    copy_bronze(src.path(), reference.path());
    daedalus(&["run", "--root", &s(reference.path())]);
    let root = tempfile::tempdir().unwrap();
    for rel in bronze_files(src.path()) {
        if rel.to_string_lossy().contains("date=2024-08-08") {
            let to = root.path().join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(src.path().join(&rel), &to).unwrap();
        }
    }
    let mut watch = spawn(&[
        "run",
        "--root",
        &s(root.path()),
        "--watch",
        "--poll",
        "50ms",
        "--watermark-delay",
        "2m",
        "--checkpoint-every",
        "1m",
    ]);
    // Day 1 of the recording ends at 23:59:59.99; with a 2 min delay, 23:57 is reachable.
    let t_2357 = DAY2_START - 3 * 60 * 1_000_000_000;
    assert!(
        wait_for_checkpoints(root.path(), 6, t_2357, Duration::from_secs(120)),
        "no intraday checkpoint"
    );
    signal(&watch, "-TERM");
    assert!(
        watch.wait().unwrap().success(),
        "SIGTERM must stop with exit 0"
    );
    assert_manifest_exact(root.path());
    assert!(assert_subset(root.path(), reference.path()) > 0);
    copy_bronze(src.path(), root.path());
    daedalus(&["run", "--root", &s(root.path())]);
    assert_identical(reference.path(), root.path());
}
