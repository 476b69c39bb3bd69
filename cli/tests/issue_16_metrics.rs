//! Issue 16, availability: the `--metrics` endpoint is a real HTTP server. An idle client and a
//! client that sends half a request and stalls never delay a scrape; other paths are 404 and
//! other methods 405; a client that sends nothing is dropped after the header timeout (5 s); the
//! values served are the real ones (an `ingest --watch` of the ten Binance recordings serves the
//! rows a plain ingest of the same files reports); a port in use is a clear error.

use daedalus_tests::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

/// `ingest --watch LANDING --metrics 127.0.0.1:PORT`: a process that serves metrics until a
/// signal.
fn watcher(landing: &std::path::Path, root: &std::path::Path, port: u16) -> Child {
    Command::new(BIN)
        .args(["ingest", "--watch"])
        .arg(landing)
        .args([
            "--format",
            "binance-raw",
            "--settle",
            "0s",
            "--poll",
            "50ms",
        ])
        .arg("--root")
        .arg(root)
        .args(["--metrics", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// One request on a fresh connection; the whole response (the server closes the connection).
fn request(port: u16, req: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn scrape(port: u16) -> String {
    request(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// Waits until the server answers (the process has started).
fn wait_up(port: u16) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "server never up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait().unwrap()
}

/// The value of the sample `name{labels}` (labels as written by the exposition).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn issue_16_metrics_idle_and_stalled_clients_never_delay_a_scrape() {
    let d = tempfile::tempdir().unwrap();
    let landing = d.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let port = free_port();
    let mut child = watcher(&landing, &d.path().join("root"), port);
    wait_up(port);
    // Twenty idle connections and one that sent half a request line and stalls.
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled.write_all(b"GET /metr").unwrap();
    for _ in 0..5 {
        let t0 = Instant::now();
        let got = scrape(port);
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(1), "a scrape took {took:?}");
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(
            got.contains("content-type: application/openmetrics-text"),
            "{got}"
        );
        assert!(got.contains("\r\n\r\n# HELP daedalus_"), "{got}");
        assert!(got.contains("daedalus_ingest_batches_total 0"), "{got}");
        assert!(got.trim_end().ends_with("# EOF"), "{got}");
    }
    let nope = request(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(nope.starts_with("HTTP/1.1 404 Not Found"), "{nope}");
    assert!(!nope.contains("daedalus_"), "{nope}");
    let post = request(
        port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed"),
        "{post}"
    );
    assert!(post.contains("allow: GET, HEAD"), "{post}");
    let head = request(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(!head.contains("# HELP"), "{head}");
    // The idle client is dropped by the server after the 5 s header timeout: read sees EOF.
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = first.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "an idle connection got {:?}", &buf[..n]);
    let status = sigterm(&mut child);
    assert!(status.success(), "{status:?}");
    // Shut down with the process: nothing listens on the port any more.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn issue_16_metrics_serve_the_ingested_rows_of_the_real_binance_files() {
    let Some(files) = daedalus_tests::binance_files() else {
        daedalus_tests::skip(
            "issue_16_metrics real values",
            "../shared/data/real not found",
        );
        return;
    };
    // The oracle: a plain ingest of the same files, its JSON report's rows per market.
    let reference = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["ingest", "--format", "binance-raw", "--json", "--root"])
        .arg(reference.path())
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let markets = report["markets"].as_object().unwrap();
    assert_eq!(markets.len(), 6);

    let d = tempfile::tempdir().unwrap();
    let landing = d.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let port = free_port();
    let mut child = watcher(&landing, &d.path().join("root"), port);
    wait_up(port);
    let staging = d.path().join("staging");
    for (k, f) in files.iter().enumerate() {
        // Spot and futures files share names: one subfolder each. Copied beside the landing
        // folder and renamed in, so the watcher never sees a file half-copied.
        let name = f.file_name().unwrap();
        std::fs::create_dir_all(staging.join(k.to_string())).unwrap();
        std::fs::create_dir_all(landing.join(k.to_string())).unwrap();
        std::fs::copy(f, staging.join(k.to_string()).join(name)).unwrap();
        std::fs::rename(
            staging.join(k.to_string()).join(name),
            landing.join(k.to_string()).join(name),
        )
        .unwrap();
    }
    // The oracle's rows per series.
    let want: Vec<(String, u64)> = markets
        .iter()
        .flat_map(|(m, c)| {
            [
                ("book", "book_rows"),
                ("trades", "trades"),
                ("ticker", "tickers"),
            ]
            .map(|(ds, field)| {
                let series = format!("daedalus_ingest_rows{{dataset=\"{ds}\",market=\"{m}\"}}");
                (series, c[field].as_u64().unwrap())
            })
        })
        .collect();
    let t0 = Instant::now();
    let text = loop {
        let text = scrape(port);
        if want
            .iter()
            .all(|(series, n)| sample(&text, series) == Some(*n as f64))
        {
            break text;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "want {want:?}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let total: u64 = want.iter().map(|(_, n)| n).sum();
    assert!(total > 1_000_000, "only {total} rows");
    assert_eq!(
        sample(&text, "daedalus_ingest_inputs_ingested_total"),
        Some(files.len() as f64)
    );
    assert_eq!(
        sample(&text, "daedalus_ingest_inputs_rejected_total"),
        Some(0.0)
    );
    assert!(sigterm(&mut child).success());
}

#[test]
fn issue_16_metrics_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let d = tempfile::tempdir().unwrap();
    let landing = d.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let out = Command::new(BIN)
        .args(["ingest", "--watch"])
        .arg(&landing)
        .args(["--format", "binance-raw", "--root"])
        .arg(d.path().join("root"))
        .args(["--metrics", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("--metrics: cannot listen on {addr}")),
        "{err}"
    );
}
