//! The Binance book sync rule on small hand-written recordings: diffs before the snapshot,
//! stale diffs, and chain breaks (an error, or a counted gap when lenient).

use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use std::path::PathBuf;

fn write(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("btcusdt_20240808.txt");
    std::fs::write(&p, lines.join("\n")).unwrap();
    (d, p)
}

/// 2024-08-09T00:00:00Z in ns and ms: the hand-written times are offsets from it (times before
/// 2009 are bad input, issue 16).
const R0: i64 = 1_723_161_600_000_000_000;
const E0: i64 = 1_723_161_600_000;

/// A snapshot line received at `R0 + recv`.
fn snapshot(recv: i64) -> String {
    format!(
        r#"{} {{"lastUpdateId":100,"bids":[["100.0","2.0"]],"asks":[["101.0","3.0"]]}}"#,
        R0 + recv
    )
}

fn depth(recv: i64, e: i64, first: u64, last: u64, bid: &str) -> String {
    let (recv, e) = (R0 + recv, E0 + e);
    format!(
        r#"{recv} {{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{e},"s":"BTCUSDT","U":{first},"u":{last},"b":[["{bid}","1.0"]],"a":[]}}}}"#
    )
}

/// The diff to apply can sit on a line before the snapshot (PROVENANCE §1 quirk).
#[test]
fn diff_before_snapshot_is_applied_after_it() {
    let lines = vec![
        depth(1_000_000, 1, 90, 95, "99.0"),  // stale: u <= L
        depth(2_000_000, 2, 96, 104, "99.5"), // straddles L = 100
        snapshot(3_000_000),
        depth(4_000_000, 4, 105, 106, "99.8"),
    ];
    let (d, p) = write(&lines);
    let out = tempfile::tempdir().unwrap();
    let r = ingest(
        InputFormat::BinanceRaw,
        &[p],
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    let c = &r.markets["binance/BTC-USDT"];
    assert_eq!(
        (c.snapshots, c.stale_diffs, c.book_messages, c.book_rows),
        (1, 1, 3, 4)
    );
    drop(d);
}

#[test]
fn chain_break_is_an_error_or_a_counted_gap() {
    let lines = vec![
        snapshot(1_000_000),
        depth(2_000_000, 2, 100, 104, "99.5"),
        depth(3_000_000, 3, 110, 112, "99.6"),
    ];
    // The snapshot line comes before any stream line: attributed once the stream is known.
    let (d, p) = write(&lines);
    let out = tempfile::tempdir().unwrap();
    let e = ingest(
        InputFormat::BinanceRaw,
        std::slice::from_ref(&p),
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(":3:") && msg.contains("U=110") && msg.contains("previous u=104"),
        "{msg}"
    );
    let r = ingest(
        InputFormat::BinanceRaw,
        &[p],
        out.path(),
        &IngestOptions {
            lenient: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.markets["binance/BTC-USDT"].gaps, 1);
    drop(d);
}
