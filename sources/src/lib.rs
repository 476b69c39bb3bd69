//! # daedalus-sources
//!
//! Input only: venue recording parsers (to bronze), the synthetic market, and the bronze Parquet
//! reader the dataflow sources use.

pub mod bronze;
