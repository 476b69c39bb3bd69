//! Issue 17 acceptance: `daedalus run` on one root holding every venue and format of
//! PROVENANCE.md plus the Binance recordings completes, `report` draws every market, and
//! conformance.py is OK.
//!
//! The main root holds: the six cryptofeed captures, the Binance raw recordings (spot and
//! COIN-M), the USD-M market as Binance public archives (`binance-vision`, written from the
//! USD-M recordings' own trades: archives and recordings of one market at the same times would
//! be the same prints twice), Hyperliquid, the Bybit ob500 archive and the Tardis Deribit and
//! Huobi samples. Three Tardis samples are markets the main root already holds years earlier
//! (Binance USD-M BTCUSDT on 2020-09-01, BitMEX XBTUSD on 2020-03-01: one market's interval grid
//! would then span years of empty seconds) or each other at the same times (`book_snapshot_25`
//! and `_5`: two views of one book); they get a root each with the same checks.

use daedalus_sources::ingest::state;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DAEDALUS_FAULT")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = daedalus(args);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "daedalus {args:?}: {text}");
    text
}

fn ingest(format: &str, root: &Path, inputs: &[PathBuf]) {
    let r = root.to_string_lossy().into_owned();
    let mut args = vec!["ingest", "--quiet", "--format", format, "--root", &r];
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    ok(&args);
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

/// Runs, reports and checks conformance of `root`; returns the markets of its ingest state.
fn run_report_conform(root: &Path) -> Vec<String> {
    let r = root.to_string_lossy().into_owned();
    ok(&["run", "--quiet", "--root", &r, "-w", "2"]);
    let html = root.join("report.html");
    ok(&[
        "report",
        "--quiet",
        "--root",
        &r,
        "--out",
        &html.to_string_lossy(),
    ]);
    let html = std::fs::read_to_string(html).unwrap();
    let markets: Vec<String> = state::load_all(root)
        .unwrap()
        .into_keys()
        .map(|m| m.to_string())
        .collect();
    for m in &markets {
        assert!(html.contains(m.as_str()), "report does not draw {m}");
    }
    match daedalus_tests::conformance(root) {
        Some((ok, text)) => assert!(ok, "{text}"),
        None => daedalus_tests::skip("conformance", "python3 with duckdb/pyarrow unavailable"),
    }
    markets
}

/// The USD-M recordings' trades as Binance USD-M `trades` archives (one per recording, header
/// line, ms times), read back from a scratch ingest of the recordings.
fn usdm_archives(real: &Path, tmp: &Path) -> Vec<PathBuf> {
    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use arrow::compute::cast;
    use arrow::datatypes::DataType;
    let scratch = tmp.join("usdm-raw");
    ingest(
        "binance-raw",
        &scratch,
        &files(&real.join("hftbacktest/usdm"), ".gz"),
    );
    let mut out = Vec::new();
    for (part, b) in daedalus_tests::read_partitions(&scratch, "bronze/trades") {
        let sym = part
            .split('/')
            .find_map(|p| p.strip_prefix("symbol="))
            .unwrap()
            .trim_end_matches("-PERP")
            .replace('-', "");
        let date = part.rsplit("date=").next().unwrap();
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let ts = cast(&col("ts_event"), &DataType::Int64).unwrap();
        let ts = ts.as_any().downcast_ref::<Int64Array>().unwrap();
        let id = cast(&col("trade_id"), &DataType::Utf8).unwrap();
        let id = id.as_any().downcast_ref::<StringArray>().unwrap();
        let side = cast(&col("side"), &DataType::Utf8).unwrap();
        let side = side.as_any().downcast_ref::<StringArray>().unwrap();
        let (p, q) = (col("price"), col("size"));
        let p = p.as_any().downcast_ref::<Float64Array>().unwrap();
        let q = q.as_any().downcast_ref::<Float64Array>().unwrap();
        let path = tmp.join(format!("{sym}-trades-{date}.csv"));
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "id,price,qty,quote_qty,time,is_buyer_maker").unwrap();
        for i in 0..b.num_rows() {
            let (px, qty) = (p.value(i), q.value(i));
            let maker = side.value(i) == "sell";
            let ms = ts.value(i) / 1_000_000;
            writeln!(f, "{},{px},{qty},{},{ms},{maker}", id.value(i), px * qty).unwrap();
        }
        out.push(path);
    }
    assert!(out.len() >= 2, "{out:?}");
    out
}

#[test]
fn run_on_a_root_of_every_venue_and_format_reports_every_market_and_conforms() {
    let Some(real) = daedalus_tests::real_data() else {
        return daedalus_tests::skip("issue_17_all_venues", "../shared/data/real absent");
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("all");
    ingest("cryptofeed", &root, &files(&real.join("cryptofeed"), ""));
    let mut raw = files(&real.join("hftbacktest/spot"), ".gz");
    raw.extend(files(&real.join("hftbacktest/cm"), ".gz"));
    ingest("binance-raw", &root, &raw);
    ingest("binance-vision", &root, &usdm_archives(&real, tmp.path()));
    ingest(
        "hyperliquid",
        &root,
        &files(&real.join("hftbacktest/hyperliquid"), ".gz"),
    );
    let nt = real.join("nautilus_trader");
    ingest(
        "bybit-orderbook",
        &root,
        &[nt.join("bybit/xrpusdt-ob500.data.zip")],
    );
    let tardis = nt.join("tardis");
    ingest(
        "tardis-csv",
        &root,
        &[
            tardis.join("deribit_incremental_book_L2_BTC-PERPETUAL.csv"),
            tardis.join("huobi-dm-swap_quotes_BTC-USD.csv"),
        ],
    );
    let markets = run_report_conform(&root);
    // 45 cryptofeed markets, 4 spot/COIN-M Binance, 2 USD-M from archives, Hyperliquid BTC,
    // Bybit XRPUSDT, Deribit, Huobi.
    for m in [
        "binance-futures/BTC-USDT-PERP",
        "binance-futures/ETH-USDT-PERP",
        "binance-delivery/BTC-USD-PERP",
        "hyperliquid/BTC-USDC-PERP",
        "bybit/XRP-USDT-PERP",
        "deribit/BTC-USD-PERP",
        "huobi-dm-swap/BTC-USD-PERP",
        "bequant/BTC-TUSD",
    ] {
        assert!(markets.iter().any(|x| x == m), "{m} missing: {markets:?}");
    }
    assert_eq!(markets.len(), 45 + 4 + 2 + 1 + 1 + 2, "{markets:?}");

    for (name, inputs) in [
        (
            "tardis-a",
            vec![
                tardis.join("binance-futures_book_snapshot_25_BTCUSDT.csv"),
                tardis.join("bitmex_trades_XBTUSD.csv"),
            ],
        ),
        (
            "tardis-b",
            vec![tardis.join("binance-futures_book_snapshot_5_BTCUSDT.csv")],
        ),
    ] {
        let r = tmp.path().join(name);
        ingest("tardis-csv", &r, &inputs);
        assert!(!run_report_conform(&r).is_empty());
    }
}
