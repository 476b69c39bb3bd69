//! Issue 14 item 7 acceptance on the real Tardis samples (skips when `../shared` is absent):
//! a Tardis recording split into daily files by `local_timestamp` (as Tardis serves it) gives the
//! same bronze rows, file by file in either order, as one call over the unsplit recording; rows
//! whose exchange time falls before the split midnight land in the earlier date's partition
//! beside that date's own file, which stays.
//!
//! The samples (`nautilus_trader/tardis`, 10 to 15 rows each) do not span a UTC midnight: every
//! row was received a few seconds after one. The test copy therefore shifts both timestamp
//! columns of every row by the same amount so that the `local_timestamp` of the middle row is
//! exactly the next UTC midnight (it prints the shift). The split keeps the header in both
//! files; the second day's file is gzipped. Exchange times precede local times, so some rows of
//! the second day's file belong to the first date.

use arrow::array::ArrayRef;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;
use daedalus_sources::ingest::{
    IngestOptions, IngestReport, InputFormat, LINES_READ, ingest, state,
};
use daedalus_tests::{assert_same_outputs, read_partitions, real_data, skip};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const SAMPLES: [&str; 3] = [
    "bitmex_trades_XBTUSD.csv",
    "deribit_incremental_book_L2_BTC-PERPETUAL.csv",
    "huobi-dm-swap_quotes_BTC-USD.csv",
];
const DAY_US: i64 = 86_400_000_000;

/// A sample's header and rows (the samples hold no quoted field), timestamps shifted so that
/// the middle row's `local_timestamp` is a UTC midnight; returns that midnight (µs) too.
fn shifted(path: &Path) -> (String, Vec<Vec<String>>, i64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let names: Vec<&str> = header.split(',').collect();
    let col = |n: &str| names.iter().position(|h| *h == n).unwrap();
    let (ts, local) = (col("timestamp"), col("local_timestamp"));
    let mut rows: Vec<Vec<String>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let us = |r: &Vec<String>, i: usize| r[i].parse::<i64>().unwrap();
    let pivot = us(&rows[rows.len() / 2], local);
    let midnight = (pivot + DAY_US - 1).div_euclid(DAY_US) * DAY_US;
    let shift = midnight - pivot;
    println!(
        "note: {} does not span a UTC midnight; timestamps shifted by +{shift} µs so that row {} \
         was received at midnight",
        path.file_name().unwrap().to_string_lossy(),
        rows.len() / 2 + 1
    );
    for r in &mut rows {
        for i in [ts, local] {
            r[i] = (us(r, i) + shift).to_string();
        }
    }
    (header, rows, midnight)
}

fn csv(header: &str, rows: &[&Vec<String>]) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes the shifted unsplit copy and its two daily files of every sample; returns
/// `(unsplit, daily files in date order)`.
fn prepare(real: &Path, dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut unsplit, mut daily) = (Vec::new(), Vec::new());
    for s in SAMPLES {
        let (header, rows, midnight) = shifted(&real.join("nautilus_trader/tardis").join(s));
        let stem = s.trim_end_matches(".csv");
        let local = header
            .split(',')
            .position(|h| h == "local_timestamp")
            .unwrap();
        let (d1, d2): (Vec<&Vec<String>>, Vec<&Vec<String>>) = rows
            .iter()
            .partition(|r| r[local].parse::<i64>().unwrap() < midnight);
        let all: Vec<&Vec<String>> = rows.iter().collect();
        let u = dir.join(format!("{stem}.csv"));
        std::fs::write(&u, csv(&header, &all)).unwrap();
        unsplit.push(u);
        let day = |us: i64| date(us.div_euclid(DAY_US));
        let f1 = dir.join(format!("{stem}_{}.csv", day(midnight - 1)));
        let f2 = dir.join(format!("{stem}_{}.csv.gz", day(midnight)));
        std::fs::write(&f1, csv(&header, &d1)).unwrap();
        std::fs::write(&f2, gzip(&csv(&header, &d2))).unwrap();
        daily.extend([f1, f2]);
    }
    (unsplit, daily)
}

/// `YYYY-MM-DD` of day `d` since the epoch (civil from days).
fn date(d: i64) -> String {
    let z = d + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn ingest_calls(calls: &[Vec<PathBuf>]) -> (tempfile::TempDir, IngestReport) {
    let d = tempfile::tempdir().unwrap();
    let mut total = IngestReport::default();
    for c in calls {
        let r = ingest(
            InputFormat::TardisCsv,
            c,
            d.path(),
            &IngestOptions::default(),
        )
        .unwrap();
        total.empty_inputs += r.empty_inputs;
        total.lines += r.lines;
        total.applied.extend(r.applied);
    }
    (d, total)
}

/// Every bronze partition's rows as a sorted multiset of formatted rows.
fn row_multisets(root: &Path) -> BTreeMap<String, Vec<String>> {
    read_partitions(root, "bronze")
        .into_iter()
        .map(|(k, b)| {
            // Timestamps as integers (their `UTC` zone is not displayable without chrono-tz).
            let cols: Vec<ArrayRef> = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    DataType::Timestamp(..) => cast(c, &DataType::Int64).unwrap(),
                    _ => c.clone(),
                })
                .collect();
            let mut rows: Vec<String> = (0..b.num_rows())
                .map(|i| {
                    cols.iter()
                        .map(|c| array_value_to_string(c, i).unwrap())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            rows.sort();
            (k, rows)
        })
        .collect()
}

/// Bronze file names per partition directory.
fn files_per_partition(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack = vec![root.join("bronze")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let k = d.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.entry(k)
                    .or_default()
                    .push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.values_mut().for_each(|v| v.sort());
    out
}

fn rows_in(m: &BTreeMap<String, Vec<String>>, key: &str) -> usize {
    m.get(key).map_or(0, Vec::len)
}

#[test]
fn issue_14_tardis_daily_files_equal_the_unsplit_recording() {
    let Some(real) = real_data() else {
        return skip("issue_14_tardis", "../shared/data/real not found");
    };
    let dir = tempfile::tempdir().unwrap();
    let (unsplit, daily) = prepare(&real, dir.path());
    // The progress counter counts each line once (this binary's only test: nothing else reads).
    let lines_read = || LINES_READ.load(std::sync::atomic::Ordering::Relaxed);
    let n0 = lines_read();
    let (one, r1) = ingest_calls(std::slice::from_ref(&unsplit));
    assert_eq!(
        (r1.empty_inputs, r1.lines, lines_read() - n0),
        (0, 11 + 16 + 11, 38)
    );
    let per_file: Vec<Vec<PathBuf>> = daily.iter().map(|f| vec![f.clone()]).collect();
    let reversed: Vec<Vec<PathBuf>> = per_file.iter().rev().cloned().collect();
    let expected = row_multisets(one.path());
    let bitmex = "bronze/trades/exchange=bitmex/symbol=BTC-USD-PERP/date=2020-03-01";
    let deribit = "bronze/book/exchange=deribit/symbol=BTC-USD-PERP/date=2020-04-01";
    let huobi = "bronze/ticker/exchange=huobi-dm-swap/symbol=BTC-USD-PERP/date=";
    assert_eq!(
        [
            rows_in(&expected, bitmex),
            rows_in(&expected, deribit),
            rows_in(&expected, &format!("{huobi}2020-05-01")),
            rows_in(&expected, &format!("{huobi}2020-05-02")),
        ],
        [10, 15, 8, 2]
    );
    let n1 = lines_read();
    let (fwd, rf) = ingest_calls(&per_file);
    assert_eq!(lines_read() - n1, 41);
    let (rev, rr) = ingest_calls(&reversed);
    for (root, r) in [(&fwd, &rf), (&rev, &rr)] {
        assert_eq!(row_multisets(root.path()), expected);
        // The deribit first day is a header only; each of the six files has its header (38 + 3).
        assert_eq!((r.empty_inputs, r.lines, r.applied.len()), (1, 41, 6));
    }
    assert_same_outputs(fwd.path(), rev.path(), &["bronze"]);
    // Day 2's trades (all before midnight by exchange time) sit beside day 1's file.
    let files = files_per_partition(fwd.path());
    assert_eq!(
        files[bitmex],
        vec![
            "tardis-csv-bitmex_trades_XBTUSD_2020-03-01.csv-e73f912a.parquet".to_string(),
            "tardis-csv-bitmex_trades_XBTUSD_2020-03-02.csv.gz-329785ee.parquet".to_string(),
        ]
    );
    assert_eq!(files_per_partition(rev.path()), files);
    let states = state::load_all(fwd.path()).unwrap();
    let names: Vec<Vec<String>> = states
        .values()
        .map(|s| s.inputs.iter().map(|i| i.name.clone()).collect())
        .collect();
    assert_eq!(names.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 2]);
}
