//! Parallel ingest (`-j N`): inputs are parsed ahead of their commits on N threads, while the
//! calling thread commits them one at a time in the same order as a sequential call.
//!
//! Why it gives the same bronze for any N: an input's files depend only on its bytes and the
//! book chains it starts from ([`parse_input`]). Inputs are put in lanes by the market their
//! first stream line names; a lane is parsed in order, each input starting from the chains its
//! lane predecessor ended with, and lanes run in parallel. At its turn the committer uses a
//! parse made ahead only if it started from exactly the chains the commit gives
//! ([`apply_one`]); otherwise (a wrong lane guess, a rewind, an error) the input is parsed again
//! right there, as a sequential call would. Commits stay one at a time, in input order, through
//! the unchanged commit protocol.
//!
//! Staged files are named after the input, so two inputs of one name (spot and futures
//! `btcusdt_20240808.gz`) must never be staged at once: an input is parsed ahead only after
//! every earlier input of its name is committed, and never when its name is already in an
//! ingest state (it may be re-applied by the committer).

use super::apply::{Parsed, Work, apply_one, chains_at, parse_input};
use super::input::InputInfo;
use super::lines::Lines;
use super::options::{IngestOptions, InputFormat};
use super::report::IngestReport;
use super::state::{Chain, MarketState};
use crate::error::Result;
use crate::formats::binance_raw::lane_of;
use daedalus_model::market::Market;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// What the parse threads share.
struct Board {
    /// Inputs (indices in commit order) still to parse, per lane.
    lanes: Vec<VecDeque<usize>>,
    /// Lanes being parsed now.
    busy: Vec<bool>,
    /// Chains each lane's last parse ended with.
    chains: Vec<BTreeMap<Market, Chain>>,
    /// Parses made ahead, by input index, until the committer takes them.
    done: BTreeMap<usize, Result<Parsed>>,
    /// Inputs committed so far (`0..committed`).
    committed: usize,
    /// The committer stopped (an error): parse nothing more.
    stop: bool,
}

struct Shared<'a> {
    root: &'a Path,
    format: InputFormat,
    opts: &'a IngestOptions,
    infos: &'a [InputInfo],
    states: &'a BTreeMap<Market, MarketState>,
    /// Per input, the last earlier input of the same name (committed before it is parsed).
    after: Vec<Option<usize>>,
    /// Set by the caller (a signal): the committer commits nothing more.
    halt: &'a AtomicBool,
    board: Mutex<Board>,
    changed: Condvar,
}

/// The lane of each input parsed ahead (`None`: parsed at its commit).
fn lanes_of(
    format: InputFormat,
    infos: &[InputInfo],
    states: &BTreeMap<Market, MarketState>,
) -> Vec<Option<String>> {
    let applied: BTreeSet<&str> = states
        .values()
        .flat_map(|s| s.inputs.iter().map(|r| r.name.as_str()))
        .collect();
    infos
        .iter()
        .enumerate()
        .map(|(k, i)| {
            if applied.contains(i.name.as_str()) {
                return None;
            }
            Some(match format {
                InputFormat::BinanceRaw => peek_lane(&i.path).unwrap_or_else(|| format!("#{k}")),
                InputFormat::TardisCsv
                | InputFormat::Hyperliquid
                | InputFormat::BybitOrderbook
                | InputFormat::BinanceVision { .. } => {
                    format!("#{k}")
                }
                InputFormat::Cryptofeed => crate::cryptofeed::ingest::lane_of(&i.name),
            })
        })
        .collect()
}

/// The lane of a Binance input: the market of its first stream line (within its first lines).
fn peek_lane(path: &Path) -> Option<String> {
    let mut lines = Lines::open(path).ok()?;
    let mut r = IngestReport::default();
    for _ in 0..1000 {
        let (_, text) = lines.next_line(false, &mut r).ok()??;
        if let Some(lane) = lane_of(text) {
            return Some(lane);
        }
    }
    None
}

/// Ingests `infos` (in commit order) with `jobs` parse threads until done or `halt` is set;
/// returns how many inputs were done (the first ones in order).
pub(crate) fn ingest_parallel(
    root: &Path,
    format: InputFormat,
    opts: &IngestOptions,
    infos: &[InputInfo],
    states: BTreeMap<Market, MarketState>,
    jobs: usize,
    halt: &AtomicBool,
    report: &mut IngestReport,
) -> Result<usize> {
    let lanes = lanes_of(format, infos, &states);
    let names: Vec<String> = lanes
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut queues = vec![VecDeque::new(); names.len()];
    for (k, lane) in lanes.iter().enumerate() {
        if let Some(l) = lane {
            let at = names
                .binary_search(l)
                .expect("lane names come from the lanes");
            queues[at].push_back(k);
        }
    }
    let initial = states.clone();
    let after = (0..infos.len())
        .map(|k| (0..k).rev().find(|&j| infos[j].name == infos[k].name))
        .collect();
    let shared = Shared {
        root,
        format,
        opts,
        infos,
        states: &initial,
        after,
        halt,
        board: Mutex::new(Board {
            busy: vec![false; queues.len()],
            chains: vec![BTreeMap::new(); queues.len()],
            lanes: queues,
            done: BTreeMap::new(),
            committed: 0,
            stop: false,
        }),
        changed: Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| worker(&shared));
        }
        let out = commit_all(&shared, &lanes, states, report);
        let mut b = shared.board.lock().unwrap_or_else(|e| e.into_inner());
        b.stop = true;
        b.done.clear();
        shared.changed.notify_all();
        drop(b);
        out
    })
}

/// Commits every input in order, each with its parse made ahead when there is one, until
/// `halt`; returns how many were done. Parses left behind are dropped by the caller (their
/// staged files removed).
fn commit_all(
    shared: &Shared,
    lanes: &[Option<String>],
    mut states: BTreeMap<Market, MarketState>,
    report: &mut IngestReport,
) -> Result<usize> {
    for (k, info) in shared.infos.iter().enumerate() {
        if shared.halt.load(Ordering::Relaxed) {
            return Ok(k);
        }
        let ahead = lanes[k].is_some().then(|| take(shared, k));
        let w = Work::new(shared.root, shared.format, shared.opts, states);
        states = apply_one(w, info, report, ahead)?;
        let mut b = shared.board.lock().unwrap_or_else(|e| e.into_inner());
        b.committed = k + 1;
        shared.changed.notify_all();
    }
    Ok(shared.infos.len())
}

/// Waits for the parse of input `k`.
fn take(shared: &Shared, k: usize) -> Result<Parsed> {
    let mut b = shared.board.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(p) = b.done.remove(&k) {
            return p;
        }
        b = shared.changed.wait(b).unwrap_or_else(|e| e.into_inner());
    }
}

/// Picks the ready lane whose next input comes first, parses it, repeats.
fn worker(shared: &Shared) {
    let mut b = shared.board.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        // Not `halt`: the committer may be waiting for this parse; it stops the workers
        // (`stop`) at its next check of `halt`, and parses finished then are dropped.
        if b.stop {
            return;
        }
        let committed = b.committed;
        let ready = (0..b.lanes.len())
            .filter(|&l| !b.busy[l])
            .filter_map(|l| b.lanes[l].front().map(|&k| (k, l)))
            .filter(|&(k, _)| shared.after[k].is_none_or(|j| j < committed))
            .min();
        let Some((k, lane)) = ready else {
            if b.lanes.iter().all(VecDeque::is_empty) {
                return;
            }
            b = shared.changed.wait(b).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        b.lanes[lane].pop_front();
        b.busy[lane] = true;
        let mut seeds = chains_at(shared.states, &shared.infos[k]);
        seeds.extend(b.chains[lane].iter().map(|(m, c)| (m.clone(), c.clone())));
        drop(b);
        let parsed = parse_input(
            shared.root,
            shared.format,
            shared.opts,
            &shared.infos[k],
            seeds,
        );
        b = shared.board.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(p) = &parsed {
            let ended = p.chains().iter().map(|(m, c)| (m.clone(), c.clone()));
            b.chains[lane].extend(ended);
        }
        b.busy[lane] = false;
        if !b.stop {
            b.done.insert(k, parsed);
        }
        shared.changed.notify_all();
    }
}
