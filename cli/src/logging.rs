//! Log setup shared by every command: `--log <filter>`, `--log-format text|json`, `--quiet`.
//!
//! Logs go to stderr (stdout carries summaries and `--json` output). `--quiet` turns the
//! progress display off ([`crate::progress::set_quiet`]) and, with the default `--log info`,
//! keeps only warnings and errors.

use crate::args::LogFormat;

/// Installs the global tracing subscriber. Safe to call once per process; a second call is
/// ignored.
pub(crate) fn init(filter: &str, format: LogFormat, quiet: bool) {
    crate::progress::set_quiet(quiet);
    let filter = if quiet && filter == "info" {
        "warn"
    } else {
        filter
    };
    let env = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}
