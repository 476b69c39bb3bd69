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
    /// `book_snapshot_N`: the top N levels per side in every row (CONTRACT §10.3).
    Snapshot(usize),
}

/// The columns every dataset has.
const COMMON: [&str; 4] = ["exchange", "symbol", "timestamp", "local_timestamp"];

impl Dataset {
    /// Tardis's name of the dataset.
    fn name(self) -> String {
        match self {
            Dataset::Book => "incremental_book_L2".into(),
            Dataset::Trades => "trades".into(),
            Dataset::Quotes => "quotes".into(),
            Dataset::Snapshot(n) => format!("book_snapshot_{n}"),
        }
    }

    /// The dataset's own columns (after [`COMMON`]).
    fn columns(self) -> Vec<String> {
        let fixed = |c: [&str; 4]| c.iter().map(|s| s.to_string()).collect();
        match self {
            Dataset::Book => fixed(["is_snapshot", "side", "price", "amount"]),
            Dataset::Trades => fixed(["id", "side", "price", "amount"]),
            Dataset::Quotes => fixed(["ask_amount", "ask_price", "bid_price", "bid_amount"]),
            Dataset::Snapshot(n) => (0..n).flat_map(snapshot_columns).collect(),
        }
    }
}

/// The four columns of level `i` of a `book_snapshot_N` file.
fn snapshot_columns(i: usize) -> [String; 4] {
    [
        format!("asks[{i}].price"),
        format!("asks[{i}].amount"),
        format!("bids[{i}].price"),
        format!("bids[{i}].amount"),
    ]
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
    /// `book_snapshot_N`: per level, the columns of ask price, ask amount, bid price, bid amount.
    pub(super) levels: Vec<[usize; 4]>,
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
        let own = dataset.columns();
        let missing: Vec<&str> = COMMON
            .iter()
            .copied()
            .chain(own.iter().map(String::as_str))
            .filter(|n| col(&names, n).is_none())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let s = if missing.len() > 1 { "s" } else { "" };
            let needs = match dataset {
                Dataset::Snapshot(_) => "asks[i].price, asks[i].amount, bids[i].price, \
                                         bids[i].amount for every level i"
                    .to_string(),
                _ => own.join(", "),
            };
            return Err(at_header(format!(
                "missing column{s} {list} (Tardis {} needs {}, {needs})",
                dataset.name(),
                COMMON.join(", "),
            )));
        }
        let need = |n: &str| col(&names, n).expect("checked above");
        let levels = match dataset {
            Dataset::Snapshot(n) => (0..n)
                .map(|i| snapshot_columns(i).map(|c| need(&c)))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Header {
            levels,
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
    let depth = (0..)
        .take_while(|i| has(&format!("asks[{i}].price")))
        .count();
    if depth > 0 {
        Ok(Dataset::Snapshot(depth))
    } else if has("is_snapshot") {
        Ok(Dataset::Book)
    } else if has("id") {
        Ok(Dataset::Trades)
    } else if has("ask_price") || has("bid_price") {
        Ok(Dataset::Quotes)
    } else {
        Err(
            "unrecognised Tardis CSV header (expected incremental_book_L2 with `is_snapshot`, \
             trades with `id`, quotes with `ask_price`/`bid_price` or book_snapshot_N with \
             `asks[0].price`)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_snapshot_n_is_recognised_with_its_depth_and_checked() {
        let mut cols = vec!["exchange,symbol,timestamp,local_timestamp".to_string()];
        for i in 0..5 {
            cols.push(snapshot_columns(i).join(","));
        }
        let h = parse(&cols.join(",")).unwrap();
        assert_eq!(h.dataset, Dataset::Snapshot(5));
        assert_eq!(h.levels[4], [20, 21, 22, 23]);
        let cut = cols.join(",").replace(",bids[3].amount", "");
        let e = parse(&cut).err().unwrap().to_string();
        assert!(
            e.starts_with(
                "f.csv:1: header: missing column `bids[3].amount` (Tardis book_snapshot_5"
            ),
            "{e}"
        );
    }

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
