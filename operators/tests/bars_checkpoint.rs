//! Bar state in run checkpoints: builders serialized (bincode, as the market checkpoint does) by
//! the release that wrote `tests/fixtures/bars_v1/` must resume with this build and emit exactly
//! the rows the uninterrupted run emitted.
//!
//! Each fixture is one bar spec fed the first half of a deterministic trade and book tape:
//! `<name>.bin` is the serialized builder, `<name>.rows` the rows (one line each, every field in
//! `{:?}` form, so floats compare bit for bit) that the second half and `finish` produce.
//! They were written by the builder of that release (commit 8048cec, test `write_fixtures`:
//! `split_run` on every case, `bincode::serialize` of the builder, `lines` of the rows); never
//! regenerate them to "fix" a failing compatibility test.

use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::{NANOS_PER_DAY, NANOS_PER_SEC, Nanos};
use daedalus_operators::bars::{BarBuilder, BarConfig, BarRow, BarSpec, TimeBarClosure};
use std::path::PathBuf;

/// One event of the tape.
#[derive(Clone, Copy)]
enum Ev {
    Book {
        ts: Nanos,
        ofi: i128,
        mid: Option<f64>,
        spread: Option<f64>,
    },
    Trade {
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin: Option<f64>,
    },
}

/// A deterministic tape of 160 events over ~9 minutes, crossing a UTC midnight (so `bar_seq`
/// restarts) and pausing once (empty time bars), with trending price runs so AFML bars close, book gaps (`None` mid/spread) and
/// equal timestamps.
fn tape() -> Vec<Ev> {
    let mut x: u64 = 7;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut ts = 19_723 * NANOS_PER_DAY - 3 * 60 * NANOS_PER_SEC - 1;
    let mut price = 100.0f64;
    let mut out = Vec::new();
    for i in 0..160u64 {
        if next() % 4 != 0 {
            ts += (next() % 7_000) as i64 * 1_000_000;
        }
        if i == 120 {
            // A pause: empty time bars.
            ts += 95 * NANOS_PER_SEC;
        }
        if next() % 3 == 0 {
            let gap = next() % 11 == 0;
            out.push(Ev::Book {
                ts,
                ofi: i128::from(next() % 4_000_000_000) - 2_000_000_000,
                mid: (!gap).then_some(price + 0.25),
                spread: (!gap).then_some(0.5 + (next() % 3) as f64 * 0.5),
            });
        } else {
            // Runs of 6 trades drifting one way, then the other.
            let up = (i / 6) % 3 != 1;
            let step = (next() % 3) as f64 * 0.5;
            price += if up { step } else { -step };
            let side = match next() % 3 {
                0 => TradeSide::Buy,
                1 => TradeSide::Sell,
                _ => TradeSide::Unknown,
            };
            out.push(Ev::Trade {
                ts,
                price,
                size: Qty((1 + next() % 3_000) as i64 * 1_000_000),
                side,
                vpin: (i > 20).then_some((next() % 1000) as f64 / 1000.0),
            });
        }
    }
    out
}

/// Every bar kind `BarSpec::parse` knows, with small AFML warm-ups so bars close, and the
/// non-default options.
fn cases() -> Vec<(&'static str, &'static str, BarConfig)> {
    let left = BarConfig {
        time_closure: TimeBarClosure::LeftOpen,
        ..BarConfig::default()
    };
    let no_split = BarConfig {
        volume_no_split: true,
        ..BarConfig::default()
    };
    let kyle3 = BarConfig {
        kyle_window: 3,
        ..BarConfig::default()
    };
    let d = BarConfig::default;
    vec![
        ("time_1m", "time_1m", kyle3.clone()),
        ("time_1m_left", "time_1m", left),
        ("time_30s", "time_30s", d()),
        ("tick_12", "tick_12", kyle3),
        ("volume_20", "volume_20", d()),
        ("volume_20_nosplit", "volume_20", no_split),
        ("dollar_2500", "dollar_2500", d()),
        ("imbalance_tick", "imbalance_tick_5_4", d()),
        ("imbalance_volume", "imbalance_volume_5_4", d()),
        ("imbalance_dollar", "imbalance_dollar_5_4_const", d()),
        ("run_tick", "run_tick_5_4", d()),
        ("run_volume", "run_volume_5_4_const", d()),
        ("run_dollar", "run_dollar_5_4_2", d()),
    ]
}

fn feed(b: &mut BarBuilder, evs: &[Ev], out: &mut Vec<BarRow>) {
    for e in evs {
        match *e {
            Ev::Book {
                ts,
                ofi,
                mid,
                spread,
            } => b.on_book(ts, ofi, mid, spread),
            Ev::Trade {
                ts,
                price,
                size,
                side,
                vpin,
            } => b.on_trade(ts, price, size, side, vpin, out),
        }
    }
}

/// Every field of a row, `|`-separated, in `{:?}` form.
fn line(r: &BarRow) -> String {
    let audit = r
        .audit
        .map(|a| format!("{:?},{:?},{:?}", a.theta, a.exp_num_ticks, a.exp_imbalance));
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        r.ts_open,
        r.ts_close,
        r.first_trade_ts,
        r.last_trade_ts,
        r.bar_seq,
        r.is_complete,
        r.open,
        r.high,
        r.low,
        r.close,
        r.vwap,
        r.volume,
        r.quote_volume,
        r.trade_count,
        r.trade_count_started,
        r.buy_volume,
        r.sell_volume,
        r.unknown_volume,
        r.buy_count,
        r.sell_count,
        r.unknown_count,
        r.ofi,
        r.signed_volume,
        r.tfi,
        r.vpin,
        r.kyle_lambda,
        r.mid_open,
        r.mid_close,
        r.spread_mean,
        audit,
    )
}

fn lines(rows: &[BarRow]) -> String {
    rows.iter().map(|r| line(r) + "\n").collect()
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bars_v1")
}

/// The builder after the first half, and the rows of the second half plus `finish`.
fn split_run(spec: &str, cfg: &BarConfig) -> (BarBuilder, Vec<BarRow>) {
    let evs = tape();
    let half = evs.len() / 2;
    let mut b = BarBuilder::new(BarSpec::parse(spec).unwrap(), cfg.clone());
    let mut out = Vec::new();
    feed(&mut b, &evs[..half], &mut out);
    let at_half = b.clone();
    out.clear();
    feed(&mut b, &evs[half..], &mut out);
    b.finish(&mut out);
    (at_half, out)
}

fn second_half(mut b: BarBuilder) -> Vec<BarRow> {
    let evs = tape();
    let mut out = Vec::new();
    feed(&mut b, &evs[evs.len() / 2..], &mut out);
    b.finish(&mut out);
    out
}

/// Checkpoints of the previous release resume: the saved bytes decode, re-encode to the same
/// bytes, and the second half emits exactly the saved rows.
#[test]
fn previous_release_checkpoints_resume() {
    let dir = fixture_dir();
    for (name, _, _) in cases() {
        let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
        let want = std::fs::read_to_string(dir.join(format!("{name}.rows"))).unwrap();
        assert!(!want.is_empty(), "{name}: fixture emits no rows");
        let b: BarBuilder = bincode::deserialize(&bytes)
            .unwrap_or_else(|e| panic!("{name}: fixture does not decode: {e}"));
        assert_eq!(
            bincode::serialize(&b).unwrap(),
            bytes,
            "{name}: re-encoding"
        );
        assert_eq!(lines(&second_half(b)), want, "{name}: rows after resume");
    }
}

/// This build's state round-trips: serialized, restored and fed the second half, it emits
/// what the uninterrupted run does.
#[test]
fn checkpoints_round_trip() {
    for (name, spec, cfg) in cases() {
        let (b, want) = split_run(spec, &cfg);
        let bytes = bincode::serialize(&b).unwrap();
        let restored: BarBuilder = bincode::deserialize(&bytes).unwrap();
        assert_eq!(
            bincode::serialize(&restored).unwrap(),
            bytes,
            "{name}: re-encoding"
        );
        assert_eq!(
            lines(&second_half(restored)),
            lines(&want),
            "{name}: rows after restore"
        );
    }
}
