//! # daedalus-sources
//!
//! Input only: venue recording parsers (to bronze), the synthetic market, and the bronze Parquet
//! reader the dataflow sources use. Every fallible call returns [`SourceError`].
//!
//! - [`ingest`]: `daedalus ingest`, dispatching to one parser per format under `formats/`
//!   (Binance raw WebSocket recordings, Tardis CSV).
//! - [`synthetic`]: the deterministic synthetic market (`daedalus gen`).
//! - [`bronze`]: partition discovery, pruning and columnar reading of bronze.
//! - [`cryptofeed`]: cryptofeed raw captures of six venues (Coinbase, Kraken, OKX, BitMEX, Bybit,
//!   Bequant) to bronze rows per market, with the venues' own checks (Kraken/OKX checksums,
//!   sequences, top of book against the venue's ticker); `daedalus ingest --format cryptofeed`
//!   through the ingest stage (`cryptofeed::ingest`).

pub mod bronze;
pub mod cryptofeed;
mod error;
mod formats;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod ingest;
pub mod synthetic;

pub use bronze::{
    BronzeFileReader, BronzePartition, Chunk, ChunkData, OrderClock, decode_batch, discover,
};
pub use error::{Result, SourceError};
pub use ingest::{IngestOptions, IngestReport, InputFormat, ingest, ingest_jobs, ingest_until};
pub use synthetic::{GenConfig, GenReport, generate};
