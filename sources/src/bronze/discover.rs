//! Bronze partition discovery from directory listings only, so filters prune partitions
//! **before any file is opened**; staged files (dot-names) are never read.

use crate::error::{Result, SourceError};
use daedalus_model::market::validate_partition_value;
use daedalus_model::partition::hive_value;
use daedalus_model::rows::Dataset;
use daedalus_model::time::Date;
use std::path::{Path, PathBuf};

/// One bronze partition (market, dataset, date) and its files in name order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BronzePartition {
    /// Dataset.
    pub dataset: Dataset,
    /// Exchange id.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// UTC date.
    pub date: Date,
    /// Committed `*.parquet` files, sorted by name (their application order).
    pub files: Vec<PathBuf>,
}

fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(SourceError::Io {
                path: dir.into(),
                source,
            });
        }
    };
    for e in rd {
        let e = e.map_err(|source| SourceError::Io {
            path: dir.into(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        out.push((name, e.path()));
    }
    out.sort();
    Ok(out)
}

fn part_value<'a>(name: &'a str, key: &'static str, path: &Path) -> Result<&'a str> {
    let v = hive_value(name, key).ok_or_else(|| SourceError::Partition {
        path: path.into(),
        detail: format!("expected `{key}=<value>`"),
    })?;
    validate_partition_value(key, v).map_err(|e| SourceError::Partition {
        path: path.into(),
        detail: e.to_string(),
    })?;
    Ok(v)
}

/// Lists bronze partitions of `datasets` under `root` whose path values pass `keep(exchange,
/// symbol, date)`, without opening any file. Sorted by (dataset, exchange, symbol, date).
pub fn discover(
    root: &Path,
    datasets: &[Dataset],
    mut keep: impl FnMut(&str, &str, Date) -> bool,
) -> Result<Vec<BronzePartition>> {
    let mut out = Vec::new();
    for &ds in datasets {
        let base = root.join("bronze").join(ds.name());
        for (exchange, ex_path) in partition_dirs(&base, "exchange")? {
            for (symbol, sy_path) in partition_dirs(&ex_path, "symbol")? {
                for (dv, d_path) in partition_dirs(&sy_path, "date")? {
                    let date = Date::parse(&dv).ok_or_else(|| SourceError::Partition {
                        path: d_path.clone(),
                        detail: format!("date {dv:?} is not YYYY-MM-DD"),
                    })?;
                    if !keep(&exchange, &symbol, date) {
                        continue;
                    }
                    let files = parquet_files(&d_path)?;
                    if !files.is_empty() {
                        out.push(BronzePartition {
                            dataset: ds,
                            exchange: exchange.clone(),
                            symbol: symbol.clone(),
                            date,
                            files,
                        });
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `key=<value>` directories of `dir` as `(value, path)`, in name order, dot-names skipped.
fn partition_dirs(dir: &Path, key: &'static str) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for (name, path) in list_dir(dir)? {
        if name.starts_with('.') {
            continue;
        }
        let value = part_value(&name, key, &path)?.to_string();
        out.push((value, path));
    }
    Ok(out)
}

/// The committed `*.parquet` files of a partition directory, in name order.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(list_dir(dir)?
        .into_iter()
        .filter(|(n, _)| !n.starts_with('.') && n.ends_with(".parquet"))
        .map(|(_, p)| p)
        .collect())
}
