//! AFML imbalance and run bars with mlfinlab-compatible thresholds: tick-rule signs (first sign
//! 0); expected imbalance = adjust-form EWMA of the last `expected_imbalance_window` imbalances
//! over the global history, set at warm-up and after every bar; strict `>`; const or EMA
//! expected bar length. Each bar carries the thresholds it was closed with ([`AfmlAudit`]).

use super::row::{AfmlAudit, BarRow};
use super::shared::{Shared, Trade};
use super::spec::{AfmlMetric, AfmlParams};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// AFML threshold state (mlfinlab semantics); serialized in checkpoints as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Afml {
    pub(super) params: AfmlParams,
    pub(super) metric: AfmlMetric,
    /// Run bars (else imbalance bars).
    pub(super) run: bool,
    prev_price: Option<f64>,
    prev_sign: i8,
    /// Global imbalance history (bounded by the EWMA window).
    hist: VecDeque<f64>,
    hist_buy: VecDeque<f64>,
    hist_sell: VecDeque<f64>,
    ticks_seen: u64,
    exp_imbalance: Option<f64>,
    exp_buy: Option<f64>,
    exp_sell: Option<f64>,
    exp_buy_prop: Option<f64>,
    exp_num_ticks: f64,
    bar_lengths: VecDeque<f64>,
    buy_ticks_hist: VecDeque<f64>,
    theta: f64,
    theta_buy: f64,
    theta_sell: f64,
    bar_ticks: u64,
    bar_buy_ticks: u64,
}

/// mlfinlab `ewma` (pandas adjust=True) over `v` with window span `w`; returns the last value.
fn ewma_adjust_last(v: impl DoubleEndedIterator<Item = f64>, w: usize) -> f64 {
    // The shared adjust-form EWMA (crate::rolling), fed oldest first.
    let mut e = crate::rolling::Ewma::with_span(w as f64, true);
    let mut last = f64::NAN;
    for x in v {
        last = e.push(x);
    }
    last
}

impl Afml {
    pub(super) fn new(params: AfmlParams, metric: AfmlMetric, run: bool) -> Self {
        Afml {
            exp_num_ticks: params.exp_num_ticks_init as f64,
            params,
            metric,
            run,
            prev_price: None,
            prev_sign: 0,
            hist: VecDeque::new(),
            hist_buy: VecDeque::new(),
            hist_sell: VecDeque::new(),
            ticks_seen: 0,
            exp_imbalance: None,
            exp_buy: None,
            exp_sell: None,
            exp_buy_prop: None,
            bar_lengths: VecDeque::new(),
            buy_ticks_hist: VecDeque::new(),
            theta: 0.0,
            theta_buy: 0.0,
            theta_sell: 0.0,
            bar_ticks: 0,
            bar_buy_ticks: 0,
        }
    }

    fn push_hist(h: &mut VecDeque<f64>, x: f64, cap: usize) {
        h.push_back(x);
        if h.len() > cap {
            h.pop_front();
        }
    }

    /// A trade: adds it to the open bar and closes the bar when the threshold is crossed.
    #[inline]
    pub(super) fn on_trade(
        &mut self,
        s: &mut Shared,
        t: Trade,
        vpin_after: Option<f64>,
        out: &mut impl Extend<BarRow>,
    ) {
        s.trade_bar().add(t.ts, t.price, t.size.0, t.side, true);
        s.vpin = vpin_after;
        if let Some(audit) = self.on_tick(t.price, t.size.to_f64()) {
            s.close_trade_bar(t.ts, Some(audit), out);
        }
    }

    /// Feeds one trade to the thresholds; returns the audit when the bar closes.
    fn on_tick(&mut self, price: f64, size: f64) -> Option<AfmlAudit> {
        let sign = match self.prev_price {
            Some(p) if price > p => 1,
            Some(p) if price < p => -1,
            _ => self.prev_sign,
        };
        self.prev_price = Some(price);
        self.prev_sign = sign;
        let mag = match self.metric {
            AfmlMetric::Tick => 1.0,
            AfmlMetric::Volume => size,
            AfmlMetric::Dollar => size * price,
        };
        let imb = f64::from(sign) * mag;
        self.ticks_seen += 1;
        self.bar_ticks += 1;
        let warm = self.ticks_seen >= self.params.exp_num_ticks_init;
        let forced = self
            .params
            .max_bar_ticks
            .is_some_and(|m| self.bar_ticks >= m);
        if self.run {
            self.run_tick(imb, warm, forced)
        } else {
            self.imbalance_tick(imb, warm, forced)
        }
    }

    /// Imbalance bars: close when |θ| exceeds the expected ticks times |expected imbalance|.
    fn imbalance_tick(&mut self, imb: f64, warm: bool, forced: bool) -> Option<AfmlAudit> {
        let w = self.params.expected_imbalance_window;
        Self::push_hist(&mut self.hist, imb, w);
        self.theta += imb;
        if self.exp_imbalance.is_none() && warm {
            self.exp_imbalance = Some(ewma_adjust_last(self.hist.iter().copied(), w));
        }
        let e = self.exp_imbalance?;
        let threshold = self.exp_num_ticks * e.abs();
        if !(self.theta.abs() > threshold || forced) {
            return None;
        }
        let audit = AfmlAudit {
            theta: self.theta.abs(),
            exp_num_ticks: self.exp_num_ticks,
            exp_imbalance: e,
        };
        self.close_bar();
        self.exp_imbalance = Some(ewma_adjust_last(self.hist.iter().copied(), w));
        Some(audit)
    }

    /// Run bars: close when max(θ_buy, θ_sell) exceeds the expected ticks times the larger
    /// expected run.
    fn run_tick(&mut self, imb: f64, warm: bool, forced: bool) -> Option<AfmlAudit> {
        let w = self.params.expected_imbalance_window;
        if imb > 0.0 {
            Self::push_hist(&mut self.hist_buy, imb, w);
            self.theta_buy += imb;
            self.bar_buy_ticks += 1;
        } else if imb < 0.0 {
            Self::push_hist(&mut self.hist_sell, -imb, w);
            self.theta_sell += -imb;
        }
        if self.exp_buy.is_none() && warm {
            self.refresh_run_expectations(w);
        }
        let (eb, es, p) = (self.exp_buy?, self.exp_sell?, self.exp_buy_prop?);
        let max_prop = (p * eb).max((1.0 - p) * es);
        let theta = self.theta_buy.max(self.theta_sell);
        if !(theta > self.exp_num_ticks * max_prop || forced) {
            return None;
        }
        let audit = AfmlAudit {
            theta,
            exp_num_ticks: self.exp_num_ticks,
            exp_imbalance: max_prop,
        };
        let frac = self.bar_buy_ticks as f64 / self.bar_ticks as f64;
        Self::push_hist(&mut self.buy_ticks_hist, frac, w);
        self.close_bar();
        self.refresh_run_expectations(w);
        Some(audit)
    }

    fn refresh_run_expectations(&mut self, w: usize) {
        let e = |h: &VecDeque<f64>| {
            if h.is_empty() {
                0.0
            } else {
                ewma_adjust_last(h.iter().copied(), w)
            }
        };
        self.exp_buy = Some(e(&self.hist_buy));
        self.exp_sell = Some(e(&self.hist_sell));
        let p = if self.buy_ticks_hist.is_empty() {
            let n = (self.hist_buy.len() + self.hist_sell.len()).max(1);
            self.hist_buy.len() as f64 / n as f64
        } else {
            ewma_adjust_last(self.buy_ticks_hist.iter().copied(), w)
        };
        self.exp_buy_prop = Some(p);
    }

    fn close_bar(&mut self) {
        if let Some(n) = self.params.num_prev_bars {
            Self::push_hist(&mut self.bar_lengths, self.bar_ticks as f64, n);
            let mut e = ewma_adjust_last(self.bar_lengths.iter().copied(), n);
            if let Some((lo, hi)) = self.params.constraints {
                e = e.clamp(lo, hi);
            }
            self.exp_num_ticks = e;
        }
        self.theta = 0.0;
        self.theta_buy = 0.0;
        self.theta_sell = 0.0;
        self.bar_ticks = 0;
        self.bar_buy_ticks = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES A.4: mlfinlab `ewma([1, −1, 1, 1], 4)`.
    #[test]
    fn a4_ewma_adjust() {
        assert!(
            (ewma_adjust_last([1.0, -1.0, 1.0, 1.0].into_iter(), 4) - 0.6691176471).abs() < 1e-10
        );
        assert!(
            (ewma_adjust_last([1.0, 2.0, 3.0, 4.0].into_iter(), 4) - 3.0955882353).abs() < 1e-10
        );
    }
}
