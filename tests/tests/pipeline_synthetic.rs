//! End to end on the synthetic market (needs nothing from `../shared`, so it runs on any clone):
//! identical outputs for 1, 2 and 3 workers and with every bronze file split in pieces; every
//! dataset written; bar volume equals traded volume; a filtered run opens only its files.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use daedalus_dataflow::config::RunConfig;
use daedalus_dataflow::{ClusterConfig, execute, plan};
use daedalus_sources::synthetic::{GenConfig, generate};
use daedalus_tests::{assert_same_outputs, conformance, read_partitions, skip};
use std::path::Path;

const OUTPUTS: [&str; 5] = [
    "silver/book",
    "silver/ticker",
    "silver/trades",
    "silver/intervals",
    "gold/bars",
];

fn config() -> RunConfig {
    let mut c = RunConfig {
        interval: vec!["1s".into(), "1m".into()],
        bar: vec!["time_1m".into(), "volume_20".into(), "tick_50".into()],
        vpin_n: 10,
        ..RunConfig::default()
    };
    for m in [
        "binance/BTC-USDT",
        "binance/BTC-USDC",
        "binance-futures/BTC-USDT-PERP",
    ] {
        c.vpin_v.insert(m.into(), 2.0);
    }
    c
}

fn gen_root(events: u64, days: u32) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    generate(
        &GenConfig {
            events,
            markets: 3,
            days,
            ..GenConfig::default()
        },
        d.path(),
    )
    .unwrap();
    d
}

fn run(root: &Path, c: RunConfig, workers: usize) -> daedalus_dataflow::WorkerSummary {
    let s = execute(
        plan(root.to_path_buf(), c).unwrap(),
        &ClusterConfig {
            workers,
            processes: 1,
            process: 0,
            addresses: vec![],
        },
    )
    .unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    s
}

#[test]
fn synthetic_outputs_are_identical_for_any_worker_count_and_split() {
    let roots: Vec<_> = (0..3).map(|_| gen_root(120_000, 2)).collect();
    for (w, r) in roots.iter().enumerate() {
        run(r.path(), config(), w + 1);
    }
    for r in &roots[1..] {
        assert_same_outputs(roots[0].path(), r.path(), &OUTPUTS);
    }
    // Every dataset, both days.
    for ds in [
        "silver/book",
        "silver/ticker",
        "silver/trades",
        "silver/intervals/interval=1s",
        "silver/intervals/interval=1m",
        "gold/bars/bar=time_1m",
        "gold/bars/bar=volume_20",
        "gold/bars/bar=tick_50",
    ] {
        for day in ["2024-01-01", "2024-01-02"] {
            assert!(
                read_partitions(roots[0].path(), ds)
                    .keys()
                    .any(|k| k.ends_with(&format!("date={day}"))),
                "{ds} {day}"
            );
        }
    }
    // Σ bar volume = Σ trade size, per bar spec and market.
    let trades = read_partitions(roots[0].path(), "bronze/trades");
    let total = |m: &str| -> f64 {
        trades
            .iter()
            .filter(|(k, _)| k.contains(m))
            .map(|(_, b)| {
                b.column_by_name("size")
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .values()
                    .iter()
                    .sum::<f64>()
            })
            .sum()
    };
    for spec in ["time_1m", "volume_20", "tick_50"] {
        let bars = read_partitions(roots[0].path(), &format!("gold/bars/bar={spec}"));
        for m in [
            "symbol=BTC-USDT/",
            "symbol=BTC-USDC/",
            "symbol=BTC-USDT-PERP/",
        ] {
            let v: f64 = bars
                .iter()
                .filter(|(k, _)| k.contains(m))
                .map(|(_, b)| {
                    b.column_by_name("volume")
                        .unwrap()
                        .as_primitive::<Float64Type>()
                        .values()
                        .iter()
                        .sum::<f64>()
                })
                .sum();
            let t = total(m);
            assert!(
                (v - t).abs() <= 1e-9 * t.max(1.0),
                "{spec} {m}: bars {v} vs trades {t}"
            );
        }
    }
    match conformance(roots[0].path()) {
        None => skip(
            "synthetic conformance",
            "python3 with duckdb+pyarrow or ../shared/tools not available",
        ),
        Some((ok, out)) => assert!(ok, "conformance failed:\n{out}"),
    }
}

#[test]
fn filtered_synthetic_run_opens_only_its_partitions() {
    let r = gen_root(30_000, 1);
    let mut c = config();
    c.normalize_quotes = true;
    c.filter.symbol = vec!["BTC-USD".into()];
    let p = plan(r.path().to_path_buf(), c.clone()).unwrap();
    let names: Vec<String> = p.markets.iter().map(|m| m.to_string()).collect();
    assert_eq!(names, vec!["binance/BTC-USDC", "binance/BTC-USDT"]);
    let files: usize = p.partitions.iter().map(|a| a.partition.files.len()).sum();
    let s = run(r.path(), c, 2);
    assert_eq!(s.files_opened as usize, files);
    assert!(
        read_partitions(r.path(), "silver/trades")
            .keys()
            .all(|k| !k.contains("PERP"))
    );
}

/// CONTRACT §9.8 `adv` rule: without `--vpin-v`, V for each day is the mean daily volume of the
/// earlier days (up to 30) in the root / 50; the first day has none (null VPIN).
#[test]
fn vpin_adv_rule_uses_only_earlier_days() {
    use daedalus_model::market::Market;
    use daedalus_model::time::Date;
    let r = gen_root(60_000, 3);
    let m = Market::new("binance", "BTC-USDT").unwrap();
    let days: Vec<Date> = ["2024-01-01", "2024-01-02", "2024-01-03"]
        .iter()
        .map(|d| Date::parse(d).unwrap())
        .collect();
    let sched = daedalus_dataflow::adv_schedule(r.path(), &m, &days).unwrap();
    let trades = read_partitions(r.path(), "bronze/trades");
    let vol = |day: &str| -> f64 {
        trades
            .iter()
            .filter(|(k, _)| k.contains("symbol=BTC-USDT/") && k.ends_with(day))
            .map(|(_, b)| {
                b.column_by_name("size")
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .values()
                    .iter()
                    .sum::<f64>()
            })
            .sum()
    };
    let (d1, d2) = (vol("2024-01-01"), vol("2024-01-02"));
    assert_eq!(sched.len(), 2, "{sched:?}");
    assert_eq!(sched[0].0, days[1].days_since_epoch());
    assert!(
        (sched[0].1.to_f64() - d1 / 50.0).abs() < 1e-8,
        "{} vs {}",
        sched[0].1.to_f64(),
        d1 / 50.0
    );
    assert!((sched[1].1.to_f64() - (d1 + d2) / 2.0 / 50.0).abs() < 1e-8);
    // End to end: day 1 has no VPIN, later days do.
    let mut c = config();
    c.vpin_v.clear();
    c.filter.symbol = vec!["BTC-USDT".into()];
    run(r.path(), c, 1);
    let silver = read_partitions(r.path(), "silver/trades");
    for (k, b) in &silver {
        let buckets = b.column_by_name("vpin_bucket").unwrap();
        if k.ends_with("2024-01-01") {
            assert_eq!(buckets.null_count(), b.num_rows(), "{k}");
        } else {
            assert_eq!(buckets.null_count(), 0, "{k}");
        }
    }
}

/// Issue 7: a bars-only run reads no `trade_id` column and skips the trade engine while it is
/// passive (no TFI windows, no silver/trades, and no VPIN until the `adv` rule has a V on the
/// second day), yet writes exactly the bars of a run with every output, on 1 and 2 workers.
#[test]
fn issue_7_bars_only_run_writes_the_bars_of_a_full_run() {
    use daedalus_dataflow::config::Output;
    let bars = vec!["time_1m".into(), "volume_20".into(), "tick_50".into()];
    let full = RunConfig {
        bar: bars.clone(),
        ..RunConfig::default()
    };
    let only_bars = RunConfig {
        bar: bars,
        outputs: vec![Output::Bars],
        ..RunConfig::default()
    };
    let roots: Vec<_> = (0..3).map(|_| gen_root(120_000, 2)).collect();
    run(roots[0].path(), full, 1);
    run(roots[1].path(), only_bars.clone(), 1);
    run(roots[2].path(), only_bars, 2);
    for r in &roots[1..] {
        assert_same_outputs(roots[0].path(), r.path(), &["gold/bars"]);
        assert!(read_partitions(r.path(), "silver/trades").is_empty());
    }
    // VPIN is null on the first day (no earlier day for the adv rule) and set on the second.
    let b = read_partitions(roots[1].path(), "gold/bars/bar=time_1m");
    let vpin_set = |day: &str| {
        b.iter()
            .filter(|(k, _)| k.ends_with(&format!("date={day}")))
            .map(|(_, rb)| {
                let c = rb.column_by_name("vpin").expect("vpin column");
                c.len() - c.null_count()
            })
            .sum::<usize>()
    };
    assert_eq!(vpin_set("2024-01-01"), 0);
    assert!(vpin_set("2024-01-02") > 0);
}
