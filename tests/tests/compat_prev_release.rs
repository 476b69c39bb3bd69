//! Compatibility: a root written by the previous release (0.1.0, before the issue-13
//! restructure) resumes under this build and gives exactly what one run of this build gives.
//!
//! `tests/fixtures/root_v0_1_0` was made by the 0.1.0 `daedalus` binary:
//! `gen --events 8000 --markets 2 --days 2 --seed 7`, the 2024-01-01 bronze partitions copied
//! into a fresh root, then `run` with [`ARGS`] over that day (silver, gold and both markets'
//! checkpoints, including every bar family's state). The test adds the 2024-01-02 bronze of
//! today's generator (same call), resumes, and compares every output with a fresh run over the
//! same bronze (the fixture's 2024-01-01 and that 2024-01-02).

use daedalus_dataflow::{ClusterConfig, RunConfig, execute, plan};
use daedalus_sources::synthetic::{GenConfig, generate};
use daedalus_tests::{assert_same_outputs, copy_tree};
use std::path::{Path, PathBuf};

/// The parameters the fixture was run with (one bar of every family, a 1-minute grid).
fn config() -> RunConfig {
    RunConfig {
        interval: vec!["1m".into()],
        bar: [
            "time_5m",
            "tick_50",
            "volume_2",
            "dollar_100000",
            "imbalance_tick",
            "run_volume",
        ]
        .map(String::from)
        .to_vec(),
        vpin_n: 10,
        ..RunConfig::default()
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/root_v0_1_0")
}

fn run(root: &Path) {
    let p = plan(root.to_path_buf(), config()).unwrap();
    let cluster = ClusterConfig {
        workers: 1,
        processes: 1,
        process: 0,
        addresses: vec![],
    };
    let s = execute(p, &cluster).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

/// Copies the `date=<day>` bronze partitions of `from` into `to`.
fn copy_day(from: &Path, to: &Path, day: &str) {
    for ds in ["book", "trades", "ticker"] {
        for m in std::fs::read_dir(from.join("bronze").join(ds))
            .unwrap()
            .flatten()
        {
            for s in std::fs::read_dir(m.path()).unwrap().flatten() {
                let src = s.path().join(format!("date={day}"));
                if src.is_dir() {
                    let rel = src.strip_prefix(from).unwrap();
                    std::fs::create_dir_all(to.join(rel)).unwrap();
                    copy_tree(&src, &to.join(rel));
                }
            }
        }
    }
}

#[test]
fn root_written_by_the_previous_release_resumes_exactly() {
    let gen_root = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 7,
        events: 8000,
        markets: 2,
        days: 2,
        ..GenConfig::default()
    };
    generate(&cfg, gen_root.path()).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), resumed.path());
    copy_day(gen_root.path(), resumed.path(), "2024-01-02");
    run(resumed.path());

    // The fresh run reads the same bronze as the resumed one: the fixture's 2024-01-01 (made by
    // the 0.1.0 generator; today's `gen` plants the BTC fair value, so its bytes differ) and
    // today's 2024-01-02.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fresh.path().join("bronze")).unwrap();
    copy_tree(&fixture().join("bronze"), &fresh.path().join("bronze"));
    copy_day(gen_root.path(), fresh.path(), "2024-01-02");
    run(fresh.path());

    assert_same_outputs(
        fresh.path(),
        resumed.path(),
        &[
            "silver/book",
            "silver/ticker",
            "silver/trades",
            "silver/intervals",
            "gold/bars",
        ],
    );
}
