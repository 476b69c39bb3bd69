//! Tardis CSV as other tools write it: BOM, CRLF, quoting, empty and header-only files, and the
//! errors a bad header or row gives (file, line, rule).

use crate::ingest::{IngestOptions, IngestReport, InputFormat, ingest};
use std::io::Write;
use std::path::{Path, PathBuf};

const TRADES: &str = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";

fn rows() -> Vec<String> {
    (0..3)
        .map(|i| {
            format!(
                "bitmex,XBTUSD,{},{},t{i},{},8531.5,{}",
                1_583_020_803_145_000i64 + i,
                1_583_020_803_307_160i64 + i,
                if i % 2 == 0 { "buy" } else { "sell" },
                10 + i
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn run(file: &Path) -> crate::error::Result<(IngestReport, tempfile::TempDir)> {
    let out = tempfile::tempdir().unwrap();
    let r = ingest(
        InputFormat::TardisCsv,
        &[file.to_path_buf()],
        out.path(),
        &IngestOptions::default(),
    )?;
    Ok((r, out))
}

/// Trade ids and sizes read back from the bronze written (one partition).
fn trades(root: &Path) -> Vec<(String, f64)> {
    use arrow::array::{Array, Float64Array, StringArray};
    let dir = root.join("bronze/trades/exchange=bitmex/symbol=BTC-USD-PERP/date=2020-03-01");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let f = std::fs::File::open(e.path()).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        for b in r.map(|b| b.unwrap()) {
            let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
            let (ids, size) = (col("trade_id"), col("size"));
            let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
            let size = size.as_any().downcast_ref::<Float64Array>().unwrap();
            out.extend((0..ids.len()).map(|i| (ids.value(i).to_string(), size.value(i))));
        }
    }
    out
}

fn expected() -> Vec<(String, f64)> {
    vec![
        ("t0".into(), 10.0),
        ("t1".into(), 11.0),
        ("t2".into(), 12.0),
    ]
}

#[test]
fn plain_file_reads_three_trades_and_counts_each_line_once() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{TRADES}\n{}\n", rows().join("\n"));
    let (r, out) = run(&write(d.path(), "t.csv", text.as_bytes())).unwrap();
    assert_eq!(r.markets["bitmex/BTC-USD-PERP"].trades, 3);
    assert_eq!((r.lines, r.empty_inputs), (4, 0));
    assert_eq!(trades(out.path()), expected());
}

#[test]
fn bom_and_crlf_parse_like_plain() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("\u{feff}{TRADES}\r\n{}\r\n", rows().join("\r\n"));
    let (r, out) = run(&write(d.path(), "bom.csv", text.as_bytes())).unwrap();
    assert_eq!((r.markets["bitmex/BTC-USD-PERP"].trades, r.lines), (3, 4));
    assert_eq!(trades(out.path()), expected());
}

#[test]
fn quoted_fields_are_unquoted() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{TRADES}\n\"bitmex\",\"XBTUSD\",1583020803145000,1583020803307160,\"a,b\",\"buy\",\"8531.5\",\"7\"\n\
         bitmex,XBTUSD,1583020803145001,1583020803307161,\"line\nbreak\",sell,8531.5,8\n"
    );
    let (r, out) = run(&write(d.path(), "q.csv", text.as_bytes())).unwrap();
    assert_eq!((r.markets["bitmex/BTC-USD-PERP"].trades, r.lines), (2, 4));
    assert_eq!(
        trades(out.path()),
        vec![("a,b".into(), 7.0), ("line\nbreak".into(), 8.0)]
    );
}

#[test]
fn gzip_with_bom_and_crlf_reads_like_plain() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("\u{feff}{TRADES}\r\n{}", rows().join("\r\n"));
    let (r, out) = run(&write(d.path(), "t.csv.gz", &gzip(text.as_bytes()))).unwrap();
    assert_eq!((r.markets["bitmex/BTC-USD-PERP"].trades, r.lines), (3, 4));
    assert_eq!(trades(out.path()), expected());
}

#[test]
fn empty_gzip_zero_byte_and_header_only_files_are_empty_inputs() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        write(d.path(), "empty.csv.gz", &gzip(b"")),
        write(d.path(), "zero.csv.gz", b""),
        write(
            d.path(),
            "header.csv.gz",
            &gzip(format!("{TRADES}\n").as_bytes()),
        ),
        write(
            d.path(),
            "header_bom.csv",
            format!("\u{feff}{TRADES}\r\n").as_bytes(),
        ),
    ];
    for (f, lines) in cases.iter().zip([0, 0, 1, 1]) {
        let (r, out) = run(f).unwrap();
        assert_eq!(
            (r.empty_inputs, r.lines, r.markets.len()),
            (1, lines, 0),
            "{f:?}"
        );
        assert_eq!(r.applied.len(), 1);
        assert!(!out.path().join("bronze").exists(), "{f:?}");
    }
    let out = tempfile::tempdir().unwrap();
    let mut all = cases.to_vec();
    all.push(write(
        d.path(),
        "t.csv",
        format!("{TRADES}\n{}", rows().join("\n")).as_bytes(),
    ));
    let r = ingest(
        InputFormat::TardisCsv,
        &all,
        out.path(),
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (r.empty_inputs, r.markets["bitmex/BTC-USD-PERP"].trades),
        (4, 3)
    );
    assert!(r.to_string().contains("empty inputs (no rows): 4"), "{r}");
}

#[test]
fn header_without_a_column_names_file_line_1_and_column() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "exchange,symbol,timestamp,local_timestamp,id,side,amount\n{}",
        "bitmex,XBTUSD,1,1,t,buy,1"
    );
    let f = write(d.path(), "nocol.csv", text.as_bytes());
    let e = run(&f).err().unwrap().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: header: missing column `price` (Tardis trades needs exchange, symbol, \
             timestamp, local_timestamp, id, side, price, amount)",
            f.display()
        )
    );
    // A BOM is never taken for part of `exchange`.
    let bom = write(
        d.path(),
        "bom_nocol.csv",
        format!("\u{feff}{text}").as_bytes(),
    );
    let e = run(&bom).err().unwrap().to_string();
    assert!(
        !e.contains("`exchange`") && e.contains(":1: header: missing column `price`"),
        "{e}"
    );
}

#[test]
fn bad_rows_name_file_line_and_rule() {
    let d = tempfile::tempdir().unwrap();
    let r = rows();
    let cases = [
        (
            format!(
                "{TRADES}\n{}\n{}\n\n{}",
                r[0], r[1], "bitmex,XBTUSD,x,1,t,buy,1,1"
            ),
            5,
            "timestamp \"x\" is not an integer µs timestamp",
        ),
        (
            format!(
                "{TRADES}\r\n{}\r\nbitmex,XBTUSD,1583020803145000,1583020803307160,t,buy,1",
                r[0]
            ),
            3,
            "7 fields, header has 8",
        ),
        (
            format!(
                "{TRADES}\nbitmex,XBTUSD,1583020803145000,1583020803307160,\"a\nb\",buy,1,1\n{}\nbitmex,XBTUSD,1583020803145000,1583020803307160,t,up,1,1",
                r[0]
            ),
            5,
            "side must be buy, sell or unknown",
        ),
    ];
    for (i, (text, line, rule)) in cases.iter().enumerate() {
        let f = write(d.path(), &format!("bad{i}.csv"), text.as_bytes());
        let e = run(&f).err().unwrap().to_string();
        let want = format!("{}:{line}: ", f.display());
        assert!(e.starts_with(&want) && e.contains(rule), "case {i}: {e}");
    }
    // Non-UTF-8 bytes are a bad row too, skipped with --lenient.
    let mut bytes = format!("{TRADES}\n{}\nbitmex,XBTUSD,1,1,", r[0]).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe,buy,1,1\n");
    bytes.extend_from_slice(r[1].as_bytes());
    let f = write(d.path(), "utf8.csv", &bytes);
    let e = run(&f).err().unwrap().to_string();
    assert!(
        e.starts_with(&format!("{}:3: not UTF-8", f.display())),
        "{e}"
    );
    let out = tempfile::tempdir().unwrap();
    let lenient = IngestOptions {
        lenient: true,
        ..Default::default()
    };
    let rep = ingest(InputFormat::TardisCsv, &[f], out.path(), &lenient).unwrap();
    assert_eq!(
        (
            rep.markets["bitmex/BTC-USD-PERP"].trades,
            rep.skipped["bad csv row"]
        ),
        (2, 1)
    );
}
