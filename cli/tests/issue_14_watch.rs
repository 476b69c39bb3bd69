//! Issue 14, item 5: `daedalus ingest --watch` beside `daedalus run --watch` on one root, through
//! the binary as an operator runs them, on the ten real Binance recordings.
//!
//! The files arrive in a landing folder one by one, shuffled within each day (seeded): written
//! under a staging name and renamed in, except one written slowly in place (so `--settle` must
//! wait for its writer), plus one bad file that must be rejected while the watcher goes on. The
//! ingest watcher commits all ten while the watch run, started once the first day is in, lists
//! bronze between its batches and checkpoints the first day. After SIGINT (both exit 0), a
//! touched but unchanged file is found unchanged (not re-ingested), and a batch run on the same
//! root gives silver and gold equal (rows as multisets, every partition) to a batch ingest of the
//! same files plus a batch run; bronze is equal file for file.
//!
//! Why the watch run starts after the first day: a watch run's watermark is a date rule over the
//! markets it knows, and a daily Binance input also writes the first seconds of the next date; a
//! market whose first input arrives after the run has passed that date would be late
//! (docs/OPERATIONS.md, "Ingesting as data arrives").
//!
//! Needs `../shared` beside the checkout; prints a skip line without it.

mod common;

use arrow::row::{RowConverter, SortField};
use arrow_array::RecordBatch;
use common::{BIN, ok, s};
use daedalus_sinks::manifest;
use daedalus_tests::free_port;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

const DAY2_START: i64 = 1_723_161_600_000_000_000; // 2024-08-09T00:00:00Z
const GUARD: Duration = Duration::from_secs(600); // against hangs only

/// Spawns the binary with stdout and stderr to `<log>.out` and `<log>.err`.
fn spawn(args: &[&str], log: &Path) -> Child {
    let f = |ext: &str| std::fs::File::create(log.with_extension(ext)).unwrap();
    Command::new(BIN)
        .args(args)
        .stdout(f("out"))
        .stderr(f("err"))
        .spawn()
        .unwrap()
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT failed");
}

/// The value of metric `name` (a line `name value`), 0 before it is served.
fn metric(port: u16, name: &str) -> f64 {
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until `cond` holds, failing if `child` exits first or the guard passes.
fn wait_until(what: &str, child: &mut Child, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(child.try_wait().unwrap().is_none(), "{what}: process ended");
        assert!(t0.elapsed() < GUARD, "{what}: not within {GUARD:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every market's checkpoint has `processed_until >= t`.
fn checkpointed(root: &Path, markets: usize, t: i64) -> bool {
    let state = root.join("_daedalus");
    manifest::list_markets(&state).is_ok_and(|ms| {
        ms.len() == markets
            && ms.iter().all(|(e, sy)| {
                manifest::load(&state, e, sy)
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.header.processed_until >= t)
            })
    })
}

/// Small deterministic PRNG (xorshift) for the shuffles.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// `landing/<spot|usdm|cm>/<name>`: the recordings' folders are kept (spot and USD-M share names).
fn landing_path(landing: &Path, src: &Path) -> PathBuf {
    let kind = src.parent().unwrap().file_name().unwrap();
    landing.join(kind).join(src.file_name().unwrap())
}

/// Writes `src` to `to` under a staging name, then renames it in.
fn deliver(src: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let tmp = to.with_file_name(format!(
        ".{}.tmp",
        to.file_name().unwrap().to_string_lossy()
    ));
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

/// Writes `src` to `to` in place, 64 KiB at a time with short pauses (well under `--settle`).
fn deliver_slowly(src: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let bytes = std::fs::read(src).unwrap();
    let mut f = std::fs::File::create(to).unwrap();
    for chunk in bytes.chunks(64 * 1024) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One day's recordings, shuffled.
fn day(files: &[PathBuf], date: &str, rng: &mut Rng) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = files
        .iter()
        .filter(|p| p.to_string_lossy().contains(date))
        .cloned()
        .collect();
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
    v
}

/// Each row as comparable bytes (arrow's row format: equal rows, equal bytes), sorted.
fn sorted_rows(b: &RecordBatch) -> Vec<Vec<u8>> {
    let schema = b.schema();
    let fields = schema.fields().iter();
    let conv = RowConverter::new(
        fields
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )
    .unwrap();
    let rows = conv.convert_columns(b.columns()).unwrap();
    let mut v: Vec<Vec<u8>> = (0..b.num_rows())
        .map(|i| rows.row(i).as_ref().to_vec())
        .collect();
    v.sort();
    v
}

/// Same partitions under `prefix`, each with the same rows as a multiset; returns the rows.
fn assert_same_multisets(expected: &Path, got: &Path, prefix: &str) -> usize {
    let (x, y) = (
        daedalus_tests::read_partitions(expected, prefix),
        daedalus_tests::read_partitions(got, prefix),
    );
    assert!(!x.is_empty(), "{prefix}: nothing written");
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "{prefix}: partition sets differ"
    );
    let mut n = 0;
    for (k, b) in &x {
        assert_eq!(b.num_rows(), y[k].num_rows(), "{k}: row counts");
        assert!(sorted_rows(b) == sorted_rows(&y[k]), "{k}: rows differ");
        n += b.num_rows();
    }
    n
}

/// (path, mtime) of every bronze file.
fn bronze_stamps(root: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("bronze")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), e.metadata().unwrap().modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn ingest_watch_beside_run_watch_equals_batch_on_real_binance() {
    let (Some(files), Some(args)) = (
        daedalus_tests::binance_files(),
        daedalus_tests::binance_file_args(),
    ) else {
        return daedalus_tests::skip(
            "ingest_watch_beside_run_watch_equals_batch_on_real_binance",
            "../shared/data/real not found",
        );
    };
    assert_eq!(files.len(), 10);
    let d = tempfile::tempdir().unwrap();
    let reference = d.path().join("reference");
    let rs = s(&reference);
    let mut a = vec!["ingest", "--format", "binance-raw", "--root", &rs];
    a.extend(args.iter().map(String::as_str));
    ok(&a);
    ok(&["run", "--root", &rs, "-w", "2"]);

    let (landing, root) = (d.path().join("landing"), d.path().join("root"));
    std::fs::create_dir_all(&landing).unwrap();
    let (ls, ros) = (s(&landing), s(&root));
    let port = free_port();
    let ps = format!("127.0.0.1:{port}");
    let ingest_log = d.path().join("ingest");
    let mut ingest = spawn(
        &[
            "ingest",
            "--watch",
            &ls,
            "--format",
            "binance-raw",
            "--root",
            &ros,
            "--settle",
            "2s",
            "--poll",
            "100ms",
            "--metrics",
            &ps,
        ],
        &ingest_log,
    );
    // The watch run starts with the ingest, on the empty root, and lists bronze between the
    // ingest's batches. A market whose first input lands after the run passed its date is late:
    // `--restate` recomputes it from its checkpoint history as it arrives (issue 15).
    let run_log = d.path().join("run");
    let mut run = spawn(
        &[
            "run",
            "--root",
            &ros,
            "--watch",
            "--restate",
            "--poll",
            "50ms",
            "--settle",
            "0s",
            "-w",
            "2",
        ],
        &run_log,
    );
    let ingested = || metric(port, "daedalus_ingest_inputs_ingested_total");
    let rejected = || metric(port, "daedalus_ingest_inputs_rejected_total");

    // A bad file: rejected (named with its rule), and the watcher goes on.
    let junk = d.path().join("junk");
    std::fs::write(&junk, "not a recording\n").unwrap();
    deliver(&junk, &landing.join("spot/junk_20240808.gz"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in day(&files, "20240808", &mut rng) {
        deliver(&f, &landing_path(&landing, &f));
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_until("day 1 ingested, the bad file rejected", &mut ingest, || {
        ingested() == 6.0 && rejected() == 1.0
    });

    for (i, f) in day(&files, "20240809", &mut rng).into_iter().enumerate() {
        if i == 0 {
            deliver_slowly(&f, &landing_path(&landing, &f));
        } else {
            deliver(&f, &landing_path(&landing, &f));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_until("all ten ingested", &mut ingest, || ingested() == 10.0);
    assert_eq!(rejected(), 1.0, "the slowly written file was taken early");
    wait_until("day 1 checkpointed by the watch run", &mut run, || {
        checkpointed(&root, 6, DAY2_START)
    });

    // A file touched but unchanged is not ingested again: no bronze file is rewritten.
    let before = bronze_stamps(&root);
    let touched = landing_path(&landing, &files[0]);
    std::fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    wait_until("the touched file looked at", &mut ingest, || {
        metric(port, "daedalus_ingest_inputs_unchanged_total") == 1.0
    });
    assert_eq!(ingested(), 10.0);
    assert_eq!(
        bronze_stamps(&root),
        before,
        "an unchanged input was rewritten"
    );

    for child in [&ingest, &run] {
        sigint(child);
    }
    let (is, rs2) = (ingest.wait().unwrap(), run.wait().unwrap());
    let log = std::fs::read_to_string(ingest_log.with_extension("err")).unwrap();
    assert!(is.success(), "ingest --watch: {is:?}\n{log}");
    assert!(rs2.success(), "run --watch: {rs2:?}");
    assert!(
        log.contains("rejected") && log.contains("junk_20240808.gz:1: receive timestamp"),
        "the rejection names the file and the rule:\n{log}"
    );
    let out = std::fs::read_to_string(ingest_log.with_extension("out")).unwrap();
    assert!(
        out.contains("stopped:") && out.contains("10 input(s) ingested, 1 unchanged, 1 rejected"),
        "{out}"
    );

    // The batch run finishes what the watch run left: the last day, and a restatement that a
    // SIGINT may have interrupted (`--restate`; nothing is pending otherwise).
    ok(&["run", "--root", &ros, "-w", "2", "--restate"]);
    daedalus_tests::assert_same_outputs(&reference, &root, &["bronze"]);
    let silver = assert_same_multisets(&reference, &root, "silver");
    let gold = assert_same_multisets(&reference, &root, "gold");
    println!("ingest --watch + run --watch: {silver} silver and {gold} gold rows as in batch");
}
