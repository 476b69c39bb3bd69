//! Recording files as counted text lines: gzip detected by magic bytes, every line counted in
//! the report and in [`LINES_READ`], a truncated file an error (or, lenient, the end of it).

use super::report::IngestReport;
use crate::error::{Result, SourceError};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Input lines read so far in this process (for progress displays).
pub static LINES_READ: AtomicU64 = AtomicU64::new(0);

/// The lines of one recording file.
pub(crate) struct Lines {
    reader: Box<dyn BufRead>,
    file: PathBuf,
    buf: String,
    line_no: u64,
}

fn file_error(file: &Path, e: std::io::Error) -> SourceError {
    SourceError::File {
        file: file.into(),
        rule: e.to_string(),
    }
}

/// Opens a file as text lines, transparently gunzipping (detected by magic bytes).
pub(crate) fn open_reader(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut f = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| file_error(path, e))?;
    let f = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(f),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 20, f)))
    }
}

impl Lines {
    /// Opens `file`.
    pub(crate) fn open(file: &Path) -> Result<Self> {
        Ok(Lines {
            reader: open_reader(file)?,
            file: file.into(),
            buf: String::new(),
            line_no: 0,
        })
    }

    /// Reads the first line (a header) as is; any read error fails the file, lenient or not.
    #[allow(dead_code)] // Tardis CSV reads its header through the `csv` crate now.
    pub(crate) fn header(&mut self, report: &mut IngestReport) -> Result<String> {
        let mut header = String::new();
        self.reader
            .read_line(&mut header)
            .map_err(|e| file_error(&self.file, e))?;
        self.count(report);
        Ok(header)
    }

    fn count(&mut self, report: &mut IngestReport) {
        self.line_no += 1;
        report.lines += 1;
        LINES_READ.fetch_add(1, Ordering::Relaxed);
    }

    /// The next non-empty line, right-trimmed, with its 1-based number; `None` at the end. A read
    /// error (truncated gzip) fails the file, or with `lenient` ends it, keeping the lines read.
    pub(crate) fn next_line(
        &mut self,
        lenient: bool,
        report: &mut IngestReport,
    ) -> Result<Option<(u64, &str)>> {
        loop {
            self.buf.clear();
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) => return self.truncated(e, lenient, report).map(|()| None),
            }
            self.count(report);
            if !self.buf.trim_end().is_empty() {
                return Ok(Some((self.line_no, self.buf.trim_end())));
            }
        }
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
