//! The common BTC fair value `F(t)` the BTC markets of `daedalus gen` follow, so `silver/cross`
//! has something to find (docs/DATA.md, "Planted cross-market structure").
//!
//! `F` is a geometric random walk on a one-second grid: `F(t) = F0 * exp(x(⌊t/1s⌋))`, `x`
//! starting at 0 with independent normal steps of standard deviation [`SIGMA_PER_SEC`]. It is a
//! function of the seed and the start only: every market walks its own copy forward (markets are
//! generated one after another), so all see the same path. Times before the start read `F0`.

use daedalus_model::time::{NANOS_PER_SEC, Nanos};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `F0`: the USDT spot template's initial mid (USD).
pub(super) const F0: f64 = 60_000.0;
/// Standard deviation of `ln F` per second (about 46 cents, 46 USDT ticks, per minute at `F0`).
pub(super) const SIGMA_PER_SEC: f64 = 1e-6;

/// One market's copy of the walk.
pub(super) struct Factor {
    rng: ChaCha8Rng,
    start: Nanos,
    /// Seconds since the start that `x` is at.
    sec: i64,
    x: f64,
}

impl Factor {
    /// The walk of `seed`, starting at `start`.
    pub(super) fn new(seed: u64, start: Nanos) -> Self {
        Factor {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xF00D_FAC7_0000_0001),
            start,
            sec: 0,
            x: 0.0,
        }
    }

    /// `F(t)`; `t` must not go back across calls (beyond the second it is in).
    pub(super) fn at(&mut self, t: Nanos) -> f64 {
        let s = (t - self.start).div_euclid(NANOS_PER_SEC);
        while self.sec < s {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            self.x += SIGMA_PER_SEC * z;
            self.sec += 1;
        }
        F0 * self.x.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_walks_the_same_path() {
        let (mut a, mut b) = (Factor::new(42, 0), Factor::new(42, 0));
        let xs: Vec<f64> = (0..100).map(|i| a.at(i * 7 * NANOS_PER_SEC)).collect();
        let ys: Vec<f64> = (0..100).map(|i| b.at(i * 7 * NANOS_PER_SEC)).collect();
        assert_eq!(xs, ys);
        assert_eq!(Factor::new(42, 0).at(-5), F0);
        assert_ne!(Factor::new(7, 0).at(1000 * NANOS_PER_SEC), xs[0]);
    }
}
