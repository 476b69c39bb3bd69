//! # daedalus-dataflow
//!
//! The timely graph, the executor and the `daedalus` command-line tool. Every command is a thin
//! wrapper over one graph builder ([`graph::plan`] + [`graph::execute`]) so batch, demo and
//! benchmark runs cannot drift apart.

pub mod bench;
pub mod cli;
pub mod config;
pub mod graph;
pub mod inspect;
pub mod inspect_cmd;
pub mod inspect_state;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod progress;
pub mod report;
pub mod routing;
pub mod state;
pub mod summary;
