//! One file per command: its arguments and what it does.

pub(crate) mod bench;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod r#gen;
pub(crate) mod ingest;
pub(crate) mod ingest_watch;
pub(crate) mod inspect;
pub(crate) mod report;
pub(crate) mod run;
