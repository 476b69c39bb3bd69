//! Checkpoint history (issue 15): each market keeps the checkpoints of its `--checkpoint-every`
//! boundaries for a while, so late data can be restated from the last checkpoint before it and
//! a rebuild limited to a window can start at the window (`daedalus run --restate`,
//! `--rebuild --from`), instead of recomputing the market from its first row.
//!
//! Layout under the state directory:
//!
//! ```text
//! _daedalus/history/exchange=<e>/symbol=<s>/<processed_until, 19 digits>.ckpt
//! ```
//!
//! An entry is a byte copy of the market's checkpoint as committed (same frame, same checksum),
//! written atomically after the commit. Only checkpoints without provisional outputs are kept
//! (the end-of-input checkpoint of a batch run lists outputs that the next resume removes).
//! Entries older than the newest minus the retention (`--keep-checkpoints`, default 7 days of
//! event time) are pruned when a new one is recorded. A missing entry only makes a restatement
//! start earlier (ultimately at the market's first row), never wrong.

use crate::manifest::{self, Checkpoint, CheckpointHeader};
use crate::{Result, SinkError};
use std::path::{Path, PathBuf};

/// Default retention of the history, in ns of event time (7 days).
pub const DEFAULT_KEEP_NS: i64 = 7 * 86_400 * 1_000_000_000;

/// Directory of a market's history.
pub fn market_dir(state_dir: &Path, exchange: &str, symbol: &str) -> PathBuf {
    state_dir
        .join("history")
        .join(format!("exchange={exchange}"))
        .join(format!("symbol={symbol}"))
}

/// File name of the entry at `processed_until` (zero-padded: names sort by time).
pub fn entry_name(processed_until: i64) -> String {
    format!("{processed_until:019}.ckpt")
}

fn entry_time(name: &str) -> Option<i64> {
    name.strip_suffix(".ckpt")?.parse().ok()
}

/// A market's history entries, oldest first: `(processed_until, path)`.
pub fn list(state_dir: &Path, exchange: &str, symbol: &str) -> Result<Vec<(i64, PathBuf)>> {
    let dir = market_dir(state_dir, exchange, symbol);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SinkError::Io { path: dir, source }),
    };
    let mut out: Vec<(i64, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            entry_time(&name).map(|t| (t, e.path()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Records `header`/`state` (just committed) as a history entry and prunes entries older than
/// `keep_ns` before it. Checkpoints with provisional outputs, or before 1970, are not recorded.
pub fn record(
    state_dir: &Path,
    header: &CheckpointHeader,
    state: &[u8],
    keep_ns: i64,
) -> Result<()> {
    if header.finished || header.processed_until < 0 || header.outputs.iter().any(|o| o.provisional)
    {
        return Ok(());
    }
    let dir = market_dir(state_dir, &header.exchange, &header.symbol);
    let path = dir.join(entry_name(header.processed_until));
    manifest::write_atomic(&path, &manifest::encode(header, state))?;
    let horizon = header.processed_until.saturating_sub(keep_ns.max(0));
    for (t, p) in list(state_dir, &header.exchange, &header.symbol)? {
        if t < horizon {
            remove_file(&p)?;
        }
    }
    Ok(())
}

/// Removes a file; a missing one is fine.
pub(crate) fn remove_file(p: &Path) -> Result<()> {
    match crate::fault::check(crate::fault::Step::Cleanup, p).and_then(|()| std::fs::remove_file(p))
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SinkError::Io {
            path: p.into(),
            source,
        }),
    }
}

/// The newest entry at or before `t` (ordering time, ns), read back and verified, whose
/// fingerprint is `fingerprint`; `None` when there is none (start from the first row).
pub fn at_or_before(
    state_dir: &Path,
    exchange: &str,
    symbol: &str,
    t: i64,
    fingerprint: &str,
) -> Result<Option<Checkpoint>> {
    for (pu, p) in list(state_dir, exchange, symbol)?.into_iter().rev() {
        if pu > t {
            continue;
        }
        let bytes = std::fs::read(&p).map_err(|source| SinkError::Io {
            path: p.clone(),
            source,
        })?;
        let cp = manifest::decode(&p, &bytes)?;
        if cp.header.config_fingerprint == fingerprint
            && cp.header.exchange == exchange
            && cp.header.symbol == symbol
        {
            return Ok(Some(cp));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{FORMAT_VERSION, OutputFile};

    fn header(pu: i64) -> CheckpointHeader {
        CheckpointHeader {
            format_version: FORMAT_VERSION,
            contract_version: "1".into(),
            producer: "test".into(),
            config_fingerprint: "fp".into(),
            parameters: String::new(),
            exchange: "binance".into(),
            symbol: "BTC-USDT".into(),
            root_id: Some("r".into()),
            processed_until: pu,
            seq: 1,
            written_unix_ms: 0,
            finished: false,
            inputs: vec![],
            outputs: vec![OutputFile {
                path: "silver/x/part-00000.parquet".into(),
                rows: 1,
                provisional: false,
            }],
            quality: Default::default(),
            state_bytes: 3,
        }
    }

    const DAY: i64 = 86_400 * 1_000_000_000;

    #[test]
    fn records_prunes_and_finds_the_newest_entry_at_or_before_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let sd = dir.path();
        for d in 1..=10 {
            record(sd, &header(d * DAY), b"abc", 3 * DAY).unwrap();
        }
        let kept: Vec<i64> = list(sd, "binance", "BTC-USDT")
            .unwrap()
            .iter()
            .map(|e| e.0 / DAY)
            .collect();
        assert_eq!(kept, vec![7, 8, 9, 10]);
        let cp = at_or_before(sd, "binance", "BTC-USDT", 9 * DAY - 1, "fp")
            .unwrap()
            .unwrap();
        assert_eq!(cp.header.processed_until, 8 * DAY);
        assert_eq!(cp.state, b"abc");
        assert!(
            at_or_before(sd, "binance", "BTC-USDT", 6 * DAY, "fp")
                .unwrap()
                .is_none()
        );
        assert!(
            at_or_before(sd, "binance", "BTC-USDT", 9 * DAY, "other")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn checkpoints_with_provisional_outputs_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = header(DAY);
        h.finished = true;
        record(dir.path(), &h, b"", DEFAULT_KEEP_NS).unwrap();
        assert!(list(dir.path(), "binance", "BTC-USDT").unwrap().is_empty());
    }
}
