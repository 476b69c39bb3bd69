//! `daedalus ingest`: venue recordings to bronze, shared driver and report.
//!
//! One call writes through one [`BronzeWriter`] and commits only at the end: on any error nothing
//! partially written stays behind. Output files are named `<format>.parquet` in each partition
//! (deterministic, so re-ingesting the same inputs replaces rather than duplicates; ingesting a
//! different set of recordings of the same market and date into the same root replaces it too —
//! ingest each market's recordings together).

use crate::{binance_raw, tardis_csv};
use daedalus_sinks::bronze::BronzeWriter;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Raw Binance WebSocket recordings: `<recv_ns> <json>` lines, gzip or plain.
    BinanceRaw,
    /// Tardis `incremental_book_L2`, `trades` or `quotes` CSV.
    TardisCsv,
}

/// Ingest options.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Skip and count bad lines instead of failing; chain breaks become gap markers.
    pub lenient: bool,
}

/// Rows written per market.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct MarketCounts {
    /// Book rows (snapshot and diff levels).
    pub book_rows: u64,
    /// Book messages (snapshots and applied diffs).
    pub book_messages: u64,
    /// Trade rows.
    pub trades: u64,
    /// Ticker rows.
    pub tickers: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Diffs dropped as stale by the sync rule (`u <= L` spot, `u < L` futures).
    pub stale_diffs: u64,
    /// Diffs before any snapshot that were never applicable (dropped).
    pub unsynced_diffs: u64,
    /// Sequence gaps kept as gap markers (lenient only).
    pub gaps: u64,
}

/// What an ingest call did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    /// Per market `exchange/symbol`.
    pub markets: BTreeMap<String, MarketCounts>,
    /// Lines read (all files).
    pub lines: u64,
    /// Lenient skips by rule.
    pub skipped: BTreeMap<String, u64>,
    /// Files cut short (truncated gzip) whose readable lines were kept (lenient only).
    pub truncated_files: Vec<PathBuf>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl IngestReport {
    /// Counts a lenient skip.
    pub fn skip(&mut self, rule: &str) {
        *self.skipped.entry(rule.to_string()).or_default() += 1;
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<34} {:>10} {:>9} {:>9} {:>9} {:>6} {:>6} {:>5}",
            "market", "book_rows", "book_msgs", "trades", "tickers", "snaps", "stale", "gaps"
        )?;
        for (m, c) in &self.markets {
            writeln!(
                f,
                "{m:<34} {:>10} {:>9} {:>9} {:>9} {:>6} {:>6} {:>5}",
                c.book_rows,
                c.book_messages,
                c.trades,
                c.tickers,
                c.snapshots,
                c.stale_diffs,
                c.gaps
            )?;
        }
        write!(
            f,
            "lines read: {}; files written: {}",
            self.lines,
            self.files.len()
        )?;
        if !self.skipped.is_empty() {
            write!(f, "; skipped (lenient): {:?}", self.skipped)?;
        }
        if !self.truncated_files.is_empty() {
            write!(
                f,
                "; truncated files kept up to their last good line: {:?}",
                self.truncated_files
            )?;
        }
        Ok(())
    }
}

/// Ingest errors: each names the file, the line (1-based) and the rule broken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A line breaking a rule.
    #[error("{file}:{line}: {rule}")]
    Line {
        /// File.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The rule broken.
        rule: String,
    },
    /// A whole-file problem (unreadable, truncated, unsupported dataset).
    #[error("{file}: {rule}")]
    File {
        /// File.
        file: PathBuf,
        /// What is wrong.
        rule: String,
    },
    /// Writing bronze failed.
    #[error(transparent)]
    Sink(#[from] daedalus_sinks::SinkError),
}

/// Input lines read so far in this process (for progress displays).
pub static LINES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Ingests `inputs` in `format` into `out_root/bronze`.
pub fn ingest(
    format: InputFormat,
    inputs: &[PathBuf],
    out_root: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let name = match format {
        InputFormat::BinanceRaw => "binance-raw.parquet",
        InputFormat::TardisCsv => "tardis-csv.parquet",
    };
    let mut writer = BronzeWriter::new(out_root, name);
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

/// Opens a file as text lines, transparently gunzipping (detected by magic bytes).
pub fn open_lines(path: &Path) -> Result<Box<dyn std::io::BufRead>, IngestError> {
    use std::io::{BufReader, Read};
    let mut f = std::fs::File::open(path).map_err(|e| IngestError::File {
        file: path.into(),
        rule: e.to_string(),
    })?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| IngestError::File {
        file: path.into(),
        rule: e.to_string(),
    })?;
    let f = std::fs::File::open(path).map_err(|e| IngestError::File {
        file: path.into(),
        rule: e.to_string(),
    })?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(f),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 20, f)))
    }
}

/// Splits a venue symbol like `BTCUSDT` into `(base, quote)` by known quote assets.
pub fn split_quote(raw: &str) -> Option<(&str, &str)> {
    const QUOTES: [&str; 14] = [
        "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "USD", "EUR", "TRY", "BTC", "ETH",
        "BNB", "GBP",
    ];
    QUOTES.iter().find_map(|q| {
        raw.strip_suffix(q)
            .filter(|b| !b.is_empty())
            .map(|b| (b, *q))
    })
}

/// Parses a decimal string as a correctly rounded, finite, non-negative double.
pub fn parse_decimal(s: &str) -> Option<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && !s.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_split_and_decimals_parse() {
        assert_eq!(split_quote("BTCUSDT"), Some(("BTC", "USDT")));
        assert_eq!(split_quote("ETHBTC"), Some(("ETH", "BTC")));
        assert_eq!(split_quote("BTCFDUSD"), Some(("BTC", "FDUSD")));
        assert_eq!(split_quote("USDT"), None);
        assert_eq!(parse_decimal("61837.63000000"), Some(61837.63));
        assert_eq!(parse_decimal("-1"), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("NaN"), None);
    }
}
