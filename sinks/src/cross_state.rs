//! The commit record of one `silver/cross` group (CONTRACT §11): `<state>/cross/<BASE>.ckpt`.
//!
//! A group's rows are written by one worker and committed at the same aligned boundaries as the
//! market checkpoints (and at the end of a run): the parts are finished and fsynced, this record
//! is written atomically (the commit point), then the parts are renamed into place. The record
//! lists the committed parts, the time before which every row is committed, and the group's
//! window state (the interval points the next rows need), which a resumed run inserts again.
//! [`recover_group`] rolls a crash between the commit point and the renames forward and removes
//! staged parts no record lists.

use crate::atomic::{is_staged_name, staged_name};
use crate::manifest::write_atomic;
use crate::{Result, SinkError};
use arrow_array::Array;
use daedalus_model::cross::CrossPoint;
use daedalus_model::time::Nanos;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format of the record (bumped on any change of [`GroupCheckpoint`]).
pub const CROSS_FORMAT_VERSION: u32 = 1;

/// One saved interval point: (grid index, market key, is the reference, point).
pub type SavedPoint = (u8, u64, bool, CrossPoint);

/// The committed state of one group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupCheckpoint {
    /// [`CROSS_FORMAT_VERSION`].
    pub format_version: u32,
    /// The run configuration's fingerprint (a resumed run must have the same).
    pub config_fingerprint: String,
    /// The group's base.
    pub base: String,
    /// Every row with `ts_close` before this is committed.
    pub processed_until: Nanos,
    /// Committed parts, relative to the root.
    pub outputs: Vec<String>,
    /// The points the rows from `processed_until` on need (and any later point already
    /// received, which the markets will not emit again).
    pub points: Vec<SavedPoint>,
}

/// `<state>/cross/<BASE>.ckpt`.
pub fn group_path(state_dir: &Path, base: &str) -> PathBuf {
    state_dir.join("cross").join(format!("{base}.ckpt"))
}

/// Writes the record atomically (the group's commit point).
pub fn store_group(state_dir: &Path, ck: &GroupCheckpoint) -> Result<()> {
    let bytes = bincode::serialize(ck).map_err(|e| SinkError::Io {
        path: group_path(state_dir, &ck.base),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&group_path(state_dir, &ck.base), &bytes)
}

/// The record of a group, if any.
pub fn load_group(state_dir: &Path, base: &str) -> Result<Option<GroupCheckpoint>> {
    let path = group_path(state_dir, base);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SinkError::Io { path, source }),
    };
    let ck: GroupCheckpoint = bincode::deserialize(&bytes).map_err(|e| SinkError::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    if ck.format_version != CROSS_FORMAT_VERSION {
        return Err(SinkError::Io {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "cross checkpoint format {} (this release reads {CROSS_FORMAT_VERSION})",
                    ck.format_version
                ),
            ),
        });
    }
    Ok(Some(ck))
}

/// Rolls the group's committed staged parts forward (renamed into place) and removes staged
/// parts of its partitions that no record lists. Returns how many were rolled forward.
pub fn recover_group(root: &Path, ck: Option<&GroupCheckpoint>, base: &str) -> Result<usize> {
    let listed: std::collections::BTreeSet<&str> = ck
        .map(|c| c.outputs.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut rolled = 0;
    for rel in &listed {
        let target = root.join(rel);
        let name = target.file_name().map(|n| n.to_string_lossy().to_string());
        let staged = target.with_file_name(staged_name(&name.unwrap_or_default()));
        if !target.exists() && staged.exists() {
            std::fs::rename(&staged, &target).map_err(|source| SinkError::Io {
                path: target.clone(),
                source,
            })?;
            rolled += 1;
        }
    }
    for dir in group_dirs(root, base) {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if is_staged_name(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(rolled)
}

/// The interval points of a market's committed `silver/intervals` file `rel` (relative to
/// `root`) with `ts_close > after`: what a resumed group needs when the market's checkpoint is
/// ahead of the group's record (the market does not emit those intervals again).
pub fn read_interval_points(root: &Path, rel: &str, after: Nanos) -> Result<Vec<CrossPoint>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, TimestampNanosecondType};
    let mut path = root.join(rel);
    if !path.exists() {
        // Committed but not renamed yet (its market's roll-forward runs later): the staged file.
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        path = path.with_file_name(staged_name(&name.unwrap_or_default()));
    }
    let io = |e: String| SinkError::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    };
    let file = std::fs::File::open(&path).map_err(|source| SinkError::Io {
        path: path.clone(),
        source,
    })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| io(e.to_string()))?;
    let mut out = Vec::new();
    for batch in reader {
        let b = batch.map_err(|e| io(e.to_string()))?;
        let col = |n: &str| {
            b.column_by_name(n)
                .ok_or_else(|| io(format!("no column {n}")))
        };
        let ts = |n: &str| -> Result<_> {
            col(n)?
                .as_primitive_opt::<TimestampNanosecondType>()
                .cloned()
                .ok_or_else(|| io(format!("{n} is not a timestamp")))
        };
        let f = |n: &str| -> Result<_> {
            col(n)?
                .as_primitive_opt::<Float64Type>()
                .cloned()
                .ok_or_else(|| io(format!("{n} is not float64")))
        };
        let (open, close) = (ts("ts_open")?, ts("ts_close")?);
        let (mid, ofi, tfi, sv) = (f("mid_close")?, f("ofi")?, f("tfi")?, f("signed_volume")?);
        for i in 0..b.num_rows() {
            if close.value(i) <= after {
                continue;
            }
            let opt = |a: &arrow_array::Float64Array| a.is_valid(i).then(|| a.value(i));
            out.push(CrossPoint {
                ts_open: open.value(i),
                ts_close: close.value(i),
                mid: opt(&mid),
                ofi: ofi.value(i),
                tfi: opt(&tfi),
                signed_volume: sv.value(i),
            });
        }
    }
    Ok(out)
}

/// `<root>/silver/cross/interval=*/base=<base>/date=*` directories that exist.
fn group_dirs(root: &Path, base: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let specs = std::fs::read_dir(root.join("silver").join("cross"));
    for spec in specs.into_iter().flatten().flatten() {
        let b = spec.path().join(format!("base={base}"));
        for d in std::fs::read_dir(&b).into_iter().flatten().flatten() {
            out.push(d.path());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_recovery_rolls_committed_parts_forward() {
        let dir = tempfile::tempdir().unwrap();
        let (root, state) = (dir.path().join("root"), dir.path().join("state"));
        let rel = "silver/cross/interval=1s/base=BTC/date=2024-01-01/part-00000.parquet";
        let part = root.join(rel);
        std::fs::create_dir_all(part.parent().unwrap()).unwrap();
        std::fs::write(part.with_file_name(staged_name("part-00000.parquet")), b"x").unwrap();
        std::fs::write(part.with_file_name(staged_name("part-00001.parquet")), b"y").unwrap();
        let ck = GroupCheckpoint {
            format_version: CROSS_FORMAT_VERSION,
            config_fingerprint: "f".into(),
            base: "BTC".into(),
            processed_until: 7,
            outputs: vec![rel.into()],
            points: vec![],
        };
        store_group(&state, &ck).unwrap();
        let back = load_group(&state, "BTC").unwrap().unwrap();
        assert_eq!(back, ck);
        assert_eq!(recover_group(&root, Some(&back), "BTC").unwrap(), 1);
        assert!(part.exists());
        let left: Vec<_> = std::fs::read_dir(part.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "the unlisted staged part is removed");
        assert!(load_group(&state, "ETH").unwrap().is_none());
    }
}
