//! `partition_sink`: writes silver and gold batches to their Hive partitions and commits them
//! exactly once, per market, at the checkpoints the market operator asks for.
//!
//! **Input.** [`SinkMsg`]s over a `Pipeline` pact from the market operator of this worker: a
//! market lives on one worker, so each output partition is written by exactly one worker. The
//! channel is FIFO, so a checkpoint message follows every batch it covers.
//!
//! **When output becomes visible.** Batches are appended to staged part files (dot-names no reader
//! lists; one row group at a time, so memory stays bounded; a part rolls over at
//! `max_rows_per_file` rows). At a [`SinkMsg::Checkpoint`] for a market, its open parts are
//! finished and fsynced, the market's checkpoint (manifest of committed files + operator state)
//! is written atomically — the commit point — and only then are the staged parts renamed into
//! place. A crash between the two is rolled forward at the next start (see
//! `daedalus_sinks::manifest::recover_market`); staged parts without a checkpoint are rolled back.
//! Part numbers continue across checkpoints, so reading a partition's parts in name order gives
//! the rows in the order an uninterrupted run writes them.
//!
//! **Timestamps and capabilities.** The sink holds no capability and emits nothing downstream:
//! it acts on each message as it arrives, whatever its timestamp (the market operator's held
//! capability), so the checkpoint message's order, not the frontier, decides what is committed.
//!
//! **Errors.** The first error (writing, flushing, fsyncing, renaming; see `docs/OPERATIONS.md`)
//! stops the sink at once: the rest of that activation's messages, a checkpoint among them, are
//! dropped, and nothing is committed after the worker records an error. Staged files no
//! checkpoint lists are then removed; those a committed checkpoint lists stay for the next run's
//! recovery to roll forward.

use crate::error::RunError;
use crate::summary::WorkerSummary;
use daedalus_model::market::{Market, market_hash};
use daedalus_model::partition::Partition;
use daedalus_model::time::Nanos;
use daedalus_sinks::SinkError;
use daedalus_sinks::atomic::{AtomicParquetFile, StagedFile, WriteOptions};
use daedalus_sinks::fault::{self, Step};
use daedalus_sinks::history;
use daedalus_sinks::manifest::{
    self, CheckpointHeader, FORMAT_VERSION, InputFile, OutputFile, now_unix_ms,
};
use daedalus_sinks::silver::OutBatch;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;

/// A checkpoint request for one market.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointMsg {
    /// Market key.
    pub market: u64,
    /// Every row before this ordering time has been applied, no later one.
    pub processed_until: Nanos,
    /// Serialized market state.
    pub state: Vec<u8>,
    /// Bronze files read since the last checkpoint.
    pub new_inputs: Vec<InputFile>,
    /// Quality counters of the market (cumulative).
    pub quality: BTreeMap<String, u64>,
    /// The end-of-input flush ran: parts written since the last [`SinkMsg::Seal`] are provisional.
    pub finished: bool,
    /// Remove the provisional outputs of the previous final checkpoint (new input arrived).
    pub drop_provisional: bool,
}

/// What the market operator sends the sink.
#[derive(Debug, Clone)]
pub(crate) enum SinkMsg {
    /// Rows for a partition.
    Batch(OutBatch),
    /// First message of a market in this run: its committed manifest (None: fresh).
    Open {
        /// The market.
        market: Market,
        /// Its checkpoint header, if resumed.
        header: Option<Box<CheckpointHeader>>,
    },
    /// Finish the market's open parts as regular (non-provisional) staged files.
    Seal {
        /// Market key.
        market: u64,
    },
    /// Commit a checkpoint.
    Checkpoint(Box<CheckpointMsg>),
    /// Interval points of a market of a `silver/cross` group: split off to the cross dataflow
    /// before this sink (ignored here).
    Points(Box<PointsMsg>),
}

/// The interval points of one market, by grid index, in emission order.
#[derive(Debug, Clone)]
pub(crate) struct PointsMsg {
    /// Market key.
    pub market: u64,
    /// (grid index, point).
    pub points: Vec<(u8, daedalus_model::cross::CrossPoint)>,
}

struct OpenPart {
    file: AtomicParquetFile,
    rel: String,
    rows: u64,
}

struct MarketOut {
    market: Market,
    /// Committed manifest (the last checkpoint written), or a fresh one.
    header: CheckpointHeader,
    /// Open part per partition.
    open: BTreeMap<Partition, OpenPart>,
    /// Next part number per partition directory (relative).
    next_part: HashMap<String, u32>,
    /// Finished, not yet committed: (staged file, manifest entry).
    staged: Vec<(StagedFile, OutputFile)>,
    /// Parts finished before the next seal because their stream moved on to a later date
    /// ([`MarketOut::finish_passed`]), with their partition: the seal lists them where it lists
    /// the open parts.
    passed: Vec<(Partition, StagedFile, OutputFile)>,
}

/// Sink options.
#[derive(Clone)]
pub(crate) struct SinkOptions {
    /// Output root.
    pub root: PathBuf,
    /// State directory (checkpoints).
    pub state_dir: PathBuf,
    /// Fingerprint written into checkpoints.
    pub fingerprint: String,
    /// The root's identity, written into checkpoints (adopts those of older releases).
    pub root_id: String,
    /// Receives rows out, quality counters and checkpoint commits.
    pub observer: std::sync::Arc<dyn crate::observer::RunObserver>,
    /// Parquet encoding and metadata.
    pub write: WriteOptions,
    /// Rows per part file before rolling to the next.
    pub max_rows_per_file: u64,
    /// Event time (ns) of checkpoint history kept per market.
    pub keep_checkpoints: i64,
}

fn part_name(n: u32) -> String {
    format!("part-{n:05}.parquet")
}

fn part_number(path: &str) -> Option<u32> {
    let name = path.rsplit('/').next()?;
    name.strip_prefix("part-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

fn rel_string(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

impl MarketOut {
    fn new(market: Market, header: Option<CheckpointHeader>, opts: &SinkOptions) -> Self {
        let header = header.unwrap_or_else(|| CheckpointHeader {
            format_version: FORMAT_VERSION,
            contract_version: daedalus_model::CONTRACT_VERSION.to_string(),
            producer: daedalus_model::PRODUCER.to_string(),
            config_fingerprint: opts.fingerprint.clone(),
            parameters: String::new(),
            exchange: market.exchange.clone(),
            symbol: market.symbol.clone(),
            root_id: Some(opts.root_id.clone()),
            processed_until: Nanos::MIN,
            seq: 0,
            written_unix_ms: 0,
            finished: false,
            inputs: Vec::new(),
            outputs: Vec::new(),
            quality: BTreeMap::new(),
            state_bytes: 0,
        });
        let mut next_part: HashMap<String, u32> = HashMap::new();
        for o in &header.outputs {
            if let (Some((dir, _)), Some(n)) = (o.path.rsplit_once('/'), part_number(&o.path)) {
                let e = next_part.entry(dir.to_string()).or_insert(0);
                *e = (*e).max(n + 1);
            }
        }
        MarketOut {
            market,
            header,
            open: BTreeMap::new(),
            next_part,
            staged: Vec::new(),
            passed: Vec::new(),
        }
    }

    /// Finishes the open parts of `p`'s stream (same dataset and spec) at earlier dates. Each
    /// stream's rows arrive in time order, so those partitions get no more rows before the next
    /// seal: finishing them now, not at the seal, writes the same bytes, and keeps one day's rows
    /// pending per stream instead of one per day (a long gap opens a partition a day; issue 16).
    fn finish_passed(&mut self, p: &Partition) -> Result<(), SinkError> {
        let passed: Vec<Partition> = (self.open.keys())
            .filter(|k| {
                k.date < p.date && k.layer == p.layer && k.dataset == p.dataset && k.spec == p.spec
            })
            .cloned()
            .collect();
        for k in passed {
            let part = self.open.remove(&k).expect("listed");
            let staged = part.file.finish()?;
            let out = OutputFile {
                path: part.rel,
                rows: part.rows,
                provisional: false,
            };
            self.passed.push((k, staged, out));
        }
        Ok(())
    }

    fn write(&mut self, ob: &OutBatch, opts: &SinkOptions) -> Result<(), SinkError> {
        // A run of repeated grid rows is encoded only now, one batch at a time.
        let batch = ob.record_batch();
        if self
            .open
            .get(&ob.partition)
            .is_some_and(|p| p.rows >= opts.max_rows_per_file)
        {
            let p = self.open.remove(&ob.partition).expect("checked");
            self.finish_part(p, false)?;
        }
        if !self.open.contains_key(&ob.partition) {
            self.finish_passed(&ob.partition)?;
            let dir_rel = rel_string(&ob.partition.rel_dir());
            let n = self.next_part.entry(dir_rel.clone()).or_insert(0);
            let name = part_name(*n);
            *n += 1;
            let file = AtomicParquetFile::create(
                &ob.partition.dir(&opts.root),
                &name,
                batch.schema(),
                &opts.write,
            )?;
            self.open.insert(
                ob.partition.clone(),
                OpenPart {
                    file,
                    rel: format!("{dir_rel}/{name}"),
                    rows: 0,
                },
            );
        }
        let p = self.open.get_mut(&ob.partition).expect("just set");
        p.file.write(&batch)?;
        p.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish_part(&mut self, p: OpenPart, provisional: bool) -> Result<(), SinkError> {
        let staged = p.file.finish()?;
        self.staged.push((
            staged,
            OutputFile {
                path: p.rel,
                rows: p.rows,
                provisional,
            },
        ));
        Ok(())
    }

    /// Finishes every open part; parts finished early ([`MarketOut::finish_passed`]) are listed
    /// among them in partition order, as if they had stayed open until now.
    fn seal(&mut self, provisional: bool) -> Result<(), SinkError> {
        let mut parts: Vec<(Partition, Result<OpenPart, (StagedFile, OutputFile)>)> =
            (std::mem::take(&mut self.passed).into_iter())
                .map(|(k, f, o)| (k, Err((f, o))))
                .chain(
                    std::mem::take(&mut self.open)
                        .into_iter()
                        .map(|(k, p)| (k, Ok(p))),
                )
                .collect();
        // Stable: a part finished early comes before a later part of the same partition.
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, part) in parts {
            match part {
                Ok(p) => self.finish_part(p, provisional)?,
                Err((f, mut o)) => {
                    o.provisional = provisional;
                    self.staged.push((f, o));
                }
            }
        }
        Ok(())
    }

    /// Commits a checkpoint: seals the open parts (write, flush, fsync), writes the checkpoint
    /// (the commit point), then renames the staged parts into place and removes dropped
    /// provisional files. An error before the commit point leaves the previous checkpoint and
    /// outputs as they were (the staged parts are removed when the sink drops them); after it,
    /// the staged parts stay for the next run's recovery to roll forward.
    fn checkpoint(
        &mut self,
        mut ck: CheckpointMsg,
        opts: &SinkOptions,
        summary: &Rc<RefCell<WorkerSummary>>,
    ) -> Result<(), SinkError> {
        let t0 = std::time::Instant::now();
        self.seal(ck.finished)?;
        let state = std::mem::take(&mut ck.state);
        let (h, dropped) = self.next_header(ck, opts);
        // The commit point.
        if let Err(e) = manifest::store(&opts.state_dir, &h, &state) {
            if self.is_stored(&h, opts) {
                // Renamed in, but the directory fsync failed: the checkpoint lists the staged
                // parts, so they stay for the next run to roll forward.
                self.staged.drain(..).for_each(|(f, _)| f.keep());
            }
            return Err(e);
        }
        self.header = h;
        summary.borrow_mut().checkpoints += 1;
        self.publish_staged(opts, summary)?;
        // After the commit: the history only ever lists committed states.
        history::record(&opts.state_dir, &self.header, &state, opts.keep_checkpoints)?;
        for d in dropped {
            let p = opts.root.join(&d);
            match fault::check(Step::Cleanup, &p).and_then(|()| std::fs::remove_file(&p)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SinkError::Io { path: p, source }),
            }
        }
        opts.observer.checkpoint_committed(t0.elapsed());
        Ok(())
    }

    /// True when the market's checkpoint on disk is `h` (the rename of a failed store happened).
    fn is_stored(&self, h: &CheckpointHeader, opts: &SinkOptions) -> bool {
        manifest::load(&opts.state_dir, &h.exchange, &h.symbol)
            .ok()
            .flatten()
            .is_some_and(|c| c.header == *h)
    }

    /// The checkpoint header after `ck`: the committed manifest plus the staged parts, without
    /// the provisional files `ck` drops (returned, to remove once committed).
    fn next_header(
        &self,
        ck: CheckpointMsg,
        opts: &SinkOptions,
    ) -> (CheckpointHeader, Vec<String>) {
        let mut h = self.header.clone();
        let mut dropped = Vec::new();
        if ck.drop_provisional {
            h.outputs.retain(|o| {
                if o.provisional {
                    dropped.push(o.path.clone());
                }
                !o.provisional
            });
        }
        h.outputs.extend(self.staged.iter().map(|(_, o)| o.clone()));
        let mut inputs: BTreeMap<String, u64> =
            h.inputs.iter().map(|i| (i.path.clone(), i.size)).collect();
        for i in ck.new_inputs {
            inputs.insert(i.path, i.size);
        }
        h.inputs = inputs
            .into_iter()
            .map(|(path, size)| InputFile { path, size })
            .collect();
        h.processed_until = ck.processed_until;
        h.seq += 1;
        h.written_unix_ms = now_unix_ms();
        h.finished = ck.finished;
        opts.observer.quality(&self.market, &ck.quality);
        h.quality = ck.quality;
        h.state_bytes = ck.state.len() as u64;
        h.config_fingerprint = opts.fingerprint.clone();
        h.root_id = Some(opts.root_id.clone());
        h.parameters = opts
            .write
            .metadata
            .iter()
            .find(|(k, _)| k == "daedalus.run_config")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        (h, dropped)
    }

    /// Renames the committed staged parts into place. On the first error the rest are kept
    /// staged (the checkpoint lists them: the next run rolls them forward).
    fn publish_staged(
        &mut self,
        opts: &SinkOptions,
        summary: &Rc<RefCell<WorkerSummary>>,
    ) -> Result<(), SinkError> {
        let mut staged = std::mem::take(&mut self.staged).into_iter();
        while let Some((f, o)) = staged.next() {
            if let Err(e) = f.publish() {
                staged.for_each(|(f, _)| f.keep());
                return Err(e);
            }
            let key = o
                .path
                .split("/exchange=")
                .next()
                .unwrap_or(&o.path)
                .to_string();
            opts.observer.rows_out(&key, &self.market, o.rows);
            let mut s = summary.borrow_mut();
            s.files_written += 1;
            *s.rows_out.entry(key).or_default() += o.rows;
        }
        Ok(())
    }
}

/// Builds the sink.
pub(crate) fn partition_sink(
    stream: Stream<'_, u64, Vec<SinkMsg>>,
    opts: SinkOptions,
    summary: Rc<RefCell<WorkerSummary>>,
) {
    let mut markets: HashMap<u64, MarketOut> = HashMap::new();
    stream.sink(Pipeline, "PartitionSink", move |(input, _frontier)| {
        input.for_each(|_time, data| {
            if !summary.borrow().errors.is_empty() {
                data.clear();
                return;
            }
            for msg in data.drain(..) {
                if let Err(e) = handle(&mut markets, msg, &opts, &summary) {
                    // Nothing after a failed message is acted on: a checkpoint that follows
                    // must not commit past rows that were never written. (Breaking out drops
                    // the rest of the drained messages.)
                    summary.borrow_mut().fail(e);
                    break;
                }
            }
        });
        if !summary.borrow().errors.is_empty() {
            markets.clear(); // drops staged files no committed checkpoint lists
        }
    });
}

/// Acts on one message.
fn handle(
    markets: &mut HashMap<u64, MarketOut>,
    msg: SinkMsg,
    opts: &SinkOptions,
    summary: &Rc<RefCell<WorkerSummary>>,
) -> Result<(), RunError> {
    let writing = |m: &MarketOut| RunError::sink(format!("writing outputs of {}", m.market));
    match msg {
        SinkMsg::Open { market, header } => {
            let key = market.hash64();
            markets.insert(key, MarketOut::new(market, header.map(|h| *h), opts));
            Ok(())
        }
        SinkMsg::Batch(ob) => {
            let key = market_hash(&ob.partition.exchange, &ob.partition.symbol);
            match markets.get_mut(&key) {
                Some(m) => m.write(&ob, opts).map_err(writing(m)),
                None => Err(RunError::Internal {
                    what: "batch before its Open",
                    market: format!("{}/{}", ob.partition.exchange, ob.partition.symbol),
                }),
            }
        }
        SinkMsg::Points(_) => Ok(()),
        SinkMsg::Seal { market } => match markets.get_mut(&market) {
            Some(m) => m.seal(false).map_err(writing(m)),
            None => Ok(()),
        },
        SinkMsg::Checkpoint(ck) => match markets.get_mut(&ck.market) {
            Some(m) => {
                let what = format!("checkpoint of {}", m.market);
                m.checkpoint(*ck, opts, summary)
                    .map_err(RunError::sink(what))
            }
            None => Err(RunError::Internal {
                what: "checkpoint before Open",
                market: format!("{:016x}", ck.market),
            }),
        },
    }
}
