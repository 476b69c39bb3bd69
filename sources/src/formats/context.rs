//! What a parser writes to: the bronze writer, the report, and the strictness that decides
//! whether a bad line fails the ingest or is skipped and counted.

use crate::error::{Result, SourceError};
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use crate::ingest::trades::TradeGate;
use daedalus_model::market::Market;
use daedalus_model::rows::TradeRow;
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
    /// The trade ids written so far (duplicates are dropped and counted).
    pub(super) trades: TradeGate,
}

impl<'a> Ctx<'a> {
    /// The context of one input: nothing carries from an earlier input (the trade gate starts
    /// empty).
    pub(super) fn new(
        w: &'a mut BronzeWriter,
        report: &'a mut IngestReport,
        opts: &IngestOptions,
    ) -> Self {
        Ctx {
            w,
            report,
            lenient: opts.lenient,
            trades: TradeGate::default(),
        }
    }
}

impl Ctx<'_> {
    /// Writes a trade read at `file:line` after the checks of [`crate::ingest::trades`]:
    /// a duplicate is dropped and counted, a sub-resolution size is a bad line.
    pub(super) fn trade(&mut self, at: (&Path, u64), market: &Market, row: TradeRow) -> Result<()> {
        self.trades
            .write(self.w, self.report, self.lenient, at, market, row)
    }

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
