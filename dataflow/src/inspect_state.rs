//! The state-directory part of `daedalus inspect`: per-market checkpoint headers read through
//! [`daedalus_sinks::manifest`] (the one reader of the checkpoint format), kept apart so the
//! footer inventory does not depend on the checkpoint format's details.

use crate::inspect::CheckpointInfo;
use anyhow::Result;
use std::path::Path;

/// Every market's last checkpoint under `state_dir`, in market order. A corrupt checkpoint is an
/// error naming its file.
pub fn checkpoints(state_dir: &Path) -> Result<Vec<CheckpointInfo>> {
    use daedalus_sinks::manifest;
    let mut out = Vec::new();
    for (exchange, symbol) in manifest::list_markets(state_dir)? {
        let Some(ck) = manifest::load(state_dir, &exchange, &symbol)? else {
            continue;
        };
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
