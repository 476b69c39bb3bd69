//! The report's HTML: one section per market (facts table and charts), the run parameters and
//! the inventory, with inline CSS; halved drawing detail until the file fits
//! [`MAX_REPORT_BYTES`].

use super::draw::{candle_chart, esc, line_chart, num, opt, quality_chart, vpin_chart};
use super::load::{Bar, MarketData, load_market};
use crate::inspect::{InspectOptions, Inventory, fmt_ts, inspect};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Largest report written (the acceptance bound is 5 MB).
pub(crate) const MAX_REPORT_BYTES: usize = 5 * 1024 * 1024;

/// Options of [`build_report`].
#[derive(Debug, Clone)]
pub(crate) struct ReportOptions {
    /// Which partitions.
    pub inspect: InspectOptions,
    /// Most points drawn per chart.
    pub max_points: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            inspect: InspectOptions::default(),
            max_points: 2000,
        }
    }
}

/// What a report holds (for the command's summary and tests).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct ReportSummary {
    /// Markets with a section.
    pub markets: Vec<String>,
    /// Time bars per market (of the charted bar spec).
    pub bars: BTreeMap<String, u64>,
    /// The charted bar spec per market (`time_1m`).
    pub bar_spec: BTreeMap<String, String>,
    /// The charted interval spec per market (`1s`).
    pub interval_spec: BTreeMap<String, String>,
    /// Bytes of the HTML.
    pub bytes: usize,
    /// Points per chart actually used (halved from `--max-points` until the file fits 5 MB).
    pub max_points: usize,
}

/// One market's section: the facts table and its charts.
fn market_section(d: &MarketData, max: usize) -> String {
    let mut out = String::new();
    let id: String = d
        .market
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let _ = write!(
        out,
        r#"<section class="market" id="m-{id}" data-market="{}"><h2>{}</h2>"#,
        esc(&d.market),
        esc(&d.market)
    );
    facts_table(&mut out, d);
    out.push_str(&candle_chart(d, max));
    let pts = |k: &str| d.series.get(k).map(|b| b.points()).unwrap_or_default();
    let iv = d.interval_spec.clone().unwrap_or_default();
    out.push_str(&line_chart(
        "ofi",
        &format!("OFI per {iv} interval"),
        d.t0,
        d.t1,
        &[("ofi", pts("ofi"))],
        true,
    ));
    out.push_str(&line_chart(
        "tfi",
        &format!("TFI per {iv} interval"),
        d.t0,
        d.t1,
        &[("tfi", pts("tfi"))],
        true,
    ));
    out.push_str(&vpin_chart(d, max));
    let mut spread_series = vec![("book rel spread (bps)", pts("rel_spread_bps"))];
    if spread_series[0].1.is_empty() {
        spread_series = vec![("ticker rel spread (bps)", pts("ticker_rel_spread_bps"))];
    }
    out.push_str(&line_chart(
        "spread",
        "relative spread (bps)",
        d.t0,
        d.t1,
        &spread_series,
        false,
    ));
    out.push_str(&line_chart(
        "depth",
        "depth imbalance",
        d.t0,
        d.t1,
        &[
            ("depth_imbalance_5", pts("depth_imbalance_5")),
            ("depth_imbalance_10", pts("depth_imbalance_10")),
        ],
        true,
    ));
    out.push_str(&line_chart(
        "kyle",
        &format!("Kyle's lambda per {iv} interval"),
        d.t0,
        d.t1,
        &[("kyle_lambda", pts("kyle_lambda"))],
        true,
    ));
    out.push_str(&quality_chart(d));
    out.push_str("</section>");
    out
}

/// The market's exact numbers (computed from every row), as a table.
fn facts_table(out: &mut String, d: &MarketData) {
    let bars_n = d.bars.len();
    let traded: Vec<&Bar> = d.bars.iter().filter(|b| b.open.is_some()).collect();
    let high = traded.iter().filter_map(|b| b.high).reduce(f64::max);
    let low = traded.iter().filter_map(|b| b.low).reduce(f64::min);
    let volume: f64 = d.bars.iter().map(|b| b.volume).sum();
    let trades: i64 = d.bars.iter().map(|b| b.trades).sum();
    let st = |k: &str| d.series.get(k).map(|b| b.stat.clone()).unwrap_or_default();
    let _ = write!(
        out,
        r#"<table class="facts"><tr><th>range</th><td>{} .. {}</td><th>bars ({})</th><td class="n" data-fact="bars">{bars_n}</td><th>empty bars</th><td class="n">{}</td></tr>"#,
        fmt_ts(d.t0),
        fmt_ts(d.t1),
        esc(d.bar_spec.as_deref().unwrap_or("none")),
        bars_n - traded.len()
    );
    let _ = write!(
        out,
        r#"<tr><th>open / high / low / close</th><td>{} / {} / {} / {}</td><th>volume</th><td class="n">{}</td><th>trades</th><td class="n">{trades}</td></tr>"#,
        opt(traded.first().and_then(|b| b.open)),
        opt(high),
        opt(low),
        opt(traded.last().and_then(|b| b.close)),
        num(volume)
    );
    let spread = st("rel_spread_bps");
    let kyle = st("kyle_lambda");
    let ofi = st("ofi");
    let tfi = st("tfi");
    let _ = write!(
        out,
        r#"<tr><th>spread bps mean / min / max</th><td>{} / {} / {}</td><th>VPIN buckets</th><td class="n">{}</td><th>last VPIN</th><td class="n">{}</td></tr>"#,
        opt(spread.mean()),
        opt(spread.min),
        opt(spread.max),
        d.vpin_buckets.len(),
        opt(d.vpin_buckets.last().map(|x| x.2))
    );
    let _ = write!(
        out,
        r#"<tr><th>intervals ({}) OFI sum / TFI mean</th><td>{} / {}</td><th>Kyle λ mean</th><td class="n">{}</td><th>Kyle λ last</th><td class="n">{}</td></tr>"#,
        esc(d.interval_spec.as_deref().unwrap_or("none")),
        num(ofi.sum),
        opt(tfi.mean()),
        opt(kyle.mean()),
        opt(kyle.last)
    );
    let q: Vec<String> = d
        .quality
        .iter()
        .map(|(k, v)| format!("{k} {}", v.total))
        .collect();
    let rows: Vec<String> = d.rows.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = write!(
        out,
        r#"<tr><th>quality events</th><td colspan="5">{}</td></tr><tr><th>rows</th><td colspan="5">{}</td></tr></table>"#,
        esc(&q.join(" · ")),
        esc(&rows.join(" · "))
    );
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;margin:4px 0;font-size:10px}
svg .title{font-size:12px;font-weight:600;fill:#333}
svg .legend{font-size:11px}
svg .grid{stroke:#eee;stroke-width:1}
svg .frame{fill:none;stroke:#999;stroke-width:1}
svg .zero{stroke:#888;stroke-dasharray:3 3}
svg .ytick{text-anchor:end;fill:#555}
svg .xtick{text-anchor:middle;fill:#555}svg .xtick.end{text-anchor:end}
svg path.series{fill:none;stroke-width:1.2}
svg .candle line{stroke:#444;stroke-width:1}
svg .candle.up rect{fill:#2ca02c;stroke:#1d6b1d}
svg .candle.down rect{fill:#d62728;stroke:#8b1a1a}
svg .vol.buy{fill:#2ca02c;opacity:.6}svg .vol.sell{fill:#d62728;opacity:.6}svg .vol.unknown{fill:#999;opacity:.6}
svg .bucket{fill:#1f77b4}
svg .lane{stroke:#eee}
svg .event{fill:#d62728;opacity:.8}svg .event.e1{fill:#ff7f0e}svg .event.e2{fill:#9467bd}svg .event.e3{fill:#8c564b}svg .event.e4{fill:#17becf}svg .event.e5{fill:#e377c2}
pre{font-size:11px;background:#f8f8f8;padding:6px;white-space:pre-wrap}
.nodata{color:#888;font-style:italic}
"#;

/// Builds the report's HTML for a root. Errors (naming the file) on an empty root, unreadable
/// files or a newer contract version; never panics on bad input.
pub(crate) fn build_report(root: &Path, opts: &ReportOptions) -> Result<(String, ReportSummary)> {
    let mut max = opts.max_points.max(10);
    loop {
        let (html, s) = build_report_once(root, opts, max)?;
        if html.len() <= MAX_REPORT_BYTES {
            return Ok((html, s));
        }
        if max <= 100 {
            bail!(
                "report would be {:.1} MB even at {max} points per chart, over the 5 MB bound: narrow it with --exchange/--symbol/--from/--to",
                html.len() as f64 / 1048576.0
            );
        }
        tracing::info!(
            "report: {:.1} MB at {max} points per chart; drawing fewer points to stay under 5 MB",
            html.len() as f64 / 1048576.0
        );
        max /= 2;
    }
}

fn build_report_once(
    root: &Path,
    opts: &ReportOptions,
    max: usize,
) -> Result<(String, ReportSummary)> {
    let inv = inspect(root, &opts.inspect)?;
    if !inv.errors.is_empty() {
        bail!(
            "cannot report on {}: {} problem(s):\n  {}",
            root.display(),
            inv.errors.len(),
            inv.errors.join("\n  ")
        );
    }
    let markets = reported_markets(&inv, root)?;
    let mut summary = ReportSummary::default();
    let mut html = head_and_nav(&inv, &markets, max);
    for m in &markets {
        let d = load_market(&inv, m, max).with_context(|| format!("market {m}"))?;
        summary.markets.push(m.clone());
        summary.bars.insert(m.clone(), d.bars.len() as u64);
        if let Some(s) = &d.bar_spec {
            summary.bar_spec.insert(m.clone(), s.clone());
        }
        if let Some(s) = &d.interval_spec {
            summary.interval_spec.insert(m.clone(), s.clone());
        }
        html.push_str(&market_section(&d, max));
    }
    html.push_str(&super::cross::section(&inv, max).context("silver/cross")?);
    html.push_str(&params_section(&inv));
    html.push_str(&inventory_section(&inv));
    html.push_str("</body></html>\n");
    summary.bytes = html.len();
    summary.max_points = max;
    Ok((html, summary))
}

/// The markets with silver or gold rows (not cross), or an error when there are none.
fn reported_markets(inv: &Inventory, root: &Path) -> Result<BTreeSet<String>> {
    let markets: BTreeSet<String> = inv
        .partitions
        .iter()
        .filter(|p| p.layer != "bronze" && p.dataset != "cross" && p.rows > 0)
        .map(|p| p.market())
        .collect();
    if markets.is_empty() {
        bail!(
            "{}: no silver or gold rows to report on{} (run `daedalus run --root {}` first)",
            root.display(),
            if inv.partitions.is_empty() {
                ""
            } else {
                " for these filters"
            },
            root.display()
        );
    }
    Ok(markets)
}

/// The document's head, title line and the table of markets linking to their sections.
fn head_and_nav(inv: &Inventory, markets: &BTreeSet<String>, max: usize) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>daedalus report: {}</title><style>{CSS}</style></head><body><h1>daedalus report</h1><p class="meta">root <code>{}</code> · {} market(s) · produced by {} (contract version {}) · charts draw at most {max} points each (min/max per time bucket); every number in the tables uses every row</p>"#,
        esc(&inv.root),
        esc(&inv.root),
        markets.len(),
        esc(daedalus_model::PRODUCER),
        esc(daedalus_model::CONTRACT_VERSION)
    );
    html.push_str(r#"<nav><table><tr><th>market</th></tr>"#);
    for m in markets {
        let id: String = m
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let _ = write!(
            html,
            r##"<tr><td><a href="#m-{id}">{}</a></td></tr>"##,
            esc(m)
        );
    }
    html.push_str("</table></nav>");
    html
}

/// The run parameters recorded in the files, one block per distinct configuration.
fn params_section(inv: &Inventory) -> String {
    let mut html = String::from(r#"<h2 id="params">run parameters</h2>"#);
    if inv.run_configs.is_empty() {
        html.push_str(r#"<p class="nodata">no run parameters recorded in the files</p>"#);
    }
    for (i, rc) in inv.run_configs.iter().enumerate() {
        let _ = write!(
            html,
            r#"<p>#{}</p><pre class="params">{}</pre>"#,
            i + 1,
            esc(&serde_json::to_string_pretty(rc).unwrap_or_default())
        );
    }
    html
}

/// The inventory table (per dataset and market) and the state directory line.
fn inventory_section(inv: &Inventory) -> String {
    let mut html = String::from(
        r#"<h2 id="inventory">inventory</h2><table><tr><th>dataset</th><th>market</th><th>dates</th><th>files</th><th>rows</th><th>bytes</th><th>first</th><th>last</th><th>staged</th></tr>"#,
    );
    for t in &inv.markets {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}/{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            esc(&t.dataset),
            esc(&t.exchange),
            esc(&t.symbol),
            t.dates,
            t.files,
            t.rows,
            t.bytes,
            t.min_ts.map(fmt_ts).unwrap_or_default(),
            t.max_ts.map(fmt_ts).unwrap_or_default(),
            t.staged_files
        );
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        r#"<p class="meta">state directory {}: {}</p>"#,
        esc(&inv.state.dir),
        if inv.state.present {
            format!("{} checkpoint(s)", inv.state.checkpoints.len())
        } else {
            "absent".into()
        }
    );
    html
}
