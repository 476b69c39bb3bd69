//! Kyle's lambda by rolling OLS with intercept (FEATURES §7, CONTRACT §9.7).
//!
//! The window is the last `W` grid steps ending with the current one; a step is an observation
//! `(x, y)` or empty. With fewer than `W/2` observations, or when `n·Σx² − (Σx)² == 0` exactly,
//! the estimate is null. `λ` is the OLS slope, `α` the intercept, `R² = 1 − SSR/SST` (null when
//! `SST = 0`). W is small (20 by default), so every estimate is recomputed from the window
//! buffer with centred sums: exact to rounding, no drift, and cheap (O(W) per step).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KyleEstimate {
    /// Slope.
    pub lambda: f64,
    /// Intercept.
    pub alpha: f64,
    /// Coefficient of determination (None when y has no variance).
    pub r2: Option<f64>,
}

/// Rolling Kyle regression.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollingKyle {
    window: usize,
    steps: VecDeque<Option<(f64, f64)>>,
}

/// OLS with intercept over observations; `None` by the rules above (minimum count excluded).
pub fn ols(obs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<KyleEstimate> {
    let n = obs.clone().count() as f64;
    if n == 0.0 {
        return None;
    }
    let (sx, sy, sxx) = obs.clone().fold((0.0, 0.0, 0.0), |(a, b, c), (x, y)| {
        (a + x, b + y, c + x * x)
    });
    if n * sxx - sx * sx == 0.0 {
        return None;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut cxx, mut cxy, mut cyy) = (0.0, 0.0, 0.0);
    for (x, y) in obs.clone() {
        cxx += (x - mx) * (x - mx);
        cxy += (x - mx) * (y - my);
        cyy += (y - my) * (y - my);
    }
    if cxx == 0.0 {
        return None;
    }
    let lambda = cxy / cxx;
    let alpha = my - lambda * mx;
    let ssr: f64 = obs.map(|(x, y)| (y - alpha - lambda * x).powi(2)).sum();
    let r2 = (cyy != 0.0).then(|| 1.0 - ssr / cyy);
    Some(KyleEstimate { lambda, alpha, r2 })
}

impl RollingKyle {
    /// A window of `window` steps.
    pub fn new(window: usize) -> Self {
        RollingKyle {
            window: window.max(1),
            steps: VecDeque::with_capacity(window + 1),
        }
    }

    /// Pushes the next grid step and returns the estimate over the last `window` steps.
    pub fn push(&mut self, obs: Option<(f64, f64)>) -> Option<KyleEstimate> {
        self.steps.push_back(obs);
        if self.steps.len() > self.window {
            self.steps.pop_front();
        }
        let n = self.steps.iter().flatten().count();
        if 2 * n < self.window {
            return None;
        }
        ols(self.steps.iter().flatten().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES A.3.
    #[test]
    fn fixture_a3() {
        let x = [1.0, -2.0, 3.0, 0.0, -1.0];
        let y = [0.02, -0.03, 0.07, 0.01, -0.01];
        let e = ols(x.iter().copied().zip(y.iter().copied())).unwrap();
        assert!((e.lambda - 0.019459459459).abs() < 1e-12);
        assert!((e.alpha - 0.008108108108).abs() < 1e-12);
        let mut k = RollingKyle::new(5);
        let mut last = None;
        for i in 0..5 {
            last = k.push(Some((x[i], y[i])));
        }
        assert_eq!(last.unwrap().lambda, e.lambda);
        // Fewer than W/2 observations: null.
        let mut k = RollingKyle::new(20);
        for i in 0..5 {
            assert!(k.push(Some((x[i], y[i]))).is_none());
        }
    }
}
