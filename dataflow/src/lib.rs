//! # daedalus-dataflow
//!
//! The engine: a [`RunConfig`] is planned ([`plan`], [`plan_with`]: bronze partitions pruned by
//! path, markets interned, parameters resolved) and executed on a timely cluster ([`execute`]
//! with a [`ClusterConfig`]) as one dataflow — bronze source, per-market features, partition
//! sink — with per-market checkpoints, watch mode and crash recovery. The `daedalus` binary
//! (`cli/`) builds the plan for `run`, `demo` and `bench`; its other commands (`ingest`, `gen`,
//! `inspect`, `report`) do not touch the engine.
//!
//! The engine reports progress through a [`RunObserver`] (no metrics or display dependency) and
//! fails with an [`EngineError`]; errors inside the dataflow are collected in the returned
//! [`WorkerSummary`].

mod cluster;
pub mod config;
pub mod cost;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod graph;
mod merge;
mod observer;
mod ops;
mod plan;
pub mod restate;
mod routing;
mod state;
mod summary;

pub use cluster::ClusterConfig;
pub use config::{Clock, ConfigError, DurationError, FilterSpec, Output, RunConfig};
pub use error::{EngineError, RunError, chain};
pub use graph::execute;
pub use observer::{NoObserver, RunObserver};
pub use plan::{
    AssignedPartition, DECODE_BATCH_ROWS, ExecOptions, LatePolicy, ParamTemplate, RunPlan,
    ShadowRun, WatchOptions, adv_schedule, plan, plan_with,
};
pub use state::{ADV_BUCKETS_PER_DAY, ADV_DAYS};
pub use summary::WorkerSummary;
