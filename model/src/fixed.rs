//! Exact keys and fixed-point quantities.
//!
//! Why not floats everywhere: book levels must be found again by price, and threshold machinery
//! (VPIN buckets, volume bars) must close exactly at `V`, never at `V - 1e-17`. Why not decimals
//! everywhere: CONTRACT §9.9 fixes prices as correctly rounded doubles, and OHLC must equal the
//! parsed trade prices exactly, so prices stay `f64` and are *keyed* by their bit pattern.

use serde::{Deserialize, Serialize};

/// An exact, totally ordered key of a positive, finite `f64` price.
///
/// For positive finite doubles the IEEE-754 bit pattern, read as `u64`, orders exactly as the
/// value does, so `PriceKey` is an order-preserving bijection with no tick size to configure.
/// Equal decimal strings parse to identical doubles (`str::parse::<f64>` is correctly rounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PriceKey(pub u64);

impl PriceKey {
    /// The key of `price`; `None` unless `price` is finite and strictly positive.
    #[inline]
    pub fn new(price: f64) -> Option<Self> {
        if price.is_finite() && price > 0.0 {
            Some(PriceKey(price.to_bits()))
        } else {
            None
        }
    }

    /// The price this key stands for.
    #[inline]
    pub fn price(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// Number of [`Qty`] units per one unit of size (base asset or contract): 1e-9 resolution.
pub const QTY_SCALE: i64 = 1_000_000_000;

/// A size or volume as a signed integer count of 1e-9 units.
///
/// Venue sizes have at most 8 decimals (Binance) and at most ~1e9 units per trade, so the
/// conversion from a correctly rounded double is exact after rounding to the nearest unit and an
/// `i64` holds ±9.2e9 units; sums that can exceed that use `i128`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Qty(pub i64);

impl Qty {
    /// Zero.
    pub const ZERO: Qty = Qty(0);

    /// Converts a size to fixed point, rounding to the nearest 1e-9; `None` if not finite or out
    /// of range.
    ///
    /// Rounds half away from zero, exactly as `f64::round`, without its libm call (on baseline
    /// x86-64 `round` is a function call per value; this is on the per-trade path): `y as i64`
    /// truncates, and `y - trunc(y)` is exact for every double (for `|y| >= 2^52`, `y` is
    /// already an integer and the fraction is 0).
    #[inline]
    pub fn from_f64(size: f64) -> Option<Self> {
        let y = size * QTY_SCALE as f64;
        // Also rejects NaN and infinities. The bound is below 2^63, and any `y` within
        // 0.5 of it is an integer, so this equals testing the rounded value.
        if y.is_nan() || y.abs() >= 9.0e18 {
            return None;
        }
        let t = y as i64;
        let frac = y - t as f64;
        Some(Qty(t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)))
    }

    /// The value as a double (for output only).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / QTY_SCALE as f64
    }
}

/// Converts a sum of [`Qty`] raw units (`i128`) to a double for output.
#[inline]
pub fn units_to_f64(units: i128) -> f64 {
    i128_to_f64(units) / QTY_SCALE as f64
}

/// `x as f64`, in one instruction when `x` fits an `i64` (the same correctly rounded value).
///
/// `i128 -> f64` is a software routine (`__floattidf`). A plain `match i64::try_from(x)` with
/// `x as f64` in the other arm does not avoid it: LLVM sees both arms compute the same value and
/// calls the routine unconditionally (it was 4-14% of a run). The wide case is a separate cold,
/// never-inlined function, which keeps the call off the common path.
#[inline]
pub fn i128_to_f64(x: i128) -> f64 {
    #[cold]
    #[inline(never)]
    fn wide(x: i128) -> f64 {
        x as f64
    }
    match i64::try_from(x) {
        Ok(v) => v as f64,
        Err(_) => wide(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_key_orders_like_prices() {
        let ps = [
            "0.00001", "0.5", "1", "99.99", "100", "100.01", "61234.56", "1e9",
        ];
        let keys: Vec<_> = ps
            .iter()
            .map(|s| PriceKey::new(s.parse().unwrap()).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(keys[4].price(), 100.0);
        assert!(PriceKey::new(0.0).is_none());
        assert!(PriceKey::new(-1.0).is_none());
        assert!(PriceKey::new(f64::NAN).is_none());
    }

    #[test]
    fn qty_is_exact_for_venue_decimals() {
        for (s, raw) in [
            ("0.00012000", 120_000),
            ("8.76", 8_760_000_000),
            ("0.1", 100_000_000),
        ] {
            assert_eq!(Qty::from_f64(s.parse().unwrap()).unwrap().0, raw);
        }
        // 0.1 + 0.2 drifts in f64 but not in fixed point.
        let a = Qty::from_f64(0.1).unwrap().0 + Qty::from_f64(0.2).unwrap().0;
        assert_eq!(a, Qty::from_f64(0.3).unwrap().0);
    }

    /// The libm-free rounding equals `f64::round` (half away from zero), at the halves, near
    /// the range bound and on random bit patterns.
    #[test]
    fn from_f64_rounds_like_f64_round() {
        fn reference(size: f64) -> Option<Qty> {
            let scaled = (size * QTY_SCALE as f64).round();
            (scaled.is_finite() && scaled.abs() < 9.0e18).then_some(Qty(scaled as i64))
        }
        let mut xs: Vec<f64> = vec![
            0.0,
            -0.0,
            0.5e-9,
            -0.5e-9,
            1.5e-9,
            -1.5e-9,
            2.5e-9,
            0.49999999999e-9,
            1e-10,
            0.1,
            0.3,
            1.0,
            123.456789012,
            9.0e9,
            -9.0e9,
            8.999999999e9,
            9.2e9,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            4503599.6275,
        ];
        for k in 0..2000 {
            let h = k as f64 + 0.5;
            xs.push(h / QTY_SCALE as f64);
            xs.push(-h / QTY_SCALE as f64);
        }
        // Deterministic pseudo-random doubles of every magnitude (xorshift64).
        let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            xs.push(f64::from_bits(r));
            xs.push((r >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((r % 12) as i32));
        }
        for x in xs {
            assert_eq!(Qty::from_f64(x), reference(x), "{x:e}");
        }
    }
}
