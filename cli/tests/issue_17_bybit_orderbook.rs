//! Issue 17, `--format bybit-orderbook`: Bybit's historical order book archive, read from its
//! `.zip` and unzipped, gives the same bronze; the `u` chain has 0 gaps on the real file; the
//! book rebuilt from bronze equals a naive replay of the raw messages after every message and is
//! never crossed; a broken chain is an error naming file, line and ids (or a counted gap with
//! `--lenient`); an archive of several files is refused by name.

use arrow::array::{Array, BooleanArray, Float64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use daedalus_tests::{read_partitions, real_data, skip};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn ingest(files: &[PathBuf], root: &Path, lenient: bool) -> Output {
    let mut c = Command::new(BIN);
    c.args(["ingest", "--format", "bybit-orderbook", "--root"])
        .arg(root)
        .args(files);
    if lenient {
        c.arg("--lenient");
    }
    c.output().unwrap()
}

/// The one member of the real archive, as lines.
fn real_lines(zip: &Path) -> Vec<String> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut text = String::new();
    a.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    text.lines().map(str::to_string).collect()
}

type Book = (BTreeMap<u64, f64>, BTreeMap<u64, f64>);

/// Replays the raw messages naively; returns the book after each message.
fn naive_books(lines: &[String]) -> Vec<Book> {
    let mut book: Book = Default::default();
    let mut out = Vec::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["type"] == "snapshot" {
            book = Default::default();
        }
        for (k, side) in [("b", &mut book.0), ("a", &mut book.1)] {
            for lv in v["data"][k].as_array().unwrap() {
                let p: f64 = lv[0].as_str().unwrap().parse().unwrap();
                let q: f64 = lv[1].as_str().unwrap().parse().unwrap();
                if q == 0.0 {
                    side.remove(&p.to_bits());
                } else {
                    side.insert(p.to_bits(), q);
                }
            }
        }
        out.push(book.clone());
    }
    out
}

/// The books rebuilt from the bronze rows, one per message (`seq` changes).
fn bronze_books(root: &Path) -> Vec<Book> {
    let parts = read_partitions(root, "bronze/book");
    assert_eq!(parts.len(), 1, "{:?}", parts.keys());
    let b = parts.values().next().unwrap();
    let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
    let seq = cast(&col("seq"), &DataType::Utf8).unwrap();
    let seq = seq.as_any().downcast_ref::<StringArray>().unwrap();
    let side = cast(&col("side"), &DataType::Utf8).unwrap();
    let side = side.as_any().downcast_ref::<StringArray>().unwrap();
    let snap = col("is_snapshot");
    let snap = snap.as_any().downcast_ref::<BooleanArray>().unwrap();
    let (price, size) = (col("price"), col("size"));
    let price = price.as_any().downcast_ref::<Float64Array>().unwrap();
    let size = size.as_any().downcast_ref::<Float64Array>().unwrap();
    let mut book: Book = Default::default();
    let mut out = Vec::new();
    for i in 0..b.num_rows() {
        if i > 0 && seq.value(i) != seq.value(i - 1) {
            out.push(book.clone());
        }
        if snap.value(i) && (i == 0 || !snap.value(i - 1)) {
            book = Default::default();
        }
        let s = if side.value(i) == "bid" {
            &mut book.0
        } else {
            &mut book.1
        };
        if size.value(i) == 0.0 {
            s.remove(&price.value(i).to_bits());
        } else {
            s.insert(price.value(i).to_bits(), size.value(i));
        }
    }
    out.push(book);
    out
}

#[test]
fn bybit_orderbook_zip_rebuilds_every_message_and_equals_the_unzipped_file() {
    let Some(real) = real_data() else {
        return skip("bybit_orderbook", "../shared/data/real absent");
    };
    let zip = real.join("nautilus_trader/bybit/xrpusdt-ob500.data.zip");
    let lines = real_lines(&zip);
    assert_eq!(lines.len(), 50, "PROVENANCE.md: 1 snapshot and 49 deltas");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("zip");
    let out = ingest(std::slice::from_ref(&zip), &root, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("bybit/XRP-USDT-PERP"), "{text}");
    let want = naive_books(&lines);
    let got = bronze_books(&root);
    assert_eq!(got.len(), 50);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "book after message {}", i + 1);
        let best_bid = g.0.keys().next_back().map(|b| f64::from_bits(*b));
        let best_ask = g.1.keys().next().map(|a| f64::from_bits(*a));
        assert!(best_bid < best_ask, "crossed after message {}", i + 1);
    }
    // The unzipped member gives the same rows (its own bronze file name aside).
    let plain = dir.path().join("2024-12-01_XRPUSDT_ob500.data");
    std::fs::write(&plain, lines.join("\n") + "\n").unwrap();
    let root2 = dir.path().join("plain");
    assert!(ingest(&[plain], &root2, false).status.success());
    assert_eq!(bronze_books(&root2), got);
}

#[test]
fn a_broken_u_chain_is_an_error_or_a_counted_gap() {
    let Some(real) = real_data() else {
        return skip("bybit_orderbook gap", "../shared/data/real absent");
    };
    let mut lines = real_lines(&real.join("nautilus_trader/bybit/xrpusdt-ob500.data.zip"));
    lines.remove(10); // line 11 (u = first u + 10) is lost
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cut.data");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let out = ingest(std::slice::from_ref(&f), &dir.path().join("strict"), false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "cut.data:11: bybit/XRP-USDT-PERP: u chain broken: u=20254880 but previous u=20254878"
        ),
        "{err}"
    );
    let out = ingest(&[f], &dir.path().join("lenient"), true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\"bybit u gap\": 1"), "{text}");
}

#[test]
fn an_archive_of_several_files_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("two.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    for name in ["a.data", "b.data"] {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, b"{}\n").unwrap();
    }
    w.finish().unwrap();
    let out = ingest(std::slice::from_ref(&p), &dir.path().join("r"), false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("two.zip") && err.contains("zip archive holds 2 files"),
        "{err}"
    );
}
