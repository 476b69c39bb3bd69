//! `silver/cross` window statistics (CONTRACT §11): one market against its group's reference
//! over the last `W` intervals of the `silver/intervals` grid.
//!
//! The dataflow keeps, per market pair, the interval points of the last `W + 1` grid intervals
//! before each row of a bucket, for both markets (the extra one gives the window's first `ret`),
//! and asks [`CrossRows::rows`] for the bucket's rows ([`cross_row`] is one of them); this module
//! is the whole computation, with no timely or differential type.
//!
//! **Exactness.** Correlations and moments are two-pass (mean first, then centred sums), and
//! "constant" is decided by exact equality of the values, never from a rounded sum (§11.5).

use daedalus_model::time::Nanos;

pub use daedalus_model::cross::{CrossPoint, CrossStats};

/// Pearson correlation of the pairs; null with fewer than 3 pairs or a constant series.
pub fn corr(pairs: &[(f64, f64)]) -> Option<f64> {
    let (sxx, syy, sxy) = centred_sums(pairs)?;
    if constant(pairs.iter().map(|p| p.0)) || constant(pairs.iter().map(|p| p.1)) {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// OLS slope of `y` on `x` (pairs `(y, x)`), with intercept: null with fewer than 3 pairs or a
/// constant `x`; 0 when only `y` is constant.
pub fn beta(pairs: &[(f64, f64)]) -> Option<f64> {
    let (_, syy, sxy) = centred_sums(pairs)?;
    if constant(pairs.iter().map(|p| p.1)) {
        return None;
    }
    if constant(pairs.iter().map(|p| p.0)) {
        return Some(0.0);
    }
    Some(sxy / syy)
}

/// Σ(a−ā)², Σ(b−b̄)², Σ(a−ā)(b−b̄) of the pairs `(a, b)`; `None` with fewer than 3 pairs.
fn centred_sums(pairs: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let ma = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mb = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let mut s = (0.0, 0.0, 0.0);
    for &(a, b) in pairs {
        let (da, db) = (a - ma, b - mb);
        s.0 += da * da;
        s.1 += db * db;
        s.2 += da * db;
    }
    Some(s)
}

/// All values exactly equal (decided on the values, not on a sum).
fn constant(mut it: impl Iterator<Item = f64>) -> bool {
    match it.next() {
        Some(first) => it.all(|v| v == first),
        None => true,
    }
}

/// `ln(mid / prev)` when both are positive.
fn log_return(mid: Option<f64>, prev: Option<f64>) -> Option<f64> {
    match (mid, prev) {
        (Some(m), Some(p)) if m > 0.0 && p > 0.0 => Some((m / p).ln()),
        _ => None,
    }
}

/// `(mid / ref_mid - 1) * 1e4` when both mids are present (and the reference's is not 0).
fn spread(mid: Option<f64>, ref_mid: Option<f64>) -> Option<f64> {
    match (mid, ref_mid) {
        (Some(m), Some(r)) if r != 0.0 => Some((m / r - 1.0) * 1e4),
        _ => None,
    }
}

/// The `silver/cross` row of the interval at `cur` (its `ts_open`) for a market against its
/// reference, from each one's points of the `W + 1` grid intervals ending with `cur` (points
/// outside are ignored); `None` when either has no point at `cur`.
pub fn cross_row(
    width: Nanos,
    w: usize,
    cur: Nanos,
    market: &[CrossPoint],
    reference: &[CrossPoint],
) -> Option<CrossStats> {
    let mut out = Vec::with_capacity(1);
    CrossRows::default().rows(width, w, &[cur], market, reference, &mut out);
    out.pop()
}

/// The per-slot series of a run of grid intervals, shared by every row whose window lies in it.
#[derive(Debug, Default)]
pub struct CrossRows {
    /// Each side's point per slot (market, reference).
    slots: [Vec<Option<CrossPoint>>; 2],
    /// Each side's `ret` per slot (slot 0 has none: its previous interval is outside).
    rets: [Vec<Option<f64>>; 2],
    /// The spread per slot.
    spreads: Vec<Option<f64>>,
    /// Scratch pairs for the correlations.
    pairs: Vec<(f64, f64)>,
}

impl CrossRows {
    /// Appends to `out` the row of each `cur` (ascending `ts_open`s on one grid), as
    /// [`cross_row`] gives it, from the points of both sides (any order; those outside every
    /// window are ignored). The returns and spreads of the intervals the windows share are
    /// computed once, and the buffers are reused: the cost per row is `O(W)` with no allocation.
    pub fn rows(
        &mut self,
        width: Nanos,
        w: usize,
        curs: &[Nanos],
        market: &[CrossPoint],
        reference: &[CrossPoint],
        out: &mut Vec<CrossStats>,
    ) {
        let (Some(&first), Some(&last)) = (curs.first(), curs.last()) else {
            return;
        };
        if curs.iter().any(|c| (c - first) % width != 0) {
            // Off the grid of the first: each row on its own slots (never for grid points).
            for &c in curs {
                self.rows(width, w, &[c], market, reference, out);
            }
            return;
        }
        let lo = first - w as i64 * width;
        let n = ((last - lo) / width) as usize + 1;
        self.fill(lo, n, width, [market, reference]);
        for &c in curs {
            if let Some(row) = self.row(w, ((c - lo) / width) as usize) {
                out.push(row);
            }
        }
    }

    /// Slots `lo + k·width` for `k < n`: points, returns and spreads.
    fn fill(&mut self, lo: Nanos, n: usize, width: Nanos, sides: [&[CrossPoint]; 2]) {
        for (slots, points) in self.slots.iter_mut().zip(sides) {
            slots.clear();
            slots.resize(n, None);
            for p in points {
                let d = p.ts_open - lo;
                if d >= 0 && d % width == 0 && ((d / width) as usize) < n {
                    slots[(d / width) as usize] = Some(*p);
                }
            }
        }
        for (rets, slots) in self.rets.iter_mut().zip(&self.slots) {
            rets.clear();
            rets.push(None);
            rets.extend(slots.windows(2).map(|s| match (s[0], s[1]) {
                (Some(prev), Some(cur)) => log_return(cur.mid, prev.mid),
                _ => None,
            }));
        }
        let [ms, rs] = &self.slots;
        self.spreads.clear();
        (self.spreads).extend(
            ms.iter()
                .zip(rs)
                .map(|(m, r)| spread(m.and_then(|p| p.mid), r.and_then(|p| p.mid))),
        );
    }

    /// The row whose current interval is slot `c` (its window: slots `c - W ..= c`).
    fn row(&mut self, w: usize, c: usize) -> Option<CrossStats> {
        let (m, r) = (self.slots[0][c]?, self.slots[1][c]?);
        // Returns of the window's slots `c - W + 1 ..= c` (the first needs slot `c - W`).
        let (ret, ref_ret) = (&self.rets[0][c + 1 - w..=c], &self.rets[1][c + 1 - w..=c]);
        let spreads = &self.spreads[c + 1 - w..=c];
        let pairs = &mut self.pairs;
        let n = both(pairs, ret, ref_ret);
        let (corr_, beta_) = (corr(pairs), beta(pairs));
        // After the window's first interval: ret_t with ref_ret_{t-1}, and the reverse.
        both(pairs, &ret[1..], &ref_ret[..w - 1]);
        let fwd = corr(pairs);
        both(pairs, &ref_ret[1..], &ret[..w - 1]);
        let lead_lag = fwd.zip(corr(pairs)).map(|(a, b)| a - b);
        let cur_spread = spreads[w - 1];
        let (mean, z) = spread_moments(spreads, cur_spread);
        Some(CrossStats {
            ts_open: m.ts_open,
            ts_close: m.ts_close,
            mid: m.mid,
            ref_mid: r.mid,
            spread_bps: cur_spread,
            ret: ret[w - 1],
            ref_ret: ref_ret[w - 1],
            ofi: m.ofi,
            ref_ofi: r.ofi,
            tfi: m.tfi,
            ref_tfi: r.tfi,
            signed_volume: m.signed_volume,
            ref_signed_volume: r.signed_volume,
            n: n as i64,
            corr: corr_,
            beta: beta_,
            lead_lag,
            spread_bps_mean: mean,
            spread_bps_z: z,
        })
    }
}

/// Fills `pairs` with the positions where both series have a value; returns their count.
fn both(pairs: &mut Vec<(f64, f64)>, a: &[Option<f64>], b: &[Option<f64>]) -> usize {
    pairs.clear();
    pairs.extend(a.iter().zip(b).filter_map(|(x, y)| Some(((*x)?, (*y)?))));
    pairs.len()
}

/// Mean of the non-null spreads, and the z-score of `current` (population standard deviation;
/// null when `current` is null, with fewer than 2 values or when all are equal).
fn spread_moments(spreads: &[Option<f64>], current: Option<f64>) -> (Option<f64>, Option<f64>) {
    let v = || spreads.iter().flatten().copied();
    let len = v().count();
    if len == 0 {
        return (None, None);
    }
    let mean = v().sum::<f64>() / len as f64;
    let z = match current {
        Some(c) if len >= 2 && !constant(v()) => {
            let var = v().map(|x| (x - mean) * (x - mean)).sum::<f64>() / len as f64;
            Some((c - mean) / var.sqrt())
        }
        _ => None,
    };
    (Some(mean), z)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Nanos = 1_000_000_000;

    fn pt(k: i64, mid: Option<f64>) -> CrossPoint {
        CrossPoint {
            ts_open: k * D,
            ts_close: (k + 1) * D,
            mid,
            ofi: k as f64,
            tfi: Some(0.5),
            signed_volume: -(k as f64),
        }
    }

    /// A deterministic pseudo-random walk with gaps (no row) and null mids.
    fn series(seed: u64, n: i64, gaps: bool) -> Vec<CrossPoint> {
        let mut s = seed;
        let mut mid = 100.0;
        let mut out = Vec::new();
        for k in 0..n {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            mid *= 1.0 + (u - 0.5) * 1e-3;
            if gaps && s.is_multiple_of(11) {
                continue;
            }
            let m = if gaps && s.is_multiple_of(13) {
                None
            } else {
                Some(mid)
            };
            out.push(pt(k, m));
        }
        out
    }

    /// The naive recomputation: everything by the grid index, straight from the definitions.
    fn naive(w: usize, cur: i64, a: &[CrossPoint], b: &[CrossPoint]) -> Option<CrossStats> {
        let at = |s: &[CrossPoint], k: i64| s.iter().find(|p| p.ts_open == k * D).copied();
        let (m, r) = (at(a, cur)?, at(b, cur)?);
        let ret = |s: &[CrossPoint], k: i64| {
            let (c, p) = (at(s, k)?.mid?, at(s, k - 1)?.mid?);
            (c > 0.0 && p > 0.0).then(|| (c / p).ln())
        };
        let ks: Vec<i64> = (cur + 1 - w as i64..=cur).collect();
        let pairs: Vec<(f64, f64)> = ks
            .iter()
            .filter_map(|&k| Some((ret(a, k)?, ret(b, k)?)))
            .collect();
        let lag = |x: &[CrossPoint], y: &[CrossPoint]| -> Vec<(f64, f64)> {
            ks[1..]
                .iter()
                .filter_map(|&k| Some((ret(x, k)?, ret(y, k - 1)?)))
                .collect()
        };
        let sp = |k: i64| Some((at(a, k)?.mid? / at(b, k)?.mid? - 1.0) * 1e4);
        let spreads: Vec<f64> = ks.iter().filter_map(|&k| sp(k)).collect();
        let mean =
            (!spreads.is_empty()).then(|| spreads.iter().sum::<f64>() / spreads.len() as f64);
        let z = sp(cur).and_then(|c| {
            let mu = mean?;
            let var = spreads.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / spreads.len() as f64;
            (spreads.len() >= 2 && spreads.iter().any(|&x| x != spreads[0]))
                .then(|| (c - mu) / var.sqrt())
        });
        Some(CrossStats {
            ts_open: m.ts_open,
            ts_close: m.ts_close,
            mid: m.mid,
            ref_mid: r.mid,
            spread_bps: sp(cur),
            ret: ret(a, cur),
            ref_ret: ret(b, cur),
            ofi: m.ofi,
            ref_ofi: r.ofi,
            tfi: m.tfi,
            ref_tfi: r.tfi,
            signed_volume: m.signed_volume,
            ref_signed_volume: r.signed_volume,
            n: pairs.len() as i64,
            corr: naive_corr(&pairs),
            beta: naive_beta(&pairs),
            lead_lag: naive_corr(&lag(a, b))
                .zip(naive_corr(&lag(b, a)))
                .map(|(x, y)| x - y),
            spread_bps_mean: mean,
            spread_bps_z: z,
        })
    }

    fn naive_corr(p: &[(f64, f64)]) -> Option<f64> {
        let n = p.len() as f64;
        if p.len() < 3 || p.iter().all(|x| x.0 == p[0].0) || p.iter().all(|x| x.1 == p[0].1) {
            return None;
        }
        let (sx, sy) = (
            p.iter().map(|x| x.0).sum::<f64>(),
            p.iter().map(|x| x.1).sum::<f64>(),
        );
        let (mx, my) = (sx / n, sy / n);
        let cov: f64 = p.iter().map(|x| (x.0 - mx) * (x.1 - my)).sum();
        let vx: f64 = p.iter().map(|x| (x.0 - mx).powi(2)).sum();
        let vy: f64 = p.iter().map(|x| (x.1 - my).powi(2)).sum();
        Some(cov / vx.sqrt() / vy.sqrt())
    }

    fn naive_beta(p: &[(f64, f64)]) -> Option<f64> {
        if p.len() < 3 || p.iter().all(|x| x.1 == p[0].1) {
            return None;
        }
        if p.iter().all(|x| x.0 == p[0].0) {
            return Some(0.0);
        }
        let n = p.len() as f64;
        let (mx, my) = (
            p.iter().map(|x| x.1).sum::<f64>() / n,
            p.iter().map(|x| x.0).sum::<f64>() / n,
        );
        let cov: f64 = p.iter().map(|x| (x.1 - mx) * (x.0 - my)).sum();
        let vx: f64 = p.iter().map(|x| (x.1 - mx).powi(2)).sum();
        Some(cov / vx)
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300),
            _ => false,
        }
    }

    fn same(a: &CrossStats, b: &CrossStats) -> bool {
        let f = |s: &CrossStats| {
            [
                s.mid,
                s.ref_mid,
                s.spread_bps,
                s.ret,
                s.ref_ret,
                s.tfi,
                s.ref_tfi,
                s.corr,
                s.beta,
                s.lead_lag,
                s.spread_bps_mean,
                s.spread_bps_z,
            ]
        };
        a.ts_open == b.ts_open
            && a.n == b.n
            && a.ofi == b.ofi
            && a.ref_signed_volume == b.ref_signed_volume
            && f(a).iter().zip(f(b)).all(|(x, y)| close(*x, y))
    }

    #[test]
    fn matches_the_naive_recomputation_with_gaps_and_nulls() {
        for (w, gaps) in [(5, true), (20, true), (60, false), (3, true)] {
            let (a, b) = (series(1, 300, gaps), series(2, 300, gaps));
            let mut rows = 0;
            for cur in 0..300 {
                let lo = (cur - w as i64) * D;
                let win = |s: &[CrossPoint]| -> Vec<CrossPoint> {
                    s.iter()
                        .filter(|p| p.ts_open >= lo && p.ts_open <= cur * D)
                        .copied()
                        .collect()
                };
                let got = cross_row(D, w, cur * D, &win(&a), &win(&b));
                let want = naive(w, cur, &a, &b);
                assert_eq!(got.is_some(), want.is_some(), "w {w} cur {cur}");
                if let (Some(g), Some(x)) = (got, want) {
                    assert!(same(&g, &x), "w {w} cur {cur}: {g:?} vs {x:?}");
                    rows += 1;
                }
            }
            assert!(rows > 150, "{rows}");
        }
    }

    /// Rows of a whole bucket at once (shared slots and returns) are bit-identical to rows
    /// computed one at a time, whatever the bucket length, gaps and nulls, and they match the
    /// naive recomputation.
    #[test]
    fn a_bucket_of_rows_equals_its_rows_one_at_a_time() {
        let mut rows = CrossRows::default();
        for (w, bucket, gaps) in [(60, 60, true), (5, 7, true), (3, 1, false), (20, 250, true)] {
            let (a, b) = (series(3, 600, gaps), series(4, 600, gaps));
            let mut compared = 0;
            for start in (w as i64..600).step_by(bucket) {
                let curs: Vec<Nanos> = (a.iter())
                    .map(|p| p.ts_open)
                    .filter(|&t| t >= start * D && t < (start + bucket as i64) * D)
                    .collect();
                let mut got = Vec::new();
                rows.rows(D, w, &curs, &a, &b, &mut got);
                let one: Vec<CrossStats> = (curs.iter())
                    .filter_map(|&c| cross_row(D, w, c, &a, &b))
                    .collect();
                assert_eq!(got, one, "w {w} bucket {bucket} from {start}");
                for r in &got {
                    let want = naive(w, r.ts_open / D, &a, &b).expect("a row");
                    assert!(same(r, &want), "w {w} at {}", r.ts_open);
                }
                compared += got.len();
            }
            assert!(compared > 300, "{compared}");
        }
    }

    #[test]
    fn constant_series_give_the_contract_nulls() {
        // ret constant (mid grows by the same factor), ref_ret varies: beta is 0, corr null.
        let a: Vec<CrossPoint> = (0..6).map(|k| pt(k, Some(2f64.powi(k as i32)))).collect();
        let b: Vec<CrossPoint> = (0..6)
            .map(|k| pt(k, Some(100.0 + (k * k) as f64)))
            .collect();
        let r = cross_row(D, 5, 5 * D, &a, &b).unwrap();
        assert_eq!(r.n, 5);
        assert_eq!(r.beta, Some(0.0));
        assert_eq!(r.corr, None);
        assert_eq!(r.lead_lag, None);
        // ref constant: beta null.
        let r = cross_row(D, 5, 5 * D, &b, &a).unwrap();
        assert_eq!(r.beta, None);
        // Equal mids: spreads all 0, z null, mean 0.
        let r = cross_row(D, 5, 5 * D, &a, &a).unwrap();
        assert_eq!(r.spread_bps_mean, Some(0.0));
        assert_eq!(r.spread_bps_z, None);
        // Fewer than 3 pairs.
        let r = cross_row(D, 2, 5 * D, &a, &b).unwrap();
        assert_eq!((r.n, r.corr, r.beta), (2, None, None));
    }

    #[test]
    fn no_row_without_both_points_and_ret_needs_the_previous_interval() {
        let a = vec![pt(3, Some(10.0)), pt(5, Some(11.0))];
        let b = vec![pt(4, Some(10.0)), pt(5, Some(10.0))];
        assert!(cross_row(D, 3, 4 * D, &a, &b).is_none());
        let r = cross_row(D, 3, 5 * D, &a, &b).unwrap();
        assert_eq!(r.ret, None);
        assert_eq!(r.ref_ret, Some(0.0));
        assert!(close(r.spread_bps, Some(1000.0)));
        let zero = vec![pt(4, Some(0.0)), pt(5, Some(11.0))];
        assert_eq!(cross_row(D, 3, 5 * D, &zero, &b).unwrap().ret, None);
    }
}
