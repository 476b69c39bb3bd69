//! The landing folder as the watcher sees it: every file under it (recursively) with the size
//! and mtime it was last seen with, since when it has kept them, and what became of it.
//!
//! A file is **settled** once its size and mtime have not changed for `--settle`: the clock
//! starts at its mtime (so a file renamed in from a finished copy whose mtime is older than
//! `--settle` is settled at first sight) and restarts whenever a scan sees another size or mtime
//! (a file written in place is settled once its writer has paused for `--settle`). Names that
//! start with `.` or end with `.tmp` or `.part` are staging names and never looked at: write to
//! one and rename to the final name. A file already ingested or rejected is looked at again only
//! when its size or mtime changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What became of a file's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not ingested yet (settling, or settled and waiting for the next batch).
    Pending,
    /// Ingested (or found already ingested with this content).
    Done,
    /// Rejected as bad input: skipped until its size or mtime changes.
    Rejected,
    /// Refused because its depth diffs cannot be synced (issue 16): pending again once an
    /// input is committed (its predecessor may have arrived), or when it changes.
    Unsynced,
}

#[derive(Debug)]
struct Entry {
    size: u64,
    mtime: SystemTime,
    /// When the file last changed (its mtime as an `Instant`, or when a scan saw it change).
    since: Instant,
    status: Status,
}

/// Every file under the landing folder.
#[derive(Debug)]
pub(crate) struct Landing {
    dir: PathBuf,
    files: BTreeMap<PathBuf, Entry>,
}

/// A staging name: never ingested.
fn staging(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part")
}

/// Every file under `dir` with its size and mtime, staging names and unreadable entries left out.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, SystemTime)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if staging(&name) {
            continue;
        }
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), out);
            continue;
        }
        let Ok(m) = std::fs::metadata(e.path()) else {
            continue; // gone since the listing, or a dangling link
        };
        if m.is_file() {
            let mtime = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((e.path(), m.len(), mtime));
        }
    }
}

impl Landing {
    /// The landing folder `dir` (absolute), nothing seen yet.
    pub(crate) fn new(dir: PathBuf) -> Self {
        Landing {
            dir,
            files: BTreeMap::new(),
        }
    }

    /// Lists the folder: new files and files whose size or mtime changed become pending with
    /// their settle clock restarted; files gone are forgotten. Returns how many changed.
    pub(crate) fn scan(&mut self) -> usize {
        let mut found = Vec::new();
        walk(&self.dir, &mut found);
        let now = Instant::now();
        let mut changed = 0;
        let mut next = BTreeMap::new();
        for (path, size, mtime) in found {
            let e = match self.files.remove(&path) {
                Some(e) if e.size == size && e.mtime == mtime => e,
                _ => {
                    changed += 1;
                    let age = SystemTime::now()
                        .duration_since(mtime)
                        .unwrap_or(Duration::ZERO);
                    Entry {
                        size,
                        mtime,
                        since: now.checked_sub(age).unwrap_or(now),
                        status: Status::Pending,
                    }
                }
            };
            next.insert(path, e);
        }
        self.files = next;
        changed
    }

    /// The pending files settled for `settle`, with the instant each settled.
    pub(crate) fn settled(&self, settle: Duration) -> Vec<(PathBuf, Instant)> {
        let now = Instant::now();
        self.files
            .iter()
            .filter(|(_, e)| e.status == Status::Pending)
            .filter_map(|(p, e)| {
                let at = e.since + settle;
                (at <= now).then(|| (p.clone(), at))
            })
            .collect()
    }

    /// When the next pending file settles (None: none is settling).
    pub(crate) fn next_settle(&self, settle: Duration) -> Option<Instant> {
        self.files
            .values()
            .filter(|e| e.status == Status::Pending)
            .map(|e| e.since + settle)
            .min()
    }

    /// Makes the files refused as unsynced pending again (an input was committed since).
    pub(crate) fn retry_unsynced(&mut self) {
        for e in self.files.values_mut() {
            if e.status == Status::Unsynced {
                e.status = Status::Pending;
            }
        }
    }

    /// Records what became of `path`'s current version.
    pub(crate) fn mark(&mut self, path: &Path, status: Status) {
        if let Some(e) = self.files.get_mut(path) {
            e.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_settle_and_are_looked_at_again_only_when_changed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("spot")).unwrap();
        let f = d.path().join("spot/a.gz");
        std::fs::write(&f, b"one").unwrap();
        std::fs::write(d.path().join(".b.gz"), b"staged").unwrap();
        std::fs::write(d.path().join("c.gz.tmp"), b"staged").unwrap();
        let mut l = Landing::new(d.path().to_path_buf());
        assert_eq!(l.scan(), 1);
        // Just written: not settled for an hour, settled for zero.
        assert!(l.settled(Duration::from_secs(3600)).is_empty());
        let s = l.settled(Duration::ZERO);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, f);
        assert!(l.next_settle(Duration::from_secs(3600)).is_some());
        l.mark(&f, Status::Rejected);
        assert_eq!(l.scan(), 0);
        assert!(l.settled(Duration::ZERO).is_empty());
        assert!(l.next_settle(Duration::ZERO).is_none());
        // A changed file is pending again.
        std::fs::write(&f, b"one and two").unwrap();
        assert_eq!(l.scan(), 1);
        assert_eq!(l.settled(Duration::ZERO).len(), 1);
        l.mark(&f, Status::Done);
        std::fs::remove_file(&f).unwrap();
        assert_eq!(l.scan(), 0);
        assert!(l.files.is_empty());
    }

    #[test]
    fn an_old_file_renamed_in_is_settled_at_first_sight() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("old.gz");
        std::fs::write(&f, b"x").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut l = Landing::new(d.path().to_path_buf());
        l.scan();
        assert_eq!(l.settled(Duration::from_secs(2)).len(), 1);
        assert!(l.settled(Duration::from_secs(600)).is_empty());
    }
}
