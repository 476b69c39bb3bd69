//! Issue 8 acceptance for `inspect` and `report`, through the `daedalus` binary, on a root built
//! from the real Binance recordings (ingest + run; skips when `../shared` is absent):
//!
//! - `inspect --json`: row counts and min/max ordering times per dataset and market equal what
//!   DuckDB reads (skips that part without python3 + duckdb);
//! - `report`: one HTML file under 5 MB referencing nothing outside itself; opened in headless
//!   Chromium (skips that part when `/usr/bin/chromium` is absent), every market's charts are in
//!   the DOM and its candles sum to its time bars; the screenshot is a non-trivial PNG
//!   (`DAEDALUS_UPDATE_DOCS=1` copies it to `docs/report.png`);
//! - bad input: an empty root, a corrupt footer and a newer contract version are clear errors.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

use daedalus_tests::{REAL_BINANCE_VPIN_ARGS, binance_files};

fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--quiet")
        .args(args)
        .output()
        .expect("running daedalus")
}

fn ok(args: &[&str]) -> String {
    let out = daedalus(args);
    assert!(
        out.status.success(),
        "daedalus {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real Binance root (bronze, silver, gold), built once per test binary.
fn real_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let files = binance_files()?;
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("inspect_report_root");
        let _ = std::fs::remove_dir_all(&root);
        let mut args = vec!["ingest", "--format", "binance-raw", "--out"];
        let r = root.to_str().unwrap().to_string();
        args.push(&r);
        let fs: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        args.extend(fs.iter().map(String::as_str));
        ok(&args);
        let mut run = vec!["run", "--root", &r, "-w", "2"];
        run.extend(REAL_BINANCE_VPIN_ARGS);
        ok(&run);
        Some(root)
    })
    .as_deref()
}

fn python_duckdb() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `(exchange, symbol) -> (rows, min ns, max ns)` of one dataset glob, read by DuckDB.
fn duckdb_counts(glob: &str, col: &str) -> BTreeMap<(String, String), (u64, i64, i64)> {
    let sql = format!(
        "select exchange, symbol, count(*), epoch_ns(min({col})), epoch_ns(max({col})) \
         from read_parquet('{glob}', hive_partitioning=true) group by all order by all"
    );
    let script = format!(
        "import duckdb\nfor r in duckdb.sql({sql:?}).fetchall(): print('|'.join(str(x) for x in r))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "duckdb failed on {glob}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                (f[0].to_string(), f[1].to_string()),
                (
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                ),
            )
        })
        .collect()
}

fn inspect_json(root: &Path) -> Value {
    serde_json::from_str(&ok(&["inspect", root.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn inspect_json_equals_duckdb_on_real_binance() {
    let Some(root) = real_root() else {
        eprintln!("SKIP inspect_json_equals_duckdb_on_real_binance: ../shared/data/real absent");
        return;
    };
    let inv = inspect_json(root);
    let markets = inv["markets"].as_array().unwrap();
    // Every layer is there, with the spec level of intervals and bars.
    let datasets: std::collections::BTreeSet<&str> = markets
        .iter()
        .map(|m| m["dataset"].as_str().unwrap())
        .collect();
    for d in [
        "bronze/book",
        "bronze/ticker",
        "bronze/trades",
        "silver/book",
        "silver/ticker",
        "silver/trades",
        "silver/intervals/interval=1s",
        "gold/bars/bar=time_1m",
    ] {
        assert!(datasets.contains(d), "{d} missing from {datasets:?}");
    }
    assert!(inv["errors"].as_array().unwrap().is_empty());
    assert_eq!(inv["run_configs"].as_array().unwrap().len(), 1);
    assert_eq!(inv["run_configs"][0]["vpin_n"], 10);
    assert!(inv["state"]["present"].as_bool().unwrap());
    // The text table renders too.
    let text = ok(&["inspect", root.to_str().unwrap()]);
    assert!(text.contains("gold/bars/bar=time_1m") && text.contains("run parameters #1"));

    if !python_duckdb() {
        eprintln!(
            "SKIP inspect_json_equals_duckdb_on_real_binance (DuckDB part): python3 + duckdb absent"
        );
        return;
    }
    let mut checked = 0;
    for d in &datasets {
        let col = if d.contains("intervals") || d.contains("bars") {
            "ts_open"
        } else {
            "ts_event"
        };
        let glob = format!("{}/{d}/**/*.parquet", root.display());
        let duck = duckdb_counts(&glob, col);
        let ours: BTreeMap<(String, String), (u64, i64, i64)> = markets
            .iter()
            .filter(|m| m["dataset"] == *d)
            .map(|m| {
                assert_eq!(m["time_column"], col);
                (
                    (
                        m["exchange"].as_str().unwrap().to_string(),
                        m["symbol"].as_str().unwrap().to_string(),
                    ),
                    (
                        m["rows"].as_u64().unwrap(),
                        m["min_ts"].as_i64().unwrap(),
                        m["max_ts"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(ours, duck, "{d}: inspect and DuckDB differ");
        checked += ours.len();
    }
    eprintln!(
        "inspect == DuckDB for {checked} dataset/market pairs over {} datasets",
        datasets.len()
    );
    assert!(checked >= 6 * 8 - 1);
}

/// Runs a command, killing it after `limit`.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let t0 = Instant::now();
    // Read stdout on a thread so a large DOM cannot block the child on a full pipe.
    let mut so = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().ok()?;
    let stdout = reader.join().ok()?;
    Some(Output {
        status,
        stdout,
        stderr: Vec::new(),
    })
}

fn chromium(html: &Path, extra: &[String]) -> Option<Output> {
    let profile = tempfile::tempdir().ok()?;
    let mut cmd = Command::new("/usr/bin/chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", html.display()));
    run_with_timeout(&mut cmd, Duration::from_secs(180))
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn report_opens_in_headless_chromium_with_every_market_drawn() {
    let Some(root) = real_root() else {
        eprintln!("SKIP report_opens_in_headless_chromium: ../shared/data/real absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    let out = ok(&[
        "report",
        root.to_str().unwrap(),
        "--out",
        html_path.to_str().unwrap(),
    ]);
    assert!(out.contains("6 market(s)"), "{out}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.len() < 5 * 1024 * 1024, "{} bytes", html.len());
    for bad in [
        "http://", "https://", "src=", "<link", "<script", "url(", "@import",
    ] {
        assert!(
            !html.contains(bad),
            "report references outside itself: {bad}"
        );
    }

    // Bars per market from the inventory (footer row counts; DuckDB agrees by the other test).
    let inv = inspect_json(root);
    let bars: BTreeMap<String, u64> = inv["markets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["dataset"] == "gold/bars/bar=time_1m")
        .map(|m| {
            (
                format!(
                    "{}/{}",
                    m["exchange"].as_str().unwrap(),
                    m["symbol"].as_str().unwrap()
                ),
                m["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(bars.len(), 6);

    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!(
            "SKIP report_opens_in_headless_chromium (browser part): /usr/bin/chromium absent (apt-get install -y chromium)"
        );
        return;
    }
    let dom = chromium(&html_path, &["--dump-dom".to_string()]).expect("chromium --dump-dom");
    assert!(dom.status.success(), "chromium --dump-dom failed");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("daedalus report"),
        "DOM: {}",
        &dom[..dom.len().min(500)]
    );
    let sections: Vec<&str> = dom.split(r#"<section class="market""#).skip(1).collect();
    assert_eq!(sections.len(), bars.len(), "one section per market");
    for (market, n) in &bars {
        let s = sections
            .iter()
            .find(|s| s.contains(&format!(r#"data-market="{market}""#)))
            .unwrap_or_else(|| panic!("{market}: no section in the DOM"));
        let s = &s[..s.find("</section>").unwrap_or(s.len())];
        for chart in [
            "candles", "ofi", "tfi", "vpin", "spread", "depth", "kyle", "quality",
        ] {
            assert_eq!(
                count(s, &format!(r#"<svg class="chart" data-chart="{chart}""#)),
                1,
                "{market}: chart {chart} not drawn"
            );
        }
        assert!(!s.contains("nodata"), "{market}: a chart has no data");
        let candles = count(s, r#"<g class="candle "#);
        assert_eq!(candles as u64, *n, "{market}: candles vs time bars");
        assert_eq!(
            count(s, r#"data-bars="1""#) as u64,
            *n,
            "{market}: one bar per candle"
        );
        assert!(
            count(s, "<path class=\"series\"") >= 6,
            "{market}: line series"
        );
    }

    let png = dir.path().join("report.png");
    let shot = chromium(
        &html_path,
        &[
            "--window-size=1200,2200".to_string(),
            "--hide-scrollbars".to_string(),
            format!("--screenshot={}", png.display()),
        ],
    )
    .expect("chromium --screenshot");
    assert!(shot.status.success(), "chromium --screenshot failed");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // A blank 1200x2200 page compresses to a few KiB; drawn charts are far larger.
    assert!(
        bytes.len() > 100_000,
        "screenshot too small: {} bytes",
        bytes.len()
    );
    eprintln!(
        "report: {} bytes, {} markets, screenshot {} bytes",
        html.len(),
        bars.len(),
        bytes.len()
    );
    if std::env::var_os("DAEDALUS_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.png");
        std::fs::copy(&png, &docs).unwrap();
        eprintln!("copied the screenshot to {}", docs.display());
    }
}

#[test]
fn bad_roots_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    // Empty root.
    for cmd in [vec!["inspect", r], vec!["report", r, "--out", "/dev/null"]] {
        let out = daedalus(&cmd);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no outputs"), "{cmd:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A corrupt footer, then a newer contract version.
    let part = d
        .path()
        .join("gold/bars/bar=time_1m/exchange=binance/symbol=BTC-USDT/date=2024-08-08");
    std::fs::create_dir_all(&part).unwrap();
    std::fs::write(part.join("part-00000.parquet"), b"PAR1 not really parquet").unwrap();
    for cmd in [vec!["inspect", r], vec!["report", r, "--out", "/dev/null"]] {
        let out = daedalus(&cmd);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("part-00000.parquet") && err.contains("corrupt"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::remove_file(part.join("part-00000.parquet")).unwrap();
    write_with_contract(&part.join("part-00000.parquet"), "999");
    for cmd in [vec!["inspect", r], vec!["report", r, "--out", "/dev/null"]] {
        let out = daedalus(&cmd);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("part-00000.parquet") && err.contains("contract version 999"),
            "{cmd:?}: {err}"
        );
    }
    // Our version, plus a staged leftover: counted as staged, not as rows.
    write_with_contract(&part.join("part-00000.parquet"), "1");
    std::fs::write(part.join(".part-00001.parquet.inprogress"), b"partial").unwrap();
    let out = daedalus(&["inspect", r, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["partitions"][0];
    assert_eq!(p["dataset"], "bars");
    assert_eq!(p["spec"], "bar=time_1m");
    assert_eq!(p["rows"], 1);
    assert_eq!(p["files"], 1);
    assert_eq!(p["staged_files"], 1);
    assert_eq!(p["min_ts"], 1_723_161_600_000_000_000i64);
    assert_eq!(v["state"]["present"], false);
    // The stub lacks the bar columns: the report names the file and the column.
    let html = d.path().join("r.html");
    let out = daedalus(&["report", r, "--out", html.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("part-00000.parquet") && err.contains("column ts_close missing"),
        "{err}"
    );
    assert!(!html.exists());
}

fn write_with_contract(path: &Path, version: &str) {
    use arrow::array::{Int64Array, TimestampNanosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "ts_open",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("bar_seq", DataType::Int64, false),
    ]));
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(
                TimestampNanosecondArray::from(vec![1_723_161_600_000_000_000])
                    .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from(vec![0])),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "daedalus.contract_version".into(),
            version.to_string(),
        )]))
        .build();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
}
