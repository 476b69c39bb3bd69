//! The report's `silver/cross` section (issue 18): per group and market pair, the row count,
//! mean and last `spread_bps`, mean rolling `corr`, and a chart of `spread_bps` and the rolling
//! correlation over time (at most `max` points per series, evenly thinned).

use super::draw::{esc, line_chart, opt};
use super::load::{col_f64, col_ts, for_each_batch, partition_dir};
use crate::inspect::Inventory;
use anyhow::Result;
use arrow_array::cast::AsArray;
use daedalus_model::time::Nanos;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One pair's series: (ts_open, spread_bps, corr).
type Series = Vec<(Nanos, Option<f64>, Option<f64>)>;

/// Every pair's series, keyed `(interval spec, market)`.
fn load(inv: &Inventory) -> Result<BTreeMap<(String, String), Series>> {
    let mut out: BTreeMap<(String, String), Series> = BTreeMap::new();
    for p in inv.partitions.iter().filter(|p| p.dataset == "cross") {
        let dir = partition_dir(Path::new(&inv.root), p);
        let files = crate::inspect::committed_files(&dir)?;
        let spec = p.spec.clone().unwrap_or_default();
        let cols = ["ts_open", "exchange", "symbol", "spread_bps", "corr"];
        for_each_batch(&files, &cols, |b| {
            let ts = col_ts(b, "ts_open")?;
            let (sp, co) = (col_f64(b, "spread_bps"), col_f64(b, "corr"));
            let ex = b
                .column_by_name("exchange")
                .and_then(|c| c.as_string_opt::<i32>());
            let sy = b
                .column_by_name("symbol")
                .and_then(|c| c.as_string_opt::<i32>());
            let (Some(sp), Some(co), Some(ex), Some(sy)) = (sp, co, ex, sy) else {
                anyhow::bail!("not a silver/cross file (columns missing)");
            };
            for i in 0..ts.len() {
                let m = format!("{}/{}", ex.value(i), sy.value(i));
                let e = out.entry((spec.clone(), m)).or_default();
                e.push((ts[i], sp[i], co[i]));
            }
            Ok(())
        })?;
    }
    for s in out.values_mut() {
        s.sort_by_key(|x| x.0);
    }
    Ok(out)
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = v.fold((0u64, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64)
}

/// Every `k`-th point so at most `max` are drawn.
fn thin(
    s: &Series,
    max: usize,
    pick: impl Fn(&(Nanos, Option<f64>, Option<f64>)) -> Option<f64>,
) -> Vec<(Nanos, f64)> {
    let k = s.len().div_ceil(max.max(1)).max(1);
    s.iter()
        .step_by(k)
        .filter_map(|x| pick(x).map(|v| (x.0, v)))
        .collect()
}

/// The section's HTML; empty when the root has no `silver/cross`.
pub(super) fn section(inv: &Inventory, max: usize) -> Result<String> {
    let pairs = load(inv)?;
    if pairs.is_empty() {
        return Ok(String::new());
    }
    let mut html = String::from(
        r#"<h2 id="cross">cross-market (silver/cross)</h2><table><tr><th>interval</th><th>market (vs its group's reference)</th><th>rows</th><th>spread_bps mean</th><th>spread_bps last</th><th>corr mean</th></tr>"#,
    );
    for ((spec, m), s) in &pairs {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(spec),
            esc(m),
            s.len(),
            opt(mean(s.iter().filter_map(|x| x.1))),
            opt(s.iter().rev().find_map(|x| x.1)),
            opt(mean(s.iter().filter_map(|x| x.2))),
        );
    }
    html.push_str("</table>");
    for ((spec, m), s) in &pairs {
        let (t0, t1) = (s[0].0, s[s.len() - 1].0.max(s[0].0 + 1));
        let title = format!("{m} ({spec})");
        html.push_str(&line_chart(
            "cross-spread",
            &format!("{title}: spread_bps"),
            t0,
            t1,
            &[("spread_bps", thin(s, max, |x| x.1))],
            true,
        ));
        html.push_str(&line_chart(
            "cross-corr",
            &format!("{title}: rolling corr"),
            t0,
            t1,
            &[("corr", thin(s, max, |x| x.2))],
            true,
        ));
    }
    Ok(html)
}
