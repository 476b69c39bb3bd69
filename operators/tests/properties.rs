//! Property tests of the invariants of FEATURES §3, §4, §5, §6, §7, §9.5 and of
//! serialize/restore equivalence (every machine, through `MarketPipeline`).

use daedalus_model::fixed::Qty;
use daedalus_model::rows::{BookSide, TickerRow, TradeSide};
use daedalus_operators::bars::{BarBuilder, BarConfig, BarRow, BarSpec};
use daedalus_operators::book::{BookMessage, LevelUpdate};
use daedalus_operators::book_features::{BookFeatureConfig, BookFeatureEngine, BookFeatureRow};
use daedalus_operators::intervals::{IntervalConfig, IntervalRow};
use daedalus_operators::kyle::{RollingKyle, ols};
use daedalus_operators::market::{FeatureSink, MarketParams, MarketPipeline, OutputFlags};
use daedalus_operators::ticker::TickerFeatureRow;
use daedalus_operators::trades::{TradeFeatureConfig, TradeFeatureRow};
use daedalus_operators::vpin::{Vpin, VpinConfig};
use proptest::prelude::*;

/// A random book stream: a snapshot then diffs near the top (integer prices around 1000).
fn book_stream() -> impl Strategy<Value = Vec<Vec<(bool, i64, i64)>>> {
    let level = (any::<bool>(), 990i64..1010, 0i64..20);
    prop::collection::vec(prop::collection::vec(level, 1..4), 1..60)
}

fn messages(stream: &[Vec<(bool, i64, i64)>], mirror: bool, scale: i64) -> Vec<Vec<LevelUpdate>> {
    let mut out = vec![];
    // Snapshot: 5 levels each side around 1000.
    let mut snap = vec![];
    for i in 1..=5 {
        snap.push((true, 1000 - i, 3 + i));
        snap.push((false, 1000 + i, 2 + i));
    }
    for msg in std::iter::once(&snap).chain(stream.iter()) {
        out.push(
            msg.iter()
                .map(|&(bid, p, q)| {
                    let (side, price) = if mirror {
                        (
                            if bid { BookSide::Ask } else { BookSide::Bid },
                            4000.0 - p as f64,
                        )
                    } else {
                        (if bid { BookSide::Bid } else { BookSide::Ask }, p as f64)
                    };
                    LevelUpdate {
                        side,
                        price,
                        size: (q * scale) as f64,
                    }
                })
                .collect(),
        );
    }
    out
}

fn run_book(msgs: &[Vec<LevelUpdate>]) -> Vec<BookFeatureRow> {
    let mut e = BookFeatureEngine::new(BookFeatureConfig {
        mlofi_levels: 5,
        windows: vec![3],
    });
    msgs.iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let m = BookMessage {
                ts_event: i as i64,
                ts_recv: i as i64,
                seq: None,
                prev_seq: None,
                is_snapshot: i == 0,
                levels: l,
            };
            e.on_message(&m).unwrap().cloned()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// OFI: mlofi_1 == ofi; mirror symmetry negates every e and the imbalances; scaling sizes by
    /// k scales e by k; window sums equal brute force; structure bounds.
    #[test]
    fn ofi_invariants(stream in book_stream(), k in 1i64..5) {
        let base = run_book(&messages(&stream, false, 1));
        let mirror = run_book(&messages(&stream, true, 1));
        let scaled = run_book(&messages(&stream, false, k));
        prop_assert_eq!(base.len(), mirror.len());
        // The tardis uncross rule (drop the side the message did not touch) is not mirror
        // symmetric when one message crosses both sides, so mirror states agree only until the
        // first uncross; scaling commutes with everything.
        let mut mirrored = true;
        for (i, r) in base.iter().enumerate() {
            prop_assert_eq!(r.ofi, r.mlofi[0]);
            for m in 0..5 {
                prop_assert_eq!(r.mlofi_units[m] * i128::from(k), scaled[i].mlofi_units[m]);
            }
            mirrored &= !(r.uncrossed || mirror[i].uncrossed);
            if !mirrored { continue; }
            for m in 0..5 {
                prop_assert_eq!(r.mlofi_units[m], -mirror[i].mlofi_units[m]);
            }
            if let (Some(a), Some(b)) = (r.imbalance_1, mirror[i].imbalance_1) { prop_assert!((a + b).abs() < 1e-12); }
            if let (Some(bb), Some(ba), Some(w), Some(m)) = (r.best_bid, r.best_ask, r.wmid, r.mid) {
                prop_assert!(bb <= w && w <= ba && bb <= m && m <= ba);
                prop_assert!(bb < ba, "uncrossed book");
            }
            for d in [r.imbalance_1, r.depth_imbalance_5, r.depth_imbalance_10].into_iter().flatten() {
                prop_assert!((-1.0..=1.0).contains(&d));
            }
            // Trailing window (t-3, t] by brute force.
            let brute: i128 = base.iter().filter(|x| x.ts_event > r.ts_event - 3 && x.ts_event <= r.ts_event).map(|x| x.ofi_units).sum();
            prop_assert_eq!(r.ofi_windows[0], Some(daedalus_model::fixed::units_to_f64(brute)));
        }
    }

    /// Round trip: adding then cancelling the same order sums to 0 at every level.
    #[test]
    fn add_cancel_round_trip(p in 995i64..1005, q in 1i64..10, bid in any::<bool>()) {
        let stream = vec![vec![(bid, p, q + 100)], vec![(bid, p, 0)]];
        let rows = run_book(&messages(&stream, false, 1));
        let _ = rows;
        // Restore the original level size instead of deleting when it existed before.
        let snap_size = |p: i64| -> i64 { if bid && (995..1000).contains(&p) { 3 + (1000 - p) } else if !bid && (1001..=1005).contains(&p) { 2 + (p - 1000) } else { 0 } };
        let stream = vec![vec![(bid, p, snap_size(p) + q)], vec![(bid, p, snap_size(p))]];
        let rows = run_book(&messages(&stream, false, 1));
        if !rows.iter().any(|r| r.uncrossed) {
            for m in 0..5 {
                prop_assert_eq!(rows[1].mlofi_units[m] + rows[2].mlofi_units[m], 0);
            }
        }
    }

    /// VPIN: 0 <= vpin <= 1, B + S == V exactly per bucket, volume conserved, and splitting
    /// trades into pieces does not change buckets.
    #[test]
    fn vpin_invariants(trades in prop::collection::vec((1i64..50, 0u8..3), 1..200), v in 5i64..60, split in 1i64..4) {
        let side = |s: u8| match s { 0 => TradeSide::Buy, 1 => TradeSide::Sell, _ => TradeSide::Unknown };
        let cfg = VpinConfig { bucket_volume: Qty(v), window: 3 };
        let mut a = Vpin::new(cfg);
        let mut b = Vpin::new(cfg);
        let (mut out_a, mut out_b) = (vec![], vec![]);
        let mut total = 0i64;
        for (i, &(q, s)) in trades.iter().enumerate() {
            a.on_trade(i as i64, side(s), Qty(q), &mut out_a);
            total += q;
            if s != 2 {
                // Pieces of the same trade (same time, side); unknown excluded: its odd-unit
                // alternation is per trade by design.
                let mut left = q;
                while left > 0 { let piece = left.min(split); b.on_trade(i as i64, side(s), Qty(piece), &mut out_b); left -= piece; }
            } else {
                b.on_trade(i as i64, side(s), Qty(q), &mut out_b);
            }
        }
        for bk in &out_a {
            prop_assert_eq!(bk.buy.0 + bk.sell.0, v);
            prop_assert!(bk.buy.0 >= 0 && bk.sell.0 >= 0);
            if let Some(x) = bk.vpin { prop_assert!((0.0..=1.0).contains(&x)); }
        }
        prop_assert_eq!(out_a.len() as i64, total / v);
        if trades.iter().all(|t| t.1 != 2) {
            prop_assert_eq!(&out_a, &out_b);
        }
    }

    /// Online Kyle equals batch OLS over the same window; scaling x by c scales lambda by 1/c.
    #[test]
    fn kyle_online_equals_batch(steps in prop::collection::vec(prop::option::of((-10i32..10, -10i32..10)), 1..80), w in 4usize..25) {
        let mut k = RollingKyle::new(w);
        let mut k2 = RollingKyle::new(w);
        for (i, s) in steps.iter().enumerate() {
            let obs = s.map(|(x, y)| (f64::from(x), f64::from(y) * 0.01));
            let online = k.push(obs);
            let scaled = k2.push(obs.map(|(x, y)| (x * 4.0, y)));
            let window: Vec<(f64, f64)> = steps[i.saturating_sub(w - 1)..=i].iter().flatten().map(|&(x, y)| (f64::from(x), f64::from(y) * 0.01)).collect();
            let batch = if 2 * window.len() < w { None } else { ols(window.iter().copied()) };
            prop_assert_eq!(online.is_some(), batch.is_some());
            if let (Some(o), Some(b), Some(s)) = (online, batch, scaled) {
                prop_assert!((o.lambda - b.lambda).abs() <= 1e-12 * (1.0 + b.lambda.abs()));
                prop_assert!((o.lambda - 4.0 * s.lambda).abs() <= 1e-9 * (1.0 + o.lambda.abs()));
            }
        }
    }

    /// FEATURES §9.5 for every bar type on random trade streams (huge trades, equal times,
    /// unknown sides): volume/quote/side conservation, OHLC and vwap bounds, counts, exact
    /// volume-bar thresholds, contiguous time bars.
    #[test]
    fn bar_invariants(trades in prop::collection::vec((0i64..5_000_000_000, 1i64..40, 1i64..3000, 0u8..3), 1..150)) {
        let mut ts = 0i64;
        let tape: Vec<(i64, f64, i64, TradeSide)> = trades.iter().map(|&(dt, p, q, s)| {
            ts += dt;
            (ts, 100.0 + p as f64 * 0.5, q * 1_000_000, [TradeSide::Buy, TradeSide::Sell, TradeSide::Unknown][s as usize])
        }).collect();
        let total: i64 = tape.iter().map(|t| t.2).sum();
        let specs = ["time_1s", "time_1m", "tick_7", "volume_0.5", "dollar_300", "imbalance_tick_10_10_const", "imbalance_volume_10_10", "run_tick_10_10", "run_dollar_10_10_const"];
        for spec in specs {
            let mut b = BarBuilder::new(BarSpec::parse(spec).unwrap(), BarConfig::default());
            let mut out: Vec<BarRow> = vec![];
            for &(t, p, q, s) in &tape { b.on_trade(t, p, Qty(q), s, None, &mut out); }
            b.finish(&mut out);
            let vol: f64 = out.iter().map(|r| r.volume).sum();
            prop_assert!((vol - total as f64 / 1e9).abs() < 1e-9, "{}: volume {} vs {}", spec, vol, total as f64 / 1e9);
            let started: i64 = out.iter().map(|r| r.trade_count_started).sum();
            prop_assert_eq!(started, tape.len() as i64, "{}", spec);
            for r in &out {
                prop_assert!(r.ts_open < r.ts_close, "{}", spec);
                prop_assert!((r.buy_volume + r.sell_volume + r.unknown_volume - r.volume).abs() < 1e-9);
                prop_assert_eq!(r.buy_count + r.sell_count + r.unknown_count, r.trade_count);
                if let (Some(o), Some(h), Some(l), Some(c), Some(v)) = (r.open, r.high, r.low, r.close, r.vwap) {
                    prop_assert!(l <= o.min(c) && o.max(c) <= h);
                    prop_assert!(l * (1.0 - 1e-12) <= v && v <= h * (1.0 + 1e-12));
                } else {
                    prop_assert_eq!(r.volume, 0.0);
                }
                if spec == "volume_0.5" && r.is_complete { prop_assert_eq!(r.volume, 0.5); }
                if spec == "tick_7" && r.is_complete { prop_assert_eq!(r.trade_count, 7); }
            }
            if spec.starts_with("time_") {
                for w in out.windows(2) { prop_assert_eq!(w[0].ts_close, w[1].ts_open); }
                for &(t, ..) in &tape { prop_assert!(out.iter().any(|r| r.ts_open <= t && t < r.ts_close)); }
            }
        }
    }

    /// Serialize/restore equivalence for every machine: a pipeline fed events 1..k, serialized
    /// (bincode), restored and fed k+1..n emits exactly what one fed 1..n does.
    #[test]
    fn pipeline_restore_equivalence(events in prop::collection::vec((0u8..3, 0i64..800_000_000, any::<bool>(), 990i64..1010, 0i64..30), 2..120), cut in 0usize..120) {
        let params = market_params();
        let run = |split: Option<usize>| -> Collect {
            let mut p = MarketPipeline::new(params.clone()).unwrap();
            let mut sink = Collect::default();
            feed_snapshot(&mut p, &mut sink);
            let mut ts = 1_000_000i64;
            for (i, &(kind, dt, flag, px, q)) in events.iter().enumerate() {
                if Some(i) == split {
                    p.flush_book(&mut sink).unwrap();
                    let bytes = bincode::serialize(&p).unwrap();
                    p = bincode::deserialize(&bytes).unwrap();
                }
                ts += dt;
                match kind {
                    0 => p.book_row(ts, ts, ts, None, None, false, u8::from(!flag), px as f64, q as f64, &mut sink).unwrap(),
                    1 => p.trade_row(ts, ts, ts, &i.to_string(), px as f64, (q + 1) as f64, if flag { 1 } else { -1 }, &mut sink).unwrap(),
                    _ => p.ticker_row(ts, ts, ts, None, [Some(px as f64), Some(1.0), Some(px as f64 + 1.0), Some(q as f64 + 1.0)], &mut sink).unwrap(),
                }
            }
            p.finish(&mut sink).unwrap();
            sink
        };
        let whole = run(None);
        let resumed = run(Some(cut.min(events.len() - 1)));
        prop_assert_eq!(whole, resumed);
    }
}

fn market_params() -> MarketParams {
    let s = 1_000_000_000;
    MarketParams {
        exchange: "x".into(),
        symbol: "A-B".into(),
        symbol_norm: "A-B".into(),
        book: BookFeatureConfig {
            mlofi_levels: 3,
            windows: vec![s, 10 * s],
        },
        ticker_windows: vec![s],
        trades: TradeFeatureConfig {
            windows: vec![s],
            vpin: Some(VpinConfig {
                bucket_volume: Qty(20_000_000_000),
                window: 3,
            }),
            ..TradeFeatureConfig::default()
        },
        intervals: vec![(
            "1s".into(),
            IntervalConfig {
                width: s,
                mlofi_levels: 3,
                kyle_window: 4,
            },
        )],
        bars: ["time_1s", "volume_25", "tick_5", "imbalance_tick_5_5"]
            .iter()
            .map(|b| (b.to_string(), BarSpec::parse(b).unwrap()))
            .collect(),
        bar_config: BarConfig {
            kyle_window: 4,
            ..BarConfig::default()
        },
        outputs: OutputFlags {
            book: true,
            ticker: true,
            trades: true,
            intervals: true,
            bars: true,
        },
    }
}

fn feed_snapshot(p: &mut MarketPipeline, sink: &mut Collect) {
    for i in 1..=5 {
        p.book_row(0, 0, 0, None, None, true, 0, (1000 - i) as f64, 5.0, sink)
            .unwrap();
        p.book_row(0, 0, 0, None, None, true, 1, (1000 + i) as f64, 5.0, sink)
            .unwrap();
    }
}

#[derive(Default, Debug, PartialEq)]
struct Collect {
    book: Vec<BookFeatureRow>,
    ticker: Vec<TickerFeatureRow>,
    trades: Vec<TradeFeatureRow>,
    intervals: Vec<IntervalRow>,
    bars: Vec<(usize, BarRow)>,
}

impl FeatureSink for Collect {
    fn book(&mut self, _ts: i64, _te: i64, r: &BookFeatureRow) {
        self.book.push(r.clone());
    }
    fn ticker(&mut self, _ts: i64, _q: &TickerRow, r: &TickerFeatureRow) {
        self.ticker.push(r.clone());
    }
    fn trade(
        &mut self,
        _ts: i64,
        _te: i64,
        _tr: i64,
        _id: &str,
        _p: f64,
        _s: f64,
        r: &TradeFeatureRow,
    ) {
        self.trades.push(r.clone());
    }
    fn interval(&mut self, _i: usize, r: &IntervalRow) {
        self.intervals.push(r.clone());
    }
    fn bar(&mut self, i: usize, r: &BarRow) {
        self.bars.push((i, r.clone()));
    }
}

proptest! {
    /// Welford with removal (recomputed exactly every 64 removals) matches a two-pass variance
    /// over the same sliding window within rounding of the data's scale;
    /// EWMA of a constant is the constant in both forms.
    #[test]
    fn rolling_primitives(xs in prop::collection::vec(-1e3f64..1e3, 1..200), n in 2usize..20, c in -1e6f64..1e6) {
        use daedalus_operators::rolling::{Ewma, RollingVariance};
        let mut r = RollingVariance::new(n);
        for (i, &x) in xs.iter().enumerate() {
            let got = r.push(x, 1);
            if i + 1 >= n {
                let w = &xs[i + 1 - n..=i];
                let mean = w.iter().sum::<f64>() / n as f64;
                let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
                // Removal's rounding is relative to the magnitude of what was removed (x²), not
                // to the current variance: bound it by the data's scale over a recompute period.
                let scale = xs[..=i].iter().map(|v| v * v).fold(0.0, f64::max);
                let tol = 1e-12 * var + 64.0 * 4.0 * f64::EPSILON * scale;
                prop_assert!((got.unwrap() - var).abs() <= tol, "{:?} vs {} (tol {})", got, var, tol);
            } else {
                prop_assert!(got.is_none());
            }
        }
        for adjust in [true, false] {
            let mut e = Ewma::with_span(n as f64, adjust);
            for _ in 0..10 { prop_assert!((e.push(c) - c).abs() <= 1e-9 * (1.0 + c.abs())); }
        }
    }
}
