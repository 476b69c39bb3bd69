//! Drawing the report's charts as inline SVG: axes and ticks, line charts of bucketed series,
//! candlesticks with volume, VPIN per bucket and the data-quality timeline. Everything is drawn
//! from [`super::load::MarketData`]; nothing here reads files.

use super::load::{Bar, Buckets, EventCounts, MarketData};
use crate::inspect::fmt_ts;
use daedalus_model::time::Nanos;
use std::fmt::Write as _;

pub(super) const W: f64 = 1100.0;
pub(super) const ML: f64 = 120.0;
pub(super) const MR: f64 = 20.0;
pub(super) const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A number for axes and tables: up to 6 significant digits, exponent for extremes.
pub(super) fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let digits = (6 - (a.log10().floor() as i32 + 1)).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "–".into())
}

pub(super) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + step * 1e-9 && v.len() < 50 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

pub(super) fn time_ticks(t0: Nanos, t1: Nanos) -> (Vec<Nanos>, bool) {
    const S: i64 = 1_000_000_000;
    let steps = [
        S / 1000,
        S / 100,
        S / 10,
        S,
        2 * S,
        5 * S,
        10 * S,
        15 * S,
        30 * S,
        60 * S,
        120 * S,
        300 * S,
        600 * S,
        900 * S,
        1800 * S,
        3600 * S,
        7200 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        12 * 3600 * S,
        86400 * S,
        7 * 86400 * S,
        30 * 86400 * S,
    ];
    let span = (t1 - t0).max(1);
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 8)
        .unwrap_or(365 * 86400 * S);
    let mut v = Vec::new();
    let mut t = t0.div_euclid(step) * step;
    if t < t0 {
        t += step;
    }
    while t <= t1 && v.len() < 20 {
        v.push(t);
        t += step;
    }
    (v, span > 86400 * S)
}

pub(super) fn time_label(t: Nanos, with_date: bool) -> String {
    let f = fmt_ts(t);
    if with_date {
        format!("{} {}", &f[5..10], &f[11..16])
    } else {
        f[11..19].to_string()
    }
}

/// A plot area with a shared time axis.
pub(super) struct Frame {
    h: f64,
    mt: f64,
    mb: f64,
    t0: Nanos,
    t1: Nanos,
    y0: f64,
    y1: f64,
}

impl Frame {
    pub(super) fn new(h: f64, t0: Nanos, t1: Nanos, y0: f64, y1: f64) -> Self {
        let (y0, y1) = if y1 > y0 {
            let pad = (y1 - y0) * 0.05;
            (y0 - pad, y1 + pad)
        } else {
            let d = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.01 };
            (y0 - d, y0 + d)
        };
        Frame {
            h,
            mt: 24.0,
            mb: 22.0,
            t0,
            t1: t1.max(t0 + 1),
            y0,
            y1,
        }
    }
    pub(super) fn x(&self, t: Nanos) -> f64 {
        ML + (W - ML - MR) * ((t - self.t0) as f64 / (self.t1 - self.t0) as f64)
    }
    pub(super) fn y(&self, v: f64) -> f64 {
        self.mt + (self.h - self.mt - self.mb) * (1.0 - (v - self.y0) / (self.y1 - self.y0))
    }
    pub(super) fn bottom(&self) -> f64 {
        self.h - self.mb
    }
    /// Grid, axes and labels into `out`.
    pub(super) fn axes(&self, out: &mut String, title: &str, time_labels: bool) {
        let _ = write!(
            out,
            r#"<text class="title" x="{ML}" y="15">{}</text>"#,
            esc(title)
        );
        for v in nice_ticks(self.y0, self.y1, 4) {
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line class="grid" x1="{ML}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="ytick" x="{:.1}" y="{:.1}">{}</text>"##,
                W - MR,
                ML - 4.0,
                y + 4.0,
                num(v)
            );
        }
        let (ticks, with_date) = time_ticks(self.t0, self.t1);
        for t in ticks {
            let x = self.x(t);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/>"#,
                self.mt,
                self.bottom()
            );
            if time_labels {
                // The last label would be clipped at the right edge: right-align it.
                let cls = if x > W - MR - 40.0 {
                    "xtick end"
                } else {
                    "xtick"
                };
                let _ = write!(
                    out,
                    r#"<text class="{cls}" x="{x:.1}" y="{:.1}">{}</text>"#,
                    self.bottom() + 14.0,
                    time_label(t, with_date)
                );
            }
        }
        let _ = write!(
            out,
            r#"<rect class="frame" x="{ML}" y="{}" width="{:.1}" height="{:.1}"/>"#,
            self.mt,
            W - ML - MR,
            self.bottom() - self.mt
        );
    }
}

pub(super) fn svg_open(out: &mut String, chart: &str, h: f64, extra: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" data-chart="{chart}" {extra} viewBox="0 0 {W} {h}" width="{W}" height="{h}">"#
    );
}

pub(super) fn nodata(chart: &str, what: &str) -> String {
    format!(
        r#"<p class="nodata" data-chart="{chart}">{}: no data in this root</p>"#,
        esc(what)
    )
}

/// Line chart of one or more series (already downsampled points).
pub(super) fn line_chart(
    chart: &str,
    title: &str,
    t0: Nanos,
    t1: Nanos,
    series: &[(&str, Vec<(Nanos, f64)>)],
    zero_line: bool,
) -> String {
    let pts: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .collect();
    if pts.is_empty() {
        return nodata(chart, title);
    }
    let lo = pts.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if zero_line {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    };
    let f = Frame::new(180.0, t0, t1, lo, hi);
    let mut out = String::new();
    let drawn: usize = series.iter().map(|s| s.1.len()).sum();
    svg_open(&mut out, chart, f.h, &format!(r#"data-points="{drawn}""#));
    f.axes(&mut out, title, true);
    if zero_line && f.y0 < 0.0 && f.y1 > 0.0 {
        let y = f.y(0.0);
        let _ = write!(
            out,
            r#"<line class="zero" x1="{ML}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
            W - MR
        );
    }
    for (i, (name, p)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if p.len() == 1 {
            let _ = write!(
                out,
                r#"<circle class="series" cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"#,
                f.x(p[0].0),
                f.y(p[0].1)
            );
        } else {
            let mut d = String::with_capacity(p.len() * 14);
            for (j, (t, v)) in p.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if j == 0 { "M" } else { "L" },
                    f.x(*t),
                    f.y(*v)
                );
            }
            let _ = write!(
                out,
                r#"<path class="series" data-series="{}" d="{d}" stroke="{color}"/>"#,
                esc(name)
            );
        }
        let _ = write!(
            out,
            r#"<text class="legend" x="{:.1}" y="15" fill="{color}">{}</text>"#,
            W - MR - 160.0 * (series.len() - i) as f64,
            esc(name)
        );
    }
    out.push_str("</svg>");
    out
}

/// Candles (merged `k` per drawn candle beyond `max` bars) over a volume panel.
pub(super) fn candle_chart(d: &MarketData, max: usize) -> String {
    if d.bars.is_empty() {
        return nodata("candles", "candlesticks (gold time bars)");
    }
    let k = d.bars.len().div_ceil(max.max(1)).max(1);
    let groups: Vec<&[Bar]> = d.bars.chunks(k).collect();
    let lo = d
        .bars
        .iter()
        .filter_map(|b| b.low)
        .fold(f64::INFINITY, f64::min);
    let hi = d
        .bars
        .iter()
        .filter_map(|b| b.high)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let t0 = d.bars[0].ts_open.min(d.t0);
    let t1 = d.bars.last().map_or(d.t1, |b| b.ts_close).max(d.t1);
    let price = Frame::new(300.0, t0, t1, lo, hi);
    let vmax = groups
        .iter()
        .map(|g| g.iter().map(|b| b.volume).sum::<f64>())
        .fold(0.0, f64::max);
    let vol = Frame::new(110.0, t0, t1, 0.0, if vmax > 0.0 { vmax } else { 1.0 });
    let spec = d.bar_spec.clone().unwrap_or_default();
    let mut out = String::new();
    svg_open(
        &mut out,
        "candles",
        price.h + vol.h,
        &format!(
            r#"data-bars="{}" data-candles="{}" data-bar-spec="{}""#,
            d.bars.len(),
            groups.len(),
            esc(&spec)
        ),
    );
    let title = if k > 1 {
        format!("price: {spec} bars, {k} bars per candle (drawing only)")
    } else {
        format!("price: {spec} bars")
    };
    price.axes(&mut out, &title, false);
    let _ = write!(out, r#"<g transform="translate(0,{})">"#, price.h);
    vol.axes(&mut out, "volume (buy / sell)", true);
    out.push_str("</g>");
    for g in &groups {
        candle(&mut out, g, &price, &vol);
    }
    out.push_str("</svg>");
    out
}

/// One candle (of one or more bars) with its buy/sell/unknown volume.
fn candle(out: &mut String, g: &[Bar], price: &Frame, vol: &Frame) {
    let first = &g[0];
    let last = &g[g.len() - 1];
    let x0 = price.x(first.ts_open);
    let x1 = price.x(last.ts_close);
    let w = ((x1 - x0) * 0.7).max(0.6);
    let xc = (x0 + x1) / 2.0;
    let open = g.iter().find_map(|b| b.open);
    let close = g.iter().rev().find_map(|b| b.close);
    let high = g.iter().filter_map(|b| b.high).reduce(f64::max);
    let low = g.iter().filter_map(|b| b.low).reduce(f64::min);
    let volume: f64 = g.iter().map(|b| b.volume).sum();
    let buy: f64 = g.iter().map(|b| b.buy).sum();
    let sell: f64 = g.iter().map(|b| b.sell).sum();
    let trades: i64 = g.iter().map(|b| b.trades).sum();
    let tip = format!(
        "{} O {} H {} L {} C {} V {} n {}",
        &fmt_ts(first.ts_open)[..19],
        opt(open),
        opt(high),
        opt(low),
        opt(close),
        num(volume),
        trades
    );
    match (open, high, low, close) {
        (Some(o), Some(h), Some(l), Some(c)) => {
            let up = c >= o;
            let cls = if up { "up" } else { "down" };
            let (yo, yc) = (price.y(o), price.y(c));
            let top = yo.min(yc);
            let bh = (yo - yc).abs().max(0.8);
            let _ = write!(
                out,
                r#"<g class="candle {cls}" data-bars="{}"><title>{}</title><line x1="{xc:.1}" x2="{xc:.1}" y1="{:.1}" y2="{:.1}"/><rect x="{:.1}" y="{top:.1}" width="{w:.1}" height="{bh:.1}"/></g>"#,
                g.len(),
                esc(&tip),
                price.y(h),
                price.y(l),
                xc - w / 2.0
            );
        }
        _ => {
            let _ = write!(
                out,
                r#"<g class="candle empty" data-bars="{}"><title>{}</title></g>"#,
                g.len(),
                esc(&tip)
            );
        }
    }
    // Volume: buy stacked under sell; unknown-side volume makes up the rest.
    let base = price.h + vol.bottom();
    let yb = price.h + vol.y(buy);
    let ys = price.h + vol.y(buy + sell);
    let yv = price.h + vol.y(volume);
    let _ = write!(
        out,
        r#"<rect class="vol buy" x="{:.1}" y="{yb:.1}" width="{w:.1}" height="{:.1}"/><rect class="vol sell" x="{:.1}" y="{ys:.1}" width="{w:.1}" height="{:.1}"/>"#,
        xc - w / 2.0,
        (base - yb).max(0.0),
        xc - w / 2.0,
        (yb - ys).max(0.0)
    );
    if yv < ys - 0.05 {
        let _ = write!(
            out,
            r#"<rect class="vol unknown" x="{:.1}" y="{yv:.1}" width="{w:.1}" height="{:.1}"/>"#,
            xc - w / 2.0,
            ys - yv
        );
    }
}

pub(super) fn vpin_chart(d: &MarketData, max: usize) -> String {
    if d.vpin_buckets.is_empty() {
        let iv = d.series.get("vpin").map(|b| b.points()).unwrap_or_default();
        if iv.is_empty() {
            return nodata(
                "vpin",
                "VPIN (no completed window: set --vpin-v or --vpin-n)",
            );
        }
        return line_chart(
            "vpin",
            "VPIN per interval",
            d.t0,
            d.t1,
            &[("vpin", iv)],
            false,
        );
    }
    let mut b = Buckets::new(d.t0, d.t1, max / 2);
    for (t, _, v) in &d.vpin_buckets {
        b.push(*t, *v);
    }
    let pts = if d.vpin_buckets.len() <= max {
        d.vpin_buckets.iter().map(|(t, _, v)| (*t, *v)).collect()
    } else {
        b.points()
    };
    let mut s = line_chart(
        "vpin",
        &format!(
            "VPIN after each completed bucket ({} buckets)",
            d.vpin_buckets.len()
        ),
        d.t0,
        d.t1,
        &[("vpin", pts.clone())],
        false,
    );
    // Bucket completion marks (when not too many).
    if pts.len() <= 400
        && let Some(end) = s.rfind("</svg>")
    {
        let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let f = Frame::new(180.0, d.t0, d.t1, lo, hi);
        let mut marks = String::new();
        for (t, v) in &pts {
            let _ = write!(
                marks,
                r#"<circle class="bucket" cx="{:.1}" cy="{:.1}" r="2"/>"#,
                f.x(*t),
                f.y(*v)
            );
        }
        s.insert_str(end, &marks);
    }
    s
}

pub(super) fn quality_chart(d: &MarketData) -> String {
    let rows: Vec<(&str, &EventCounts)> = d.quality.iter().map(|(k, v)| (*k, v)).collect();
    let h = 30.0 + 22.0 * rows.len() as f64 + 22.0;
    let f = Frame {
        h,
        mt: 24.0,
        mb: 22.0,
        t0: d.t0,
        t1: d.t1.max(d.t0 + 1),
        y0: 0.0,
        y1: 1.0,
    };
    let mut out = String::new();
    svg_open(&mut out, "quality", h, "");
    let _ = write!(
        out,
        r#"<text class="title" x="{ML}" y="15">data quality: events over time (count in the tooltip)</text>"#
    );
    let (ticks, with_date) = time_ticks(f.t0, f.t1);
    for t in ticks {
        let x = f.x(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="xtick" x="{x:.1}" y="{:.1}">{}</text>"#,
            f.mt,
            f.bottom(),
            f.bottom() + 14.0,
            time_label(t, with_date)
        );
    }
    for (i, (name, c)) in rows.iter().enumerate() {
        let y = f.mt + 6.0 + 22.0 * i as f64;
        let _ = write!(
            out,
            r#"<text class="ytick" x="{:.1}" y="{:.1}">{} ({})</text><line class="lane" x1="{ML}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
            ML - 4.0,
            y + 12.0,
            esc(name),
            c.total,
            W - MR,
            y + 8.0,
            y + 8.0
        );
        let n = c.counts.len() as i128;
        let span = (c.t1 - c.t0) as i128 + 1;
        for (k, cnt) in c.counts.iter().enumerate() {
            if *cnt == 0 {
                continue;
            }
            let ta = c.t0 + ((k as i128 * span) / n) as i64;
            let tb = c.t0 + (((k as i128 + 1) * span) / n) as i64;
            let x = f.x(ta);
            let w = (f.x(tb) - x).max(2.0);
            let _ = write!(
                out,
                r#"<rect class="event e{i}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="16"><title>{}: {cnt} from {}</title></rect>"#,
                esc(name),
                fmt_ts(ta)
            );
        }
    }
    out.push_str("</svg>");
    out
}
