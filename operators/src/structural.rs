//! Structural book features (FEATURES §2): mid, spread, relative spread, weighted mid, L1 and
//! depth imbalance. Undefined values (an empty side, a zero denominator) are `None`, never 0 or
//! NaN.

/// L1 structure of a best bid/ask pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct L1Features {
    /// (bid + ask) / 2.
    pub mid: Option<f64>,
    /// ask − bid.
    pub spread: Option<f64>,
    /// 1e4 · spread / mid.
    pub rel_spread_bps: Option<f64>,
    /// (bid·Qa + ask·Qb) / (Qb + Qa): prices and sizes cross-multiplied.
    pub wmid: Option<f64>,
    /// (Qb − Qa) / (Qb + Qa).
    pub imbalance_1: Option<f64>,
}

/// L1 features from best bid `(price, size)` and best ask.
#[inline]
pub fn l1_features(bid: Option<(f64, f64)>, ask: Option<(f64, f64)>) -> L1Features {
    let (Some((bp, bq)), Some((ap, aq))) = (bid, ask) else {
        return L1Features::default();
    };
    let mid = (bp + ap) / 2.0;
    let spread = ap - bp;
    let depth = bq + aq;
    L1Features {
        mid: Some(mid),
        spread: Some(spread),
        rel_spread_bps: (mid != 0.0).then(|| 1e4 * spread / mid),
        wmid: (depth > 0.0).then(|| (bp * aq + ap * bq) / depth),
        imbalance_1: (depth > 0.0).then(|| (bq - aq) / depth),
    }
}

/// Depth imbalance over the top `levels` of each side (`(price, size units)`, best first) (sums what exists); `None` when either
/// side is empty or both sums are zero.
#[inline]
pub fn depth_imbalance(bids: &[(f64, i64)], asks: &[(f64, i64)], levels: usize) -> Option<f64> {
    if bids.is_empty() || asks.is_empty() {
        return None;
    }
    // Exact i128 sums; the ratio through i64 when it fits (i128 -> f64 is a slow software call).
    let b: i128 = bids.iter().take(levels).map(|l| i128::from(l.1)).sum();
    let a: i128 = asks.iter().take(levels).map(|l| i128::from(l.1)).sum();
    if let (Ok(b), Ok(a)) = (i64::try_from(b), i64::try_from(a))
        && let Some(d) = b.checked_add(a)
    {
        return (d != 0).then(|| (b - a) as f64 / d as f64);
    }
    let d = b + a;
    (d != 0)
        .then(|| daedalus_model::fixed::i128_to_f64(b - a) / daedalus_model::fixed::i128_to_f64(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_a2_s0() {
        // FEATURES A.2 S0: bid 100.0×5, ask 100.5×4.
        let f = l1_features(Some((100.0, 5.0)), Some((100.5, 4.0)));
        assert_eq!(f.mid, Some(100.25));
        assert_eq!(f.spread, Some(0.5));
        assert!((f.wmid.unwrap() - 100.277778).abs() < 1e-6);
        assert!((f.imbalance_1.unwrap() - 0.111111).abs() < 1e-6);
        let bids = [(100.0, 5), (99.5, 3), (99.0, 2)];
        let asks = [(100.5, 4), (101.0, 6), (101.5, 1)];
        assert!((depth_imbalance(&bids, &asks, 3).unwrap() + 0.047619).abs() < 1e-6);
        assert_eq!(l1_features(None, Some((1.0, 1.0))), L1Features::default());
    }
}
