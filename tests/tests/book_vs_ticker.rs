//! Issue 3 acceptance: rebuild the book of every Binance market from ingested bronze and check
//! it against the venue's own bookTicker. Needs `../shared/data/real` (skips when absent).
//!
//! For each market: apply bronze book messages in stored order with the production `L2Book`;
//! after each message remember the top of book under its update id (`seq` = Binance `u`). Every
//! ticker row whose update id equals the last update id of a depth message must match the
//! rebuilt book on all four of bid/ask price/size, and no message may leave the book crossed.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, TimestampNanosecondType, UInt64Type};
use daedalus_model::rows::BookSide;
use daedalus_operators::book::{BookMessage, L2Book, LevelUpdate};
use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use daedalus_tests::{binance_files, read_partitions, skip};
use std::collections::HashMap;

#[test]
fn rebuilt_book_matches_venue_book_ticker() {
    let Some(files) = binance_files() else {
        return skip(
            "rebuilt_book_matches_venue_book_ticker",
            "../shared/data/real not found",
        );
    };
    let dir = tempfile::tempdir().unwrap();
    ingest(
        InputFormat::BinanceRaw,
        &files,
        dir.path(),
        &IngestOptions {
            lenient: false,
            ..Default::default()
        },
    )
    .unwrap();
    let books = read_partitions(dir.path(), "bronze/book");
    let tickers = read_partitions(dir.path(), "bronze/ticker");
    let market_of = |k: &str| {
        k.rsplit_once("/date=")
            .unwrap()
            .0
            .trim_start_matches("bronze/book/")
            .trim_start_matches("bronze/ticker/")
            .to_string()
    };
    let mut markets: Vec<String> = books.keys().map(|k| market_of(k)).collect();
    markets.dedup();
    assert_eq!(markets.len(), 6, "{markets:?}");
    let mut report = Vec::new();
    for m in &markets {
        let mut book = L2Book::new();
        let mut top_at: HashMap<u64, (f64, f64, f64, f64)> = HashMap::new();
        let (mut messages, mut crossed) = (0u64, 0u64);
        let mut levels: Vec<LevelUpdate> = Vec::new();
        for (k, b) in books.iter().filter(|(k, _)| &market_of(k) == m) {
            let _ = k;
            let ts = b
                .column_by_name("ts_event")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            let tr = b
                .column_by_name("ts_recv")
                .unwrap()
                .as_primitive::<TimestampNanosecondType>();
            let seq = b
                .column_by_name("seq")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let prev = b
                .column_by_name("prev_seq")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let snap = b.column_by_name("is_snapshot").unwrap().as_boolean();
            let side = b
                .column_by_name("side")
                .unwrap()
                .as_dictionary::<Int8Type>();
            let side_vals = side.values().as_string::<i32>();
            let px = b
                .column_by_name("price")
                .unwrap()
                .as_primitive::<Float64Type>();
            let sz = b
                .column_by_name("size")
                .unwrap()
                .as_primitive::<Float64Type>();
            let n = b.num_rows();
            let mut i = 0;
            while i < n {
                let mut j = i;
                levels.clear();
                while j < n
                    && tr.value(j) == tr.value(i)
                    && seq.value(j) == seq.value(i)
                    && snap.value(j) == snap.value(i)
                {
                    let s = side_vals.value(side.keys().value(j) as usize);
                    levels.push(LevelUpdate {
                        side: if s == "bid" {
                            BookSide::Bid
                        } else {
                            BookSide::Ask
                        },
                        price: px.value(j),
                        size: sz.value(j),
                    });
                    j += 1;
                }
                let msg = BookMessage {
                    ts_event: ts.value(i),
                    ts_recv: tr.value(i),
                    seq: seq.is_valid(i).then(|| seq.value(i)),
                    prev_seq: prev.is_valid(i).then(|| prev.value(i)),
                    is_snapshot: snap.value(i),
                    levels: &levels,
                };
                let out = book.apply(&msg).unwrap();
                assert!(!out.gap, "{m}: unexpected gap at seq {}", seq.value(i));
                messages += 1;
                crossed += u64::from(out.uncrossed);
                if let (Some((bp, bq)), Some((ap, aq))) = (book.best_bid(), book.best_ask()) {
                    top_at.insert(seq.value(i), (bp, bq.to_f64(), ap, aq.to_f64()));
                }
                i = j;
            }
        }
        let (mut eligible, mut equal) = (0u64, 0u64);
        for (k, t) in tickers.iter().filter(|(k, _)| &market_of(k) == m) {
            let _ = k;
            let seq = t
                .column_by_name("seq")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let f = |c: &str| {
                t.column_by_name(c)
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .clone()
            };
            let (bp, bs, ap, asz) = (f("bid_price"), f("bid_size"), f("ask_price"), f("ask_size"));
            for r in 0..t.num_rows() {
                if let Some(&(b, bq, a, aq)) = top_at.get(&seq.value(r)) {
                    eligible += 1;
                    if b == bp.value(r)
                        && bq == bs.value(r)
                        && a == ap.value(r)
                        && aq == asz.value(r)
                    {
                        equal += 1;
                    }
                }
            }
        }
        println!(
            "{m}: {messages} book messages, {crossed} crossed, {equal}/{eligible} tickers equal on all four of bid/ask price/size"
        );
        report.push((m.clone(), crossed, eligible, equal));
    }
    for (m, crossed, eligible, equal) in report {
        assert_eq!(crossed, 0, "{m}: crossed books");
        assert!(
            eligible >= 100,
            "{m}: only {eligible} tickers share an update id with a depth message"
        );
        assert_eq!(
            equal, eligible,
            "{m}: tickers disagree with the rebuilt book"
        );
    }
}
