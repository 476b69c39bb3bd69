//! # daedalus-model
//!
//! The data model every Daedalus layer shares, with no I/O and no timely types:
//!
//! - [`market`]: exchange/symbol ids, partition-value validation, `normalize_quotes`, the stable
//!   routing hash of a market (identical in every process).
//! - [`fixed`]: exact keys and fixed-point quantities. Prices are parsed from venue decimal strings
//!   as correctly rounded `f64` (CONTRACT §9.9), so two equal decimal strings give bit-identical
//!   doubles; book levels are keyed by those bits ([`fixed::PriceKey`]), never by float comparison
//!   with a tolerance. Volumes that feed thresholds (VPIN buckets, volume bars) are integer
//!   nano-units ([`fixed::Qty`]) so bucket boundaries never drift.
//! - [`time`]: nanosecond timestamps and UTC dates.
//! - [`rows`]: bronze row types (CONTRACT §2).
//! - [`features`]: silver feature rows and gold bar rows (CONTRACT §4, §5), and [`sink`], the
//!   [`FeatureSink`] trait a market pipeline writes them through.
//! - [`layout`]: the [`OutputLayout`] of one market (ids, column families, specs).
//! - [`datasets`]: one module per output dataset with its Arrow schema and its encoder of named
//!   builders (CONTRACT §2, §4, §5).
//! - [`partition`]: the Hive layout of CONTRACT §1.

pub mod cross;
pub mod datasets;
pub mod features;
pub mod fixed;
pub mod layout;
pub mod market;
pub mod partition;
pub mod rows;
pub mod sink;
pub mod time;

pub use datasets::Encoder;
pub use layout::OutputLayout;
pub use market::{Market, ModelError};
pub use partition::Partition;
pub use rows::{BookRow, Dataset, TickerRow, TradeRow};
pub use sink::FeatureSink;
pub use time::{Date, Nanos};

/// Version of the data contract this build reads and writes; recorded in every output's metadata.
pub const CONTRACT_VERSION: &str = "1";
/// Version of the producing software, recorded in output metadata.
pub const PRODUCER: &str = concat!("daedalus ", env!("CARGO_PKG_VERSION"));
