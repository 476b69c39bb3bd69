//! Argument structs shared by several commands, and the value enums of enumerated flags. A leaf
//! module: commands import it, it imports no command.

use crate::duration;
use clap::{Args, ValueEnum};
use daedalus_dataflow::{Clock, LatePolicy, Output};
use std::path::PathBuf;
use std::time::Duration;

/// The root of a command, given as `--root ROOT` (or, as before, as the positional `ROOT`).
#[derive(Debug, Args, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct RootArg {
    /// The root (holding `bronze/`, `silver/`, `gold/`, `_daedalus/`).
    #[arg(long = "root", value_name = "ROOT")]
    root: Option<PathBuf>,
    /// The root, positionally (same as `--root`).
    #[arg(value_name = "ROOT")]
    root_pos: Option<PathBuf>,
}

impl RootArg {
    /// The root given.
    pub(crate) fn path(&self) -> &PathBuf {
        self.root
            .as_ref()
            .or(self.root_pos.as_ref())
            .expect("clap requires one of --root and ROOT")
    }
}

/// `--outputs` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputArg {
    /// `silver/book`.
    Book,
    /// `silver/ticker`.
    Ticker,
    /// `silver/trades`.
    Trades,
    /// `silver/intervals/interval=<spec>`.
    Intervals,
    /// `gold/bars/bar=<spec>`.
    Bars,
    /// `silver/cross/interval=<spec>/base=<BASE>` (needs `--cross`).
    Cross,
}

impl From<OutputArg> for Output {
    fn from(o: OutputArg) -> Self {
        match o {
            OutputArg::Book => Output::Book,
            OutputArg::Ticker => Output::Ticker,
            OutputArg::Trades => Output::Trades,
            OutputArg::Intervals => Output::Intervals,
            OutputArg::Bars => Output::Bars,
            OutputArg::Cross => Output::Cross,
        }
    }
}

/// `--clock` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClockArg {
    /// Venue event time (`ts_event`), the default.
    Event,
    /// Receive time (`ts_recv`) for every dataset.
    Receive,
}

impl From<ClockArg> for Clock {
    fn from(c: ClockArg) -> Self {
        match c {
            ClockArg::Event => Clock::Event,
            ClockArg::Receive => Clock::Receive,
        }
    }
}

/// `--on-late` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnLateArg {
    /// Count late rows, list their file in `<state>/late.jsonl`, go on.
    Record,
    /// Stop the run with an error naming the file.
    Fail,
}

impl From<OnLateArg> for LatePolicy {
    fn from(o: OnLateArg) -> Self {
        match o {
            OnLateArg::Record => LatePolicy::Record,
            OnLateArg::Fail => LatePolicy::Fail,
        }
    }
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// Partition filters of `inspect` and `report` (exact values, pruned by path).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct FilterArgs {
    /// Keep only this exchange (repeatable).
    #[arg(long)]
    pub exchange: Vec<String>,
    /// Keep only this symbol (repeatable).
    #[arg(long)]
    pub symbol: Vec<String>,
    /// First UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

impl FilterArgs {
    /// The filter spec (dates validated).
    pub(crate) fn spec(
        &self,
    ) -> Result<daedalus_dataflow::FilterSpec, daedalus_dataflow::ConfigError> {
        let f = daedalus_dataflow::FilterSpec {
            exchange: self.exchange.clone(),
            symbol: self.symbol.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        };
        f.date_bounds()?;
        Ok(f)
    }
}

/// Run parameters shared by `run` and `demo` (CONTRACT §6); flags override `--config`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ParamArgs {
    /// TOML config file with any run parameter.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Interval grid (repeatable), a duration dividing a day, e.g. 1s, 100ms, 1m.
    #[arg(long = "interval", value_parser = duration::interval)]
    pub interval: Vec<String>,
    /// Bar spec (repeatable), e.g. time_1m, volume_5, tick_100, dollar_1000000.
    #[arg(long = "bar")]
    pub bar: Vec<String>,
    /// VPIN window n (buckets).
    #[arg(long, value_parser = duration::vpin_n, allow_negative_numbers = true)]
    pub vpin_n: Option<usize>,
    /// VPIN bucket volume per market: <exchange>/<symbol>=<V> (repeatable).
    #[arg(long = "vpin-v")]
    pub vpin_v: Vec<String>,
    /// Reference market of a cross-market group: <BASE>=<exchange>/<symbol> (repeatable;
    /// writes silver/cross, CONTRACT §11).
    #[arg(long = "cross")]
    pub cross: Vec<String>,
    /// silver/cross window W (intervals).
    #[arg(long, value_parser = duration::cross_window, allow_negative_numbers = true)]
    pub cross_window: Option<usize>,
    /// Kyle regression window W.
    #[arg(long, value_parser = duration::kyle_window, allow_negative_numbers = true)]
    pub kyle_window: Option<usize>,
    /// MLOFI depth M.
    #[arg(long, value_parser = duration::mlofi_levels, allow_negative_numbers = true)]
    pub mlofi_levels: Option<usize>,
    /// Treat USDT/USDC quotes as USD for filters and symbol_norm (the default alias pair).
    #[arg(long)]
    pub normalize_quotes: bool,
    /// Fold quote ALIAS into CODE for filters and symbol_norm (repeatable; replaces the default
    /// pair USDT=USD, USDC=USD, so name those too to keep them; implies --normalize-quotes).
    #[arg(long = "quote-alias", value_name = "ALIAS=CODE")]
    pub quote_alias: Vec<String>,
    /// Ordering clock.
    #[arg(long, value_enum)]
    pub clock: Option<ClockArg>,
    /// Outputs to write (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub outputs: Vec<OutputArg>,
    /// Keep only this exchange (repeatable).
    #[arg(long)]
    pub exchange: Vec<String>,
    /// Keep only this symbol (repeatable).
    #[arg(long)]
    pub symbol: Vec<String>,
    /// First UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last UTC date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

/// timely cluster flags (timely's own meanings).
#[derive(Debug, Args, Clone)]
pub(crate) struct ClusterArgs {
    /// Worker threads per process.
    #[arg(short = 'w', long = "workers", default_value_t = 1,
          value_parser = duration::workers, allow_negative_numbers = true)]
    pub workers: usize,
    /// Number of processes.
    #[arg(short = 'n', long = "processes", default_value_t = 1,
          value_parser = duration::processes, allow_negative_numbers = true)]
    pub processes: usize,
    /// This process's index (0-based).
    #[arg(short = 'p', long = "process", default_value_t = 0,
          value_parser = duration::process, allow_negative_numbers = true)]
    pub process: usize,
    /// Hostfile: one host:port per line, in process order.
    #[arg(short = 'H', long = "hostfile")]
    pub hostfile: Option<PathBuf>,
}

/// Checkpoint, watch and recovery flags of `run` (docs/OPERATIONS.md).
#[derive(Debug, Args, Clone)]
pub(crate) struct ModeArgs {
    /// Keep running: watch `<root>/bronze` for new files until SIGINT/SIGTERM.
    #[arg(long)]
    pub watch: bool,
    /// Checkpoint directory (default `<root>/_daedalus`).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Event-time period of checkpoints (aligned), e.g. 1h, 10m, 1d; `0` = only at the end and on
    /// SIGINT/SIGTERM.
    #[arg(long, default_value = "1d", value_parser = duration::period)]
    pub checkpoint_every: Duration,
    /// Watch mode: rescan period.
    #[arg(long, default_value = "1s", value_parser = duration::poll)]
    pub poll: Duration,
    /// Watch mode: a file written in place counts once unchanged (mtime) for this long; files
    /// renamed in (the recommended way) count at once.
    #[arg(long, default_value = "2s", value_parser = duration::settle)]
    pub settle: Duration,
    /// Watch mode: a market without a new file for this long (wall clock) stops holding the
    /// watermark back.
    #[arg(long, default_value = "10m", value_parser = duration::idle_timeout)]
    pub idle_timeout: Duration,
    /// Watch mode, for intraday files: a market's watermark also follows its newest file's last
    /// event time minus this delay (files of a market may arrive at most this far behind its
    /// newest one). Default: the date rule only (a date is final once the next date has a file).
    #[arg(long, value_parser = duration::watermark_delay)]
    pub watermark_delay: Option<Duration>,
    /// Rows behind the watermark.
    #[arg(long, value_enum, default_value_t = OnLateArg::Record)]
    pub on_late: OnLateArg,
    /// Serve Prometheus metrics on this address (`HOST:PORT`, or a bare port = 127.0.0.1:PORT).
    #[arg(long)]
    pub metrics: Option<String>,
    /// When another `run` holds the root's lock (`_daedalus/run.lock`), wait for it instead of
    /// failing with its pid and command.
    #[arg(long)]
    pub wait: bool,
    /// Recompute the markets selected by --exchange/--symbol (all without them) from bronze,
    /// then replace their outputs and checkpoints in one commit per market (the previous ones
    /// stand until then); with --from/--to, only the partitions of that window, starting from
    /// the checkpoint history.
    #[arg(long)]
    pub rebuild: bool,
    /// Recompute every market with late, changed or removed bronze from the last checkpoint
    /// before it and replace the affected partitions; with --watch, as late files arrive.
    #[arg(long, conflicts_with = "rebuild")]
    pub restate: bool,
    /// Event time of checkpoint history kept per market (for --restate and --rebuild --from);
    /// 0 keeps none.
    #[arg(long, default_value = "7d", value_parser = duration::keep_checkpoints)]
    pub keep_checkpoints: Duration,
}
