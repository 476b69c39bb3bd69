//! The timely operators of the graph, one per file: [`source`] reads bronze, [`market`] keeps
//! per-market state and computes features, [`sink`] writes and commits partitions.

pub(crate) mod market;
pub(crate) mod sink;
pub(crate) mod source;
