//! `daedalus report`: writes the HTML report of a root ([`crate::report`]) to a file.

use crate::args::{FilterArgs, RootArg};
use crate::inspect::InspectOptions;
use crate::report::{ReportOptions, build_report};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// `daedalus report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The root (holding `silver/` and `gold/`).
    #[command(flatten)]
    pub root: RootArg,
    /// The HTML file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Partition filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Most points drawn per chart (numbers in tables always use every row).
    #[arg(long, default_value_t = 2000)]
    pub max_points: usize,
}

/// Runs `daedalus report`.
pub(crate) fn run(a: &ReportArgs) -> Result<()> {
    let opts = ReportOptions {
        inspect: InspectOptions {
            filter: a.filter.spec()?,
        },
        max_points: a.max_points.max(10),
    };
    let (html, s) = build_report(a.root.path(), &opts)?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&a.out, &html).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {} ({:.1} KiB): {} market(s): {}",
        a.out.display(),
        s.bytes as f64 / 1024.0,
        s.markets.len(),
        s.markets.join(", ")
    );
    Ok(())
}
