//! A Tardis CSV header: which dataset the file holds, and that every column the dataset needs is
//! there. A missing column is reported against the header (line 1) when the file is opened, not
//! against the first row that would need it.

use crate::error::{Result, SourceError};
use std::path::Path;

/// Tardis datasets ingested.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Dataset {
    /// `incremental_book_L2`.
    Book,
    /// `trades`.
    Trades,
    /// `quotes`.
    Quotes,
}

/// The columns every dataset has.
const COMMON: [&str; 4] = ["exchange", "symbol", "timestamp", "local_timestamp"];

impl Dataset {
    /// Tardis's name of the dataset.
    fn name(self) -> &'static str {
        match self {
            Dataset::Book => "incremental_book_L2",
            Dataset::Trades => "trades",
            Dataset::Quotes => "quotes",
        }
    }

    /// The dataset's own columns (after [`COMMON`]).
    fn columns(self) -> [&'static str; 4] {
        match self {
            Dataset::Book => ["is_snapshot", "side", "price", "amount"],
            Dataset::Trades => ["id", "side", "price", "amount"],
            Dataset::Quotes => ["ask_amount", "ask_price", "bid_price", "bid_amount"],
        }
    }
}

/// Column names, the dataset they identify, and where the common columns are.
pub(super) struct Header {
    /// Column names in order.
    pub(super) names: Vec<String>,
    pub(super) dataset: Dataset,
    pub(super) exchange: usize,
    pub(super) symbol: usize,
    pub(super) timestamp: usize,
    pub(super) local_timestamp: usize,
}

impl Header {
    /// Reads the header record `fields` (line 1) of `file`. A UTF-8 byte order mark before the
    /// first name is not part of it (the `csv` reader strips it; a second one would not be).
    pub(super) fn parse<'f>(fields: impl Iterator<Item = &'f str>, file: &Path) -> Result<Self> {
        let names: Vec<String> = fields
            .enumerate()
            .map(|(i, n)| {
                let n = if i == 0 {
                    n.trim_start_matches('\u{feff}')
                } else {
                    n
                };
                n.trim().to_string()
            })
            .collect();
        let at_header = |rule: String| SourceError::Line {
            file: file.into(),
            line: 1,
            rule: format!("header: {rule}"),
        };
        let dataset = dataset_of(&names).map_err(|rule| at_header(rule.into()))?;
        let missing: Vec<&str> = COMMON
            .iter()
            .chain(dataset.columns().iter())
            .copied()
            .filter(|n| col(&names, n).is_none())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let s = if missing.len() > 1 { "s" } else { "" };
            return Err(at_header(format!(
                "missing column{s} {list} (Tardis {} needs {}, {})",
                dataset.name(),
                COMMON.join(", "),
                dataset.columns().join(", ")
            )));
        }
        let need = |n: &str| col(&names, n).expect("checked above");
        Ok(Header {
            dataset,
            exchange: need("exchange"),
            symbol: need("symbol"),
            timestamp: need("timestamp"),
            local_timestamp: need("local_timestamp"),
            names,
        })
    }

    /// The index of column `name`.
    pub(super) fn col(&self, name: &str) -> Option<usize> {
        col(&self.names, name)
    }
}

fn col(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|h| h == name)
}

fn dataset_of(names: &[String]) -> std::result::Result<Dataset, &'static str> {
    let has = |n: &str| col(names, n).is_some();
    if names.iter().any(|h| h.starts_with("asks[0]")) {
        Err("unsupported Tardis dataset book_snapshot_N (not incremental); use incremental_book_L2")
    } else if has("is_snapshot") {
        Ok(Dataset::Book)
    } else if has("id") {
        Ok(Dataset::Trades)
    } else if has("ask_price") || has("bid_price") {
        Ok(Dataset::Quotes)
    } else {
        Err(
            "unrecognised Tardis CSV header (expected incremental_book_L2 with `is_snapshot`, \
             trades with `id` or quotes with `ask_price`/`bid_price`)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Header> {
        Header::parse(line.split(','), Path::new("f.csv"))
    }

    #[test]
    fn bom_is_not_part_of_the_first_name() {
        let h = parse("\u{feff}exchange,symbol,timestamp,local_timestamp,id,side,price,amount")
            .unwrap();
        assert_eq!(
            (h.dataset, h.exchange, h.names[0].as_str()),
            (Dataset::Trades, 0, "exchange")
        );
    }

    #[test]
    fn a_missing_column_is_named_at_line_1() {
        let e = parse("exchange,symbol,timestamp,local_timestamp,id,side,amount")
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "f.csv:1: header: missing column `price` (Tardis trades needs exchange, symbol, \
             timestamp, local_timestamp, id, side, price, amount)"
        );
        let e = parse("symbol,timestamp,is_snapshot,side,price,amount")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("f.csv:1: header: missing columns `exchange`, `local_timestamp` (Tardis incremental_book_L2"),
            "{e}"
        );
    }
}
