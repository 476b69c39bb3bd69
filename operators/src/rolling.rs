//! Generic rolling windows and online estimators, reused by every feature.
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

/// A rolling (count window) mean/variance: Welford over the last `n` samples.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollingVariance {
    n: usize,
    samples: VecDeque<f64>,
    w: Welford,
}

impl RollingVariance {
    /// Over the last `n` samples.
    pub fn new(n: usize) -> Self {
        RollingVariance {
            n: n.max(1),
            samples: VecDeque::with_capacity(n + 1),
            w: Welford::default(),
        }
    }

    /// Adds `x`; returns the variance (`ddof`) once the window is full (pandas `min_periods = n`).
    pub fn push(&mut self, x: f64, ddof: u64) -> Option<f64> {
        self.samples.push_back(x);
        self.w.add(x);
        if self.samples.len() > self.n {
            let old = self.samples.pop_front().expect("len > n");
            self.w.remove(old);
        }
        if self.samples.len() == self.n {
            self.w.variance(ddof)
        } else {
            None
        }
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
        let want = [
            None,
            None,
            Some(1.3333),
            Some(0.0),
            Some(0.3333),
            Some(0.3333),
            Some(1.3333),
            Some(4.0),
        ];
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-4, "{g} vs {w}"),
                (g, w) => assert_eq!(*g, w),
            }
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
}
