//! `partition_sink`: writes silver and gold batches to their Hive partitions.
//!
//! **Input.** [`OutBatch`]es over a `Pipeline` pact: a market lives on one worker, so each
//! output partition is written by exactly one worker, whatever the worker count.
//!
//! **When output is written.** Batches are appended to the partition's staged file as they come
//! (one row group at a time, so memory stays bounded; a partition rolls to a new part file every
//! `max_rows_per_file` rows). A date partition is committed — renamed into place, directory
//! fsynced, older part files of that partition removed so a rerun replaces rather than
//! duplicates — once the input frontier passes the end of its UTC day (rows are emitted at a
//! capability no later than their time, so no row of that day can still come), or when the input
//! ends. If the worker recorded an error, nothing more is committed and staged files are removed.

use crate::summary::WorkerSummary;
use daedalus_model::partition::Partition;
use daedalus_model::time::NANOS_PER_DAY;
use daedalus_sinks::atomic::{AtomicParquetFile, StagedFile, WriteOptions};
use daedalus_sinks::silver::OutBatch;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;

struct OpenPartition {
    current: Option<AtomicParquetFile>,
    staged_done: Vec<StagedFile>,
    part_no: u32,
    rows: u64,
}

/// Sink options.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Output root.
    pub root: PathBuf,
    /// Parquet encoding and metadata.
    pub write: WriteOptions,
    /// Rows per part file before rolling to the next.
    pub max_rows_per_file: u64,
}

fn part_name(n: u32) -> String {
    format!("part-{n:05}.parquet")
}

/// Builds the sink.
pub fn partition_sink(
    stream: Stream<'_, u64, Vec<OutBatch>>,
    opts: SinkOptions,
    summary: Rc<RefCell<WorkerSummary>>,
) {
    let mut open: BTreeMap<Partition, OpenPartition> = BTreeMap::new();
    stream.sink(Pipeline, "PartitionSink", move |(input, frontier)| {
        let failed = !summary.borrow().errors.is_empty();
        input.for_each(|_time, data| {
            if failed {
                data.clear();
                return;
            }
            for ob in data.drain(..) {
                let res = (|| -> Result<(), String> {
                    let e = open.entry(ob.partition.clone()).or_insert(OpenPartition {
                        current: None,
                        staged_done: Vec::new(),
                        part_no: 0,
                        rows: 0,
                    });
                    if e.current
                        .as_ref()
                        .is_some_and(|f| f.rows() >= opts.max_rows_per_file)
                    {
                        // Close the full part now (footer written, memory released); it becomes
                        // visible with the rest of the partition at commit.
                        let done = e
                            .current
                            .take()
                            .expect("checked")
                            .finish()
                            .map_err(|e| e.to_string())?;
                        e.staged_done.push(done);
                        e.part_no += 1;
                    }
                    if e.current.is_none() {
                        let f = AtomicParquetFile::create(
                            &ob.partition.dir(&opts.root),
                            &part_name(e.part_no),
                            ob.batch.schema(),
                            &opts.write,
                        )
                        .map_err(|e| e.to_string())?;
                        e.current = Some(f);
                    }
                    e.current
                        .as_mut()
                        .expect("just set")
                        .write(&ob.batch)
                        .map_err(|e| e.to_string())?;
                    e.rows += ob.batch.num_rows() as u64;
                    Ok(())
                })();
                if let Err(e) = res {
                    summary.borrow_mut().fail(e);
                }
            }
        });
        if !summary.borrow().errors.is_empty() {
            open.clear(); // drops staged files
            return;
        }
        let f = frontier.frontier().first().copied();
        let closable: Vec<Partition> = open
            .keys()
            .filter(|p| {
                let end = (p.date.start_nanos() + NANOS_PER_DAY).max(0) as u64;
                f.is_none_or(|f| f >= end)
            })
            .cloned()
            .collect();
        for p in closable {
            let op = open.remove(&p).expect("listed");
            if let Err(e) = commit_partition(&p, op, &opts, &summary) {
                summary.borrow_mut().fail(e);
            }
        }
    });
}

fn commit_partition(
    p: &Partition,
    mut op: OpenPartition,
    opts: &SinkOptions,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), String> {
    let mut files = std::mem::take(&mut op.staged_done);
    if let Some(cur) = op.current.take() {
        files.push(cur.finish().map_err(|e| e.to_string())?);
    }
    let mut keep = BTreeSet::new();
    for f in files {
        let path = f.commit().map_err(|e| e.to_string())?;
        keep.insert(path);
    }
    // Replace, never duplicate: older part files of this partition from a previous run go.
    let dir = p.dir(&opts.root);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let path = e.path();
            let is_parquet = path.extension().is_some_and(|x| x == "parquet");
            if is_parquet && !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    let mut s = summary.borrow_mut();
    s.files_written += keep.len() as u64;
    let key = match &p.spec {
        Some((k, v)) => format!("{}/{}/{k}={v}", p.layer, p.dataset),
        None => format!("{}/{}", p.layer, p.dataset),
    };
    *s.rows_out.entry(key).or_default() += op.rows;
    Ok(())
}
