//! The exactly-once commit of ingest (CONTRACT §10.2): an input's bronze files are written under
//! staged dot-names, the new states of its markets are staged beside their state files, and a
//! journal listing every rename and removal is written atomically. Writing the journal is the
//! commit point; applying it (renames, removals, directory fsyncs) is idempotent, so a restart
//! after `kill -9` rolls forward a journal it finds and removes every staged file otherwise.
//!
//! Every filesystem step calls [`fault::check`] first (tests inject I/O errors there, issue 15):
//! a failure before the journal is in place leaves the committed files as they were (staged
//! dot-files may stay; the next call removes them), a failure after it leaves the journal, which
//! the next call rolls forward. Renames of ingest states are the `checkpoint-rename` step,
//! renames of bronze files the `rename` step; removals are `cleanup`.

use crate::error::{Result, SourceError};
use daedalus_sinks::fault::{self, Step};
use daedalus_sinks::ingest_state::write_file_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What one commit makes visible, paths relative to the root.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Journal {
    /// `(staged, final)` renames.
    pub renames: Vec<(String, String)>,
    /// Files to remove (an input's old files it no longer writes).
    pub deletes: Vec<String>,
}

fn journal_path(root: &Path) -> PathBuf {
    super::state::state_dir(root).join("commit.journal")
}

fn io(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Io {
        path: path.into(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    fault::check(Step::DirFsync, dir)
        .and_then(|()| std::fs::File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

/// Applies `j` (idempotent: a rename whose staged file is gone was done already).
fn apply(root: &Path, j: &Journal) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for d in &j.deletes {
        let p = root.join(d);
        match fault::check(Step::Cleanup, &p).and_then(|()| std::fs::remove_file(&p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p, e)),
        }
        dirs.extend(p.parent().map(Path::to_path_buf));
    }
    for (staged, fin) in &j.renames {
        let (s, f) = (root.join(staged), root.join(fin));
        if s.exists() {
            let step = if fin.ends_with(".state") {
                Step::CheckpointRename
            } else {
                Step::Rename
            };
            fault::check(step, &f)
                .and_then(|()| std::fs::rename(&s, &f))
                .map_err(|e| io(&f, e))?;
        }
        dirs.extend(f.parent().map(Path::to_path_buf));
    }
    for d in dirs.iter().filter(|d| d.exists()) {
        fsync_dir(d)?;
    }
    Ok(())
}

/// Commits `j`: writes the journal (the commit point), applies it, removes it.
pub fn commit(root: &Path, j: &Journal) -> Result<()> {
    let path = journal_path(root);
    let bytes = serde_json::to_vec(j).expect("journal serializes");
    write_file_atomic(&path, &bytes)?;
    apply(root, j)?;
    remove(&path)?;
    fsync_dir(path.parent().expect("journal has a directory"))
}

/// Recovery at the start of an ingest: rolls forward a journal left by an interrupted commit,
/// then removes every staged file under `bronze/` and the ingest state directory.
pub fn recover(root: &Path) -> Result<()> {
    let path = journal_path(root);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let j: Journal = serde_json::from_slice(&bytes).map_err(|e| SourceError::File {
                file: path.clone(),
                rule: format!("ingest commit journal: {e}"),
            })?;
            apply(root, &j)?;
            remove(&path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path, e)),
    }
    sweep(&root.join("bronze"))?;
    sweep(&super::state::state_dir(root))
}

/// Removes staged (`.*.inprogress`) files under `dir`, recursively.
fn sweep(dir: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            sweep(&p)?;
        } else if name.starts_with('.') && name.ends_with(".inprogress") {
            remove(&p)?;
        }
    }
    Ok(())
}

/// Removes `path` (the `cleanup` step).
fn remove(path: &Path) -> Result<()> {
    fault::check(Step::Cleanup, path)
        .and_then(|()| std::fs::remove_file(path))
        .map_err(|e| io(path, e))
}

/// The path of `abs` relative to `root` as a string (`/`-separated).
pub fn rel(root: &Path, abs: &Path) -> String {
    abs.strip_prefix(root)
        .unwrap_or(abs)
        .to_string_lossy()
        .replace('\\', "/")
}
