//! A command stopped by SIGINT/SIGTERM before it did everything it was asked (issue 16): plain
//! `ingest` stopped between inputs, or a cluster process stopped while waiting for its peers.
//! Such a command exits with status [`EXIT_INTERRUPTED`] (130, 128 + SIGINT by the shell's
//! convention, and what a second signal exits with everywhere), not 1, so a script tells an
//! interrupted command (rerun it to finish) from a failed one (fix something first). A stop that
//! leaves the work complete and resumable (`run`, `ingest --watch`) exits 0 as before.

use daedalus_dataflow::EngineError;
use std::fmt;

/// The exit status of an interrupted command.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A command's own "interrupted" outcome, with what was done and what to do next.
#[derive(Debug)]
pub(crate) struct Interrupted(pub String);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Whether a command's error is an interruption (its own, or the engine's stop while a cluster
/// process waited for its peers).
pub(crate) fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<Interrupted>()
            || matches!(
                c.downcast_ref::<EngineError>(),
                Some(EngineError::StoppedConnecting { .. })
            )
    })
}
