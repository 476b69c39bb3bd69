//! Entry points for the fuzz targets (`fuzz/`, cargo fuzz) and the bounded mutation harness
//! that runs in CI (`tests/tests/issue_16_fuzz.rs`); compiled only with the `fuzzing` feature.
//!
//! Each takes arbitrary bytes and drives one parser a user hands bytes to, exactly as `ingest`
//! or `run` would, up to the point where rows would be written. The contract every target
//! checks is the product's bad-input rule: any input gives `Ok` or a typed error, never a panic,
//! an abort, a hang or unbounded memory. Errors are returned as strings so a harness can also
//! check that they name what they should.
//!
//! Why files: the parsers read paths (gzip detection, line counting, the names in errors), so a
//! target writes its bytes to a scratch file once per execution (a few microseconds) rather than
//! growing a second, in-memory code path that the product never runs.

use crate::formats::{binance_raw, binance_vision, bybit_orderbook, hyperliquid, tardis_csv};
use crate::ingest::options::{IngestOptions, VisionMarket};
use crate::ingest::report::IngestReport;
use daedalus_model::partition::{Partition, hive_value};
use daedalus_model::rows::Dataset;
use daedalus_model::time::Date;
use daedalus_sinks::bronze::BronzeWriter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scratch directory per thread, removed when the thread ends.
struct Scratch {
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

thread_local! {
    static SCRATCH: Scratch = {
        let base = std::env::var_os("DAEDALUS_FUZZ_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let id = format!("daedalus-fuzz-{}-{:?}", std::process::id(), std::thread::current().id());
        let dir = base.join(id.replace(['(', ')'], ""));
        std::fs::create_dir_all(&dir).expect("fuzz scratch directory");
        Scratch { dir }
    };
}

fn scratch() -> PathBuf {
    SCRATCH.with(|s| s.dir.clone())
}

/// The first byte chooses strict or `--lenient`; the rest is the file.
fn split_mode(data: &[u8]) -> (bool, &[u8]) {
    match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    }
}

/// Writes `bytes` as the scratch input and runs `parse` on it with a bronze writer that keeps
/// every row in memory (no Parquet is written: the rows are dropped with the writer).
fn with_input(
    bytes: &[u8],
    name: &str,
    parse: impl FnOnce(&Path, &mut BronzeWriter) -> crate::Result<()>,
) -> Result<(), String> {
    let dir = scratch();
    let file = dir.join(name);
    std::fs::write(&file, bytes).map_err(|e| format!("scratch write: {e}"))?;
    let mut w = BronzeWriter::new(&dir.join("root"), "fuzz");
    w.set_flush_rows(usize::MAX);
    parse(&file, &mut w).map_err(|e| e.to_string())
}

/// The parser signature every line format shares.
type Parse = fn(&Path, &mut BronzeWriter, &IngestOptions, &mut IngestReport) -> crate::Result<()>;

/// Runs one line format on `data` (first byte: `--lenient`; the rest: the file `name`).
fn line_format(data: &[u8], name: &str, parse: Parse) -> Result<(), String> {
    let (lenient, bytes) = split_mode(data);
    with_input(bytes, name, |file, w| {
        let opts = IngestOptions {
            lenient,
            ..Default::default()
        };
        parse(file, w, &opts, &mut IngestReport::default())
    })
}

/// A Binance raw recording (`<recv_ns> <json>` lines, gzip or not), first byte: lenient.
pub fn binance_raw(data: &[u8]) -> Result<(), String> {
    line_format(data, "in.log", |file, w, opts, report| {
        binance_raw::ingest_input(file, w, opts, report, BTreeMap::new()).map(|_| ())
    })
}

/// A Tardis CSV file (header and rows, gzip or not), first byte: lenient.
pub fn tardis_csv(data: &[u8]) -> Result<(), String> {
    line_format(data, "in.csv", tardis_csv::ingest_input)
}

/// A Hyperliquid recording (`<recv_ns> <json>` lines of `l2Book` and `trades` messages, gzip or
/// not), first byte: lenient.
pub fn hyperliquid(data: &[u8]) -> Result<(), String> {
    line_format(data, "in.log", hyperliquid::ingest_input)
}

/// A Bybit historical order book file (`snapshot`/`delta` JSON lines with the `u` chain), first
/// byte: lenient.
pub fn bybit_orderbook(data: &[u8]) -> Result<(), String> {
    line_format(data, "in.data", bybit_orderbook::ingest_input)
}

/// A `.zip` archive handed to any format: the bytes are the archive, read through the one-member
/// stream every format uses (local headers, central directory, deflate, CRC) to its end.
pub fn zip_archive(data: &[u8]) -> Result<(), String> {
    let file = scratch().join("in.zip");
    std::fs::write(&file, data).map_err(|e| format!("scratch write: {e}"))?;
    let mut stream = crate::ingest::zip_member::open(&file).map_err(|e| e.to_string())?;
    std::io::copy(&mut stream, &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A Binance public trade archive (CSV rows, header or not; gzip or `.zip` too). The first
/// byte: bit 0 lenient, bits 1–2 the file name (and so the market and layout: spot trades,
/// USD-M trades, COIN-M aggTrades, spot aggTrades), bits 3–4 the `--binance-market` override
/// (none, spot, USD-M, COIN-M).
pub fn binance_vision(data: &[u8]) -> Result<(), String> {
    let mode = data.first().copied().unwrap_or(0);
    let bytes = data.get(1..).unwrap_or_default();
    let name = [
        "BTCUSDT-trades-2024-08-08.csv",
        "ETHUSDT-trades-2024-08-08.csv",
        "BTCUSD_PERP-aggTrades-2024-08-08.csv",
        "BTCUSDT-aggTrades-2025-01-01.csv",
    ][usize::from(mode >> 1 & 3)];
    let forced = [
        None,
        Some(VisionMarket::Spot),
        Some(VisionMarket::UsdM),
        Some(VisionMarket::CoinM),
    ][usize::from(mode >> 3 & 3)];
    with_input(bytes, name, |file, w| {
        let opts = IngestOptions {
            lenient: mode & 1 == 1,
            ..Default::default()
        };
        let mut report = IngestReport::default();
        binance_vision::ingest_input(file, w, &opts, forced, &mut report)
    })
}

/// A cryptofeed raw capture (any of its six venues), first byte: strict checks.
pub fn cryptofeed(data: &[u8]) -> Result<(), String> {
    let (strict, bytes) = split_mode(data);
    let opts = crate::cryptofeed::CaptureOptions { strict };
    crate::cryptofeed::read_capture_from(Path::new("fuzz.capture"), bytes, opts)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An ingest state file (`_daedalus/ingest/…state`): frame, checksum, version and JSON. The
/// first byte chooses whether the frame is taken as is (the checksum rejects almost every
/// mutation) or re-framed with a correct checksum, so the JSON behind it is reached too.
pub fn ingest_state(data: &[u8]) -> Result<(), String> {
    let (reframe, bytes) = split_mode(data);
    let framed;
    let bytes = if reframe {
        framed = daedalus_sinks::ingest_state::encode_frame(bytes, &[]);
        &framed[..]
    } else {
        bytes
    };
    let dir = scratch().join("root");
    let m = daedalus_model::market::Market::new("fuzz", "FZ-USD").expect("valid market");
    let path = dir.join(crate::ingest::state::state_rel(&m));
    std::fs::create_dir_all(path.parent().expect("state file has a parent"))
        .map_err(|e| format!("scratch: {e}"))?;
    std::fs::write(&path, bytes).map_err(|e| format!("scratch write: {e}"))?;
    crate::ingest::state::load_all(&dir)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A bronze partition path: the bytes are split at `/` into an `exchange=`, a `symbol=` and a
/// `date=` directory name (missing ones made up), laid out under a scratch root with one
/// (empty) Parquet file, and discovered as `run` discovers bronze. Checks that discovery finds
/// exactly the partition whose values are valid, and errors (never panics) on a bad date.
pub fn partition_path(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '/');
    let ex = parts.next().unwrap_or("exchange=x").to_string();
    let sy = parts.next().unwrap_or("symbol=Y-Z").to_string();
    let da = parts.next().unwrap_or("date=2024-01-01").to_string();
    pure_partition_checks(&[&ex, &sy, &da]);
    let root = scratch().join("root");
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("bronze/trades");
    let leaf = dir.join(&ex).join(&sy).join(&da);
    // The directories the path really names below `dir`: an empty piece (`a//b`) is no
    // directory, so a later piece's `/` makes up the level (the pieces are not what is made).
    let names: Vec<String> = (leaf.strip_prefix(&dir).into_iter())
        .flat_map(Path::components)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if names.len() != 3 || std::fs::create_dir_all(&leaf).is_err() {
        return Ok(()); // not three names a directory can have: nothing to discover
    }
    std::fs::write(leaf.join("a.parquet"), b"").map_err(|e| format!("scratch write: {e}"))?;
    let found = crate::bronze::discover(&root, &[Dataset::Trades], |_, _, _| true)
        .map_err(|e| e.to_string())?;
    let expect = expected_partition(&names[0], &names[1], &names[2]);
    let got: Vec<_> = found
        .iter()
        .map(|p| (p.exchange.clone(), p.symbol.clone(), p.date))
        .collect();
    assert_eq!(
        got,
        expect.into_iter().collect::<Vec<_>>(),
        "{ex}/{sy}/{da}"
    );
    Ok(())
}

/// What discovery must find for these three directory names (`None`: nothing).
fn expected_partition(ex: &str, sy: &str, da: &str) -> Option<(String, String, Date)> {
    let e = hive_value(ex, "exchange")?;
    let s = hive_value(sy, "symbol")?;
    let d = Date::parse(hive_value(da, "date")?)?;
    if [ex, sy, da].iter().any(|n| n.starts_with('.')) {
        return None;
    }
    Some((e.to_string(), s.to_string(), d))
}

/// Pure parsers on path components: never panic, and what they accept round-trips.
fn pure_partition_checks(names: &[&str]) {
    for n in names {
        if let Some(d) = Date::parse(n) {
            assert_eq!(Date::parse(&d.to_string()), Some(d), "date {n:?}");
        }
        for key in ["exchange", "symbol", "date"] {
            let _ = hive_value(n, key);
        }
        if let Ok(p) = Partition::new("bronze", "trades", None, n, n, Date::of_nanos(0)) {
            assert!(
                p.rel_dir().components().count() == 5,
                "{n:?} escapes its partition"
            );
        }
    }
}
