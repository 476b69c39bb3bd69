//! # daedalus-operators
//!
//! The math of Daedalus as plain state machines: no timely types, no I/O. Each machine is fed
//! events of **one market in the total order of CONTRACT §3** and returns feature rows; the
//! dataflow (`daedalus-dataflow`) owns ordering, routing and progress and wraps these machines.
//! Every machine is `serde` serializable: one fed events `1..k`, serialized, restored and fed
//! `k+1..n` produces exactly what one fed `1..n` does (checkpoint/resume relies on it).
//!
//! Exactness: book sizes and traded volumes are fixed-point [`daedalus_model::fixed::Qty`]
//! (1e-9 units), prices are keyed exactly by [`daedalus_model::fixed::PriceKey`], so OFI,
//! volume sums, VPIN buckets and volume bars are exact integer arithmetic; only ratios and
//! regressions are floating point.
//!
//! Modules:
//! - [`rolling`]: generic windows and estimators reused by every feature (time/count windows,
//!   Welford with removal, EWMA in both pandas forms, time-decayed EWMA).
//! - [`book`]: the L2 book state machine (snapshots, gaps, uncrossing, top-N access).
//! - `structural`, `ofi` (crate-internal), [`book_features`]: per-message `silver/book` features.
//! - [`ticker`]: `silver/ticker` features from venue best bid/offer.
//! - [`trades`], [`vpin`]: `silver/trades` features.
//! - [`kyle`], [`intervals`]: `silver/intervals` on the epoch grid.
//! - [`bars`]: `gold/bars` of every bar type.
//! - [`cross`]: `silver/cross` window statistics of a market against its reference (§11).
//! - [`market`]: every machine of one market wired together ([`MarketPipeline`]).
//! - [`error`]: [`PipelineError`], the error the pipeline returns across the crate boundary.

pub mod bars;
pub mod book;
pub mod book_features;
pub mod cross;
pub mod error;
pub mod intervals;
pub mod kyle;
pub mod market;
pub(crate) mod ofi;
pub mod rolling;
pub(crate) mod structural;
pub mod ticker;
pub mod trades;
pub mod vpin;

pub use error::PipelineError;
pub use market::{MarketParams, MarketPipeline};
