//! Issue 17 (part): `daedalus ingest --format cryptofeed` on the real cryptofeed captures of six
//! venues (`../shared/data/real/cryptofeed`, PROVENANCE.md §2), through the ingest stage.
//!
//! - every capture ingests (strict), and the venue checks persisted in the ingest state and
//!   printed by `--json` hold the counts measured here: Kraken and OKX checksums 100 % equal,
//!   Bequant and Bybit sequences without a gap, never a crossed book, top of book against the
//!   venue's ticker/quote at the rates measured (every mismatch explained in docs/DATA.md);
//! - a copy with one size changed in one Kraken and one OKX update fails (strict: an error naming
//!   file and line; `--lenient`: a counted gap after which the market's book rows stop);
//! - trade counts equal the files' own, trade sides follow each venue's convention on known rows;
//! - file by file equals all at once: every capture split in two, ingested in one call, part by
//!   part in both orders and with `-j 2`, gives the same bronze bytes and states, and the same
//!   rows as the whole captures;
//! - canonical ids (CONTRACT §10.4), an unknown venue symbol is an error naming it;
//! - `daedalus run` on all these venues plus the Binance recordings completes, the report draws
//!   every market, and conformance.py is OK.
//!
//! Independent counts (trades per market, the corrupted lines) come from a Python pass over the
//! files: `json.loads` of each `<ts>: <json>` line, counting `match` (Coinbase), `trade` `insert`
//! rows (BitMEX), `trade.<sym>` rows (Bybit), `trades` rows (OKX), `updateTrades` rows (Bequant).
//! Skips (printing `SKIP`) when the data is absent.

use arrow::array::{Array, AsArray};
use daedalus_sources::ingest::state::{self, MarketState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

const CAPTURES: [&str; 6] = [
    "BEQUANT.ws.1.0",
    "BITMEX.ws.1.0",
    "BYBIT.ws.26.0",
    "COINBASE.ws.28.0",
    "KRAKEN.ws.50.0",
    "OKX.ws.1.0",
];

fn cf_dir(test: &str) -> Option<PathBuf> {
    let d = daedalus_tests::real_data().map(|p| p.join("cryptofeed"));
    match d.filter(|d| CAPTURES.iter().all(|c| d.join(c).is_file())) {
        Some(d) => Some(d),
        None => {
            daedalus_tests::skip(test, "../shared/data/real/cryptofeed absent");
            None
        }
    }
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    CAPTURES.iter().map(|c| dir.join(c)).collect()
}

fn daedalus(args: &[&str], inputs: &[PathBuf]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(inputs)
        .env_remove("DAEDALUS_FAULT")
        .output()
        .unwrap()
}

/// `daedalus ingest --format <format> --root <root> <extra> <inputs>`; its stdout.
fn ingest(format: &str, root: &Path, extra: &[&str], inputs: &[PathBuf]) -> String {
    let r = root.to_str().unwrap();
    let mut args = vec!["ingest", "--quiet", "--format", format, "--root", r];
    args.extend_from_slice(extra);
    let out = daedalus(&args, inputs);
    assert!(
        out.status.success(),
        "ingest {inputs:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every market's ingest state, by `exchange/symbol`.
fn states(root: &Path) -> BTreeMap<String, MarketState> {
    state::load_all(root)
        .unwrap()
        .into_iter()
        .map(|(m, s)| (m.to_string(), s))
        .collect()
}

/// A copy of `src` in `dir` with the first line containing `find` edited; returns its path and
/// the 1-based number of the edited line.
fn corrupted(dir: &Path, src: &Path, find: &str, from: &str, to: &str) -> (PathBuf, usize) {
    let text = std::fs::read_to_string(src).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    let i = lines.iter().position(|l| l.contains(find)).unwrap();
    assert!(lines[i].contains(from), "line {} has no {from:?}", i + 1);
    lines[i] = lines[i].replacen(from, to, 1);
    let p = dir.join(src.file_name().unwrap());
    std::fs::write(&p, lines.join("\n")).unwrap();
    (p, i + 1)
}

#[test]
fn every_capture_ingests_with_the_venues_checks() {
    let Some(dir) = cf_dir("every_capture_ingests_with_the_venues_checks") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let json = ingest("cryptofeed", root.path(), &["--json"], &captures(&dir));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let st = states(root.path());
    assert_eq!(st.len(), 45, "{:?}", st.keys().collect::<Vec<_>>());
    // The summary's checks are the persisted ones.
    for (m, s) in &st {
        let printed = &report["markets"][m]["checks"];
        assert_eq!(*printed, serde_json::to_value(&s.counters.checks).unwrap());
        let c = &s.counters;
        assert_eq!(c.checks.crossed_books, 0, "{m}: a rebuilt book crossed");
        assert_eq!(c.gaps, 0, "{m}");
        assert_eq!(c.checks.unsynced_messages, 0, "{m}");
        assert!(c.checks.messages_checked >= 1, "{m}: no book");
    }

    // Kraken: every update carries a checksum, every one equal (4,269 over 10 pairs).
    let mut kraken = (0, 0);
    for (m, s) in st.iter().filter(|(m, _)| m.starts_with("kraken/")) {
        let k = &s.counters.checks;
        assert_eq!(k.checksums_checked, k.messages_checked - 1, "{m}");
        assert_eq!(k.checksum_mismatches, 0, "{m}");
        kraken = (kraken.0 + 1, kraken.1 + k.checksums_checked);
    }
    assert_eq!(kraken, (10, 4_269));
    assert_eq!(st["kraken/BTC-CHF"].counters.checks.checksums_checked, 289);

    // OKX: every books message (snapshots too) carries a checksum, every one equal.
    for (m, n) in [
        ("okex/BTC-USDT", 98),
        ("okex-futures/BTC-USD-220527", 99),
        ("okex-swap/UNI-USD-PERP", 93),
    ] {
        let k = &st[m].counters.checks;
        assert_eq!((k.checksums_checked, k.messages_checked), (n, n), "{m}");
        assert_eq!(k.checksum_mismatches, 0, "{m}");
    }

    // Bequant (`sequence` + 1) and Bybit (`cross_seq` increasing): no gap on any book.
    for (m, n) in [
        ("bequant/BTC-USDB", 274),
        ("bequant/BTC-TUSD", 175),
        ("bequant/BTC-PAX", 95),
        ("bequant/BTC-DAI", 62),
        ("bequant/EOS-BTC", 215),
        ("bybit/BTC-USD-PERP", 506),
        ("bybit/EOS-USD-PERP", 510),
    ] {
        let k = &st[m].counters.checks;
        assert_eq!((k.sequences_checked, k.sequence_gaps), (n, 0), "{m}");
    }

    let seqs = |ex: &str| -> u64 {
        st.iter()
            .filter(|(m, _)| m.starts_with(ex))
            .map(|(_, s)| s.counters.checks.sequences_checked)
            .sum()
    };
    assert_eq!((seqs("bequant/"), seqs("bybit/")), (965, 1_016));

    top_of_book_rates(&st);
    trade_counts(&st);
}

/// Top of book against the venue's own ticker/quote at the ticker's receive time.
fn top_of_book_rates(st: &BTreeMap<String, MarketState>) {
    let sum = |ex: &str, f: fn(&MarketState) -> u64| -> u64 {
        st.iter()
            .filter(|(m, _)| m.starts_with(ex))
            .map(|(_, s)| f(s))
            .sum()
    };
    // BitMEX `quote` (last of each symbol per message) and Bequant `ticker`: 100 % equal.
    for ex in ["bitmex/", "bequant/"] {
        let checked = sum(ex, |s| s.counters.checks.top_of_book_checked);
        let equal = sum(ex, |s| s.counters.checks.top_of_book_matches);
        assert_eq!(checked, equal, "{ex}");
    }
    assert_eq!(
        sum("bitmex/", |s| s.counters.checks.top_of_book_checked),
        83
    );
    assert_eq!(
        st["bitmex/BTC-USD-PERP"]
            .counters
            .checks
            .top_of_book_checked,
        28
    );
    assert_eq!(
        sum("bequant/", |s| s.counters.checks.top_of_book_checked),
        297
    );
    assert_eq!(
        st["bequant/BTC-TUSD"].counters.checks.top_of_book_checked,
        132
    );
    // Coinbase `ticker`: 100 of 107 equal; the other 7 are each product's subscription ticker,
    // whose `time` (its last trade) precedes the snapshot: a state the capture never had.
    let k = |m: &str| st[m].counters.checks.clone();
    assert_eq!(
        sum("coinbase/", |s| s.counters.checks.top_of_book_checked),
        107
    );
    assert_eq!(
        sum("coinbase/", |s| s.counters.checks.top_of_book_matches),
        100
    );
    assert_eq!(
        sum("coinbase/", |s| s
            .counters
            .checks
            .top_of_book_before_snapshot),
        7
    );
    assert_eq!(
        sum("coinbase/", |s| s.counters.checks.top_of_book_mismatches),
        0
    );
    let skl = k("coinbase/SKL-USD");
    assert_eq!((skl.top_of_book_checked, skl.top_of_book_matches), (53, 52));
    // OKX `tickers`: the BBO lags `books` (it stays for up to 3.9 s while the book moves): of 24
    // BTC-USDT tickers after the snapshot 1 is the top at its receive time, 5 a top held at most
    // 1 s before, 17 one held 1 to 3.1 s before; 1 repeats the pre-subscription ticker's BBO,
    // which the book never held. The future's one ticker shows a top inside one 100 ms `books`
    // batch (trades swept the ask), which the batched book never shows.
    let okx = k("okex/BTC-USDT");
    assert_eq!(
        (
            okx.top_of_book_checked,
            okx.top_of_book_matches,
            okx.top_of_book_lagging,
            okx.top_of_book_stale,
            okx.top_of_book_mismatches
        ),
        (24, 1, 5, 17, 1)
    );
    assert!(okx.top_of_book_max_lag_ns < 3_100_000_000);
    let fut = k("okex-futures/BTC-USD-220527");
    assert_eq!(
        (fut.top_of_book_checked, fut.top_of_book_mismatches),
        (1, 1)
    );
}

/// Trade counts equal the files' own (PROVENANCE.md and the Python count in the module docs).
fn trade_counts(st: &BTreeMap<String, MarketState>) {
    let want: BTreeMap<&str, u64> = [
        ("coinbase/SKL-USD", 52),
        ("coinbase/SKL-BTC", 8),
        ("coinbase/SKL-GBP", 1),
        ("coinbase/BAND-BTC", 8),
        ("coinbase/BAND-GBP", 4),
        ("coinbase/DASH-BTC", 15),
        ("coinbase/NMR-EUR", 8),
        ("coinbase/NU-GBP", 1),
        ("bitmex/BTC-USD-PERP", 15),
        ("bitmex/MATIC-USDT-PERP", 1),
        ("bitmex/UNI-USDT-PERP", 1),
        ("bybit/BTC-USD-PERP", 131),
        ("bybit/EOS-USD-PERP", 19),
        ("okex/BTC-USDT", 69),
        ("okex-futures/BTC-USD-220527", 4),
        ("okex-swap/UNI-USD-PERP", 1),
        ("bequant/BTC-TUSD", 1),
        ("bequant/EOS-BTC", 9),
    ]
    .into();
    for (m, s) in st {
        let n = want.get(m.as_str()).copied().unwrap_or(0);
        assert_eq!(s.counters.trades, n, "{m} trades");
    }
    // History is not live data (CONTRACT §10.7): one `last_match` per Coinbase product, the
    // BitMEX `trade` partial, 100 `snapshotTrades` per Bequant symbol.
    assert_eq!(st["coinbase/SKL-USD"].counters.history_trades, 1);
    assert_eq!(st["bitmex/BTC-USD-PERP"].counters.history_trades, 1);
    let bq: u64 = st
        .iter()
        .filter(|(m, _)| m.starts_with("bequant/"))
        .map(|(_, s)| s.counters.history_trades)
        .sum();
    assert_eq!(bq, 1_000);
}

/// The bronze trade with `trade_id` in market `m`: (side, price, size, ts_event ns).
fn bronze_trade(root: &Path, m: &str, trade_id: &str) -> (String, f64, f64, i64) {
    let (ex, sym) = m.split_once('/').unwrap();
    let prefix = format!("bronze/trades/exchange={ex}/symbol={sym}");
    for b in daedalus_tests::read_partitions(root, &prefix).values() {
        // `side` is dictionary-encoded: read every column through a cast to its plain type.
        let col = |n: &str| {
            let c = b.column(b.schema().index_of(n).unwrap());
            match c.data_type() {
                arrow::datatypes::DataType::Dictionary(_, v) => arrow::compute::cast(c, v).unwrap(),
                _ => c.clone(),
            }
        };
        let (ids, sides) = (col("trade_id"), col("side"));
        let (ids, sides) = (ids.as_string::<i32>(), sides.as_string::<i32>());
        let price = col("price");
        let size = col("size");
        let ts = col("ts_event");
        let (price, size) = (
            price.as_primitive::<arrow::datatypes::Float64Type>(),
            size.as_primitive::<arrow::datatypes::Float64Type>(),
        );
        let ts = ts.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        for i in 0..ids.len() {
            if ids.value(i) == trade_id {
                let side = sides.value(i).to_string();
                return (side, price.value(i), size.value(i), ts.value(i));
            }
        }
    }
    panic!("{m}: no trade {trade_id}");
}

#[test]
fn trade_sides_follow_each_venue_on_known_rows() {
    let Some(dir) = cf_dir("trade_sides_follow_each_venue_on_known_rows") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    ingest("cryptofeed", root.path(), &[], &captures(&dir));
    let raw = |file: &str, find: &str, side: &str| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let line = text.lines().find(|l| l.contains(find)).unwrap();
        assert!(line.contains(side), "{file}: {line}");
    };
    // Coinbase `match.side` is the maker's: a resting sell hit by a buyer is a buy, and back.
    raw(
        "COINBASE.ws.28.0",
        "\"trade_id\":1568268,",
        "\"side\":\"sell\"",
    );
    let t = bronze_trade(root.path(), "coinbase/SKL-USD", "1568268");
    assert_eq!(t, ("buy".into(), 0.791, 450.0, 1_618_677_817_121_358_000));
    raw(
        "COINBASE.ws.28.0",
        "\"trade_id\":1568275,",
        "\"side\":\"buy\"",
    );
    let t = bronze_trade(root.path(), "coinbase/SKL-USD", "1568275");
    assert_eq!((t.0.as_str(), t.2), ("sell", 430.0));
    // BitMEX `side` is the aggressor; sizes are USD contracts; `timestamp` ISO ms.
    let id = "6e70bebe-235e-08a6-d11b-e1042bf1f2ed";
    raw("BITMEX.ws.1.0", id, "\"side\":\"Buy\"");
    let t = bronze_trade(root.path(), "bitmex/BTC-USD-PERP", id);
    assert_eq!(t, ("buy".into(), 32180.5, 100.0, 1_626_993_371_685_000_000));
    // Bybit `side` is the taker; `trade_time_ms`.
    let id = "5ffb8b77-900c-507d-97a2-0922557ffe54";
    raw("BYBIT.ws.26.0", id, "\"side\":\"Sell\"");
    let t = bronze_trade(root.path(), "bybit/BTC-USD-PERP", id);
    assert_eq!(t, ("sell".into(), 60621.5, 4.0, 1_618_677_786_614_000_000));
    let t = bronze_trade(
        root.path(),
        "bybit/BTC-USD-PERP",
        "1d28db3f-725d-5f15-9d9a-22719888546c",
    );
    assert_eq!((t.0.as_str(), t.2), ("buy", 77.0));
    // OKX `side` is the taker; `ts` ms; BTC-USDT sizes in BTC.
    raw(
        "OKX.ws.1.0",
        "\"tradeId\":\"338476316\"",
        "\"side\":\"sell\"",
    );
    let t = bronze_trade(root.path(), "okex/BTC-USDT", "338476316");
    assert_eq!(
        t,
        (
            "sell".into(),
            30250.1,
            0.00066996,
            1_652_459_226_753_000_000
        )
    );
    let t = bronze_trade(root.path(), "okex/BTC-USDT", "338476307");
    assert_eq!((t.0.as_str(), t.1), ("buy", 30236.0));
    // Bequant (HitBTC) `side` is the taker.
    let t = bronze_trade(root.path(), "bequant/BTC-TUSD", "1307176326");
    assert_eq!(
        t,
        ("buy".into(), 33515.7, 0.01712, 1_625_273_783_836_000_000)
    );
    let t = bronze_trade(root.path(), "bequant/EOS-BTC", "1307176266");
    assert_eq!((t.0.as_str(), t.2), ("sell", 1.57));
    // Kraken: the capture subscribes to books only (no trades; PROVENANCE.md).
}

#[test]
fn a_changed_size_fails_the_checksums() {
    let Some(dir) = cf_dir("a_changed_size_fails_the_checksums") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // One size changed in one update inside the checksummed top (Kraken top 10, OKX top 25).
    let kraken = corrupted(
        tmp.path(),
        &dir.join("KRAKEN.ws.50.0"),
        "\"c\":\"1626098704\"",
        "\"0.01203000\"",
        "\"0.01303000\"",
    );
    let okx = corrupted(
        tmp.path(),
        &dir.join("OKX.ws.1.0"),
        "-652563973",
        "[\"30243.5\",\"1.2112\"",
        "[\"30243.5\",\"1.3112\"",
    );
    for ((file, line), market, total) in
        [(kraken, "kraken/BTC-CHF", 289), (okx, "okex/BTC-USDT", 98)]
    {
        // Strict: an error naming the file, the line and the check.
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_str().unwrap();
        let out = daedalus(
            &["ingest", "--quiet", "--format", "cryptofeed", "--root", r],
            std::slice::from_ref(&file),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{market}: strict ingest succeeded");
        let at = format!("{}:{line}:", file.display());
        assert!(err.contains(&at), "{market}: {err}");
        assert!(
            err.contains(&format!("{market}: checksum check failed")),
            "{err}"
        );
        assert!(
            state::load_all(root.path()).unwrap().is_empty(),
            "nothing committed"
        );

        // Lenient: one counted mismatch, a gap; the book's rows stop (no later snapshot).
        ingest(
            "cryptofeed",
            root.path(),
            &["--lenient"],
            std::slice::from_ref(&file),
        );
        let st = states(root.path());
        let k = &st[market].counters.checks;
        assert_eq!(
            (k.checksum_mismatches, st[market].counters.gaps),
            (1, 1),
            "{market}"
        );
        assert_eq!(k.checksums_checked + k.unsynced_messages, total, "{market}");
        let clean = tempfile::tempdir().unwrap();
        let name = file.file_name().unwrap();
        ingest("cryptofeed", clean.path(), &[], &[dir.join(name)]);
        let before = states(clean.path())[market].counters.book_rows;
        assert!(
            st[market].counters.book_rows < before,
            "{market}: rows did not stop"
        );
        // Other markets of the capture are untouched.
        for (m, s) in states(clean.path()) {
            if m != market {
                assert_eq!(st[&m].counters, s.counters, "{m}");
            }
        }
    }
}

/// Splits a capture in two at the first received line after its middle; writes
/// `<stem>.0` and `<stem>.1` (cryptofeed's rotation names; the second has no connection line).
fn split(capture: &Path, out: &Path) -> [PathBuf; 2] {
    let text = std::fs::read_to_string(capture).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let k = (lines.len() / 2..lines.len())
        .find(|&i| !lines[i].starts_with("wss://") && !lines[i].trim().is_empty())
        .unwrap();
    let name = capture.file_name().unwrap().to_string_lossy();
    let stem = name.rsplit_once('.').unwrap().0;
    let parts = [out.join(format!("{stem}.0")), out.join(format!("{stem}.1"))];
    std::fs::write(&parts[0], lines[..k].concat()).unwrap();
    std::fs::write(&parts[1], lines[k..].concat()).unwrap();
    parts
}

/// Bronze files and ingest states under `root`, bytes by relative path.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut t = daedalus_tests::bytes_under(root, &root.join("bronze"));
    t.extend(daedalus_tests::bytes_under(
        root,
        &root.join("_daedalus/ingest"),
    ));
    t
}

#[test]
fn file_by_file_equals_all_at_once() {
    let Some(dir) = cf_dir("file_by_file_equals_all_at_once") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let parts_dir = tmp.path().join("parts");
    std::fs::create_dir(&parts_dir).unwrap();
    let parts: Vec<[PathBuf; 2]> = captures(&dir)
        .iter()
        .map(|c| split(c, &parts_dir))
        .collect();
    let all: Vec<PathBuf> = parts.iter().flatten().cloned().collect();

    let one_call = tmp.path().join("one");
    ingest("cryptofeed", &one_call, &["-j", "1"], &all);
    let want = tree(&one_call);
    assert!(want.len() > 100, "{} files", want.len());

    let jobs = tmp.path().join("jobs");
    ingest("cryptofeed", &jobs, &["-j", "2"], &all);
    assert!(tree(&jobs) == want, "-j 2 differs from -j 1");

    let forward = tmp.path().join("forward");
    for p in &all {
        ingest("cryptofeed", &forward, &[], std::slice::from_ref(p));
    }
    assert!(tree(&forward) == want, "part by part differs from one call");

    // Second parts first: their books wait for a snapshot; each first part then precedes its
    // second, which is applied again after it. A second part alone is unsynced: allowed here
    // deliberately, it is the scenario under test (issue 16).
    let backward = tmp.path().join("backward");
    for p in parts
        .iter()
        .map(|p| &p[1])
        .chain(parts.iter().map(|p| &p[0]))
    {
        let allow = ["--allow-unsynced"];
        ingest("cryptofeed", &backward, &allow, std::slice::from_ref(p));
    }
    assert!(
        tree(&backward) == want,
        "reverse order differs from one call"
    );

    // The parts give the rows of the whole captures, and the same counts and checks.
    let whole = tmp.path().join("whole");
    ingest("cryptofeed", &whole, &[], &captures(&dir));
    daedalus_tests::assert_same_outputs(&whole, &one_call, &["bronze"]);
    let (a, b) = (states(&whole), states(&one_call));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (m, s) in &a {
        let (x, y) = (&s.counters, &b[m].counters);
        assert_eq!(
            (x.book_rows, x.trades, x.tickers, x.book_messages, x.gaps),
            (y.book_rows, y.trades, y.tickers, y.book_messages, y.gaps),
            "{m}"
        );
        assert_eq!(
            x.checks.checksums_checked, y.checks.checksums_checked,
            "{m}"
        );
        assert_eq!(
            x.checks.sequences_checked, y.checks.sequences_checked,
            "{m}"
        );
        assert_eq!(
            x.checks.top_of_book_checked, y.checks.top_of_book_checked,
            "{m}"
        );
        assert_eq!(s.chain, b[m].chain, "{m}: book after the last input");
    }
}

#[test]
fn canonical_ids_and_an_unknown_symbol() {
    let Some(dir) = cf_dir("canonical_ids_and_an_unknown_symbol") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    ingest("cryptofeed", root.path(), &[], &captures(&dir));
    let st = states(root.path());
    // XBT is BTC; perpetuals `-PERP` (inverse ones quote USD); dated futures `BASE-QUOTE-YYMMDD`
    // (BitMEX month codes expire on the month's last Friday, quoted in the settlement currency).
    for m in [
        "bitmex/BTC-USD-PERP",
        "bitmex/UNI-USDT-PERP",
        "bitmex/XRP-BTC-210924",
        "bitmex/TRX-BTC-210924",
        "bybit/BTC-USD-PERP",
        "kraken/BTC-CHF",
        "kraken/KSM-BTC",
        "okex/BTC-USDT",
        "okex-swap/UNI-USD-PERP",
        "okex-futures/BTC-USD-220527",
        "coinbase/SKL-GBP",
        "bequant/BTC-TUSD",
        "bequant/BTC-USDB",
    ] {
        assert!(st.contains_key(m), "{m} missing: {:?}", st.keys());
    }
    assert!(st.keys().all(|m| !m.contains("XBT")));

    let tmp = tempfile::tempdir().unwrap();
    let (bad, line) = corrupted(
        tmp.path(),
        &dir.join("COINBASE.ws.28.0"),
        "\"type\":\"l2update\",\"product_id\":\"SKL-USD\"",
        "\"SKL-USD\"",
        "\"SKLUSD\"",
    );
    let r = root.path().join("bad");
    let out = daedalus(
        &[
            "ingest",
            "--quiet",
            "--format",
            "cryptofeed",
            "--root",
            r.to_str().unwrap(),
        ],
        std::slice::from_ref(&bad),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "{}:{line}: unknown coinbase symbol \"SKLUSD\"",
            bad.display()
        )),
        "{err}"
    );
    let json = ingest("cryptofeed", &r, &["--lenient", "--json"], &[bad]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["skipped"]["unknown symbol"], 1);
}

#[test]
fn run_on_every_venue_and_binance_conforms() {
    let Some(dir) = cf_dir("run_on_every_venue_and_binance_conforms") else {
        return;
    };
    let Some(binance) = daedalus_tests::binance_files() else {
        return daedalus_tests::skip("run_on_every_venue_and_binance_conforms", "no Binance");
    };
    let root = tempfile::tempdir().unwrap();
    ingest("cryptofeed", root.path(), &[], &captures(&dir));
    ingest("binance-raw", root.path(), &[], &binance);
    let r = root.path().to_str().unwrap();
    let out = daedalus(&["run", "--quiet", "--root", r], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = root.path().join("report.html");
    let out = daedalus(
        &[
            "report",
            "--quiet",
            "--root",
            r,
            "--out",
            html.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(html).unwrap();
    let markets = states(root.path());
    assert_eq!(markets.len(), 45 + 6);
    for m in markets.keys() {
        assert!(html.contains(m.as_str()), "report does not draw {m}");
    }
    // Every market with book rows has silver book rows (the downstream book accepted them).
    for (m, s) in &markets {
        let (ex, sym) = m.split_once('/').unwrap();
        let p = format!("silver/book/exchange={ex}/symbol={sym}");
        let rows: usize = daedalus_tests::read_partitions(root.path(), &p)
            .values()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows as u64 > 0, s.counters.book_rows > 0, "{m}");
    }
    match daedalus_tests::conformance(root.path()) {
        Some((ok, text)) => assert!(ok, "{text}"),
        None => daedalus_tests::skip("conformance", "python3 with duckdb/pyarrow unavailable"),
    }
}

/// The input names applied to any market of `root`.
fn applied(root: &Path) -> std::collections::BTreeSet<String> {
    states(root)
        .values()
        .flat_map(|s| s.inputs.iter().map(|i| i.name.clone()))
        .collect()
}

#[test]
fn ingest_watch_equals_one_call() {
    let Some(dir) = cf_dir("ingest_watch_equals_one_call") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let parts_dir = tmp.path().join("parts");
    std::fs::create_dir(&parts_dir).unwrap();
    let parts: Vec<[PathBuf; 2]> = captures(&dir)
        .iter()
        .map(|c| split(c, &parts_dir))
        .collect();
    let all: Vec<PathBuf> = parts.iter().flatten().cloned().collect();
    let one_call = tmp.path().join("one");
    ingest("cryptofeed", &one_call, &[], &all);

    let (landing, root) = (tmp.path().join("landing"), tmp.path().join("watch"));
    std::fs::create_dir(&landing).unwrap();
    let mut child = Command::new(BIN)
        .args(["ingest", "--quiet", "--format", "cryptofeed", "--root"])
        .arg(&root)
        .args(["--settle", "200ms", "--poll", "100ms", "--watch"])
        .arg(&landing)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Second parts first, each written under a staging name and renamed in.
    for p in parts
        .iter()
        .map(|p| &p[1])
        .chain(parts.iter().map(|p| &p[0]))
    {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let staged = landing.join(format!(".{name}"));
        std::fs::copy(p, &staged).unwrap();
        std::fs::rename(&staged, landing.join(&name)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    let t0 = std::time::Instant::now();
    while applied(&root).len() < all.len() {
        assert!(child.try_wait().unwrap().is_none(), "watcher ended");
        assert!(t0.elapsed().as_secs() < 300, "not all inputs applied");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT failed");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The inputs were read from the landing folder: the states name other paths, the bronze
    // is the same.
    let bronze = |r: &Path| daedalus_tests::bytes_under(r, &r.join("bronze"));
    assert!(
        bronze(&root) == bronze(&one_call),
        "watch differs from one call"
    );
    let (a, b) = (states(&root), states(&one_call));
    for (m, s) in &a {
        assert_eq!(s.counters, b[m].counters, "{m}");
        assert_eq!(s.chain, b[m].chain, "{m}");
    }
}

#[test]
fn a_malformed_book_message_is_an_error_or_a_counted_gap() {
    let Some(dir) = cf_dir("a_malformed_book_message_is_an_error_or_a_counted_gap") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The first SKL-USD l2update's first change gets a negative price.
    let src = std::fs::read_to_string(dir.join("COINBASE.ws.28.0")).unwrap();
    let mut lines: Vec<String> = src.split('\n').map(String::from).collect();
    let i = lines
        .iter()
        .position(|l| l.contains("\"type\":\"l2update\",\"product_id\":\"SKL-USD\""))
        .unwrap();
    let at = lines[i].find("\"changes\":[[\"").unwrap();
    let price = at + lines[i][at..].find("\",\"").unwrap() + 3;
    lines[i].insert(price, '-');
    let bad = tmp.path().join("COINBASE.ws.28.0");
    std::fs::write(&bad, lines.join("\n")).unwrap();

    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let out = daedalus(
        &["ingest", "--quiet", "--format", "cryptofeed", "--root", r],
        std::slice::from_ref(&bad),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let want = format!(
        "{}:{}: level price is a positive decimal",
        bad.display(),
        i + 1
    );
    assert!(err.contains(&want), "{err}");

    let json = ingest("cryptofeed", &root, &["--lenient", "--json"], &[bad]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["skipped"]["malformed message"], 1);
    let st = states(&root);
    let k = &st["coinbase/SKL-USD"].counters.checks;
    assert_eq!(
        (k.malformed_gaps, st["coinbase/SKL-USD"].counters.gaps),
        (1, 1)
    );
    // Every one of the 2,592 updates was applied before the gap, or is unsynced after it (the
    // capture has no later snapshot): the book's rows stop.
    assert_eq!(k.messages_checked - 1 + k.unsynced_messages, 2_592);
    assert!(k.unsynced_messages > 2_500, "{k:?}");
    assert_eq!(st["coinbase/SKL-USD"].counters.trades, 52, "trades go on");
}
