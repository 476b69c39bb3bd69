//! Recompute, then replace (issue 15): the commit of a rebuild or restatement of one market.
//!
//! A rebuild or restatement computes a market's new outputs, checkpoints and checkpoint history
//! into a **shadow** (`<root>/_daedalus/shadow/{out,state}`: the same layout as a root and a
//! state directory, on the root's filesystem so outputs move in by rename) while the previous
//! outputs and checkpoint stay in force and readable. Only when the whole recomputation
//! succeeded is the market switched over, in one commit:
//!
//! 1. a **swap journal** `<state_dir>/swap/exchange=<e>/symbol=<s>.json` is written atomically
//!    (temporary, fsync, rename, directory fsync): it lists the output files to move in (by their
//!    final path), the previous output files to remove, the history entries to copy in or remove,
//!    and what happens to the checkpoint. **Writing it is the commit point.**
//! 2. the journal is applied: outputs renamed from the shadow over their final names, removed
//!    outputs deleted, history entries and the checkpoint copied in atomically, directories
//!    fsynced;
//! 3. the journal is removed; once every market is switched, the shadow is removed.
//!
//! Every step of 2 is idempotent (a move whose source is gone was done; a removal of a missing
//! file was done; copies are re-done from the shadow, which stays until the journal is gone), so
//! a crash anywhere after 1 is rolled forward by [`recover`] at the start of the next command
//! that writes the root, and a crash before 1 leaves the previous state untouched: [`recover`]
//! then just removes the shadow.

use crate::atomic::fsync_dir;
use crate::fault::{self, Step};
use crate::manifest::{self, checkpoint_path};
use crate::{Result, SinkError, history};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The shadow of a root: `<root>/_daedalus/shadow`.
pub fn shadow_dir(root: &Path) -> PathBuf {
    root.join("_daedalus").join("shadow")
}

/// The shadow's output root (silver and gold of the recomputation).
pub fn shadow_out(root: &Path) -> PathBuf {
    shadow_dir(root).join("out")
}

/// The shadow's state directory (checkpoints and history of the recomputation).
pub fn shadow_state(root: &Path) -> PathBuf {
    shadow_dir(root).join("state")
}

/// What the swap does with the market's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSwap {
    /// Copy the shadow's checkpoint of the market over the live one.
    Install,
    /// Remove the live checkpoint (the market has no bronze left).
    Remove,
}

/// The switch-over of one market (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapJournal {
    /// Exchange of the market.
    pub exchange: String,
    /// Symbol of the market.
    pub symbol: String,
    /// Output files (relative to the root) moved from the shadow's output tree into place.
    pub outputs_in: Vec<String>,
    /// Output files (relative to the root) removed.
    pub outputs_removed: Vec<String>,
    /// History entry names copied from the shadow's history of the market.
    pub history_in: Vec<String>,
    /// History entry names removed from the live history of the market.
    pub history_removed: Vec<String>,
    /// What happens to the checkpoint.
    pub checkpoint: CheckpointSwap,
}

fn journal_path(state_dir: &Path, exchange: &str, symbol: &str) -> PathBuf {
    state_dir
        .join("swap")
        .join(format!("exchange={exchange}"))
        .join(format!("symbol={symbol}.json"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.into(),
        source,
    }
}

/// Commits and applies one market's switch-over: writes the journal (the commit point), applies
/// it, removes it. An error before the journal is written changes nothing; after, the next
/// [`recover`] finishes the switch.
pub fn commit(root: &Path, state_dir: &Path, j: &SwapJournal) -> Result<()> {
    let path = journal_path(state_dir, &j.exchange, &j.symbol);
    let json = serde_json::to_vec_pretty(j).expect("journal serializes");
    manifest::write_atomic(&path, &json)?;
    apply(root, state_dir, j)?;
    history::remove_file(&path)?;
    fsync_dir(path.parent().unwrap_or(state_dir))
}

/// Applies a committed journal (idempotent).
fn apply(root: &Path, state_dir: &Path, j: &SwapJournal) -> Result<()> {
    let shadow = shadow_out(root);
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for rel in &j.outputs_in {
        let (from, to) = (shadow.join(rel), root.join(rel));
        let dir = to.parent().unwrap_or(root).to_path_buf();
        if from.exists() {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            fault::check(Step::Rename, &to)
                .and_then(|()| std::fs::rename(&from, &to))
                .map_err(io(&to))?;
        } else if !to.exists() {
            return Err(SinkError::Checkpoint {
                path: to,
                detail: "a committed swap lists this file but neither it nor its shadow copy exists: rerun with --rebuild".into(),
            });
        }
        dirs.insert(dir);
    }
    for rel in &j.outputs_removed {
        let p = root.join(rel);
        history::remove_file(&p)?;
        dirs.insert(p.parent().unwrap_or(root).to_path_buf());
    }
    for d in &dirs {
        if d.exists() {
            fsync_dir(d)?;
        }
    }
    apply_state(root, state_dir, j)
}

/// The history and checkpoint part of [`apply`]: copies from the shadow's state directory.
fn apply_state(root: &Path, state_dir: &Path, j: &SwapJournal) -> Result<()> {
    let (e, s) = (&j.exchange, &j.symbol);
    let live = history::market_dir(state_dir, e, s);
    for name in &j.history_removed {
        history::remove_file(&live.join(name))?;
    }
    let shadow_hist = history::market_dir(&shadow_state(root), e, s);
    for name in &j.history_in {
        let from = shadow_hist.join(name);
        if let Ok(bytes) = std::fs::read(&from) {
            manifest::write_atomic(&live.join(name), &bytes)?;
        }
    }
    let live_ck = checkpoint_path(state_dir, e, s);
    match j.checkpoint {
        CheckpointSwap::Install => {
            let from = checkpoint_path(&shadow_state(root), e, s);
            match std::fs::read(&from) {
                Ok(bytes) => manifest::write_atomic(&live_ck, &bytes)?,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && live_ck.exists() => {}
                Err(err) => return Err(io(&from)(err)),
            }
        }
        CheckpointSwap::Remove => history::remove_file(&live_ck)?,
    }
    Ok(())
}

/// Journals of switch-overs committed but not finished (a crash), by market.
pub fn pending(state_dir: &Path) -> Result<Vec<SwapJournal>> {
    let base = state_dir.join("swap");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&base) else {
        return Ok(out);
    };
    for ex in rd.flatten() {
        let Ok(files) = std::fs::read_dir(ex.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if !name.starts_with("symbol=") || !name.ends_with(".json") {
                continue; // a dot-named temporary of an uncommitted journal
            }
            let p = f.path();
            let bytes = std::fs::read(&p).map_err(io(&p))?;
            let j: SwapJournal =
                serde_json::from_slice(&bytes).map_err(|e| SinkError::Checkpoint {
                    path: p.clone(),
                    detail: format!("unreadable swap journal: {e}"),
                })?;
            out.push(j);
        }
    }
    Ok(out)
}

/// Finishes every committed switch-over (roll forward), then removes the shadow (an
/// uncommitted recomputation: roll back). Returns the number of journals applied. Run before
/// anything reads checkpoints; by one process of a cluster only.
pub fn recover(root: &Path, state_dir: &Path) -> Result<usize> {
    let journals = pending(state_dir)?;
    for j in &journals {
        apply(root, state_dir, j)?;
        let p = journal_path(state_dir, &j.exchange, &j.symbol);
        history::remove_file(&p)?;
    }
    remove_shadow(root)?;
    Ok(journals.len())
}

/// Removes the shadow directory (nothing committed refers to it once no journal is pending).
pub fn remove_shadow(root: &Path) -> Result<()> {
    let dir = shadow_dir(root);
    if !dir.exists() {
        return Ok(());
    }
    match fault::check(Step::Cleanup, &dir).and_then(|()| std::fs::remove_dir_all(&dir)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SinkError::Io { path: dir, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }

    fn journal() -> SwapJournal {
        SwapJournal {
            exchange: "x".into(),
            symbol: "A-B".into(),
            outputs_in: vec![
                "silver/t/exchange=x/symbol=A-B/date=2024-01-02/part-00001.parquet".into(),
            ],
            outputs_removed: vec![
                "silver/t/exchange=x/symbol=A-B/date=2024-01-02/part-00002.parquet".into(),
            ],
            history_in: vec![],
            history_removed: vec![],
            checkpoint: CheckpointSwap::Remove,
        }
    }

    #[test]
    fn a_committed_swap_is_rolled_forward_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sd = root.join("_daedalus");
        let j = journal();
        write(&shadow_out(root).join(&j.outputs_in[0]), "new");
        write(&root.join(&j.outputs_in[0]), "old");
        write(&root.join(&j.outputs_removed[0]), "gone");
        write(&checkpoint_path(&sd, "x", "A-B"), "ck");
        // Committed (journal written), then a crash before it was applied.
        manifest::write_atomic(
            &journal_path(&sd, "x", "A-B"),
            &serde_json::to_vec(&j).unwrap(),
        )
        .unwrap();
        assert_eq!(recover(root, &sd).unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(root.join(&j.outputs_in[0])).unwrap(),
            "new"
        );
        assert!(!root.join(&j.outputs_removed[0]).exists());
        assert!(!checkpoint_path(&sd, "x", "A-B").exists());
        assert!(!shadow_dir(root).exists());
        assert!(pending(&sd).unwrap().is_empty());
        // Applying again changes nothing.
        apply(root, &sd, &j).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join(&j.outputs_in[0])).unwrap(),
            "new"
        );
    }

    #[test]
    fn an_uncommitted_swap_leaves_the_previous_state() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sd = root.join("_daedalus");
        let j = journal();
        write(&shadow_out(root).join(&j.outputs_in[0]), "new");
        write(&root.join(&j.outputs_in[0]), "old");
        assert_eq!(recover(root, &sd).unwrap(), 0);
        assert_eq!(
            std::fs::read_to_string(root.join(&j.outputs_in[0])).unwrap(),
            "old"
        );
        assert!(!shadow_dir(root).exists());
    }
}
