//! Issue 16, "silent changes to data": unsynced depth files, duplicate trades and trade sizes
//! below the fixed-point resolution, each on real files from `../shared/data/real` (or copies
//! corrupted here). Skips with a message when the real data is absent.

use daedalus_sources::ingest::state;
use daedalus_tests::{files_under, real_data, skip};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ingest(root: &Path, format: &str, inputs: &[&Path], extra: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["ingest", "--format", format, "-j", "1", "--root"])
        .arg(root)
        .args(extra)
        .args(inputs);
    cmd.output().unwrap()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn real(rel: &str) -> Option<PathBuf> {
    Some(real_data()?.join(rel)).filter(|p| p.exists())
}

/// The lines of a gzip or plain file.
fn read_lines(p: &Path) -> Vec<String> {
    let mut s = String::new();
    let f = std::fs::File::open(p).unwrap();
    if p.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .unwrap();
    } else {
        std::io::BufReader::new(f).read_to_string(&mut s).unwrap();
    }
    s.lines().map(String::from).collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    let mut f = std::fs::File::create(p).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// Files under `root/bronze` (staged ones included).
fn bronze_files(root: &Path) -> Vec<PathBuf> {
    files_under(root, &root.join("bronze"))
}

// ---------------------------------------------------------------------------------------------
// Unsynced depth files

const SPOT_0809: &str = "hftbacktest/spot/btcusdt_20240809.gz";
const SPOT_0808: &str = "hftbacktest/spot/btcusdt_20240808.gz";

#[test]
fn issue_16_unsynced_binance_file_fails_strict_names_file_market_and_count() {
    let Some(f) = real(SPOT_0809) else {
        return skip("issue_16_unsynced", "no real data");
    };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("strict");
    let o = ingest(&root, "binance-raw", &[&f], &[]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    // 3,044 diffs with 174,021 levels wait for a snapshot that never comes.
    for frag in [
        "btcusdt_20240809.gz: binance/BTC-USDT: 3044 depth diff(s) (174021 book rows) cannot be synced",
        "--allow-unsynced",
    ] {
        assert!(t.contains(frag), "missing {frag:?} in {t}");
    }
    // Nothing of the input is committed or left staged, and no ingest state is written.
    assert!(bronze_files(&root).is_empty(), "{:?}", bronze_files(&root));
    assert!(state::load_all(&root).unwrap().is_empty());

    // --allow-unsynced: ingested, the rows dropped are said in the summary and kept in the
    // report and the ingest state.
    let root = d.path().join("allowed");
    let o = ingest(&root, "binance-raw", &[&f], &["--allow-unsynced"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("warning: ") && t.contains("btcusdt_20240809.gz: binance/BTC-USDT: 3044 depth diff(s) (174021 book rows) dropped"),
        "{t}"
    );
    let st = state::load_all(&root).unwrap();
    let c = &st.values().next().unwrap().counters;
    assert_eq!(
        (c.unsynced_diffs, c.unsynced_rows, c.book_rows),
        (3044, 174_021, 0)
    );
    assert_eq!((c.trades, c.tickers), (10_147, 45_134));

    // --lenient implies it (warned, exit 0); --json carries the list.
    let root = d.path().join("lenient");
    let v = json(&ingest(
        &root,
        "binance-raw",
        &[&f],
        &["--lenient", "--json"],
    ));
    assert_eq!(v["unsynced"][0]["market"], "binance/BTC-USDT");
    assert_eq!(v["unsynced"][0]["diffs"], 3044);
    assert_eq!(v["unsynced"][0]["rows"], 174_021);
    assert_eq!(v["markets"]["binance/BTC-USDT"]["unsynced_diffs"], 3044);
}

#[test]
fn issue_16_unsynced_file_with_its_predecessor_is_synced_and_stale_diffs_do_not_count() {
    let (Some(a), Some(b)) = (real(SPOT_0808), real(SPOT_0809)) else {
        return skip("issue_16_unsynced_predecessor", "no real data");
    };
    let d = tempfile::tempdir().unwrap();
    // The 08-08 file has a snapshot, and diffs older than it (dropped as stale, not unsynced):
    // strict ingest succeeds.
    let root = d.path().join("first");
    let v = json(&ingest(&root, "binance-raw", &[&a], &["--json"]));
    let m = &v["markets"]["binance/BTC-USDT"];
    assert!(m["stale_diffs"].as_u64().unwrap() > 0, "{m}");
    assert_eq!(m["unsynced_diffs"], 0);
    assert!(v.get("unsynced").is_none(), "{v}");
    // The 08-09 file continues its chain: strict, in the same call or in a later one.
    let v = json(&ingest(&root, "binance-raw", &[&b], &["--json"]));
    assert_eq!(v["markets"]["binance/BTC-USDT"]["unsynced_diffs"], 0);
    assert!(
        v["markets"]["binance/BTC-USDT"]["book_rows"]
            .as_u64()
            .unwrap()
            > 170_000
    );
    let both = d.path().join("both");
    let o = ingest(&both, "binance-raw", &[&b, &a], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("warning"), "{}", text(&o));
}

#[test]
fn issue_16_unsynced_bybit_deltas_follow_the_same_rule() {
    let Some(zip) = real("nautilus_trader/bybit/xrpusdt-ob500.data.zip") else {
        return skip("issue_16_unsynced_bybit", "no real data");
    };
    let out = Command::new("unzip").arg("-p").arg(&zip).output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        return skip("issue_16_unsynced_bybit", "no unzip");
    };
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(lines[0].contains("\"snapshot\""));
    // Without its snapshot line, every delta is unsynced: the oracle counts their levels.
    let deltas = &lines[1..];
    let levels: u64 = deltas
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["data"]["b"].as_array().unwrap().len() + v["data"]["a"].as_array().unwrap().len())
                as u64
        })
        .sum();
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("2024-12-01_XRPUSDT_ob500.data");
    write_lines(&f, deltas);
    let root = d.path().join("strict");
    let o = ingest(&root, "bybit-orderbook", &[&f], &[]);
    let want = format!(
        "bybit/XRP-USDT-PERP: {} depth diff(s) ({levels} book rows) cannot be synced",
        deltas.len()
    );
    assert!(
        !o.status.success() && text(&o).contains(&want),
        "{}",
        text(&o)
    );
    assert!(bronze_files(&root).is_empty());
    let v = json(&ingest(
        &d.path().join("allowed"),
        "bybit-orderbook",
        &[&f],
        &["--allow-unsynced", "--json"],
    ));
    let m = &v["markets"]["bybit/XRP-USDT-PERP"];
    assert_eq!(m["unsynced_diffs"], deltas.len() as u64);
    assert_eq!(m["unsynced_rows"], levels);
    assert_eq!(m["book_rows"], 0);
    // The real file (snapshot first) is synced: strict ingest succeeds.
    let o = ingest(&d.path().join("real"), "bybit-orderbook", &[&zip], &[]);
    assert!(o.status.success(), "{}", text(&o));
}

// ---------------------------------------------------------------------------------------------
// Duplicate trades

/// The real 08-08 spot lines, and the indices of its trade lines.
fn spot_lines() -> Option<(Vec<String>, Vec<usize>)> {
    let lines = read_lines(&real(SPOT_0808)?);
    let trades = (0..lines.len())
        .filter(|&i| lines[i].contains("\"stream\":\"btcusdt@trade\""))
        .collect();
    Some((lines, trades))
}

#[test]
fn issue_16_repeated_trade_lines_are_dropped_and_counted_at_ingest() {
    let Some((lines, trades)) = spot_lines() else {
        return skip("issue_16_duplicates", "no real data");
    };
    let d = tempfile::tempdir().unwrap();
    let clean = d.path().join("clean");
    let v = json(&ingest(
        &clean,
        "binance-raw",
        &[&real(SPOT_0808).unwrap()],
        &["--json"],
    ));
    let n = v["markets"]["binance/BTC-USDT"]["trades"].as_u64().unwrap();
    assert_eq!(n, trades.len() as u64);
    assert!(
        v["markets"]["binance/BTC-USDT"]
            .get("duplicate_trades")
            .is_none()
    );

    // Every 5th trade line repeated: right after itself, and again 1,000 lines later (a second
    // recorder's copy arriving late, out of id order).
    let mut out = Vec::with_capacity(lines.len() + trades.len());
    let mut late: Vec<(usize, String)> = Vec::new();
    let mut repeats = 0u64;
    for (i, l) in lines.iter().enumerate() {
        out.push(l.clone());
        if trades.binary_search(&i).is_ok_and(|k| k % 5 == 0) {
            out.push(l.clone());
            late.push((i + 1_000, l.clone()));
            repeats += 2;
        }
        while late.first().is_some_and(|(at, _)| *at == i) {
            out.push(late.remove(0).1);
        }
    }
    out.extend(late.drain(..).map(|(_, l)| l));
    let f = d.path().join("btcusdt_20240808.log");
    write_lines(&f, &out);
    let root = d.path().join("dup");
    let o = ingest(&root, "binance-raw", &[&f], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("duplicate trades dropped: {repeats}")),
        "{}",
        text(&o)
    );
    let st = state::load_all(&root).unwrap();
    let c = &st.values().next().unwrap().counters;
    assert_eq!((c.trades, c.duplicate_trades), (n, repeats));
    // The bronze trades are the clean file's, row for row.
    daedalus_tests::assert_same_outputs(&clean, &root, &["bronze/trades"]);
}

#[test]
fn issue_16_twice_concatenated_tardis_trades_are_deduplicated_by_run() {
    // Tardis BitMEX ids are UUIDs (not numeric): ingest compares them at one timestamp only, so
    // a whole file repeated is written twice; `run` sees both copies at each exchange time and
    // drops the second.
    let Some(f) = real("nautilus_trader/tardis/bitmex_trades_XBTUSD.csv") else {
        return skip("issue_16_tardis_duplicates", "no real data");
    };
    let lines = read_lines(&f);
    let d = tempfile::tempdir().unwrap();
    let twice = d.path().join("bitmex_trades_XBTUSD.csv");
    let mut all = lines.clone();
    all.extend(lines[1..].iter().cloned());
    write_lines(&twice, &all);
    let (one, two) = (d.path().join("one"), d.path().join("two"));
    assert!(ingest(&one, "tardis-csv", &[&f], &[]).status.success());
    let v = json(&ingest(&two, "tardis-csv", &[&twice], &["--json"]));
    assert_eq!(
        v["markets"]["bitmex/BTC-USD-PERP"]["trades"],
        2 * (lines.len() as u64 - 1)
    );
    let s1 = run(&one);
    let s2 = run(&two);
    assert_eq!(s1["quality"].get("duplicate_trades"), None, "{s1}");
    assert_eq!(
        s2["quality"]["duplicate_trades"],
        lines.len() as u64 - 1,
        "{s2}"
    );
    assert_eq!(s1["quality"]["trades"], s2["quality"]["trades"]);
    daedalus_tests::assert_same_outputs(&one, &two, &["silver", "gold"]);
}

fn run(root: &Path) -> Value {
    let o = daedalus(&[
        "run",
        "--quiet",
        "--json",
        "--root",
        root.to_str().unwrap(),
        "--interval",
        "1m",
        "--bar",
        "tick_2",
    ]);
    json(&o)
}

#[test]
fn issue_16_run_over_two_overlapping_recordings_equals_one() {
    let Some((lines, trades)) = spot_lines() else {
        return skip("issue_16_overlap", "no real data");
    };
    let d = tempfile::tempdir().unwrap();
    let orig = real(SPOT_0808).unwrap();
    // A second recorder that captured the trade stream only, for the middle third of the day.
    let third = trades.len() / 3;
    let second: Vec<String> = trades[third..2 * third]
        .iter()
        .map(|&i| lines[i].clone())
        .collect();
    let rec2 = d.path().join("btcusdt_20240808_recorder2.log");
    write_lines(&rec2, &second);
    let (one, two) = (d.path().join("one"), d.path().join("two"));
    assert!(ingest(&one, "binance-raw", &[&orig], &[]).status.success());
    let v = json(&ingest(&two, "binance-raw", &[&orig, &rec2], &["--json"]));
    // Each input is free of repeats on its own: both are written to bronze.
    assert_eq!(
        v["markets"]["binance/BTC-USDT"]["trades"],
        (trades.len() + second.len()) as u64
    );
    let s1 = run(&one);
    let s2 = run(&two);
    assert_eq!(s1["quality"].get("duplicate_trades"), None, "{s1}");
    assert_eq!(
        s2["quality"]["duplicate_trades"],
        second.len() as u64,
        "{s2}"
    );
    assert_eq!(s1["quality"]["trades"], s2["quality"]["trades"]);
    daedalus_tests::assert_same_outputs(&one, &two, &["silver", "gold"]);
}

// ---------------------------------------------------------------------------------------------
// Sub-resolution trade sizes

#[test]
fn issue_16_sub_resolution_trade_size_is_refused_at_ingest() {
    let Some((mut lines, trades)) = spot_lines() else {
        return skip("issue_16_sub_resolution", "no real data");
    };
    let i = trades[trades.len() / 2];
    let at = lines[i].find("\"q\":\"").unwrap() + 5;
    let end = at + lines[i][at..].find('"').unwrap();
    lines[i] = format!("{}0.000000000001{}", &lines[i][..at], &lines[i][end..]);
    let id = {
        let v: Value = serde_json::from_str(lines[i].split_once(' ').unwrap().1).unwrap();
        v["data"]["t"].as_u64().unwrap()
    };
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("btcusdt_20240808.log");
    write_lines(&f, &lines);
    let root = d.path().join("strict");
    let o = ingest(&root, "binance-raw", &[&f], &[]);
    let want = format!(
        "btcusdt_20240808.log:{}: binance/BTC-USDT: trade \"{id}\": trade size 1e-12 is below the fixed-point resolution 1e-9",
        i + 1
    );
    assert!(
        !o.status.success() && text(&o).contains(&want),
        "{}",
        text(&o)
    );
    assert!(bronze_files(&root).is_empty());

    let root = d.path().join("lenient");
    let v = json(&ingest(
        &root,
        "binance-raw",
        &[&f],
        &["--lenient", "--json"],
    ));
    assert_eq!(v["skipped"]["sub-resolution trade"], 1);
    assert_eq!(
        v["markets"]["binance/BTC-USDT"]["trades"],
        trades.len() as u64 - 1
    );
    // What lenient ingest wrote runs: the run's own check (kept for bronze of older builds)
    // never sees the trade.
    let s = run(&root);
    assert_eq!(s["quality"]["trades"], trades.len() as u64 - 1, "{s}");
}
