//! # daedalus-sources
//!
//! Input only: venue recording parsers (to bronze), the synthetic market, and the bronze Parquet
//! reader the dataflow sources use.
//!
//! - [`ingest`]: `daedalus ingest` driver, report and errors; [`binance_raw`] and
//!   [`tardis_csv`] parse the formats.
//! - [`synthetic`]: the deterministic synthetic market (`daedalus gen`).
//! - [`bronze`]: partition discovery, pruning and columnar reading of bronze.

pub mod binance_raw;
pub mod bronze;
pub mod cryptofeed;
pub mod ingest;
pub mod synthetic;
pub mod tardis_csv;
