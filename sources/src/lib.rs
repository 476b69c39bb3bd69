//! # daedalus-sources
//!
//! Input only: venue recording parsers (to bronze), the synthetic market, and the bronze Parquet
//! reader the dataflow sources use. Every fallible call returns [`SourceError`].
//!
//! - [`ingest`]: `daedalus ingest`, dispatching to one parser per format under `formats/`
//!   (Binance raw WebSocket recordings, Tardis CSV).
//! - [`synthetic`]: the deterministic synthetic market (`daedalus gen`).
//! - [`bronze`]: partition discovery, pruning and columnar reading of bronze.

pub mod bronze;
mod error;
mod formats;
pub mod ingest;
pub mod synthetic;

pub use bronze::{
    BronzeFileReader, BronzePartition, Chunk, ChunkData, OrderClock, decode_batch, discover,
};
pub use error::{Result, SourceError};
pub use ingest::{IngestOptions, IngestReport, InputFormat, ingest};
pub use synthetic::{GenConfig, GenReport, generate};
