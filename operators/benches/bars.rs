//! Bench of bar building (`BarBuilder::on_trade`) for time_1m and split volume bars over 1 M
//! synthetic trades per iteration. Reports trades/s.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_operators::bars::{BarBuilder, BarConfig, BarSpec};
use std::hint::black_box;

fn tape(n: usize) -> Vec<(i64, f64, Qty, TradeSide)> {
    let mut x: u64 = 42;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut ts = 1_700_000_000_000_000_000i64;
    (0..n)
        .map(|_| {
            ts += (next() % 20_000_000) as i64;
            let side = match next() % 3 {
                0 => TradeSide::Buy,
                1 => TradeSide::Sell,
                _ => TradeSide::Unknown,
            };
            (
                ts,
                60_000.0 + (next() % 1000) as f64 * 0.01,
                Qty((1 + next() % 100_000) as i64 * 10_000),
                side,
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let trades = tape(1_000_000);
    let mut g = c.benchmark_group("bars");
    g.throughput(Throughput::Elements(trades.len() as u64));
    for spec in ["time_1m", "volume_5"] {
        g.bench_function(spec, |b| {
            b.iter(|| {
                let mut builder =
                    BarBuilder::new(BarSpec::parse(spec).unwrap(), BarConfig::default());
                let mut out = Vec::with_capacity(1024);
                let mut n = 0usize;
                for &(ts, p, q, s) in &trades {
                    builder.on_trade(ts, p, q, s, None, &mut out);
                    n += out.len();
                    out.clear();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
