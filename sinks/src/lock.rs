//! One writer at a time (issue 15): advisory file locks under `<root>/_daedalus/`, released by the
//! OS when their holder exits or dies (`flock` through `std::fs::File::lock`).
//!
//! ```text
//! _daedalus/run.lock      exclusive, held by `daedalus run` (batch and --watch) for its lifetime
//!                         (in a cluster: by process 0, before any peer can connect)
//! _daedalus/ingest.lock   exclusive, held by `daedalus ingest` (batch and --watch) for its lifetime
//! _daedalus/bronze.lock   exclusive while an ingest commits bronze files; shared while a run
//!                         lists bronze, so a listing sees all files of an ingest commit or none
//! ```
//!
//! A batch `ingest` holds the bronze lock for its whole call (a batch run sees all of its inputs
//! or none). `ingest --watch` holds it only around each batch of settled files
//! ([`bronze_write`]), so a `run --watch` on the same root lists bronze between batches and
//! both make progress for as long as they run.
//!
//! An exclusive holder writes `pid <pid>: <command line>` into its lock file, so a refused writer
//! names it. The run lock and the bronze lock are different files: a `run --watch` and an ingest
//! coexist (the watch run skips a rescan while the ingest commits, the ingest waits at most for a
//! listing to end).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{}: the root is locked by another writer ({holder}); wait for it to finish, or pass --wait to wait for the lock",
        path.display()
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// `pid <pid>: <command line>` of the holder, as it recorded itself.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("{}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, LockError>;

/// What to do when a lock is held by another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Fail with [`LockError::Held`] naming the holder.
    Refuse,
    /// Block until it is released (logging the holder once).
    Block,
}

/// A held lock; released when dropped (and by the OS if the process dies).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
    exclusive: bool,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.exclusive {
            let _ = self.file.set_len(0); // no stale holder left behind
        }
        let _ = self.file.unlock();
    }
}

impl LockGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock directory of a root: `<root>/_daedalus` (whatever `--state-dir` says: the lock
/// protects the root's layers).
pub fn lock_dir(root: &Path) -> PathBuf {
    root.join("_daedalus")
}

/// How this process names itself in a lock file: `pid <pid>: <command line>`.
pub fn this_process() -> String {
    let args: Vec<String> = std::env::args().collect();
    format!("pid {}: {}", std::process::id(), args.join(" "))
}

fn open(root: &Path, name: &str) -> Result<(File, PathBuf)> {
    let dir = lock_dir(root);
    let path = dir.join(name);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| LockError::Io { path: p, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    Ok((file, path))
}

/// The holder recorded in a lock file (retried briefly: a new holder writes just after locking).
fn holder(path: &Path) -> String {
    for _ in 0..20 {
        let mut s = String::new();
        if let Ok(mut f) = File::open(path) {
            let _ = f.read_to_string(&mut s);
        }
        if !s.trim().is_empty() {
            return s.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    "a process that did not record itself".to_string()
}

/// Takes `<root>/_daedalus/<name>` exclusively and records `me` in it.
pub fn exclusive(root: &Path, name: &str, wait: Wait, me: &str) -> Result<LockGuard> {
    let (mut file, path) = open(root, name)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder(&path);
            if wait == Wait::Refuse {
                return Err(LockError::Held { path, holder });
            }
            tracing::warn!("{}: waiting for {holder}", path.display());
            file.lock().map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Err(TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
    }
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(format!("{me}\n").as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(LockGuard {
        file,
        path,
        exclusive: true,
    })
}

/// Takes `<root>/_daedalus/<name>` shared. With [`Wait::Refuse`], `Ok(None)` when an exclusive
/// holder has it; with [`Wait::Block`], waits (logging the holder once).
pub fn shared(root: &Path, name: &str, wait: Wait) -> Result<Option<LockGuard>> {
    let (file, path) = open(root, name)?;
    match file.try_lock_shared() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) if wait == Wait::Refuse => return Ok(None),
        Err(TryLockError::WouldBlock) => {
            tracing::info!("{}: waiting for {}", path.display(), holder(&path));
            file.lock_shared().map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Err(TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
    }
    Ok(Some(LockGuard {
        file,
        path,
        exclusive: false,
    }))
}

/// The run lock (`run.lock`), held by `daedalus run` for its lifetime.
pub fn run_lock(root: &Path, wait: Wait) -> Result<LockGuard> {
    exclusive(root, "run.lock", wait, &this_process())
}

/// What an ingest holds: its own lock for its lifetime and the bronze lock while it commits.
#[derive(Debug)]
pub struct IngestLocks {
    /// `ingest.lock`.
    pub ingest: LockGuard,
    /// `bronze.lock`, exclusive.
    pub bronze: LockGuard,
}

/// The ingest locks: `ingest.lock` (refused or waited for, as `wait` says), then `bronze.lock`
/// exclusively (always waited for: runs hold it only while they list bronze).
pub fn ingest_locks(root: &Path, wait: Wait) -> Result<IngestLocks> {
    let me = this_process();
    let ingest = exclusive(root, "ingest.lock", wait, &me)?;
    let bronze = exclusive(root, "bronze.lock", Wait::Block, &me)?;
    Ok(IngestLocks { ingest, bronze })
}

/// The ingest lock alone (`ingest.lock`), for an ingest that takes the bronze lock per batch
/// ([`bronze_write`]): `ingest --watch`.
pub fn ingest_lock(root: &Path, wait: Wait) -> Result<LockGuard> {
    exclusive(root, "ingest.lock", wait, &this_process())
}

/// The bronze lock, exclusive, around one commit (or one batch of commits) of an ingest: waits
/// for the runs listing bronze to finish their listing.
pub fn bronze_write(root: &Path) -> Result<LockGuard> {
    exclusive(root, "bronze.lock", Wait::Block, &this_process())
}

/// The bronze lock, shared, for one listing of bronze by a run ([`shared`]).
pub fn bronze_read(root: &Path, wait: Wait) -> Result<Option<LockGuard>> {
    shared(root, "bronze.lock", wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_naming_the_first() {
        let d = tempfile::tempdir().unwrap();
        let g = exclusive(d.path(), "run.lock", Wait::Refuse, "pid 1: first").unwrap();
        let e = exclusive(d.path(), "run.lock", Wait::Refuse, "pid 2: second").unwrap_err();
        assert!(e.to_string().contains("pid 1: first"), "{e}");
        drop(g);
        let g2 = exclusive(d.path(), "run.lock", Wait::Refuse, "pid 2: second").unwrap();
        assert!(g2.path().ends_with("_daedalus/run.lock"));
    }

    #[test]
    fn bronze_readers_share_and_exclude_the_ingest() {
        let d = tempfile::tempdir().unwrap();
        let r1 = bronze_read(d.path(), Wait::Refuse).unwrap().unwrap();
        let r2 = bronze_read(d.path(), Wait::Refuse).unwrap().unwrap();
        assert!(exclusive(d.path(), "bronze.lock", Wait::Refuse, "pid 3: ingest").is_err());
        drop((r1, r2));
        let w = exclusive(d.path(), "bronze.lock", Wait::Refuse, "pid 3: ingest").unwrap();
        assert!(bronze_read(d.path(), Wait::Refuse).unwrap().is_none());
        drop(w);
        assert!(bronze_read(d.path(), Wait::Refuse).unwrap().is_some());
    }

    #[test]
    fn a_watch_ingest_frees_bronze_between_batches() {
        let d = tempfile::tempdir().unwrap();
        let _ingest = ingest_lock(d.path(), Wait::Refuse).unwrap();
        // The ingest lock alone lets runs list bronze.
        assert!(bronze_read(d.path(), Wait::Refuse).unwrap().is_some());
        let batch = bronze_write(d.path()).unwrap();
        assert!(bronze_read(d.path(), Wait::Refuse).unwrap().is_none());
        drop(batch);
        assert!(bronze_read(d.path(), Wait::Refuse).unwrap().is_some());
        // A second ingest is still refused.
        assert!(ingest_lock(d.path(), Wait::Refuse).is_err());
    }
}
