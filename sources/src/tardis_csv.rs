//! Tardis CSV (`incremental_book_L2`, `trades`, `quotes`) to bronze.
//!
//! The dataset is recognised by its header. Timestamps are µs (→ ns). The exchange comes from
//! the file's `exchange` column (Tardis ids are the contract's); the symbol is mapped to the
//! canonical id by [`canonical_symbol`]. Book: consecutive rows with the same `local_timestamp`
//! and `is_snapshot` form one message; Tardis carries no sequence ids, so `seq`/`prev_seq` are
//! null (gaps show as mid-file snapshots, which the book treats as resets). `quotes` become
//! ticker rows. `book_snapshot_N` files are not incremental and are rejected with a clear error.

use crate::ingest::{
    IngestError, IngestOptions, IngestReport, open_lines, parse_decimal, split_quote,
};
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide, TickerRow, TradeRow, TradeSide};
use daedalus_sinks::bronze::BronzeWriter;
use std::path::{Path, PathBuf};

/// Maps a Tardis `(exchange, symbol)` to the canonical symbol of CONTRACT §1.
///
/// | exchange | raw | canonical |
/// |---|---|---|
/// | `binance`, `binance-us`, `coinbase`, `okex`, `kraken`, `bitstamp` (spot) | `BTCUSDT`, `BTC-USD`, `XBT/USD` | `BTC-USDT`, `BTC-USD` |
/// | `binance-futures` | `BTCUSDT` | `BTC-USDT-PERP` |
/// | `binance-delivery` | `BTCUSD_PERP` | `BTC-USD-PERP` |
/// | `bitmex` | `XBTUSD`, `ETHUSD` | `BTC-USD-PERP`, `ETH-USD-PERP` |
/// | `deribit` | `BTC-PERPETUAL` | `BTC-USD-PERP` |
/// | `huobi-dm-swap`, `okex-swap` | `BTC-USD`, `BTC-USDT-SWAP` | `BTC-USD-PERP`, `BTC-USDT-PERP` |
/// | `bybit` | `BTCUSD`, `BTCUSDT` | `BTC-USD-PERP`, `BTC-USDT-PERP` |
pub fn canonical_symbol(exchange: &str, raw: &str) -> Option<String> {
    let up = raw.to_ascii_uppercase().replace('/', "-");
    let fix = |s: &str| {
        if s == "XBT" {
            "BTC".to_string()
        } else {
            s.to_string()
        }
    };
    let split = |s: &str| -> Option<(String, String)> {
        if let Some((b, q)) = s.split_once('-') {
            return Some((fix(b), fix(q)));
        }
        split_quote(s).map(|(b, q)| (fix(b), fix(q)))
    };
    let out = match exchange {
        "binance" | "binance-us" | "coinbase" | "okex" | "kraken" | "bitstamp" | "bitfinex"
        | "gemini" => {
            let (b, q) = split(&up)?;
            format!("{b}-{q}")
        }
        "bitmex" => {
            // BitMEX quotes only USD or USDT; a generic split would read XBTUSD as XB/TUSD.
            let (b, q) = up
                .strip_suffix("USDT")
                .map(|b| (b, "USDT"))
                .or_else(|| up.strip_suffix("USD").map(|b| (b, "USD")))?;
            format!("{}-{q}-PERP", fix(b))
        }
        "binance-futures" | "bybit" => {
            let (b, q) = split(&up)?;
            format!("{b}-{q}-PERP")
        }
        "binance-delivery" => {
            let (b, q) = split(up.strip_suffix("_PERP")?)?;
            format!("{b}-{q}-PERP")
        }
        "deribit" => {
            let base = up.strip_suffix("-PERPETUAL")?;
            format!("{}-USD-PERP", fix(base))
        }
        "huobi-dm-swap" | "okex-swap" => {
            let s = up.strip_suffix("-SWAP").unwrap_or(&up);
            let (b, q) = split(s)?;
            format!("{b}-{q}-PERP")
        }
        _ => return None,
    };
    Some(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dataset {
    Book,
    Trades,
    Quotes,
}

fn col(header: &[&str], name: &str) -> Option<usize> {
    header.iter().position(|h| *h == name)
}

/// Ingests Tardis CSV files (in name order).
pub fn ingest_files(
    inputs: &[PathBuf],
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut files = inputs.to_vec();
    files.sort();
    for f in &files {
        ingest_file(f, w, opts, report)?;
    }
    Ok(())
}

fn ingest_file(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut reader = open_lines(file)?;
    let mut header_line = String::new();
    reader
        .read_line(&mut header_line)
        .map_err(|e| IngestError::File {
            file: file.into(),
            rule: e.to_string(),
        })?;
    let header: Vec<&str> = header_line.trim_end().split(',').collect();
    let need = |n: &str| {
        col(&header, n).ok_or_else(|| IngestError::File {
            file: file.into(),
            rule: format!("missing column `{n}`"),
        })
    };
    let dataset = if header.iter().any(|h| h.starts_with("asks[0]")) {
        return Err(IngestError::File { file: file.into(), rule: "unsupported Tardis dataset book_snapshot_N (not incremental); use incremental_book_L2".into() });
    } else if col(&header, "is_snapshot").is_some() {
        Dataset::Book
    } else if col(&header, "id").is_some() && col(&header, "side").is_some() {
        Dataset::Trades
    } else if col(&header, "ask_price").is_some() {
        Dataset::Quotes
    } else {
        return Err(IngestError::File {
            file: file.into(),
            rule: "unrecognised Tardis CSV header (expected incremental_book_L2, trades or quotes)"
                .into(),
        });
    };
    let (c_ex, c_sym, c_ts, c_lts) = (
        need("exchange")?,
        need("symbol")?,
        need("timestamp")?,
        need("local_timestamp")?,
    );
    let mut buf = String::new();
    let mut line_no = 1u64;
    report.lines += 1;
    crate::ingest::LINES_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    loop {
        buf.clear();
        match reader.read_line(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let rule = format!("truncated or corrupt input after line {line_no}: {e}");
                if opts.lenient {
                    report.truncated_files.push(file.into());
                    break;
                }
                return Err(IngestError::File {
                    file: file.into(),
                    rule,
                });
            }
        }
        line_no += 1;
        report.lines += 1;
        crate::ingest::LINES_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::ingest::LINES_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let line = buf.trim_end();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let res = parse_row(dataset, &header, &f, c_ex, c_sym, c_ts, c_lts, w, report);
        match res {
            Ok(()) => {}
            Err(Some(rule)) => {
                if opts.lenient {
                    tracing::warn!("{}:{line_no}: {rule} (skipped)", file.display());
                    report.skip("bad csv row");
                } else {
                    return Err(IngestError::Line {
                        file: file.into(),
                        line: line_no,
                        rule,
                    });
                }
            }
            Err(None) => {
                return Err(IngestError::File {
                    file: file.into(),
                    rule: "write failed".into(),
                });
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn parse_row(
    ds: Dataset,
    header: &[&str],
    f: &[&str],
    c_ex: usize,
    c_sym: usize,
    c_ts: usize,
    c_lts: usize,
    w: &mut BronzeWriter,
    report: &mut IngestReport,
) -> Result<(), Option<String>> {
    if f.len() != header.len() {
        return Err(Some(format!(
            "{} fields, header has {}",
            f.len(),
            header.len()
        )));
    }
    let exchange = f[c_ex];
    let symbol = canonical_symbol(exchange, f[c_sym]).ok_or_else(|| {
        Some(format!(
            "cannot map symbol {:?} of exchange {exchange:?} to a canonical id",
            f[c_sym]
        ))
    })?;
    let market = Market::new(exchange, &symbol).map_err(|e| Some(e.to_string()))?;
    let us = |i: usize| -> Result<i64, Option<String>> {
        f[i].parse::<i64>()
            .ok()
            .and_then(|v| v.checked_mul(1000))
            .ok_or_else(|| {
                Some(format!(
                    "{} {:?} is not an integer µs timestamp",
                    header[i], f[i]
                ))
            })
    };
    let (ts_event, ts_recv) = (us(c_ts)?, us(c_lts)?);
    let num = |name: &str, positive: bool| -> Result<f64, Option<String>> {
        let i = col(header, name).ok_or_else(|| Some(format!("missing column `{name}`")))?;
        parse_decimal(f[i])
            .filter(|v| !positive || *v > 0.0)
            .ok_or_else(|| {
                Some(format!(
                    "{name} {:?} must be a {} decimal",
                    f[i],
                    if positive { "positive" } else { "non-negative" }
                ))
            })
    };
    let counts = report.markets.entry(market.to_string()).or_default();
    match ds {
        Dataset::Book => {
            let snap = match f[col(header, "is_snapshot").ok_or(None)?] {
                "true" => true,
                "false" => false,
                other => return Err(Some(format!("is_snapshot {other:?} must be true or false"))),
            };
            let side = BookSide::parse(f[col(header, "side").ok_or(None)?])
                .ok_or_else(|| Some("side must be bid or ask".to_string()))?;
            let row = BookRow {
                ts_event,
                ts_recv,
                seq: None,
                prev_seq: None,
                is_snapshot: snap,
                side,
                price: num("price", true)?,
                size: num("amount", false)?,
            };
            w.book(&market, row).map_err(|e| Some(e.to_string()))?;
            counts.book_rows += 1;
        }
        Dataset::Trades => {
            let side = TradeSide::parse(f[col(header, "side").ok_or(None)?])
                .ok_or_else(|| Some("side must be buy, sell or unknown".to_string()))?;
            let row = TradeRow {
                ts_event,
                ts_recv,
                trade_id: f[col(header, "id").ok_or(None)?].to_string(),
                price: num("price", true)?,
                size: num("amount", true)?,
                side,
            };
            w.trade(&market, row).map_err(|e| Some(e.to_string()))?;
            counts.trades += 1;
        }
        Dataset::Quotes => {
            let opt = |name: &str| -> Result<Option<f64>, Option<String>> {
                let i =
                    col(header, name).ok_or_else(|| Some(format!("missing column `{name}`")))?;
                if f[i].is_empty() {
                    return Ok(None);
                }
                parse_decimal(f[i]).map(Some).ok_or_else(|| {
                    Some(format!("{name} {:?} must be a non-negative decimal", f[i]))
                })
            };
            let row = TickerRow {
                ts_event,
                ts_recv,
                seq: None,
                bid_price: opt("bid_price")?,
                bid_size: opt("bid_amount")?,
                ask_price: opt("ask_price")?,
                ask_size: opt("ask_amount")?,
            };
            w.ticker(&market, row).map_err(|e| Some(e.to_string()))?;
            counts.tickers += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tardis_symbols_map() {
        assert_eq!(
            canonical_symbol("binance-futures", "BTCUSDT").as_deref(),
            Some("BTC-USDT-PERP")
        );
        assert_eq!(
            canonical_symbol("bitmex", "XBTUSD").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("deribit", "BTC-PERPETUAL").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("huobi-dm-swap", "BTC-USD").as_deref(),
            Some("BTC-USD-PERP")
        );
        assert_eq!(
            canonical_symbol("binance", "BTCUSDT").as_deref(),
            Some("BTC-USDT")
        );
        assert_eq!(
            canonical_symbol("coinbase", "BTC-USD").as_deref(),
            Some("BTC-USD")
        );
        assert_eq!(canonical_symbol("nowhere", "BTCUSDT"), None);
    }
}
