//! `daedalus inspect`: what a root holds, from Parquet footers and the state directory only.
//!
//! For every layer, dataset (with its `interval=`/`bar=` spec level), market and date: committed
//! files, rows, bytes, the event-time range of the ordering column (from footer column
//! statistics, never from data pages), staged files (dot-named `.inprogress` leftovers), the
//! producer, contract version and run parameters recorded in the files' key-value metadata, and
//! the quality counters of the per-market checkpoints under `<root>/_daedalus/`.
//!
//! Problems never panic: an unreadable footer, or a file written under a newer contract version,
//! is listed in [`Inventory::errors`] with the file named (and makes the command exit non-zero);
//! a root that does not exist or holds no layer at all is an error.

mod state;

use anyhow::{Context, Result, bail};
use daedalus_dataflow::FilterSpec;
use daedalus_dataflow::restate::PendingReason;
use daedalus_model::partition::hive_value;
use daedalus_model::time::{Date, Nanos};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::statistics::Statistics;
use serde::Serialize;
pub(crate) use state::CheckpointInfo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers of a root, in pipeline order.
pub(crate) const LAYERS: [&str; 3] = ["bronze", "silver", "gold"];

/// Key-value metadata keys written by the sinks.
pub(crate) const KEY_CONTRACT: &str = "daedalus.contract_version";
/// Producer key.
pub(crate) const KEY_PRODUCER: &str = "daedalus.producer";
/// Run parameters key (JSON of the run configuration).
pub(crate) const KEY_RUN_CONFIG: &str = "daedalus.run_config";
/// Prefix of quality counters a writer may record (`daedalus.quality.<name>` = integer, or
/// `daedalus.quality` = JSON object of integers).
pub(crate) const KEY_QUALITY: &str = "daedalus.quality";

/// One partition directory (`<layer>/<dataset>[/<spec>]/exchange=/symbol=/date=`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct PartitionInfo {
    /// `bronze`, `silver` or `gold`.
    pub layer: String,
    /// Dataset folder (`book`, `trades`, `ticker`, `intervals`, `bars`).
    pub dataset: String,
    /// Spec level between dataset and exchange, e.g. `interval=1s` or `bar=time_1m`.
    pub spec: Option<String>,
    /// Exchange.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// UTC date (`YYYY-MM-DD`).
    pub date: String,
    /// Committed `*.parquet` files.
    pub files: u64,
    /// Rows in the committed files (footer row counts).
    pub rows: u64,
    /// Bytes of the committed files.
    pub bytes: u64,
    /// Staged (uncommitted) files: dot-named, not ending in `.parquet`.
    pub staged_files: u64,
    /// Bytes of the staged files.
    pub staged_bytes: u64,
    /// Ordering time column the range is taken from (`ts_event` or `ts_open`).
    pub time_column: String,
    /// Least value of the time column (ns since the epoch, UTC), from footer statistics.
    pub min_ts: Option<Nanos>,
    /// Greatest value of the time column (ns).
    pub max_ts: Option<Nanos>,
    /// Files whose footer has no statistics for the time column (their rows are not in the range).
    pub files_without_stats: u64,
    /// Distinct producers recorded in the files.
    pub producers: Vec<String>,
    /// Distinct contract versions recorded in the files.
    pub contract_versions: Vec<String>,
    /// Index into [`Inventory::run_configs`] of each distinct run configuration recorded.
    pub run_config_ids: Vec<usize>,
    /// Quality counters recorded in the files' metadata (summed over files), if any.
    pub quality: BTreeMap<String, u64>,
}

impl PartitionInfo {
    /// `<layer>/<dataset>[/<spec>]`, e.g. `gold/bars/bar=time_1m`.
    pub(crate) fn dataset_path(&self) -> String {
        match &self.spec {
            Some(s) => format!("{}/{}/{}", self.layer, self.dataset, s),
            None => format!("{}/{}", self.layer, self.dataset),
        }
    }

    /// `exchange/symbol`.
    pub(crate) fn market(&self) -> String {
        format!("{}/{}", self.exchange, self.symbol)
    }
}

/// Totals of one dataset and market over its dates.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MarketTotals {
    /// `<layer>/<dataset>[/<spec>]`.
    pub dataset: String,
    /// Exchange.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// Dates present.
    pub dates: u64,
    /// Committed files.
    pub files: u64,
    /// Rows.
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Staged files.
    pub staged_files: u64,
    /// Time column.
    pub time_column: String,
    /// Least time (ns).
    pub min_ts: Option<Nanos>,
    /// Greatest time (ns).
    pub max_ts: Option<Nanos>,
}

/// The state directory `<root>/_daedalus/`.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub(crate) struct StateInfo {
    /// The directory.
    pub dir: String,
    /// It exists.
    pub present: bool,
    /// Per-market checkpoints (those passing the filter).
    pub checkpoints: Vec<CheckpointInfo>,
    /// Lines in `late.jsonl` (late bronze files recorded), if present.
    pub late_files: Option<u64>,
    /// Markets whose outputs miss some of their bronze (late, changed, removed or unconsumed
    /// files), each with what `run --restate` would recompute.
    pub pending_restatements: Vec<daedalus_dataflow::restate::Pending>,
}

/// Everything `inspect` found under a root.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Inventory {
    /// The root.
    pub root: String,
    /// The contract version this build reads.
    pub contract_version: String,
    /// Partitions, sorted by layer order, dataset, spec, market, date.
    pub partitions: Vec<PartitionInfo>,
    /// Totals per dataset and market.
    pub markets: Vec<MarketTotals>,
    /// Distinct run configurations recorded (JSON values).
    pub run_configs: Vec<serde_json::Value>,
    /// The state directory.
    pub state: StateInfo,
    /// Problems found, each naming its file.
    pub errors: Vec<String>,
}

/// Which partitions to look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct InspectOptions {
    /// Exchange/symbol/date filter (exact symbols).
    pub filter: FilterSpec,
}

/// The ordering time column of a dataset.
pub(crate) fn time_column(dataset: &str) -> &'static str {
    match dataset {
        "intervals" | "bars" | "cross" => "ts_open",
        _ => "ts_event",
    }
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
pub(crate) fn fmt_ts(ns: Nanos) -> String {
    let days = ns.div_euclid(daedalus_model::time::NANOS_PER_DAY);
    let rem = ns.rem_euclid(daedalus_model::time::NANOS_PER_DAY);
    let d = Date::from_days(days);
    let s = rem / 1_000_000_000;
    let frac = rem % 1_000_000_000;
    format!(
        "{}T{:02}:{:02}:{:02}.{:09}Z",
        d,
        s / 3600,
        (s / 60) % 60,
        s % 60,
        frac
    )
}

/// Short form for tables: `MM-DD HH:MM:SS.mmm`.
fn fmt_ts_short(ns: Nanos) -> String {
    let f = fmt_ts(ns);
    // YYYY-MM-DDTHH:MM:SS.fffffffffZ -> MM-DD HH:MM:SS.fff
    format!("{} {}", &f[5..10], &f[11..23])
}

fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let p = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        v.push((e.file_name().to_string_lossy().into_owned(), p, is_dir));
    }
    v.sort();
    Ok(v)
}

/// A partition directory found under a root.
#[derive(Debug, Clone)]
pub(crate) struct FoundPartition {
    /// Layer.
    pub layer: String,
    /// Dataset.
    pub dataset: String,
    /// Spec level (`interval=1s`), if any.
    pub spec: Option<String>,
    /// Exchange.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// Date.
    pub date: Date,
    /// The directory.
    pub dir: PathBuf,
}

/// Every partition directory under `root` passing `filter`, in layer/dataset/spec/market/date
/// order, and the `date=` directories whose value is not a date (issue 16: `inspect` reports
/// them and exits non-zero). Other directories that do not follow the layout are skipped.
pub(crate) fn find_partitions(
    root: &Path,
    filter: &FilterSpec,
) -> Result<(Vec<FoundPartition>, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut bad_dates = Vec::new();
    for layer in LAYERS {
        let ldir = root.join(layer);
        if !ldir.is_dir() {
            continue;
        }
        for (dataset, ddir, is_dir) in list_dir(&ldir)? {
            if !is_dir || dataset.starts_with('.') {
                continue;
            }
            // Either exchange= directly, or a spec level first.
            let mut spec_dirs: Vec<(Option<String>, PathBuf)> = Vec::new();
            for (name, p, d) in list_dir(&ddir)? {
                if !d {
                    continue;
                }
                if hive_value(&name, "exchange").is_some() {
                    if !spec_dirs.iter().any(|(s, _)| s.is_none()) {
                        spec_dirs.push((None, ddir.clone()));
                    }
                } else if name.contains('=') && !name.starts_with('.') {
                    spec_dirs.push((Some(name), p));
                }
            }
            for (spec, sdir) in spec_dirs {
                for (en, ep, ed) in list_dir(&sdir)? {
                    if let Some(base) = hive_value(&en, "base").filter(|_| ed) {
                        let at = (layer, dataset.as_str(), spec.as_deref(), base);
                        group_partitions(at, &ep, filter, &mut out, &mut bad_dates)?;
                        continue;
                    }
                    let Some(exchange) = hive_value(&en, "exchange").filter(|_| ed) else {
                        continue;
                    };
                    for (sn, sp, sd) in list_dir(&ep)? {
                        let Some(symbol) = hive_value(&sn, "symbol").filter(|_| sd) else {
                            continue;
                        };
                        for (dn, dp, dd) in list_dir(&sp)? {
                            let Some(date) =
                                hive_value(&dn, "date").filter(|_| dd).and_then(Date::parse)
                            else {
                                if dd && hive_value(&dn, "date").is_some() {
                                    bad_dates.push(dp);
                                }
                                continue;
                            };
                            if !filter.matches(exchange, symbol, date, &Default::default()) {
                                continue;
                            }
                            out.push(FoundPartition {
                                layer: layer.to_string(),
                                dataset: dataset.clone(),
                                spec: spec.clone(),
                                exchange: exchange.to_string(),
                                symbol: symbol.to_string(),
                                date,
                                dir: dp,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok((out, bad_dates))
}

/// The `date=` partitions of one `silver/cross` group directory (CONTRACT §11.2), shown as
/// market `base/<BASE>`; only the filter's dates apply.
fn group_partitions(
    (layer, dataset, spec, base): (&str, &str, Option<&str>, &str),
    dir: &Path,
    filter: &FilterSpec,
    out: &mut Vec<FoundPartition>,
    bad_dates: &mut Vec<PathBuf>,
) -> Result<()> {
    let (from, to) = filter.date_bounds().unwrap_or((None, None));
    for (dn, dp, dd) in list_dir(dir)? {
        let Some(date) = hive_value(&dn, "date").filter(|_| dd).and_then(Date::parse) else {
            if dd && hive_value(&dn, "date").is_some() {
                bad_dates.push(dp);
            }
            continue;
        };
        if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
            continue;
        }
        out.push(FoundPartition {
            layer: layer.to_string(),
            dataset: dataset.to_string(),
            spec: spec.map(str::to_string),
            exchange: "base".to_string(),
            symbol: base.to_string(),
            date,
            dir: dp,
        });
    }
    Ok(())
}

/// True for a staged (uncommitted) file name: dot-named and not a committed `*.parquet`.
pub(crate) fn is_staged(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".inprogress") || !name.ends_with(".parquet"))
}

/// Committed Parquet files of a partition directory, in name order.
pub(crate) fn committed_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(list_dir(dir)?
        .into_iter()
        .filter(|(n, _, d)| !d && !n.starts_with('.') && n.ends_with(".parquet"))
        .map(|(_, p, _)| p)
        .collect())
}

/// Reads a file's footer (metadata only; no data page is read).
pub(crate) fn read_footer(path: &Path) -> Result<ParquetMetaData> {
    let f = std::fs::File::open(path).with_context(|| format!("{}: open", path.display()))?;
    ParquetMetaDataReader::new()
        .parse_and_finish(&f)
        .with_context(|| {
            format!(
                "{}: corrupt or truncated Parquet footer (not a complete Parquet file)",
                path.display()
            )
        })
}

/// The key-value metadata of a footer as a map.
pub(crate) fn footer_kv(md: &ParquetMetaData) -> BTreeMap<String, String> {
    md.file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a recorded contract version against ours; an error names the file.
pub(crate) fn check_contract(path: &Path, recorded: Option<&str>) -> Result<()> {
    let Some(v) = recorded else {
        return Ok(());
    };
    let ours = daedalus_model::CONTRACT_VERSION;
    let newer = match (v.trim().parse::<u64>(), ours.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => v.trim() != ours,
    };
    if newer {
        bail!(
            "{}: written under data contract version {v}, newer than the version {ours} this daedalus ({}) reads; use a newer daedalus",
            path.display(),
            daedalus_model::PRODUCER
        );
    }
    Ok(())
}

/// Min and max of an INT64 (timestamp) column over all row groups, from footer statistics.
/// `None` when a row group lacks statistics for it (the count of such files is reported).
fn time_bounds(md: &ParquetMetaData, column: &str) -> Option<Option<(i64, i64)>> {
    let mut acc: Option<(i64, i64)> = None;
    for rg in md.row_groups() {
        if rg.num_rows() == 0 {
            continue;
        }
        let col = rg
            .columns()
            .iter()
            .find(|c| c.column_descr().name() == column)?;
        let Some(Statistics::Int64(s)) = col.statistics() else {
            return None;
        };
        let (Some(&lo), Some(&hi)) = (s.min_opt(), s.max_opt()) else {
            // All nulls in this row group.
            continue;
        };
        acc = Some(match acc {
            Some((a, b)) => (a.min(lo), b.max(hi)),
            None => (lo, hi),
        });
    }
    Some(acc)
}

fn parse_quality(kv: &BTreeMap<String, String>, into: &mut BTreeMap<String, u64>) {
    for (k, v) in kv {
        if k == KEY_QUALITY {
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(v) {
                for (name, x) in m {
                    if let Some(n) = x.as_u64() {
                        *into.entry(name).or_default() += n;
                    }
                }
            }
        } else if let Some(name) = k.strip_prefix("daedalus.quality.")
            && let Ok(n) = v.trim().parse::<u64>()
        {
            *into.entry(name.to_string()).or_default() += n;
        }
    }
}

/// Inspects a root: footers and the state directory only.
pub(crate) fn inspect(root: &Path, opts: &InspectOptions) -> Result<Inventory> {
    check_root(root, &opts.filter)?;
    let mut errors = Vec::new();
    let mut run_configs: Vec<serde_json::Value> = Vec::new();
    let mut partitions = Vec::new();
    let (found, bad_dates) = find_partitions(root, &opts.filter)?;
    for d in bad_dates {
        errors.push(format!(
            "{}: invalid partition directory: the date is not a UTC date YYYY-MM-DD",
            d.display()
        ));
    }
    for fp in found {
        let mut info = PartitionInfo::empty(&fp);
        for (name, path, is_dir) in list_dir(&fp.dir)? {
            if !is_dir {
                let file = info.add_file(&name, &path, &mut run_configs);
                errors.extend(file.err().map(|e| format!("{e:#}")));
            }
        }
        partitions.push(info);
    }
    let markets = totals(&partitions);
    let state = state_info(root, &opts.filter, &mut errors);
    Ok(Inventory {
        root: root.display().to_string(),
        contract_version: daedalus_model::CONTRACT_VERSION.to_string(),
        partitions,
        markets,
        run_configs,
        state,
        errors,
    })
}

/// An existing directory with at least one layer directory, and a valid date filter, or an
/// error saying what is wrong.
fn check_root(root: &Path, filter: &FilterSpec) -> Result<()> {
    if !root.exists() {
        bail!("{}: no such directory", root.display());
    }
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    filter.date_bounds()?;
    if !LAYERS.iter().any(|l| root.join(l).is_dir()) {
        bail!(
            "{}: no outputs here (no bronze/, silver/ or gold/ directory): is this a daedalus root?",
            root.display()
        );
    }
    Ok(())
}

impl PartitionInfo {
    /// The partition of `fp` before any of its files is read.
    fn empty(fp: &FoundPartition) -> PartitionInfo {
        PartitionInfo {
            layer: fp.layer.clone(),
            dataset: fp.dataset.clone(),
            spec: fp.spec.clone(),
            exchange: fp.exchange.clone(),
            symbol: fp.symbol.clone(),
            date: fp.date.to_string(),
            files: 0,
            rows: 0,
            bytes: 0,
            staged_files: 0,
            staged_bytes: 0,
            time_column: time_column(&fp.dataset).to_string(),
            min_ts: None,
            max_ts: None,
            files_without_stats: 0,
            producers: Vec::new(),
            contract_versions: Vec::new(),
            run_config_ids: Vec::new(),
            quality: BTreeMap::new(),
        }
    }

    /// Counts one file of the partition directory: a staged file by its size, a Parquet file
    /// by its footer (rows, time bounds, producer, contract, run configuration as an index into
    /// `run_configs`, quality counters); other files are ignored. An unreadable footer or a
    /// foreign contract is the error (the file still counts as a file of `bytes`).
    fn add_file(
        &mut self,
        name: &str,
        path: &Path,
        run_configs: &mut Vec<serde_json::Value>,
    ) -> Result<()> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if is_staged(name) {
            self.staged_files += 1;
            self.staged_bytes += size;
            return Ok(());
        }
        if !name.ends_with(".parquet") {
            return Ok(());
        }
        self.files += 1;
        self.bytes += size;
        let md = read_footer(path)?;
        let kv = footer_kv(&md);
        check_contract(path, kv.get(KEY_CONTRACT).map(String::as_str))?;
        self.rows += md.file_metadata().num_rows().max(0) as u64;
        match time_bounds(&md, &self.time_column) {
            Some(Some((lo, hi))) => {
                self.min_ts = Some(self.min_ts.map_or(lo, |m| m.min(lo)));
                self.max_ts = Some(self.max_ts.map_or(hi, |m| m.max(hi)));
            }
            Some(None) => {}
            None => self.files_without_stats += 1,
        }
        push_new(&mut self.producers, kv.get(KEY_PRODUCER));
        push_new(&mut self.contract_versions, kv.get(KEY_CONTRACT));
        if let Some(rc) = kv.get(KEY_RUN_CONFIG) {
            let v = serde_json::from_str::<serde_json::Value>(rc)
                .unwrap_or_else(|_| serde_json::Value::String(rc.clone()));
            let id = match run_configs.iter().position(|x| *x == v) {
                Some(i) => i,
                None => {
                    run_configs.push(v);
                    run_configs.len() - 1
                }
            };
            push_new(&mut self.run_config_ids, Some(&id));
        }
        parse_quality(&kv, &mut self.quality);
        Ok(())
    }
}

/// Appends `v` to `list` unless it is absent or already there.
fn push_new<T: PartialEq + Clone>(list: &mut Vec<T>, v: Option<&T>) {
    if let Some(v) = v
        && !list.contains(v)
    {
        list.push(v.clone());
    }
}

fn totals(parts: &[PartitionInfo]) -> Vec<MarketTotals> {
    let mut m: BTreeMap<(usize, String, String, String), MarketTotals> = BTreeMap::new();
    for p in parts {
        let li = LAYERS.iter().position(|l| *l == p.layer).unwrap_or(9);
        let t = m
            .entry((li, p.dataset_path(), p.exchange.clone(), p.symbol.clone()))
            .or_insert_with(|| MarketTotals {
                dataset: p.dataset_path(),
                exchange: p.exchange.clone(),
                symbol: p.symbol.clone(),
                dates: 0,
                files: 0,
                rows: 0,
                bytes: 0,
                staged_files: 0,
                time_column: p.time_column.clone(),
                min_ts: None,
                max_ts: None,
            });
        t.dates += 1;
        t.files += p.files;
        t.rows += p.rows;
        t.bytes += p.bytes;
        t.staged_files += p.staged_files;
        if let Some(lo) = p.min_ts {
            t.min_ts = Some(t.min_ts.map_or(lo, |x| x.min(lo)));
        }
        if let Some(hi) = p.max_ts {
            t.max_ts = Some(t.max_ts.map_or(hi, |x| x.max(hi)));
        }
    }
    m.into_values().collect()
}

impl Inventory {
    /// Pending late inputs per market (`run --restate` recomputes them).
    fn pending_table(&self) -> String {
        let p = &self.state.pending_restatements;
        if p.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "pending late inputs ({} market(s); `run --restate` recomputes them):\n",
            p.len()
        );
        for m in p {
            out.push_str(&format!("  {}: {} input(s)\n", m.market, m.reasons.len()));
            for r in &m.reasons {
                let line = match r {
                    PendingReason::Late { file, rows, .. } => {
                        format!("late      {file} ({rows} row(s) not applied)")
                    }
                    PendingReason::Removed { file } => format!("removed   {file}"),
                    PendingReason::Changed { file, was, now } => {
                        format!("changed   {file} ({was} -> {now} bytes)")
                    }
                    PendingReason::Unconsumed { file, .. } => {
                        format!("unread    {file} (rows behind the checkpoint)")
                    }
                };
                out.push_str(&format!("    {line}\n"));
            }
        }
        out
    }
}

/// The state directory and its per-market checkpoints (header only).
fn state_info(root: &Path, filter: &FilterSpec, errors: &mut Vec<String>) -> StateInfo {
    let dir = root.join("_daedalus");
    let mut s = StateInfo {
        dir: dir.display().to_string(),
        present: dir.is_dir(),
        ..StateInfo::default()
    };
    if !s.present {
        return s;
    }
    let late = dir.join("late.jsonl");
    if let Ok(t) = std::fs::read_to_string(&late) {
        s.late_files = Some(t.lines().filter(|l| !l.trim().is_empty()).count() as u64);
    }
    match daedalus_dataflow::restate::pending(root, &dir, daedalus_dataflow::Clock::Event) {
        Ok(p) => {
            s.pending_restatements = p
                .into_iter()
                .filter(|p| {
                    filter.exchange.is_empty() || filter.exchange.contains(&p.market.exchange)
                })
                .filter(|p| filter.symbol.is_empty() || filter.symbol.contains(&p.market.symbol))
                .collect();
        }
        Err(e) => errors.push(format!(
            "pending late inputs: {}",
            daedalus_dataflow::chain(&e)
        )),
    }
    match state::checkpoints(root, &dir, errors) {
        Ok(cks) => {
            s.checkpoints = cks
                .into_iter()
                .filter(|c| filter.exchange.is_empty() || filter.exchange.contains(&c.exchange))
                .filter(|c| filter.symbol.is_empty() || filter.symbol.contains(&c.symbol))
                .collect()
        }
        Err(e) => errors.push(format!("{e:#}")),
    }
    s
}

fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = b as f64;
    let mut i = 0;
    while x >= 1024.0 && i < U.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{x:.1} {}", U[i])
    }
}

fn table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w[i].saturating_sub(c.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(w.iter().map(|n| "-".repeat(*n)).collect()));
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

impl Inventory {
    /// The human-readable report: one table row per dataset, market and date, then run
    /// parameters, state and problems.
    pub(crate) fn render_text(&self) -> String {
        let mut out = format!("root {}\n\n", self.root);
        let rows: Vec<Vec<String>> = self
            .partitions
            .iter()
            .map(|p| {
                vec![
                    p.dataset_path(),
                    p.market(),
                    p.date.clone(),
                    p.files.to_string(),
                    p.rows.to_string(),
                    human_bytes(p.bytes),
                    p.min_ts.map(fmt_ts_short).unwrap_or_else(|| "-".into()),
                    p.max_ts.map(fmt_ts_short).unwrap_or_else(|| "-".into()),
                    if p.staged_files > 0 {
                        p.staged_files.to_string()
                    } else {
                        "-".into()
                    },
                    if p.run_config_ids.is_empty() {
                        "-".into()
                    } else {
                        p.run_config_ids
                            .iter()
                            .map(|i| format!("#{}", i + 1))
                            .collect::<Vec<_>>()
                            .join(",")
                    },
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "dataset", "market", "date", "files", "rows", "bytes", "first", "last", "staged",
                "params",
            ],
            &rows,
            &[
                false, false, false, true, true, true, false, false, true, false,
            ],
        ));
        let files: u64 = self.partitions.iter().map(|p| p.files).sum();
        let rows_total: u64 = self.partitions.iter().map(|p| p.rows).sum();
        let bytes: u64 = self.partitions.iter().map(|p| p.bytes).sum();
        let staged: u64 = self.partitions.iter().map(|p| p.staged_files).sum();
        out.push_str(&format!(
            "\n{} partition(s), {files} committed file(s), {rows_total} rows, {}; {staged} staged file(s)\n",
            self.partitions.len(),
            human_bytes(bytes)
        ));
        let mut q: BTreeMap<&str, u64> = BTreeMap::new();
        for p in &self.partitions {
            for (k, v) in &p.quality {
                *q.entry(k).or_default() += v;
            }
        }
        if !q.is_empty() {
            let s: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("quality (file metadata): {}\n", s.join("  ")));
        }
        for (i, rc) in self.run_configs.iter().enumerate() {
            out.push_str(&format!(
                "\nrun parameters #{}: {}\n",
                i + 1,
                compact_params(rc)
            ));
        }
        out.push_str(&format!(
            "\nstate {}: {}\n",
            self.state.dir,
            if self.state.present {
                "present"
            } else {
                "absent (no checkpointed run yet)"
            }
        ));
        if !self.state.checkpoints.is_empty() {
            out.push_str(&self.checkpoint_table());
        }
        if let Some(n) = self.state.late_files {
            out.push_str(&format!("late bronze files recorded: {n}\n"));
        }
        out.push_str(&self.pending_table());
        if !self.errors.is_empty() {
            out.push_str(&format!("\n{} problem(s):\n", self.errors.len()));
            for e in &self.errors {
                out.push_str(&format!("  {e}\n"));
            }
        }
        out
    }

    /// The state directory's checkpoints, one table row per market.
    fn checkpoint_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .state
            .checkpoints
            .iter()
            .map(|c| {
                vec![
                    format!("{}/{}", c.exchange, c.symbol),
                    c.seq.to_string(),
                    fmt_ts_short(c.processed_until),
                    fmt_ts(c.written_unix_ms as i64 * 1_000_000)[..19].replace('T', " "),
                    if c.finished { "yes" } else { "no" }.into(),
                    c.committed_files.to_string(),
                    c.committed_rows.to_string(),
                    c.quality
                        .iter()
                        .filter(|(_, v)| **v > 0)
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ]
            })
            .collect();
        table(
            &[
                "market",
                "ckpt",
                "processed until",
                "written (UTC)",
                "finished",
                "files",
                "rows",
                "quality",
            ],
            &rows,
            &[false, true, false, false, false, true, true, false],
        )
    }
}

/// One line of run parameters: the JSON object's scalar members and short arrays.
pub(crate) fn compact_params(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, x)| format!("{k}={}", serde_json::to_string(x).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("  "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(fmt_ts(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            fmt_ts(1_723_161_600_000_000_001),
            "2024-08-09T00:00:00.000000001Z"
        );
        assert_eq!(
            fmt_ts_short(1_723_161_600_123_000_000),
            "08-09 00:00:00.123"
        );
    }

    #[test]
    fn contract_versions() {
        let p = Path::new("x.parquet");
        assert!(check_contract(p, Some("1")).is_ok());
        assert!(check_contract(p, None).is_ok());
        let e = check_contract(p, Some("2")).unwrap_err().to_string();
        assert!(e.contains("x.parquet") && e.contains("version 2"), "{e}");
    }

    #[test]
    fn staged_names() {
        assert!(is_staged(".part-00000.parquet.inprogress"));
        assert!(!is_staged("part-00000.parquet"));
    }

    #[test]
    fn empty_and_missing_roots_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let e = inspect(d.path(), &InspectOptions::default()).unwrap_err();
        assert!(format!("{e:#}").contains("no outputs"), "{e:#}");
        let e = inspect(&d.path().join("nope"), &InspectOptions::default()).unwrap_err();
        assert!(format!("{e:#}").contains("no such directory"), "{e:#}");
    }
}
