//! `daedalus inspect`: prints the inventory of a root ([`crate::inspect`]) as a table or JSON.

use crate::args::{FilterArgs, RootArg};
use crate::inspect::{InspectOptions, inspect};
use anyhow::{Result, bail};
use clap::Args;

/// `daedalus inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The root.
    #[command(flatten)]
    pub root: RootArg,
    /// Partition filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Print the inventory as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `daedalus inspect`: prints the inventory; fails (after printing it) when a file could
/// not be read or is from a newer contract version.
pub(crate) fn run(a: &InspectArgs) -> Result<()> {
    let root = a.root.path();
    let inv = inspect(
        root,
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
            root.display()
        );
    }
    if !inv.errors.is_empty() {
        bail!(
            "{} problem(s) under {}; first: {}",
            inv.errors.len(),
            root.display(),
            inv.errors[0]
        );
    }
    Ok(())
}
