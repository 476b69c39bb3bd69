//! The rows of `silver/cross` (CONTRACT §11): the interval point of one market that the cross
//! computation reads, and the values of one output row. They live in the model, beside the
//! encoder that writes them; the computation is `daedalus_operators::cross`.
//!
//! Both are keys of differential dataflow collections, which need `Ord`: floats compare by their
//! exact bit patterns (no NaN is ever produced; undefined values are `None`).

use crate::time::Nanos;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One market's `silver/intervals` values that `silver/cross` reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CrossPoint {
    /// Interval start.
    pub ts_open: Nanos,
    /// Interval end (exclusive).
    pub ts_close: Nanos,
    /// `mid_close`.
    pub mid: Option<f64>,
    /// `ofi`.
    pub ofi: f64,
    /// `tfi`.
    pub tfi: Option<f64>,
    /// `signed_volume`.
    pub signed_volume: f64,
}

impl CrossPoint {
    /// The fields as an exactly comparable tuple (floats by bit pattern).
    fn key(&self) -> (Nanos, Nanos, Option<u64>, u64, Option<u64>, u64) {
        (
            self.ts_open,
            self.ts_close,
            self.mid.map(f64::to_bits),
            self.ofi.to_bits(),
            self.tfi.map(f64::to_bits),
            self.signed_volume.to_bits(),
        )
    }
}

// Differential collections need `Ord`: points compare by their exact bits.
impl PartialEq for CrossPoint {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for CrossPoint {}
impl PartialOrd for CrossPoint {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for CrossPoint {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key().cmp(&o.key())
    }
}
impl std::hash::Hash for CrossPoint {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.key().hash(h);
    }
}

/// The values of one `silver/cross` row (market ids aside).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossStats {
    /// Interval start.
    pub ts_open: Nanos,
    /// Interval end.
    pub ts_close: Nanos,
    /// The market's `mid_close`.
    pub mid: Option<f64>,
    /// The reference's `mid_close`.
    pub ref_mid: Option<f64>,
    /// `(mid / ref_mid - 1) * 1e4`.
    pub spread_bps: Option<f64>,
    /// `ln(mid / previous interval's mid)`.
    pub ret: Option<f64>,
    /// The reference's `ret`.
    pub ref_ret: Option<f64>,
    /// Market `ofi`.
    pub ofi: f64,
    /// Reference `ofi`.
    pub ref_ofi: f64,
    /// Market `tfi`.
    pub tfi: Option<f64>,
    /// Reference `tfi`.
    pub ref_tfi: Option<f64>,
    /// Market `signed_volume`.
    pub signed_volume: f64,
    /// Reference `signed_volume`.
    pub ref_signed_volume: f64,
    /// Intervals of the window with both returns.
    pub n: i64,
    /// Pearson correlation of `ret` and `ref_ret`.
    pub corr: Option<f64>,
    /// OLS slope of `ret` on `ref_ret`.
    pub beta: Option<f64>,
    /// `corr(ret_t, ref_ret_{t-1}) - corr(ref_ret_t, ret_{t-1})`.
    pub lead_lag: Option<f64>,
    /// Mean of the window's spreads.
    pub spread_bps_mean: Option<f64>,
    /// Z-score of the current spread in the window.
    pub spread_bps_z: Option<f64>,
}

impl CrossStats {
    /// Every value as an exactly comparable array (floats by bit pattern, `None` as a tag). An
    /// array, not a vector: differential compares rows while it sorts and merges them, and an
    /// allocation per comparison was a visible share of the cross output's cost.
    fn key(&self) -> [u64; 19] {
        let o = |v: Option<f64>| v.map_or(u64::MAX, f64::to_bits);
        [
            self.ts_open as u64,
            self.ts_close as u64,
            o(self.mid),
            o(self.ref_mid),
            o(self.spread_bps),
            o(self.ret),
            o(self.ref_ret),
            self.ofi.to_bits(),
            self.ref_ofi.to_bits(),
            o(self.tfi),
            o(self.ref_tfi),
            self.signed_volume.to_bits(),
            self.ref_signed_volume.to_bits(),
            self.n as u64,
            o(self.corr),
            o(self.beta),
            o(self.lead_lag),
            o(self.spread_bps_mean),
            o(self.spread_bps_z),
        ]
    }
}

impl PartialEq for CrossStats {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for CrossStats {}
impl PartialOrd for CrossStats {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for CrossStats {
    fn cmp(&self, o: &Self) -> Ordering {
        // Rows of one pair differ in `ts_open`: the full key is built only for a tie.
        (self.ts_open.cmp(&o.ts_open)).then_with(|| self.key().cmp(&o.key()))
    }
}
