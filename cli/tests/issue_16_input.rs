//! Issue 16, bad input values: event and receive times outside 2009-01-01..2100-01-01 are an
//! error naming file and line at ingest (Binance raw, Tardis CSV), or skipped and counted with
//! `--lenient`; never clamped (a year-3000 stamp used to become 2262-04-11) and never written to
//! a `date=1969-...` partition. `run` over bronze written by another tool with such a row fails
//! naming the file and row.
//!
//! The Binance inputs are real lines (the first 400 of `spot/btcusdt_20240808.gz`), corrupted
//! here; skipped with a message when `../shared/data/real` is absent.

use daedalus_tests::{files_under, real_data, skip};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The first `n` lines of the real spot BTCUSDT recording.
fn real_lines(n: usize) -> Option<Vec<String>> {
    let f = real_data()?.join("hftbacktest/spot/btcusdt_20240808.gz");
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(f).ok()?)
        .read_to_string(&mut s)
        .ok()?;
    Some(s.lines().take(n).map(String::from).collect())
}

/// Index of the first line containing `pat`.
fn first(lines: &[String], pat: &str) -> usize {
    lines.iter().position(|l| l.contains(pat)).unwrap()
}

/// Replaces the value of JSON number field `"key":` in `line`.
fn set_number(line: &str, key: &str, v: i64) -> String {
    let k = format!("\"{key}\":");
    let at = line.find(&k).unwrap() + k.len();
    let end = at + line[at..].find([',', '}']).unwrap();
    format!("{}{v}{}", &line[..at], &line[end..])
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// Every `date=` directory name under `root/bronze`.
fn bronze_dates(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = files_under(root, &root.join("bronze"))
        .iter()
        .filter_map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .find(|c| c.starts_with("date="))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Year 3000 in ms (overflows ns), and a 1969 time in ms.
const YEAR_3000_MS: i64 = 32_503_680_000_000;
const Y1969_MS: i64 = -86_400_000;

#[test]
fn issue_16_binance_times_out_of_range_fail_or_are_skipped() {
    let Some(lines) = real_lines(400) else {
        return skip("issue_16_binance_times", "no ../shared/data/real");
    };
    let d = tempfile::tempdir().unwrap();
    let t = first(&lines, "@trade");
    let depth = first(&lines[1..], "@depth") + 1;
    let cases = [
        (t, set_number(&lines[t], "T", YEAR_3000_MS), "trade time T"),
        (t, set_number(&lines[t], "T", Y1969_MS), "trade time T"),
        (
            depth,
            set_number(&lines[depth], "E", YEAR_3000_MS),
            "depth event time E",
        ),
        (
            t,
            format!("-5{}", &lines[t][lines[t].find(' ').unwrap()..]),
            "receive time",
        ),
    ];
    let clean = daedalus(&[
        "ingest",
        "--format",
        "binance-raw",
        "--quiet",
        "--json",
        "--root",
        d.path().join("clean").to_str().unwrap(),
        write(d.path(), "clean.txt", &lines).to_str().unwrap(),
    ]);
    assert!(clean.status.success(), "{}", stderr(&clean));
    let clean_dates = bronze_dates(&d.path().join("clean"));
    let clean: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    let trades = clean["markets"]["binance/BTC-USDT"]["trades"]
        .as_u64()
        .unwrap();
    for (n, (i, bad, what)) in cases.iter().enumerate() {
        let mut v = lines.clone();
        v[*i] = bad.clone();
        let name = format!("bad{n}.txt");
        let input = write(d.path(), &name, &v);
        let root = d.path().join(format!("r{n}"));
        let args = [
            "ingest",
            "--format",
            "binance-raw",
            "--quiet",
            "--json",
            "--root",
        ];
        let mut a = args.to_vec();
        a.extend([root.to_str().unwrap(), input.to_str().unwrap()]);
        let out = daedalus(&a);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let at = format!("{name}:{}: {what}", i + 1);
        assert!(err.contains(&at), "{at} not in: {err}");
        assert!(
            err.contains("outside the accepted range 2009-01-01..2100-01-01"),
            "{err}"
        );
        assert!(!root.join("bronze").exists() || bronze_dates(&root).is_empty());

        a.push("--lenient");
        let out = daedalus(&a);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["skipped"]["time out of range"], 1, "{r}");
        let got = r["markets"]["binance/BTC-USDT"]["trades"].as_u64().unwrap();
        let want = if *i == t { trades - 1 } else { trades };
        assert_eq!(got, want, "{r}");
        assert_eq!(bronze_dates(&root), clean_dates);
    }
}

#[test]
fn issue_16_tardis_times_out_of_range_fail_or_are_skipped() {
    let d = tempfile::tempdir().unwrap();
    let header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
    let row = |ts: i64, id: u32| format!("binance,BTCUSDT,{ts},{},{id},buy,42000,0.5", ts + 100);
    let t0 = 1_704_067_200_000_000_i64;
    for (bad_ts, n) in [(-1_000_000_i64, 0), (32_503_680_000_000_000, 1)] {
        let lines = vec![
            header.to_string(),
            row(t0, 1),
            row(bad_ts, 2),
            row(t0 + 1, 3),
        ];
        let input = write(d.path(), &format!("t{n}.csv"), &lines);
        let root = d.path().join(format!("r{n}"));
        let mut a = vec![
            "ingest",
            "--format",
            "tardis-csv",
            "--quiet",
            "--json",
            "--root",
        ];
        a.extend([root.to_str().unwrap(), input.to_str().unwrap()]);
        let out = daedalus(&a);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("t{n}.csv:3: timestamp")), "{err}");
        assert!(err.contains("outside the accepted range"), "{err}");
        a.push("--lenient");
        let out = daedalus(&a);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["markets"]["binance/BTC-USDT"]["trades"], 2, "{r}");
        assert_eq!(bronze_dates(&root), ["date=2024-01-01"]);
    }
}

/// Bronze written by another tool with a 1969 `ts_event`: `run` fails naming file and row.
#[test]
fn issue_16_run_rejects_bronze_times_out_of_range() {
    use arrow::array::{Array, RecordBatch, TimestampNanosecondArray};
    use std::sync::Arc;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
    let t0 = 1_704_067_200_000_000_i64;
    let mut lines = vec![header.to_string()];
    lines.extend((0..5).map(|i| {
        format!(
            "binance,BTCUSDT,{},{},{i},sell,42000,0.5",
            t0 + i,
            t0 + i + 9
        )
    }));
    let input = write(d.path(), "t.csv", &lines);
    let out = daedalus(&[
        "ingest",
        "--format",
        "tardis-csv",
        "--quiet",
        "--root",
        root.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = files_under(&root, &root.join("bronze/trades"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    let path = root.join(&file);
    // Rewrite row 3's ts_event as 1969-12-31 (the other tool's bug).
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&path).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let b: RecordBatch = reader.map(|b| b.unwrap()).next().unwrap();
    let i = b.schema().index_of("ts_event").unwrap();
    let te = b
        .column(i)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    let mut v: Vec<i64> = te.values().to_vec();
    v[3] = -86_400_000_000_000;
    let col = TimestampNanosecondArray::from(v).with_timezone_opt(te.timezone().map(String::from));
    let mut cols = b.columns().to_vec();
    cols[i] = Arc::new(col);
    let b = RecordBatch::try_new(b.schema(), cols).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        b.schema(),
        None,
    )
    .unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();

    let out = daedalus(&["run", "--quiet", "--root", root.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.contains(&name), "{err}");
    assert!(
        err.contains("ts_event -86400000000000 ns (1969-12-31) is outside the accepted range"),
        "{err}"
    );
    assert!(
        !root
            .join("silver/trades/exchange=binance/symbol=BTC-USDT/date=1969-12-31")
            .exists()
    );
}

/// BitMEX `XBT/USD` (the XBTUSD perpetual written as a pair) is `bitmex/BTC-USD-PERP` (CONTRACT
/// §10.4), never `XBT--USD-PERP`; an unmappable symbol is an error naming it and its line.
/// Real rows: those (up to 20) of `nautilus_trader/tardis/bitmex_trades_XBTUSD.csv`, renamed here.
#[test]
fn issue_16_bitmex_pair_symbol_maps_per_contract() {
    let Some(real) = real_data() else {
        return skip("issue_16_bitmex_pair", "no ../shared/data/real");
    };
    let text =
        std::fs::read_to_string(real.join("nautilus_trader/tardis/bitmex_trades_XBTUSD.csv"))
            .unwrap();
    let lines: Vec<String> = text.lines().take(21).map(String::from).collect();
    let d = tempfile::tempdir().unwrap();
    let ingest = |name: &str, lines: &[String]| {
        let input = write(d.path(), name, lines);
        let root = d.path().join(name.replace('.', "_"));
        let out = daedalus(&[
            "ingest",
            "--format",
            "tardis-csv",
            "--quiet",
            "--json",
            "--root",
            root.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        (out, root)
    };
    let pair: Vec<String> = lines
        .iter()
        .map(|l| l.replacen(",XBTUSD,", ",XBT/USD,", 1))
        .collect();
    let (out, root) = ingest("pair.csv", &pair);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = lines.len() as u64 - 1;
    assert!(rows >= 6, "{rows} rows");
    assert_eq!(r["markets"]["bitmex/BTC-USD-PERP"]["trades"], rows, "{r}");
    assert!(
        root.join("bronze/trades/exchange=bitmex/symbol=BTC-USD-PERP")
            .is_dir()
    );

    let mut bad = pair;
    bad[5] = bad[5].replacen(",XBT/USD,", ",XBT/EUR,", 1);
    let (out, _) = ingest("bad.csv", &bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.csv:6: cannot map symbol \"XBT/EUR\" of exchange \"bitmex\""),
        "{err}"
    );
}

/// One invalid UTF-8 byte in a real Binance line: strict, an error naming file and line;
/// `--lenient`, that line alone is skipped and counted (the rest of the file used to be dropped
/// as truncated).
#[test]
fn issue_16_binance_invalid_utf8_costs_one_line() {
    let Some(lines) = real_lines(400) else {
        return skip("issue_16_binance_utf8", "no ../shared/data/real");
    };
    let d = tempfile::tempdir().unwrap();
    let t = first(&lines[100..], "@trade") + 100;
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut b = l.clone().into_bytes();
        if i == t {
            let at = l.find("\"p\":\"").unwrap() + 5;
            b[at] = 0xff;
        }
        bytes.extend(b);
        bytes.push(b'\n');
    }
    let input = d.path().join("utf8.txt");
    std::fs::write(&input, bytes).unwrap();
    let clean = write(d.path(), "clean.txt", &lines);
    let run = |input: &Path, root: &str, lenient: bool| {
        let root = d.path().join(root);
        let mut a = vec![
            "ingest",
            "--format",
            "binance-raw",
            "--quiet",
            "--json",
            "--root",
        ];
        a.extend([root.to_str().unwrap(), input.to_str().unwrap()]);
        if lenient {
            a.push("--lenient");
        }
        daedalus(&a)
    };
    let out = run(&input, "strict", false);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("utf8.txt:{}: not UTF-8", t + 1)),
        "{err}"
    );

    let c: serde_json::Value = serde_json::from_slice(&run(&clean, "clean", false).stdout).unwrap();
    let out = run(&input, "lenient", true);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["skipped"]["not UTF-8"], 1, "{r}");
    assert_eq!(r["truncated_files"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["lines"], 400);
    let trades =
        |v: &serde_json::Value| v["markets"]["binance/BTC-USDT"]["trades"].as_u64().unwrap();
    assert_eq!(trades(&r), trades(&c) - 1, "{r}");
}
