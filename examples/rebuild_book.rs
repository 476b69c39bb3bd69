//! Rebuilds one market's L2 book from a bronze root and prints the top of book after the last
//! message, with the book's quality counters.
//!
//! ```sh
//! cargo run --release -p daedalus-examples --example rebuild_book -- ROOT EXCHANGE SYMBOL
//! # e.g. after `daedalus demo`: ... -- daedalus-demo binance BTC-USDT
//! ```

use anyhow::{Context, Result, bail};
use daedalus_model::rows::{BookSide, Dataset};
use daedalus_operators::book::{BookMessage, L2Book, LevelUpdate};
use daedalus_sources::bronze::{
    BookTimeCarry, BronzeFileReader, ChunkData, OrderClock, SIDE_BID, decode_batch, discover,
};
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, exchange, symbol] = args.as_slice() else {
        bail!("usage: rebuild_book ROOT EXCHANGE SYMBOL");
    };
    let root = PathBuf::from(root);
    let parts = discover(&root, &[Dataset::Book], |e, s, _| {
        e == exchange && s == symbol
    })?;
    if parts.is_empty() {
        bail!(
            "no bronze/book partitions for {exchange}/{symbol} under {}",
            root.display()
        );
    }
    let mut book = L2Book::new();
    let (mut messages, mut gaps, mut uncrossed) = (0u64, 0u64, 0u64);
    let mut levels: Vec<LevelUpdate> = Vec::new();
    for p in &parts {
        let mut carry = BookTimeCarry::default();
        for f in &p.files {
            let r =
                BronzeFileReader::open(f, Dataset::Book, OrderClock::Event, p.date.start_nanos())?;
            for g in 0..r.groups().len() {
                for b in r.read_group(g, 64 * 1024)? {
                    let ChunkData::Book(c) =
                        decode_batch(Dataset::Book, &b, f, 0, OrderClock::Event, &mut carry)?
                    else {
                        continue;
                    };
                    let mut i = 0;
                    while i < c.ts.len() {
                        let mut j = i;
                        levels.clear();
                        while j < c.ts.len()
                            && c.ts_recv[j] == c.ts_recv[i]
                            && c.seq[j] == c.seq[i]
                            && c.is_snapshot[j] == c.is_snapshot[i]
                        {
                            let side = if c.side[j] == SIDE_BID {
                                BookSide::Bid
                            } else {
                                BookSide::Ask
                            };
                            levels.push(LevelUpdate {
                                side,
                                price: c.price[j],
                                size: c.size[j],
                            });
                            j += 1;
                        }
                        let msg = BookMessage {
                            ts_event: c.ts[i],
                            ts_recv: c.ts_recv[i],
                            seq: c.seq[i],
                            prev_seq: c.prev_seq[i],
                            is_snapshot: c.is_snapshot[i],
                            levels: &levels,
                        };
                        let o = book
                            .apply(&msg)
                            .with_context(|| format!("{} row {i}", f.display()))?;
                        messages += 1;
                        gaps += u64::from(o.gap);
                        uncrossed += u64::from(o.uncrossed);
                        i = j;
                    }
                }
            }
        }
    }
    println!("{exchange}/{symbol}: {messages} messages, {gaps} gaps, {uncrossed} uncrossed");
    match (book.best_bid(), book.best_ask()) {
        (Some((b, bq)), Some((a, aq))) => println!(
            "best bid {b} x {}  best ask {a} x {}  ({} / {} levels)",
            bq.to_f64(),
            aq.to_f64(),
            book.bid_depth(),
            book.ask_depth()
        ),
        _ => println!("book not ready (no snapshot since the last gap)"),
    }
    Ok(())
}
