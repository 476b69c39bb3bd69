//! A Tardis CSV file as records. Tardis files are written by other tools and fetched through
//! proxies, so they are read by the `csv` crate rather than split by hand: quoted fields (a
//! quoted comma or line break stays in its field), LF or CRLF line ends, and a UTF-8 byte order
//! mark before the header all parse. gzip is detected by its magic bytes, as for every input.
//!
//! Every physical line is counted once, as its bytes are read (the progress counter
//! [`LINES_READ`]), and the file's total goes to the report when it is done: a record spanning
//! two lines counts two, a blank line counts one, like the line numbers in messages.

use crate::error::{Result, SourceError};
use crate::ingest::lines::{LINES_READ, open_reader};
use crate::ingest::report::IngestReport;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A reader counting the line ends that pass through it, and remembering where those the CSV
/// parser has not reached yet are (its buffer reads ahead) and whether they end a blank line, to
/// number records by line: the `csv` crate's own line count, and the start it gives a record
/// after blank lines, leave the blank lines out.
struct Counted {
    inner: Box<dyn BufRead>,
    /// Bytes read.
    offset: u64,
    /// Line ends read but not yet passed by [`Counted::line_at`]: offset, and whether the line
    /// they end is blank (nothing or a lone `\r`).
    ahead: VecDeque<(u64, bool)>,
    /// Whether the line being read has a byte other than `\r` so far.
    in_text: bool,
    /// Line ends passed.
    passed: u64,
    newlines: u64,
    last: Option<u8>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let before = self.ahead.len();
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.ahead
                    .push_back((self.offset + i as u64, !self.in_text));
                self.in_text = false;
            } else if b != b'\r' {
                self.in_text = true;
            }
        }
        if n > 0 {
            let k = (self.ahead.len() - before) as u64;
            self.newlines += k;
            self.offset += n as u64;
            self.last = Some(buf[n - 1]);
            LINES_READ.fetch_add(k, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl Counted {
    /// Lines read: line ends, plus a last line without one.
    fn lines(&self) -> u64 {
        self.newlines + u64::from(self.last.is_some_and(|b| b != b'\n'))
    }

    /// The 1-based line of the record the parser starts at byte `offset` (offsets asked never
    /// decrease). The parser may give a record the start of the blank lines before it, or the
    /// `\n` of the CRLF before it: both are skipped.
    fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(&(e, blank)) = self.ahead.front() {
            if e > offset && !blank {
                break;
            }
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// What [`Records::next`] found.
pub(super) enum Next {
    /// A record (in [`Records::record`]) starting on this 1-based line.
    Record(u64),
    /// A record that is not text: its line and the rule broken.
    Bad(u64, String),
    /// The end of the file (or, lenient, of its readable part).
    End,
}

/// The records of one Tardis CSV file.
pub(super) struct Records {
    csv: csv::Reader<Counted>,
    file: PathBuf,
    rec: csv::StringRecord,
}

impl Records {
    /// Opens `file` (gzip or plain).
    pub(super) fn open(file: &Path) -> Result<Self> {
        let inner = Counted {
            inner: open_reader(file)?,
            offset: 0,
            ahead: VecDeque::new(),
            in_text: false,
            passed: 0,
            newlines: 0,
            last: None,
        };
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(inner);
        Ok(Records {
            csv,
            file: file.into(),
            rec: csv::StringRecord::new(),
        })
    }

    /// The record [`Next::Record`] announced.
    pub(super) fn record(&self) -> &csv::StringRecord {
        &self.rec
    }

    /// Reads the next record (blank lines are skipped). A read error (truncated gzip) fails the
    /// file, or with `lenient` ends it, keeping the records read.
    pub(super) fn next(&mut self, lenient: bool, report: &mut IngestReport) -> Result<Next> {
        match self.csv.read_record(&mut self.rec) {
            Ok(true) => {
                let byte = self.rec.position().map_or(0, |p| p.byte());
                Ok(Next::Record(self.csv.get_mut().line_at(byte)))
            }
            Ok(false) => Ok(Next::End),
            Err(e) => match e.kind() {
                csv::ErrorKind::Utf8 { pos, err } => {
                    let rule = format!("not UTF-8 text (field {})", err.field() + 1);
                    let byte = pos.as_ref().map_or(0, |p| p.byte());
                    Ok(Next::Bad(self.csv.get_mut().line_at(byte), rule))
                }
                _ => self.truncated(e, lenient, report).map(|()| Next::End),
            },
        }
    }

    fn truncated(&self, e: csv::Error, lenient: bool, report: &mut IngestReport) -> Result<()> {
        let rule = format!(
            "truncated or corrupt input after line {}: {e}",
            self.csv.get_ref().newlines
        );
        if !lenient {
            return Err(SourceError::File {
                file: self.file.clone(),
                rule,
            });
        }
        tracing::warn!(
            "{}: {rule}; lines read so far are kept",
            self.file.display()
        );
        report.truncated_files.push(self.file.clone());
        Ok(())
    }

    /// Adds the file's lines to the report (and its unterminated last line to [`LINES_READ`]).
    pub(super) fn finish(self, report: &mut IngestReport) {
        let c = self.csv.get_ref();
        let lines = c.lines();
        LINES_READ.fetch_add(lines - c.newlines, Ordering::Relaxed);
        report.lines += lines;
    }
}
