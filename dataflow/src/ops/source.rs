//! `bronze_source`: reads this worker's bronze partitions as columnar [`Chunk`]s.
//!
//! **Timestamps.** Timely time is event time in nanoseconds (`u64`), but coarse: one time per
//! chunk (thousands of rows), never one per record; the exact time of every row stays in the data
//! and is `>=` the time its chunk was sent at.
//!
//! **Capability.** The source holds one capability at the least ordering time it may still send:
//! the minimum over its unread row groups of their footer-statistics minimum (for partitions not
//! opened yet, the partition's date start). It downgrades after every row group, so the frontier
//! downstream is a true event-time watermark. Partitions are read k-way by that bound (always the
//! partition with the least remaining bound next), so all markets advance together and the
//! downstream stash stays small. Rows of one partition are read in stored order (files by name),
//! which is what the book's running-maximum event time (CONTRACT §9.3) needs.
//!
//! **Flow control.** timely 0.32 has no flow-controlled source; this one pauses while the probe
//! on the exchanged stream (the slowest worker's watermark) is more than `lead` behind its own
//! capability, so a fast worker cannot stash unboundedly ahead of a slow one. The probe watches
//! the market operator's *input*, which that operator drains completely below its frontier, so
//! the pause can never wait on an open bar (no self-deadlock).

use daedalus_model::time::Nanos;
use daedalus_sources::bronze::{
    BookTimeCarry, BronzeFileReader, BronzePartition, Chunk, ChunkData, OrderClock,
    date_lower_bound, decode_batch,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{ProbeHandle, Scope, Stream};

use crate::summary::WorkerSummary;

/// One partition assigned to this worker, with the ordinals of its files among all files of
/// the same market and dataset (for the row-position tie-break of CONTRACT §3).
#[derive(Debug, Clone)]
pub struct AssignedPartition {
    /// Interned market id.
    pub market: u32,
    /// The partition.
    pub partition: BronzePartition,
    /// Ordinal of each file (same order as `partition.files`).
    pub file_ords: Vec<u32>,
}

/// Source tuning.
#[derive(Debug, Clone, Copy)]
pub struct SourceOptions {
    /// Ordering clock.
    pub clock: OrderClock,
    /// Rows per decoded batch.
    pub batch_rows: usize,
    /// Maximum event-time lead over the slowest worker before pausing, in ns.
    pub lead: Nanos,
    /// Row groups read per activation before yielding.
    pub groups_per_activation: usize,
}

/// A decoded row group being sent chunk by chunk.
struct OpenGroup {
    /// Decoded chunks in stored order, with their position.
    chunks: VecDeque<(u64, ChunkData)>,
    /// Exact minimum ordering time of the remaining chunks (suffix minima, front first).
    suffix_min: VecDeque<Nanos>,
}

struct PartState {
    a: AssignedPartition,
    readers: Vec<BronzeFileReader>,
    /// (file index, row group, rows, min ts) in stored order.
    units: VecDeque<(usize, usize, usize, Nanos)>,
    opened: bool,
    carry: BookTimeCarry,
    /// Next row index in each file.
    next_row: Vec<u64>,
    open_group: Option<OpenGroup>,
}

impl PartState {
    /// Least ordering time this partition may still send: exact for the decoded row group
    /// (suffix minimum of its unsent chunks), footer statistics for unread row groups, the
    /// date's start before the footers are read.
    fn lower_bound(&self, clock: OrderClock) -> Option<Nanos> {
        if !self.opened {
            return Some(date_lower_bound(self.a.partition.date, clock));
        }
        let g = self
            .open_group
            .as_ref()
            .and_then(|g| g.suffix_min.front().copied());
        let u = self.units.iter().map(|u| u.3).min();
        match (g, u) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Builds the source operator; errors are recorded in `summary` and stop this source.
pub fn bronze_source<'s>(
    scope: Scope<'s, u64>,
    assigned: Vec<AssignedPartition>,
    opts: SourceOptions,
    probe: ProbeHandle<u64>,
    summary: Rc<RefCell<WorkerSummary>>,
    rows_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Stream<'s, u64, Vec<Chunk>> {
    source(scope, "BronzeSource", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let mut parts: Vec<PartState> = assigned
            .into_iter()
            .map(|a| {
                let n = a.partition.files.len();
                PartState {
                    a,
                    readers: Vec::new(),
                    units: VecDeque::new(),
                    opened: false,
                    carry: BookTimeCarry::default(),
                    next_row: vec![0; n],
                    open_group: None,
                }
            })
            .collect();
        // Start at the least bound, not at 0, so downstream frontiers mean event time at once.
        if let Some(c) = cap.as_mut() {
            let lb = parts.iter().filter_map(|p| p.lower_bound(opts.clock)).min();
            match lb {
                Some(lb) => c.downgrade(&(lb.max(0) as u64)),
                None => {
                    cap = None;
                }
            }
        }
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            // Flow control: wait while the slowest worker is more than `lead` behind us.
            let me = *c.time();
            let behind =
                probe.with_frontier(|f| f.iter().all(|t| t.saturating_add(opts.lead as u64) < me));
            if behind {
                activator.activate_after(Duration::from_millis(1));
                return;
            }
            let mut budget = opts.groups_per_activation;
            let _ = &summary;
            while budget > 0 {
                // The partition with the least remaining lower bound (ties: assignment order).
                let Some((pi, _)) = parts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| p.lower_bound(opts.clock).map(|lb| (i, lb)))
                    .min_by_key(|&(i, lb)| (lb, i))
                else {
                    break;
                };
                let p = &mut parts[pi];
                if !p.opened {
                    let lb = date_lower_bound(p.a.partition.date, opts.clock);
                    for (fi, path) in p.a.partition.files.iter().enumerate() {
                        match BronzeFileReader::open(path, p.a.partition.dataset, opts.clock, lb) {
                            Ok(r) => {
                                for (gi, &(rows, min)) in r.groups().iter().enumerate() {
                                    p.units.push_back((fi, gi, rows, min));
                                }
                                p.readers.push(r);
                            }
                            Err(e) => {
                                summary.borrow_mut().fail(e.to_string());
                                cap = None;
                                return;
                            }
                        }
                    }
                    summary.borrow_mut().files_opened += p.readers.len() as u64;
                    p.opened = true;
                    continue;
                }
                // Send the next chunk of the decoded row group, one chunk per step, so the
                // capability can follow the exact suffix minimum between chunks.
                if let Some(g) = p.open_group.as_mut() {
                    if let Some((pos0, data)) = g.chunks.pop_front() {
                        g.suffix_min.pop_front();
                        budget -= 1;
                        let min = data.ts().iter().copied().min().unwrap_or(0);
                        let send_at = (min.max(0) as u64).max(*c.time());
                        let at = c.delayed(&send_at);
                        output.session(&at).give(Chunk {
                            market: p.a.market,
                            pos0,
                            data,
                        });
                        if g.chunks.is_empty() {
                            p.open_group = None;
                        }
                        // Downgrade now: later chunks of other partitions may go at later times.
                        if let Some(lb) =
                            parts.iter().filter_map(|p| p.lower_bound(opts.clock)).min()
                        {
                            let t = (lb.max(0) as u64).max(*c.time());
                            c.downgrade(&t);
                        }
                        continue;
                    }
                    p.open_group = None;
                }
                let Some((fi, gi, _rows, _min)) = p.units.pop_front() else {
                    continue;
                };
                let reader = &p.readers[fi];
                let batches = match reader.read_group(gi, opts.batch_rows) {
                    Ok(b) => b,
                    Err(e) => {
                        summary.borrow_mut().fail(e.to_string());
                        cap = None;
                        return;
                    }
                };
                let mut chunks = VecDeque::with_capacity(batches.len());
                for b in batches {
                    let first = p.next_row[fi];
                    p.next_row[fi] += b.num_rows() as u64;
                    match decode_batch(
                        p.a.partition.dataset,
                        &b,
                        reader.path(),
                        first,
                        opts.clock,
                        &mut p.carry,
                    ) {
                        Ok(data) => {
                            summary.borrow_mut().rows_in[p.a.partition.dataset as usize] +=
                                data.len() as u64;
                            rows_read
                                .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                            if !data.is_empty() {
                                chunks.push_back((
                                    (u64::from(p.a.file_ords[fi]) << 32) | first,
                                    data,
                                ));
                            }
                        }
                        Err(e) => {
                            summary.borrow_mut().fail(e.to_string());
                            cap = None;
                            return;
                        }
                    }
                }
                let mut suffix_min: VecDeque<Nanos> = VecDeque::with_capacity(chunks.len());
                let mut m = Nanos::MAX;
                for (_, d) in chunks.iter().rev() {
                    m = m.min(d.ts().iter().copied().min().unwrap_or(Nanos::MAX));
                    suffix_min.push_front(m);
                }
                if !chunks.is_empty() {
                    p.open_group = Some(OpenGroup { chunks, suffix_min });
                }
            }
            // Downgrade to the least bound still unread, or finish.
            match parts.iter().filter_map(|p| p.lower_bound(opts.clock)).min() {
                Some(lb) => {
                    let t = (lb.max(0) as u64).max(*c.time());
                    c.downgrade(&t);
                    activator.activate();
                }
                None => {
                    cap = None;
                }
            }
        }
    })
}
