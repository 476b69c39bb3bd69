//! Book-side oracle and property tests (FEATURES §1.4, §2–4, §8; CONTRACT §2, §4, §9.2–9.4).
//!
//! - `engine_matches_naive_oracle`: [`BookFeatureEngine`] against a recompute-from-scratch
//!   implementation written here (plain sorted `Vec` book, the case form of the OFI formula,
//!   brute-force windows) on random streams with snapshots, diffs, deletes (also of absent
//!   levels), crossing updates, sequence gaps, id-less messages and venue clocks stepping back.
//! - Property tests of the OFI/MLOFI and structural invariants (additivity, mirror symmetry,
//!   scaling, telescoping, round trips, bounds).
//! - Serialize/restore equivalence (bincode) of [`L2Book`], [`BookFeatureEngine`] and
//!   [`TickerFeatureEngine`].
//! - [`TickerFeatureEngine`] against a naive oracle.

use daedalus_model::fixed::{QTY_SCALE, Qty, units_to_f64};
use daedalus_model::rows::{BookSide, TickerRow};
use daedalus_operators::book::{BookMessage, L2Book, LevelUpdate};
use daedalus_operators::book_features::{BookFeatureConfig, BookFeatureEngine, BookFeatureRow};
use daedalus_operators::ticker::{TickerFeatureEngine, TickerFeatureRow};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Owned messages and stream generation
// ---------------------------------------------------------------------------------------------

/// An owned book message.
#[derive(Debug, Clone)]
struct Msg {
    ts_event: i64,
    ts_recv: i64,
    seq: Option<u64>,
    prev_seq: Option<u64>,
    is_snapshot: bool,
    levels: Vec<LevelUpdate>,
}

impl Msg {
    fn view(&self) -> BookMessage<'_> {
        BookMessage {
            ts_event: self.ts_event,
            ts_recv: self.ts_recv,
            seq: self.seq,
            prev_seq: self.prev_seq,
            is_snapshot: self.is_snapshot,
            levels: &self.levels,
        }
    }
}

fn side(bid: bool) -> BookSide {
    if bid { BookSide::Bid } else { BookSide::Ask }
}

/// Price of tick `k` on a 0.25 grid around 1000 (exact in binary).
fn px(k: i32) -> f64 {
    1000.0 + 0.25 * f64::from(k)
}

/// Raw op: (kind, ts step, levels (is_bid, tick, lots; lots 0 deletes)).
/// kind: 0..=3 snapshot, 4..=5 gap, 6..=7 diff without ids, else chained diff.
type RawOp = (u8, i64, Vec<(bool, i32, u32)>);

fn raw_ops() -> impl Strategy<Value = Vec<RawOp>> {
    prop::collection::vec(
        (
            0u8..60,
            -2i64..6,
            prop::collection::vec((any::<bool>(), -16i32..18, 0u32..6), 1..5),
        ),
        1..90,
    )
}

/// Deterministic message stream from raw ops: diffs before the first snapshot, snapshots
/// (bids at ticks <= 0, asks at ticks > 0, with some zero rows), chained diffs whose first one
/// straddles the snapshot id, gaps, id-less diffs, and venue time stepping back now and then.
fn build(ops: &[RawOp]) -> Vec<Msg> {
    let mut out = Vec::new();
    let mut ts = 1_000i64;
    let mut last: u64 = 100;
    let mut after_snapshot = false;
    for (i, (kind, dt, lv)) in ops.iter().enumerate() {
        ts += dt;
        let snapshot = *kind <= 3 && i > 0;
        let mut m = Msg {
            ts_event: ts,
            ts_recv: ts + 7,
            seq: None,
            prev_seq: None,
            is_snapshot: snapshot,
            levels: Vec::new(),
        };
        if snapshot {
            last += 3;
            m.seq = Some(last);
            after_snapshot = true;
            // A ladder deeper than the engine's top-N cache (14 levels a side, more than
            // max(M, 10) for M <= 12), so diffs land inside, on the edge of and beyond it; the
            // raw levels thin it out (zero rows) or add to it.
            for k in 0..14 {
                let lots = 1 + (k as u32 + lv.len() as u32) % 4;
                m.levels.push(LevelUpdate {
                    side: BookSide::Bid,
                    price: px(-k),
                    size: f64::from(lots) * 0.5,
                });
                m.levels.push(LevelUpdate {
                    side: BookSide::Ask,
                    price: px(1 + k),
                    size: f64::from(lots) * 0.25,
                });
            }
            for &(bid, t, lots) in lv {
                let t = if bid { -(t.abs()) } else { 1 + t.abs() };
                m.levels.push(LevelUpdate {
                    side: side(bid),
                    price: px(t),
                    size: f64::from(lots) * 0.001,
                });
            }
        } else {
            match kind {
                4 | 5 => {
                    m.prev_seq = Some(last + 2);
                    m.seq = Some(last + 5);
                }
                6 | 7 => {}
                _ if after_snapshot => {
                    m.prev_seq = Some(last - 1);
                    m.seq = Some(last + 1);
                }
                _ => {
                    m.prev_seq = Some(last);
                    m.seq = Some(last + 1 + u64::from(*kind % 3));
                }
            }
            if let Some(s) = m.seq {
                last = s;
            }
            after_snapshot = false;
            for &(bid, t, lots) in lv {
                m.levels.push(LevelUpdate {
                    side: side(bid),
                    price: px(t),
                    size: f64::from(lots) * 0.001 * f64::from(1 + (t.unsigned_abs() % 3)),
                });
            }
        }
        out.push(m);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The naive oracle
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Anchor {
    /// No check for the next diff.
    Free,
    /// Right after a snapshot with id L: the next diff must straddle L.
    Straddle(u64),
    /// The next diff's prev_seq must equal this id.
    Chain(u64),
}

/// Recompute-from-scratch reference: the book is two plain sorted vectors, every feature is
/// recomputed from them, OFI uses the case form, windows are brute force over all flows.
struct Naive {
    m: usize,
    widths: Vec<i64>,
    bids: Vec<(f64, i64)>,
    asks: Vec<(f64, i64)>,
    seen_snapshot: bool,
    valid: bool,
    anchor: Anchor,
    prev: Option<(Vec<(f64, i64)>, Vec<(f64, i64)>)>,
    flows: Vec<(i64, i128)>,
    eff: Option<i64>,
}

fn set_level(v: &mut Vec<(f64, i64)>, price: f64, units: i64, bid: bool) {
    let pos = v.iter().position(|l| l.0 == price);
    match (pos, units) {
        (Some(i), 0) => {
            v.remove(i);
        }
        (Some(i), u) => v[i].1 = u,
        (None, 0) => {}
        (None, u) => {
            v.push((price, u));
            if bid {
                v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
            } else {
                v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            }
        }
    }
}

/// Case form (FEATURES §3): bid part B, ask part A, e = B − A, with ±∞ sentinels.
fn e_case(pb: (f64, i64), b: (f64, i64), pa: (f64, i64), a: (f64, i64)) -> i128 {
    let (q, q0) = (i128::from(b.1), i128::from(pb.1));
    let bp = if b.0 > pb.0 {
        q
    } else if b.0 == pb.0 {
        q - q0
    } else {
        -q0
    };
    let (r, r0) = (i128::from(a.1), i128::from(pa.1));
    let ap = if a.0 < pa.0 {
        r
    } else if a.0 == pa.0 {
        r - r0
    } else {
        -r0
    };
    bp - ap
}

fn at(v: &[(f64, i64)], m: usize, bid: bool) -> (f64, i64) {
    v.get(m).copied().unwrap_or(if bid {
        (f64::NEG_INFINITY, 0)
    } else {
        (f64::INFINITY, 0)
    })
}

fn di(bids: &[(f64, i64)], asks: &[(f64, i64)], l: usize) -> Option<f64> {
    if bids.is_empty() || asks.is_empty() {
        return None;
    }
    let b: i128 = bids.iter().take(l).map(|x| i128::from(x.1)).sum();
    let a: i128 = asks.iter().take(l).map(|x| i128::from(x.1)).sum();
    (b + a != 0).then(|| (b - a) as f64 / (b + a) as f64)
}

impl Naive {
    fn new(m: usize, widths: Vec<i64>) -> Self {
        Naive {
            m,
            widths,
            bids: Vec::new(),
            asks: Vec::new(),
            seen_snapshot: false,
            valid: false,
            anchor: Anchor::Free,
            prev: None,
            flows: Vec::new(),
            eff: None,
        }
    }

    fn units(size: f64) -> i64 {
        Qty::from_f64(size).unwrap().0
    }

    fn mid(&self) -> Option<f64> {
        if !self.valid || self.bids.is_empty() || self.asks.is_empty() {
            return None;
        }
        Some((self.bids[0].0 + self.asks[0].0) / 2.0)
    }

    fn on(&mut self, msg: &Msg) -> Option<BookFeatureRow> {
        let t = self.eff.map_or(msg.ts_event, |e| e.max(msg.ts_event));
        self.eff = Some(t);
        let mut reset = false;
        if msg.is_snapshot {
            reset = self.seen_snapshot;
            self.seen_snapshot = true;
            self.valid = true;
            self.bids.clear();
            self.asks.clear();
            self.anchor = msg.seq.map_or(Anchor::Free, Anchor::Straddle);
        } else {
            if !self.valid {
                return None;
            }
            let ok = match (msg.prev_seq, msg.seq, self.anchor) {
                (Some(p), Some(s), Anchor::Straddle(l)) => p <= l && l <= s,
                (Some(p), Some(_), Anchor::Chain(c)) => p == c,
                _ => true,
            };
            if !ok {
                self.valid = false;
                self.prev = None;
                return Some(BookFeatureRow {
                    ts_event: msg.ts_event,
                    ts_recv: msg.ts_recv,
                    seq: msg.seq,
                    reset: true,
                    gap: true,
                    mlofi: vec![None; self.m],
                    ofi_windows: vec![None; self.widths.len()],
                    mlofi_units: vec![0; self.m],
                    ..Default::default()
                });
            }
            self.anchor = msg.seq.map_or(Anchor::Free, Anchor::Chain);
        }
        for l in &msg.levels {
            let bid = l.side == BookSide::Bid;
            let v = if bid { &mut self.bids } else { &mut self.asks };
            set_level(v, l.price, Self::units(l.size), bid);
        }
        // Tardis: decide once from the best ask at first sight of the crossing.
        let mut uncrossed = false;
        if !self.bids.is_empty() && !self.asks.is_empty() && self.bids[0].0 >= self.asks[0].0 {
            uncrossed = true;
            let best_ask = self.asks[0].0;
            let remove_bids = msg
                .levels
                .iter()
                .any(|l| l.side == BookSide::Ask && l.price == best_ask);
            while !self.bids.is_empty() && !self.asks.is_empty() && self.bids[0].0 >= self.asks[0].0
            {
                if remove_bids {
                    self.bids.remove(0);
                } else {
                    self.asks.remove(0);
                }
            }
        }
        let mut r = BookFeatureRow {
            ts_event: msg.ts_event,
            ts_recv: msg.ts_recv,
            seq: msg.seq,
            reset,
            uncrossed,
            ..Default::default()
        };
        let q = |u: i64| u as f64 / QTY_SCALE as f64;
        if let Some(&(bb, bq)) = self.bids.first() {
            r.best_bid = Some(bb);
            r.bid_size_1 = Some(q(bq));
        }
        if let Some(&(ba, aq)) = self.asks.first() {
            r.best_ask = Some(ba);
            r.ask_size_1 = Some(q(aq));
        }
        if let (Some(&(bb, bq)), Some(&(ba, aq))) = (self.bids.first(), self.asks.first()) {
            let (qb, qa) = (q(bq), q(aq));
            let mid = (bb + ba) / 2.0;
            r.mid = Some(mid);
            r.spread = Some(ba - bb);
            r.rel_spread_bps = Some(1e4 * (ba - bb) / mid);
            if qb + qa > 0.0 {
                r.wmid = Some((bb * qa + ba * qb) / (qb + qa));
                r.imbalance_1 = Some((qb - qa) / (qb + qa));
            }
        }
        r.depth_imbalance_5 = di(&self.bids, &self.asks, 5);
        r.depth_imbalance_10 = di(&self.bids, &self.asks, 10);
        match (&self.prev, reset) {
            (Some((pb, pa)), false) => {
                r.mlofi_units = (0..self.m)
                    .map(|m| {
                        e_case(
                            at(pb, m, true),
                            at(&self.bids, m, true),
                            at(pa, m, false),
                            at(&self.asks, m, false),
                        )
                    })
                    .collect();
                r.mlofi = r
                    .mlofi_units
                    .iter()
                    .map(|&u| Some(units_to_f64(u)))
                    .collect();
                r.ofi_units = r.mlofi_units[0];
                r.ofi = r.mlofi[0];
            }
            _ => {
                r.mlofi = vec![None; self.m];
                r.mlofi_units = vec![0; self.m];
            }
        }
        self.prev = Some((self.bids.clone(), self.asks.clone()));
        self.flows.push((t, r.ofi_units));
        r.ofi_windows = self
            .widths
            .iter()
            .map(|&w| {
                let s: i128 = self
                    .flows
                    .iter()
                    .filter(|(ts, _)| *ts > t - w && *ts <= t)
                    .map(|f| f.1)
                    .sum();
                Some(units_to_f64(s))
            })
            .collect();
        Some(r)
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs())),
        (None, None) => true,
        _ => false,
    }
}

/// Exact on flags, ids, prices, sizes and flows; 1e-12 relative on ratios.
fn same_row(got: &BookFeatureRow, want: &BookFeatureRow) -> Result<(), String> {
    let exact = got.ts_event == want.ts_event
        && got.ts_recv == want.ts_recv
        && got.seq == want.seq
        && (got.reset, got.gap, got.uncrossed) == (want.reset, want.gap, want.uncrossed)
        && (got.best_bid, got.best_ask) == (want.best_bid, want.best_ask)
        && (got.bid_size_1, got.ask_size_1) == (want.bid_size_1, want.ask_size_1)
        && (got.mid, got.spread) == (want.mid, want.spread)
        && got.ofi == want.ofi
        && got.mlofi == want.mlofi
        && got.ofi_units == want.ofi_units
        && got.mlofi_units == want.mlofi_units
        && got.ofi_windows == want.ofi_windows;
    let approx = close(got.rel_spread_bps, want.rel_spread_bps)
        && close(got.wmid, want.wmid)
        && close(got.imbalance_1, want.imbalance_1)
        && close(got.depth_imbalance_5, want.depth_imbalance_5)
        && close(got.depth_imbalance_10, want.depth_imbalance_10);
    if exact && approx {
        Ok(())
    } else {
        Err(format!("engine {got:?}\noracle {want:?}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the property tests
// ---------------------------------------------------------------------------------------------

fn run(msgs: &[Msg], m: usize, windows: &[i64]) -> Vec<BookFeatureRow> {
    let mut e = BookFeatureEngine::new(BookFeatureConfig {
        mlofi_levels: m,
        windows: windows.to_vec(),
    });
    msgs.iter()
        .filter_map(|x| e.on_message(&x.view()).unwrap().cloned())
        .collect()
}

/// A non-crossing stream around c = 1000: bids on ticks −12..=−1, asks on 1..=12, so no
/// message ever crosses and the mirror `p -> 2c − p` maps each side's grid onto the other's.
fn calm_stream() -> impl Strategy<Value = Vec<Vec<(bool, i32, u32)>>> {
    prop::collection::vec(
        prop::collection::vec((any::<bool>(), 1i32..13, 0u32..8), 1..5),
        2..60,
    )
}

/// Messages of a calm stream: the first is a snapshot. `mirror` swaps sides and reflects
/// prices about 1000; `k` scales every size.
fn calm_msgs(stream: &[Vec<(bool, i32, u32)>], mirror: bool, k: u32) -> Vec<Msg> {
    stream
        .iter()
        .enumerate()
        .map(|(i, lv)| Msg {
            ts_event: i as i64,
            ts_recv: i as i64,
            seq: None,
            prev_seq: None,
            is_snapshot: i == 0,
            levels: lv
                .iter()
                .map(|&(bid, t, lots)| {
                    let tick = if bid { -t } else { t };
                    let (bid, tick) = if mirror { (!bid, -tick) } else { (bid, tick) };
                    LevelUpdate {
                        side: side(bid),
                        price: px(tick),
                        size: f64::from(lots * k) * 0.5,
                    }
                })
                .collect(),
        })
        .collect()
}

fn neg(x: Option<f64>) -> Option<f64> {
    x.map(|v| -v)
}

fn ticker_quotes() -> impl Strategy<Value = Vec<(i64, [Option<(i32, u32)>; 2])>> {
    prop::collection::vec(
        (
            -1i64..4,
            [
                prop::option::weighted(0.85, (-6i32..3, 0u32..5)),
                prop::option::weighted(0.85, (-2i32..7, 0u32..5)),
            ],
        ),
        1..80,
    )
}

fn quote_rows(qs: &[(i64, [Option<(i32, u32)>; 2])]) -> Vec<TickerRow> {
    let mut ts = 0;
    qs.iter()
        .map(|(dt, [b, a])| {
            ts += dt;
            TickerRow {
                ts_event: ts,
                ts_recv: ts,
                seq: None,
                bid_price: b.map(|x| px(x.0)),
                bid_size: b.map(|x| f64::from(x.1) * 0.1),
                ask_price: a.map(|x| px(x.0)),
                ask_size: a.map(|x| f64::from(x.1) * 0.1),
            }
        })
        .collect()
}

fn restore<T: serde::Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
    bincode::deserialize(&bincode::serialize(x).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The engine equals the naive recompute on every message (rows, absence of rows, and the
    /// as-of `mid()`/`spread()`), for several MLOFI depths and windows.
    #[test]
    fn engine_matches_naive_oracle(ops in raw_ops(), m in 1usize..13) {
        let msgs = build(&ops);
        let widths = vec![3i64, 10, 1_000_000];
        let mut e = BookFeatureEngine::new(BookFeatureConfig { mlofi_levels: m, windows: widths.clone() });
        let mut o = Naive::new(m, widths);
        for (i, msg) in msgs.iter().enumerate() {
            let got = e.on_message(&msg.view()).unwrap().cloned();
            let want = o.on(msg);
            match (&got, &want) {
                (Some(g), Some(w)) => {
                    if let Err(d) = same_row(g, w) {
                        return Err(TestCaseError::fail(format!("message {i}: {d}")));
                    }
                }
                (None, None) => {}
                _ => return Err(TestCaseError::fail(format!("message {i}: engine {got:?} oracle {want:?}"))),
            }
            prop_assert_eq!(e.mid(), o.mid(), "mid() after message {}", i);
            let spread = o.mid().map(|_| o.asks[0].0 - o.bids[0].0);
            prop_assert_eq!(e.spread(), spread);
            prop_assert_eq!((e.book().bid_depth(), e.book().ask_depth()), (o.bids.len(), o.asks.len()));
            prop_assert_eq!(e.book().is_ready(), o.valid);
        }
    }

    /// OFI invariants on the calm (never crossing) streams: mlofi_1 == ofi exactly (bits and
    /// units); mirror symmetry (sides swapped, prices reflected about c) negates every e_n^m,
    /// I1 and DI, reflects mid/wmid and keeps the spread; scaling sizes by k scales every e_n^m
    /// by k and leaves mid, I1, DI and wmid unchanged.
    #[test]
    fn ofi_mirror_scaling_and_level_one(stream in calm_stream(), k in 2u32..6) {
        let base = run(&calm_msgs(&stream, false, 1), 5, &[4]);
        let mirror = run(&calm_msgs(&stream, true, 1), 5, &[4]);
        let scaled = run(&calm_msgs(&stream, false, k), 5, &[4]);
        prop_assert_eq!(base.len(), stream.len());
        for ((b, m), s) in base.iter().zip(&mirror).zip(&scaled) {
            prop_assert_eq!(b.ofi.map(f64::to_bits), b.mlofi[0].map(f64::to_bits));
            prop_assert_eq!(b.ofi_units, b.mlofi_units[0]);
            prop_assert!(!b.uncrossed && !m.uncrossed);
            let negated: Vec<i128> = b.mlofi_units.iter().map(|u| -u).collect();
            prop_assert_eq!(&m.mlofi_units, &negated);
            prop_assert_eq!(m.ofi, neg(b.ofi));
            let times_k: Vec<i128> = b.mlofi_units.iter().map(|u| u * i128::from(k)).collect();
            prop_assert_eq!(&s.mlofi_units, &times_k);
            prop_assert_eq!(s.ofi_windows[0], b.ofi_windows[0].map(|w| w * f64::from(k)));
            prop_assert!(close(m.imbalance_1, neg(b.imbalance_1)));
            prop_assert!(close(m.depth_imbalance_5, neg(b.depth_imbalance_5)));
            prop_assert!(close(m.depth_imbalance_10, neg(b.depth_imbalance_10)));
            prop_assert_eq!(m.mid, b.mid.map(|x| 2000.0 - x));
            prop_assert_eq!(m.spread, b.spread);
            prop_assert!(close(m.wmid, b.wmid.map(|x| 2000.0 - x)));
            prop_assert_eq!(s.mid, b.mid);
            prop_assert!(close(s.imbalance_1, b.imbalance_1));
            prop_assert!(close(s.depth_imbalance_5, b.depth_imbalance_5));
            prop_assert!(close(s.wmid, b.wmid));
        }
    }

    /// Additivity: each window sum is Σ e over its rows, and for W1 < W2,
    /// OFI(t − W2, t] = OFI(t − W2, t − W1] + OFI(t − W1, t], both read off the engine.
    #[test]
    fn ofi_additivity(ops in raw_ops()) {
        let msgs = build(&ops);
        let rows = run(&msgs, 3, &[4, 9]);
        let mut eff = Vec::new();
        let mut t = i64::MIN;
        let mut msg_i = 0;
        // Effective times of the emitted rows (running max over all messages).
        let mut e = BookFeatureEngine::new(BookFeatureConfig { mlofi_levels: 3, windows: vec![4, 9] });
        for msg in &msgs {
            t = t.max(msg.ts_event);
            if e.on_message(&msg.view()).unwrap().is_some() {
                eff.push(t);
                msg_i += 1;
            }
        }
        prop_assert_eq!(msg_i, rows.len());
        for (i, r) in rows.iter().enumerate() {
            if r.gap {
                prop_assert_eq!(&r.ofi_windows, &vec![None, None]);
                continue;
            }
            let t = eff[i];
            let sum = |lo: i64, hi: i64| -> i128 {
                rows.iter().zip(&eff).take(i + 1)
                    .filter(|(_, ts)| **ts > lo && **ts <= hi)
                    .map(|(r, _)| r.ofi_units).sum()
            };
            prop_assert_eq!(r.ofi_windows[0], Some(units_to_f64(sum(t - 4, t))));
            prop_assert_eq!(r.ofi_windows[1], Some(units_to_f64(sum(t - 9, t))));
            prop_assert_eq!(sum(t - 9, t), sum(t - 9, t - 4) + sum(t - 4, t));
        }
    }

    /// Telescoping (FEATURES §3 inv. 2, §4 inv. 3 and 5): when no price ever changes, Σ_n e^m
    /// = ΔQ_b^m − ΔQ_a^m at every level m, and a message touching only level j changes only e^j.
    #[test]
    fn telescoping_when_prices_never_change(sizes in prop::collection::vec((any::<bool>(), 0usize..6, 1u32..9), 1..50)) {
        let mut bid_q = [3u32; 6];
        let mut ask_q = [2u32; 6];
        let snap: Vec<LevelUpdate> = (0..6).flat_map(|j| [
            LevelUpdate { side: BookSide::Bid, price: px(-(j as i32)), size: f64::from(bid_q[j]) },
            LevelUpdate { side: BookSide::Ask, price: px(1 + j as i32), size: f64::from(ask_q[j]) },
        ]).collect();
        let mut msgs = vec![Msg { ts_event: 0, ts_recv: 0, seq: None, prev_seq: None, is_snapshot: true, levels: snap }];
        for (i, &(bid, j, q)) in sizes.iter().enumerate() {
            let price = if bid { px(-(j as i32)) } else { px(1 + j as i32) };
            msgs.push(Msg { ts_event: i as i64 + 1, ts_recv: 0, seq: None, prev_seq: None, is_snapshot: false,
                levels: vec![LevelUpdate { side: side(bid), price, size: f64::from(q) }] });
        }
        let rows = run(&msgs, 6, &[1]);
        for (r, &(bid, j, q)) in rows[1..].iter().zip(&sizes) {
            let before = if bid { bid_q[j] } else { ask_q[j] };
            let d = (i128::from(q) - i128::from(before)) * QTY_SCALE as i128;
            for (m, &u) in r.mlofi_units.iter().enumerate() {
                let want = if m == j { if bid { d } else { -d } } else { 0 };
                prop_assert_eq!(u, want, "level {}", m);
            }
            if bid { bid_q[j] = q } else { ask_q[j] = q }
        }
        for m in 0..6 {
            let total: i128 = rows.iter().map(|r| r.mlofi_units[m]).sum();
            let want = (i128::from(bid_q[m]) - 3 - (i128::from(ask_q[m]) - 2)) * QTY_SCALE as i128;
            prop_assert_eq!(total, want);
        }
    }

    /// Round trips (FEATURES §3 inv. 5, §4 inv. 6): adding a level anywhere (inside the spread,
    /// at an existing price or deeper) and then restoring the previous state sums to 0 at every
    /// level; a new better bid of q gives e = +q.
    #[test]
    fn add_cancel_round_trip(stream in calm_stream(), bid in any::<bool>(), t in 0i32..14, q in 1u32..9) {
        let mut msgs = calm_msgs(&stream, false, 1);
        let n = msgs.len();
        let mut e = BookFeatureEngine::new(BookFeatureConfig { mlofi_levels: 8, windows: vec![1] });
        for m in &msgs {
            e.on_message(&m.view()).unwrap();
        }
        // Tick 0 is inside the spread (calm bids sit at ticks <= -1, asks at >= 1), so no tick
        // here crosses.
        let tick = if bid { -t } else { t };
        let price = px(tick);
        let old = if bid { e.book().bid_level(0) } else { e.book().ask_level(0) };
        let mut book_side = Vec::new();
        e.book().top_n(side(bid), usize::MAX, &mut book_side);
        let existing = book_side.iter().find(|l| l.0 == price).map(|l| l.1.to_f64()).unwrap_or(0.0);
        for size in [existing + f64::from(q), existing] {
            msgs.push(Msg { ts_event: n as i64, ts_recv: 0, seq: None, prev_seq: None, is_snapshot: false,
                levels: vec![LevelUpdate { side: side(bid), price, size }] });
        }
        let add = e.on_message(&msgs[n].view()).unwrap().unwrap().clone();
        let cancel = e.on_message(&msgs[n + 1].view()).unwrap().unwrap().clone();
        for m in 0..8 {
            prop_assert_eq!(add.mlofi_units[m] + cancel.mlofi_units[m], 0, "level {}", m);
        }
        let better = match old { Some((p, _)) => if bid { price > p } else { price < p }, None => true };
        if better {
            let qu = i128::from(q) * QTY_SCALE as i128;
            prop_assert_eq!(add.ofi_units, if bid { qu } else { -qu });
        }
    }

    /// Bounds on the uncrossed book of arbitrary streams: bb < ba, bb <= mid, wmid <= ba,
    /// spread > 0, I1 and DI in [−1, 1].
    #[test]
    fn structural_bounds(ops in raw_ops()) {
        for r in run(&build(&ops), 2, &[5]) {
            if let (Some(bb), Some(ba)) = (r.best_bid, r.best_ask) {
                prop_assert!(bb < ba);
                let (mid, w) = (r.mid.unwrap(), r.wmid.unwrap());
                prop_assert!(bb <= mid && mid <= ba);
                prop_assert!(bb <= w && w <= ba);
                prop_assert!(r.spread.unwrap() > 0.0 && r.rel_spread_bps.unwrap() > 0.0);
            } else {
                prop_assert!(r.mid.is_none() && r.spread.is_none() && r.wmid.is_none());
                prop_assert!(r.imbalance_1.is_none() && r.depth_imbalance_5.is_none());
            }
            for x in [r.imbalance_1, r.depth_imbalance_5, r.depth_imbalance_10].into_iter().flatten() {
                prop_assert!((-1.0..=1.0).contains(&x));
            }
        }
    }

    /// Restore equivalence: fed 1..k, serialized (bincode), restored and fed k+1..n equals fed
    /// 1..n, for the engine (every row) and the bare book (every outcome and the final state).
    #[test]
    fn book_restore_equivalence(ops in raw_ops(), k in 0usize..90) {
        let msgs = build(&ops);
        let k = k.min(msgs.len());
        let cfg = BookFeatureConfig { mlofi_levels: 4, windows: vec![3, 10] };
        let want = run(&msgs, 4, &[3, 10]);
        let mut e = BookFeatureEngine::new(cfg);
        let mut got = Vec::new();
        for m in &msgs[..k] {
            got.extend(e.on_message(&m.view()).unwrap().cloned());
        }
        let mut e: BookFeatureEngine = restore(&e);
        for m in &msgs[k..] {
            got.extend(e.on_message(&m.view()).unwrap().cloned());
        }
        prop_assert_eq!(got, want);

        let mut a = L2Book::new();
        let mut b = L2Book::new();
        let mut outs = (Vec::new(), Vec::new());
        for m in &msgs[..k] {
            outs.0.push(a.apply(&m.view()).unwrap());
            outs.1.push(b.apply(&m.view()).unwrap());
        }
        let mut b: L2Book = restore(&b);
        for m in &msgs[k..] {
            outs.0.push(a.apply(&m.view()).unwrap());
            outs.1.push(b.apply(&m.view()).unwrap());
        }
        prop_assert_eq!(outs.0, outs.1);
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        for s in [BookSide::Bid, BookSide::Ask] {
            a.top_n(s, usize::MAX, &mut la);
            b.top_n(s, usize::MAX, &mut lb);
            prop_assert_eq!(&la, &lb);
        }
        prop_assert_eq!(a.is_ready(), b.is_ready());
    }

    /// Ticker features against a naive oracle (case-form OFI with sentinels for missing sides,
    /// brute-force windows over the running-max time), and restore equivalence.
    #[test]
    fn ticker_matches_oracle_and_restores(qs in ticker_quotes(), k in 0usize..80) {
        let rows = quote_rows(&qs);
        let widths = [2i64, 5];
        let mut e = TickerFeatureEngine::new(widths.to_vec());
        let mut prev: Option<((f64, i64), (f64, i64))> = None;
        let mut flows: Vec<(i64, i128)> = Vec::new();
        let mut eff = i64::MIN;
        let mut got: Vec<TickerFeatureRow> = Vec::new();
        for q in &rows {
            let r = e.on_quote(q);
            eff = eff.max(q.ts_event);
            let b = q.bid_price.zip(q.bid_size).map_or((f64::NEG_INFINITY, 0), |(p, s)| (p, Qty::from_f64(s).unwrap().0));
            let a = q.ask_price.zip(q.ask_size).map_or((f64::INFINITY, 0), |(p, s)| (p, Qty::from_f64(s).unwrap().0));
            let ofi = prev.map(|(pb, pa)| e_case(pb, b, pa, a));
            prev = Some((b, a));
            flows.push((eff, ofi.unwrap_or(0)));
            prop_assert_eq!(r.ofi_l1, ofi.map(units_to_f64));
            for (w, got) in widths.iter().zip(&r.ofi_l1_windows) {
                let s: i128 = flows.iter().filter(|f| f.0 > eff - w && f.0 <= eff).map(|f| f.1).sum();
                prop_assert_eq!(*got, Some(units_to_f64(s)));
            }
            let both = q.bid_price.is_some() && q.ask_price.is_some();
            prop_assert_eq!(r.crossed, both && q.bid_price >= q.ask_price);
            match (q.bid_price.zip(q.bid_size), q.ask_price.zip(q.ask_size)) {
                (Some((bp, bq)), Some((ap, aq))) => {
                    prop_assert_eq!(r.mid, Some((bp + ap) / 2.0));
                    prop_assert_eq!(r.spread, Some(ap - bp));
                    if bq + aq > 0.0 {
                        prop_assert!(close(r.imbalance_1, Some((bq - aq) / (bq + aq))));
                        prop_assert!(close(r.wmid, Some((bp * aq + ap * bq) / (bq + aq))));
                    } else {
                        prop_assert!(r.imbalance_1.is_none() && r.wmid.is_none());
                    }
                }
                _ => prop_assert!(r.mid.is_none() && r.spread.is_none() && r.wmid.is_none() && r.imbalance_1.is_none()),
            }
            got.push(r);
        }
        let k = k.min(rows.len());
        let mut e2 = TickerFeatureEngine::new(widths.to_vec());
        let mut again: Vec<TickerFeatureRow> = rows[..k].iter().map(|q| e2.on_quote(q)).collect();
        let mut e2: TickerFeatureEngine = restore(&e2);
        again.extend(rows[k..].iter().map(|q| e2.on_quote(q)));
        prop_assert_eq!(again, got);
    }
}

/// The generator really produces every path the oracle test relies on (one fixed seed).
#[test]
fn generated_streams_cover_gaps_resets_and_crossings() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut gaps, mut crossings, mut resets, mut ignored, mut null_ofi_resets) = (0, 0, 0, 0, 0);
    for _ in 0..200 {
        let ops = raw_ops().new_tree(&mut runner).unwrap().current();
        let msgs = build(&ops);
        let mut e = BookFeatureEngine::new(BookFeatureConfig::default());
        for m in &msgs {
            match e.on_message(&m.view()).unwrap() {
                None => ignored += 1,
                Some(r) => {
                    gaps += usize::from(r.gap);
                    crossings += usize::from(r.uncrossed);
                    resets += usize::from(r.reset && !r.gap);
                    null_ofi_resets += usize::from(r.reset && r.ofi.is_none());
                }
            }
        }
    }
    assert!(gaps > 20 && crossings > 100 && resets > 50 && ignored > 50);
    assert_eq!(null_ofi_resets, gaps + resets);
}
