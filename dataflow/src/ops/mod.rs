//! The timely operators of the graph, one per file.

pub mod market;
pub mod sink;
pub mod source;
