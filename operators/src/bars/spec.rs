//! Bar specifications (`time_1m`, `volume_5`, `imbalance_tick_100_50_const`, …) parsed from and
//! named as partition values, and the options shared by every builder.

use daedalus_model::fixed::Qty;
use daedalus_model::time::{NANOS_PER_DAY, NANOS_PER_SEC, Nanos};
use serde::{Deserialize, Serialize};

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
pub(crate) enum AfmlMetric {
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

/// `<n>{s,m,h}` of a `time_` spec; the width must divide a day.
fn parse_time(rest: &str) -> Result<BarSpec, &'static str> {
    let idx = rest
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("missing unit s, m or h")?;
    let (n, unit) = rest.split_at(idx);
    let n: i64 = n.parse().map_err(|_| "bad number")?;
    let mult = match unit {
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return Err("unit must be s, m or h"),
    };
    let width = n
        .checked_mul(mult)
        .filter(|w| *w > 0)
        .ok_or("width out of range")?;
    if NANOS_PER_DAY % width != 0 {
        return Err("width must divide a day");
    }
    Ok(BarSpec::Time { width })
}

/// `<metric>[_<exp_num_ticks_init>[_<window>[_<num_prev_bars>]]][_const]` of an AFML spec.
fn parse_afml(run: bool, rest: &str) -> Result<BarSpec, &'static str> {
    let mut parts = rest.split('_');
    let metric = parts.next().ok_or("missing metric")?;
    let mut p = AfmlParams::default();
    let mut nums = Vec::new();
    for part in parts {
        if part == "const" {
            p.num_prev_bars = None;
        } else {
            nums.push(part.parse::<u64>().map_err(|_| "bad AFML parameter")?);
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
    let metric = match metric {
        "tick" => AfmlMetric::Tick,
        "volume" => AfmlMetric::Volume,
        "dollar" => AfmlMetric::Dollar,
        _ => return Err("metric must be tick, volume or dollar"),
    };
    Ok(BarSpec::of_afml(p, metric, run))
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
            "time" => parse_time(rest).map_err(err),
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
            "imbalance" | "run" => parse_afml(kind == "run", rest).map_err(err),
            _ => Err(err(
                "type must be time, tick, volume, dollar, imbalance or run",
            )),
        }
    }

    /// The AFML spec measuring `metric` (run bars when `run`, else imbalance bars).
    pub(crate) fn of_afml(params: AfmlParams, metric: AfmlMetric, run: bool) -> Self {
        match (metric, run) {
            (AfmlMetric::Tick, false) => BarSpec::TickImbalance(params),
            (AfmlMetric::Volume, false) => BarSpec::VolumeImbalance(params),
            (AfmlMetric::Dollar, false) => BarSpec::DollarImbalance(params),
            (AfmlMetric::Tick, true) => BarSpec::TickRun(params),
            (AfmlMetric::Volume, true) => BarSpec::VolumeRun(params),
            (AfmlMetric::Dollar, true) => BarSpec::DollarRun(params),
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

#[cfg(test)]
mod tests {
    use super::*;

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
