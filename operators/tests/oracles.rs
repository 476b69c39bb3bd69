//! Oracle tests (differential-dataflow style): each streaming machine against a naive
//! recompute-from-scratch implementation on random inputs.

use daedalus_model::fixed::{Qty, units_to_f64};
use daedalus_model::rows::{BookSide, TradeSide};
use daedalus_operators::bars::{BarBuilder, BarConfig, BarSpec};
use daedalus_operators::book::{BookMessage, LevelUpdate};
use daedalus_operators::book_features::{BookFeatureConfig, BookFeatureEngine};
use daedalus_operators::intervals::{IntervalAggregator, IntervalConfig};
use daedalus_operators::kyle::ols;
use daedalus_operators::trades::{TradeFeatureConfig, TradeFeatureEngine, TradeInput};
use daedalus_operators::vpin::VpinConfig;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn side(s: u8) -> TradeSide {
    [TradeSide::Buy, TradeSide::Sell, TradeSide::Unknown][s as usize % 3]
}

/// Naive top-M ladder of a book rebuilt from scratch from all messages so far.
fn naive_ladders(
    msgs: &[Vec<LevelUpdate>],
    upto: usize,
    m: usize,
) -> (Vec<(f64, i64)>, Vec<(f64, i64)>) {
    let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
    for l in msgs[..=upto].iter().flatten() {
        let key = l.price as i64;
        let book = if l.side == BookSide::Bid {
            &mut bids
        } else {
            &mut asks
        };
        if l.size == 0.0 {
            book.remove(&key);
        } else {
            book.insert(key, Qty::from_f64(l.size).unwrap().0);
        }
    }
    (
        bids.iter()
            .rev()
            .take(m)
            .map(|(&p, &q)| (p as f64, q))
            .collect(),
        asks.iter().take(m).map(|(&p, &q)| (p as f64, q)).collect(),
    )
}

fn naive_e(pb: (f64, i64), b: (f64, i64), pa: (f64, i64), a: (f64, i64)) -> i128 {
    let mut e = 0i128;
    if b.0 >= pb.0 {
        e += i128::from(b.1);
    }
    if b.0 <= pb.0 {
        e -= i128::from(pb.1);
    }
    if a.0 <= pa.0 {
        e -= i128::from(a.1);
    }
    if a.0 >= pa.0 {
        e += i128::from(pa.1);
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Book features: streaming engine vs a book rebuilt from scratch at every message, on
    /// streams that never cross (bids below 1000, asks above).
    #[test]
    fn book_oracle(stream in prop::collection::vec(prop::collection::vec((any::<bool>(), 1i64..12, 0i64..9), 1..4), 1..50)) {
        let m = 4;
        let mut msgs: Vec<Vec<LevelUpdate>> = vec![(1..=6).flat_map(|i| [
            LevelUpdate { side: BookSide::Bid, price: (1000 - i) as f64, size: 2.0 },
            LevelUpdate { side: BookSide::Ask, price: (1000 + i) as f64, size: 3.0 },
        ]).collect()];
        for msg in &stream {
            msgs.push(msg.iter().map(|&(bid, d, q)| LevelUpdate {
                side: if bid { BookSide::Bid } else { BookSide::Ask },
                price: if bid { (1000 - d) as f64 } else { (1000 + d) as f64 },
                size: q as f64,
            }).collect());
        }
        let mut e = BookFeatureEngine::new(BookFeatureConfig { mlofi_levels: m, windows: vec![5] });
        for (i, l) in msgs.iter().enumerate() {
            let row = e.on_message(&BookMessage { ts_event: i as i64, ts_recv: 0, seq: None, prev_seq: None, is_snapshot: i == 0, levels: l }).unwrap().unwrap().clone();
            let (b, a) = naive_ladders(&msgs, i, 10);
            let pad = |v: &Vec<(f64, i64)>, k: usize, empty: f64| v.get(k).copied().unwrap_or((empty, 0));
            prop_assert_eq!(row.best_bid, b.first().map(|x| x.0));
            prop_assert_eq!(row.best_ask, a.first().map(|x| x.0));
            if let (Some(bb), Some(ba)) = (b.first(), a.first()) {
                prop_assert_eq!(row.mid, Some((bb.0 + ba.0) / 2.0));
                let (qb, qa) = (units_to_f64(i128::from(bb.1)), units_to_f64(i128::from(ba.1)));
                if qb + qa > 0.0 { prop_assert!((row.imbalance_1.unwrap() - (qb - qa) / (qb + qa)).abs() < 1e-12); }
                let sb: i64 = b.iter().take(5).map(|x| x.1).sum();
                let sa: i64 = a.iter().take(5).map(|x| x.1).sum();
                if sb + sa > 0 { prop_assert!((row.depth_imbalance_5.unwrap() - (sb - sa) as f64 / (sb + sa) as f64).abs() < 1e-12); }
            }
            if i > 0 {
                let (pb, pa) = naive_ladders(&msgs, i - 1, 10);
                for k in 0..m {
                    let want = naive_e(pad(&pb, k, f64::NEG_INFINITY), pad(&b, k, f64::NEG_INFINITY), pad(&pa, k, f64::INFINITY), pad(&a, k, f64::INFINITY));
                    prop_assert_eq!(row.mlofi_units[k], want, "message {} level {}", i, k + 1);
                }
            }
        }
    }

    /// Trades: TFI windows by brute force over the history, VPIN by re-bucketing all volume
    /// from scratch (buy/sell only, so the oracle's split is exact).
    #[test]
    fn trade_oracle(trades in prop::collection::vec((0i64..3_000_000_000, 1i64..40, 0u8..2), 1..120), v in 10i64..80) {
        let s = 1_000_000_000i64;
        let mut e = TradeFeatureEngine::new(TradeFeatureConfig { windows: vec![s, 10 * s], vpin: Some(VpinConfig { bucket_volume: Qty(v), window: 3 }), ..TradeFeatureConfig::default() });
        let mut ts = 0;
        let mut hist: Vec<(i64, i64, TradeSide)> = vec![];
        for &(dt, q, sd) in &trades {
            ts += dt;
            hist.push((ts, q, side(sd)));
            let row = e.on_trade(&TradeInput { ts_event: ts, price: 10.0, size: q as f64 / 1e9, side: side(sd) }, None, &mut vec![]).unwrap();
            for (wi, w) in [s, 10 * s].into_iter().enumerate() {
                let (mut b, mut se) = (0i64, 0i64);
                for &(t, qq, sd) in &hist { if t > ts - w { match sd { TradeSide::Buy => b += qq, TradeSide::Sell => se += qq, _ => {} } } }
                let want = (b + se != 0).then(|| (b - se) as f64 / (b + se) as f64);
                prop_assert_eq!(row.tfi[wi], want);
            }
            // Re-bucket the whole history: unit by unit.
            let mut buckets: Vec<(i64, i64)> = vec![];
            let (mut cb, mut cs) = (0i64, 0i64);
            for &(_, qq, sd) in &hist {
                for _ in 0..qq {
                    if sd == TradeSide::Buy { cb += 1 } else { cs += 1 }
                    if cb + cs == v { buckets.push((cb, cs)); cb = 0; cs = 0; }
                }
            }
            let want = (buckets.len() >= 3).then(|| {
                let oi: i64 = buckets[buckets.len() - 3..].iter().map(|(b, s)| (b - s).abs()).sum();
                oi as f64 / (3.0 * v as f64)
            });
            prop_assert_eq!(row.vpin, want);
        }
    }

    /// Intervals: streaming aggregator vs grouping every event by floor(ts / D), with Kyle by
    /// batch OLS over the window.
    #[test]
    fn interval_oracle(events in prop::collection::vec((0i64..700, any::<bool>(), 1i64..50, 0u8..3, -3i64..4), 1..150)) {
        let d = 1_000i64;
        let w = 4usize;
        let mut agg = IntervalAggregator::new(IntervalConfig { width: d, mlofi_levels: 1, kyle_window: w }).unwrap();
        let mut out = vec![];
        let mut ts = 0i64;
        let mut evs = vec![];
        let mut mid = 100.0;
        for &(dt, is_book, q, sd, mv) in &events {
            ts += dt;
            if is_book {
                mid += mv as f64 * 0.5;
                agg.on_book(ts, i128::from(q), &[i128::from(q)], Some(mid), Some(1.0), false, &mut out);
            } else {
                agg.on_trade(ts, side(sd), Qty(q), None, &mut out);
            }
            evs.push((ts, is_book, q, sd, mid));
        }
        agg.finish(&mut out);
        let (k0, k1) = (evs[0].0 / d, evs.last().unwrap().0 / d);
        prop_assert_eq!(out.len() as i64, k1 - k0 + 1);
        let mut prev_mid: Option<f64> = None;
        let mut last_mid: Option<f64> = None;
        let mut kyle_obs: Vec<Option<(f64, f64)>> = vec![];
        for (i, r) in out.iter().enumerate() {
            let k = k0 + i as i64;
            prop_assert_eq!(r.ts_open, k * d);
            let inside: Vec<_> = evs.iter().filter(|e| e.0 / d == k).collect();
            let ofi: i64 = inside.iter().filter(|e| e.1).map(|e| e.2).sum();
            let vol = |s: u8| -> i64 { inside.iter().filter(|e| !e.1 && e.3 % 3 == s).map(|e| e.2).sum() };
            prop_assert_eq!(r.ofi, units_to_f64(i128::from(ofi)));
            prop_assert_eq!((r.buy_volume, r.sell_volume, r.unknown_volume), (units_to_f64(i128::from(vol(0))), units_to_f64(i128::from(vol(1))), units_to_f64(i128::from(vol(2)))));
            if let Some(e) = inside.iter().rfind(|e| e.1) { last_mid = Some(e.4); }
            prop_assert_eq!(r.mid_close, last_mid);
            let change = match (last_mid, prev_mid) { (Some(a), Some(b)) if i > 0 => Some(a - b), _ => None };
            prop_assert_eq!(r.mid_change, change);
            prev_mid = last_mid;
            kyle_obs.push(change.map(|y| (units_to_f64(i128::from(vol(0) - vol(1))), y)));
            let win: Vec<(f64, f64)> = kyle_obs[kyle_obs.len().saturating_sub(w)..].iter().flatten().copied().collect();
            let want = if 2 * win.len() < w { None } else { ols(win.iter().copied()) };
            prop_assert_eq!(r.kyle_lambda, want.map(|e| e.lambda));
        }
    }

    /// Time, tick and volume bars vs naive folds.
    #[test]
    fn bars_oracle(trades in prop::collection::vec((0i64..40_000_000_000, 1i64..30, 1i64..20, 0u8..3), 1..120)) {
        let mut ts = 0;
        let tape: Vec<(i64, f64, i64, TradeSide)> = trades.iter().map(|&(dt, p, q, s)| { ts += dt; (ts, p as f64, q * 100_000_000, side(s)) }).collect();
        let run = |spec: &str| {
            let mut b = BarBuilder::new(BarSpec::parse(spec).unwrap(), BarConfig::default());
            let mut out = vec![];
            for &(t, p, q, s) in &tape { b.on_trade(t, p, Qty(q), s, None, &mut out); }
            b.finish(&mut out);
            out
        };
        // Time bars: group by floor(ts / 60 s).
        let d = 60_000_000_000i64;
        let bars = run("time_1m");
        let mut groups: BTreeMap<i64, Vec<&(i64, f64, i64, TradeSide)>> = BTreeMap::new();
        for t in &tape { groups.entry(t.0 / d).or_default().push(t); }
        let (k0, k1) = (*groups.keys().next().unwrap(), *groups.keys().last().unwrap());
        prop_assert_eq!(bars.len() as i64, k1 - k0 + 1);
        for r in &bars {
            let g = groups.get(&(r.ts_open / d)).cloned().unwrap_or_default();
            prop_assert_eq!(r.trade_count, g.len() as i64);
            prop_assert_eq!(r.open, g.first().map(|t| t.1));
            prop_assert_eq!(r.close, g.last().map(|t| t.1));
            prop_assert_eq!(r.high, g.iter().map(|t| t.1).reduce(f64::max));
            prop_assert_eq!(r.volume, units_to_f64(g.iter().map(|t| i128::from(t.2)).sum()));
        }
        // Tick bars: chunks of 5 trades.
        let ticks = run("tick_5");
        for (i, r) in ticks.iter().enumerate() {
            let chunk = &tape[i * 5..(i * 5 + 5).min(tape.len())];
            prop_assert_eq!(r.open, Some(chunk[0].1));
            prop_assert_eq!(r.close, Some(chunk.last().unwrap().1));
            prop_assert_eq!(r.is_complete, chunk.len() == 5);
        }
        // Volume bars (split, 2.5 units): the cumulative volume crossing k·V closes bar k.
        let v = 250_000_000i64;
        let vbars = run("volume_0.25");
        let total: i64 = tape.iter().map(|t| t.2).sum();
        prop_assert_eq!(vbars.iter().filter(|r| r.is_complete).count() as i64, total / v);
        let mut cum = 0i64;
        let mut want_close = vec![];
        for t in &tape { let before = cum; cum += t.2; for _ in (before / v)..(cum / v) { want_close.push(t.1); } }
        let got: Vec<f64> = vbars.iter().filter(|r| r.is_complete).map(|r| r.close.unwrap()).collect();
        prop_assert_eq!(got, want_close);
    }
}
