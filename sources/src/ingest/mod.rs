//! `daedalus ingest`: venue recordings to bronze (CONTRACT §10). The parser of each format lives
//! in `crate::formats`; this module makes ingest a stage whose bronze is a function of the set of
//! inputs: every input writes its own files ([`input`]), each market's ingest state records what
//! was applied and the book chain to continue ([`state`]), inputs are applied per market in
//! order of first receive time ([`apply`]), and each input is committed exactly once with its
//! files and states ([`commit`]; an interrupted commit is rolled forward or cleaned up at the
//! next call). With more than one job, inputs are parsed ahead on that many threads and still
//! committed one at a time in the same order ([`parallel`]), so the bronze is the same.

pub(crate) mod apply;
pub(crate) mod commit;
pub(crate) mod input;
pub(crate) mod lines;
pub(crate) mod options;
pub(crate) mod parallel;
pub(crate) mod report;
pub mod state;
pub(crate) mod trades;
pub(crate) mod zip_member;

pub use lines::LINES_READ;
pub use options::{IngestOptions, InputFormat, VisionMarket};
pub use report::{IngestReport, MarketCounts, Unsynced};

use crate::error::Result;
use apply::{Work, apply_one};
use input::InputInfo;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Ingests `inputs` in `format` into `out_root/bronze`, one input per commit, in order of first
/// receive time (ties by name), on one thread.
pub fn ingest(
    format: InputFormat,
    inputs: &[PathBuf],
    out_root: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport> {
    ingest_jobs(format, inputs, out_root, opts, 1)
}

/// [`ingest`] with `jobs` parse threads (`daedalus ingest -j`): the same commits in the same
/// order and the same bronze files, byte for byte, for any `jobs`.
pub fn ingest_jobs(
    format: InputFormat,
    inputs: &[PathBuf],
    out_root: &Path,
    opts: &IngestOptions,
    jobs: usize,
) -> Result<IngestReport> {
    let never = AtomicBool::new(false);
    ingest_until(format, inputs, out_root, opts, jobs, &never).map(|(report, _)| report)
}

/// An ingest call that stopped before every input was done ([`ingest_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Inputs done (committed, or found already ingested) before the stop: the first `done` in
    /// commit order.
    pub done: usize,
    /// Inputs of the call.
    pub total: usize,
}

/// [`ingest_jobs`] that stops once `stop` is set (SIGINT/SIGTERM in `daedalus ingest`). The flag
/// is read before each input's commit, never within one: an input is committed whole or not at
/// all, the input being committed when it is set finishes, and inputs parsed ahead but not
/// committed have their staged files removed. Returns the report of the inputs done and, when
/// stopped, how far the call got; running the same call again ingests the rest.
pub fn ingest_until(
    format: InputFormat,
    inputs: &[PathBuf],
    out_root: &Path,
    opts: &IngestOptions,
    jobs: usize,
    stop: &AtomicBool,
) -> Result<(IngestReport, Option<Stopped>)> {
    commit::recover(out_root)?;
    let mut states = state::load_all(out_root)?;
    let mut infos = Vec::with_capacity(inputs.len());
    for p in inputs {
        infos.push(InputInfo::read(p, format)?);
    }
    infos.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    let mut report = IngestReport::default();
    let stopped = |done| {
        (done < infos.len()).then_some(Stopped {
            done,
            total: infos.len(),
        })
    };
    if jobs > 1 && infos.len() > 1 {
        let done = parallel::ingest_parallel(
            out_root,
            format,
            opts,
            &infos,
            states,
            jobs,
            stop,
            &mut report,
        )?;
        return Ok((report, stopped(done)));
    }
    for (k, info) in infos.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Ok((report, stopped(k)));
        }
        let w = Work::new(out_root, format, opts, std::mem::take(&mut states));
        states = apply_one(w, info, &mut report, None)?;
    }
    Ok((report, None))
}

/// The decompressed size of an input in bytes (what ingest throughput is quoted against).
pub fn raw_len(path: &Path) -> Result<u64> {
    lines::raw_len(path)
}
