//! Bench of the book + structural + OFI/MLOFI path (`BookFeatureEngine::on_message`) on
//! synthetic streams shaped like real L2 feeds: 300 levels a side, changes mostly at the top.
//! Two shapes: message-heavy (1-3 level changes a message, like a BBO-driven feed) and
//! level-heavy (1-40, like Binance spot depth@100ms diffs, which average 46 rows a message).
//! Reports messages/s (group `book_ofi_msgs`) and level updates/s (group `book_ofi_levels`);
//! each iteration includes the initial 600-level snapshot and a fresh engine.

#![allow(missing_docs)] // `criterion_group!` generates undocumented items

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use daedalus_model::rows::BookSide;
use daedalus_operators::book::{BookMessage, LevelUpdate};
use daedalus_operators::book_features::{BookFeatureConfig, BookFeatureEngine};
use std::hint::black_box;

fn stream(n: usize, max_levels: u64) -> Vec<Vec<LevelUpdate>> {
    // A deterministic LCG: no RNG dependency in benches.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let snapshot = (1..=300)
        .flat_map(|i| {
            [
                LevelUpdate {
                    side: BookSide::Bid,
                    price: 10_000.0 - i as f64 * 0.5,
                    size: 1.0 + (i % 7) as f64,
                },
                LevelUpdate {
                    side: BookSide::Ask,
                    price: 10_000.0 + i as f64 * 0.5,
                    size: 1.0 + (i % 5) as f64,
                },
            ]
        })
        .collect::<Vec<_>>();
    let mut msgs = vec![snapshot];
    for _ in 0..n {
        let k = 1 + (next() % max_levels) as usize;
        let mut m = Vec::with_capacity(k);
        for _ in 0..k {
            let bid = next() % 2 == 0;
            let depth = ((next() % 1000) as f64).sqrt() as i64 % 30; // mostly near the top
            let price = if bid {
                10_000.0 - 0.5 * (1 + depth) as f64
            } else {
                10_000.0 + 0.5 * (1 + depth) as f64
            };
            let size = if next() % 10 == 0 {
                0.0
            } else {
                (1 + next() % 50) as f64 * 0.001
            };
            m.push(LevelUpdate {
                side: if bid { BookSide::Bid } else { BookSide::Ask },
                price,
                size,
            });
        }
        msgs.push(m);
    }
    msgs
}

/// Feeds the whole stream through a fresh engine; returns a checksum so nothing is optimised out.
fn feed(msgs: &[Vec<LevelUpdate>]) -> i128 {
    let mut e = BookFeatureEngine::new(BookFeatureConfig::default());
    let mut acc = 0i128;
    for (i, l) in msgs.iter().enumerate() {
        let m = BookMessage {
            ts_event: i as i64 * 1000,
            ts_recv: 0,
            seq: None,
            prev_seq: None,
            is_snapshot: i == 0,
            levels: l,
        };
        if let Some(r) = e.on_message(&m).unwrap() {
            acc += r.ofi_units;
        }
    }
    acc
}

fn bench(c: &mut Criterion) {
    for (name, max_levels) in [("messages_1to3_levels", 3), ("messages_1to40_levels", 40)] {
        let msgs = stream(100_000, max_levels);
        let levels: usize = msgs[1..].iter().map(Vec::len).sum();
        println!(
            "book_ofi/{name}: {} messages, {levels} level updates ({:.2} per message)",
            msgs.len() - 1,
            levels as f64 / (msgs.len() - 1) as f64
        );
        // The same work measured twice, once per unit, so criterion reports both rates:
        // `book_ofi_msgs` in messages/s and `book_ofi_levels` in level updates/s.
        for (group, elements) in [
            ("book_ofi_msgs", msgs.len() - 1),
            ("book_ofi_levels", levels),
        ] {
            let mut g = c.benchmark_group(group);
            g.throughput(Throughput::Elements(elements as u64));
            g.bench_function(name, |b| b.iter(|| black_box(feed(black_box(&msgs)))));
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
