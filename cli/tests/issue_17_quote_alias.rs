//! Issue 17 item 6: quote aliases (`--quote-alias ALIAS=CODE`, CONTRACT §10.5). Bequant's
//! stablecoin-quoted BTC books (cryptofeed capture `BEQUANT.ws.1.0`: BTC-USDB, BTC-TUSD, BTC-PAX,
//! BTC-DAI, BTC-GUSD, BTC-EURS) grouped under USD by `--quote-alias TUSD=USD ...`: the markets a
//! `--symbol BTC-USD` run reads are exactly those whose quote the table folds to USD (oracle:
//! the bronze market list, folded here by hand), their `symbol_norm` is `BTC-USD`, the table is
//! recorded in the outputs' metadata, and another table is another fingerprint (a resume with it
//! is refused).

use daedalus_tests::{read_partitions, real_data, skip};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `exchange=E/symbol=S` directories under `root/<prefix>` (any depth).
fn markets(root: &Path, prefix: &str) -> BTreeSet<String> {
    read_partitions(root, prefix)
        .keys()
        .filter_map(|k| {
            let parts: Vec<&str> = k.split('/').collect();
            let e = parts.iter().find_map(|p| p.strip_prefix("exchange="))?;
            let s = parts.iter().find_map(|p| p.strip_prefix("symbol="))?;
            Some(format!("{e}/{s}"))
        })
        .collect()
}

/// The first Parquet file under `dir` (depth first).
fn first_parquet(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(f) = first_parquet(&p) {
                return Some(f);
            }
        } else if p.extension().is_some_and(|x| x == "parquet") {
            return Some(p);
        }
    }
    None
}

fn run_config_metadata(file: &Path) -> String {
    let r = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
    kv.iter()
        .find(|k| k.key == "daedalus.run_config")
        .and_then(|k| k.value.clone())
        .unwrap()
}

const ALIASES: [&str; 4] = ["TUSD=USD", "PAX=USD", "DAI=USD", "GUSD=USD"];

#[test]
fn bequant_stablecoin_books_group_under_usd_with_aliases() {
    let Some(real) = real_data() else {
        skip("issue_17_quote_alias", "../shared/data/real absent");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let rs = root.to_string_lossy().into_owned();
    let input = real.join("cryptofeed/BEQUANT.ws.1.0");
    let out = daedalus(&[
        "ingest",
        "--format",
        "cryptofeed",
        "--root",
        &rs,
        &input.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    // Oracle: the bronze markets whose quote the table folds to USD.
    let bronze = markets(&root, "bronze/book");
    assert!(bronze.contains("bequant/BTC-USDB") && bronze.contains("bequant/BTC-TUSD"));
    let folded: BTreeSet<String> = bronze
        .iter()
        .filter(|m| {
            let quote = m.split('-').nth(1).unwrap_or_default();
            m.starts_with("bequant/BTC-") && ["TUSD", "PAX", "DAI", "GUSD"].contains(&quote)
        })
        .cloned()
        .collect();
    assert!(folded.len() >= 3, "{bronze:?}");

    let mut args = vec!["run", "--root", &rs, "-w", "2", "--symbol", "BTC-USD"];
    for a in ALIASES {
        args.extend(["--quote-alias", a]);
    }
    let out = daedalus(&args);
    assert!(out.status.success(), "{}", text(&out));
    let silver = markets(&root, "silver/book");
    assert_eq!(silver, folded, "the run reads exactly the folded markets");
    for (k, b) in read_partitions(&root, "silver/book") {
        let c = b.column_by_name("symbol_norm").unwrap();
        let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap();
        let c = c
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert!(c.iter().all(|v| v == Some("BTC-USD")), "{k}");
    }
    let meta = run_config_metadata(&first_parquet(&root.join("silver/book")).unwrap());
    assert!(meta.contains("\"normalize_quotes\":true"), "{meta}");
    assert!(
        meta.contains(r#""quote_alias":{"DAI":"USD","GUSD":"USD","PAX":"USD","TUSD":"USD"}"#),
        "{meta}"
    );

    // Another table is another fingerprint: resuming these checkpoints with it is refused.
    let out = daedalus(&[
        "run",
        "--root",
        &rs,
        "-w",
        "2",
        "--symbol",
        "BTC-USD",
        "--quote-alias",
        "TUSD=USD",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("different run parameters"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_alias_tables_are_refused_with_the_rule() {
    let d = tempfile::tempdir().unwrap();
    let rs = d.path().to_string_lossy().into_owned();
    for (flags, want) in [
        (vec!["A=B", "B=C"], "chains and cycles are refused"),
        (vec!["USDT=USDT"], "an alias must map to another code"),
        (vec!["usdt=USD"], "upper-case ASCII"),
        (vec!["TUSD"], "expected <ALIAS>=<CODE>"),
        (vec!["TUSD=USD", "TUSD=EUR"], "already mapped"),
    ] {
        let mut args = vec!["run", "--root", rs.as_str()];
        for f in &flags {
            args.extend(["--quote-alias", f]);
        }
        let out = daedalus(&args);
        assert!(!out.status.success(), "{flags:?}");
        assert!(text(&out).contains(want), "{flags:?}: {}", text(&out));
    }
}
