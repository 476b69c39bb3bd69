//! [`BarBuilder`]: one bar spec of one market, its family's aggregator behind an enum (one
//! `match` per event, no dynamic dispatch) over the state every family shares.

use super::afml::Afml;
use super::row::BarRow;
use super::shared::{Shared, Trade};
use super::spec::{AfmlMetric, AfmlParams, BarConfig, BarSpec};
use super::threshold::ThresholdBars;
use super::time::TimeBars;
use daedalus_model::fixed::Qty;
use daedalus_model::rows::TradeSide;
use daedalus_model::time::Nanos;

/// The aggregator of one bar family.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Aggregator {
    /// `time_<n>{s,m,h}`.
    Time(TimeBars),
    /// `tick_<n>`, `volume_<x>`, `dollar_<x>`.
    Threshold(ThresholdBars),
    /// `imbalance_*`, `run_*` (boxed: far larger than the others).
    Afml(Box<Afml>),
}

impl Aggregator {
    /// The aggregator of `spec`, before any event.
    pub(super) fn new(spec: &BarSpec, cfg: &BarConfig) -> Self {
        match spec {
            BarSpec::Time { width } => Aggregator::Time(TimeBars::new(*width, cfg.time_closure)),
            BarSpec::Tick { n } => Aggregator::Threshold(ThresholdBars::Ticks(*n)),
            BarSpec::Volume { threshold } if cfg.volume_no_split => {
                Aggregator::Threshold(ThresholdBars::Volume(threshold.0))
            }
            BarSpec::Volume { threshold } => {
                Aggregator::Threshold(ThresholdBars::SplitVolume(threshold.0))
            }
            BarSpec::Dollar { threshold } => {
                Aggregator::Threshold(ThresholdBars::Dollar(*threshold))
            }
            BarSpec::TickImbalance(p) => Self::afml(p, AfmlMetric::Tick, false),
            BarSpec::VolumeImbalance(p) => Self::afml(p, AfmlMetric::Volume, false),
            BarSpec::DollarImbalance(p) => Self::afml(p, AfmlMetric::Dollar, false),
            BarSpec::TickRun(p) => Self::afml(p, AfmlMetric::Tick, true),
            BarSpec::VolumeRun(p) => Self::afml(p, AfmlMetric::Volume, true),
            BarSpec::DollarRun(p) => Self::afml(p, AfmlMetric::Dollar, true),
        }
    }

    fn afml(params: &AfmlParams, metric: AfmlMetric, run: bool) -> Self {
        Aggregator::Afml(Box::new(Afml::new(params.clone(), metric, run)))
    }

    /// The spec this aggregator builds (inverse of [`Aggregator::new`]).
    pub(super) fn spec(&self) -> BarSpec {
        match self {
            Aggregator::Time(t) => BarSpec::Time { width: t.width },
            Aggregator::Threshold(ThresholdBars::Ticks(n)) => BarSpec::Tick { n: *n },
            Aggregator::Threshold(
                ThresholdBars::SplitVolume(units) | ThresholdBars::Volume(units),
            ) => BarSpec::Volume {
                threshold: Qty(*units),
            },
            Aggregator::Threshold(ThresholdBars::Dollar(x)) => BarSpec::Dollar { threshold: *x },
            Aggregator::Afml(a) => BarSpec::of_afml(a.params.clone(), a.metric, a.run),
        }
    }
}

/// Builds one bar type for one market.
#[derive(Debug, Clone)]
pub struct BarBuilder {
    /// The options as given (checkpoints keep them whole).
    pub(super) cfg: BarConfig,
    pub(super) shared: Shared,
    pub(super) agg: Aggregator,
}

impl BarBuilder {
    /// A builder for `spec`.
    pub fn new(spec: BarSpec, cfg: BarConfig) -> Self {
        BarBuilder {
            agg: Aggregator::new(&spec, &cfg),
            shared: Shared::new(cfg.kyle_window),
            cfg,
        }
    }

    /// `ts_open` of the bar still owed, if any.
    pub fn pending_since(&self) -> Option<Nanos> {
        match &self.agg {
            Aggregator::Time(t) => t.pending_since(),
            Aggregator::Threshold(_) | Aggregator::Afml(_) => {
                self.shared.acc.as_ref().and_then(|a| a.first_ts)
            }
        }
    }

    /// A book message at `ts`: its exact OFI flow, and the mid and spread after it.
    pub fn on_book(&mut self, ts: Nanos, ofi_units: i128, mid: Option<f64>, spread: Option<f64>) {
        self.shared.book.push(ts, ofi_units, mid, spread);
        // Without an open bar, time bars need no history before the next trade's slot start,
        // but that start is unknown yet; keep the log bounded by folding events that can no
        // longer matter into the base state once a later slot starts.
        if let Aggregator::Time(t) = &self.agg
            && self.shared.acc.is_none()
        {
            self.shared.book.trim(t.slot_start(ts));
        }
    }

    /// A trade at `ts`. `vpin_after`: VPIN of the last completed bucket after this trade.
    pub fn on_trade(
        &mut self,
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin_after: Option<f64>,
        out: &mut impl Extend<BarRow>,
    ) {
        let t = Trade {
            ts,
            price,
            size,
            side,
        };
        let s = &mut self.shared;
        match &mut self.agg {
            Aggregator::Time(time) => time.on_trade(s, t, vpin_after, out),
            Aggregator::Threshold(rule) => rule.on_trade(s, t, vpin_after, out),
            Aggregator::Afml(afml) => afml.on_trade(s, t, vpin_after, out),
        }
    }

    /// End of data: emits the open bar with `is_complete = false`.
    pub fn finish(&mut self, out: &mut impl Extend<BarRow>) {
        match &mut self.agg {
            Aggregator::Time(time) => time.finish(&mut self.shared, out),
            Aggregator::Threshold(_) | Aggregator::Afml(_) => self.shared.finish_trade_bar(out),
        }
    }
}
