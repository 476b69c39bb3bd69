//! The FEATURES Appendix A fixtures (A.1 time, volume, tick and dollar bars; A.5 AFML bars).

use super::*;
use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::{NANOS_PER_SEC, Nanos};

const S: Nanos = NANOS_PER_SEC;

/// FEATURES Appendix A.1 trade tape: (t, price, qty, side).
fn tape_a1() -> Vec<(Nanos, f64, f64, TradeSide)> {
    use TradeSide::*;
    vec![
        (250_000_000, 100.0, 1.0, Buy),
        (10_500_000_000, 100.5, 2.0, Buy),
        (30 * S, 100.5, 1.0, Sell),
        (59_999_000_000, 99.5, 3.0, Sell),
        (60 * S, 99.0, 4.0, Sell),
        (75 * S, 99.5, 2.0, Buy),
        (190 * S, 101.0, 12.0, Buy),
        (200 * S, 101.0, 1.0, Sell),
        (200 * S, 100.5, 1.0, Unknown),
        (250 * S, 100.0, 3.0, Sell),
    ]
}

fn run(spec: BarSpec, cfg: BarConfig, tape: &[(Nanos, f64, f64, TradeSide)]) -> Vec<BarRow> {
    let mut b = BarBuilder::new(spec, cfg);
    let mut out = Vec::new();
    for &(ts, p, q, side) in tape {
        b.on_trade(ts, p, Qty::from_f64(q).unwrap(), side, None, &mut out);
    }
    b.finish(&mut out);
    out
}

fn ohlcv(r: &BarRow) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>, f64) {
    (r.open, r.high, r.low, r.close, r.volume)
}

#[test]
fn a1_time_bars_right_open() {
    let out = run(
        BarSpec::parse("time_1m").unwrap(),
        BarConfig::default(),
        &tape_a1(),
    );
    assert_eq!(out.len(), 5);
    let want = [
        (
            Some(100.0),
            Some(100.5),
            Some(99.5),
            Some(99.5),
            7.0,
            3.0,
            4.0,
            0.0,
            4,
        ),
        (
            Some(99.0),
            Some(99.5),
            Some(99.0),
            Some(99.5),
            6.0,
            2.0,
            4.0,
            0.0,
            2,
        ),
        (None, None, None, None, 0.0, 0.0, 0.0, 0.0, 0),
        (
            Some(101.0),
            Some(101.0),
            Some(100.5),
            Some(100.5),
            14.0,
            12.0,
            1.0,
            1.0,
            3,
        ),
        (
            Some(100.0),
            Some(100.0),
            Some(100.0),
            Some(100.0),
            3.0,
            0.0,
            3.0,
            0.0,
            1,
        ),
    ];
    for (i, (r, w)) in out.iter().zip(want).enumerate() {
        assert_eq!(ohlcv(r), (w.0, w.1, w.2, w.3, w.4), "bar {i}");
        assert_eq!(
            (r.buy_volume, r.sell_volume, r.unknown_volume, r.trade_count),
            (w.5, w.6, w.7, w.8),
            "bar {i}"
        );
        assert_eq!(
            (r.ts_open, r.ts_close),
            (i as i64 * 60 * S, (i as i64 + 1) * 60 * S)
        );
        assert_eq!(r.is_complete, i < 4);
    }
    assert_eq!(out[0].vwap, Some(100.0));
    assert!((out[1].vwap.unwrap() - 99.1666666667).abs() < 1e-9);
    assert_eq!(out[2].vwap, None);
    assert!((out[3].vwap.unwrap() - 100.9642857143).abs() < 1e-9);
    assert_eq!(out[2].tfi, None);
    assert!((out[3].tfi.unwrap() - 11.0 / 13.0).abs() < 1e-15);
    assert_eq!(
        out.iter().map(|r| r.bar_seq).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
}

#[test]
fn a1_time_bars_left_open() {
    let cfg = BarConfig {
        time_closure: TimeBarClosure::LeftOpen,
        ..BarConfig::default()
    };
    let out = run(BarSpec::parse("time_1m").unwrap(), cfg, &tape_a1());
    // (0,60]: trade 5 at 60 s moves here; (60,120]: only trade 6.
    assert_eq!(
        ohlcv(&out[0]),
        (Some(100.0), Some(100.5), Some(99.0), Some(99.0), 11.0)
    );
    assert_eq!(
        ohlcv(&out[1]),
        (Some(99.5), Some(99.5), Some(99.5), Some(99.5), 2.0)
    );
    assert_eq!(out[2].volume, 0.0);
    assert_eq!(
        ohlcv(&out[3]),
        (Some(101.0), Some(101.0), Some(100.5), Some(100.5), 14.0)
    );
    assert_eq!(
        ohlcv(&out[4]),
        (Some(100.0), Some(100.0), Some(100.0), Some(100.0), 3.0)
    );
}

#[test]
fn a1_volume_bars_split() {
    let out = run(
        BarSpec::parse("volume_5").unwrap(),
        BarConfig::default(),
        &tape_a1(),
    );
    assert_eq!(out.len(), 6);
    let want = [
        (
            100.0,
            100.5,
            99.5,
            99.5,
            3.0,
            2.0,
            0.0,
            100.2,
            59_999_000_000,
            4,
            4,
        ),
        (99.5, 99.5, 99.0, 99.0, 0.0, 5.0, 0.0, 99.2, 60 * S, 2, 1),
        (
            99.0,
            101.0,
            99.0,
            101.0,
            4.0,
            1.0,
            0.0,
            100.0,
            190 * S,
            3,
            2,
        ),
        (
            101.0,
            101.0,
            101.0,
            101.0,
            5.0,
            0.0,
            0.0,
            101.0,
            190 * S,
            1,
            0,
        ),
        (
            101.0,
            101.0,
            101.0,
            101.0,
            5.0,
            0.0,
            0.0,
            101.0,
            190 * S,
            1,
            0,
        ),
        (
            101.0,
            101.0,
            100.0,
            100.0,
            0.0,
            4.0,
            1.0,
            100.3,
            250 * S,
            3,
            3,
        ),
    ];
    for (i, (r, w)) in out.iter().zip(want).enumerate() {
        assert_eq!(
            ohlcv(r),
            (Some(w.0), Some(w.1), Some(w.2), Some(w.3), 5.0),
            "bar {i}"
        );
        assert_eq!(
            (r.buy_volume, r.sell_volume, r.unknown_volume),
            (w.4, w.5, w.6),
            "bar {i}"
        );
        assert!(
            (r.vwap.unwrap() - w.7).abs() < 1e-9,
            "bar {i} vwap {:?}",
            r.vwap
        );
        assert_eq!(r.last_trade_ts, Some(w.8), "bar {i}");
        assert_eq!(
            (r.trade_count, r.trade_count_started),
            (w.9, w.10),
            "bar {i}"
        );
        assert!(r.is_complete);
    }
}

#[test]
fn a1_volume_bars_no_split_tick_and_dollar() {
    let cfg = BarConfig {
        volume_no_split: true,
        ..BarConfig::default()
    };
    let out = run(BarSpec::parse("volume_5").unwrap(), cfg, &tape_a1());
    let got: Vec<_> = out.iter().map(ohlcv).collect();
    assert_eq!(
        got,
        vec![
            (Some(100.0), Some(100.5), Some(99.5), Some(99.5), 7.0),
            (Some(99.0), Some(99.5), Some(99.0), Some(99.5), 6.0),
            (Some(101.0), Some(101.0), Some(101.0), Some(101.0), 12.0),
            (Some(101.0), Some(101.0), Some(100.0), Some(100.0), 5.0),
        ]
    );
    let out = run(
        BarSpec::parse("tick_3").unwrap(),
        BarConfig::default(),
        &tape_a1(),
    );
    let got: Vec<_> = out.iter().map(ohlcv).collect();
    assert_eq!(
        got[..3],
        [
            (Some(100.0), Some(100.5), Some(100.0), Some(100.5), 4.0),
            (Some(99.5), Some(99.5), Some(99.0), Some(99.5), 9.0),
            (Some(101.0), Some(101.0), Some(100.5), Some(100.5), 14.0),
        ]
    );
    // Trade 10 stays in a partial bar, emitted incomplete.
    assert!(!out[3].is_complete && out[3].trade_count == 1);
    let out = run(
        BarSpec::parse("dollar_500").unwrap(),
        BarConfig::default(),
        &tape_a1(),
    );
    let q: Vec<f64> = out.iter().map(|r| r.quote_volume).collect();
    assert_eq!(q, vec![700.0, 595.0, 1212.0, 501.5]);
}

fn tape_a5() -> Vec<(Nanos, f64, f64, TradeSide)> {
    let prices = [
        100.0, 100.5, 101.0, 101.0, 100.5, 101.0, 101.5, 102.0, 102.0, 101.5, 101.0, 100.5, 100.0,
        100.0, 99.5, 100.0, 100.5, 101.0, 101.5, 101.5, 102.0, 102.5, 102.0, 101.5,
    ];
    let vols = [
        1.0, 2.0, 1.0, 3.0, 2.0, 1.0, 4.0, 1.0, 2.0, 2.0, 1.0, 3.0, 1.0, 2.0, 5.0, 1.0, 1.0, 2.0,
        1.0, 3.0, 1.0, 2.0, 4.0, 1.0,
    ];
    prices
        .iter()
        .zip(vols)
        .enumerate()
        .map(|(i, (&p, v))| (i as i64 * S, p, v, TradeSide::Unknown))
        .collect()
}

fn afml(metric: &str, ema: Option<usize>) -> BarSpec {
    let p = AfmlParams {
        exp_num_ticks_init: 4,
        expected_imbalance_window: 4,
        num_prev_bars: ema,
        constraints: None,
        max_bar_ticks: None,
    };
    match metric {
        "tick" => BarSpec::TickImbalance(p),
        _ => BarSpec::VolumeImbalance(p),
    }
}

/// FEATURES A.5 (mlfinlab-compat imbalance bars; cum_buy = tick-rule buy volume).
#[test]
fn a5_afml_imbalance_bars() {
    let tape = tape_a5();
    let out = run(afml("tick", None), BarConfig::default(), &tape);
    let complete: Vec<&BarRow> = out.iter().filter(|r| r.is_complete).collect();
    assert_eq!(complete.len(), 3);
    let closes: Vec<Nanos> = complete
        .iter()
        .map(|r| r.last_trade_ts.unwrap() / S + 1)
        .collect();
    assert_eq!(closes, vec![7, 14, 21]);
    let want = [
        (100.0, 101.5, 100.0, 101.5, 14.0),
        (102.0, 102.0, 100.0, 100.0, 12.0),
        (99.5, 102.0, 99.5, 102.0, 14.0),
    ];
    for (r, w) in complete.iter().zip(want) {
        assert_eq!(ohlcv(r), (Some(w.0), Some(w.1), Some(w.2), Some(w.3), w.4));
    }
    let a = complete[0].audit.unwrap();
    assert_eq!(a.theta, 4.0);
    assert!((a.exp_num_ticks * a.exp_imbalance - 3.603).abs() < 1e-3);
    let ema = run(afml("tick", Some(2)), BarConfig::default(), &tape);
    assert_eq!(ema.iter().filter(|r| r.is_complete).count(), 1);
    let vol = run(afml("volume", None), BarConfig::default(), &tape);
    let complete: Vec<&BarRow> = vol.iter().filter(|r| r.is_complete).collect();
    let closes: Vec<Nanos> = complete
        .iter()
        .map(|r| r.last_trade_ts.unwrap() / S + 1)
        .collect();
    assert_eq!(closes, vec![7, 15]);
    assert_eq!(
        ohlcv(complete[1]),
        (Some(102.0), Some(102.0), Some(99.5), Some(99.5), 17.0)
    );
}
