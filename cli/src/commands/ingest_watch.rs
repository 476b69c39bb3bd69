//! `daedalus ingest --watch LANDING`: ingest as data arrives (issue 14, CONTRACT §10).
//!
//! The watcher lists the landing folder (recursively) at every filesystem event (`notify`) and
//! at least every `--poll` (the fallback when events are unavailable), and hands the files that
//! have **settled** ([`landing`]) to one library [`ingest`] call per batch. The library does the
//! rest, as for a batch ingest: it orders the batch by first receive time, commits each input
//! exactly once with its markets' ingest states, re-applies a market's later inputs when an
//! earlier one arrives, and recognises an input already ingested with the same content (a
//! no-op). So the bronze of a watch equals the bronze of one batch ingest of the same files,
//! whatever the order and grouping in which they arrived.
//!
//! **Locks.** The ingest lock is held for the watcher's lifetime (one ingest per root). The
//! bronze lock is held only around each batch's call, not for the lifetime as a batch ingest
//! does: a `run --watch` on the same root lists bronze between batches (it skips a rescan while
//! a batch commits) and a batch `run` waits for the batch under way, so neither ever sees part
//! of an input's commit and both make progress.
//!
//! **Bad input.** A file that fails (strict mode) is reported with its name and the rule it
//! breaks, counted as rejected and skipped until its size or mtime changes; the rest of its
//! batch is ingested and the watcher goes on. Errors that are not about an input (bronze cannot
//! be written, a corrupt ingest state) stop the watcher with an error.
//!
//! **Stopping.** SIGINT/SIGTERM: the batch under way is finished (its inputs are committed one
//! by one), files still settling are left for the next start, and the process exits 0. A second
//! signal exits at once with status 130; the next ingest rolls an interrupted commit forward or
//! removes its staged files.

mod landing;

use super::ingest::IngestArgs;
use crate::metrics::{Metrics, dm};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use daedalus_sinks::lock::{Wait, bronze_write, ingest_lock};
use daedalus_sources::SourceError;
use daedalus_sources::ingest::{IngestOptions, IngestReport, InputFormat, ingest, state};
use landing::{Landing, Status};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The watch flags of `daedalus ingest`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Keep running: ingest files as they settle in this landing folder (recursively), until
    /// SIGINT/SIGTERM. Write each file under a staging name (`.name`, `name.tmp`, `name.part`)
    /// and rename it in, or let `--settle` wait for its writer.
    #[arg(
        long = "watch",
        id = "watch_dir",
        value_name = "LANDING",
        conflicts_with = "inputs"
    )]
    pub watch: Option<PathBuf>,
    /// With --watch: a file is settled (ingested) once its size and mtime have not changed for
    /// this long [default: 2s].
    #[arg(long, value_parser = crate::duration::settle)]
    pub settle: Option<Duration>,
    /// With --watch: rescan period; filesystem events wake the watcher sooner [default: 1s].
    #[arg(long, value_parser = crate::duration::poll)]
    pub poll: Option<Duration>,
}

/// `--settle` when not given.
const SETTLE: Duration = Duration::from_secs(2);
/// `--poll` when not given.
const POLL: Duration = Duration::from_secs(1);

/// Inputs recorded in the ingest states: (name, content hash, path).
type Applied = BTreeSet<(String, String, PathBuf)>;

/// What the watcher did, for the closing line.
#[derive(Debug, Default)]
struct Totals {
    batches: u64,
    ingested: u64,
    unchanged: u64,
    rejected: u64,
}

struct Watcher<'a> {
    a: &'a IngestArgs,
    format: InputFormat,
    opts: IngestOptions,
    landing: Landing,
    metrics: Arc<Metrics>,
    totals: Totals,
}

/// `Some` when the arguments are about watching: the watcher's result with `--watch`, an error
/// for `--settle`/`--poll` without it; `None` for a batch ingest.
pub(crate) fn run_if_watching(a: &IngestArgs) -> Option<Result<()>> {
    match (&a.watch.watch, a.watch.settle.or(a.watch.poll)) {
        (Some(dir), _) => Some(run(a, dir)),
        (None, Some(_)) => Some(Err(anyhow!(
            "--settle and --poll are flags of --watch LANDING; a batch ingest reads whole files"
        ))),
        (None, None) => None,
    }
}

/// Runs `daedalus ingest --watch LANDING`.
fn run(a: &IngestArgs, dir: &Path) -> Result<()> {
    let dir = std::fs::canonicalize(dir)
        .ok()
        .filter(|d| d.is_dir())
        .with_context(|| format!("--watch {}: no such folder", dir.display()))?;
    std::fs::create_dir_all(&a.root)
        .with_context(|| format!("creating root {}", a.root.display()))?;
    if std::fs::canonicalize(&a.root).is_ok_and(|r| r.starts_with(&dir)) {
        bail!(
            "--root {} is inside the landing folder {}: bronze would be read as input",
            a.root.display(),
            dir.display()
        );
    }
    let wait = if a.wait { Wait::Block } else { Wait::Refuse };
    let _ingest = ingest_lock(&a.root, wait)?;
    let metrics = Arc::new(Metrics::for_ingest());
    let _server = crate::metrics::serve_opt(a.metrics.as_deref(), &metrics)?;
    let stop = stop_flag()?;
    let (tx, rx) = channel();
    let _events = fs_events(&dir, tx);
    let settle = a.watch.settle.unwrap_or(SETTLE);
    let poll = a.watch.poll.unwrap_or(POLL);
    let mut w = Watcher {
        a,
        format: a.format.input_format(a.binance_market),
        opts: a.options(),
        landing: Landing::new(dir.clone()),
        metrics,
        totals: Totals::default(),
    };
    w.publish_state()?;
    tracing::info!(
        "watching {} for files settled for {settle:?} (SIGINT/SIGTERM: finish the batch under way and stop)",
        dir.display()
    );
    while !stop.load(Ordering::Relaxed) {
        w.landing.scan();
        let batch = w.landing.settled(settle);
        if !batch.is_empty() {
            w.batch(batch)?;
            continue;
        }
        wait_for_change(&rx, poll, w.landing.next_settle(settle), &stop);
    }
    let t = &w.totals;
    println!(
        "stopped: {} batch(es); {} input(s) ingested, {} unchanged, {} rejected",
        t.batches, t.ingested, t.unchanged, t.rejected
    );
    Ok(())
}

/// First SIGINT/SIGTERM: set the flag (the caller finishes what it commits and stops). A second
/// one: exit 130 at once. Shared by `ingest --watch` and plain `ingest`.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .context("installing the SIGINT/SIGTERM handler")?;
        signal_hook::flag::register(sig, stop.clone())
            .context("installing the SIGINT/SIGTERM handler")?;
    }
    Ok(stop)
}

/// Filesystem events under `dir` wake the watcher; `None` (polling only) when unavailable.
fn fs_events(dir: &Path, tx: std::sync::mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let w = notify::recommended_watcher(move |_e: notify::Result<notify::Event>| {
        let _ = tx.send(());
    })
    .and_then(|mut w| w.watch(dir, notify::RecursiveMode::Recursive).map(|()| w));
    match w {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("no filesystem events for {} ({e}): polling", dir.display());
            None
        }
    }
}

/// Sleeps until a filesystem event (debounced), the next file settles, `poll` passes, or stop.
fn wait_for_change(rx: &Receiver<()>, poll: Duration, settles: Option<Instant>, stop: &AtomicBool) {
    let t0 = Instant::now();
    let deadline = settles.map_or(t0 + poll, |s| s.min(t0 + poll));
    let slice = Duration::from_millis(100);
    while !stop.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match rx.recv_timeout(left.min(slice)) {
            Ok(()) => {
                // A writer sends many events: let them gather, then rescan once.
                std::thread::sleep(Duration::from_millis(50));
                while rx.try_recv().is_ok() {}
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(left.min(slice)),
        }
    }
}

/// Every input recorded in the ingest states of `root`.
fn applied(root: &Path) -> Result<Applied> {
    Ok(state::load_all(root)?
        .values()
        .flat_map(|s| s.inputs.iter())
        .map(|i| (i.name.clone(), i.hash.clone(), i.path.clone()))
        .collect())
}

/// Inputs applied again because an earlier input of their market arrived after them: a run that
/// already went past the earlier input's times does not absorb it.
fn warn_reapplied(batch: &[PathBuf], report: &IngestReport) {
    let names: BTreeSet<String> = batch
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let again: Vec<&String> = report
        .applied
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    if !again.is_empty() {
        tracing::warn!(
            "an input arrived after later inputs of its market: re-applied {again:?} after it; \
             a run that went past its times records its rows as late (or refuses to resume if a \
             rewritten bronze file changed size): `run --rebuild --exchange E --symbol S` absorbs it"
        );
    }
}

/// The file a source error is about, if any.
fn error_file(e: &SourceError) -> Option<&Path> {
    match e {
        SourceError::Line { file, .. }
        | SourceError::File { file, .. }
        | SourceError::Unsynced { file, .. } => Some(file),
        SourceError::Io { path, .. } => Some(path),
        _ => None,
    }
}

impl Watcher<'_> {
    /// Ingests one batch of settled files under the bronze lock; returns when every file of it is
    /// committed, found unchanged, or rejected.
    fn batch(&mut self, batch: Vec<(PathBuf, Instant)>) -> Result<()> {
        let root = &self.a.root;
        let first_settled = batch.iter().map(|b| b.1).min();
        let mut todo: Vec<PathBuf> = batch.into_iter().map(|b| b.0).collect();
        let seen = todo.len();
        let before = applied(root)?;
        let mut rejected = Vec::new();
        let bronze = bronze_write(root)?;
        let report = loop {
            if todo.is_empty() {
                break IngestReport::default();
            }
            match ingest(self.format, &todo, root, &self.opts) {
                Ok(r) => break r,
                Err(e) => rejected.extend(self.reject(&mut todo, e, &before)?),
            }
        };
        drop(bronze);
        warn_reapplied(&todo, &report);
        let new = applied(root)?
            .difference(&before)
            .map(|(n, h, _)| (n.clone(), h.clone()))
            .collect::<BTreeSet<_>>()
            .len() as u64;
        let unchanged = (todo.len() as u64).saturating_sub(new);
        for p in &todo {
            self.landing.mark(p, Status::Done);
        }
        if new > 0 {
            // A file refused as unsynced may continue an input committed now.
            self.landing.retry_unsynced();
        }
        let im = &self.metrics.ingest;
        im.inputs_seen.inc_by(seen as u64);
        im.inputs_ingested.inc_by(new);
        im.inputs_unchanged.inc_by(unchanged);
        im.inputs_rejected.inc_by(rejected.len() as u64);
        im.batches.inc();
        if let Some(t) = first_settled {
            im.commit_lag.set(t.elapsed().as_secs_f64());
        }
        let t = &mut self.totals;
        t.batches += 1;
        t.ingested += new;
        t.unchanged += unchanged;
        t.rejected += rejected.len() as u64;
        self.publish_state()?;
        self.print_batch(seen, new, unchanged, &rejected, &report)
    }

    /// Takes out of `todo` the files `e` rejects and marks them; fails when `e` is not about an
    /// input (the watcher cannot go on).
    fn reject(
        &mut self,
        todo: &mut Vec<PathBuf>,
        e: SourceError,
        before: &Applied,
    ) -> Result<Vec<PathBuf>> {
        let rule = e.to_string();
        let named = error_file(&e);
        let out = if let Some(i) = named.and_then(|p| todo.iter().position(|t| t == p)) {
            vec![todo.remove(i)]
        } else if named.is_some_and(|p| before.iter().any(|(_, _, q)| q == p)) {
            // An input ingested before must be re-applied after one of this batch and cannot
            // be: the batch's files not committed wait until they change.
            let now = applied(&self.a.root)?;
            let fresh: BTreeSet<&PathBuf> = now.difference(before).map(|(_, _, p)| p).collect();
            let (done, out): (Vec<PathBuf>, Vec<PathBuf>) =
                todo.drain(..).partition(|p| fresh.contains(p));
            *todo = done;
            out
        } else {
            return Err(anyhow!(e).context("ingest --watch: not an input error, stopping"));
        };
        let status = match e {
            SourceError::Unsynced { .. } => Status::Unsynced,
            _ => Status::Rejected,
        };
        for p in &out {
            tracing::error!("rejected {}: {rule}", p.display());
            self.landing.mark(p, status);
        }
        Ok(out)
    }

    /// Bronze rows, gaps and newest receive time per market, from the ingest states.
    fn publish_state(&self) -> Result<()> {
        let m = &self.metrics;
        for (market, s) in state::load_all(&self.a.root)? {
            let key = market.to_string();
            let c = &s.counters;
            for (ds, n) in [
                ("book", c.book_rows),
                ("trades", c.trades),
                ("ticker", c.tickers),
            ] {
                m.ingest.rows.get_or_create(&dm(ds, &key)).set(n as i64);
            }
            m.quality
                .get_or_create(&vec![
                    ("market".to_string(), key.clone()),
                    ("counter".to_string(), "gaps".to_string()),
                ])
                .set(c.gaps as i64);
            if let Some(t) = s
                .inputs
                .iter()
                .map(|i| i.last_recv)
                .max()
                .filter(|t| *t > 0)
            {
                m.ingest.set_newest_recv(&key, t);
            }
        }
        Ok(())
    }

    fn print_batch(
        &self,
        seen: usize,
        new: u64,
        unchanged: u64,
        rejected: &[PathBuf],
        report: &IngestReport,
    ) -> Result<()> {
        if self.a.json {
            let v = serde_json::json!({
                "settled": seen,
                "ingested": new,
                "unchanged": unchanged,
                "rejected": rejected,
                "report": report,
            });
            println!("{}", serde_json::to_string(&v)?);
        } else {
            println!(
                "batch of {seen} settled file(s): {new} ingested, {unchanged} unchanged, {} rejected; applied {:?}",
                rejected.len(),
                report.applied
            );
            for w in report.warnings() {
                println!("{w}");
            }
        }
        Ok(())
    }
}
