//! An input's identity (CONTRACT §10.1): base name, size, content hash, and its place in its
//! markets' order (receive time of its first line), and the bronze file name derived from it.

use super::options::InputFormat;
use crate::error::{Result, SourceError};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// One input file as identified before it is parsed.
#[derive(Debug, Clone)]
pub(crate) struct InputInfo {
    /// The path as given (read from, and named in messages).
    pub(crate) path: PathBuf,
    /// The absolute path (recorded in the ingest state).
    pub(crate) abs: PathBuf,
    /// Base name.
    pub(crate) name: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// CRC-32 of the bytes, hex.
    pub(crate) hash: String,
    /// Order key: receive time of the first line (Binance raw, cryptofeed), else 0.
    pub(crate) order: i64,
}

fn file_err(path: &Path, rule: impl Into<String>) -> SourceError {
    SourceError::File {
        file: path.into(),
        rule: rule.into(),
    }
}

/// `(size, CRC-32 hex)` of a file's bytes.
fn content_hash(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(|e| file_err(path, e.to_string()))?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| file_err(path, e.to_string()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, format!("{:08x}", h.finalize())))
}

/// The receive time of the first `<recv_ns> <json>` line (0 when none is readable: the parser
/// then reports what is wrong).
fn first_recv(path: &Path) -> Result<i64> {
    let mut r = super::lines::open_reader(path)?;
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return Ok(0);
    }
    Ok(line
        .split_once(' ')
        .and_then(|(t, _)| t.parse().ok())
        .unwrap_or(0))
}

impl InputInfo {
    /// Identifies `path` for `format`.
    pub(crate) fn read(path: &Path, format: InputFormat) -> Result<Self> {
        let abs = std::fs::canonicalize(path).map_err(|e| file_err(path, e.to_string()))?;
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| file_err(path, "not a file name"))?;
        let (size, hash) = content_hash(&abs)?;
        let order = match format {
            InputFormat::BinanceRaw | InputFormat::Hyperliquid => first_recv(&abs)?,
            InputFormat::TardisCsv
            | InputFormat::BybitOrderbook
            | InputFormat::BinanceVision { .. } => 0,
            InputFormat::Cryptofeed => crate::cryptofeed::ingest::first_time(&abs)?,
        };
        Ok(InputInfo {
            path: path.into(),
            abs,
            name,
            size,
            hash,
            order,
        })
    }
}

/// The bronze file name of input `name` in `format`:
/// `<format>-<sanitised name>-<8 hex of CRC-32 of the name>.parquet` (CONTRACT §10.1).
pub(crate) fn bronze_file_name(format: InputFormat, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.');
    format!(
        "{}-{clean}-{:08x}.parquet",
        format.name(),
        crc32fast::hash(name.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_and_hashed() {
        let n = bronze_file_name(InputFormat::BinanceRaw, "btc usdt/20240808.gz");
        assert!(n.starts_with("binance-raw-btc_usdt_20240808.gz-"), "{n}");
        assert!(n.ends_with(".parquet"));
        assert_ne!(
            n,
            bronze_file_name(InputFormat::BinanceRaw, "btc_usdt_20240808.gz")
        );
    }
}
