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
}
