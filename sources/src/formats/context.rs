//! What a parser writes to: the bronze writer, the report, and the strictness that decides
//! whether a bad line fails the ingest or is skipped and counted.

use crate::error::{Result, SourceError};
use crate::ingest::report::IngestReport;
use daedalus_sinks::bronze::BronzeWriter;
use std::path::Path;

/// The writer, report and strictness of one ingest call.
pub(super) struct Ctx<'a> {
    /// Bronze writer.
    pub(super) w: &'a mut BronzeWriter,
    /// Report.
    pub(super) report: &'a mut IngestReport,
    /// Skip and count bad lines instead of failing.
    pub(super) lenient: bool,
}

impl Ctx<'_> {
    /// A line breaking `rule`: an error, or with `lenient` a warning and a skip counted under
    /// `lenient_key`.
    pub(super) fn bad_line(
        &mut self,
        file: &Path,
        line: u64,
        rule: String,
        lenient_key: &str,
    ) -> Result<()> {
        if self.lenient {
            tracing::warn!("{}:{line}: {rule} (skipped)", file.display());
            self.report.skip(lenient_key);
            Ok(())
        } else {
            Err(SourceError::Line {
                file: file.into(),
                line,
                rule,
            })
        }
    }
}
