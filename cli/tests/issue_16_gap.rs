//! Issue 16, lazy empty intervals and bars: a market with trades a year apart gets every empty
//! interval and time bar in between (CONTRACT §9.6: the grid range runs from the first event to
//! the last), written with memory independent of the gap's length.
//!
//! Ten trades on 2024-01-01 and ten on 2024-12-31 (365 days later), one a second, ingested from
//! a Tardis trades CSV written here. Before the fix the 31.5 million empty 1 s intervals were
//! buffered (the run took gigabytes); now the run stays under 200 MB peak RSS, measured with
//! `/usr/bin/time -v`.

use daedalus_tests::{read_partitions, skip};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");
const DAY_S: i64 = 86_400;
/// 2024-01-01T00:00:00Z in µs (Tardis timestamps).
const T0_US: i64 = 1_704_067_200_000_000;
const GAP_DAYS: i64 = 365;

/// Ten trades a second apart at `t0_us` (+0.5 ms), ids from `id0`.
fn trades(t0_us: i64, id0: u64, side: &str, out: &mut String) {
    for i in 0..10 {
        let ts = t0_us + i * 1_000_000 + 500;
        let (id, px) = (id0 + i as u64, 42_000 + i);
        out.push_str(&format!(
            "binance,BTCUSDT,{ts},{},{id},{side},{px},0.5\n",
            ts + 100
        ));
    }
}

fn ingest_gap(root: &Path) {
    let mut csv = String::from("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n");
    trades(T0_US, 1, "buy", &mut csv);
    trades(T0_US + GAP_DAYS * DAY_S * 1_000_000, 11, "sell", &mut csv);
    let input = root.join("trades.csv");
    std::fs::write(&input, csv).unwrap();
    let out = Command::new(BIN)
        .args(["ingest", "--format", "tardis-csv", "--quiet", "--root"])
        .arg(root)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// "Maximum resident set size (kbytes): N" of `/usr/bin/time -v`.
fn max_rss_kb(stderr: &str) -> u64 {
    let line = (stderr.lines())
        .find(|l| l.contains("Maximum resident set size"))
        .unwrap_or_else(|| panic!("no RSS line in: {stderr}"));
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn issue_16_year_gap_streams_empty_intervals_in_bounded_memory() {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return skip("issue_16_year_gap", "/usr/bin/time is not installed");
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    ingest_gap(root);
    let out = Command::new(time)
        .arg("-v")
        .arg(BIN)
        .args(["run", "--quiet", "--json", "--root"])
        .arg(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rss_mb = max_rss_kb(&stderr) / 1024;
    eprintln!("365-day gap, 1 s intervals: peak RSS {rss_mb} MB");
    assert!(rss_mb < 200, "peak RSS {rss_mb} MB");

    // Every grid step from the first trade's to the last one's (CONTRACT §9.6): the 365 days
    // between the two days' first seconds, plus the ten seconds of the last day's trades.
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &summary["rows_out"];
    assert_eq!(
        rows["silver/intervals/interval=1s"],
        GAP_DAYS * DAY_S + 10,
        "{summary}"
    );
    assert_eq!(rows["gold/bars/bar=time_1m"], GAP_DAYS * DAY_S / 60 + 1);
    assert_eq!(rows["silver/trades"], 20);

    // A day inside the gap: 86400 empty intervals (flow sums 0, the carried VPIN, mid and
    // spread absent: trades only), one per second, in order.
    let mid_gap = "silver/intervals/interval=1s/exchange=binance/symbol=BTC-USDT/date=2024-07-01";
    let parts = read_partitions(root, mid_gap);
    let b = parts.values().next().expect("the partition exists");
    assert_eq!(b.num_rows() as i64, DAY_S);
    let col = |n: &str| b.column_by_name(n).unwrap().clone();
    let n_trades = col("n_trades");
    let n_trades = n_trades
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    assert!(n_trades.values().iter().all(|&n| n == 0));
    let ts = col("ts_open");
    let ts = ts
        .as_any()
        .downcast_ref::<arrow::array::TimestampNanosecondArray>()
        .unwrap();
    let first = ts.value(0);
    assert_eq!(first, (T0_US / 1_000_000 + 182 * DAY_S) * 1_000_000_000);
    assert!((1..ts.len()).all(|i| ts.value(i) - ts.value(i - 1) == 1_000_000_000));
}

/// Runs `daedalus run --root ROOT <args>`.
fn run(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["run", "--quiet", "--json", "--root"])
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

/// The grid cost is estimated from the bronze dates before anything is written: 366 days
/// (2024-01-01 to 2024-12-31) of 1440 one-minute intervals and 1440 `time_1m` bars is 1054080
/// rows, above a limit of 1000000: refused with the estimate, nothing written; `--force` runs.
#[test]
fn issue_16_grid_cost_is_refused_with_its_estimate_unless_forced() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    ingest_gap(root);
    let args = ["--interval", "1m", "--max-grid-rows", "1000000"];
    let out = run(root, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("would write about 1054080 rows"), "{err}");
    assert!(err.contains("above the limit of 1000000 rows"), "{err}");
    assert!(err.contains("binance/BTC-USDT, spans 366 days"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(!root.join("silver").exists() && !root.join("gold").exists());

    let mut forced = args.to_vec();
    forced.push("--force");
    let out = run(root, &forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &summary["rows_out"];
    let minutes = GAP_DAYS * DAY_S / 60 + 1;
    assert_eq!(rows["silver/intervals/interval=1m"], minutes, "{summary}");
    assert_eq!(rows["gold/bars/bar=time_1m"], minutes);

    // Resumed from its checkpoint, nothing is left to estimate but the last day: accepted.
    let out = run(root, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
