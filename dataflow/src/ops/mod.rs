//! The timely operators of the graph, one per file: [`source`] reads bronze, [`market`] keeps
//! per-market state and computes features, [`sink`] writes and commits partitions; [`cross`] is
//! the differential part (`silver/cross`), written and committed per group by [`cross_sink`].

pub(crate) mod cross;
pub(crate) mod cross_sink;
pub(crate) mod market;
pub(crate) mod sink;
pub(crate) mod source;
