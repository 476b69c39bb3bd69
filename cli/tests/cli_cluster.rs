//! The `daedalus` binary as a user runs it: a 2-process timely cluster on loopback
//! (`-n 2 -p 0|1 -H hostfile`) writes exactly the rows of a single-worker run. On the real
//! Binance recordings when `../shared` is present (ingested with `daedalus ingest`), always on a
//! synthetic root (`daedalus gen`).

mod common;

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use common::{BIN, ok};
use daedalus_tests::{REAL_BINANCE_VPIN_ARGS, binance_file_args, free_port, skip};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every committed Parquet file under `root/layer`, concatenated per partition directory.
fn partitions(root: &Path, layer: &str) -> BTreeMap<String, RecordBatch> {
    let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![root.join(layer)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                dirs.entry(d.clone()).or_default().push(p);
            }
        }
    }
    dirs.into_iter()
        .map(|(d, mut files)| {
            files.sort();
            let batches: Vec<RecordBatch> = files
                .iter()
                .flat_map(|f| {
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
                        .unwrap()
                        .build()
                        .unwrap()
                        .map(|b| b.unwrap())
                })
                .collect();
            (
                d.strip_prefix(root).unwrap().display().to_string(),
                concat_batches(&batches[0].schema(), &batches).unwrap(),
            )
        })
        .collect()
}

fn copy_bronze(from: &Path, to: &Path) {
    let mut stack = vec![from.join("bronze")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let q = to.join(p.strip_prefix(from).unwrap());
            if p.is_dir() {
                std::fs::create_dir_all(&q).unwrap();
                stack.push(p);
            } else {
                std::fs::copy(&p, &q).unwrap();
            }
        }
    }
}

/// Runs `run_args` once with `-w 1` and once as a 2-process cluster on copies of `bronze`, and
/// asserts identical silver and gold.
fn cluster_equals_single(bronze: &Path, run_args: &[&str]) {
    let single = tempfile::tempdir().unwrap();
    let cluster = tempfile::tempdir().unwrap();
    copy_bronze(bronze, single.path());
    copy_bronze(bronze, cluster.path());
    let s = single.path().display().to_string();
    let mut a = vec!["run", "--root", &s, "-w", "1"];
    a.extend_from_slice(run_args);
    ok(&a);
    let hosts = cluster.path().join("hosts.txt");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let (c, h) = (
        cluster.path().display().to_string(),
        hosts.display().to_string(),
    );
    let children: Vec<_> = ["0", "1"]
        .iter()
        .map(|p| {
            let mut a = vec!["run", "--root", &c, "-n", "2", "-p", p, "-H", &h];
            a.extend_from_slice(run_args);
            Command::new(BIN)
                .args(&a)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut ch in children {
        assert!(ch.wait().unwrap().success(), "a cluster process failed");
    }
    for layer in ["silver", "gold"] {
        let (x, y) = (
            partitions(single.path(), layer),
            partitions(cluster.path(), layer),
        );
        assert!(!x.is_empty(), "{layer}: nothing written");
        assert_eq!(
            x.keys().collect::<Vec<_>>(),
            y.keys().collect::<Vec<_>>(),
            "{layer}: partitions differ"
        );
        for (k, b) in &x {
            assert_eq!(b.num_rows(), y[k].num_rows(), "{k}");
            for i in 0..b.num_columns() {
                assert_eq!(
                    b.column(i).to_data(),
                    y[k].column(i).to_data(),
                    "{k}: column {}",
                    b.schema().field(i).name()
                );
            }
        }
    }
}

#[test]
fn two_process_cluster_matches_one_worker_on_synthetic() {
    let bronze = tempfile::tempdir().unwrap();
    ok(&[
        "gen",
        "--out",
        &bronze.path().display().to_string(),
        "--events",
        "60000",
        "--markets",
        "3",
        "--days",
        "2",
    ]);
    cluster_equals_single(
        bronze.path(),
        &[
            "--vpin-v",
            "binance/BTC-USDT=2",
            "--vpin-n",
            "10",
            "--bar",
            "time_1m",
            "--bar",
            "volume_20",
        ],
    );
}

#[test]
fn two_process_cluster_matches_one_worker_on_real_binance() {
    let Some(files) = binance_file_args() else {
        return skip(
            "two_process_cluster_matches_one_worker_on_real_binance",
            "../shared/data/real not found",
        );
    };
    let bronze = tempfile::tempdir().unwrap();
    let mut args = vec!["ingest", "--format", "binance-raw", "--out"];
    let out = bronze.path().display().to_string();
    args.push(&out);
    args.extend(files.iter().map(String::as_str));
    ok(&args);
    cluster_equals_single(bronze.path(), &REAL_BINANCE_VPIN_ARGS);
}
