//! The one recording inside a `.zip` archive (Bybit's and Binance's public archives ship one
//! file per archive), read as a stream.
//!
//! Why a thread and a pipe: the `zip` crate's member reader borrows its archive, and the line
//! reader needs an owned `Read`. A thread owns the archive and copies the member into a pipe
//! (bounded: memory does not grow with the member's size); the reader end is the stream. The
//! member's CRC is checked at its end; an error there (or anywhere in the archive) is returned
//! by the stream's last read, so a corrupt member is reported like a truncated gzip.

use crate::error::{Result, SourceError};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::thread::JoinHandle;

/// The first bytes of a zip archive (a local file header).
pub(crate) const MAGIC: [u8; 4] = *b"PK\x03\x04";

/// The stream of an archive's one file member.
struct Member {
    pipe: io::PipeReader,
    copier: Option<JoinHandle<io::Result<u64>>>,
}

impl Read for Member {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.pipe.read(buf)?;
        if n == 0
            && !buf.is_empty()
            && let Some(t) = self.copier.take()
        {
            t.join()
                .map_err(|_| io::Error::other("zip reader thread panicked"))??;
        }
        Ok(n)
    }
}

/// Opens the one file member of the archive at `path` as a stream; an archive with no file or
/// several is an error naming how many it holds.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let bad = |detail: String| SourceError::File {
        file: path.into(),
        rule: detail,
    };
    let index = {
        let f = File::open(path).map_err(|e| bad(e.to_string()))?;
        let mut a = zip::ZipArchive::new(f).map_err(|e| bad(format!("zip archive: {e}")))?;
        let files: Vec<usize> = (0..a.len())
            .filter(|&i| a.by_index(i).is_ok_and(|m| m.is_file()))
            .collect();
        match files[..] {
            [i] => i,
            _ => {
                return Err(bad(format!(
                    "zip archive holds {} files; one recording per archive is read",
                    files.len()
                )));
            }
        }
    };
    let (reader, mut writer) = io::pipe().map_err(|e| bad(e.to_string()))?;
    let p = path.to_path_buf();
    let copier = std::thread::spawn(move || -> io::Result<u64> {
        let mut a = zip::ZipArchive::new(File::open(&p)?).map_err(io::Error::other)?;
        let mut m = a.by_index(index).map_err(io::Error::other)?;
        io::copy(&mut m, &mut writer)
    });
    Ok(Box::new(Member {
        pipe: reader,
        copier: Some(copier),
    }))
}
