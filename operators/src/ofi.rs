//! OFI (Cont, Kukanov & Stoikov 2014) and rank-level MLOFI (Xu, Gould & Howison 2019),
//! FEATURES §3–4, in exact integer size units.
//!
//! ```text
//! e = 1{Pb >= Pb'}·Qb − 1{Pb <= Pb'}·Qb' − 1{Pa <= Pa'}·Qa + 1{Pa >= Pa'}·Qa'
//! ```
//! (primed: previous state). Missing levels use sentinels: an empty bid is (−∞, 0), an empty ask
//! (+∞, 0), so a side that empties contributes −Qb' (or +Qa') and the formula stays total.
//! Level m of MLOFI applies the same formula to the m-th best levels, so `mlofi_1 == ofi`.

/// One rank level: price (with ±∞ sentinels for a missing level) and size in `Qty` units.
pub type Level = (f64, i64);

/// The missing-bid sentinel.
pub const EMPTY_BID: Level = (f64::NEG_INFINITY, 0);
/// The missing-ask sentinel.
pub const EMPTY_ASK: Level = (f64::INFINITY, 0);

/// `e` between two states of one rank level, in `Qty` units.
#[inline]
pub fn ofi_e(prev_bid: Level, bid: Level, prev_ask: Level, ask: Level) -> i128 {
    let mut e: i128 = 0;
    if bid.0 >= prev_bid.0 {
        e += i128::from(bid.1);
    }
    if bid.0 <= prev_bid.0 {
        e -= i128::from(prev_bid.1);
    }
    if ask.0 <= prev_ask.0 {
        e -= i128::from(ask.1);
    }
    if ask.0 >= prev_ask.0 {
        e += i128::from(prev_ask.1);
    }
    e
}

/// MLOFI over levels `1..=out.len()` from previous and current top-of-book ladders (best
/// first; shorter ladders are padded with sentinels). `out[0]` is the OFI.
#[inline]
pub fn mlofi(
    prev_bids: &[Level],
    prev_asks: &[Level],
    bids: &[Level],
    asks: &[Level],
    out: &mut [i128],
) {
    for (m, o) in out.iter_mut().enumerate() {
        let pb = prev_bids.get(m).copied().unwrap_or(EMPTY_BID);
        let pa = prev_asks.get(m).copied().unwrap_or(EMPTY_ASK);
        let b = bids.get(m).copied().unwrap_or(EMPTY_BID);
        let a = asks.get(m).copied().unwrap_or(EMPTY_ASK);
        *o = ofi_e(pb, b, pa, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_level_cases() {
        // Bid add at the best: +q; ask cancel: +q; market buy eats q of the ask: +q.
        assert_eq!(ofi_e((100.0, 5), (100.0, 7), (101.0, 4), (101.0, 4)), 2);
        assert_eq!(ofi_e((100.0, 5), (100.0, 5), (101.0, 4), (101.0, 1)), 3);
        // New better bid of q: +q; the ask side emptying gives +Qa'.
        assert_eq!(ofi_e((100.0, 5), (100.5, 2), (101.0, 4), (101.0, 4)), 2);
        assert_eq!(ofi_e((100.0, 5), (100.0, 5), (101.0, 4), EMPTY_ASK), 4);
    }
}
