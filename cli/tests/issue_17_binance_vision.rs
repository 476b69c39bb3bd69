//! Issue 17 item 4: `--format binance-vision`, Binance's public trade archives. There is no
//! archive in `../shared/data/real`, so the test writes the real Binance spot trades of
//! `hftbacktest/spot/btcusdt_20240808.gz` (ingested with `binance-raw`) out in every archive
//! layout (spot/USD-M/COIN-M, trades/aggTrades, header or not, ms or µs, `.csv`, gzip or `.zip`)
//! and checks: the bronze trades equal the source rows one for one (time, price, size, side,
//! id); spot archives and the raw recording of the same trades give identical bronze rows (but
//! `ts_recv`, which is the trade time for archives); file by file equals all at once in any
//! order, and `--watch` equals batch; `run` on the trades-only root gives bars and trade
//! features, book features null.

use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use daedalus_tests::{assert_same_outputs, read_partitions, real_data, skip};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = daedalus(args);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "daedalus {args:?} failed: {text}");
    text
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// One bronze trade: `(ts_event, ts_recv, trade_id, price, size, side)`.
type Trade = (i64, i64, String, f64, f64, String);

/// Every bronze trade of `root` of the market directory `exchange=E/symbol=S`, in file order.
fn bronze_trades(root: &Path, market: &str) -> Vec<Trade> {
    let mut out = Vec::new();
    for (part, b) in read_partitions(root, "bronze/trades") {
        if !part.contains(market) {
            continue;
        }
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let int = |n: &str| cast(&col(n), &DataType::Int64).unwrap();
        let text = |n: &str| cast(&col(n), &DataType::Utf8).unwrap();
        let (ev, rv) = (int("ts_event"), int("ts_recv"));
        let ev = ev.as_any().downcast_ref::<Int64Array>().unwrap();
        let rv = rv.as_any().downcast_ref::<Int64Array>().unwrap();
        let (id, side) = (text("trade_id"), text("side"));
        let id = id.as_any().downcast_ref::<StringArray>().unwrap();
        let side = side.as_any().downcast_ref::<StringArray>().unwrap();
        let (p, q) = (col("price"), col("size"));
        let p = p.as_any().downcast_ref::<Float64Array>().unwrap();
        let q = q.as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                ev.value(i),
                rv.value(i),
                id.value(i).to_string(),
                p.value(i),
                q.value(i),
                side.value(i).to_string(),
            ));
        }
    }
    out
}

/// The trades without `ts_recv`.
fn without_recv(t: &[Trade]) -> Vec<(i64, String, f64, f64, String)> {
    t.iter()
        .map(|(e, _, id, p, q, s)| (*e, id.clone(), *p, *q, s.clone()))
        .collect()
}

/// Archive layouts the test writes.
#[derive(Clone, Copy)]
enum Layout {
    SpotTrades,
    UsdmTrades,
    CoinmTrades,
    SpotAgg,
    FuturesAgg,
}

/// One archive row of trade `t` in `layout`; `micros`: time in µs.
fn row(t: &Trade, layout: Layout, micros: bool) -> String {
    let (ev, _, id, p, q, side) = t;
    let time = if micros { ev / 1_000 } else { ev / 1_000_000 };
    let maker = side == "sell";
    let m = if maker { "True" } else { "False" };
    let quote = p * q;
    match layout {
        Layout::SpotTrades => format!("{id},{p},{q},{quote},{time},{m},True"),
        Layout::UsdmTrades | Layout::CoinmTrades => format!("{id},{p},{q},{quote},{time},{maker}"),
        Layout::SpotAgg => format!("{id},{p},{q},{id},{id},{time},{m},True"),
        Layout::FuturesAgg => format!("{id},{p},{q},{id},{id},{time},{maker}"),
    }
}

fn header(layout: Layout) -> &'static str {
    match layout {
        Layout::SpotTrades => "id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch",
        Layout::UsdmTrades => "id,price,qty,quote_qty,time,is_buyer_maker",
        Layout::CoinmTrades => "id,price,qty,base_qty,time,is_buyer_maker",
        Layout::SpotAgg => "a,p,q,f,l,T,m,M",
        Layout::FuturesAgg => {
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
        }
    }
}

/// How an archive file is written.
struct Spec {
    name: &'static str,
    layout: Layout,
    header: bool,
    micros: bool,
    /// `"csv"`, `"gz"` or `"zip"`.
    container: &'static str,
}

fn write_archive(dir: &Path, spec: &Spec, trades: &[Trade]) -> PathBuf {
    let mut text = String::new();
    if spec.header {
        text.push_str(header(spec.layout));
        text.push('\n');
    }
    for t in trades {
        text.push_str(&row(t, spec.layout, spec.micros));
        text.push('\n');
    }
    let csv = format!("{}.csv", spec.name);
    match spec.container {
        "csv" => {
            let p = dir.join(&csv);
            std::fs::write(&p, text).unwrap();
            p
        }
        "gz" => {
            let p = dir.join(format!("{csv}.gz"));
            let mut e = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::default(),
            );
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap();
            p
        }
        _ => {
            let p = dir.join(format!("{}.zip", spec.name));
            let mut w = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
            w.start_file(&csv, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
            w.finish().unwrap();
            p
        }
    }
}

/// The real spot trades of one Binance raw file, ingested with `binance-raw`.
fn real_spot_trades(tmp: &Path) -> Option<(PathBuf, Vec<Trade>)> {
    let Some(real) = real_data() else {
        skip("issue_17_binance_vision", "../shared/data/real absent");
        return None;
    };
    let raw = tmp.join("raw");
    let input = real.join("hftbacktest/spot/btcusdt_20240808.gz");
    ok(&[
        "ingest",
        "--format",
        "binance-raw",
        "--root",
        &s(&raw),
        &s(&input),
    ]);
    let trades = bronze_trades(&raw, "exchange=binance/symbol=BTC-USDT");
    Some((raw, trades))
}

fn vision(root: &Path, files: &[PathBuf], extra: &[&str]) -> String {
    let mut a = vec!["ingest", "--format", "binance-vision", "--root"];
    let r = s(root);
    a.push(&r);
    a.extend_from_slice(extra);
    let names: Vec<String> = files.iter().map(|f| s(f)).collect();
    a.extend(names.iter().map(String::as_str));
    ok(&a)
}

#[test]
fn every_layout_gives_the_source_trades_one_for_one() {
    let d = tempfile::tempdir().unwrap();
    let Some((raw, trades)) = real_spot_trades(d.path()) else {
        return;
    };
    assert_eq!(trades.len(), 9_757, "the file's trades (PROVENANCE.md)");
    let sells = trades.iter().filter(|t| t.5 == "sell").count();
    assert!(sells > 0 && sells < trades.len(), "both sides present");
    let want = without_recv(&trades);
    let cases = [
        (
            Spec {
                name: "BTCUSDT-trades-2024-08-08",
                layout: Layout::SpotTrades,
                header: false,
                micros: false,
                container: "zip",
            },
            "exchange=binance/symbol=BTC-USDT",
        ),
        (
            Spec {
                name: "BTCUSDT-trades-2025-01-01",
                layout: Layout::SpotTrades,
                header: true,
                micros: true,
                container: "csv",
            },
            "exchange=binance/symbol=BTC-USDT",
        ),
        (
            Spec {
                name: "BTCUSDT-trades-2024-08-08",
                layout: Layout::UsdmTrades,
                header: true,
                micros: false,
                container: "gz",
            },
            "exchange=binance-futures/symbol=BTC-USDT-PERP",
        ),
        (
            Spec {
                name: "BTCUSD_PERP-trades-2024-08-08",
                layout: Layout::CoinmTrades,
                header: false,
                micros: false,
                container: "zip",
            },
            "exchange=binance-delivery/symbol=BTC-USD-PERP",
        ),
        (
            Spec {
                name: "BTCUSDT-aggTrades-2024-08-08",
                layout: Layout::SpotAgg,
                header: false,
                micros: true,
                container: "zip",
            },
            "exchange=binance/symbol=BTC-USDT",
        ),
        (
            Spec {
                name: "BTCUSDT-aggTrades-2024-08-08",
                layout: Layout::FuturesAgg,
                header: true,
                micros: false,
                container: "csv",
            },
            "exchange=binance-futures/symbol=BTC-USDT-PERP",
        ),
        (
            Spec {
                name: "BTCUSD_PERP-aggTrades-2024-08-08",
                layout: Layout::FuturesAgg,
                header: false,
                micros: false,
                container: "csv",
            },
            "exchange=binance-delivery/symbol=BTC-USD-PERP",
        ),
    ];
    for (i, (spec, market)) in cases.iter().enumerate() {
        let dir = d.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = write_archive(&dir, spec, &trades);
        let root = dir.join("root");
        let text = vision(&root, &[file], &[]);
        let got = bronze_trades(&root, market);
        assert_eq!(got.len(), trades.len(), "case {i} {}: {text}", spec.name);
        assert!(
            got.iter().all(|t| t.1 == t.0),
            "case {i}: ts_recv = ts_event"
        );
        assert_eq!(without_recv(&got), want, "case {i} {}", spec.name);
    }
    // Spot archives and the raw recording of the same trades meet in one market with identical
    // rows: the bronze of the raw root (trades only) and of the archive differ in ts_recv alone.
    let vroot = d.path().join("case0/root");
    let v = bronze_trades(&vroot, "exchange=binance/symbol=BTC-USDT");
    let r = bronze_trades(&raw, "exchange=binance/symbol=BTC-USDT");
    assert_eq!(without_recv(&v), without_recv(&r));
    // The recording's ts_recv is the recorder's clock (which may even precede the venue's trade
    // time): only the archive has ts_recv = ts_event.
    assert!(r.iter().zip(&v).any(|(a, b)| a.1 != b.1));
}

#[test]
fn the_override_and_bad_rows_are_explicit() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ETHUSDT-trades-2024-08-08.csv");
    std::fs::write(&p, "1,2685.53,0.01,26.8553,1723075200054,true\n").unwrap();
    let root = d.path().join("r");
    vision(
        &root,
        std::slice::from_ref(&p),
        &["--binance-market", "usdm"],
    );
    assert_eq!(
        bronze_trades(&root, "exchange=binance-futures/symbol=ETH-USDT-PERP").len(),
        1
    );
    let out = daedalus(&[
        "ingest",
        "--format",
        "binance-vision",
        "--binance-market",
        "spot",
        "--root",
        &s(&d.path().join("r2")),
        &s(&p),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("ETHUSDT-trades-2024-08-08.csv:1: 6 columns, but spot trades archives have 7"),
        "{err}"
    );
    let bad = d.path().join("notes.csv");
    std::fs::write(&bad, "1,2,3,4,1723075200054,true\n").unwrap();
    let out = daedalus(&[
        "ingest",
        "--format",
        "binance-vision",
        "--root",
        &s(&d.path().join("r3")),
        &s(&bad),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("notes.csv") && err.contains("not a Binance archive name"),
        "{err}"
    );
}

/// The trades split into two daily archives at the median trade.
fn two_days(dir: &Path, trades: &[Trade]) -> Vec<PathBuf> {
    let half = trades.len() / 2;
    let spec = |name| Spec {
        name,
        layout: Layout::SpotTrades,
        header: false,
        micros: false,
        container: "zip",
    };
    vec![
        write_archive(dir, &spec("BTCUSDT-trades-2024-08-08"), &trades[..half]),
        write_archive(dir, &spec("BTCUSDT-trades-2024-08-09"), &trades[half..]),
    ]
}

#[test]
fn file_by_file_equals_all_at_once_and_watch_equals_batch() {
    let d = tempfile::tempdir().unwrap();
    let Some((_, trades)) = real_spot_trades(d.path()) else {
        return;
    };
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let files = two_days(&src, &trades);
    let all = d.path().join("all");
    vision(&all, &files, &[]);
    let one = d.path().join("one");
    vision(&one, &files[1..], &[]);
    let again = vision(&one, &files[..1], &[]);
    assert!(again.contains("trades"), "{again}");
    assert_same_outputs(&all, &one, &["bronze"]);
    // Re-ingesting an unchanged archive writes nothing.
    let text = vision(&one, &files, &[]);
    assert!(text.contains("unchanged"), "{text}");
    assert_same_outputs(&all, &one, &["bronze"]);

    let landing = d.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let wroot = d.path().join("watch");
    let mut child = Command::new(BIN)
        .args(["ingest", "--format", "binance-vision", "--watch"])
        .arg(&landing)
        .args(["--settle", "200ms", "--poll", "100ms", "--root"])
        .arg(&wroot)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for f in files.iter().rev() {
        let name = f.file_name().unwrap();
        let tmp = landing.join(format!(".{}", name.to_string_lossy()));
        std::fs::copy(f, &tmp).unwrap();
        std::fs::rename(&tmp, landing.join(name)).unwrap();
    }
    let t0 = Instant::now();
    while bronze_trades(&wroot, "exchange=binance/symbol=BTC-USDT").len() < trades.len() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "watch did not ingest"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(child.wait().unwrap().success(), "ingest --watch exits 0");
    assert_same_outputs(&all, &wroot, &["bronze"]);
}

#[test]
fn run_on_a_trades_only_market_gives_bars_and_trade_features() {
    let d = tempfile::tempdir().unwrap();
    let Some((_, trades)) = real_spot_trades(d.path()) else {
        return;
    };
    let root = d.path().join("root");
    let files = two_days(d.path(), &trades);
    vision(&root, &files, &[]);
    ok(&["run", "--root", &s(&root), "-w", "2", "--interval", "1m"]);
    let bars = read_partitions(&root, "gold/bars");
    assert!(!bars.is_empty(), "no bars");
    let mut n = 0i64;
    let mut volume = 0.0;
    for b in bars.values() {
        let c = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let tc = cast(&c("trade_count"), &DataType::Int64).unwrap();
        n += tc
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .flatten()
            .sum::<i64>();
        let v = c("volume");
        volume += v
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .iter()
            .flatten()
            .sum::<f64>();
    }
    let want: f64 = trades.iter().map(|t| t.4).sum();
    assert_eq!(n, trades.len() as i64, "every trade in one 1m bar");
    assert!((volume - want).abs() < 1e-9 * want, "{volume} vs {want}");
    let iv = read_partitions(&root, "silver/intervals");
    assert!(!iv.is_empty(), "no intervals");
    let (mut trades_seen, mut mids) = (0i64, 0usize);
    for b in iv.values() {
        let c = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let nt = cast(&c("n_trades"), &DataType::Int64).unwrap();
        trades_seen += nt
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .flatten()
            .sum::<i64>();
        mids += b.num_rows() - c("mid_close").null_count();
        assert!(c("tfi").null_count() < b.num_rows(), "tfi defined");
    }
    assert_eq!(trades_seen, trades.len() as i64);
    assert_eq!(mids, 0, "no book: mid_close is null everywhere (§9)");
}
