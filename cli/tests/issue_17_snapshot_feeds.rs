//! Issue 17, snapshot feeds (CONTRACT §10.3): Tardis `book_snapshot_N` and Hyperliquid `l2Book`
//! are stored as the first snapshot of an input, then the level changes between consecutive
//! snapshots. Checked against the files themselves: the book rebuilt from the bronze rows equals
//! every snapshot of the file at its time (an oracle over the raw file, parsed here
//! independently); Hyperliquid trades and the history replay are counted as the file holds
//! them; bronze is a function of the set of inputs; an unknown coin is an error naming it.

use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use daedalus_tests::{assert_same_outputs, read_partitions, real_data, skip};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn ingest(format: &str, files: &[PathBuf], root: &Path) -> String {
    let out = Command::new(BIN)
        .args(["ingest", "--format", format, "--root"])
        .arg(root)
        .args(files)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ingest failed: {text}");
    text
}

/// A book side: price bits → size.
type Levels = BTreeMap<u64, f64>;

/// One snapshot of the source file: receive time (ns) and `(bids, asks)`.
type Snap = (i64, Levels, Levels);

/// The bronze book rows of `root`, in file order: `(ts_recv, is_snapshot, side, price, size)`.
fn bronze_book(root: &Path) -> Vec<(i64, bool, String, f64, f64)> {
    let mut out = Vec::new();
    for (_, b) in read_partitions(root, "bronze/book") {
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let ts = cast(&col("ts_recv"), &DataType::Int64).unwrap();
        let ts = ts.as_any().downcast_ref::<Int64Array>().unwrap();
        let side = cast(&col("side"), &DataType::Utf8).unwrap();
        let side = side.as_any().downcast_ref::<StringArray>().unwrap();
        let snap = col("is_snapshot");
        let snap = snap.as_any().downcast_ref::<BooleanArray>().unwrap();
        let price = col("price");
        let price = price.as_any().downcast_ref::<Float64Array>().unwrap();
        let size = col("size");
        let size = size.as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                ts.value(i),
                snap.value(i),
                side.value(i).to_string(),
                price.value(i),
                size.value(i),
            ));
        }
    }
    out
}

/// Replays the bronze rows and checks the book after each source snapshot's time equals it;
/// returns how many snapshots were compared.
fn assert_book_equals_every_snapshot(root: &Path, snaps: &[Snap]) -> usize {
    let rows = bronze_book(root);
    let (mut bids, mut asks) = (Levels::new(), Levels::new());
    let mut next = 0;
    let mut last_snapshot_ts = None;
    for (t, want_bids, want_asks) in snaps {
        while next < rows.len() && rows[next].0 <= *t {
            let (ts, is_snap, side, price, size) = &rows[next];
            if *is_snap && last_snapshot_ts != Some(*ts) {
                bids.clear();
                asks.clear();
                last_snapshot_ts = Some(*ts);
            }
            let book = if side == "bid" { &mut bids } else { &mut asks };
            if *size == 0.0 {
                book.remove(&price.to_bits());
            } else {
                book.insert(price.to_bits(), *size);
            }
            next += 1;
        }
        assert_eq!(&bids, want_bids, "bids after the snapshot received at {t}");
        assert_eq!(&asks, want_asks, "asks after the snapshot received at {t}");
    }
    assert_eq!(next, rows.len(), "bronze rows after the last snapshot");
    snaps.len()
}

fn levels(pairs: impl Iterator<Item = (f64, f64)>) -> Levels {
    pairs.map(|(p, q)| (p.to_bits(), q)).collect()
}

/// The snapshots of a Tardis `book_snapshot_N` CSV, parsed here from its header names.
fn tardis_snapshots(file: &Path) -> Vec<Snap> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let depth = header.iter().filter(|h| h.ends_with("].price")).count() / 2;
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let side = |s: &str| {
                levels((0..depth).filter_map(|i| {
                    let p = f[at(&format!("{s}[{i}].price"))];
                    let q = f[at(&format!("{s}[{i}].amount"))];
                    (!p.is_empty()).then(|| (p.parse().unwrap(), q.parse().unwrap()))
                }))
            };
            let ts: i64 = f[at("local_timestamp")].parse().unwrap();
            (ts * 1000, side("bids"), side("asks"))
        })
        .collect()
}

#[test]
fn tardis_book_snapshots_rebuild_every_snapshot() {
    let Some(real) = real_data() else {
        return skip("tardis_book_snapshots", "../shared/data/real absent");
    };
    let dir = real.join("nautilus_trader/tardis");
    for (name, rows, changes) in [
        ("binance-futures_book_snapshot_25_BTCUSDT.csv", 10, 0),
        ("binance-futures_book_snapshot_5_BTCUSDT.csv", 10, 0),
    ] {
        let file = dir.join(name);
        let root = tempfile::tempdir().unwrap();
        let text = ingest("tardis-csv", std::slice::from_ref(&file), root.path());
        let snaps = tardis_snapshots(&file);
        assert_eq!(snaps.len(), rows, "{name}");
        assert_eq!(assert_book_equals_every_snapshot(root.path(), &snaps), rows);
        // The first snapshot is stored whole, every later one as its changes only.
        let book = bronze_book(root.path());
        let whole = book.iter().filter(|r| r.1).count();
        assert_eq!(whole, snaps[0].1.len() + snaps[0].2.len(), "{name}");
        assert!(
            book.len() - whole > changes,
            "{name}: later snapshots give changes"
        );
        assert!(text.contains("binance-futures/BTC-USDT-PERP"), "{text}");
    }
}

/// The `l2Book` snapshots and the trades of a Hyperliquid recording, parsed here.
fn hyperliquid_file(file: &Path) -> (Vec<Snap>, Vec<Vec<(u64, String)>>) {
    let gz = std::fs::File::open(file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
    let (mut snaps, mut trades) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let (ts, json) = line.split_once(' ').unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let side = |s: &serde_json::Value| {
            levels(s.as_array().unwrap().iter().map(|l| {
                let n = |k: &str| l[k].as_str().unwrap().parse::<f64>().unwrap();
                (n("px"), n("sz"))
            }))
        };
        match v["channel"].as_str().unwrap() {
            "l2Book" => {
                let l = &v["data"]["levels"];
                snaps.push((ts.parse().unwrap(), side(&l[0]), side(&l[1])));
            }
            "trades" => trades.push(
                v["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        (
                            t["tid"].as_u64().unwrap(),
                            t["side"].as_str().unwrap().into(),
                        )
                    })
                    .collect(),
            ),
            other => panic!("channel {other}"),
        }
    }
    (snaps, trades)
}

#[test]
fn hyperliquid_books_trades_and_history() {
    let Some(real) = real_data() else {
        return skip("hyperliquid", "../shared/data/real absent");
    };
    let file = real.join("hftbacktest/hyperliquid/btcusd_20250126.gz");
    let (snaps, trades) = hyperliquid_file(&file);
    // PROVENANCE.md: 46 l2Book messages, 9 trades messages with 64 trades (23 B, 41 A).
    assert_eq!((snaps.len(), trades.len()), (46, 9));
    assert_eq!(trades.iter().map(Vec::len).sum::<usize>(), 64);
    let root = tempfile::tempdir().unwrap();
    let text = ingest("hyperliquid", std::slice::from_ref(&file), root.path());
    assert_eq!(assert_book_equals_every_snapshot(root.path(), &snaps), 46);
    // The first trades message (30 trades) is the replay on subscription: history.
    let live: Vec<&(u64, String)> = trades[1..].iter().flatten().collect();
    assert_eq!((trades[0].len(), live.len()), (30, 34));
    assert!(text.contains("history trades skipped: 30"), "{text}");
    let bronze = read_partitions(root.path(), "bronze/trades");
    let b = bronze.values().next().unwrap();
    let col = |n: &str| cast(b.column(b.schema().index_of(n).unwrap()), &DataType::Utf8).unwrap();
    let (ids, sides) = (col("trade_id"), col("side"));
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let sides = sides.as_any().downcast_ref::<StringArray>().unwrap();
    let mut got: Vec<(u64, String)> = (0..b.num_rows())
        .map(|i| (ids.value(i).parse().unwrap(), sides.value(i).to_string()))
        .collect();
    let mut want: Vec<(u64, String)> = live
        .iter()
        .map(|(t, s)| (*t, if s == "B" { "buy" } else { "sell" }.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "live trades with the aggressor side (B buy, A sell)"
    );
    let market = "bronze/trades/exchange=hyperliquid/symbol=BTC-USDC-PERP/date=2025-01-26";
    assert!(bronze.contains_key(market), "{:?}", bronze.keys());
}

#[test]
fn hyperliquid_bronze_is_a_function_of_the_set_of_inputs() {
    let Some(real) = real_data() else {
        return skip("hyperliquid inputs", "../shared/data/real absent");
    };
    let gz = std::fs::File::open(real.join("hftbacktest/hyperliquid/btcusd_20250126.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<PathBuf> = [&lines[..25], &lines[25..]]
        .iter()
        .enumerate()
        .map(|(i, ls)| {
            let p = dir.path().join(format!("hl_part{i}.log"));
            std::fs::write(&p, ls.join("\n") + "\n").unwrap();
            p
        })
        .collect();
    let all = dir.path().join("all");
    ingest("hyperliquid", &parts, &all);
    for order in [[0, 1], [1, 0]] {
        let root = dir.path().join(format!("one-by-one-{order:?}"));
        for i in order {
            ingest("hyperliquid", std::slice::from_ref(&parts[i]), &root);
        }
        assert_same_outputs(&all, &root, &["bronze"]);
        let again = ingest("hyperliquid", &parts, &root);
        assert!(again.contains("unchanged (skipped): 2"), "{again}");
    }
}

#[test]
fn hyperliquid_unknown_coin_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("spot.log");
    let line = r#"1737918843893903000 {"channel":"l2Book","data":{"coin":"@107","time":1737918843542,"levels":[[{"n":1,"px":"1.0","sz":"2.0"}],[{"n":1,"px":"1.1","sz":"2.0"}]]}}"#;
    std::fs::write(&f, format!("{line}\n")).unwrap();
    let out = Command::new(BIN)
        .args(["ingest", "--format", "hyperliquid", "--root"])
        .arg(dir.path().join("root"))
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("spot.log:1: unknown hyperliquid coin \"@107\""),
        "{err}"
    );
}
