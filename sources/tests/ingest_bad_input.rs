//! Bad input on real corrupted copies of the shared recordings (made here in a temp dir, never
//! committed): each case fails in strict mode with an error naming the file, the line and the
//! rule and leaves no file behind; with `--lenient` it succeeds with the right counter.

use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

fn real() -> Option<PathBuf> {
    let base = std::env::var_os("DAEDALUS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let p = base.join("data/real");
    p.is_dir().then_some(p)
}

fn lines_of(gz: &Path) -> Vec<String> {
    let mut s = String::new();
    GzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s.lines().map(str::to_string).collect()
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    stack.push(e.path())
                } else {
                    out.push(e.path())
                }
            }
        }
    }
    out
}

/// Strict: Err naming file, line and rule, nothing written. Lenient: Ok.
fn check(file: &Path, line: Option<u64>, rule: &str) -> daedalus_sources::ingest::IngestReport {
    let out = tempfile::tempdir().unwrap();
    let e = ingest(
        InputFormat::BinanceRaw,
        &[file.to_path_buf()],
        out.path(),
        &IngestOptions {
            lenient: false,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(&file.display().to_string()), "{e}");
    if let Some(l) = line {
        assert!(e.contains(&format!(":{l}:")), "expected line {l}: {e}");
    }
    assert!(e.contains(rule), "expected {rule:?}: {e}");
    assert!(
        files_under(out.path()).is_empty(),
        "strict failure left files: {:?}",
        files_under(out.path())
    );
    ingest(
        InputFormat::BinanceRaw,
        &[file.to_path_buf()],
        out.path(),
        &IngestOptions {
            lenient: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn corrupted_binance_recordings() {
    let Some(real) = real() else {
        eprintln!("SKIP corrupted_binance_recordings: ../shared/data/real not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spot = lines_of(&real.join("hftbacktest/spot/btcusdt_20240808.gz"));
    let write = |name: &str, lines: &[String]| {
        let p = dir.path().join(name);
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    };
    // Malformed JSON at line 5.
    let mut l = spot.clone();
    l[4] = l[4][..l[4].len() / 2].to_string();
    let r = check(&write("btcusdt_badjson.txt", &l), Some(5), "malformed");
    assert_eq!(r.skipped.values().sum::<u64>(), 1);
    // Unknown stream name at line 7.
    let mut l = spot.clone();
    l[6] = l[6]
        .replacen("@trade", "@kline_1m", 1)
        .replacen("@bookTicker", "@kline_1m", 1)
        .replacen("@depth@100ms", "@kline_1m", 1);
    let r = check(&write("btcusdt_stream.txt", &l), Some(7), "unknown stream");
    assert_eq!(r.skipped["unknown stream"], 1);
    // Negative price and non-numeric size in trades.
    let ti = spot.iter().position(|x| x.contains("@trade")).unwrap();
    let mut l = spot.clone();
    l[ti] = l[ti].replacen("\"p\":\"", "\"p\":\"-", 1);
    let r = check(
        &write("btcusdt_negprice.txt", &l),
        Some(ti as u64 + 1),
        "positive",
    );
    assert_eq!(r.skipped["bad trade"], 1);
    let mut l = spot.clone();
    l[ti] = l[ti].replacen("\"q\":\"", "\"q\":\"x", 1);
    check(
        &write("btcusdt_nansize.txt", &l),
        Some(ti as u64 + 1),
        "positive",
    );
    // A depth diff removed from the middle: the spot U chain breaks at the next diff.
    let depth: Vec<usize> = spot
        .iter()
        .enumerate()
        .filter(|(_, x)| x.contains("@depth"))
        .map(|(i, _)| i)
        .collect();
    let mut l = spot;
    let cut = depth[depth.len() / 2];
    l.remove(cut);
    let next = depth.iter().find(|&&i| i > cut).unwrap() - 1; // shifted by the removal
    let r = check(
        &write("btcusdt_chain.txt", &l),
        Some(next as u64 + 1),
        "spot needs U == prev_u + 1",
    );
    assert_eq!(r.markets["binance/BTC-USDT"].gaps, 1);
    // Futures: the pu chain.
    let usdm = lines_of(&real.join("hftbacktest/usdm/ethusdt_20240808.gz"));
    let depth: Vec<usize> = usdm
        .iter()
        .enumerate()
        .filter(|(_, x)| x.contains("@depth"))
        .map(|(i, _)| i)
        .collect();
    let mut l = usdm;
    l.remove(depth[depth.len() / 2]);
    let r = check(
        &write("ethusdt_usdm_chain.txt", &l),
        None,
        "futures need pu == prev_u",
    );
    assert_eq!(r.markets["binance-futures/ETH-USDT-PERP"].gaps, 1);
    // Truncated gzip: the real file cut in half.
    let bytes = std::fs::read(real.join("hftbacktest/spot/btcusdt_20240809.gz")).unwrap();
    let p = dir.path().join("btcusdt_20240809_truncated.gz");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let r = check(&p, None, "truncated");
    assert_eq!(r.truncated_files.len(), 1);
    assert!(
        r.markets["binance/BTC-USDT"].trades > 1000,
        "lines before the cut are kept"
    );
}

#[test]
fn tardis_samples_ingest_and_bad_rows_are_reported() {
    let Some(real) = real() else {
        eprintln!(
            "SKIP tardis_samples_ingest_and_bad_rows_are_reported: ../shared/data/real not found"
        );
        return;
    };
    let t = real.join("nautilus_trader/tardis");
    let files: Vec<PathBuf> = [
        "deribit_incremental_book_L2_BTC-PERPETUAL.csv",
        "bitmex_trades_XBTUSD.csv",
        "huobi-dm-swap_quotes_BTC-USD.csv",
    ]
    .iter()
    .map(|f| t.join(f))
    .collect();
    let out = tempfile::tempdir().unwrap();
    let r = ingest(
        InputFormat::TardisCsv,
        &files,
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(r.markets["deribit/BTC-USD-PERP"].book_rows, 15);
    assert_eq!(r.markets["bitmex/BTC-USD-PERP"].trades, 10);
    assert_eq!(r.markets["huobi-dm-swap/BTC-USD-PERP"].tickers, 10);
    // A book_snapshot_25 file is a snapshot feed (CONTRACT §10.3): its first snapshot whole
    // (25 + 25 levels), then the changes of the 9 later ones, one message each (the rebuilt book
    // is checked against every snapshot in cli/tests/issue_17_snapshot_feeds.rs).
    let snap = t.join("binance-futures_book_snapshot_25_BTCUSDT.csv");
    let r = ingest(
        InputFormat::TardisCsv,
        std::slice::from_ref(&snap),
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    let c = &r.markets["binance-futures/BTC-USDT-PERP"];
    assert_eq!((c.snapshots, c.book_messages, c.book_rows), (1, 10, 63));
    // A corrupted copy: a negative amount on line 4.
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(&files[1])
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut f: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    let last = f.len() - 1;
    f[last] = format!("-{}", f[last]);
    lines[3] = f.join(",");
    let bad = dir.path().join("bitmex_trades_bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let e = ingest(
        InputFormat::TardisCsv,
        std::slice::from_ref(&bad),
        out2.path(),
        &IngestOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&format!("{}:4:", bad.display())) && e.contains("amount"),
        "{e}"
    );
    assert!(files_under(out2.path()).is_empty());
    let r = ingest(
        InputFormat::TardisCsv,
        &[bad],
        out2.path(),
        &IngestOptions {
            lenient: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (
            r.markets["bitmex/BTC-USD-PERP"].trades,
            r.skipped["bad csv row"]
        ),
        (9, 1)
    );
}

#[test]
fn reingest_replaces_rather_than_duplicates() {
    let Some(real) = real() else {
        eprintln!("SKIP reingest_replaces_rather_than_duplicates: ../shared/data/real not found");
        return;
    };
    let f = real.join("hftbacktest/cm/ethusd_perp_20240808.gz");
    let out = tempfile::tempdir().unwrap();
    ingest(
        InputFormat::BinanceRaw,
        std::slice::from_ref(&f),
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    let mut first = files_under(out.path());
    ingest(
        InputFormat::BinanceRaw,
        &[f],
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    let mut second = files_under(out.path());
    first.sort();
    second.sort();
    assert_eq!(first, second);
}
