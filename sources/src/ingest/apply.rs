//! Applying inputs to the ingest state (CONTRACT §10.1–10.2): one input at a time, each in one
//! commit with its bronze files and its markets' states. An unchanged input is skipped; an input
//! that precedes inputs already applied to its markets (or a changed input) rewinds those markets
//! to before the first affected input and re-applies the affected inputs after it, all in one
//! commit, so the bronze only depends on the set of inputs.

use super::commit::{Journal, commit, rel};
use super::input::{InputInfo, bronze_file_name};
use super::options::{IngestOptions, InputFormat};
use super::report::IngestReport;
use super::state::{AppliedInput, Chain, MarketState, encode, state_rel};
use crate::cryptofeed;
use crate::error::{Result, SourceError};
use crate::formats::binance_raw;
use crate::formats::{binance_vision, bybit_orderbook, hyperliquid, tardis_csv};
use daedalus_model::market::Market;
use daedalus_sinks::bronze::{BronzeWriter, StagedBronze};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One input parsed into staged files.
pub(crate) struct Parsed {
    staged: StagedBronze,
    report: IngestReport,
    chains: BTreeMap<Market, Chain>,
    /// The book chains the parse started from (what its bronze depends on besides the input).
    seeds: BTreeMap<Market, Chain>,
}

/// Parses `info` into staged files under `root`, continuing the book chains `seeds`. The result
/// depends only on the input's bytes and `seeds`, so it may be computed ahead of its commit
/// (parallel ingest) and used when the seeds are still the ones its commit would give.
pub(crate) fn parse_input(
    root: &Path,
    format: InputFormat,
    opts: &IngestOptions,
    info: &InputInfo,
    seeds: BTreeMap<Market, Chain>,
) -> Result<Parsed> {
    let name = bronze_file_name(format, &info.name);
    let mut w = BronzeWriter::new(root, &name);
    let mut report = IngestReport::default();
    let chains = match format {
        InputFormat::BinanceRaw => {
            let ids = seeds.iter().map(|(m, c)| (m.clone(), c.ids)).collect();
            binance_raw::ingest_input(&info.path, &mut w, opts, &mut report, ids)?
                .into_iter()
                .map(|(m, c)| (m, Chain::from(c)))
                .collect()
        }
        InputFormat::TardisCsv => {
            tardis_csv::ingest_input(&info.path, &mut w, opts, &mut report)?;
            BTreeMap::new()
        }
        InputFormat::Cryptofeed => {
            let books = seeds
                .iter()
                .filter_map(|(m, c)| Some((m.clone(), c.book.clone()?)))
                .collect();
            cryptofeed::ingest::ingest_input(&info.path, &mut w, opts, &mut report, books)?
                .into_iter()
                .map(|(m, b)| (m, Chain::from(b)))
                .collect()
        }
        InputFormat::Hyperliquid => {
            hyperliquid::ingest_input(&info.path, &mut w, opts, &mut report)?;
            BTreeMap::new()
        }
        InputFormat::BybitOrderbook => {
            bybit_orderbook::ingest_input(&info.path, &mut w, opts, &mut report)?;
            BTreeMap::new()
        }
        InputFormat::BinanceVision { market } => {
            binance_vision::ingest_input(&info.path, &mut w, opts, market, &mut report)?;
            BTreeMap::new()
        }
    };
    report.note_unsynced(&info.path);
    refuse_unsynced(&report, opts)?;
    Ok(Parsed {
        staged: w.stage()?,
        report,
        chains,
        seeds,
    })
}

/// Strict mode without `--allow-unsynced`: an input with unsynced depth diffs is an error
/// naming file, market and count (issue 16). The input's staged files go with the writer, so
/// nothing of it is committed.
fn refuse_unsynced(report: &IngestReport, opts: &IngestOptions) -> Result<()> {
    if opts.lenient || opts.allow_unsynced {
        return Ok(());
    }
    let Some(u) = report.unsynced.first() else {
        return Ok(());
    };
    let more = match report.unsynced.len() {
        1 => String::new(),
        n => format!(" (and {} more market(s))", n - 1),
    };
    Err(SourceError::Unsynced {
        file: u.file.clone(),
        rule: format!(
            "{}: {} depth diff(s){} cannot be synced{more}: no snapshot in the file and no \
             predecessor in the market's ingest state; ingest the input that precedes it \
             (same market, earlier receive time) in the same call or before, or pass \
             --allow-unsynced to drop them (counted as unsynced_diffs)",
            u.market,
            u.diffs,
            if u.rows > 0 {
                format!(" ({} book rows)", u.rows)
            } else {
                String::new()
            },
        ),
    })
}

impl Parsed {
    /// The chain each market the input touched ends with.
    pub(crate) fn chains(&self) -> &BTreeMap<Market, Chain> {
        &self.chains
    }
}

/// Each market's book chain at the place of `info` in its order in `states`: before the first
/// applied input that follows it (or an earlier version of it), else after the last.
pub(crate) fn chains_at(
    states: &BTreeMap<Market, MarketState>,
    info: &InputInfo,
) -> BTreeMap<Market, Chain> {
    let key = (info.order, info.name.as_str());
    let at = |s: &MarketState| {
        let next = s
            .inputs
            .iter()
            .find(|r| r.name == info.name || r.key() > key);
        next.map_or(&s.chain, |r| &r.chain_before).clone()
    };
    states.iter().map(|(m, s)| (m.clone(), at(s))).collect()
}

/// The states being changed by one commit and the files it stages and replaces.
pub(crate) struct Work<'a> {
    root: &'a Path,
    format: InputFormat,
    opts: &'a IngestOptions,
    pub(crate) states: BTreeMap<Market, MarketState>,
    dirty: BTreeSet<Market>,
    renames: Vec<(String, String)>,
    written: BTreeSet<String>,
    old: BTreeSet<String>,
}

fn market_of(key: &str) -> Option<Market> {
    let (e, s) = key.split_once('/')?;
    Market::new(e, s).ok()
}

impl<'a> Work<'a> {
    pub(crate) fn new(
        root: &'a Path,
        format: InputFormat,
        opts: &'a IngestOptions,
        states: BTreeMap<Market, MarketState>,
    ) -> Self {
        Work {
            root,
            format,
            opts,
            states,
            dirty: BTreeSet::new(),
            renames: Vec::new(),
            written: BTreeSet::new(),
            old: BTreeSet::new(),
        }
    }

    fn parse(&self, info: &InputInfo) -> Result<Parsed> {
        let seeds = chains_at(&self.states, info);
        parse_input(self.root, self.format, self.opts, info, seeds)
    }

    /// Whether a parse made ahead of time started from the chains its commit gives now (a
    /// market without a chain starts empty either way).
    fn seeds_hold(&self, info: &InputInfo, p: &Parsed) -> bool {
        let now = chains_at(&self.states, info);
        let none = Chain::default();
        p.chains
            .keys()
            .all(|m| p.seeds.get(m).unwrap_or(&none) == now.get(m).unwrap_or(&none))
    }

    /// Markets a parsed input touched.
    fn touched(p: &Parsed) -> BTreeSet<Market> {
        let mut out: BTreeSet<Market> = p
            .report
            .markets
            .keys()
            .filter_map(|k| market_of(k))
            .collect();
        out.extend(p.chains.keys().cloned());
        out.extend(p.staged.recv.keys().cloned());
        out
    }

    /// Records a parsed input in its markets' states and its staged files in the commit.
    fn append(&mut self, info: &InputInfo, p: Parsed, report: &mut IngestReport) {
        let markets = Self::touched(&p);
        let mut files: BTreeMap<Market, Vec<(String, u64)>> = BTreeMap::new();
        let mut r = p.report;
        for (part, staged, rows) in p.staged.files {
            let (s, t) = staged.into_paths();
            let (s, t) = (rel(self.root, &s), rel(self.root, &t));
            self.renames.push((s, t.clone()));
            self.written.insert(t.clone());
            r.files.push(self.root.join(&t));
            if let Ok(m) = Market::new(&part.exchange, &part.symbol) {
                files.entry(m).or_default().push((t, rows));
            }
        }
        for m in markets {
            let st = self
                .states
                .entry(m.clone())
                .or_insert_with(|| MarketState::new(&m));
            let (first, last) = p.staged.recv.get(&m).copied().unwrap_or((0, 0));
            st.inputs.push(AppliedInput {
                name: info.name.clone(),
                path: info.abs.clone(),
                size: info.size,
                hash: info.hash.clone(),
                order: info.order,
                first_recv: first,
                last_recv: last,
                files: files.remove(&m).unwrap_or_default(),
                chain_before: st.chain.clone(),
                counts: r.markets.get(&m.to_string()).cloned().unwrap_or_default(),
                lines: r.lines,
            });
            if let Some(c) = p.chains.get(&m) {
                st.chain = c.clone();
            }
            st.recount();
            self.dirty.insert(m);
        }
        r.applied.push(info.name.clone());
        report.merge(r);
    }

    /// Removes the inputs `ids` (name, hash) and every input after them from their markets
    /// (transitively across markets an input shares), rewinding each market's chain; returns the
    /// removed inputs, one record per input, in application order.
    fn rewind(&mut self, mut ids: BTreeSet<(String, String)>) -> Vec<AppliedInput> {
        let mut removed: BTreeMap<(String, String), AppliedInput> = BTreeMap::new();
        loop {
            let mut grew = false;
            for (m, s) in self.states.iter_mut() {
                let Some(i) = s.inputs.iter().position(|r| ids.contains(&r.id())) else {
                    continue;
                };
                s.chain = s.inputs[i].chain_before.clone();
                for r in s.inputs.drain(i..) {
                    self.old.extend(r.files.iter().map(|(f, _)| f.clone()));
                    grew |= ids.insert(r.id());
                    removed.entry(r.id()).or_insert(r);
                }
                s.recount();
                self.dirty.insert(m.clone());
            }
            if !grew {
                break;
            }
        }
        let mut out: Vec<AppliedInput> = removed.into_values().collect();
        out.sort_by(|a, b| a.key().cmp(&b.key()));
        out
    }

    /// Writes the staged states and the journal, and applies it.
    fn commit(self) -> Result<BTreeMap<Market, MarketState>> {
        let mut j = Journal {
            renames: self.renames,
            deletes: self.old.difference(&self.written).cloned().collect(),
        };
        for m in &self.dirty {
            let fin = state_rel(m);
            let (dir, file) = fin.rsplit_once('/').expect("state path has a directory");
            let staged = format!("{dir}/.{file}.inprogress");
            write_synced(&self.root.join(&staged), &encode(&self.states[m]))?;
            j.renames.push((staged, fin));
        }
        commit(self.root, &j)?;
        Ok(self.states)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let io = |source| SourceError::Io {
        path: path.into(),
        source,
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    daedalus_sinks::fault::check(daedalus_sinks::fault::Step::CheckpointWrite, path).map_err(io)?;
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    daedalus_sinks::fault::check(daedalus_sinks::fault::Step::Fsync, path).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Applies one input in one commit; returns the states after it. An input is recognised by
/// name and content: the same name with the same size and hash is already applied (skipped);
/// the same name with other content in a market it touches is a changed input (replaced).
///
/// `ahead` is the input parsed ahead of time (parallel ingest), used when it started from the
/// chains this commit gives, else dropped (removing its staged files) and the input parsed again.
pub(crate) fn apply_one(
    mut w: Work<'_>,
    info: &InputInfo,
    report: &mut IngestReport,
    ahead: Option<Result<Parsed>>,
) -> Result<BTreeMap<Market, MarketState>> {
    let same = |r: &AppliedInput| r.name == info.name && r.size == info.size && r.hash == info.hash;
    if w.states.values().any(|s| s.inputs.iter().any(same)) {
        report.unchanged.push(info.name.clone());
        return Ok(w.states);
    }
    let parsed = match ahead {
        Some(Ok(p)) if w.seeds_hold(info, &p) => p,
        // A write or read error does not depend on the chains the parse started from: it is
        // this input's error, reported at its turn as a sequential call reports it (a retry
        // would hide a failing disk).
        Some(Err(e @ (SourceError::Sink(_) | SourceError::Io { .. }))) => return Err(e),
        stale => {
            if let Some(s) = &stale {
                let why = if s.is_ok() {
                    "other chains"
                } else {
                    "an error"
                };
                tracing::debug!("{}: parsed ahead from {why}; parsing again", info.name);
            }
            // Its staged files go before the same paths are written again.
            drop(stale);
            w.parse(info)?
        }
    };
    // Formats whose inputs continue each other's books: a later input depends on earlier ones.
    let chained = matches!(w.format, InputFormat::BinanceRaw | InputFormat::Cryptofeed);
    let key = (info.order, info.name.as_str());
    let seeds: BTreeSet<(String, String)> = Work::touched(&parsed)
        .iter()
        .filter_map(|m| w.states.get(m))
        .flat_map(|s| s.inputs.iter())
        .filter(|r| r.name == info.name || (chained && r.key() > key))
        .map(|r| (r.name.clone(), r.hash.clone()))
        .collect();
    if seeds.is_empty() {
        w.append(info, parsed, report);
        return w.commit();
    }
    drop(parsed);
    let removed = w.rewind(seeds);
    reapply(&mut w, info, removed, report)?;
    w.commit()
}

/// Applies `info` and the `removed` inputs (re-read from their recorded paths) in order.
fn reapply(
    w: &mut Work<'_>,
    info: &InputInfo,
    removed: Vec<AppliedInput>,
    report: &mut IngestReport,
) -> Result<()> {
    let mut queue = vec![info.clone()];
    // An earlier version of `info` (same name, other content) is replaced, not re-applied.
    for r in removed.into_iter().filter(|r| r.name != info.name) {
        queue.push(reread(&r, w.format)?);
    }
    queue.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    for q in &queue {
        let p = w.parse(q)?;
        w.append(q, p, report);
    }
    Ok(())
}

/// An applied input read again to re-apply it: it must still be there, unchanged.
fn reread(r: &AppliedInput, format: InputFormat) -> Result<InputInfo> {
    let fail = |why: String| SourceError::File {
        file: r.path.clone(),
        rule: format!(
            "input {} must be re-applied after an earlier input of its market, but {why}; nothing was changed",
            r.name
        ),
    };
    let info =
        InputInfo::read(&r.path, format).map_err(|e| fail(format!("it cannot be read ({e})")))?;
    if info.size != r.size || info.hash != r.hash {
        return Err(fail("it changed since it was ingested".into()));
    }
    Ok(info)
}
