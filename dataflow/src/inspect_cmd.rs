//! Arguments and entry points of `daedalus inspect` (the inventory itself is [`crate::inspect`]).

use crate::config::FilterSpec;
use crate::inspect::{InspectOptions, inspect};
use anyhow::{Result, bail};
use clap::Args;
use std::path::PathBuf;

/// Partition filters of `inspect` and `report` (exact values, pruned by path).
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Keep only this exchange (repeatable).
    #[arg(long)]
    pub exchange: Vec<String>,
    /// Keep only this symbol (repeatable).
    #[arg(long)]
    pub symbol: Vec<String>,
    /// First UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

impl FilterArgs {
    /// The filter spec (dates validated).
    pub fn spec(&self) -> Result<FilterSpec> {
        let f = FilterSpec {
            exchange: self.exchange.clone(),
            symbol: self.symbol.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        };
        f.date_bounds()?;
        Ok(f)
    }
}

/// `daedalus inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The root (holding `bronze/`, `silver/`, `gold/`, `_daedalus/`).
    pub root: PathBuf,
    /// Partition filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Print the inventory as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `daedalus inspect`: prints the inventory; fails (after printing it) when a file could
/// not be read or is from a newer contract version.
pub fn cmd_inspect(a: &InspectArgs) -> Result<()> {
    let inv = inspect(
        &a.root,
        &InspectOptions {
            filter: a.filter.spec()?,
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&inv)?);
    } else {
        print!("{}", inv.render_text());
    }
    if inv.partitions.is_empty() {
        bail!(
            "{}: no partition matches (layers present, but no exchange=/symbol=/date= partition passes the filter)",
            a.root.display()
        );
    }
    if !inv.errors.is_empty() {
        bail!(
            "{} problem(s) under {}; first: {}",
            inv.errors.len(),
            a.root.display(),
            inv.errors[0]
        );
    }
    Ok(())
}
