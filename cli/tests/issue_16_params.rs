//! Issue 16, parameter bounds and clear errors: every numeric run parameter is checked against
//! its documented range (`daedalus_dataflow::config::bounds`, docs/OPERATIONS.md "Parameter
//! bounds") with a message stating the range; wrong dates, a missing root and a state directory
//! inside a dataset folder say what is wrong; `--metrics` takes a host name.

mod common;

use common::daedalus;
use daedalus_dataflow::config::bounds;

/// A root with an empty `bronze/`: a run that gets past its parameters fails with "no bronze
/// partitions", so a parameter error is told apart from it.
fn empty_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("bronze")).unwrap();
    d
}

/// Runs `daedalus run --root <root> <args>`, asserts a non-zero exit and returns stderr.
fn fails(root: &str, args: &[&str]) -> String {
    let mut all = vec!["run", "--root", root];
    all.extend_from_slice(args);
    let out = daedalus(&all);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "daedalus {all:?} succeeded: {err}");
    err
}

/// Asserts that `args` pass parameter checks (the run stops at the empty bronze instead).
fn accepted(root: &str, args: &[&str]) {
    let err = fails(root, args);
    assert!(
        err.contains("no bronze partitions"),
        "{args:?} was refused before planning: {err}"
    );
}

fn range(r: &std::ops::RangeInclusive<i64>) -> String {
    format!("{}..={}", r.start(), r.end())
}

#[test]
fn issue_16_vpin_n_negative_is_out_of_range() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in ["-1", "0", "100001"] {
        let err = fails(root, &["--vpin-n", v]);
        assert!(!err.contains("unexpected argument"), "{err}");
        assert!(err.contains("out of range"), "{err}");
        assert!(err.contains(&range(&bounds::VPIN_N)), "{err}");
    }
    accepted(root, &["--vpin-n", "100000"]);
}

#[test]
fn issue_16_kyle_window_bound() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in ["1000000000", "1", "-5", "18446744073709551615"] {
        let err = fails(root, &["--kyle-window", v]);
        assert!(err.contains("out of range"), "{err}");
        assert!(err.contains(&range(&bounds::KYLE_WINDOW)), "{err}");
    }
    let err = fails(root, &["--kyle-window", "1000000000"]);
    assert!(err.contains("must be in 2..=100000"), "{err}");
    accepted(root, &["--kyle-window", "2"]);
}

#[test]
fn issue_16_mlofi_levels_bound() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in ["0", "51", "-3"] {
        let err = fails(root, &["--mlofi-levels", v]);
        assert!(err.contains(&range(&bounds::MLOFI_LEVELS)), "{err}");
    }
    accepted(root, &["--mlofi-levels", "50"]);
}

#[test]
fn issue_16_interval_bound() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in ["1ms", "10ms", "50ms"] {
        let err = fails(root, &["--interval", v]);
        assert!(err.contains("must be from 100ms to 1d"), "{err}");
    }
    // What the docs and existing tests use stays valid.
    accepted(root, &["--interval", "100ms", "--interval", "1s"]);
}

#[test]
fn issue_16_workers_bound() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in ["0", "10000", "-1"] {
        let err = fails(root, &["-w", v]);
        assert!(err.contains(&range(&bounds::WORKERS)), "{err}");
    }
    let err = fails(root, &["-n", "0"]);
    assert!(err.contains(&range(&bounds::PROCESSES)), "{err}");
    let err = fails(root, &["-n", "2", "-p", "2"]);
    assert!(err.contains("-p 2 is not below -n 2"), "{err}");
    // demo and bench share the bound.
    let out = daedalus(&["demo", "-w", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be in 1..=512"));
}

#[test]
fn issue_16_vpin_v_positive_finite() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for v in [
        "binance/BTC-USDT=-1",
        "binance/BTC-USDT=0",
        "binance/BTC-USDT=inf",
    ] {
        let err = fails(root, &["--vpin-v", v]);
        assert!(err.contains("V must be a positive number"), "{err}");
    }
}

#[test]
fn issue_16_watch_durations_bound() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    let err = fails(root, &["--poll", "0s"]);
    assert!(
        err.contains("--poll 0s is out of range: must be from 10ms to 1h"),
        "{err}"
    );
    let err = fails(root, &["--settle", "2h"]);
    assert!(err.contains("must be from 0s to 1h"), "{err}");
    let err = fails(root, &["--idle-timeout", "0s"]);
    assert!(err.contains("must be from 100ms to 30d"), "{err}");
    let err = fails(root, &["--checkpoint-every", "7m"]);
    assert!(err.contains("does not divide a day"), "{err}");
    accepted(
        root,
        &[
            "--poll",
            "20ms",
            "--settle",
            "0s",
            "--checkpoint-every",
            "6h",
        ],
    );
}

#[test]
fn issue_16_config_file_bounds() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    let cfg = d.path().join("run.toml");
    std::fs::write(&cfg, "kyle_window = 1000000000\n").unwrap();
    let err = fails(root, &["--config", cfg.to_str().unwrap()]);
    assert!(
        err.contains("kyle_window 1000000000 is out of range"),
        "{err}"
    );
    assert!(err.contains("2..=100000"), "{err}");
}

#[test]
fn issue_16_from_after_to() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    let err = fails(root, &["--from", "2024-08-09", "--to", "2024-08-08"]);
    assert!(
        err.contains("--from 2024-08-09 is after --to 2024-08-08"),
        "{err}"
    );
    assert!(!err.contains("no bronze partitions"), "{err}");
}

#[test]
fn issue_16_root_missing() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no-such-root");
    let err = fails(missing.to_str().unwrap(), &[]);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("no bronze partitions"), "{err}");
    assert!(!missing.exists(), "the run created the missing root");
}

#[test]
fn issue_16_state_dir_inside_dataset() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    for ds in ["bronze", "silver", "gold"] {
        let sd = d.path().join(ds).join("state");
        let err = fails(root, &["--state-dir", sd.to_str().unwrap()]);
        assert!(err.contains("is inside the dataset folder"), "{err}");
        assert!(!sd.exists(), "{} created", sd.display());
    }
    // Relative spelling of the same place.
    let rel = format!("{root}/gold/../silver/x");
    let err = fails(root, &["--state-dir", &rel]);
    assert!(err.contains("is inside the dataset folder"), "{err}");
    // Beside the datasets is fine.
    let ok = d.path().join("state");
    accepted(root, &["--state-dir", ok.to_str().unwrap()]);
}

#[test]
fn issue_16_metrics_host_name() {
    let d = empty_root();
    let root = d.path().to_str().unwrap();
    let err = fails(root, &["--metrics", "localhost:0"]);
    assert!(!err.contains("--metrics"), "{err}");
    assert!(err.contains("no bronze partitions"), "{err}");
    let err = fails(root, &["--metrics", "not an address"]);
    assert!(err.contains("expected HOST:PORT"), "{err}");
}

#[test]
fn issue_16_docs_table_matches_bounds() {
    let ops = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/OPERATIONS.md"
    ))
    .unwrap();
    let start = ops
        .find("## Parameter bounds")
        .expect("Parameter bounds section");
    let table = &ops[start..];
    let table = &table[..table[3..].find("\n## ").map_or(table.len(), |i| i + 3)];
    let show = |r: &std::ops::RangeInclusive<i64>| {
        format!(
            "{} to {}",
            bounds::show_ns(*r.start()),
            bounds::show_ns(*r.end())
        )
    };
    for (flag, want) in [
        ("`--vpin-n`", range(&bounds::VPIN_N)),
        ("`--kyle-window`", range(&bounds::KYLE_WINDOW)),
        ("`--mlofi-levels`", range(&bounds::MLOFI_LEVELS)),
        ("`-w`", range(&bounds::WORKERS)),
        ("`-n`", range(&bounds::PROCESSES)),
        ("`--interval`", show(&bounds::INTERVAL_NS)),
        ("`--poll`", show(&bounds::POLL_NS)),
        ("`--settle`", show(&bounds::SETTLE_NS)),
        ("`--idle-timeout`", show(&bounds::IDLE_TIMEOUT_NS)),
        ("`--watermark-delay`", show(&bounds::WATERMARK_DELAY_NS)),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with('|') && l.contains(flag))
            .unwrap_or_else(|| panic!("no row for {flag} in the Parameter bounds table"));
        assert!(
            row.contains(&want),
            "row for {flag} does not say {want}: {row}"
        );
    }
}

/// `inspect` on a root with a `date=` directory that is not a date, then with a committed file
/// gone: each is reported (naming the directory or the file and the market) and the exit is
/// non-zero; the healthy root exits 0.
#[test]
fn issue_16_inspect_reports_bad_dates_and_missing_committed_files() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().display().to_string();
    for args in [
        vec![
            "gen",
            "--root",
            &r,
            "--events",
            "20000",
            "--days",
            "2",
            "--markets",
            "2",
        ],
        vec!["run", "--root", &r],
        vec!["inspect", "--root", &r],
    ] {
        let o = daedalus(&args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let part = d
        .path()
        .join("silver/trades/exchange=binance/symbol=BTC-USDT");
    let bad = part.join("date=2024-13-45");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(
        part.join("date=2024-01-01/part-00000.parquet"),
        bad.join("part-00000.parquet"),
    )
    .unwrap();
    let o = daedalus(&["inspect", "--root", &r]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("date=2024-13-45") && err.contains("invalid partition directory"),
        "{err}"
    );
    std::fs::remove_dir_all(&bad).unwrap();
    std::fs::remove_file(part.join("date=2024-01-02/part-00000.parquet")).unwrap();
    let o = daedalus(&["inspect", "--root", &r]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("date=2024-01-02/part-00000.parquet")
            && err.contains("binance/BTC-USDT")
            && err.contains("missing"),
        "{err}"
    );
}
