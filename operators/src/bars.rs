//! `gold/bars` of every type (CONTRACT §5, §9.5–9.8; FEATURES §9).
//!
//! **Bar types.** `time_<n>{s,m,h}` on the epoch grid `[T, T+D)` (D divides a day; left-open
//! `(T, T+D]` as an option), `tick_<n>` (closes at n trades), `volume_<x>` (the crossing trade is
//! split pro rata in exact `Qty` units, so every complete bar has volume == x; `no-split` mode as
//! an option), `dollar_<x>` (no split: closes when quote volume >= x), and the AFML
//! `imbalance_{tick,volume,dollar}` / `run_{tick,volume,dollar}` bars with mlfinlab-compatible
//! thresholds (tick-rule signs, first sign 0; expected imbalance = adjust-form EWMA of the last
//! `expected_imbalance_window` imbalances over the global history, set at warm-up and after every
//! bar; strict `>`; const or EMA expected bar length), emitting the thresholds used in
//! [`AfmlAudit`].
//!
//! **When rows are emitted.** A bar is emitted once it is complete: a time bar when a later trade
//! proves it closed (every empty time bar between two trades is emitted as a volume-0 row with
//! null prices; none before the first trade's bar or after the last's, CONTRACT §9.6), a
//! threshold bar when its threshold is reached. [`BarBuilder::finish`] emits the open bar with
//! `is_complete = false`. [`BarBuilder::pending_since`] is the `ts_open` of the bar still owed.
//!
//! **Timestamps.** Time bars: `ts_open = T`, `ts_close = T + D`. Other bars: `ts_open` = first
//! trade's time, `ts_close` = last trade's time + 1 ns (an exclusive end, so `ts_open < ts_close`
//! always). `bar_seq` counts 0, 1, 2, … within (builder, UTC date of `ts_open`).
//!
//! **Feature aggregates.** `ofi` = Σ book OFI flow in the bar (time bars: book messages in the
//! bar's slot; other bars: book messages since the previous bar's last trade). `mid_open` = mid in
//! force when the bar opens (time bars: after the last book message before `T`; other bars: as of
//! the first trade), `mid_close` = mid after the last book message before the bar's end,
//! `spread_mean` = time-weighted mean over `[ts_open, ts_close)` of the spread in force (defined
//! spans only; null if none). `vpin` = value of the last bucket completed by a trade before the
//! bar's end. `kyle_lambda` = rolling OLS over the last W bars of this builder (y = change of
//! `mid_close` from the previous bar, x = `signed_volume`; CONTRACT §9.7 null rules).

use crate::kyle::RollingKyle;
use daedalus_model::fixed::{QTY_SCALE, Qty, i128_to_f64, units_to_f64};
use daedalus_model::rows::TradeSide;
use daedalus_model::time::{Date, NANOS_PER_DAY, NANOS_PER_SEC, Nanos};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// AFML (mlfinlab-compatible) threshold parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfmlParams {
    /// Initial expected ticks per bar (also the warm-up length).
    pub exp_num_ticks_init: u64,
    /// Window of the expected-imbalance EWMA.
    pub expected_imbalance_window: usize,
    /// `Some(n)`: EMA of the last n bar lengths (the "ema" variant); `None`: const.
    pub num_prev_bars: Option<usize>,
    /// Clamp of the expected bar length (mlfinlab `exp_num_ticks_constraints`).
    pub constraints: Option<(f64, f64)>,
    /// Guard: close a bar at this many ticks whatever the threshold.
    pub max_bar_ticks: Option<u64>,
}

impl Default for AfmlParams {
    fn default() -> Self {
        AfmlParams {
            exp_num_ticks_init: 20_000,
            expected_imbalance_window: 10_000,
            num_prev_bars: Some(3),
            constraints: None,
            max_bar_ticks: None,
        }
    }
}

/// What an AFML bar measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfmlMetric {
    /// Signed ticks.
    Tick,
    /// Signed volume.
    Volume,
    /// Signed dollar volume.
    Dollar,
}

/// A bar specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BarSpec {
    /// Time bars of `width` ns.
    Time {
        /// Width in ns (divides a day).
        width: Nanos,
    },
    /// `n` trades per bar.
    Tick {
        /// Trades per bar.
        n: u64,
    },
    /// `threshold` volume per bar (split).
    Volume {
        /// Volume per bar.
        threshold: Qty,
    },
    /// `threshold` quote volume per bar (no split).
    Dollar {
        /// Quote volume per bar.
        threshold: f64,
    },
    /// AFML tick imbalance bars.
    TickImbalance(AfmlParams),
    /// AFML volume imbalance bars.
    VolumeImbalance(AfmlParams),
    /// AFML dollar imbalance bars.
    DollarImbalance(AfmlParams),
    /// AFML tick run bars.
    TickRun(AfmlParams),
    /// AFML volume run bars.
    VolumeRun(AfmlParams),
    /// AFML dollar run bars.
    DollarRun(AfmlParams),
}

/// A bad bar spec.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bar spec {spec:?}: {why}")]
pub struct BarSpecError {
    /// The spec.
    pub spec: String,
    /// What is wrong.
    pub why: String,
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    s.trim_end_matches(".0").to_string()
}

impl BarSpec {
    /// Parses `time_1m`, `time_30s`, `time_1h`, `tick_100`, `volume_5`, `volume_0.5`,
    /// `dollar_1000000`, `imbalance_tick`, `imbalance_volume`, `imbalance_dollar`, `run_tick`,
    /// `run_volume`, `run_dollar`; AFML specs take optional `_<exp_num_ticks_init>` and
    /// `_<expected_imbalance_window>` and `_const` (e.g. `imbalance_tick_100_50_const`).
    pub fn parse(s: &str) -> Result<Self, BarSpecError> {
        let err = |why: &str| BarSpecError {
            spec: s.to_string(),
            why: why.to_string(),
        };
        let (kind, rest) = s
            .split_once('_')
            .ok_or_else(|| err("expected <type>_<param>"))?;
        match kind {
            "time" => {
                let idx = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .ok_or_else(|| err("missing unit s, m or h"))?;
                let (n, unit) = rest.split_at(idx);
                let n: i64 = n.parse().map_err(|_| err("bad number"))?;
                let mult = match unit {
                    "s" => NANOS_PER_SEC,
                    "m" => 60 * NANOS_PER_SEC,
                    "h" => 3600 * NANOS_PER_SEC,
                    _ => return Err(err("unit must be s, m or h")),
                };
                let width = n
                    .checked_mul(mult)
                    .filter(|w| *w > 0)
                    .ok_or_else(|| err("width out of range"))?;
                if NANOS_PER_DAY % width != 0 {
                    return Err(err("width must divide a day"));
                }
                Ok(BarSpec::Time { width })
            }
            "tick" => {
                let n: u64 = rest.parse().map_err(|_| err("bad count"))?;
                if n == 0 {
                    return Err(err("count must be positive"));
                }
                Ok(BarSpec::Tick { n })
            }
            "volume" => {
                let x: f64 = rest.parse().map_err(|_| err("bad volume"))?;
                let q = Qty::from_f64(x)
                    .filter(|q| q.0 > 0 && x.is_finite())
                    .ok_or_else(|| err("volume must be positive"))?;
                Ok(BarSpec::Volume { threshold: q })
            }
            "dollar" => {
                let x: f64 = rest.parse().map_err(|_| err("bad dollar amount"))?;
                if !(x.is_finite() && x > 0.0) {
                    return Err(err("dollar amount must be positive"));
                }
                Ok(BarSpec::Dollar { threshold: x })
            }
            "imbalance" | "run" => {
                let mut parts = rest.split('_');
                let metric = parts.next().ok_or_else(|| err("missing metric"))?;
                let mut p = AfmlParams::default();
                let mut nums = Vec::new();
                for part in parts {
                    if part == "const" {
                        p.num_prev_bars = None;
                    } else {
                        nums.push(part.parse::<u64>().map_err(|_| err("bad AFML parameter"))?);
                    }
                }
                if let Some(&a) = nums.first() {
                    p.exp_num_ticks_init = a.max(1);
                }
                if let Some(&b) = nums.get(1) {
                    p.expected_imbalance_window = (b as usize).max(1);
                }
                if let Some(&c) = nums.get(2) {
                    p.num_prev_bars = Some((c as usize).max(1));
                }
                Ok(match (kind, metric) {
                    ("imbalance", "tick") => BarSpec::TickImbalance(p),
                    ("imbalance", "volume") => BarSpec::VolumeImbalance(p),
                    ("imbalance", "dollar") => BarSpec::DollarImbalance(p),
                    ("run", "tick") => BarSpec::TickRun(p),
                    ("run", "volume") => BarSpec::VolumeRun(p),
                    ("run", "dollar") => BarSpec::DollarRun(p),
                    _ => return Err(err("metric must be tick, volume or dollar")),
                })
            }
            _ => Err(err(
                "type must be time, tick, volume, dollar, imbalance or run",
            )),
        }
    }

    /// The partition value (round-trips [`BarSpec::parse`]).
    pub fn name(&self) -> String {
        let afml = |kind: &str, metric: &str, p: &AfmlParams| {
            let d = AfmlParams::default();
            if *p == d {
                return format!("{kind}_{metric}");
            }
            let mut s = format!(
                "{kind}_{metric}_{}_{}",
                p.exp_num_ticks_init, p.expected_imbalance_window
            );
            match p.num_prev_bars {
                None => s.push_str("_const"),
                Some(n) if n != 3 => s.push_str(&format!("_{n}")),
                Some(_) => {}
            }
            s
        };
        match self {
            BarSpec::Time { width } => {
                let s = width / NANOS_PER_SEC;
                if s % 3600 == 0 {
                    format!("time_{}h", s / 3600)
                } else if s % 60 == 0 {
                    format!("time_{}m", s / 60)
                } else {
                    format!("time_{s}s")
                }
            }
            BarSpec::Tick { n } => format!("tick_{n}"),
            BarSpec::Volume { threshold } => format!("volume_{}", fmt_num(threshold.to_f64())),
            BarSpec::Dollar { threshold } => format!("dollar_{}", fmt_num(*threshold)),
            BarSpec::TickImbalance(p) => afml("imbalance", "tick", p),
            BarSpec::VolumeImbalance(p) => afml("imbalance", "volume", p),
            BarSpec::DollarImbalance(p) => afml("imbalance", "dollar", p),
            BarSpec::TickRun(p) => afml("run", "tick", p),
            BarSpec::VolumeRun(p) => afml("run", "volume", p),
            BarSpec::DollarRun(p) => afml("run", "dollar", p),
        }
    }
}

pub use daedalus_model::features::{AfmlAudit, BarRow};

/// Time-bar interval convention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeBarClosure {
    /// `[T, T+D)` (default; tardis, mlfinlab).
    #[default]
    RightOpen,
    /// `(T, T+D]` (nautilus).
    LeftOpen,
}

/// Bar options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarConfig {
    /// Kyle window W in bars.
    pub kyle_window: usize,
    /// Time-bar closure.
    pub time_closure: TimeBarClosure,
    /// Volume bars without splitting (mlfinlab compat).
    pub volume_no_split: bool,
}

impl Default for BarConfig {
    fn default() -> Self {
        BarConfig {
            kyle_window: 20,
            time_closure: TimeBarClosure::RightOpen,
            volume_no_split: false,
        }
    }
}

/// Accumulators of one bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Acc {
    first_ts: Option<Nanos>,
    last_ts: Option<Nanos>,
    open: Option<f64>,
    high: f64,
    low: f64,
    close: Option<f64>,
    volume: i128,
    quote: f64,
    count: i64,
    started: i64,
    buy: i128,
    sell: i128,
    unknown: i128,
    buy_n: i64,
    sell_n: i64,
    unknown_n: i64,
    mid_open: Option<f64>,
}

impl Acc {
    #[inline]
    fn add(&mut self, ts: Nanos, price: f64, units: i64, side: TradeSide, started: bool) {
        if self.open.is_none() {
            self.open = Some(price);
            self.high = price;
            self.low = price;
            self.first_ts = Some(ts);
        }
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = Some(price);
        self.last_ts = Some(ts);
        let u = i128::from(units);
        self.volume += u;
        self.quote += price * units_to_f64(u);
        self.count += 1;
        self.started += i64::from(started);
        match side {
            TradeSide::Buy => {
                self.buy += u;
                self.buy_n += 1;
            }
            TradeSide::Sell => {
                self.sell += u;
                self.sell_n += 1;
            }
            TradeSide::Unknown => {
                self.unknown += u;
                self.unknown_n += 1;
            }
        }
    }
}

/// A book event remembered until the bars it belongs to are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct BookEv {
    ts: Nanos,
    ofi: i128,
    mid: Option<f64>,
    spread: Option<f64>,
}

/// AFML threshold state (mlfinlab semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Afml {
    params: AfmlParams,
    metric: AfmlMetric,
    run: bool,
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
pub fn ewma_adjust_last(v: impl DoubleEndedIterator<Item = f64>, w: usize) -> f64 {
    // The shared adjust-form EWMA (crate::rolling), fed oldest first.
    let mut e = crate::rolling::Ewma::with_span(w as f64, true);
    let mut last = f64::NAN;
    for x in v {
        last = e.push(x);
    }
    last
}

impl Afml {
    fn new(params: AfmlParams, metric: AfmlMetric, run: bool) -> Self {
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

    /// Feeds one trade; returns the audit when the bar closes.
    fn on_trade(&mut self, price: f64, size: f64) -> Option<AfmlAudit> {
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
        let w = self.params.expected_imbalance_window;
        self.ticks_seen += 1;
        self.bar_ticks += 1;
        let warm = self.ticks_seen >= self.params.exp_num_ticks_init;
        let forced = self
            .params
            .max_bar_ticks
            .is_some_and(|m| self.bar_ticks >= m);
        if !self.run {
            Self::push_hist(&mut self.hist, imb, w);
            self.theta += imb;
            if self.exp_imbalance.is_none() && warm {
                self.exp_imbalance = Some(ewma_adjust_last(self.hist.iter().copied(), w));
            }
            let e = self.exp_imbalance?;
            let threshold = self.exp_num_ticks * e.abs();
            if self.theta.abs() > threshold || forced {
                let audit = AfmlAudit {
                    theta: self.theta.abs(),
                    exp_num_ticks: self.exp_num_ticks,
                    exp_imbalance: e,
                };
                self.close_bar();
                self.exp_imbalance = Some(ewma_adjust_last(self.hist.iter().copied(), w));
                return Some(audit);
            }
            None
        } else {
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
            if theta > self.exp_num_ticks * max_prop || forced {
                let audit = AfmlAudit {
                    theta,
                    exp_num_ticks: self.exp_num_ticks,
                    exp_imbalance: max_prop,
                };
                let frac = self.bar_buy_ticks as f64 / self.bar_ticks as f64;
                Self::push_hist(&mut self.buy_ticks_hist, frac, w);
                self.close_bar();
                self.refresh_run_expectations(w);
                return Some(audit);
            }
            None
        }
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

/// Builds one bar type for one market.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BarBuilder {
    spec: BarSpec,
    cfg: BarConfig,
    acc: Option<Acc>,
    /// Time bars: slot of the open bar.
    slot: Option<i64>,
    /// Book events since `log_from` (time bars: from the open slot's start; other bars: since
    /// the previous bar's last trade).
    log: Vec<BookEv>,
    /// Mid and spread in force at `log_from`.
    base_mid: Option<f64>,
    base_spread: Option<f64>,
    log_from: Nanos,
    /// Current mid/spread (after every book event seen).
    mid: Option<f64>,
    spread: Option<f64>,
    vpin: Option<f64>,
    prev_mid_close: Option<f64>,
    emitted_any: bool,
    kyle: RollingKyle,
    seq_date: Option<Date>,
    seq: i64,
    afml: Option<Afml>,
}

impl BarBuilder {
    /// A builder for `spec`.
    pub fn new(spec: BarSpec, cfg: BarConfig) -> Self {
        let afml = match &spec {
            BarSpec::TickImbalance(p) => Some(Afml::new(p.clone(), AfmlMetric::Tick, false)),
            BarSpec::VolumeImbalance(p) => Some(Afml::new(p.clone(), AfmlMetric::Volume, false)),
            BarSpec::DollarImbalance(p) => Some(Afml::new(p.clone(), AfmlMetric::Dollar, false)),
            BarSpec::TickRun(p) => Some(Afml::new(p.clone(), AfmlMetric::Tick, true)),
            BarSpec::VolumeRun(p) => Some(Afml::new(p.clone(), AfmlMetric::Volume, true)),
            BarSpec::DollarRun(p) => Some(Afml::new(p.clone(), AfmlMetric::Dollar, true)),
            _ => None,
        };
        BarBuilder {
            kyle: RollingKyle::new(cfg.kyle_window),
            spec,
            cfg,
            acc: None,
            slot: None,
            log: Vec::new(),
            base_mid: None,
            base_spread: None,
            log_from: Nanos::MIN,
            mid: None,
            spread: None,
            vpin: None,
            prev_mid_close: None,
            emitted_any: false,
            seq_date: None,
            seq: 0,
            afml,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &BarSpec {
        &self.spec
    }

    /// `ts_open` of the bar still owed, if any.
    pub fn pending_since(&self) -> Option<Nanos> {
        match (&self.spec, self.slot) {
            (BarSpec::Time { width }, Some(k)) => Some(self.slot_open(k, *width)),
            _ => self.acc.as_ref().and_then(|a| a.first_ts),
        }
    }

    fn slot_of(&self, ts: Nanos, width: Nanos) -> i64 {
        match self.cfg.time_closure {
            TimeBarClosure::RightOpen => ts.div_euclid(width),
            TimeBarClosure::LeftOpen => (ts - 1).div_euclid(width),
        }
    }

    fn slot_open(&self, k: i64, width: Nanos) -> Nanos {
        k * width
    }

    /// A book message at `ts`: its exact OFI flow, and the mid and spread after it.
    pub fn on_book(
        &mut self,
        ts: Nanos,
        ofi_units: i128,
        mid: Option<f64>,
        spread: Option<f64>,
        _out: &mut Vec<BarRow>,
    ) {
        self.log.push(BookEv {
            ts,
            ofi: ofi_units,
            mid,
            spread,
        });
        self.mid = mid;
        self.spread = spread;
        // Without an open bar, time bars need no history before the next trade's slot start,
        // but that start is unknown yet; keep the log bounded by folding events that can no
        // longer matter into the base state once a later slot starts (see `trim_log`).
        if self.acc.is_none()
            && let BarSpec::Time { width } = self.spec
        {
            let start = self.slot_open(self.slot_of(ts, width), width);
            self.trim_log(start);
        }
    }

    /// Folds log events before `t` into the base state.
    fn trim_log(&mut self, t: Nanos) {
        let n = self.log.iter().take_while(|e| e.ts < t).count();
        if n > 0 {
            let last = self.log[n - 1];
            self.base_mid = last.mid;
            self.base_spread = last.spread;
            self.log.drain(..n);
        }
        self.log_from = self.log_from.max(t);
    }

    /// Book aggregates from the log, then drops the events used: OFI over events in
    /// `[ofi_from, to)` (`<= to` when `inclusive_end`), the mid in force at `from`, the mid after
    /// the last event, and the spread time-weighted over `[from, to)`.
    fn book_aggregates(
        &mut self,
        ofi_from: Nanos,
        from: Nanos,
        to: Nanos,
        inclusive_end: bool,
    ) -> (i128, Option<f64>, Option<f64>, Option<f64>) {
        let within = |e: &BookEv| if inclusive_end { e.ts <= to } else { e.ts < to };
        let n = self.log.iter().take_while(|e| within(e)).count();
        let mut ofi = 0i128;
        let (mut area, mut time) = (0.0, 0i64);
        let mut cur_spread = self.base_spread;
        let mut cur_mid = self.base_mid;
        // Events before `from` only set the state in force at `from`.
        let mut t = from;
        let mut mid_open = None;
        let mut opened = false;
        for e in &self.log[..n] {
            if e.ts >= ofi_from {
                ofi += e.ofi;
            }
            if e.ts < from {
                cur_spread = e.spread;
                cur_mid = e.mid;
                continue;
            }
            if !opened {
                mid_open = cur_mid;
                opened = true;
            }
            if let Some(s) = cur_spread {
                let dt = e.ts - t;
                if dt > 0 {
                    area += s * dt as f64;
                    time += dt;
                }
            }
            t = e.ts.max(t);
            cur_spread = e.spread;
            cur_mid = e.mid;
        }
        if !opened {
            mid_open = cur_mid;
        }
        if let Some(s) = cur_spread {
            let dt = to - t;
            if dt > 0 {
                area += s * dt as f64;
                time += dt;
            }
        }
        self.log.drain(..n);
        self.base_mid = cur_mid;
        self.base_spread = cur_spread;
        self.log_from = to;
        let spread_mean = (time > 0).then(|| area / time as f64);
        (ofi, mid_open, cur_mid, spread_mean)
    }

    fn emit(
        &mut self,
        acc: Acc,
        ts_open: Nanos,
        ts_close: Nanos,
        complete: bool,
        book: (i128, Option<f64>, Option<f64>, Option<f64>),
        audit: Option<AfmlAudit>,
        out: &mut Vec<BarRow>,
    ) {
        let (ofi, mid_open, mid_close, spread_mean) = book;
        let date = Date::of_nanos(ts_open);
        if self.seq_date != Some(date) {
            self.seq_date = Some(date);
            self.seq = 0;
        }
        let signed = acc.buy - acc.sell;
        let mid_change = match (mid_close, self.prev_mid_close) {
            (Some(a), Some(b)) if self.emitted_any => Some(a - b),
            _ => None,
        };
        let kyle = self
            .kyle
            .push(mid_change.map(|y| (units_to_f64(signed), y)));
        self.prev_mid_close = mid_close;
        self.emitted_any = true;
        let has = acc.open.is_some();
        let volume = units_to_f64(acc.volume);
        out.push(BarRow {
            ts_open,
            ts_close,
            first_trade_ts: acc.first_ts,
            last_trade_ts: acc.last_ts,
            bar_seq: self.seq,
            is_complete: complete,
            open: acc.open,
            high: has.then_some(acc.high),
            low: has.then_some(acc.low),
            close: acc.close,
            vwap: (acc.volume != 0).then(|| acc.quote / volume),
            volume,
            quote_volume: acc.quote,
            trade_count: acc.count,
            trade_count_started: acc.started,
            buy_volume: units_to_f64(acc.buy),
            sell_volume: units_to_f64(acc.sell),
            unknown_volume: units_to_f64(acc.unknown),
            buy_count: acc.buy_n,
            sell_count: acc.sell_n,
            unknown_count: acc.unknown_n,
            ofi: units_to_f64(ofi),
            signed_volume: units_to_f64(signed),
            tfi: (acc.buy + acc.sell != 0)
                .then(|| i128_to_f64(signed) / i128_to_f64(acc.buy + acc.sell)),
            vpin: self.vpin,
            kyle_lambda: kyle.map(|k| k.lambda),
            mid_open: mid_open.or(acc.mid_open),
            mid_close,
            spread_mean,
            audit,
        });
        self.seq += 1;
    }

    /// A trade at `ts`. `vpin_after`: VPIN of the last completed bucket after this trade.
    pub fn on_trade(
        &mut self,
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin_after: Option<f64>,
        out: &mut Vec<BarRow>,
    ) {
        // No clone of the spec per trade (AFML specs own their parameters).
        match self.spec {
            BarSpec::Time { width } => {
                self.time_trade(ts, price, size, side, vpin_after, width, out)
            }
            BarSpec::Volume { threshold } if !self.cfg.volume_no_split => {
                self.volume_trade(ts, price, size, side, vpin_after, threshold.0, out)
            }
            _ => self.threshold_trade(ts, price, size, side, vpin_after, out),
        }
    }

    fn time_trade(
        &mut self,
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin_after: Option<f64>,
        width: Nanos,
        out: &mut Vec<BarRow>,
    ) {
        // Most trades fall in the open slot: test its bounds instead of dividing.
        let k = match self
            .slot
            .and_then(|open| Some((open, open.checked_mul(width)?)))
        {
            Some((open, lo)) => {
                let in_open = match self.cfg.time_closure {
                    TimeBarClosure::RightOpen => ts >= lo && ts - lo < width,
                    TimeBarClosure::LeftOpen => ts > lo && ts - lo <= width,
                };
                if in_open {
                    open
                } else {
                    self.slot_of(ts, width)
                }
            }
            None => self.slot_of(ts, width),
        };
        match self.slot {
            Some(open) if k > open => {
                // Close the open bar and every empty bar up to this trade's slot; VPIN as of
                // trades before their ends (this trade is not yet counted).
                let acc = self.acc.take().unwrap_or_default();
                let (t0, t1) = (self.slot_open(open, width), self.slot_open(open + 1, width));
                let book = self.book_aggregates(
                    t0,
                    t0,
                    t1,
                    self.cfg.time_closure == TimeBarClosure::LeftOpen,
                );
                self.emit(acc, t0, t1, true, book, None, out);
                for e in open + 1..k {
                    let (t0, t1) = (self.slot_open(e, width), self.slot_open(e + 1, width));
                    let book = self.book_aggregates(
                        t0,
                        t0,
                        t1,
                        self.cfg.time_closure == TimeBarClosure::LeftOpen,
                    );
                    self.emit(Acc::default(), t0, t1, true, book, None, out);
                }
                self.slot = Some(k);
            }
            Some(_) => {}
            None => {
                self.slot = Some(k);
                let start = self.slot_open(k, width);
                self.trim_log(start);
            }
        }
        self.acc
            .get_or_insert_with(Acc::default)
            .add(ts, price, size.0, side, true);
        self.vpin = vpin_after;
    }

    fn volume_trade(
        &mut self,
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin_after: Option<f64>,
        threshold: i64,
        out: &mut Vec<BarRow>,
    ) {
        let mut left = size.0;
        let mut first = true;
        self.vpin = vpin_after;
        while left > 0 {
            let acc = self.acc.get_or_insert_with(Acc::default);
            if acc.open.is_none() {
                acc.mid_open = self.mid;
            }
            let room = i64::try_from(i128::from(threshold) - acc.volume).unwrap_or(i64::MAX);
            let take = left.min(room);
            acc.add(ts, price, take, side, first);
            first = false;
            left -= take;
            if acc.volume >= i128::from(threshold) {
                let acc = self.acc.take().expect("open");
                let t0 = acc.first_ts.unwrap_or(ts);
                let ofi_from = self.log_from.min(t0);
                let book = self.book_aggregates(ofi_from, t0, ts + 1, false);
                let book = (book.0, acc.mid_open, book.2, book.3);
                self.emit(acc, t0, ts + 1, true, book, None, out);
            }
        }
    }

    fn threshold_trade(
        &mut self,
        ts: Nanos,
        price: f64,
        size: Qty,
        side: TradeSide,
        vpin_after: Option<f64>,
        out: &mut Vec<BarRow>,
    ) {
        let acc = self.acc.get_or_insert_with(Acc::default);
        if acc.open.is_none() {
            acc.mid_open = self.mid;
        }
        acc.add(ts, price, size.0, side, true);
        self.vpin = vpin_after;
        let mut audit = None;
        let close = match &self.spec {
            BarSpec::Tick { n } => acc.count as u64 >= *n,
            BarSpec::Volume { threshold } => acc.volume >= i128::from(threshold.0),
            BarSpec::Dollar { threshold } => acc.quote >= *threshold,
            _ => {
                audit = self
                    .afml
                    .as_mut()
                    .and_then(|a| a.on_trade(price, size.to_f64()));
                audit.is_some()
            }
        };
        if close {
            let acc = self.acc.take().expect("open");
            let t0 = acc.first_ts.unwrap_or(ts);
            let ofi_from = self.log_from.min(t0);
            let book = self.book_aggregates(ofi_from, t0, ts + 1, false);
            let book = (book.0, acc.mid_open, book.2, book.3);
            self.emit(acc, t0, ts + 1, true, book, audit, out);
        }
    }

    /// End of data: emits the open bar with `is_complete = false`.
    pub fn finish(&mut self, out: &mut Vec<BarRow>) {
        let Some(acc) = self.acc.take() else { return };
        match (&self.spec, self.slot) {
            (BarSpec::Time { width }, Some(k)) => {
                let width = *width;
                let (t0, t1) = (self.slot_open(k, width), self.slot_open(k + 1, width));
                let book = self.book_aggregates(
                    t0,
                    t0,
                    t1,
                    self.cfg.time_closure == TimeBarClosure::LeftOpen,
                );
                self.emit(acc, t0, t1, false, book, None, out);
                self.slot = None;
            }
            _ => {
                let t0 = acc.first_ts.unwrap_or(0);
                let t1 = acc.last_ts.unwrap_or(t0) + 1;
                let ofi_from = self.log_from.min(t0);
                let book = self.book_aggregates(ofi_from, t0, t1, false);
                let book = (book.0, acc.mid_open, book.2, book.3);
                self.emit(acc, t0, t1, false, book, None, out);
            }
        }
    }
}

/// `Qty` units per unit, re-exported for tests of exact volume thresholds.
pub const UNITS: i64 = QTY_SCALE;

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = NANOS_PER_SEC;

    /// FEATURES Appendix A.1 trade tape: (t, price, qty, side).
    fn tape_a1() -> Vec<(Nanos, f64, f64, TradeSide)> {
        use TradeSide::*;
        vec![
            (250_000_000, 100.0, 1.0, Buy),
            (10_500_000_000, 100.5, 2.0, Buy),
            (30 * S, 100.5, 1.0, Sell),
            (59_999_000_000, 99.5, 3.0, Sell),
            (60 * S, 99.0, 4.0, Sell),
            (75 * S, 99.5, 2.0, Buy),
            (190 * S, 101.0, 12.0, Buy),
            (200 * S, 101.0, 1.0, Sell),
            (200 * S, 100.5, 1.0, Unknown),
            (250 * S, 100.0, 3.0, Sell),
        ]
    }

    fn run(spec: BarSpec, cfg: BarConfig, tape: &[(Nanos, f64, f64, TradeSide)]) -> Vec<BarRow> {
        let mut b = BarBuilder::new(spec, cfg);
        let mut out = Vec::new();
        for &(ts, p, q, side) in tape {
            b.on_trade(ts, p, Qty::from_f64(q).unwrap(), side, None, &mut out);
        }
        b.finish(&mut out);
        out
    }

    fn ohlcv(r: &BarRow) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>, f64) {
        (r.open, r.high, r.low, r.close, r.volume)
    }

    #[test]
    fn a1_time_bars_right_open() {
        let out = run(
            BarSpec::parse("time_1m").unwrap(),
            BarConfig::default(),
            &tape_a1(),
        );
        assert_eq!(out.len(), 5);
        let want = [
            (
                Some(100.0),
                Some(100.5),
                Some(99.5),
                Some(99.5),
                7.0,
                3.0,
                4.0,
                0.0,
                4,
            ),
            (
                Some(99.0),
                Some(99.5),
                Some(99.0),
                Some(99.5),
                6.0,
                2.0,
                4.0,
                0.0,
                2,
            ),
            (None, None, None, None, 0.0, 0.0, 0.0, 0.0, 0),
            (
                Some(101.0),
                Some(101.0),
                Some(100.5),
                Some(100.5),
                14.0,
                12.0,
                1.0,
                1.0,
                3,
            ),
            (
                Some(100.0),
                Some(100.0),
                Some(100.0),
                Some(100.0),
                3.0,
                0.0,
                3.0,
                0.0,
                1,
            ),
        ];
        for (i, (r, w)) in out.iter().zip(want).enumerate() {
            assert_eq!(ohlcv(r), (w.0, w.1, w.2, w.3, w.4), "bar {i}");
            assert_eq!(
                (r.buy_volume, r.sell_volume, r.unknown_volume, r.trade_count),
                (w.5, w.6, w.7, w.8),
                "bar {i}"
            );
            assert_eq!(
                (r.ts_open, r.ts_close),
                (i as i64 * 60 * S, (i as i64 + 1) * 60 * S)
            );
            assert_eq!(r.is_complete, i < 4);
        }
        assert_eq!(out[0].vwap, Some(100.0));
        assert!((out[1].vwap.unwrap() - 99.1666666667).abs() < 1e-9);
        assert_eq!(out[2].vwap, None);
        assert!((out[3].vwap.unwrap() - 100.9642857143).abs() < 1e-9);
        assert_eq!(out[2].tfi, None);
        assert!((out[3].tfi.unwrap() - 11.0 / 13.0).abs() < 1e-15);
        assert_eq!(
            out.iter().map(|r| r.bar_seq).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn a1_time_bars_left_open() {
        let cfg = BarConfig {
            time_closure: TimeBarClosure::LeftOpen,
            ..BarConfig::default()
        };
        let out = run(BarSpec::parse("time_1m").unwrap(), cfg, &tape_a1());
        // (0,60]: trade 5 at 60 s moves here; (60,120]: only trade 6.
        assert_eq!(
            ohlcv(&out[0]),
            (Some(100.0), Some(100.5), Some(99.0), Some(99.0), 11.0)
        );
        assert_eq!(
            ohlcv(&out[1]),
            (Some(99.5), Some(99.5), Some(99.5), Some(99.5), 2.0)
        );
        assert_eq!(out[2].volume, 0.0);
        assert_eq!(
            ohlcv(&out[3]),
            (Some(101.0), Some(101.0), Some(100.5), Some(100.5), 14.0)
        );
        assert_eq!(
            ohlcv(&out[4]),
            (Some(100.0), Some(100.0), Some(100.0), Some(100.0), 3.0)
        );
    }

    #[test]
    fn a1_volume_bars_split() {
        let out = run(
            BarSpec::parse("volume_5").unwrap(),
            BarConfig::default(),
            &tape_a1(),
        );
        assert_eq!(out.len(), 6);
        let want = [
            (
                100.0,
                100.5,
                99.5,
                99.5,
                3.0,
                2.0,
                0.0,
                100.2,
                59_999_000_000,
                4,
                4,
            ),
            (99.5, 99.5, 99.0, 99.0, 0.0, 5.0, 0.0, 99.2, 60 * S, 2, 1),
            (
                99.0,
                101.0,
                99.0,
                101.0,
                4.0,
                1.0,
                0.0,
                100.0,
                190 * S,
                3,
                2,
            ),
            (
                101.0,
                101.0,
                101.0,
                101.0,
                5.0,
                0.0,
                0.0,
                101.0,
                190 * S,
                1,
                0,
            ),
            (
                101.0,
                101.0,
                101.0,
                101.0,
                5.0,
                0.0,
                0.0,
                101.0,
                190 * S,
                1,
                0,
            ),
            (
                101.0,
                101.0,
                100.0,
                100.0,
                0.0,
                4.0,
                1.0,
                100.3,
                250 * S,
                3,
                3,
            ),
        ];
        for (i, (r, w)) in out.iter().zip(want).enumerate() {
            assert_eq!(
                ohlcv(r),
                (Some(w.0), Some(w.1), Some(w.2), Some(w.3), 5.0),
                "bar {i}"
            );
            assert_eq!(
                (r.buy_volume, r.sell_volume, r.unknown_volume),
                (w.4, w.5, w.6),
                "bar {i}"
            );
            assert!(
                (r.vwap.unwrap() - w.7).abs() < 1e-9,
                "bar {i} vwap {:?}",
                r.vwap
            );
            assert_eq!(r.last_trade_ts, Some(w.8), "bar {i}");
            assert_eq!(
                (r.trade_count, r.trade_count_started),
                (w.9, w.10),
                "bar {i}"
            );
            assert!(r.is_complete);
        }
    }

    #[test]
    fn a1_volume_bars_no_split_tick_and_dollar() {
        let cfg = BarConfig {
            volume_no_split: true,
            ..BarConfig::default()
        };
        let out = run(BarSpec::parse("volume_5").unwrap(), cfg, &tape_a1());
        let got: Vec<_> = out.iter().map(ohlcv).collect();
        assert_eq!(
            got,
            vec![
                (Some(100.0), Some(100.5), Some(99.5), Some(99.5), 7.0),
                (Some(99.0), Some(99.5), Some(99.0), Some(99.5), 6.0),
                (Some(101.0), Some(101.0), Some(101.0), Some(101.0), 12.0),
                (Some(101.0), Some(101.0), Some(100.0), Some(100.0), 5.0),
            ]
        );
        let out = run(
            BarSpec::parse("tick_3").unwrap(),
            BarConfig::default(),
            &tape_a1(),
        );
        let got: Vec<_> = out.iter().map(ohlcv).collect();
        assert_eq!(
            got[..3],
            [
                (Some(100.0), Some(100.5), Some(100.0), Some(100.5), 4.0),
                (Some(99.5), Some(99.5), Some(99.0), Some(99.5), 9.0),
                (Some(101.0), Some(101.0), Some(100.5), Some(100.5), 14.0),
            ]
        );
        // Trade 10 stays in a partial bar, emitted incomplete.
        assert!(!out[3].is_complete && out[3].trade_count == 1);
        let out = run(
            BarSpec::parse("dollar_500").unwrap(),
            BarConfig::default(),
            &tape_a1(),
        );
        let q: Vec<f64> = out.iter().map(|r| r.quote_volume).collect();
        assert_eq!(q, vec![700.0, 595.0, 1212.0, 501.5]);
    }

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

    fn tape_a5() -> Vec<(Nanos, f64, f64, TradeSide)> {
        let prices = [
            100.0, 100.5, 101.0, 101.0, 100.5, 101.0, 101.5, 102.0, 102.0, 101.5, 101.0, 100.5,
            100.0, 100.0, 99.5, 100.0, 100.5, 101.0, 101.5, 101.5, 102.0, 102.5, 102.0, 101.5,
        ];
        let vols = [
            1.0, 2.0, 1.0, 3.0, 2.0, 1.0, 4.0, 1.0, 2.0, 2.0, 1.0, 3.0, 1.0, 2.0, 5.0, 1.0, 1.0,
            2.0, 1.0, 3.0, 1.0, 2.0, 4.0, 1.0,
        ];
        prices
            .iter()
            .zip(vols)
            .enumerate()
            .map(|(i, (&p, v))| (i as i64 * S, p, v, TradeSide::Unknown))
            .collect()
    }

    fn afml(metric: &str, ema: Option<usize>) -> BarSpec {
        let p = AfmlParams {
            exp_num_ticks_init: 4,
            expected_imbalance_window: 4,
            num_prev_bars: ema,
            constraints: None,
            max_bar_ticks: None,
        };
        match metric {
            "tick" => BarSpec::TickImbalance(p),
            _ => BarSpec::VolumeImbalance(p),
        }
    }

    /// FEATURES A.5 (mlfinlab-compat imbalance bars; cum_buy = tick-rule buy volume).
    #[test]
    fn a5_afml_imbalance_bars() {
        let tape = tape_a5();
        let out = run(afml("tick", None), BarConfig::default(), &tape);
        let complete: Vec<&BarRow> = out.iter().filter(|r| r.is_complete).collect();
        assert_eq!(complete.len(), 3);
        let closes: Vec<Nanos> = complete
            .iter()
            .map(|r| r.last_trade_ts.unwrap() / S + 1)
            .collect();
        assert_eq!(closes, vec![7, 14, 21]);
        let want = [
            (100.0, 101.5, 100.0, 101.5, 14.0),
            (102.0, 102.0, 100.0, 100.0, 12.0),
            (99.5, 102.0, 99.5, 102.0, 14.0),
        ];
        for (r, w) in complete.iter().zip(want) {
            assert_eq!(ohlcv(r), (Some(w.0), Some(w.1), Some(w.2), Some(w.3), w.4));
        }
        let a = complete[0].audit.unwrap();
        assert_eq!(a.theta, 4.0);
        assert!((a.exp_num_ticks * a.exp_imbalance - 3.603).abs() < 1e-3);
        let ema = run(afml("tick", Some(2)), BarConfig::default(), &tape);
        assert_eq!(ema.iter().filter(|r| r.is_complete).count(), 1);
        let vol = run(afml("volume", None), BarConfig::default(), &tape);
        let complete: Vec<&BarRow> = vol.iter().filter(|r| r.is_complete).collect();
        let closes: Vec<Nanos> = complete
            .iter()
            .map(|r| r.last_trade_ts.unwrap() / S + 1)
            .collect();
        assert_eq!(closes, vec![7, 15]);
        assert_eq!(
            ohlcv(complete[1]),
            (Some(102.0), Some(102.0), Some(99.5), Some(99.5), 17.0)
        );
    }

    #[test]
    fn specs_round_trip_and_reject_bad_widths() {
        for s in [
            "time_1m",
            "time_30s",
            "time_1h",
            "tick_100",
            "volume_5",
            "volume_0.5",
            "dollar_1000000",
            "imbalance_tick",
            "run_volume",
            "imbalance_tick_100_50_const",
        ] {
            assert_eq!(BarSpec::parse(s).unwrap().name(), s);
        }
        assert!(BarSpec::parse("time_7m").is_err());
        assert!(BarSpec::parse("volume_-1").is_err());
        assert!(BarSpec::parse("bogus_1").is_err());
    }
}
