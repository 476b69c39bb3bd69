//! The state-directory part of `daedalus inspect`: per-market checkpoint headers read through
//! [`daedalus_sinks::manifest`] (the one reader of the checkpoint format), kept apart so the
//! footer inventory does not depend on the checkpoint format's details. A leaf: the inventory
//! imports it, never the reverse.

use anyhow::Result;
use daedalus_model::time::Nanos;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One market's checkpoint in the state directory.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CheckpointInfo {
    /// Exchange.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// Checkpoint sequence number.
    pub seq: u64,
    /// Every bronze row with ordering time below this (ns) is covered.
    pub processed_until: Nanos,
    /// Wall clock when written (ms since the Unix epoch).
    pub written_unix_ms: u64,
    /// The market's input was finished (end of a batch run).
    pub finished: bool,
    /// Output files the checkpoint commits.
    pub committed_files: u64,
    /// Rows in those files.
    pub committed_rows: u64,
    /// Bronze files consumed.
    pub input_files: u64,
    /// Quality counters of the market so far.
    pub quality: BTreeMap<String, u64>,
}

/// Every market's last checkpoint under `state_dir`, in market order, and into `missing` a
/// problem for each output file a checkpoint lists that is neither in place under `root` nor
/// staged (issue 16: `inspect` reports them and exits non-zero; the next `run` would stop on
/// them). A corrupt checkpoint is an error naming its file.
pub(crate) fn checkpoints(
    root: &Path,
    state_dir: &Path,
    missing: &mut Vec<String>,
) -> Result<Vec<CheckpointInfo>> {
    use daedalus_sinks::manifest;
    let mut out = Vec::new();
    for (exchange, symbol) in manifest::list_markets(state_dir)? {
        let Some(ck) = manifest::load(state_dir, &exchange, &symbol)? else {
            continue;
        };
        for o in &ck.header.outputs {
            let p = root.join(&o.path);
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let staged = p.with_file_name(format!(".{name}.inprogress"));
            if !p.exists() && !staged.exists() {
                missing.push(format!(
                    "{}: listed as committed by the checkpoint of {exchange}/{symbol} but missing: restore it or rerun with --rebuild",
                    p.display()
                ));
            }
        }
        let h = ck.header;
        out.push(CheckpointInfo {
            exchange,
            symbol,
            seq: h.seq,
            processed_until: h.processed_until,
            written_unix_ms: h.written_unix_ms,
            finished: h.finished,
            committed_files: h.outputs.len() as u64,
            committed_rows: h.outputs.iter().map(|o| o.rows).sum(),
            input_files: h.inputs.len() as u64,
            quality: h.quality,
        });
    }
    Ok(out)
}
