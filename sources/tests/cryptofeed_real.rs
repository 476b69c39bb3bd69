//! cryptofeed captures of six venues (`../shared/data/real/cryptofeed`, PROVENANCE.md §2): counts
//! equal the files' own, the venues' checks pass (Kraken and OKX checksums on every message,
//! Bequant sequence continuity, never a crossed book), a corrupted copy fails the checksums, and
//! trade sides follow each venue's convention. Skips (printing `SKIP`) when the data is absent.

use daedalus_model::rows::{BookSide, TradeSide};
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
    let Some((_, out)) = capture("okx_checksums_all_verify", "OKX.ws.1.0") else {
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

    // OKX's ticker BBO is stale: of 24 BTC-USDT tickers after the snapshot, 1 equals the top at
    // its receive time, 5 a top held at most 1 s before, 17 one held 1 to 3.06 s before; the
    // last repeats the pre-subscription ticker's BBO, which the book never held. The futures
    // ticker shows a top inside one 100 ms `books` batch (three trades swept the ask), which
    // the batched book never shows.
    let s = &spot.stats;
    assert_eq!(
        (
            s.top_of_book_checked,
            s.top_of_book_matches,
            s.top_of_book_lagging
        ),
        (24, 1, 5)
    );
    assert_eq!((s.top_of_book_stale, s.top_of_book_mismatches), (17, 1));
    assert!(s.top_of_book_max_lag_ns < 3_100_000_000);
    assert_eq!(fut.stats.top_of_book_mismatches, 1);
}

#[test]
fn okx_corrupted_copy_fails_checksum() {
    let Some((path, _)) = capture("okx_corrupted_copy_fails_checksum", "OKX.ws.1.0") else {
        return;
    };
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

#[test]
fn coinbase_counts_sides_and_ticker() {
    let Some((_, out)) = capture("coinbase_counts_sides_and_ticker", "COINBASE.ws.28.0") else {
        return;
    };
    report(&out);
    assert_clean(&out);
    assert_eq!(out.markets.len(), 10);
    assert_eq!(out.skipped.history_trades, 10, "one last_match per product");
    let usd = market(&out, "SKL-USD");
    assert_eq!(usd.market.to_string(), "coinbase/SKL-USD");
    let snap = usd.book.iter().filter(|r| r.is_snapshot);
    let bids = snap.clone().filter(|r| r.side == BookSide::Bid).count();
    assert_eq!((bids, snap.count() - bids), (814, 1341));
    assert_eq!(usd.stats.messages_checked, 1 + 2_592);
    assert_eq!(usd.trades.len(), 52);
    assert_eq!(usd.ticker.len(), 53);
    assert_eq!(usd.history_trades, 1);
    assert_eq!(market(&out, "SKL-BTC").stats.messages_checked, 1 + 1_539);
    assert_eq!(market(&out, "SKL-BTC").trades.len(), 8);
    assert_eq!(market(&out, "SKL-GBP").stats.messages_checked, 1 + 289);
    assert_eq!(market(&out, "SKL-GBP").trades.len(), 1);
    // The first SKL-USD match has maker side "sell": a buyer aggressed.
    let t = &usd.trades[0];
    assert_eq!((t.trade_id.as_str(), t.side), ("1568268", TradeSide::Buy));
    assert_eq!((t.price, t.size), (0.791, 450.0));
    assert_eq!(t.ts_event, 1_618_677_817_121_358_000);
    // Top of book equals the ticker at its receive time for every live ticker: the only other
    // one per product is the subscription ticker, whose `time` (its last trade) precedes the
    // snapshot (7 products; 100 of 107 checked tickers match).
    let tob = |f: fn(&MarketOutput) -> u64| out.markets.iter().map(f).sum::<u64>();
    assert_eq!(tob(|m| m.stats.top_of_book_checked), 107);
    assert_eq!(tob(|m| m.stats.top_of_book_matches), 100);
    assert_eq!(tob(|m| m.stats.top_of_book_before_snapshot), 7);
    assert_eq!(tob(|m| m.stats.top_of_book_mismatches), 0);
    assert_eq!(usd.stats.top_of_book_matches, 52);
    // Trade ids are contiguous per product (PROVENANCE §2).
    for m in &out.markets {
        let ids: Vec<u64> = m
            .trades
            .iter()
            .map(|t| t.trade_id.parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{}", m.market);
    }
}

#[test]
fn bitmex_counts_sides_and_quotes() {
    let Some((_, out)) = capture("bitmex_counts_sides_and_quotes", "BITMEX.ws.1.0") else {
        return;
    };
    report(&out);
    assert_clean(&out);
    assert_eq!(out.markets.len(), 10);
    let xbt = market(&out, "XBTUSD");
    assert_eq!(xbt.market.to_string(), "bitmex/BTC-USD-PERP");
    assert_eq!(xbt.book.iter().filter(|r| r.is_snapshot).count(), 9_346);
    assert_eq!(xbt.book.len(), 9_346 + 1_274 + 222 + 216);
    assert_eq!(
        xbt.book
            .iter()
            .filter(|r| !r.is_snapshot && r.size == 0.0)
            .count(),
        216
    );
    assert_eq!((xbt.trades.len(), xbt.history_trades), (15, 1));
    assert_eq!(xbt.ticker.len(), 286);
    // BitMEX `side` is the aggressor; sizes are USD contracts.
    let t = &xbt.trades[0];
    assert_eq!((t.side, t.price, t.size), (TradeSide::Buy, 32180.5, 100.0));
    assert_eq!(t.trade_id, "6e70bebe-235e-08a6-d11b-e1042bf1f2ed");
    assert_eq!(t.ts_event, 1_626_993_371_685_000_000);
    assert_eq!(
        market(&out, "XRPU21").market.to_string(),
        "bitmex/XRP-BTC-210924"
    );
    // The last quote of each symbol in a message equals the rebuilt top, every time.
    for m in &out.markets {
        let s = &m.stats;
        assert_eq!(s.top_of_book_matches, s.top_of_book_checked, "{}", m.market);
    }
    assert_eq!(xbt.stats.top_of_book_checked, 28);
}

#[test]
fn bybit_counts_and_sides() {
    let Some((_, out)) = capture("bybit_counts_and_sides", "BYBIT.ws.26.0") else {
        return;
    };
    report(&out);
    assert_clean(&out);
    let btc = market(&out, "BTCUSD");
    assert_eq!(btc.market.to_string(), "bybit/BTC-USD-PERP");
    assert_eq!(btc.book.iter().filter(|r| r.is_snapshot).count(), 50);
    assert_eq!(btc.stats.messages_checked, 1 + 506);
    assert_eq!(btc.trades.len(), 131);
    // Bybit `side` is the taker: the first BTCUSD trade sold 4 contracts at 60621.5.
    let t = &btc.trades[0];
    assert_eq!((t.side, t.price, t.size), (TradeSide::Sell, 60621.5, 4.0));
    assert_eq!(t.ts_event, 1_618_677_786_614_000_000);
    assert_eq!(btc.book[0].seq, Some(5_938_954_538));
}

#[test]
fn bequant_sequences_and_history() {
    let Some((path, out)) = capture("bequant_sequences_and_history", "BEQUANT.ws.1.0") else {
        return;
    };
    report(&out);
    assert_clean(&out);
    assert_eq!(out.markets.len(), 10);
    for (sym, updates) in [
        ("BTCUSDB", 274),
        ("BTCTUSD", 175),
        ("BTCPAX", 95),
        ("BTCDAI", 62),
    ] {
        let m = market(&out, sym);
        assert_eq!(m.stats.messages_checked, 1 + updates, "{sym}");
        assert_eq!(m.stats.sequences_checked, updates, "{sym}");
        assert_eq!(m.stats.sequence_gaps, 0, "{sym}");
    }
    assert_eq!(market(&out, "BTCTUSD").ticker.len(), 133);
    assert_eq!(market(&out, "BTCUSDB").ticker.len(), 102);
    let btc_live: usize = out
        .markets
        .iter()
        .filter(|m| m.market.symbol.starts_with("BTC-"))
        .map(|m| m.trades.len())
        .sum();
    assert_eq!(btc_live, 1, "one live BTC updateTrades");
    let t = &market(&out, "BTCTUSD").trades[0];
    assert_eq!(
        (t.trade_id.as_str(), t.side, t.price),
        ("1307176326", TradeSide::Buy, 33515.7)
    );
    assert_eq!(
        out.skipped.history_trades, 1_000,
        "100 snapshotTrades per symbol"
    );
    // Every ticker equals the rebuilt top at its receive time.
    for m in &out.markets {
        let s = &m.stats;
        assert_eq!(s.top_of_book_matches, s.top_of_book_checked, "{}", m.market);
    }
    assert_eq!(market(&out, "BTCTUSD").stats.top_of_book_checked, 132);
    assert_eq!(
        market(&out, "BTCTUSD").market.to_string(),
        "bequant/BTC-TUSD"
    );

    // A skipped sequence number is a gap.
    let (_dir, bad) = corrupted(&path, "\"sequence\":12626587,", |l| {
        l.replace("\"sequence\":12626587,", "\"sequence\":12626588,")
    });
    let out = read_capture(&bad).unwrap();
    let m = market(&out, "BTCUSDB");
    assert_eq!((m.stats.sequence_gaps, m.gaps.len()), (1, 1));
}

// Unit checks of the building blocks (exact times, decimal keys, checksums, ids).

mod time_units {
    use daedalus_sources::cryptofeed::time::*;

    #[test]
    fn float_seconds_are_exact() {
        assert_eq!(
            parse_float_secs("1618677816.8434298"),
            Some(1_618_677_816_843_429_800)
        );
        assert_eq!(
            parse_float_secs("1626993367"),
            Some(1_626_993_367_000_000_000)
        );
        assert_eq!(parse_float_secs("1.0000000019"), Some(1_000_000_001));
        assert_eq!(parse_float_secs("-1.5"), None);
        assert_eq!(parse_float_secs("1.5e3"), None);
        assert_eq!(parse_float_secs(""), None);
    }

    #[test]
    fn iso_and_integers() {
        assert_eq!(
            parse_iso("2021-04-17T16:43:37.075687Z"),
            Some(1_618_677_817_075_687_000)
        );
        assert_eq!(
            parse_iso("2021-07-22T22:36:10.014Z"),
            Some(1_626_993_370_014_000_000)
        );
        assert_eq!(parse_iso("2021-07-22 22:36:10Z"), None);
        assert_eq!(parse_iso("2021-07-22Té:00:00Z"), None);
        assert_eq!(parse_iso("2021-07-22T24:00:00Z"), None);
        assert_eq!(parse_ms("1652459225464"), Some(1_652_459_225_464_000_000));
        assert_eq!(parse_ms("-1"), None);
    }
}

mod book_units {
    use daedalus_model::rows::BookSide;
    use daedalus_sources::cryptofeed::book::*;

    #[test]
    fn dec_keys_are_exact() {
        assert_eq!(DecKey::parse("30249.40"), DecKey::parse("30249.4"));
        assert!(DecKey::parse("0.000022900") < DecKey::parse("0.00002291"));
        assert_eq!(DecKey::parse("1e5"), None);
        assert_eq!(DecKey::parse("-1"), None);
        assert_eq!(DecKey::parse(""), None);
        assert_eq!(DecKey::parse("1.0000000000000000001"), None);
    }

    #[test]
    fn book_sets_deletes_and_truncates() {
        let mut b = PriceBook::default();
        b.set(BookSide::Bid, "10", "1").unwrap();
        b.set(BookSide::Bid, "9", "1").unwrap();
        b.set(BookSide::Ask, "11", "2").unwrap();
        b.set(BookSide::Ask, "12", "2").unwrap();
        assert!(!b.crossed());
        b.set(BookSide::Bid, "10.0", "0").unwrap();
        assert_eq!(b.top().bid, DecKey::parse("9"));
        let cut = b.truncate(1);
        assert_eq!(cut, vec![(BookSide::Ask, "12".into())]);
        assert!(b.set(BookSide::Ask, "x", "1").is_err());
        assert!(b.set(BookSide::Ask, "1", "-1").is_err());
    }
}

mod checksum_units {
    use daedalus_model::rows::BookSide;
    use daedalus_sources::cryptofeed::book::PriceBook;
    use daedalus_sources::cryptofeed::checksum::*;

    #[test]
    fn okx_documented_example_shape() {
        // OKX docs: bids [3366.1, 7, 0, 3], asks [3366.8, 9, 10, 3] -> "3366.1:7:3366.8:9".
        let mut b = PriceBook::default();
        b.set(BookSide::Bid, "3366.1", "7").unwrap();
        b.set(BookSide::Ask, "3366.8", "9").unwrap();
        assert_eq!(okx(&b), crc32fast::hash(b"3366.1:7:3366.8:9") as i32);
        b.set(BookSide::Bid, "3366", "1").unwrap();
        assert_eq!(okx(&b), crc32fast::hash(b"3366.1:7:3366.8:9:3366:1") as i32);
    }

    #[test]
    fn kraken_strips_points_and_leading_zeros() {
        let mut b = PriceBook::default();
        b.set(BookSide::Ask, "0.05005", "0.00000500").unwrap();
        b.set(BookSide::Bid, "0.05000", "0.00000100").unwrap();
        assert_eq!(kraken(&b), crc32fast::hash(b"50055005000100"));
    }
}

mod symbols_units {
    use daedalus_sources::cryptofeed::symbols::canonical;
    use daedalus_sources::cryptofeed::{Bad, Venue};

    fn id(v: Venue, s: &str) -> String {
        canonical(v, s).map(|m| m.to_string()).unwrap_or_default()
    }

    #[test]
    fn venue_symbols_map_per_contract() {
        assert_eq!(id(Venue::Coinbase, "SKL-USD"), "coinbase/SKL-USD");
        assert_eq!(id(Venue::Kraken, "XBT/CHF"), "kraken/BTC-CHF");
        assert_eq!(id(Venue::Kraken, "KSM/XBT"), "kraken/KSM-BTC");
        assert_eq!(id(Venue::Okx, "BTC-USDT"), "okex/BTC-USDT");
        assert_eq!(id(Venue::Okx, "UNI-USD-SWAP"), "okex-swap/UNI-USD-PERP");
        assert_eq!(
            id(Venue::Okx, "BTC-USD-220527"),
            "okex-futures/BTC-USD-220527"
        );
        assert_eq!(id(Venue::Bitmex, "XBTUSD"), "bitmex/BTC-USD-PERP");
        assert_eq!(id(Venue::Bitmex, "UNIUSDT"), "bitmex/UNI-USDT-PERP");
        assert_eq!(id(Venue::Bitmex, "XRPU21"), "bitmex/XRP-BTC-210924");
        assert_eq!(id(Venue::Bitmex, "XBTZ21"), "bitmex/BTC-USD-211231");
        assert_eq!(id(Venue::Bybit, "BTCUSD"), "bybit/BTC-USD-PERP");
        assert_eq!(id(Venue::Bybit, "BTCUSDM21"), "bybit/BTC-USD-210625");
        assert_eq!(id(Venue::Bequant, "BTCTUSD"), "bequant/BTC-TUSD");
        assert_eq!(id(Venue::Bequant, "BTCEURS"), "bequant/BTC-EURS");
        for (v, s) in [
            (Venue::Okx, "BTC-USD-220527-30000-C"),
            (Venue::Bitmex, "XBTEUR"),
            (Venue::Kraken, "XBTCHF"),
            (Venue::Coinbase, "skl-usd"),
            (Venue::Bequant, "BTCXYZ"),
        ] {
            assert_eq!(canonical(v, s), Err(Bad::Symbol(s.to_string())), "{s}");
        }
    }
}

mod reader_units {
    use daedalus_sources::cryptofeed::{
        CaptureOptions, CryptofeedError, Line, parse_line, read_capture_from,
    };
    use std::path::Path;

    fn read(text: &str) -> Result<daedalus_sources::cryptofeed::CaptureOutput, CryptofeedError> {
        read_capture_from(
            Path::new("x.ws"),
            text.as_bytes(),
            CaptureOptions::default(),
        )
    }

    #[test]
    fn lines_parse() {
        assert_eq!(parse_line("").unwrap(), Line::Blank);
        assert_eq!(
            parse_line("wss://ws.kraken.com <-> 1618678132.3858151").unwrap(),
            Line::Connection {
                url: "wss://ws.kraken.com"
            }
        );
        assert_eq!(
            parse_line("wss://ws.kraken.com <- 1618678132.8: {\"event\":\"subscribe\"}").unwrap(),
            Line::Sent
        );
        let Line::Received(r) = parse_line("1618678133.5: {\"event\":\"heartbeat\"}\n").unwrap()
        else {
            panic!("not a received line");
        };
        assert_eq!(
            (r.ts_recv, r.json),
            (1_618_678_133_500_000_000, "{\"event\":\"heartbeat\"}")
        );
        assert!(parse_line("garbage").is_err());
        assert!(parse_line("16x: {}").is_err());
    }

    #[test]
    fn kraken_channels_other_than_book_are_skipped_and_counted() {
        let trade = r#"[337,[["5541.20000","0.15850568","1534614057.321597","s","l",""]],"trade","XBT/USD"]"#;
        let out = read(&format!("wss://ws.kraken.com <-> 1.0\n2.0: {trade}\n")).unwrap();
        assert_eq!(out.skipped.other_channels, 1);
        assert!(out.markets.is_empty());
    }

    #[test]
    fn bad_input_is_a_typed_error_naming_file_line_and_rule() {
        let cb = "wss://ws-feed.pro.coinbase.com <-> 1.0\n";
        let e = read(&format!("{cb}1.5: {{\"type\":\"match\"}}\n")).unwrap_err();
        assert!(
            matches!(
                &e,
                CryptofeedError::Malformed {
                    line: 2,
                    rule: "match message",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("x.ws:2: match message"), "{e}");
        let snap = r#"{"type":"snapshot","product_id":"SKL-USDX-Y","bids":[],"asks":[]}"#;
        let e = read(&format!("{cb}\n2.0: {snap}\n")).unwrap_err();
        assert!(
            matches!(&e, CryptofeedError::UnknownSymbol { line: 3, symbol, .. } if symbol == "SKL-USDX-Y"),
            "{e}"
        );
        let e = read("wss://example.com/ws <-> 1.0\n").unwrap_err();
        assert!(
            matches!(e, CryptofeedError::UnknownVenue { line: 1, .. }),
            "{e}"
        );
        let e = read("1.0: {}\n").unwrap_err();
        assert!(
            matches!(e, CryptofeedError::Malformed { line: 1, .. }),
            "{e}"
        );
        let e = read(&format!("{cb}1.5: {{\"type\":\"snapshot\"")).unwrap_err();
        assert!(
            matches!(e, CryptofeedError::Malformed { line: 2, .. }),
            "{e}"
        );
        let l2 = r#"{"type":"l2update","product_id":"SKL-USD","changes":[["buy","-1","2"]],"time":"2021-04-17T16:43:37Z"}"#;
        let snap = r#"{"type":"snapshot","product_id":"SKL-USD","bids":[],"asks":[]}"#;
        let e = read(&format!("{cb}2.0: {snap}\n3.0: {l2}\n")).unwrap_err();
        assert!(
            matches!(e, CryptofeedError::Malformed { line: 3, .. }),
            "{e}"
        );
    }
}
