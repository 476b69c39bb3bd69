//! Issue 16, availability: SIGTERM is honoured where it used to be ignored or left debris.
//!
//! - Plain `daedalus ingest` of the ten Binance recordings (`-j 1` and `-j 2`), SIGTERMed after
//!   0.1, 0.3 and 0.6 s: it exits 130 with the "stopped between inputs" message (or 0 if it had
//!   finished), leaves no staged dot-file anywhere under the root, and running the same command
//!   again gives the files of an uninterrupted ingest, byte for byte (bronze and ingest states;
//!   `-j` does not change them).
//! - A process of a 2-process cluster whose peer never starts, SIGTERMed while it waits: it exits
//!   130 within 2 s naming the peer it waited for, and leaves the root as it was (the run lock
//!   files aside). Process 0 waits by accepting, process 1 by connecting: both are tested.

use daedalus_tests::free_port;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn ingest_cmd(root: &Path, files: &[String], jobs: &str) -> Command {
    let mut c = Command::new(BIN);
    c.args(["ingest", "--format", "binance-raw", "-j", jobs, "--root"])
        .arg(root)
        .args(files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn staged(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<&PathBuf> {
    files
        .keys()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with('.') || name.contains("inprogress")
        })
        .collect()
}

#[test]
fn issue_16_sigterm_stops_ingest_between_inputs_and_a_rerun_completes_it() {
    let Some(files) = daedalus_tests::binance_file_args() else {
        daedalus_tests::skip("issue_16_signals ingest", "../shared/data/real not found");
        return;
    };
    let reference = tempfile::tempdir().unwrap();
    let out = ingest_cmd(reference.path(), &files, "1").output().unwrap();
    assert!(out.status.success());
    let want = daedalus_tests::bytes_under(reference.path(), reference.path());
    assert!(want.keys().any(|p| p.starts_with("bronze")));
    let mut interrupted = 0;
    // `-j 1` commits as it parses; `-j 2` parses ahead (dropped at the stop).
    for (jobs, delay_ms) in [
        ("1", 100),
        ("1", 300),
        ("1", 600),
        ("2", 100),
        ("2", 300),
        ("2", 600),
    ] {
        let root = tempfile::tempdir().unwrap();
        let child = ingest_cmd(root.path(), &files, jobs).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        sigterm(&child);
        let out: Output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(130) => {
                interrupted += 1;
                assert!(
                    err.contains("interrupted: SIGINT/SIGTERM: ingest stopped between inputs: ")
                        && err.contains(" of 10 input(s) done")
                        && err.contains("run the same command again"),
                    "-j {jobs}, {delay_ms} ms: {err}"
                );
            }
            Some(0) => assert!(
                String::from_utf8_lossy(&out.stdout).contains("ingested 10 file(s)"),
                "-j {jobs}, {delay_ms} ms"
            ),
            other => panic!("-j {jobs}, {delay_ms} ms: exit {other:?}: {err}"),
        }
        let left = daedalus_tests::bytes_under(root.path(), root.path());
        assert!(
            staged(&left).is_empty(),
            "-j {jobs}, {delay_ms} ms: staged files left: {:?}",
            staged(&left)
        );
        let again = ingest_cmd(root.path(), &files, jobs).output().unwrap();
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        let got = daedalus_tests::bytes_under(root.path(), root.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "-j {jobs}, {delay_ms} ms: file sets differ"
        );
        for (p, b) in &got {
            assert!(
                b == &want[p],
                "-j {jobs}, {delay_ms} ms: {} differs",
                p.display()
            );
        }
    }
    assert!(interrupted > 0, "no ingest was interrupted");
}

/// Every file under `root` but the run's lock files (empty files a run leaves by design).
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = daedalus_tests::bytes_under(root, root);
    all.retain(|p, b| !(p.extension().is_some_and(|x| x == "lock") && b.is_empty()));
    all
}

#[test]
fn issue_16_sigterm_stops_a_cluster_process_waiting_for_its_peer() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let generated = Command::new(BIN)
        .args([
            "gen",
            "--events",
            "20000",
            "--markets",
            "2",
            "--days",
            "2",
            "--out",
        ])
        .arg(&root)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let hosts = d.path().join("hosts.txt");
    let addrs = [
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    std::fs::write(&hosts, format!("{}\n{}\n", addrs[0], addrs[1])).unwrap();
    let before = contents(&root);
    assert!(!before.is_empty());
    for (me, peer) in [(0, 1), (1, 0)] {
        let child = Command::new(BIN)
            .args(["run", "--root"])
            .arg(&root)
            .args(["-n", "2", "-p", &me.to_string(), "-H"])
            .arg(&hosts)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Waiting for the peer once its own address is bound (it listens before it connects).
        let t0 = Instant::now();
        while std::net::TcpListener::bind(&addrs[me]).is_ok() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "process {me} never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        sigterm(&child);
        let out = child.wait_with_output().unwrap();
        let took = t0.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "process {me}: {err}");
        assert!(took < Duration::from_secs(2), "process {me} took {took:?}");
        let want = format!(
            "interrupted: SIGINT/SIGTERM while process {me} waited for process {peer} at {}: \
             stopped before the run started, nothing was written",
            addrs[peer]
        );
        assert!(err.contains(&want), "process {me}: {err}");
        assert_eq!(contents(&root), before, "process {me} changed the root");
    }
}
