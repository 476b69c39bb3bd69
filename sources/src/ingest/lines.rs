//! Recording files as counted text lines: gzip detected by magic bytes, every line counted in
//! the report and in [`LINES_READ`], a truncated file an error (or, lenient, the end of it).
//!
//! Why a hand-made line splitter: ingest reads ~150 MB of JSON per ten files, and copying every
//! line into a `String` (`BufRead::read_line`) was measurable. Here the decompressed bytes land
//! in one reused buffer and each line is a borrowed slice of it, found with `memchr`; only a
//! line that straddles two reads is moved (to the front of the buffer), never allocated.

use super::report::IngestReport;
use crate::error::{Result, SourceError};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Input lines read so far in this process (for progress displays).
pub static LINES_READ: AtomicU64 = AtomicU64::new(0);

/// Size of one read from the (decompressing) reader.
const CHUNK: usize = 256 << 10;

/// Lines are published to [`LINES_READ`] in batches this large (one shared counter updated per
/// line would bounce its cache line between parallel ingest threads).
const PUBLISH_EVERY: u64 = 4096;

/// The lines of one recording file.
pub(crate) struct Lines {
    reader: Box<dyn Read + Send>,
    file: PathBuf,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    line_no: u64,
    unpublished: u64,
}

fn file_error(file: &Path, e: std::io::Error) -> SourceError {
    SourceError::File {
        file: file.into(),
        rule: e.to_string(),
    }
}

/// Opens a file as a byte stream, transparently gunzipping or reading the one recording of a
/// `.zip` archive (detected by magic bytes).
fn open_raw(path: &Path) -> Result<Box<dyn Read + Send>> {
    let mut f = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(|e| file_error(path, e))?;
    if n == 4 && magic == super::zip_member::MAGIC {
        return super::zip_member::open(path);
    }
    let f = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        let compressed = BufReader::with_capacity(CHUNK, f);
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(compressed)))
    } else {
        Ok(Box::new(f))
    }
}

/// The decompressed size of a file in bytes.
pub(crate) fn raw_len(path: &Path) -> Result<u64> {
    let mut r = open_raw(path)?;
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| file_error(path, e))
}

/// Opens a file as text lines, transparently gunzipping (detected by magic bytes).
pub(crate) fn open_reader(path: &Path) -> Result<Box<dyn BufRead>> {
    Ok(Box::new(BufReader::with_capacity(1 << 16, open_raw(path)?)))
}

impl Lines {
    /// Opens `file`.
    pub(crate) fn open(file: &Path) -> Result<Self> {
        Ok(Lines {
            reader: open_raw(file)?,
            file: file.into(),
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            line_no: 0,
            unpublished: 0,
        })
    }

    /// Reads the first line (a header) as is; any read error fails the file, lenient or not.
    #[allow(dead_code)] // Tardis CSV reads its header through the `csv` crate now.
    pub(crate) fn header(&mut self, report: &mut IngestReport) -> Result<String> {
        let raw = self.raw_line().map_err(|e| file_error(&self.file, e))?;
        let Some((from, to)) = raw else {
            return Ok(String::new());
        };
        let header = std::str::from_utf8(&self.buf[from..to])
            .map_err(|_| file_error(&self.file, not_utf8()))?
            .to_string();
        self.count(report);
        Ok(header)
    }

    fn count(&mut self, report: &mut IngestReport) {
        self.line_no += 1;
        report.lines += 1;
        self.unpublished += 1;
        if self.unpublished >= PUBLISH_EVERY {
            self.publish();
        }
    }

    fn publish(&mut self) {
        LINES_READ.fetch_add(self.unpublished, Ordering::Relaxed);
        self.unpublished = 0;
    }

    /// The byte range of the next line in `buf`, its `\n` included when present.
    fn raw_line(&mut self) -> std::io::Result<Option<(usize, usize)>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let from = self.start;
                self.start += i + 1;
                return Ok(Some((from, self.start)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let from = self.start;
                self.start = self.end;
                return Ok(Some((from, self.end)));
            }
            self.fill()?;
        }
    }

    /// Moves the partial line to the front (growing the buffer for a line longer than it) and
    /// reads more after it.
    fn fill(&mut self) -> std::io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.buf.len() - self.end < CHUNK / 2 {
            self.buf.resize(self.buf.len() + CHUNK, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            return Ok(());
        }
    }

    /// The next non-empty line, right-trimmed, with its 1-based number; `None` at the end. A read
    /// error (truncated gzip) fails the file, or with `lenient` ends it, keeping the lines read.
    ///
    /// A line is checked as UTF-8 once: blank lines are found on bytes (a line ending in a
    /// non-ASCII byte is checked and trimmed as text, as it may end in Unicode whitespace).
    pub(crate) fn next_line(
        &mut self,
        lenient: bool,
        report: &mut IngestReport,
    ) -> Result<Option<(u64, &str)>> {
        let (from, len) = loop {
            let (from, to) = match self.raw_line() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.publish();
                    return Ok(None);
                }
                Err(e) => {
                    self.publish();
                    return self.truncated(e, lenient, report).map(|()| None);
                }
            };
            let bytes = trim_ascii_ws_end(&self.buf[from..to]);
            let len = match bytes.last() {
                Some(b) if !b.is_ascii() => match std::str::from_utf8(bytes) {
                    Ok(text) => text.trim_end().len(),
                    Err(_) => {
                        self.not_utf8_line(lenient, report)?;
                        continue;
                    }
                },
                _ => bytes.len(),
            };
            if len == 0 {
                self.count(report);
            } else if std::str::from_utf8(&self.buf[from..from + len]).is_ok() {
                break (from, len);
            } else {
                self.not_utf8_line(lenient, report)?;
            }
        };
        let Ok(text) = std::str::from_utf8(&self.buf[from..from + len]) else {
            unreachable!("checked in the loop");
        };
        // `count`, inlined: `text` borrows `buf`.
        self.line_no += 1;
        report.lines += 1;
        self.unpublished += 1;
        if self.unpublished >= PUBLISH_EVERY {
            LINES_READ.fetch_add(self.unpublished, Ordering::Relaxed);
            self.unpublished = 0;
        }
        Ok(Some((self.line_no, text)))
    }

    /// A line that is not UTF-8 is one bad line (issue 16: it used to end the file as
    /// truncated): an error naming file and line, or with `lenient` skipped and counted.
    fn not_utf8_line(&mut self, lenient: bool, report: &mut IngestReport) -> Result<()> {
        self.count(report);
        let rule = "not UTF-8".to_string();
        if !lenient {
            return Err(SourceError::Line {
                file: self.file.clone(),
                line: self.line_no,
                rule,
            });
        }
        tracing::warn!("{}:{}: {rule} (skipped)", self.file.display(), self.line_no);
        report.skip("not UTF-8");
        Ok(())
    }

    fn truncated(&self, e: std::io::Error, lenient: bool, report: &mut IngestReport) -> Result<()> {
        let rule = format!(
            "truncated or corrupt input after line {}: {e}",
            self.line_no
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
}

/// `bytes` without trailing ASCII whitespace as `str::trim_end` sees it (`\t`..=`\r`, space;
/// unlike `<[u8]>::trim_ascii_end`, which keeps `\x0b`).
fn trim_ascii_ws_end(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'..=b'\r'))
        .map_or(0, |i| i + 1);
    &bytes[..n]
}

fn not_utf8() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(content: &[u8]) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        std::fs::write(&p, content).unwrap();
        let mut l = Lines::open(&p).unwrap();
        let mut r = IngestReport::default();
        let mut out = vec![];
        while let Some((n, t)) = l.next_line(false, &mut r).unwrap() {
            out.push((n, t.to_string()));
        }
        out
    }

    #[test]
    fn lines_split_trim_and_skip_blanks_across_chunks() {
        let long = "x".repeat(CHUNK * 2 + 17);
        let text = format!("a \r\x0b\n\n{long}\nb\n \u{3000}\nc\u{a0}");
        let got = lines_of(text.as_bytes());
        let want = vec![
            (1, "a".to_string()),
            (3, long),
            (4, "b".to_string()),
            (6, "c".to_string()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.txt");
        std::fs::write(&p, b"ok\n\xff\xfe\n").unwrap();
        let mut l = Lines::open(&p).unwrap();
        let mut r = IngestReport::default();
        assert!(l.next_line(false, &mut r).unwrap().is_some());
        let e = l.next_line(false, &mut r).unwrap_err().to_string();
        assert!(e.contains("bad.txt:2: not UTF-8"), "{e}");
    }

    /// Issue 16: with `lenient`, one bad byte costs its line only; the lines after it are read.
    #[test]
    fn invalid_utf8_lenient_skips_the_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.txt");
        std::fs::write(&p, b"ok\nb\xffd\n\nlast\xc3\n\xe2\x82\nafter\n").unwrap();
        let mut l = Lines::open(&p).unwrap();
        let mut r = IngestReport::default();
        let mut got = Vec::new();
        while let Some((n, t)) = l.next_line(true, &mut r).unwrap() {
            got.push((n, t.to_string()));
        }
        assert_eq!(got, [(1, "ok".to_string()), (6, "after".to_string())]);
        assert_eq!(r.skipped["not UTF-8"], 3);
        assert!(r.truncated_files.is_empty());
    }
}
