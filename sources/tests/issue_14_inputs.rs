//! Issue 14: changed and unreadable inputs on the real spot BTC-USDT recordings (skips when
//! `../shared` is absent). A changed input replaces exactly its own files; an earlier input
//! whose later inputs can no longer be read stops with an error naming the missing input and
//! changes nothing.

use daedalus_sources::ingest::{IngestOptions, InputFormat, ingest};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn real() -> Option<PathBuf> {
    let base = std::env::var_os("DAEDALUS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let p = base.join("data/real/hftbacktest/spot");
    p.is_dir().then_some(p)
}

fn text_of(gz: &Path) -> String {
    let mut s = String::new();
    GzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Every file under `root` (relative) with its bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().into(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn run(
    files: &[PathBuf],
    root: &Path,
) -> daedalus_sources::Result<daedalus_sources::ingest::IngestReport> {
    ingest(
        InputFormat::BinanceRaw,
        files,
        root,
        &IngestOptions::default(),
    )
}

#[test]
fn issue_14_changed_and_unreadable_inputs() {
    let Some(spot) = real() else {
        eprintln!("SKIP issue_14_changed_and_unreadable_inputs: ../shared/data/real not found");
        return;
    };
    let inputs = tempfile::tempdir().unwrap();
    let (a, b) = (
        inputs.path().join("btc_a.txt"),
        inputs.path().join("btc_b.txt"),
    );
    let full_a = text_of(&spot.join("btcusdt_20240808.gz"));
    std::fs::write(&a, &full_a).unwrap();
    std::fs::write(&b, text_of(&spot.join("btcusdt_20240809.gz"))).unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = run(&[a.clone(), b.clone()], root.path()).unwrap();
    let trades = r.markets["binance/BTC-USDT"].trades;
    assert_eq!(trades, 9_757 + 10_147);
    // A changed `a` (its last 100 trades cut, the book chain intact): it and `b` after it are
    // applied again.
    let mut lines: Vec<&str> = full_a.lines().collect();
    for _ in 0..100 {
        let i = lines.iter().rposition(|l| l.contains("@trade\"")).unwrap();
        lines.remove(i);
    }
    std::fs::write(&a, lines.join("\n") + "\n").unwrap();
    let r = run(std::slice::from_ref(&a), root.path()).unwrap();
    assert_eq!(r.applied, vec!["btc_a.txt", "btc_b.txt"]);
    assert_eq!(r.markets["binance/BTC-USDT"].trades, trades - 100);
    let names: Vec<String> = tree(root.path())
        .keys()
        .filter(|p| p.starts_with("bronze"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("binance-raw-btc_a.txt-")
                || n.starts_with("binance-raw-btc_b.txt-")),
        "{names:?}"
    );
    // Restore `a`, remove `b`: re-applying `b` is impossible, so nothing changes.
    let before = tree(root.path());
    std::fs::write(&a, &full_a).unwrap();
    std::fs::remove_file(&b).unwrap();
    let e = run(&[a], root.path()).unwrap_err().to_string();
    assert!(e.contains("btc_b.txt") && e.contains("re-applied"), "{e}");
    assert_eq!(tree(root.path()), before);
}
