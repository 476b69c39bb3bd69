//! `daedalus ingest`: venue recordings to bronze. This module dispatches to the parser of the
//! format (`crate::formats`); the options, the report and the line reader they share are leaves.
//!
//! One call writes through one [`BronzeWriter`] and commits only at the end: on any error nothing
//! partially written stays behind. Output files are named `<format>.parquet` in each partition
//! (deterministic, so re-ingesting the same inputs replaces rather than duplicates; ingesting a
//! different set of recordings of the same market and date into the same root replaces it too —
//! ingest each market's recordings together).

pub(crate) mod lines;
pub(crate) mod options;
pub(crate) mod report;

pub use lines::LINES_READ;
pub use options::{IngestOptions, InputFormat};
pub use report::{IngestReport, MarketCounts};

use crate::error::Result;
use crate::formats::{binance_raw, tardis_csv};
use daedalus_sinks::bronze::BronzeWriter;
use std::path::{Path, PathBuf};

/// Ingests `inputs` in `format` into `out_root/bronze`.
pub fn ingest(
    format: InputFormat,
    inputs: &[PathBuf],
    out_root: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport> {
    let mut writer = BronzeWriter::new(out_root, format.file_name());
    let mut report = IngestReport::default();
    match format {
        InputFormat::BinanceRaw => {
            binance_raw::ingest_files(inputs, &mut writer, opts, &mut report)?
        }
        InputFormat::TardisCsv => tardis_csv::ingest_files(inputs, &mut writer, opts, &mut report)?,
    }
    report.files = writer.commit()?.into_iter().map(|(_, p, _)| p).collect();
    Ok(report)
}
