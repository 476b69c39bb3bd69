//! Fault injection at the steps of the commit protocol, for tests only.
//!
//! Every filesystem step that makes outputs durable calls [`check`] with its [`Step`] and the path
//! concerned, just before doing it. Without the `fault-injection` cargo feature `check` is an
//! inlined `Ok(())` and nothing else of this module exists. With it, `check` returns an injected
//! `io::Error` when a rule matches; the rules come from [`set`] (in-process tests) or, on first
//! use, from the `DAEDALUS_FAULT` environment variable (binary tests drive a child process):
//!
//! ```text
//! DAEDALUS_FAULT=<rule>[,<rule>...]
//! <rule> = <step>[@<path substring>]:<nth|all>[:<errno>]
//! ```
//!
//! e.g. `rename@silver/trades:2` fails the second rename of a `silver/trades` file with ENOSPC
//! (the default errno, 28); `flush:1:5` fails the first flush with EIO. `nth` counts the
//! matching calls of this process. Steps: `stage-write`, `flush`, `fsync`, `rename`,
//! `dir-fsync`, `checkpoint-write`, `checkpoint-rename`, `cleanup`. The ingest commit
//! (`daedalus-sources`, `ingest::commit`) uses the same steps: its ingest states and commit
//! journal are its checkpoints (`checkpoint-write`/`checkpoint-rename` on `.state` or
//! `commit.journal`), its bronze renames are `rename`.

/// A step of the commit protocol where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating a staged file or encoding rows into it.
    StageWrite,
    /// Flushing a row group or the footer of a staged file.
    Flush,
    /// fsync of a staged file (or of a checkpoint's temporary).
    Fsync,
    /// Renaming a staged output file to its final name.
    Rename,
    /// fsync of a directory after a rename or removal.
    DirFsync,
    /// Writing a checkpoint's (or marker's) temporary.
    CheckpointWrite,
    /// Renaming a checkpoint's temporary over the checkpoint.
    CheckpointRename,
    /// Removing a staged, temporary or provisional file.
    Cleanup,
}

impl Step {
    /// The step's name in `DAEDALUS_FAULT`.
    pub fn name(self) -> &'static str {
        match self {
            Step::StageWrite => "stage-write",
            Step::Flush => "flush",
            Step::Fsync => "fsync",
            Step::Rename => "rename",
            Step::DirFsync => "dir-fsync",
            Step::CheckpointWrite => "checkpoint-write",
            Step::CheckpointRename => "checkpoint-rename",
            Step::Cleanup => "cleanup",
        }
    }
}

/// Returns the injected error of the first rule matching `step` at `path`, if any.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn check(_step: Step, _path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(feature = "fault-injection")]
pub use imp::{check, set};

#[cfg(feature = "fault-injection")]
mod imp {
    use super::Step;
    use std::path::Path;
    use std::sync::Mutex;

    struct Rule {
        step: String,
        pattern: Option<String>,
        /// `None`: every matching call.
        nth: Option<u64>,
        errno: i32,
        seen: u64,
    }

    /// `None`: not read from the environment yet.
    static RULES: Mutex<Option<Vec<Rule>>> = Mutex::new(None);

    fn parse(spec: &str) -> Vec<Rule> {
        spec.split(',')
            .filter(|r| !r.trim().is_empty())
            .map(|r| {
                let mut it = r.trim().split(':');
                let target = it.next().unwrap_or_default();
                let (step, pattern) = match target.split_once('@') {
                    Some((s, p)) => (s.to_string(), Some(p.to_string())),
                    None => (target.to_string(), None),
                };
                let nth = match it.next().unwrap_or("1") {
                    "all" => None,
                    n => Some(n.parse().expect("DAEDALUS_FAULT: nth is a number or `all`")),
                };
                let errno = it.next().map_or(28, |e| e.parse().expect("errno"));
                Rule {
                    step,
                    pattern,
                    nth,
                    errno,
                    seen: 0,
                }
            })
            .collect()
    }

    /// Replaces the rules (same syntax as `DAEDALUS_FAULT`; `""` clears them) and their counts.
    pub fn set(spec: &str) {
        *RULES.lock().unwrap_or_else(|e| e.into_inner()) = Some(parse(spec));
    }

    /// Returns the injected error of the first rule matching `step` at `path`, if any.
    pub fn check(step: Step, path: &Path) -> std::io::Result<()> {
        let mut g = RULES.lock().unwrap_or_else(|e| e.into_inner());
        let rules =
            g.get_or_insert_with(|| parse(&std::env::var("DAEDALUS_FAULT").unwrap_or_default()));
        let p = path.to_string_lossy();
        for r in rules.iter_mut() {
            if r.step != step.name() || r.pattern.as_ref().is_some_and(|s| !p.contains(s.as_str()))
            {
                continue;
            }
            r.seen += 1;
            if r.nth.is_none_or(|n| n == r.seen) {
                eprintln!("fault injected: {} {} (errno {})", step.name(), p, r.errno);
                return Err(std::io::Error::from_raw_os_error(r.errno));
            }
        }
        Ok(())
    }
}
