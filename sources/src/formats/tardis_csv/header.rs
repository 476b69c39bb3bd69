//! A Tardis CSV header: which dataset the file holds and where its common columns are.

use crate::error::{Result, SourceError};
use std::path::Path;

/// Tardis datasets ingested.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dataset {
    /// `incremental_book_L2`.
    Book,
    /// `trades`.
    Trades,
    /// `quotes`.
    Quotes,
}

/// Column names, the dataset they identify, and the columns every dataset has.
pub(super) struct Header<'h> {
    /// Column names in order.
    pub(super) names: Vec<&'h str>,
    pub(super) dataset: Dataset,
    pub(super) exchange: usize,
    pub(super) symbol: usize,
    pub(super) timestamp: usize,
    pub(super) local_timestamp: usize,
}

impl<'h> Header<'h> {
    /// Reads header `line` of `file`.
    pub(super) fn parse(line: &'h str, file: &Path) -> Result<Self> {
        let names: Vec<&str> = line.trim_end().split(',').collect();
        let file_error = |rule: String| SourceError::File {
            file: file.into(),
            rule,
        };
        let dataset = dataset_of(&names).map_err(|rule| file_error(rule.into()))?;
        let need =
            |n: &str| col(&names, n).ok_or_else(|| file_error(format!("missing column `{n}`")));
        Ok(Header {
            dataset,
            exchange: need("exchange")?,
            symbol: need("symbol")?,
            timestamp: need("timestamp")?,
            local_timestamp: need("local_timestamp")?,
            names,
        })
    }

    /// The index of column `name`.
    pub(super) fn col(&self, name: &str) -> Option<usize> {
        col(&self.names, name)
    }
}

fn col(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|h| *h == name)
}

fn dataset_of(names: &[&str]) -> std::result::Result<Dataset, &'static str> {
    if names.iter().any(|h| h.starts_with("asks[0]")) {
        Err("unsupported Tardis dataset book_snapshot_N (not incremental); use incremental_book_L2")
    } else if col(names, "is_snapshot").is_some() {
        Ok(Dataset::Book)
    } else if col(names, "id").is_some() && col(names, "side").is_some() {
        Ok(Dataset::Trades)
    } else if col(names, "ask_price").is_some() {
        Ok(Dataset::Quotes)
    } else {
        Err("unrecognised Tardis CSV header (expected incremental_book_L2, trades or quotes)")
    }
}
