//! Tardis CSV (`incremental_book_L2`, `trades`, `quotes`) to bronze.
//!
//! The dataset is recognised by its header. Timestamps are µs (→ ns). The exchange comes from
//! the file's `exchange` column (Tardis ids are the contract's); the symbol is mapped to the
//! canonical id by [`symbols::canonical_symbol`]. Book: consecutive rows with the same
//! `local_timestamp` and `is_snapshot` form one message; Tardis carries no sequence ids, so
//! `seq`/`prev_seq` are null (gaps show as mid-file snapshots, which the book treats as resets).
//! `quotes` become ticker rows. `book_snapshot_N` rows (the top N per side, every row) become
//! level changes between consecutive snapshots of a market ([`SnapshotDiffer`], CONTRACT §10.3):
//! the first of the input is stored as `is_snapshot` rows. A file without rows (no content at all, as the empty gzip files Tardis
//! serves for days without data, or a header only) is accepted and counted as an empty input.
//! Rows land in the partition of their exchange time: a daily file (split by `local_timestamp`)
//! whose first rows happened before midnight writes them beside the previous day's file, under
//! its own name (CONTRACT §10.1).
//!
//! Files: [`read`] reads records (the `csv` crate: quoting, CRLF, BOM) and counts lines,
//! [`header`] recognises the dataset and checks its columns, [`rows`] parses a row, [`symbols`]
//! maps symbols; this module writes the rows.

mod header;
mod read;
mod rows;
mod symbols;

use crate::error::{Result, SourceError};
use crate::formats::context::Ctx;
use crate::formats::snapshot_feed::{self, SnapshotDiffer};
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_sinks::bronze::BronzeWriter;
use header::Header;
use read::{Next, Records};
use rows::Row;
use std::collections::BTreeMap;
use std::path::Path;

/// Ingests one Tardis CSV file (no state carries from one input to the next).
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<()> {
    let mut ctx = Ctx::new(w, report, opts);
    ingest_file(file, &mut ctx)
}

fn ingest_file(file: &Path, ctx: &mut Ctx) -> Result<()> {
    let mut r = Records::open(file)?;
    let header = match r.next(ctx.lenient, ctx.report)? {
        Next::Record(_) => Header::parse(r.record().iter(), file)?,
        Next::Bad(line, rule) => {
            return Err(SourceError::Line {
                file: file.into(),
                line,
                rule: format!("header: {rule}"),
            });
        }
        Next::End => {
            // No content at all (Tardis serves empty gzip files for days without data).
            ctx.report.empty_inputs += 1;
            r.finish(ctx.report);
            return Ok(());
        }
    };
    let mut records = 0u64;
    let mut snapshots = BTreeMap::new();
    loop {
        match r.next(ctx.lenient, ctx.report)? {
            Next::Record(line) => {
                records += 1;
                let fields: Vec<&str> = r.record().iter().collect();
                let row = parse(&header, &fields, ctx)
                    .and_then(|(m, row)| levels_of(&mut snapshots, m, row));
                match row {
                    Ok(row) => write(row, (file, line), ctx)?,
                    Err(rule) => ctx.bad_line(file, line, rule, "bad csv row")?,
                }
            }
            Next::Bad(line, rule) => {
                records += 1;
                ctx.bad_line(file, line, rule, "bad csv row")?;
            }
            Next::End => break,
        }
    }
    if records == 0 {
        ctx.report.empty_inputs += 1;
    }
    r.finish(ctx.report);
    Ok(())
}

/// Parses one row; the market's counts exist in the report once its market and times parse.
fn parse(h: &Header, fields: &[&str], ctx: &mut Ctx) -> std::result::Result<(Market, Row), String> {
    let (market, ts_event, ts_recv) = rows::market_and_times(h, fields)?;
    ctx.report.market(&market);
    Ok((market, rows::row(h, fields, ts_event, ts_recv)?))
}

/// A snapshot row as the book rows it stands for, from its market's previous snapshot; other
/// rows as they are.
fn levels_of(
    snapshots: &mut BTreeMap<Market, SnapshotDiffer>,
    market: Market,
    row: Row,
) -> std::result::Result<(Market, Row), String> {
    let Row::Snapshot(s) = row else {
        return Ok((market, row));
    };
    let rows = snapshots.entry(market.clone()).or_default().next_rows(
        &s.bids,
        &s.asks,
        (s.ts_event, s.ts_recv),
    )?;
    Ok((market, Row::Levels(rows)))
}

fn write((market, row): (Market, Row), at: (&Path, u64), ctx: &mut Ctx) -> Result<()> {
    match row {
        Row::Levels(rows) => snapshot_feed::write(ctx, &market, rows)?,
        Row::Snapshot(_) => unreachable!("snapshot rows are resolved to levels before writing"),
        Row::Book(r) => {
            ctx.w.book(&market, r)?;
            ctx.report.market(&market).book_rows += 1;
        }
        Row::Trade(r) => ctx.trade(at, &market, r)?,
        Row::Ticker(r) => {
            ctx.w.ticker(&market, r)?;
            ctx.report.market(&market).tickers += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
