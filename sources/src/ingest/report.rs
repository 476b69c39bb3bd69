//! What an ingest call did: rows per market, lines read, lenient skips, files written.

use crate::cryptofeed::VerifyStats;
use daedalus_model::market::Market;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Rows written per market.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
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
    /// Book rows (levels) of the unsynced diffs (issue 16; Binance raw and Bybit order book:
    /// the formats whose dropped diffs are parsed).
    #[serde(skip_serializing_if = "is_zero")]
    pub unsynced_rows: u64,
    /// Trades dropped because their venue id was already written for the market by the same
    /// input (issue 16; `crate::ingest::trades`).
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicate_trades: u64,
    /// Sequence gaps kept as gap markers (lenient only); cryptofeed: every gap of `checks`.
    pub gaps: u64,
    /// Trades a venue replayed as history, skipped (CONTRACT §10.7; cryptofeed, Hyperliquid).
    #[serde(skip_serializing_if = "is_zero")]
    pub history_trades: u64,
    /// The venue's own book checks (CONTRACT §10.6; cryptofeed), absent for other formats.
    #[serde(skip_serializing_if = "VerifyStats::is_empty")]
    pub checks: VerifyStats,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// Inputs without rows (empty, or a header only) accepted as such.
    pub empty_inputs: u64,
    /// Files cut short (truncated gzip) whose readable lines were kept (lenient only).
    pub truncated_files: Vec<PathBuf>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Inputs applied by this call (names), re-applied ones included.
    pub applied: Vec<String>,
    /// Inputs skipped because they were already ingested unchanged (names).
    pub unchanged: Vec<String>,
    /// Inputs whose depth diffs could not be synced, per market (issue 16): kept only with
    /// `--allow-unsynced` or `--lenient`, an error otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsynced: Vec<Unsynced>,
    /// Reused to format market keys (no allocation per counted row).
    #[serde(skip)]
    key: String,
    /// The market whose key `key` holds (rows come in runs of one market: no formatting then).
    #[serde(skip)]
    key_of: Option<Market>,
}

/// One input's depth diffs of one market that could not be synced: the market had no synced
/// book (no snapshot in the input and no chain from a predecessor, or a chain lost with no
/// snapshot after it), so they were dropped. Diffs discarded as older than a snapshot
/// (`stale_diffs`) are not unsynced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unsynced {
    /// The input.
    pub file: PathBuf,
    /// `exchange/symbol`.
    pub market: String,
    /// Diffs (messages) dropped.
    pub diffs: u64,
    /// Book rows (levels) dropped, where the format parses dropped diffs (else 0).
    pub rows: u64,
}

impl fmt::Display for Unsynced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} depth diff(s)",
            self.file.display(),
            self.market,
            self.diffs
        )?;
        if self.rows > 0 {
            write!(f, " ({} book rows)", self.rows)?;
        }
        write!(
            f,
            " dropped: not synced (no snapshot in the file and no predecessor in the market's \
             ingest state)"
        )
    }
}

impl MarketCounts {
    /// Diffs (or cryptofeed book messages) dropped because the market's book was not synced.
    pub fn unsynced(&self) -> u64 {
        self.unsynced_diffs + self.checks.unsynced_messages
    }

    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &MarketCounts) {
        self.book_rows += o.book_rows;
        self.book_messages += o.book_messages;
        self.trades += o.trades;
        self.tickers += o.tickers;
        self.snapshots += o.snapshots;
        self.stale_diffs += o.stale_diffs;
        self.unsynced_diffs += o.unsynced_diffs;
        self.unsynced_rows += o.unsynced_rows;
        self.duplicate_trades += o.duplicate_trades;
        self.gaps += o.gaps;
        self.history_trades += o.history_trades;
        self.checks.add(&o.checks);
    }
}

impl IngestReport {
    /// Adds the report of one input to this call's report.
    pub(crate) fn merge(&mut self, o: IngestReport) {
        for (m, c) in o.markets {
            self.markets.entry(m).or_default().add(&c);
        }
        self.lines += o.lines;
        for (k, v) in o.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.empty_inputs += o.empty_inputs;
        self.truncated_files.extend(o.truncated_files);
        self.files.extend(o.files);
        self.applied.extend(o.applied);
        self.unchanged.extend(o.unchanged);
        self.unsynced.extend(o.unsynced);
    }

    /// Records the unsynced diffs of one input's report (`self`, read from `file`) per market.
    pub(crate) fn note_unsynced(&mut self, file: &std::path::Path) {
        for (m, c) in &self.markets {
            if c.unsynced() > 0 {
                self.unsynced.push(Unsynced {
                    file: file.into(),
                    market: m.clone(),
                    diffs: c.unsynced(),
                    rows: c.unsynced_rows,
                });
            }
        }
    }

    /// The warnings a human summary prints (one per line): unsynced inputs.
    pub fn warnings(&self) -> Vec<String> {
        self.unsynced
            .iter()
            .map(|u| format!("warning: {u}"))
            .collect()
    }

    /// Counts a lenient skip.
    pub(crate) fn skip(&mut self, rule: &str) {
        *self.skipped.entry(rule.to_string()).or_default() += 1;
    }

    /// The counts of market `market` (`exchange/symbol`), created on first use.
    pub(crate) fn market(&mut self, market: &Market) -> &mut MarketCounts {
        use std::fmt::Write;
        if self.key_of.as_ref() != Some(market) {
            self.key.clear();
            write!(self.key, "{market}").expect("formatting into a String cannot fail");
            self.key_of = Some(market.clone());
        }
        if !self.markets.contains_key(&self.key) {
            self.markets
                .insert(self.key.clone(), MarketCounts::default());
        }
        self.markets.get_mut(&self.key).expect("inserted above")
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
        checks_table(f, &self.markets)?;
        write!(
            f,
            "lines read: {}; files written: {}; inputs applied: {}; unchanged (skipped): {}",
            self.lines,
            self.files.len(),
            self.applied.len(),
            self.unchanged.len()
        )?;
        if self.empty_inputs > 0 {
            write!(f, "; empty inputs (no rows): {}", self.empty_inputs)?;
        }
        let history: u64 = self.markets.values().map(|c| c.history_trades).sum();
        if history > 0 {
            write!(f, "; history trades skipped: {history}")?;
        }
        let duplicates: u64 = self.markets.values().map(|c| c.duplicate_trades).sum();
        if duplicates > 0 {
            write!(f, "; duplicate trades dropped: {duplicates}")?;
        }
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
        for w in self.warnings() {
            write!(f, "\n{w}")?;
        }
        Ok(())
    }
}

/// The venue checks of the markets that have any (cryptofeed): book messages checked,
/// checksums and sequences checked and failed, crossed books, top of book against the venue's
/// ticker/quote (compared, equal; the rest explained by timing or not, see docs/DATA.md).
fn checks_table(
    f: &mut fmt::Formatter<'_>,
    markets: &BTreeMap<String, MarketCounts>,
) -> fmt::Result {
    let mut rows = markets
        .iter()
        .filter(|(_, c)| !c.checks.is_empty())
        .peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    writeln!(
        f,
        "venue checks (tob: tickers/quotes compared with the top of book; tob_timing: unequal, \
         explained by timing; docs/DATA.md):\n\
         {:<34} {:>8} {:>9} {:>5} {:>8} {:>5} {:>7} {:>7} {:>7} {:>10} {:>7}",
        "market",
        "msgs",
        "checksums",
        "bad",
        "seqs",
        "gaps",
        "crossed",
        "tob",
        "tob_eq",
        "tob_timing",
        "tob_bad"
    )?;
    for (m, c) in rows {
        let k = &c.checks;
        writeln!(
            f,
            "{m:<34} {:>8} {:>9} {:>5} {:>8} {:>5} {:>7} {:>7} {:>7} {:>10} {:>7}",
            k.messages_checked,
            k.checksums_checked,
            k.checksum_mismatches,
            k.sequences_checked,
            k.sequence_gaps + k.malformed_gaps,
            k.crossed_books,
            k.top_of_book_checked,
            k.top_of_book_matches,
            k.top_of_book_lagging
                + k.top_of_book_stale
                + k.top_of_book_leading
                + k.top_of_book_before_snapshot,
            k.top_of_book_mismatches
        )?;
    }
    Ok(())
}
