//! Issue 5 acceptance on the real Binance recordings (skips when `../shared` is absent):
//! every silver dataset and `gold/bars/bar=time_1m` for both dates, value cross-checks,
//! determinism across worker counts, a 2-process cluster and file splits, filters that open no
//! file outside them, and the shared conformance checker.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use daedalus_dataflow::config::RunConfig;
use daedalus_dataflow::{ClusterConfig, execute, plan};
use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use daedalus_tests::{
    assert_same_outputs, binance_files, conformance, copy_tree, read_partitions, skip,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::Path;

const OUTPUTS: [&str; 5] = [
    "silver/book",
    "silver/ticker",
    "silver/trades",
    "silver/intervals",
    "gold/bars",
];

fn reference_config() -> RunConfig {
    let mut c = RunConfig {
        vpin_n: 10,
        ..RunConfig::default()
    };
    for (m, v) in [
        ("binance/BTC-USDT", 8.76),
        ("binance/ETH-USDT", 85.5),
        ("binance-futures/BTC-USDT-PERP", 48.6),
        ("binance-futures/ETH-USDT-PERP", 183.0),
        ("binance-delivery/BTC-USD-PERP", 3640.0),
        ("binance-delivery/ETH-USD-PERP", 9190.0),
    ] {
        c.vpin_v.insert(m.to_string(), v);
    }
    c
}

/// A fresh root holding a copy of `bronze`.
fn root_with_bronze(bronze_root: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("bronze")).unwrap();
    copy_tree(&bronze_root.join("bronze"), &d.path().join("bronze"));
    d
}

fn run(root: &Path, config: RunConfig, workers: usize) -> daedalus_dataflow::WorkerSummary {
    let p = plan(root.to_path_buf(), config).unwrap();
    let s = execute(
        p,
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

fn ingest_real() -> Option<tempfile::TempDir> {
    let files = binance_files()?;
    let d = tempfile::tempdir().unwrap();
    ingest(
        InputFormat::BinanceRaw,
        &files,
        d.path(),
        &IngestOptions {
            lenient: false,
            ..Default::default()
        },
    )
    .unwrap();
    Some(d)
}

fn f64s(b: &RecordBatch, c: &str) -> Vec<Option<f64>> {
    b.column_by_name(c)
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

/// Rewrites every bronze file into `parts` files of consecutive rows (names keep the order).
fn split_bronze(root: &Path, parts: usize) {
    let mut stack = vec![root.join("bronze")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let file = std::fs::File::open(&p).unwrap();
            let r = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
            let schema = batches[0].schema();
            let all = arrow::compute::concat_batches(&schema, &batches).unwrap();
            std::fs::remove_file(&p).unwrap();
            let n = all.num_rows();
            let step = n.div_ceil(parts).max(1);
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            for (k, start) in (0..n).step_by(step).enumerate() {
                let len = step.min(n - start);
                let out = d.join(format!("{stem}-split{k:03}.parquet"));
                let mut w =
                    ArrowWriter::try_new(std::fs::File::create(out).unwrap(), schema.clone(), None)
                        .unwrap();
                w.write(&all.slice(start, len)).unwrap();
                w.close().unwrap();
            }
        }
    }
}

#[test]
fn real_binance_end_to_end() {
    let Some(bronze) = ingest_real() else {
        return skip("real_binance_end_to_end", "../shared/data/real not found");
    };
    let main = root_with_bronze(bronze.path());
    let s = run(main.path(), reference_config(), 1);
    println!("summary: {s:?}");

    // Every dataset, every market, both dates.
    let markets = [
        "exchange=binance/symbol=BTC-USDT",
        "exchange=binance/symbol=ETH-USDT",
        "exchange=binance-futures/symbol=BTC-USDT-PERP",
        "exchange=binance-futures/symbol=ETH-USDT-PERP",
        "exchange=binance-delivery/symbol=BTC-USD-PERP",
        "exchange=binance-delivery/symbol=ETH-USD-PERP",
    ];
    // Every dataset has both dates; every market has a partition wherever its bronze has the
    // events that define it (USD-M BTC has no trade after midnight, so no 08-09 time bar).
    for ds in [
        "silver/book",
        "silver/ticker",
        "silver/trades",
        "silver/intervals/interval=1s",
        "gold/bars/bar=time_1m",
    ] {
        for date in ["2024-08-08", "2024-08-09"] {
            let n = markets
                .iter()
                .filter(|m| {
                    main.path()
                        .join(ds)
                        .join(m)
                        .join(format!("date={date}"))
                        .is_dir()
                })
                .count();
            assert!(n >= 5, "{ds} date={date}: only {n} markets");
        }
        for m in markets {
            let src = if ds.contains("bars") || ds.contains("trades") {
                "bronze/trades"
            } else if ds.contains("ticker") {
                "bronze/ticker"
            } else {
                "bronze/book"
            };
            for date in ["2024-08-08", "2024-08-09"] {
                if bronze
                    .path()
                    .join(src)
                    .join(m)
                    .join(format!("date={date}"))
                    .is_dir()
                {
                    let dir = main.path().join(ds).join(m).join(format!("date={date}"));
                    assert!(dir.is_dir(), "missing {}", dir.display());
                }
            }
        }
    }

    // Bars: signed_volume = buy - sell; tfi (B-S)/(B+S); Σ bar volume = Σ trade size per market/day.
    let bars = read_partitions(main.path(), "gold/bars/bar=time_1m");
    let trades = read_partitions(main.path(), "bronze/trades");
    for (k, b) in &bars {
        let (buy, sell, sv, tfi, vol) = (
            f64s(b, "buy_volume"),
            f64s(b, "sell_volume"),
            f64s(b, "signed_volume"),
            f64s(b, "tfi"),
            f64s(b, "volume"),
        );
        for i in 0..b.num_rows() {
            let (bu, se) = (buy[i].unwrap(), sell[i].unwrap());
            assert!(
                (sv[i].unwrap() - (bu - se)).abs() <= 1e-9 * (1.0 + bu + se),
                "{k} row {i}"
            );
            match tfi[i] {
                Some(t) => assert!((t - (bu - se) / (bu + se)).abs() <= 1e-12, "{k} row {i}"),
                None => assert_eq!(bu + se, 0.0, "{k} row {i}"),
            }
        }
        let bronze_key = k.replace("gold/bars/bar=time_1m", "bronze/trades");
        let traded: f64 = f64s(&trades[&bronze_key], "size")
            .iter()
            .map(|x| x.unwrap())
            .sum();
        let barred: f64 = vol.iter().map(|x| x.unwrap()).sum();
        assert!(
            (traded - barred).abs() <= 1e-9 * traded.max(1.0),
            "{k}: bars {barred} vs trades {traded}"
        );
    }

    // Silver book top of book equals the venue bookTicker wherever the book reached its update id.
    let book = read_partitions(main.path(), "silver/book");
    let ticker = read_partitions(main.path(), "silver/ticker");
    let mut checked = 0;
    for (k, t) in &ticker {
        let bk = k.replace("silver/ticker", "silver/book");
        let Some(b) = book.get(&bk) else { continue };
        let bseq = b
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let mut top: BTreeMap<u64, [Option<f64>; 4]> = BTreeMap::new();
        let (bb, ba, bq, aq) = (
            f64s(b, "best_bid"),
            f64s(b, "best_ask"),
            f64s(b, "bid_size_1"),
            f64s(b, "ask_size_1"),
        );
        for i in 0..b.num_rows() {
            if bseq.is_valid(i) {
                top.insert(bseq.value(i), [bb[i], bq[i], ba[i], aq[i]]);
            }
        }
        let tseq = t
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let (tb, tbq, ta, taq) = (
            f64s(t, "bid_price"),
            f64s(t, "bid_size"),
            f64s(t, "ask_price"),
            f64s(t, "ask_size"),
        );
        for i in 0..t.num_rows() {
            if let Some(v) = top.get(&tseq.value(i)) {
                assert_eq!(*v, [tb[i], tbq[i], ta[i], taq[i]], "{k} ticker row {i}");
                checked += 1;
            }
        }
    }
    assert!(
        checked > 1000,
        "only {checked} tickers matched an update id"
    );

    // Conformance (layout, schemas, nulls, identities, DuckDB hive reads).
    match conformance(main.path()) {
        None => skip(
            "real_binance_end_to_end/conformance",
            "python3 with duckdb+pyarrow not available",
        ),
        Some((ok, out)) => assert!(ok, "conformance failed:\n{out}"),
    }

    // Determinism: worker counts.
    for w in [2, 3] {
        let r = root_with_bronze(bronze.path());
        run(r.path(), reference_config(), w);
        assert_same_outputs(main.path(), r.path(), &OUTPUTS);
    }
    // Determinism: many small bronze files versus one per partition.
    let split = root_with_bronze(bronze.path());
    split_bronze(split.path(), 7);
    run(split.path(), reference_config(), 2);
    assert_same_outputs(main.path(), split.path(), &OUTPUTS);

    // The 2-process cluster runs the real CLI: dataflow/tests/cli_cluster.rs.
}

#[test]
fn filters_prune_by_path_and_follow_normalize_quotes() {
    let Some(bronze) = ingest_real() else {
        return skip(
            "filters_prune_by_path_and_follow_normalize_quotes",
            "../shared/data/real not found",
        );
    };
    let markets = |symbols: &[&str], nq: bool| {
        let mut c = RunConfig {
            normalize_quotes: nq,
            ..RunConfig::default()
        };
        c.filter.symbol = symbols.iter().map(|s| s.to_string()).collect();
        plan(bronze.path().to_path_buf(), c)
            .map(|p| p.markets.iter().map(|m| m.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        markets(&["BTC-USD"], true).unwrap(),
        vec!["binance/BTC-USDT"]
    );
    assert_eq!(
        markets(&["BTC-USD-PERP"], true).unwrap(),
        vec![
            "binance-delivery/BTC-USD-PERP",
            "binance-futures/BTC-USDT-PERP"
        ]
    );
    assert!(
        markets(&["BTC-USD"], false).is_err(),
        "without the flag BTC-USD matches nothing"
    );
    assert_eq!(
        markets(&["BTC-USD-PERP"], false).unwrap(),
        vec!["binance-delivery/BTC-USD-PERP"]
    );

    // A filtered run opens only the files of its partitions, and keeps state and paths separate.
    let r = root_with_bronze(bronze.path());
    let mut c = RunConfig {
        normalize_quotes: true,
        ..RunConfig::default()
    };
    c.filter.symbol = vec!["BTC-USD-PERP".into()];
    let p = plan(r.path().to_path_buf(), c.clone()).unwrap();
    let expected_files: usize = p.partitions.iter().map(|a| a.partition.files.len()).sum();
    let s = run(r.path(), c, 2);
    assert_eq!(s.files_opened as usize, expected_files);
    let trades = read_partitions(r.path(), "silver/trades");
    assert!(
        trades.keys().all(|k| k.contains("PERP")),
        "{:?}",
        trades.keys().collect::<Vec<_>>()
    );
    assert!(trades.keys().any(|k| k.contains("symbol=BTC-USDT-PERP")));
    assert!(trades.keys().any(|k| k.contains("symbol=BTC-USD-PERP")));
    for b in trades.values() {
        let sn = b.column_by_name("symbol_norm").unwrap();
        let sn = arrow::compute::cast(sn, &arrow_schema::DataType::Utf8).unwrap();
        assert!(
            sn.as_string::<i32>()
                .iter()
                .all(|v| v == Some("BTC-USD-PERP"))
        );
    }
}
