//! Generic rolling windows and online estimators, reused by every feature (FEATURES §8).
//!
//! - [`TimeWindowSum`] / [`MultiWindowSum`]: exact sums over trailing time windows.
//! - [`CountWindowSum`]: exact sum over the last N samples.
//! - [`Welford`] (mean/variance with removal, explicit `ddof`) and [`RollingVariance`] (Welford
//!   over the last N samples).
//! - [`Ewma`]: `alpha = 2/(span+1)` in both pandas forms (`adjust=True` normalised weights,
//!   `adjust=False` seeded recursion).
//! - [`DecayedEwma`]: irregular-time EWMA and decayed sum, `w = exp(−Δt/τ)`, `τ = h/ln 2`.
//!
//! Every estimator is `serde` serializable: restore-then-continue equals never stopping.
//!
//! Time windows follow pandas' time-based `rolling('W')` with `closed='right'`: at query time
//! `t` a window holds the samples with `ts ∈ (t − W, t]`; samples with equal timestamps enter and
//! leave together. Sums of integer types ([`Summable`] for `i64`, `i128`, tuples) are exact, so
//! add/evict never drifts.

use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A value that can be added to and removed from a running window sum.
pub trait Summable: Copy + Default {
    /// `self += other`.
    fn add(&mut self, other: Self);
    /// `self -= other`.
    fn sub(&mut self, other: Self);
}

macro_rules! summable_int {
    ($($t:ty),*) => {$(
        impl Summable for $t {
            #[inline]
            fn add(&mut self, o: Self) { *self += o; }
            #[inline]
            fn sub(&mut self, o: Self) { *self -= o; }
        }
    )*};
}
summable_int!(i64, i128);

impl<A: Summable, B: Summable> Summable for (A, B) {
    #[inline]
    fn add(&mut self, o: Self) {
        self.0.add(o.0);
        self.1.add(o.1);
    }
    #[inline]
    fn sub(&mut self, o: Self) {
        self.0.sub(o.0);
        self.1.sub(o.1);
    }
}

/// A trailing event-time window sum over `(t − W, t]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimeWindowSum<V> {
    width: Nanos,
    samples: VecDeque<(Nanos, V)>,
    sum: V,
}

impl<V: Summable> TimeWindowSum<V> {
    /// An empty window of width `width` nanoseconds (> 0).
    pub fn new(width: Nanos) -> Self {
        assert!(width > 0, "window width must be positive");
        TimeWindowSum {
            width,
            samples: VecDeque::new(),
            sum: V::default(),
        }
    }

    /// The window width.
    pub fn width(&self) -> Nanos {
        self.width
    }

    /// Adds a sample at `ts` (non-decreasing across calls) and evicts what left the window.
    #[inline]
    pub fn push(&mut self, ts: Nanos, v: V) {
        self.samples.push_back((ts, v));
        self.sum.add(v);
        self.evict(ts);
    }

    /// Evicts samples with `ts <= t − W`, so [`TimeWindowSum::sum`] is the sum over `(t − W, t]`.
    #[inline]
    pub fn evict(&mut self, t: Nanos) {
        let cutoff = t.saturating_sub(self.width);
        while let Some(&(ts, v)) = self.samples.front() {
            if ts > cutoff {
                break;
            }
            self.sum.sub(v);
            self.samples.pop_front();
        }
    }

    /// The current sum (call [`TimeWindowSum::evict`] with the query time first).
    #[inline]
    pub fn sum(&self) -> V {
        self.sum
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Drops every sample.
    pub fn clear(&mut self) {
        self.samples.clear();
        self.sum = V::default();
    }
}

/// Several trailing windows `(t − W_k, t]` over one sample stream, sharing one queue: each
/// window keeps a cursor into the queue and its own exact sum, so adding a sample costs one push
/// however many windows there are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MultiWindowSum<V> {
    widths: Vec<Nanos>,
    samples: VecDeque<(Nanos, V)>,
    /// Per window: index (into `samples`) of its first sample, and its sum.
    starts: Vec<usize>,
    sums: Vec<V>,
}

impl<V: Summable> MultiWindowSum<V> {
    /// Windows of these widths (each > 0).
    pub fn new(widths: &[Nanos]) -> Self {
        assert!(
            widths.iter().all(|&w| w > 0),
            "window widths must be positive"
        );
        MultiWindowSum {
            widths: widths.to_vec(),
            samples: VecDeque::new(),
            starts: vec![0; widths.len()],
            sums: vec![V::default(); widths.len()],
        }
    }

    /// Adds a sample at `ts` (non-decreasing) and evicts, per window, what left it.
    #[inline]
    pub fn push(&mut self, ts: Nanos, v: V) {
        self.samples.push_back((ts, v));
        for k in 0..self.widths.len() {
            self.sums[k].add(v);
            let cutoff = ts.saturating_sub(self.widths[k]);
            while let Some(&(t, x)) = self.samples.get(self.starts[k]) {
                if t > cutoff {
                    break;
                }
                self.sums[k].sub(x);
                self.starts[k] += 1;
            }
        }
        // Drop samples no window holds any more.
        let drop = self.starts.iter().copied().min().unwrap_or(0);
        if drop > 0 {
            self.samples.drain(..drop);
            self.starts.iter_mut().for_each(|s| *s -= drop);
        }
    }

    /// Sum of window `k`.
    #[inline]
    pub fn sum(&self, k: usize) -> V {
        self.sums[k]
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.widths.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.widths.is_empty()
    }
}

/// A count window over the last `n` samples, with an exact running sum for integer values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CountWindowSum<V> {
    n: usize,
    samples: VecDeque<V>,
    sum: V,
}

impl<V: Summable> CountWindowSum<V> {
    /// A window of the last `n` (> 0) samples.
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "count window must hold at least one sample");
        CountWindowSum {
            n,
            samples: VecDeque::with_capacity(n + 1),
            sum: V::default(),
        }
    }

    /// Adds a sample, evicting the oldest beyond `n`.
    pub fn push(&mut self, v: V) {
        self.samples.push_back(v);
        self.sum.add(v);
        if self.samples.len() > self.n {
            let old = self.samples.pop_front().expect("len > n");
            self.sum.sub(old);
        }
    }

    /// Sum over the window.
    pub fn sum(&self) -> V {
        self.sum
    }

    /// True once the window holds `n` samples (pandas `min_periods = n`).
    pub fn is_full(&self) -> bool {
        self.samples.len() == self.n
    }

    /// Number of samples held (at most `n`).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Welford online mean and variance with removal (FEATURES §8), explicit `ddof`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// Adds `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Removes a previously added `x`.
    #[inline]
    pub fn remove(&mut self, x: f64) {
        if self.n <= 1 {
            *self = Welford::default();
            return;
        }
        self.n -= 1;
        let d = x - self.mean;
        self.mean -= d / self.n as f64;
        // Clamp: removal can leave tiny negative round-off.
        self.m2 = (self.m2 - d * (x - self.mean)).max(0.0);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean (None when empty).
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// Variance with `ddof` delta degrees of freedom (None when `n <= ddof`).
    pub fn variance(&self, ddof: u64) -> Option<f64> {
        (self.n > ddof).then(|| self.m2 / (self.n - ddof) as f64)
    }
}

/// A rolling (count window) mean/variance: Welford over the last `n` samples, with removal.
///
/// Removal cancels catastrophically when the evicted values are large relative to the window's
/// spread, so the estimator is recomputed exactly (two-pass over the ring buffer, fixed order,
/// hence deterministic) every [`RollingVariance::RECOMPUTE_EVERY`] removals: drift is bounded by
/// that many removals' rounding, at an amortised cost of O(n / 64) per sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollingVariance {
    n: usize,
    samples: VecDeque<f64>,
    w: Welford,
    /// Removals since the last exact recompute.
    removals: u32,
}

impl RollingVariance {
    /// Removals between exact recomputes.
    pub const RECOMPUTE_EVERY: u32 = 64;

    /// Over the last `n` samples (`n` is clamped to at least 1).
    pub fn new(n: usize) -> Self {
        RollingVariance {
            n: n.max(1),
            samples: VecDeque::with_capacity(n.max(1) + 1),
            w: Welford::default(),
            removals: 0,
        }
    }

    /// Adds `x`; returns the variance (`ddof`) once the window is full (pandas `min_periods = n`).
    pub fn push(&mut self, x: f64, ddof: u64) -> Option<f64> {
        self.samples.push_back(x);
        self.w.add(x);
        if self.samples.len() > self.n {
            let old = self.samples.pop_front().expect("len > n");
            self.w.remove(old);
            self.removals += 1;
            if self.removals >= Self::RECOMPUTE_EVERY {
                self.recompute();
            }
        }
        if self.samples.len() == self.n {
            self.w.variance(ddof)
        } else {
            None
        }
    }

    /// Exact two-pass mean and M2 over the buffer.
    fn recompute(&mut self) {
        let k = self.samples.len();
        let mean = self.samples.iter().sum::<f64>() / k as f64;
        let m2 = self.samples.iter().map(|v| (v - mean) * (v - mean)).sum();
        self.w = Welford {
            n: k as u64,
            mean,
            m2,
        };
        self.removals = 0;
    }

    /// Mean of the samples held (None when empty; not gated by `min_periods`).
    pub fn mean(&self) -> Option<f64> {
        self.w.mean()
    }

    /// Variance of the samples held with `ddof` (None when `len <= ddof`; not gated by
    /// `min_periods`).
    pub fn variance(&self, ddof: u64) -> Option<f64> {
        self.w.variance(ddof)
    }

    /// Number of samples held (at most `n`).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Exponentially weighted mean with `alpha = 2 / (span + 1)` in both pandas forms.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Ewma {
    alpha: f64,
    adjust: bool,
    /// adjust: Σ w·x and Σ w; recursive: the value (in `num`).
    num: f64,
    den: f64,
    seeded: bool,
}

impl Ewma {
    /// `adjust = true`: normalised weights `Σ(1−α)^i x_{t−i} / Σ(1−α)^i` (pandas default,
    /// mlfinlab `ewma`); `false`: seeded recursion `y = α x + (1−α) y` (pandas `adjust=False`,
    /// nautilus).
    pub fn with_span(span: f64, adjust: bool) -> Self {
        Ewma {
            alpha: 2.0 / (span + 1.0),
            adjust,
            num: 0.0,
            den: 0.0,
            seeded: false,
        }
    }

    /// With half-life `h` samples: `α = 1 − exp(−ln 2 / h)`.
    pub fn with_half_life(h: f64, adjust: bool) -> Self {
        Ewma {
            alpha: 1.0 - (-std::f64::consts::LN_2 / h).exp(),
            adjust,
            num: 0.0,
            den: 0.0,
            seeded: false,
        }
    }

    /// Adds `x` and returns the new value.
    #[inline]
    pub fn push(&mut self, x: f64) -> f64 {
        if self.adjust {
            self.num = x + (1.0 - self.alpha) * self.num;
            self.den = 1.0 + (1.0 - self.alpha) * self.den;
        } else if self.seeded {
            self.num = self.alpha * x + (1.0 - self.alpha) * self.num;
        } else {
            self.num = x;
            self.seeded = true;
        }
        self.value().unwrap_or(x)
    }

    /// The smoothing factor `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Current value (None before the first sample).
    pub fn value(&self) -> Option<f64> {
        if self.adjust {
            (self.den > 0.0).then(|| self.num / self.den)
        } else {
            self.seeded.then_some(self.num)
        }
    }
}

/// Irregular-time EWMA (FEATURES §8): `w = exp(−Δt/τ)`, `y = w·y + (1 − w)·x`; and the decayed
/// sum `S = w·S + x`. `τ = h / ln 2` for half-life `h` ns.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct DecayedEwma {
    tau: f64,
    last: Option<(Nanos, f64, f64)>,
}

impl DecayedEwma {
    /// With half-life `half_life` ns.
    pub fn with_half_life(half_life: Nanos) -> Self {
        DecayedEwma {
            tau: half_life as f64 / std::f64::consts::LN_2,
            last: None,
        }
    }

    /// Adds `x` at `ts` (non-decreasing); returns (mean, decayed sum).
    pub fn push(&mut self, ts: Nanos, x: f64) -> (f64, f64) {
        let (y, s) = match self.last {
            None => (x, x),
            Some((t0, y, s)) => {
                let w = (-((ts - t0) as f64) / self.tau).exp();
                (w * y + (1.0 - w) * x, w * s + x)
            }
        };
        self.last = Some((ts, y, s));
        (y, s)
    }

    /// The current mean (None before the first sample). The mean does not decay without new
    /// samples: it is a weighted average, not an intensity.
    pub fn mean(&self) -> Option<f64> {
        self.last.map(|(_, y, _)| y)
    }

    /// The decayed sum at query time `ts` without adding a sample.
    pub fn decayed_sum_at(&self, ts: Nanos) -> Option<f64> {
        self.last
            .map(|(t0, _, s)| s * (-((ts - t0) as f64) / self.tau).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_window_is_right_closed() {
        let mut w = TimeWindowSum::<i64>::new(10);
        w.push(0, 1);
        w.push(5, 2);
        w.push(10, 4); // 0 leaves: (0, 10]
        assert_eq!(w.sum(), 6);
        w.push(10, 8);
        assert_eq!(w.sum(), 14);
        w.evict(20); // (10, 20]: everything at 10 leaves together
        assert_eq!(w.sum(), 0);
        assert!(w.is_empty());
    }

    /// FEATURES A.4: EWMA span 4 of [1, 2, 3, 4] in both forms.
    #[test]
    fn a4_ewma_both_forms() {
        let mut a = Ewma::with_span(4.0, true);
        let mut r = Ewma::with_span(4.0, false);
        let got_a: Vec<f64> = [1.0, 2.0, 3.0, 4.0].iter().map(|&x| a.push(x)).collect();
        let got_r: Vec<f64> = [1.0, 2.0, 3.0, 4.0].iter().map(|&x| r.push(x)).collect();
        for (g, w) in got_a.iter().zip([1.0, 1.625, 2.3265306122, 3.0955882353]) {
            assert!((g - w).abs() < 1e-10, "{g} vs {w}");
        }
        for (g, w) in got_r.iter().zip([1.0, 1.4, 2.04, 2.824]) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
    }

    /// FEATURES A.4: Welford on [2,4,4,4,5,5,7,9] and rolling(3) variance with removal.
    #[test]
    fn a4_welford_and_rolling_variance() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut w = Welford::default();
        xs.iter().for_each(|&x| w.add(x));
        assert_eq!(w.mean(), Some(5.0));
        assert!((w.variance(1).unwrap() - 4.571428571).abs() < 1e-9);
        assert!((w.variance(0).unwrap() - 4.0).abs() < 1e-12);
        let mut r = RollingVariance::new(3);
        let got: Vec<Option<f64>> = xs.iter().map(|&x| r.push(x, 1)).collect();
        // [NaN, NaN, 1.3333, 0, 0.3333, 0.3333, 1.3333, 4.0] (pandas NaN = warm-up None).
        let want = [
            None,
            None,
            Some(4.0 / 3.0),
            Some(0.0),
            Some(1.0 / 3.0),
            Some(1.0 / 3.0),
            Some(4.0 / 3.0),
            Some(4.0),
        ];
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{g} vs {w}"),
                (g, w) => assert_eq!(*g, w),
            }
        }
        for (g, w) in got[2..]
            .iter()
            .zip([1.3333, 0.0, 0.3333, 0.3333, 1.3333, 4.0])
        {
            assert!((g.unwrap() - w).abs() < 1e-4, "print precision");
        }
    }

    #[test]
    fn decayed_ewma_halves_over_a_half_life() {
        let mut d = DecayedEwma::with_half_life(10);
        d.push(0, 4.0);
        assert!((d.decayed_sum_at(10).unwrap() - 2.0).abs() < 1e-12);
        let (y, s) = d.push(10, 0.0);
        assert!((y - 2.0).abs() < 1e-12 && (s - 2.0).abs() < 1e-12);
        let mut c = CountWindowSum::<i64>::new(2);
        for x in [1, 2, 3] {
            c.push(x);
        }
        assert!(c.is_full());
        assert_eq!(c.sum(), 5);
    }

    #[test]
    fn multi_window_equals_single_windows() {
        let mut m = MultiWindowSum::<i64>::new(&[3, 10]);
        let mut a = TimeWindowSum::<i64>::new(3);
        let mut b = TimeWindowSum::<i64>::new(10);
        for (t, v) in [
            (0, 1),
            (1, 2),
            (1, 4),
            (3, 8),
            (4, 16),
            (13, 32),
            (13, 64),
            (30, 128),
        ] {
            m.push(t, v);
            a.push(t, v);
            b.push(t, v);
            assert_eq!((m.sum(0), m.sum(1)), (a.sum(), b.sum()), "t={t}");
        }
    }

    use proptest::prelude::*;

    /// Random `(ts, v)` streams with many equal timestamps and small steps, so evictions land
    /// exactly on window boundaries.
    fn ts_stream() -> impl Strategy<Value = Vec<(Nanos, i64)>> {
        prop::collection::vec((0i64..4, -1000i64..1000), 1..120).prop_map(|steps| {
            let mut t = 0;
            steps
                .into_iter()
                .map(|(dt, v)| {
                    t += dt;
                    (t, v)
                })
                .collect()
        })
    }

    fn brute_window(xs: &[(Nanos, i64)], t: Nanos, w: Nanos) -> i64 {
        xs.iter()
            .filter(|(ts, _)| *ts > t - w && *ts <= t)
            .map(|p| p.1)
            .sum()
    }

    fn two_pass(xs: &[f64], ddof: usize) -> f64 {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (xs.len() - ddof) as f64
    }

    fn restore<T: Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
        bincode::deserialize(&bincode::serialize(x).unwrap()).unwrap()
    }

    proptest! {
        /// Streaming time windows (single and shared-queue) equal a brute-force recompute over
        /// `(t − W, t]` after every push, and after evicting at a later query time.
        #[test]
        fn time_windows_match_brute_force(xs in ts_stream(), w1 in 1i64..6, w2 in 1i64..12) {
            let mut a = TimeWindowSum::<i64>::new(w1);
            let mut m = MultiWindowSum::<i64>::new(&[w1, w2]);
            for (i, &(t, v)) in xs.iter().enumerate() {
                a.push(t, v);
                m.push(t, v);
                let seen = &xs[..=i];
                prop_assert_eq!(a.sum(), brute_window(seen, t, w1));
                prop_assert_eq!(m.sum(0), brute_window(seen, t, w1));
                prop_assert_eq!(m.sum(1), brute_window(seen, t, w2));
            }
            let end = xs.last().unwrap().0;
            for q in [end, end + w1 - 1, end + w1] {
                a.evict(q);
                prop_assert_eq!(a.sum(), brute_window(&xs, q, w1));
            }
            prop_assert!(a.is_empty());
        }

        /// The count window sum equals the sum of the last `n` samples.
        #[test]
        fn count_window_matches_brute_force(xs in prop::collection::vec(-1000i64..1000, 1..100), n in 1usize..10) {
            let mut c = CountWindowSum::<i64>::new(n);
            for i in 0..xs.len() {
                c.push(xs[i]);
                let lo = (i + 1).saturating_sub(n);
                prop_assert_eq!(c.sum(), xs[lo..=i].iter().sum::<i64>());
                prop_assert_eq!(c.is_full(), i + 1 >= n);
                prop_assert_eq!(c.len(), i + 1 - lo);
            }
        }

        /// Welford (add only) matches the two-pass mean and variance to 1e-12 relative, both
        /// ddof; a constant stream has variance exactly 0.
        #[test]
        fn welford_matches_two_pass(xs in prop::collection::vec(-1e3f64..1e3, 2..300), c in -1e6f64..1e6) {
            let mut w = Welford::default();
            xs.iter().for_each(|&x| w.add(x));
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            prop_assert!((w.mean().unwrap() - mean).abs() <= 1e-12 * (1.0 + mean.abs()));
            for ddof in [0u64, 1] {
                let want = two_pass(&xs, ddof as usize);
                let got = w.variance(ddof).unwrap();
                prop_assert!((got - want).abs() <= 1e-12 * want.max(f64::MIN_POSITIVE) + 1e-15, "{} vs {}", got, want);
            }
            let mut k = Welford::default();
            (0..20).for_each(|_| k.add(c));
            prop_assert_eq!(k.mean(), Some(c));
            prop_assert_eq!(k.variance(1), Some(0.0));
        }

        /// Welford removal: adding then removing a tail leaves the statistics of the head.
        #[test]
        fn welford_removal_undoes_add(xs in prop::collection::vec(-1e3f64..1e3, 3..100), cut in 2usize..100) {
            let cut = cut.min(xs.len() - 1).max(2);
            let mut w = Welford::default();
            xs.iter().for_each(|&x| w.add(x));
            xs[cut..].iter().rev().for_each(|&x| w.remove(x));
            prop_assert_eq!(w.count(), cut as u64);
            let want = two_pass(&xs[..cut], 1);
            let scale = xs.iter().map(|v| v * v).fold(0.0, f64::max);
            prop_assert!((w.variance(1).unwrap() - want).abs() <= 1e-12 * want + 1e-13 * scale);
        }

        /// EWMA of a constant is that constant in both forms, for spans and half-lives; the
        /// time-decayed mean of a constant is the constant at any spacing.
        #[test]
        fn ewma_of_constant(c in -1e6f64..1e6, span in 1.0f64..200.0, dts in prop::collection::vec(0i64..1_000_000, 1..30)) {
            for adjust in [true, false] {
                for mut e in [Ewma::with_span(span, adjust), Ewma::with_half_life(span, adjust)] {
                    for _ in 0..50 {
                        prop_assert!((e.push(c) - c).abs() <= 1e-12 * (1.0 + c.abs()));
                    }
                }
            }
            let mut d = DecayedEwma::with_half_life(1000);
            let mut t = 0;
            for dt in dts {
                t += dt;
                let (y, _) = d.push(t, c);
                prop_assert!((y - c).abs() <= 1e-9 * (1.0 + c.abs()));
            }
        }

        /// The time-decayed sum equals the brute-force `Σ x_i · exp(−(t − t_i)/τ)`.
        #[test]
        fn decayed_sum_matches_brute_force(xs in prop::collection::vec((0i64..50, -10.0f64..10.0), 1..40), h in 1i64..100) {
            let mut d = DecayedEwma::with_half_life(h);
            let tau = h as f64 / std::f64::consts::LN_2;
            let mut t = 0;
            let mut seen = Vec::new();
            for (dt, x) in xs {
                t += dt;
                seen.push((t, x));
                let (_, s) = d.push(t, x);
                let want: f64 = seen.iter().map(|&(ti, xi)| xi * (-((t - ti) as f64) / tau).exp()).sum();
                prop_assert!((s - want).abs() <= 1e-9 * (1.0 + want.abs()), "{} vs {}", s, want);
            }
            let q = t + h;
            let want: f64 = seen.iter().map(|&(ti, xi)| xi * (-((q - ti) as f64) / tau).exp()).sum();
            prop_assert!((d.decayed_sum_at(q).unwrap() - want).abs() <= 1e-9 * (1.0 + want.abs()));
        }

        /// Serialize/restore equivalence of every estimator: fed 1..k, restored, fed k+1..n
        /// equals fed 1..n (bitwise for the floats: the same operations in the same order).
        #[test]
        fn restore_equivalence(xs in ts_stream(), k in 0usize..120, n in 2usize..8) {
            let k = k.min(xs.len());
            let mut a = (
                TimeWindowSum::<i64>::new(3),
                MultiWindowSum::<i64>::new(&[2, 5]),
                CountWindowSum::<i64>::new(n),
                Welford::default(),
                RollingVariance::new(n),
                Ewma::with_span(n as f64, true),
                Ewma::with_span(n as f64, false),
                DecayedEwma::with_half_life(4),
            );
            let mut b = a.clone();
            let feed = |s: &mut (TimeWindowSum<i64>, MultiWindowSum<i64>, CountWindowSum<i64>, Welford, RollingVariance, Ewma, Ewma, DecayedEwma), t: Nanos, v: i64| {
                let x = v as f64 * 0.37;
                s.0.push(t, v);
                s.1.push(t, v);
                s.2.push(v);
                s.3.add(x);
                let var = s.4.push(x, 1);
                (s.0.sum(), s.1.sum(1), s.2.sum(), s.3.variance(0), var, s.5.push(x), s.6.push(x), s.7.push(t, x))
            };
            let mut out_a = Vec::new();
            let mut out_b = Vec::new();
            for &(t, v) in &xs[..k] {
                out_a.push(feed(&mut a, t, v));
                out_b.push(feed(&mut b, t, v));
            }
            let mut b = restore(&b);
            for &(t, v) in &xs[k..] {
                out_a.push(feed(&mut a, t, v));
                out_b.push(feed(&mut b, t, v));
            }
            prop_assert_eq!(out_a, out_b);
        }
    }
}
