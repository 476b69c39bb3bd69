//! Progress of a run: a spinner with rows read and rate when stderr is a terminal, a plain log
//! line every 5 s otherwise (CI logs, files). Driven by a counter the command reads (the run
//! observer's bronze rows, ingest's lines, the generator's rows).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Set by `--quiet`: no progress display at all.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns the progress display off (`--quiet`) or on for the whole process.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// True when `--quiet` was given.
fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A running progress reporter.
pub(crate) struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts reporting a counter (`what`: e.g. "lines read") read by `count` on stderr: a
    /// spinner on a terminal, a log line every 5 s otherwise, nothing with `--quiet`.
    pub(crate) fn start_with(what: &'static str, count: impl Fn() -> u64 + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if is_quiet() {
            return Progress { stop, handle: None };
        }
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let tty = std::io::stderr().is_terminal();
            let bar = tty.then(|| {
                let b = ProgressBar::new_spinner();
                b.set_style(
                    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            });
            let mut last_log = Instant::now();
            while !s.load(Ordering::Relaxed) {
                // Parked, not slept: `finish` unparks at once (a sleep cost every run up to
                // 200 ms of wall time at exit).
                std::thread::park_timeout(Duration::from_millis(200));
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let rows = count();
                let rate = rows as f64 / t0.elapsed().as_secs_f64().max(1e-9);
                let msg = format!("{rows} {what} ({:.2} M/s)", rate / 1e6);
                match &bar {
                    Some(b) => {
                        b.set_message(msg);
                        b.tick();
                    }
                    None if last_log.elapsed() >= Duration::from_secs(5) => {
                        tracing::info!("progress: {msg}");
                        last_log = Instant::now();
                    }
                    None => {}
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops reporting.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}
