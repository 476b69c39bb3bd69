//! `cross_sink`: writes `silver/cross` rows to their partitions and commits each group exactly
//! once (CONTRACT §11.2, §11.7).
//!
//! **Input.** [`CrossMsg`]s exchanged by the group's base (a stable hash), so one worker writes
//! every partition of a group: the rows of [`crate::ops::cross`] (each at its bucket's time,
//! the stamp of its `ts_close`) and the group's tagged interval points (kept as the window state to commit).
//!
//! **When output is written.** A row is final once the input frontier passes its stamp; as the
//! frontier moves, the rows with `ts_close` before one bound for every grid
//! ([`CrossPlan::final_before`]) are final, and those are written in the order `(grid, ts_open, exchange, symbol)` of §11.2 into staged
//! part files. Rows a restored record already committed (`ts_close` before its
//! `processed_until`) are dropped: outputs before a checkpoint are never written again.
//!
//! **Commits.** When the frontier passes an aligned boundary `b` of the checkpoint period (the
//! one the market checkpoints use), the rows before `b` are written and every group that
//! changed commits: parts finished and fsynced, the group record
//! ([`daedalus_sinks::cross_state`]) written atomically with `processed_until = b` and the
//! window's points, then parts renamed into place. At the end of input every row is written and
//! committed (`processed_until` after the last point); when the run is stopped, only the rows
//! final at the last frontier are (`processed_until` is that bound), and the record keeps every point received so the rows after it
//! are derived again on resume.
//!
//! **Timestamps and capabilities.** The sink holds no capability and emits nothing.

use crate::error::RunError;
use crate::ops::cross::{CrossOut, CrossPlan, GroupId, Tagged};
use crate::state::RunState;
use crate::summary::WorkerSummary;
use daedalus_model::cross::CrossPoint;
use daedalus_model::datasets::{Encoder, SilverCrossEncoder, silver_cross};
use daedalus_model::market::{Market, validate_partition_value};
use daedalus_model::time::{Date, Nanos};
use daedalus_sinks::SinkError;
use daedalus_sinks::atomic::{AtomicParquetFile, StagedFile, WriteOptions};
use daedalus_sinks::cross_state::{CROSS_FORMAT_VERSION, GroupCheckpoint, store_group};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;

/// What the cross sink receives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum CrossMsg {
    /// A `silver/cross` row.
    Row(CrossOut),
    /// A point of the group's window state.
    Point(Tagged),
}

impl CrossMsg {
    fn group(&self) -> GroupId {
        match self {
            CrossMsg::Row(r) => r.group,
            CrossMsg::Point(p) => p.0,
        }
    }
}

/// The cross sink's settings.
pub(crate) struct CrossSinkOptions {
    /// The groups, windows and specs.
    pub plan: Arc<CrossPlan>,
    /// Run state (root, state dir, market names, stop flag).
    pub state: Arc<RunState>,
    /// Records restored at start, by base.
    pub restored: Arc<BTreeMap<String, GroupCheckpoint>>,
    /// Checkpoint period (0: only at the end).
    pub every: Nanos,
    /// Parquet options (metadata).
    pub write: WriteOptions,
}

/// A row waiting for the frontier, in a grid's pending map: key `(ts_open, (exchange,
/// symbol))`, the names shared (one allocation per market, not per row).
type RowKey = (Nanos, Arc<(String, String)>);

struct OpenPart {
    file: AtomicParquetFile,
    rel: String,
}

/// One group's sink state.
struct Group {
    base: String,
    reference: Market,
    record: GroupCheckpoint,
    /// Window points by (grid, market): (is the reference, point), ascending `ts_close`.
    points: BTreeMap<(u8, u64), Vec<(bool, CrossPoint)>>,
    /// Pending rows per grid, in row order.
    rows: Vec<BTreeMap<RowKey, CrossOut>>,
    /// Market names by key.
    names: HashMap<u64, Arc<(String, String)>>,
    open: BTreeMap<(u8, Date), OpenPart>,
    staged: Vec<(StagedFile, String, u64)>,
    enc: SilverCrossEncoder,
    dirty: bool,
}

impl Group {
    fn new(id: GroupId, opts: &CrossSinkOptions) -> Self {
        let (base, reference) = &opts.plan.groups[id as usize];
        let record = opts
            .restored
            .get(base)
            .cloned()
            .unwrap_or_else(|| GroupCheckpoint {
                format_version: CROSS_FORMAT_VERSION,
                config_fingerprint: opts.state.fingerprint.clone(),
                base: base.to_string(),
                processed_until: Nanos::MIN,
                outputs: Vec::new(),
                points: Vec::new(),
            });
        Group {
            base: base.to_string(),
            reference: reference.clone(),
            record,
            points: BTreeMap::new(),
            rows: vec![BTreeMap::new(); opts.plan.widths.len()],
            names: HashMap::new(),
            open: BTreeMap::new(),
            staged: Vec::new(),
            enc: SilverCrossEncoder::new(),
            dirty: false,
        }
    }

    fn receive(&mut self, msg: CrossMsg, state: &RunState) {
        match msg {
            CrossMsg::Point((_, g, m, r, p)) => {
                let v = self.points.entry((g, m)).or_default();
                if v.last().is_none_or(|(_, q)| q.ts_close < p.ts_close) {
                    v.push((r, p));
                }
            }
            CrossMsg::Row(row) => {
                if row.stats.ts_close < self.record.processed_until {
                    return;
                }
                let name = match self.names.entry(row.market) {
                    std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let Ok(m) = state.market(row.market) else {
                            return;
                        };
                        v.insert(Arc::new((m.exchange, m.symbol))).clone()
                    }
                };
                let Some(pending) = self.rows.get_mut(row.grid as usize) else {
                    return;
                };
                pending.insert((row.stats.ts_open, name), row);
                self.dirty = true;
            }
        }
    }

    /// Writes every pending row with `ts_close < upto` (all with `None`), in row order.
    fn write_until(
        &mut self,
        upto: Option<Nanos>,
        opts: &CrossSinkOptions,
    ) -> Result<u64, SinkError> {
        let mut current: Option<(u8, Date)> = None;
        let mut n = 0;
        for g in 0..self.rows.len() {
            // A grid's rows are in `ts_open` order, so in `ts_close` order: the final ones
            // are a prefix.
            while let Some(e) = self.rows[g].first_entry() {
                if upto.is_some_and(|u| e.get().stats.ts_close >= u) {
                    break;
                }
                let ((_, name), row) = e.remove_entry();
                let part = (row.grid, Date::of_nanos(row.stats.ts_open));
                if current.is_some_and(|c| c != part) {
                    self.flush_batch(current.expect("set"), opts)?;
                }
                current = Some(part);
                let r = &self.reference;
                self.enc
                    .append([&name.0, &name.1, &r.exchange, &r.symbol], &row.stats);
                n += 1;
            }
        }
        if let Some(c) = current {
            self.flush_batch(c, opts)?;
        }
        Ok(n)
    }

    /// Appends the encoder's rows to the partition's open part (created on first use).
    fn flush_batch(&mut self, part: (u8, Date), opts: &CrossSinkOptions) -> Result<(), SinkError> {
        if self.enc.rows() == 0 {
            return Ok(());
        }
        let batch = self.enc.finish();
        if !self.open.contains_key(&part) {
            let spec = &opts.plan.specs[part.0 as usize];
            let dir_rel = format!(
                "silver/cross/interval={spec}/base={}/date={}",
                self.base, part.1
            );
            let name = format!("part-{:05}.parquet", self.next_part(&dir_rel));
            let file = AtomicParquetFile::create(
                &opts.state.out_root.join(&dir_rel),
                &name,
                silver_cross::schema(),
                &opts.write,
            )?;
            let rel = format!("{dir_rel}/{name}");
            self.open.insert(part, OpenPart { file, rel });
        }
        self.open
            .get_mut(&part)
            .expect("just set")
            .file
            .write(&batch)
    }

    /// The next part number of a partition directory: after every part committed or staged.
    fn next_part(&self, dir_rel: &str) -> u32 {
        let listed = (self.record.outputs.iter())
            .chain(self.staged.iter().map(|(_, r, _)| r))
            .filter_map(|p| {
                let (d, name) = p.rsplit_once('/')?;
                (d == dir_rel).then_some(name)
            })
            .filter_map(|n| {
                n.strip_prefix("part-")?
                    .strip_suffix(".parquet")?
                    .parse()
                    .ok()
            })
            .max();
        listed.map_or(0, |n: u32| n + 1)
    }

    /// Commits the group at `until`: parts finished, the record written (the commit point),
    /// parts renamed into place.
    fn commit(
        &mut self,
        until: Nanos,
        opts: &CrossSinkOptions,
        summary: &Rc<RefCell<WorkerSummary>>,
    ) -> Result<(), SinkError> {
        for (_, p) in std::mem::take(&mut self.open) {
            let rows = p.file.rows();
            self.staged.push((p.file.finish()?, p.rel, rows));
        }
        self.prune(until, &opts.plan);
        let mut rec = self.record.clone();
        rec.processed_until = until.max(rec.processed_until);
        rec.config_fingerprint = opts.state.fingerprint.clone();
        rec.outputs
            .extend(self.staged.iter().map(|(_, r, _)| r.clone()));
        rec.points = (self.points.iter())
            .flat_map(|(&(g, m), v)| v.iter().map(move |&(r, p)| (g, m, r, p)))
            .collect();
        store_group(&opts.state.state_dir, &rec)?;
        self.record = rec;
        self.dirty = false;
        for (f, _, rows) in std::mem::take(&mut self.staged) {
            f.publish()?;
            opts.state
                .observer
                .rows_out("silver/cross", &self.reference, rows);
            let mut s = summary.borrow_mut();
            s.files_written += 1;
            *s.rows_out.entry("silver/cross".into()).or_default() += rows;
        }
        Ok(())
    }

    /// Drops points no row from `until` on needs (older than the `W + 1` intervals before it).
    fn prune(&mut self, until: Nanos, plan: &CrossPlan) {
        for ((g, _), v) in self.points.iter_mut() {
            let keep_from =
                until.saturating_sub((plan.window as i64 + 1) * plan.widths[*g as usize]);
            v.retain(|(_, p)| p.ts_close > keep_from);
        }
    }

    /// The time after the group's last point (the end-of-input commit bound).
    fn end_bound(&self) -> Nanos {
        (self.points.values())
            .filter_map(|v| v.last().map(|(_, p)| p.ts_close + 1))
            .max()
            .unwrap_or(self.record.processed_until)
    }
}

/// Builds the sink.
pub(crate) fn cross_sink(
    stream: Stream<'_, u64, Vec<CrossMsg>>,
    opts: CrossSinkOptions,
    summary: Rc<RefCell<WorkerSummary>>,
) {
    let mut groups: BTreeMap<GroupId, Group> = BTreeMap::new();
    let mut last_frontier: Option<Nanos> = None;
    let mut last_boundary = Nanos::MIN;
    let mut done = false;
    let plan = opts.plan.clone();
    let route = Exchange::new(move |m: &CrossMsg| {
        daedalus_model::market::market_hash("cross", plan.base(m.group()))
    });
    stream.sink(route, "CrossSink", move |(input, frontier)| {
        input.for_each(|_t, data| {
            for msg in data.drain(..) {
                let id = msg.group();
                let g = (groups.entry(id)).or_insert_with(|| Group::new(id, &opts));
                g.receive(msg, &opts.state);
            }
        });
        if done || !summary.borrow().errors.is_empty() {
            return;
        }
        let f = frontier
            .frontier()
            .first()
            .map(|&t| t.min(i64::MAX as u64) as Nanos);
        let r = match f {
            Some(f) => advance(&mut groups, f, &mut last_boundary, &opts, &summary)
                .map(|()| last_frontier = Some(f)),
            None => {
                done = true;
                finish(&mut groups, last_frontier, &opts, &summary)
            }
        };
        if let Err(e) = r {
            summary.borrow_mut().fail(e);
        }
    });
}

/// The frontier moved to `f`: commits at a passed checkpoint boundary, writes final rows.
fn advance(
    groups: &mut BTreeMap<GroupId, Group>,
    f: Nanos,
    last_boundary: &mut Nanos,
    opts: &CrossSinkOptions,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), RunError> {
    let err = |g: &Group| RunError::sink(format!("writing silver/cross of group {}", g.base));
    if opts.every > 0 {
        let b = f.div_euclid(opts.every) * opts.every;
        if b > *last_boundary {
            *last_boundary = b;
            for g in groups.values_mut() {
                g.write_until(Some(b), opts).map_err(err(g))?;
                if g.dirty || !g.open.is_empty() {
                    g.commit(b, opts, summary).map_err(err(g))?;
                }
            }
        }
    }
    let last = opts.plan.final_before(f);
    for g in groups.values_mut() {
        g.write_until(Some(last), opts).map_err(err(g))?;
    }
    Ok(())
}

/// The end of input: everything is written and committed; when stopped, only what the last
/// frontier made final.
fn finish(
    groups: &mut BTreeMap<GroupId, Group>,
    last_frontier: Option<Nanos>,
    opts: &CrossSinkOptions,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), RunError> {
    let stopping = opts.state.halting();
    for g in groups.values_mut() {
        let err = RunError::sink(format!("committing silver/cross of group {}", g.base));
        let until = if stopping {
            let Some(f) = last_frontier else { continue };
            let last = opts.plan.final_before(f);
            for pending in &mut g.rows {
                pending.retain(|_, r| r.stats.ts_close < last);
            }
            last
        } else {
            g.end_bound()
        };
        let r = g
            .write_until(None, opts)
            .and_then(|_| g.commit(until, opts, summary));
        r.map_err(err)?;
    }
    Ok(())
}

/// The restored records' windows, and the greatest `ts_close` they hold per (base, grid,
/// market): live points up to it are already in the record.
pub(crate) fn restored_floors(
    plan: &CrossPlan,
    restored: &BTreeMap<String, GroupCheckpoint>,
) -> HashMap<(GroupId, u8, u64), Nanos> {
    let mut floors = HashMap::new();
    for (base, rec) in restored {
        let Some(id) = plan.group_id(base) else {
            continue;
        };
        for &(g, m, _, p) in &rec.points {
            let e = floors.entry((id, g, m)).or_insert(Nanos::MIN);
            *e = (*e).max(p.ts_close);
        }
        // A market the record holds no point of: nothing below processed_until is needed.
        let _ = rec.processed_until;
    }
    floors
}

/// Checks a base can name a partition (`base=<BASE>`).
pub(crate) fn valid_base(base: &str) -> Result<(), daedalus_model::market::ModelError> {
    validate_partition_value("base", base)
}
