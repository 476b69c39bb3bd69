//! Helpers shared by the workspace-level integration tests.
//!
//! Real exchange data is read from `../shared/data/real` beside the checkout (or
//! `$DAEDALUS_SHARED/data/real`); tests that need it print a skip line and return when it is
//! absent, as on a user's clone. Nothing from it is ever copied into the repository.

pub mod mutate;

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<shared>/data/real`, if present.
pub fn real_data() -> Option<PathBuf> {
    let base = std::env::var_os("DAEDALUS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let p = base.join("data/real");
    p.is_dir().then_some(p)
}

/// The shared tools folder (conformance script), if present.
pub fn shared_tools() -> Option<PathBuf> {
    real_data()
        .map(|p| p.join("../../tools"))
        .filter(|p| p.join("conformance.py").exists())
}

/// Prints the standard skip line.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIP {test}: {why}");
}

/// The raw Binance recordings (all 10 files) in name order.
pub fn binance_files() -> Option<Vec<PathBuf>> {
    let real = real_data()?;
    let mut v = Vec::new();
    for d in ["spot", "usdm", "cm"] {
        let mut fs: Vec<PathBuf> = std::fs::read_dir(real.join("hftbacktest").join(d))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "gz"))
            .collect();
        fs.sort();
        v.extend(fs);
    }
    Some(v)
}

/// The raw Binance recordings as command-line arguments, sorted by full path (`cm`, `spot`,
/// `usdm`), the order the binary's tests pass them in.
pub fn binance_file_args() -> Option<Vec<String>> {
    let mut v: Vec<String> = binance_files()?
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    Some(v)
}

/// `run` arguments for a root ingested from the real Binance recordings: VPIN with 10 buckets
/// of a fixed volume per market (about a fiftieth of each market's traded volume in the
/// recordings), so VPIN is computed and the same in every test that compares runs of that root.
pub const REAL_BINANCE_VPIN_ARGS: [&str; 14] = [
    "--vpin-n",
    "10",
    "--vpin-v",
    "binance/BTC-USDT=8.76",
    "--vpin-v",
    "binance/ETH-USDT=85.5",
    "--vpin-v",
    "binance-futures/BTC-USDT-PERP=48.6",
    "--vpin-v",
    "binance-futures/ETH-USDT-PERP=183",
    "--vpin-v",
    "binance-delivery/BTC-USD-PERP=3640",
    "--vpin-v",
    "binance-delivery/ETH-USD-PERP=9190",
];

/// Every committed Parquet file under `root/<prefix>`, read and concatenated per partition
/// directory (relative path), files in name order.
pub fn read_partitions(root: &Path, prefix: &str) -> BTreeMap<String, RecordBatch> {
    let mut out = BTreeMap::new();
    let base = root.join(prefix);
    let mut stack = vec![base];
    let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet")
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
            {
                dirs.entry(d.clone()).or_default().push(p);
            }
        }
    }
    for (d, mut files) in dirs {
        files.sort();
        let mut batches = Vec::new();
        for f in files {
            let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
                .unwrap()
                .build()
                .unwrap();
            batches.extend(r.map(|b| b.unwrap()));
        }
        let schema = batches[0].schema();
        let all = concat_batches(&schema, &batches).unwrap();
        out.insert(
            d.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
            all,
        );
    }
    out
}

/// Asserts two roots hold identical rows, partition by partition, for each prefix.
pub fn assert_same_outputs(a: &Path, b: &Path, prefixes: &[&str]) {
    for prefix in prefixes {
        let pa = read_partitions(a, prefix);
        let pb = read_partitions(b, prefix);
        assert_eq!(
            pa.keys().collect::<Vec<_>>(),
            pb.keys().collect::<Vec<_>>(),
            "{prefix}: partition sets differ"
        );
        for (k, ba) in &pa {
            let bb = &pb[k];
            assert_eq!(ba.num_rows(), bb.num_rows(), "{k}: row counts differ");
            for c in 0..ba.num_columns() {
                assert_eq!(
                    ba.column(c).to_data(),
                    bb.column(c).to_data(),
                    "{k}: column {} differs",
                    ba.schema().field(c).name()
                );
            }
        }
    }
}

/// Runs `../shared/tools/conformance.py root`; `None` when python3/duckdb/pyarrow or the script
/// are unavailable (the caller prints a skip), else (success, output).
pub fn conformance(root: &Path) -> Option<(bool, String)> {
    let tools = shared_tools()?;
    let ok = Command::new("python3")
        .args(["-c", "import duckdb, pyarrow"])
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let out = Command::new("python3")
        .arg(tools.join("conformance.py"))
        .arg(root)
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// Runs a DuckDB query through python3 and returns stdout lines; `None` when unavailable.
pub fn duckdb_query(sql: &str) -> Option<Vec<String>> {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let script = format!(
        "import duckdb\nfor r in duckdb.sql({sql:?}).fetchall(): print('|'.join(str(x) for x in r))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// Every file under `dir` (recursively), as a path relative to `base`, sorted.
pub fn files_under(base: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` (recursively), relative path (to `base`) to bytes.
pub fn bytes_under(base: &Path, dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(base, dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(base.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Copies the directory tree `from` into `to` (which exists).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let q = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&q).unwrap();
            copy_tree(&p, &q);
        } else {
            std::fs::copy(&p, &q).unwrap();
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, read and released), for tests
/// that start a cluster process or a metrics endpoint.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("its address")
        .port()
}
