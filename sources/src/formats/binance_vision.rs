//! Binance public trade archives (data.binance.vision) to bronze trades: spot, USD-M and COIN-M
//! `trades` and `aggTrades` CSV files, plain, gzip or the `.zip` Binance serves them in.
//!
//! **Market.** From the file name, `<SYMBOL>-<trades|aggTrades>-<date>.csv[.zip]` (the name
//! Binance gives both the archive and its member). COIN-M symbols end in `_PERP` or a delivery
//! date `_YYMMDD` of a `…USD` pair; USD-M dated symbols (`BTCUSDT_240927`) are USD-M. Otherwise
//! spot and USD-M are told apart by the column count of the first line (spot trades 7, USD-M 6;
//! spot aggTrades 8, futures 7); `--binance-market spot|usdm|coinm` overrides all of it. Ids
//! are exactly the ones `binance-raw` gives the same market (`binance/BTC-USDT`,
//! `binance-futures/BTC-USDT-PERP`, `binance-delivery/BTC-USD-PERP`; dated futures
//! `BASE-QUOTE-YYMMDD`, CONTRACT §10.4), so both sources meet in one market.
//!
//! **Columns** (header optional: older archives have none; a first line whose first field is
//! not an integer is the header and must name the layout's columns):
//! spot trades `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`; USD-M trades
//! `id,price,qty,quote_qty,time,is_buyer_maker`; COIN-M trades
//! `id,price,qty,base_qty,time,is_buyer_maker`; spot aggTrades `a,p,q,f,l,T,m,M`; futures
//! aggTrades `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,
//! is_buyer_maker`. An aggTrades row is one trade print whose `trade_id` is the aggregate id.
//!
//! **Times.** `time` is in milliseconds, or microseconds in spot archives from 2025 on. The unit
//! is decided per file by the first row's magnitude (below 10^14: ms, else µs; the two ranges
//! for 2009–2100 are three orders apart), and every later row must have the same magnitude.
//! The archives carry no receive time: `ts_recv = ts_event` (the trade time).
//!
//! **Side.** `is_buyer_maker` true (`true`/`True`) means the buyer was the maker, so the seller
//! aggressed: `sell`; false: `buy`.

use crate::error::Result;
use crate::formats::binance_raw::markets::{Kind, canonical};
use crate::formats::context::Ctx;
use crate::formats::fields::{parse_decimal, split_quote};
use crate::ingest::lines::Lines;
use crate::ingest::options::{IngestOptions, VisionMarket};
use crate::ingest::report::IngestReport;
use daedalus_model::market::Market;
use daedalus_model::rows::{TradeRow, TradeSide};
use daedalus_model::time::{Nanos, check_time};
use daedalus_sinks::bronze::BronzeWriter;
use std::path::Path;

/// The lenient counter of a bad row.
const BAD_ROW: &str = "bad binance-vision row";

/// The two archive kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archive {
    Trades,
    AggTrades,
}

/// What a file name says: venue symbol and archive kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileName {
    symbol: String,
    archive: Archive,
}

/// Reads `<SYMBOL>-<trades|aggTrades>-…` from a file's base name.
fn file_name(path: &Path) -> std::result::Result<FileName, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let bad = || {
        format!(
            "file name {name:?} is not a Binance archive name `<SYMBOL>-<trades|aggTrades>-<date>.csv[.zip]`: the market comes from it"
        )
    };
    let mut parts = name.splitn(3, '-');
    let (Some(symbol), Some(kind), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let archive = match kind {
        "trades" => Archive::Trades,
        "aggTrades" => Archive::AggTrades,
        _ => return Err(bad()),
    };
    let ok = !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(bad());
    }
    Ok(FileName {
        symbol: symbol.to_string(),
        archive,
    })
}

/// `(pair, delivery date)` of a dated symbol `PAIR_YYMMDD`.
fn dated(symbol: &str) -> Option<(&str, &str)> {
    let (pair, date) = symbol.split_once('_')?;
    (date.len() == 6 && date.bytes().all(|b| b.is_ascii_digit())).then_some((pair, date))
}

/// The market kind a symbol's shape decides (`None`: spot or USD-M, told by the columns).
fn kind_of_symbol(symbol: &str) -> Option<VisionMarket> {
    if symbol.ends_with("_PERP") {
        return Some(VisionMarket::CoinM);
    }
    let (pair, _) = dated(symbol)?;
    Some(match split_quote(pair) {
        Some((_, "USD")) => VisionMarket::CoinM,
        _ => VisionMarket::UsdM,
    })
}

/// The canonical market of `symbol` of kind `m`: `binance-raw`'s ids, plus dated futures.
fn market_of(symbol: &str, m: VisionMarket) -> std::result::Result<Market, String> {
    let (exchange, kind) = match m {
        VisionMarket::Spot => ("binance", Kind::Spot),
        VisionMarket::UsdM => ("binance-futures", Kind::UsdM),
        VisionMarket::CoinM => ("binance-delivery", Kind::CoinM),
    };
    let Some((pair, date)) = dated(symbol).filter(|_| m != VisionMarket::Spot) else {
        return canonical(kind, symbol);
    };
    let (b, q) = split_quote(pair)
        .ok_or_else(|| format!("cannot split symbol {symbol:?} into base and quote"))?;
    Market::new(exchange, &format!("{b}-{q}-{date}")).map_err(|e| e.to_string())
}

/// One file's column layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    market: VisionMarket,
    archive: Archive,
}

impl Layout {
    /// The layout of a file whose first line has `cols` columns.
    fn detect(
        name: &FileName,
        forced: Option<VisionMarket>,
        cols: usize,
    ) -> std::result::Result<Layout, String> {
        let by_cols = match (name.archive, cols) {
            (Archive::Trades, 7) | (Archive::AggTrades, 8) => Some(VisionMarket::Spot),
            (Archive::Trades, 6) | (Archive::AggTrades, 7) => Some(VisionMarket::UsdM),
            _ => None,
        };
        let market = forced
            .or_else(|| kind_of_symbol(&name.symbol))
            .or(by_cols)
            .ok_or_else(|| {
                format!(
                    "{cols} columns: {} archives have {} (spot) or {} (futures) columns; pass --binance-market to say which",
                    name.archive.label(),
                    Layout { market: VisionMarket::Spot, archive: name.archive }.columns(),
                    Layout { market: VisionMarket::UsdM, archive: name.archive }.columns(),
                )
            })?;
        Ok(Layout {
            market,
            archive: name.archive,
        })
    }

    /// The column names, lower-cased without `_` (spot's `quoteQty` and USD-M's `quote_qty`
    /// compare equal).
    fn header(self) -> &'static [&'static str] {
        match (self.archive, self.market) {
            (Archive::Trades, VisionMarket::Spot) => &[
                "id",
                "price",
                "qty",
                "quoteqty",
                "time",
                "isbuyermaker",
                "isbestmatch",
            ],
            (Archive::Trades, VisionMarket::UsdM) => {
                &["id", "price", "qty", "quoteqty", "time", "isbuyermaker"]
            }
            (Archive::Trades, VisionMarket::CoinM) => {
                &["id", "price", "qty", "baseqty", "time", "isbuyermaker"]
            }
            (Archive::AggTrades, VisionMarket::Spot) => &["a", "p", "q", "f", "l", "t", "m", "m"],
            (Archive::AggTrades, _) => &[
                "aggtradeid",
                "price",
                "quantity",
                "firsttradeid",
                "lasttradeid",
                "transacttime",
                "isbuyermaker",
            ],
        }
    }

    fn columns(self) -> usize {
        self.header().len()
    }

    /// Columns of `time` and `is_buyer_maker`.
    fn time_and_side(self) -> (usize, usize) {
        match self.archive {
            Archive::Trades => (4, 5),
            Archive::AggTrades => (5, 6),
        }
    }

    fn describe(self) -> String {
        let m = match self.market {
            VisionMarket::Spot => "spot",
            VisionMarket::UsdM => "USD-M",
            VisionMarket::CoinM => "COIN-M",
        };
        format!("{m} {}", self.archive.label())
    }
}

impl Archive {
    fn label(self) -> &'static str {
        match self {
            Archive::Trades => "trades",
            Archive::AggTrades => "aggTrades",
        }
    }
}

/// Time units of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Micros,
}

impl Unit {
    /// The unit of a time by its magnitude (see the module docs).
    fn of(v: i64) -> Unit {
        if v < 100_000_000_000_000 {
            Unit::Millis
        } else {
            Unit::Micros
        }
    }

    fn label(self) -> &'static str {
        match self {
            Unit::Millis => "ms",
            Unit::Micros => "µs",
        }
    }
}

/// What one file has established so far.
struct FileState {
    name: FileName,
    forced: Option<VisionMarket>,
    /// Layout and market, once the first line is read.
    layout: Option<(Layout, Market)>,
    /// Time unit, once the first row's time is read.
    unit: Option<Unit>,
}

/// Ingests one Binance archive file (no state carries from one input to the next: trades only).
pub(crate) fn ingest_input(
    file: &Path,
    w: &mut BronzeWriter,
    opts: &IngestOptions,
    forced: Option<VisionMarket>,
    report: &mut IngestReport,
) -> Result<()> {
    let mut ctx = Ctx::new(w, report, opts);
    let name = file_name(file).map_err(|rule| crate::error::SourceError::File {
        file: file.into(),
        rule,
    })?;
    let mut st = FileState {
        name,
        forced,
        layout: None,
        unit: None,
    };
    let mut lines = Lines::open(file)?;
    while let Some((line, text)) = lines.next_line(ctx.lenient, ctx.report)? {
        match st.line(text) {
            Ok(Some((market, row))) => ctx.trade((file, line), market, row)?,
            Ok(None) => {}
            Err(rule) => ctx.bad_line(file, line, rule, BAD_ROW)?,
        }
    }
    Ok(())
}

impl FileState {
    /// One line: a header (nothing), or a trade of the file's market.
    fn line(&mut self, text: &str) -> std::result::Result<Option<(&Market, TradeRow)>, String> {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let first = self.layout.is_none();
        let layout = match self.layout {
            Some((l, _)) => l,
            None => {
                let l = Layout::detect(&self.name, self.forced, fields.len())?;
                self.layout = Some((l, market_of(&self.name.symbol, l.market)?));
                l
            }
        };
        if fields.len() != layout.columns() {
            return Err(format!(
                "{} columns, but {} archives have {} ({})",
                fields.len(),
                layout.describe(),
                layout.columns(),
                layout.header().join(",")
            ));
        }
        if first && fields[0].parse::<u64>().is_err() {
            return check_header(&fields, layout).map(|()| None);
        }
        let row = self.trade(&fields, layout)?;
        Ok(self.layout.as_ref().map(|(_, m)| (m, row)))
    }

    /// The trade of a row with the right column count.
    fn trade(&mut self, f: &[&str], layout: Layout) -> std::result::Result<TradeRow, String> {
        let id: u64 = f[0]
            .parse()
            .map_err(|_| format!("trade id {:?} is not an unsigned integer", f[0]))?;
        let positive = |what: &str, s: &str| {
            parse_decimal(s)
                .filter(|v| *v > 0.0)
                .ok_or_else(|| format!("{what} {s:?} is not a positive decimal"))
        };
        let price = positive("price", f[1])?;
        let size = positive("quantity", f[2])?;
        if layout.archive == Archive::AggTrades {
            check_trade_range(f[3], f[4])?;
        }
        let (t, m) = layout.time_and_side();
        let ts_event = self.time(f[t])?;
        let side = if boolean("is_buyer_maker", f[m])? {
            TradeSide::Sell
        } else {
            TradeSide::Buy
        };
        Ok(TradeRow {
            ts_event,
            ts_recv: ts_event,
            trade_id: id.to_string(),
            price,
            size,
            side,
        })
    }

    /// A row's time in ns, in the file's unit (decided by its first row).
    fn time(&mut self, s: &str) -> std::result::Result<Nanos, String> {
        let v: i64 = s
            .parse()
            .map_err(|_| format!("time {s:?} is not an integer"))?;
        let unit = Unit::of(v);
        let file_unit = *self.unit.get_or_insert(unit);
        if unit != file_unit {
            return Err(format!(
                "time {v} reads as {} but the file's first row was in {} (the unit is decided per file: below 10^14 ms, else µs)",
                unit.label(),
                file_unit.label()
            ));
        }
        let ns = match unit {
            Unit::Millis => v.checked_mul(1_000_000),
            Unit::Micros => v.checked_mul(1_000),
        };
        let ns = ns.ok_or_else(|| format!("time {v} is out of range"))?;
        check_time("time", ns).map(|()| ns)
    }
}

/// The header line must name the layout's columns.
fn check_header(fields: &[&str], layout: Layout) -> std::result::Result<(), String> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "");
    let want = layout.header();
    if fields.iter().zip(want).all(|(f, w)| norm(f) == *w) {
        return Ok(());
    }
    Err(format!(
        "header {:?} is not a {} header ({})",
        fields.join(","),
        layout.describe(),
        want.join(",")
    ))
}

/// An aggTrade's first and last trade ids: integers, first ≤ last.
fn check_trade_range(first: &str, last: &str) -> std::result::Result<(), String> {
    let int = |what: &str, s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{what} {s:?} is not an unsigned integer"))
    };
    let (f, l) = (int("first trade id", first)?, int("last trade id", last)?);
    if f > l {
        return Err(format!("first trade id {f} is after last trade id {l}"));
    }
    Ok(())
}

/// `true`/`false` in any case (spot archives write `True`/`False`).
fn boolean(what: &str, s: &str) -> std::result::Result<bool, String> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("{what} {s:?} is not true or false"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fname(s: &str) -> FileName {
        file_name(Path::new(s)).unwrap()
    }

    #[test]
    fn names_and_symbols_give_binance_raw_ids() {
        let n = fname("BTCUSDT-trades-2024-08-08.zip");
        assert_eq!(n.symbol, "BTCUSDT");
        assert_eq!(n.archive, Archive::Trades);
        assert_eq!(
            fname("BTCUSD_PERP-aggTrades-2024-08.csv").archive,
            Archive::AggTrades
        );
        assert!(file_name(Path::new("trades.csv")).is_err());
        assert!(file_name(Path::new("btcusdt-trades-2024-08-08.csv")).is_err());
        let m = |s: &str, k| market_of(s, k).unwrap().to_string();
        assert_eq!(m("BTCUSDT", VisionMarket::Spot), "binance/BTC-USDT");
        assert_eq!(
            m("BTCUSDT", VisionMarket::UsdM),
            "binance-futures/BTC-USDT-PERP"
        );
        assert_eq!(
            m("BTCUSD_PERP", VisionMarket::CoinM),
            "binance-delivery/BTC-USD-PERP"
        );
        assert_eq!(
            m("BTCUSD_240927", VisionMarket::CoinM),
            "binance-delivery/BTC-USD-240927"
        );
        assert_eq!(
            m("BTCUSDT_240927", VisionMarket::UsdM),
            "binance-futures/BTC-USDT-240927"
        );
        assert_eq!(kind_of_symbol("BTCUSD_240927"), Some(VisionMarket::CoinM));
        assert_eq!(kind_of_symbol("BTCUSDT_240927"), Some(VisionMarket::UsdM));
        assert_eq!(kind_of_symbol("BTCUSDT"), None);
        assert!(market_of("BTCXYZ", VisionMarket::Spot).is_err());
    }

    #[test]
    fn layouts_come_from_columns_symbol_or_override() {
        let spot = fname("BTCUSDT-trades-2024-08-08.csv");
        let l = |n: &FileName, f, c| Layout::detect(n, f, c).map(|l| l.market);
        assert_eq!(l(&spot, None, 7), Ok(VisionMarket::Spot));
        assert_eq!(l(&spot, None, 6), Ok(VisionMarket::UsdM));
        assert!(l(&spot, None, 5).unwrap_err().contains("--binance-market"));
        assert_eq!(
            l(&spot, Some(VisionMarket::UsdM), 7),
            Ok(VisionMarket::UsdM)
        );
        let coin = fname("BTCUSD_PERP-aggTrades-2024-08-08.csv");
        assert_eq!(l(&coin, None, 7), Ok(VisionMarket::CoinM));
    }

    #[test]
    fn time_units_are_decided_per_file() {
        assert_eq!(Unit::of(1_723_075_200_000), Unit::Millis);
        assert_eq!(Unit::of(1_735_689_600_000_000), Unit::Micros);
        let mut st = FileState {
            name: fname("BTCUSDT-trades-2025-01-01.csv"),
            forced: None,
            layout: None,
            unit: None,
        };
        assert_eq!(st.time("1735689600000000"), Ok(1_735_689_600_000_000_000));
        assert!(
            st.time("1735689600000")
                .unwrap_err()
                .contains("decided per file")
        );
        assert!(st.time("abc").is_err());
        let mut st = FileState { unit: None, ..st };
        assert!(
            st.time("5")
                .unwrap_err()
                .contains("outside the accepted range")
        );
    }

    #[test]
    fn rows_parse_with_and_without_header() {
        let mut st = FileState {
            name: fname("BTCUSDT-trades-2024-08-08.csv"),
            forced: None,
            layout: None,
            unit: None,
        };
        let header = "id,price,qty,quote_qty,time,is_buyer_maker";
        assert_eq!(st.line(header), Ok(None));
        let (m, r) = st
            .line("5,61837.63,0.002,123.67,1723075200123,true")
            .unwrap()
            .unwrap();
        assert_eq!(m.to_string(), "binance-futures/BTC-USDT-PERP");
        assert_eq!(r.side, TradeSide::Sell);
        assert_eq!(r.ts_event, 1_723_075_200_123_000_000);
        assert_eq!(r.ts_recv, r.ts_event);
        assert_eq!(r.trade_id, "5");
        assert!(
            st.line("6,1,1,1,1723075200123,maybe")
                .unwrap_err()
                .contains("true or false")
        );
        assert!(
            st.line("6,1,1,1,1723075200123")
                .unwrap_err()
                .contains("6 (id,price")
        );
        assert!(st.line("6,x,1,1,1723075200123,false").is_err());
        let mut st = FileState {
            layout: None,
            unit: None,
            ..st
        };
        assert!(
            st.line("id,price,qty,wrong,time,is_buyer_maker")
                .unwrap_err()
                .contains("header")
        );
    }
}
