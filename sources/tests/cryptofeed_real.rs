//! cryptofeed captures of six venues (`../shared/data/real/cryptofeed`, PROVENANCE.md §2): counts
//! equal the files' own, the venues' checks pass (Kraken and OKX checksums on every message,
//! Bequant sequence continuity, never a crossed book), a corrupted copy fails the checksums, and
//! trade sides follow each venue's convention. Skips (printing `SKIP`) when the data is absent.

use daedalus_model::rows::TradeSide;
use daedalus_sources::cryptofeed::{
    CaptureOptions, CaptureOutput, CryptofeedError, MarketOutput, read_capture, read_capture_with,
};
use std::path::{Path, PathBuf};

fn capture(test: &str, file: &str) -> Option<(PathBuf, CaptureOutput)> {
    let base = std::env::var_os("DAEDALUS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let p = base.join("data/real/cryptofeed").join(file);
    if !p.is_file() {
        eprintln!("SKIP {test}: {} absent", p.display());
        return None;
    }
    let out = read_capture(&p).unwrap_or_else(|e| panic!("{e}"));
    Some((p, out))
}

fn market<'a>(out: &'a CaptureOutput, venue_symbol: &str) -> &'a MarketOutput {
    out.by_venue_symbol(venue_symbol)
        .unwrap_or_else(|| panic!("no market {venue_symbol}"))
}

fn report(out: &CaptureOutput) {
    for m in &out.markets {
        eprintln!(
            "{} ({}): book {} trades {} ticker {} history {} gaps {} {:?}",
            m.market,
            m.venue_symbol,
            m.book.len(),
            m.trades.len(),
            m.ticker.len(),
            m.history_trades,
            m.gaps.len(),
            m.stats
        );
    }
    eprintln!("skipped {:?}", out.skipped);
}

/// Every book of the capture verified: no gap, never crossed.
fn assert_clean(out: &CaptureOutput) {
    for m in &out.markets {
        assert!(m.gaps.is_empty(), "{}: gaps {:?}", m.market, m.gaps);
        assert_eq!(m.stats.crossed_books, 0, "{} crossed", m.market);
        assert_eq!(m.stats.unsynced_messages, 0, "{} unsynced", m.market);
    }
}

/// Copies `src` into a temp dir with the first line containing `find` rewritten by `edit`.
fn corrupted(
    src: &Path,
    find: &str,
    edit: impl Fn(&str) -> String,
) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(src).unwrap();
    let mut done = false;
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            if !done && l.contains(find) {
                done = true;
                edit(l)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line with {find:?}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(src.file_name().unwrap());
    std::fs::write(&p, lines.join("\n")).unwrap();
    (dir, p)
}

#[test]
fn kraken_checksums_all_verify() {
    let Some((path, out)) = capture("kraken_checksums_all_verify", "KRAKEN.ws.50.0") else {
        return;
    };
    report(&out);
    assert_eq!(out.markets.len(), 10);
    assert_clean(&out);
    let checked: u64 = out.markets.iter().map(|m| m.stats.checksums_checked).sum();
    let updates: u64 = out
        .markets
        .iter()
        .map(|m| m.stats.messages_checked - 1)
        .sum();
    assert_eq!(checked, updates, "every update carries a checksum");
    assert_eq!(checked, 4_269);
    for m in &out.markets {
        assert_eq!(m.stats.checksum_mismatches, 0, "{}", m.market);
        assert!(m.trades.is_empty());
    }
    let chf = market(&out, "XBT/CHF");
    assert_eq!(chf.market.to_string(), "kraken/BTC-CHF");
    assert_eq!(chf.stats.messages_checked, 1 + 289);

    // The best ask's volume changed in the snapshot: the first checksum fails, and the book
    // waits for a snapshot that never comes (every later update of the pair is unsynced).
    let (_dir, bad) = corrupted(&path, "[464,{\"as\"", |l| {
        l.replacen("\"0.15000000\"", "\"0.25000000\"", 1)
    });
    let out = read_capture(&bad).unwrap();
    let chf = market(&out, "XBT/CHF");
    assert_eq!(chf.stats.checksum_mismatches, 1, "{:?}", chf.stats);
    assert_eq!(chf.gaps.len(), 1);
    assert_eq!(chf.stats.unsynced_messages, 288);
    let strict = read_capture_with(&bad, CaptureOptions { strict: true });
    assert!(
        matches!(
            strict,
            Err(CryptofeedError::CheckFailed {
                check: "checksum",
                ..
            })
        ),
        "{strict:?}"
    );
}

#[test]
fn okx_checksums_all_verify() {
    let Some((path, out)) = capture("okx_checksums_all_verify", "OKX.ws.1.0") else {
        return;
    };
    report(&out);
    assert_clean(&out);
    let ids: Vec<String> = out.markets.iter().map(|m| m.market.to_string()).collect();
    assert_eq!(
        ids,
        [
            "okex/BTC-USDT",
            "okex-futures/BTC-USD-220527",
            "okex-swap/UNI-USD-PERP"
        ]
    );
    let checked: u64 = out.markets.iter().map(|m| m.stats.checksums_checked).sum();
    let msgs: u64 = out.markets.iter().map(|m| m.stats.messages_checked).sum();
    assert_eq!(
        (checked, msgs),
        (290, 290),
        "every books message carries a checksum"
    );
    let spot = market(&out, "BTC-USDT");
    assert_eq!(spot.stats.messages_checked, 1 + 97);
    assert_eq!(spot.book.iter().filter(|r| r.is_snapshot).count(), 800);
    assert_eq!(spot.trades.len(), 69);
    assert_eq!(spot.ticker.len(), 25);
    let fut = market(&out, "BTC-USD-220527");
    assert_eq!(fut.stats.messages_checked, 1 + 98);
    assert_eq!(fut.trades.len(), 4);
    // OKX `side` is the taker: the first BTC-USD-220527 trade (tradeId 7849) is a buy.
    let t = &fut.trades[0];
    assert_eq!(
        (t.trade_id.as_str(), t.side, t.size),
        ("7849", TradeSide::Buy, 1.0)
    );
    assert_eq!(t.ts_event, 1_652_459_199_958_000_000);

    // The best ask's size changed in the BTC-USDT snapshot: its checksum fails at once.
    let (_dir, bad) = corrupted(
        &path,
        "\"instId\":\"BTC-USDT\"},\"action\":\"snapshot\"",
        |l| {
            let i = l.find("\"asks\":[[\"").unwrap() + 10;
            let j = i + l[i..].find("\",\"").unwrap() + 3;
            format!("{}9{}", &l[..j], &l[j..])
        },
    );
    let out = read_capture(&bad).unwrap();
    let spot = market(&out, "BTC-USDT");
    assert_eq!(spot.stats.checksum_mismatches, 1, "{:?}", spot.stats);
    assert_eq!(spot.stats.unsynced_messages, 97);
    assert!(spot.book.is_empty());
    let strict = read_capture_with(&bad, CaptureOptions { strict: true });
    assert!(
        matches!(
            strict,
            Err(CryptofeedError::CheckFailed {
                check: "checksum",
                ..
            })
        ),
        "{strict:?}"
    );
}
