//! `daedalus ingest --format cryptofeed`: one capture file through the ingest stage
//! (CONTRACT §10.1–10.2, §10.6). The capture is read line by line with the stage's line reader
//! (gzip or plain); each market starts from the book state its previous input ended with (a
//! [`VenueBook`] from the ingest state) and its rows go to the input's bronze files as soon as
//! each line is applied. Strict (the default): a malformed line, an unknown symbol or a failed
//! venue check stops the ingest with an error naming file, line and rule. `--lenient`: a bad
//! line is skipped and counted (a book message it cut short is a gap), a failed check is a
//! counted gap, and the book's rows stop until the next snapshot.

use super::{CryptofeedError, Driver, Line, VenueBook, parse_line, time::parse_float_secs};
use crate::error::{Result, SourceError};
use crate::ingest::lines::Lines;
use crate::ingest::options::IngestOptions;
use crate::ingest::report::IngestReport;
use crate::ingest::trades::TradeGate;
use daedalus_model::market::Market;
use daedalus_model::time::Nanos;
use daedalus_sinks::bronze::BronzeWriter;
use std::collections::BTreeMap;
use std::path::Path;

/// Ingests one capture, continuing each market's book from `seeds`; returns the book state each
/// market it touched ends with.
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
    seeds: BTreeMap<Market, VenueBook>,
) -> Result<BTreeMap<Market, VenueBook>> {
    let mut lines = Lines::open(file)?;
    let mut d = Driver::new(file, !opts.lenient, seeds);
    let mut any = false;
    let mut gate = Gate {
        trades: TradeGate::default(),
        lenient: opts.lenient,
    };
    while let Some((n, text)) = lines.next_line(opts.lenient, report)? {
        any = true;
        if let Err(e) = d.on_line(n, text) {
            bad_line(e, text, &mut d, opts, report)?;
        }
        drain(&mut d, w, report, &mut gate, (file, n))?;
    }
    if !any {
        report.empty_inputs += 1;
        return Ok(BTreeMap::new());
    }
    d.venue().map_err(to_source)?;
    let (markets, skipped) = d.sink.finish();
    tracing::debug!("{}: skipped {skipped:?}", file.display());
    let mut out = BTreeMap::new();
    for (m, book) in markets {
        let c = report.market(&m.market);
        c.book_messages += m.book_messages;
        c.snapshots += m.snapshots;
        c.history_trades += m.history_trades;
        c.gaps += m.stats.gaps();
        c.checks.add(&m.stats);
        out.insert(m.market, book);
    }
    Ok(out)
}

/// The trade checks of one input ([`crate::ingest::trades`]) and its strictness.
struct Gate {
    trades: TradeGate,
    lenient: bool,
}

/// Writes the rows the markets emitted so far (by the line `at`).
fn drain(
    d: &mut Driver,
    w: &mut BronzeWriter,
    report: &mut IngestReport,
    gate: &mut Gate,
    at: (&Path, u64),
) -> Result<()> {
    for m in d.sink.markets_mut() {
        let (book, trades, ticker) = m.take_rows();
        if book.is_empty() && trades.is_empty() && ticker.is_empty() {
            continue;
        }
        let market = &m.out.market;
        let c = report.market(market);
        c.book_rows += book.len() as u64;
        c.tickers += ticker.len() as u64;
        for r in book {
            w.book(market, r)?;
        }
        for r in trades {
            gate.trades.write(w, report, gate.lenient, at, market, r)?;
        }
        for r in ticker {
            w.ticker(market, r)?;
        }
    }
    Ok(())
}

/// A line the driver refused: an error, or with `--lenient` a counted skip (a failed venue check
/// never reaches here when lenient: it is a counted gap).
fn bad_line(
    e: CryptofeedError,
    text: &str,
    d: &mut Driver,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<()> {
    let key = match &e {
        CryptofeedError::Malformed { .. } => "malformed message",
        CryptofeedError::UnknownSymbol { .. } => "unknown symbol",
        _ => return Err(to_source(e)),
    };
    if !opts.lenient {
        return Err(to_source(e));
    }
    tracing::warn!("{e} (skipped)");
    report.skip(key);
    let ts = match parse_line(text) {
        Ok(Line::Received(r)) => r.ts_recv,
        _ => 0,
    };
    d.sink.abort(ts, key);
    Ok(())
}

/// The crate's error for a capture error (file, line and rule kept).
fn to_source(e: CryptofeedError) -> SourceError {
    match e {
        CryptofeedError::Io { file, source } => SourceError::File {
            file,
            rule: source.to_string(),
        },
        CryptofeedError::Malformed {
            file,
            line,
            rule,
            detail,
        } => SourceError::Line {
            file,
            line,
            rule: format!("{rule}: {detail}"),
        },
        CryptofeedError::UnknownSymbol {
            file,
            line,
            venue,
            symbol,
        } => SourceError::Line {
            file,
            line,
            rule: format!("unknown {venue} symbol {symbol:?}: no canonical id (CONTRACT §10.4)"),
        },
        CryptofeedError::UnknownVenue { file, line, url } => SourceError::Line {
            file,
            line,
            rule: format!("unknown venue for connection {url:?}"),
        },
        CryptofeedError::CheckFailed {
            file,
            line,
            market,
            check,
            detail,
        } => SourceError::Line {
            file,
            line,
            rule: format!(
                "{market}: {check} check failed: {detail} (CONTRACT §10.6; --lenient counts it as a gap)"
            ),
        },
    }
}

/// The time of a capture line: a connection's, a sent message's or a received message's
/// (`None` for anything else).
pub(crate) fn line_time(text: &str) -> Option<Nanos> {
    let text = text.trim();
    if let Some((_, ts)) = text.split_once(" <-> ") {
        return parse_float_secs(ts.trim());
    }
    let rest = text.split_once(" <- ").map_or(text, |(_, r)| r);
    parse_float_secs(rest.split_once(": ")?.0)
}

/// The order key of a capture (CONTRACT §10.1): the time of its first line (0 when it has none
/// readable: the parse then reports what is wrong).
pub(crate) fn first_time(path: &Path) -> Result<i64> {
    let mut lines = Lines::open(path)?;
    let mut r = IngestReport::default();
    let first = lines.next_line(true, &mut r)?;
    Ok(first.and_then(|(_, t)| line_time(t)).unwrap_or(0))
}

/// The parallel-ingest lane of a capture: its name without the rotation counter
/// (`COINBASE.ws.28.1` → `COINBASE.ws.28`), so a connection's files are parsed in order, each
/// from the book its predecessor ended with.
pub(crate) fn lane_of(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem.into(),
        _ => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_times_and_lanes() {
        let t = 1_618_678_132_385_815_100;
        assert_eq!(
            line_time("wss://ws.kraken.com <-> 1618678132.3858151"),
            Some(t)
        );
        assert_eq!(
            line_time("wss://ws.kraken.com <- 1618678132.3858151: {\"a\": 1}"),
            Some(t)
        );
        assert_eq!(line_time("1618678132.3858151: {\"a\": 1}"), Some(t));
        assert_eq!(line_time("garbage"), None);
        assert_eq!(lane_of("COINBASE.ws.28.1"), "COINBASE.ws.28");
        assert_eq!(lane_of("capture.txt"), "capture.txt");
    }
}
