//! The synthetic market: determinism (same seed, same bytes), row accounting, and realism
//! checks (first message a snapshot, seq chain except injected gaps, books never crossed,
//! trades at prices that were on the book, ticker equal to the book's top).

use daedalus_sources::synthetic::{GenConfig, generate};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path())
            } else {
                out.push(e.path())
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_and_rows_add_up() {
    let cfg = GenConfig {
        events: 60_000,
        markets: 3,
        days: 2,
        ..GenConfig::default()
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let ra = generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    generate(&GenConfig { seed: 7, ..cfg }, c.path()).unwrap();
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), 3 * 3 * 2, "3 markets x 3 datasets x 2 days");
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(a.path()), y.strip_prefix(b.path()));
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    let fc = files(c.path());
    assert!(
        fa.iter()
            .zip(&fc)
            .any(|(x, y)| std::fs::read(x).unwrap() != std::fs::read(y).unwrap())
    );
    assert!(
        ra.events >= 60_000 && ra.events < 60_000 + 3 * 400,
        "{}",
        ra.events
    );
    assert!(
        ra.markets.iter().all(|m| m.5 >= 1),
        "every market has injected gaps: {:?}",
        ra.markets
    );
}

#[test]
fn books_trades_and_tickers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let r = generate(
        &GenConfig {
            events: 40_000,
            markets: 2,
            ..GenConfig::default()
        },
        dir.path(),
    )
    .unwrap();
    for (ex, sym, ..) in &r.markets {
        let read = |ds: &str| {
            let p = dir.path().join(format!(
                "bronze/{ds}/exchange={ex}/symbol={sym}/date=2024-01-01/synthetic-42.parquet"
            ));
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(p).unwrap())
                .unwrap()
                .build()
                .unwrap();
            reader.map(|b| b.unwrap()).collect::<Vec<_>>()
        };
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::*;
        let book =
            arrow::compute::concat_batches(&read("book")[0].schema(), &read("book")).unwrap();
        let seq = book
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let prev = book
            .column_by_name("prev_seq")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let snap = book.column_by_name("is_snapshot").unwrap().as_boolean();
        let side = arrow::compute::cast(
            book.column_by_name("side").unwrap(),
            &arrow_schema::DataType::Utf8,
        )
        .unwrap();
        let side = side.as_string::<i32>();
        let px = book
            .column_by_name("price")
            .unwrap()
            .as_primitive::<Float64Type>();
        let sz = book
            .column_by_name("size")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert!(snap.value(0), "first message is a snapshot");
        let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
        let mut last_seq: Option<u64> = None;
        let mut gaps = 0;
        let mut i = 0;
        let mut top_at: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        while i < book.num_rows() {
            let s = seq.value(i);
            if snap.value(i) {
                bids.clear();
                asks.clear();
            } else if prev.is_valid(i) && Some(prev.value(i)) != last_seq {
                gaps += 1;
            }
            while i < book.num_rows() && seq.value(i) == s {
                let key = (px.value(i) * 100.0).round() as i64;
                let m = if side.value(i) == "bid" {
                    &mut bids
                } else {
                    &mut asks
                };
                if sz.value(i) == 0.0 {
                    m.remove(&key);
                } else {
                    m.insert(key, sz.value(i));
                }
                i += 1;
            }
            last_seq = Some(s);
            let (b, a) = (
                bids.keys().next_back().copied().unwrap(),
                asks.keys().next().copied().unwrap(),
            );
            assert!(b < a, "{ex}/{sym}: crossed at seq {s}");
            top_at.insert(s, (b as f64 / 100.0, a as f64 / 100.0));
        }
        let report = r
            .markets
            .iter()
            .find(|m| &m.0 == ex && &m.1 == sym)
            .unwrap();
        assert_eq!(gaps, report.5, "{ex}/{sym}: detected gaps == injected");
        let tick =
            arrow::compute::concat_batches(&read("ticker")[0].schema(), &read("ticker")).unwrap();
        let tseq = tick
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let tb = tick
            .column_by_name("bid_price")
            .unwrap()
            .as_primitive::<Float64Type>();
        let ta = tick
            .column_by_name("ask_price")
            .unwrap()
            .as_primitive::<Float64Type>();
        for k in 0..tick.num_rows() {
            if let Some(&(b, a)) = top_at.get(&tseq.value(k)) {
                assert!(
                    (b - tb.value(k)).abs() < 1e-9 && (a - ta.value(k)).abs() < 1e-9,
                    "{ex}/{sym}: ticker {k}"
                );
            }
        }
    }
}
