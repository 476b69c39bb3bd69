//! Per-market checkpoints: the manifest of committed output files and the operator state, in one
//! atomically written, checksummed file (the exactly-once commit point).
//!
//! Layout under the state directory (default `<root>/_daedalus/`):
//!
//! ```text
//! _daedalus/FORMAT                                      "daedalus-state <FORMAT_VERSION>"
//! _daedalus/ROOT_ID                                     the root's identity, written once
//! _daedalus/markets/exchange=<e>/symbol=<s>.ckpt        one checkpoint per market
//! _daedalus/late.jsonl                                  one JSON line per late bronze file
//! ```
//!
//! A `.ckpt` file is `MAGIC` (8 bytes) · format version (u32 LE) · header length (u32 LE) ·
//! header (JSON, [`CheckpointHeader`]) · state length (u64 LE) · state bytes (opaque to this
//! module: the dataflow's serialized market state) · CRC-32 of every preceding byte (u32 LE).
//! It is written to a dot-named temporary, fsynced, renamed over the previous checkpoint and the
//! directory fsynced, so a reader sees the old or the new checkpoint, never a mix. Markets are
//! independent (no operator state spans markets), so the set of per-market checkpoints is a
//! consistent cut of the whole run whatever the worker or process count.
//!
//! **Commit protocol** (see `docs/OPERATIONS.md`): output part files are finished under staged
//! dot-names; the checkpoint listing them (by final name) is renamed in — that is the commit;
//! then the staged files are renamed to their final names. [`recover_market`] rolls a crash in
//! between forward (staged file listed by the checkpoint: renamed) or back (staged file not
//! listed, or visible file not listed: removed).

use crate::atomic::{fsync_dir, is_staged_name, remove_staged, staged_name};
use crate::fault::{self, Step};
use crate::{Result, SinkError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Leading bytes of every checkpoint file.
pub(crate) const MAGIC: &[u8; 8] = b"DDLSCKPT";
/// Version of the checkpoint format; a different version is refused, never guessed.
pub const FORMAT_VERSION: u32 = 1;

/// One committed output file of a market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Path relative to the output root (`silver/book/exchange=.../date=.../part-00000.parquet`).
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// Written by the end-of-input flush (open bars and intervals, `is_complete = false`): removed
    /// when a later run resumes this market with new input.
    #[serde(default)]
    pub provisional: bool,
}

/// One bronze file whose rows (below `processed_until`) are covered by the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path relative to the root (`bronze/trades/exchange=.../part.parquet`).
    pub path: String,
    /// Size in bytes when read; a consumed file that changes size is an error, not a re-read.
    pub size: u64,
}

/// The JSON header of a checkpoint: everything but the operator state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// Contract version of the outputs.
    pub contract_version: String,
    /// Producer (`daedalus <version>`).
    pub producer: String,
    /// Fingerprint of every parameter that changes output values; a resume with another
    /// fingerprint is refused (use `--rebuild`).
    pub config_fingerprint: String,
    /// The run parameters (JSON of the run configuration), so any output can be reproduced.
    #[serde(default)]
    pub parameters: String,
    /// Exchange: must match the checkpoint's path.
    pub exchange: String,
    /// Symbol: must match the checkpoint's path.
    pub symbol: String,
    /// Identity of the root that wrote it (`_daedalus/ROOT_ID`, see [`root_id`]); a checkpoint
    /// of another root is refused. `None` in checkpoints of releases before issue 15, which are
    /// adopted (the next checkpoint of the market carries the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
    /// Every bronze row of this market with ordering time `< processed_until` (ns) has been
    /// applied to the state, and no later row.
    pub processed_until: i64,
    /// Checkpoint sequence number of this market (1, 2, ...).
    pub seq: u64,
    /// Wall clock when written (ms since the Unix epoch).
    pub written_unix_ms: u64,
    /// True when the end-of-input flush ran (provisional outputs exist).
    pub finished: bool,
    /// Bronze files consumed so far.
    pub inputs: Vec<InputFile>,
    /// Output files committed so far.
    pub outputs: Vec<OutputFile>,
    /// Data-quality counters of the market so far.
    pub quality: std::collections::BTreeMap<String, u64>,
    /// Length of the state blob (informational; the frame carries the real length).
    pub state_bytes: u64,
}

/// A checkpoint read back and verified.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The header.
    pub header: CheckpointHeader,
    /// The operator state bytes.
    pub state: Vec<u8>,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> SinkError {
    SinkError::Checkpoint {
        path: path.into(),
        detail: detail.into(),
    }
}

/// Directory of the per-market checkpoints.
pub(crate) fn markets_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("markets")
}

/// Path of a market's checkpoint.
pub fn checkpoint_path(state_dir: &Path, exchange: &str, symbol: &str) -> PathBuf {
    markets_dir(state_dir)
        .join(format!("exchange={exchange}"))
        .join(format!("symbol={symbol}.ckpt"))
}

/// Creates the state directory and its `FORMAT` marker, or checks the marker of an existing one.
pub fn init_state_dir(state_dir: &Path) -> Result<()> {
    let marker = state_dir.join("FORMAT");
    let want = format!("daedalus-state {FORMAT_VERSION}\n");
    match std::fs::read_to_string(&marker) {
        Ok(s) if s == want => Ok(()),
        Ok(s) => Err(corrupt(
            &marker,
            format!(
                "state directory format {:?}, this build reads {:?}: use another --state-dir or --rebuild",
                s.trim(),
                want.trim()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(state_dir).map_err(|source| SinkError::Io {
                path: state_dir.into(),
                source,
            })?;
            write_atomic(&marker, want.as_bytes())
        }
        Err(source) => Err(SinkError::Io {
            path: marker,
            source,
        }),
    }
}

/// The root's identity: the content of `<state_dir>/ROOT_ID`, created at the first run with a
/// fresh random-enough id (wall clock, pid, address entropy). Created atomically and only if
/// absent (a hard link of a complete temporary), so concurrent processes of a cluster agree on
/// one id whichever creates it.
pub fn root_id(state_dir: &Path) -> Result<String> {
    let path = state_dir.join("ROOT_ID");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| SinkError::Io { path: p, source }
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {
            return Err(corrupt(
                &path,
                "empty root id: restore it from a backup or remove it (its checkpoints will then be refused)",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(SinkError::Io { path, source }),
    }
    std::fs::create_dir_all(state_dir).map_err(io(state_dir))?;
    let id = new_root_id();
    let tmp = state_dir.join(staged_name(&format!("ROOT_ID.{}", std::process::id())));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(format!("{id}\n").as_bytes())
        .map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => fsync_dir(state_dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(SinkError::Io { path, source }),
    }
    let s = std::fs::read_to_string(&path).map_err(io(&path))?;
    Ok(s.trim().to_string())
}

/// A new root id: 32 hex digits from the wall clock, the pid and a hasher's random keys.
fn new_root_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:016x}{:016x}", h.finish(), nanos as u64)
}

/// Writes `bytes` to `path` atomically (dot-temporary, fsync, rename, directory fsync).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| SinkError::Io {
        path: dir.into(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    // Unique per writer: processes of a cluster may write the same marker at once.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(staged_name(&format!(
        "{name}.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )));
    let res = write_tmp(&tmp, bytes).and_then(|()| {
        fault::check(Step::CheckpointRename, path)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| SinkError::Io {
                path: path.into(),
                source,
            })
    });
    if res.is_err() {
        // Nothing was replaced: the temporary goes (a dot-name nothing reads if this fails too).
        remove_staged(&tmp);
    }
    res?;
    fsync_dir(dir)
}

/// Writes and fsyncs `tmp` (the temporary of [`write_atomic`]).
fn write_tmp(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| SinkError::Io {
        path: tmp.into(),
        source,
    };
    let mut f = std::fs::File::create(tmp).map_err(io)?;
    fault::check(Step::CheckpointWrite, tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    fault::check(Step::Fsync, tmp).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Encodes a checkpoint frame.
pub(crate) fn encode(header: &CheckpointHeader, state: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("header serializes");
    encode_raw(&json, state)
}

/// Frames any header bytes and state with a correct magic, version and checksum, so the fuzz
/// targets reach the header and state decoders behind the checksum.
#[cfg(feature = "fuzzing")]
pub fn encode_frame_for_fuzzing(json: &[u8], state: &[u8]) -> Vec<u8> {
    encode_raw(json, state)
}

fn encode_raw(json: &[u8], state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 + 4 + json.len() + 8 + state.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(&(state.len() as u64).to_le_bytes());
    out.extend_from_slice(state);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and verifies a checkpoint frame read from `path`.
pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<Checkpoint> {
    if bytes.len() < 8 + 4 + 4 + 8 + 4 || &bytes[..8] != MAGIC {
        return Err(corrupt(
            path,
            "not a daedalus checkpoint (bad magic or truncated)",
        ));
    }
    let n = bytes.len();
    let stored = u32::from_le_bytes(bytes[n - 4..].try_into().expect("4 bytes"));
    let actual = crc32fast::hash(&bytes[..n - 4]);
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if stored != actual {
        return Err(corrupt(
            path,
            format!(
                "checksum mismatch (stored {stored:08x}, computed {actual:08x}): the file is truncated or corrupted"
            ),
        ));
    }
    if version != FORMAT_VERSION {
        return Err(corrupt(
            path,
            format!(
                "checkpoint format version {version}, this build reads {FORMAT_VERSION}: use --rebuild"
            ),
        ));
    }
    let hlen = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let hend = 16usize
        .checked_add(hlen)
        .filter(|&e| e + 8 + 4 <= n)
        .ok_or_else(|| corrupt(path, "header length out of range"))?;
    let header: CheckpointHeader = serde_json::from_slice(&bytes[16..hend])
        .map_err(|e| corrupt(path, format!("header: {e}")))?;
    let slen = u64::from_le_bytes(bytes[hend..hend + 8].try_into().expect("8 bytes")) as usize;
    let send = (hend + 8)
        .checked_add(slen)
        .filter(|&e| e + 4 == n)
        .ok_or_else(|| corrupt(path, "state length out of range"))?;
    Ok(Checkpoint {
        header,
        state: bytes[hend + 8..send].to_vec(),
    })
}

/// Reads a market's checkpoint: `Ok(None)` when it has none; a clear error when it is corrupt.
pub fn load(state_dir: &Path, exchange: &str, symbol: &str) -> Result<Option<Checkpoint>> {
    let path = checkpoint_path(state_dir, exchange, symbol);
    match std::fs::read(&path) {
        Ok(b) => decode(&path, &b).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SinkError::Io { path, source }),
    }
}

/// Writes a market's checkpoint atomically: the commit point of its outputs.
pub fn store(state_dir: &Path, header: &CheckpointHeader, state: &[u8]) -> Result<()> {
    let path = checkpoint_path(state_dir, &header.exchange, &header.symbol);
    write_atomic(&path, &encode(header, state))
}

/// Removes a market's checkpoint (for `--rebuild`).
pub fn remove(state_dir: &Path, exchange: &str, symbol: &str) -> Result<()> {
    let path = checkpoint_path(state_dir, exchange, symbol);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SinkError::Io { path, source }),
    }
}

/// Every market with a checkpoint: `(exchange, symbol)`.
pub fn list_markets(state_dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let base = markets_dir(state_dir);
    let Ok(rd) = std::fs::read_dir(&base) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(ex) = name.strip_prefix("exchange=") else {
            continue;
        };
        let Ok(rd2) = std::fs::read_dir(e.path()) else {
            continue;
        };
        for f in rd2.flatten() {
            let n = f.file_name().to_string_lossy().to_string();
            if let Some(sym) = n
                .strip_prefix("symbol=")
                .and_then(|s| s.strip_suffix(".ckpt"))
            {
                out.push((ex.to_string(), sym.to_string()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Output partition directories of one market: every `<layer>/<dataset>[/<spec>]/exchange=<e>/
/// symbol=<s>/date=*` under `root`, for the silver and gold layers.
pub(crate) fn market_output_dirs(root: &Path, exchange: &str, symbol: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let ex = format!("exchange={exchange}");
    let sy = format!("symbol={symbol}");
    for layer in ["silver", "gold"] {
        walk_market_dirs(&root.join(layer), &ex, &sy, 0, &mut out);
    }
    out.sort();
    out
}

/// The visible output files of one market under `root`, relative to it, sorted.
pub fn market_output_files(root: &Path, exchange: &str, symbol: &str) -> Vec<String> {
    let mut out = Vec::new();
    for dir in market_output_dirs(root, exchange, symbol) {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".parquet")
                && !is_staged_name(&name)
                && let Ok(rel) = e.path().strip_prefix(root)
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Collects into `out` the `date=*` directories under `<dir>/**/<ex>/<sy>`, descending at most
/// four dataset/spec levels.
fn walk_market_dirs(dir: &Path, ex: &str, sy: &str, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        if name == ex {
            let Ok(dates) = std::fs::read_dir(p.join(sy)) else {
                continue;
            };
            out.extend(
                dates
                    .flatten()
                    .filter(|d| d.file_name().to_string_lossy().starts_with("date="))
                    .map(|d| d.path()),
            );
        } else if !name.starts_with("exchange=") && !name.starts_with('.') {
            walk_market_dirs(&p, ex, sy, depth + 1, out);
        }
    }
}

/// What [`recover_market`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Staged files listed by the checkpoint, renamed into place (roll forward).
    pub rolled_forward: u64,
    /// Staged files of an uncommitted epoch, removed (roll back).
    pub staged_removed: u64,
    /// Visible files not in the manifest, removed.
    pub unlisted_removed: u64,
}

/// Brings a market's output directories in line with its checkpoint (or with no checkpoint:
/// `manifest = None` removes every staged and visible output file of the market, which is what a
/// fresh run replaces). A committed file that is neither visible nor staged is an error.
pub fn recover_market(
    root: &Path,
    exchange: &str,
    symbol: &str,
    manifest: Option<&CheckpointHeader>,
) -> Result<Recovery> {
    let mut rec = Recovery::default();
    let listed: BTreeSet<PathBuf> = manifest
        .map(|h| h.outputs.iter().map(|o| root.join(&o.path)).collect())
        .unwrap_or_default();
    // Roll forward first: listed files still under their staged name.
    for p in &listed {
        if !p.exists() {
            roll_forward(root, p)?;
            rec.rolled_forward += 1;
        }
    }
    for dir in market_output_dirs(root, exchange, symbol) {
        remove_uncommitted(&dir, &listed, &mut rec)?;
    }
    Ok(rec)
}

/// Renames the staged copy of committed file `p` into place; an error if there is none.
fn roll_forward(root: &Path, p: &Path) -> Result<()> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let dir = p.parent().unwrap_or(root);
    let staged = dir.join(staged_name(&name));
    if !staged.exists() {
        return Err(corrupt(
            p,
            "listed as committed by the market's checkpoint but missing: restore the file or rerun with --rebuild",
        ));
    }
    std::fs::rename(&staged, p).map_err(|source| SinkError::Io {
        path: p.into(),
        source,
    })?;
    fsync_dir(dir)
}

/// Removes from `dir` every staged file and every visible Parquet file not in `listed`.
fn remove_uncommitted(dir: &Path, listed: &BTreeSet<PathBuf>, rec: &mut Recovery) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut changed = false;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let p = e.path();
        let counter = if is_staged_name(&name) {
            &mut rec.staged_removed
        } else if name.ends_with(".parquet") && !listed.contains(&p) {
            &mut rec.unlisted_removed
        } else {
            continue;
        };
        std::fs::remove_file(&p).map_err(|source| SinkError::Io { path: p, source })?;
        *counter += 1;
        changed = true;
    }
    if changed {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// One late bronze file, as appended to `late.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LateRecord {
    /// Bronze file, relative to the root.
    pub file: String,
    /// Market.
    pub market: String,
    /// Rows behind the watermark (not applied).
    pub late_rows: u64,
    /// The watermark (ns) the rows were behind.
    pub watermark: i64,
    /// Least ordering time among the late rows (ns).
    pub min_ts: i64,
    /// Wall clock of detection (ms since the Unix epoch).
    pub detected_unix_ms: u64,
}

/// Appends one record to `<state_dir>/late.jsonl`.
pub fn append_late(state_dir: &Path, rec: &LateRecord) -> Result<()> {
    let path = state_dir.join("late.jsonl");
    let io = |source| SinkError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(io)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    let mut line = serde_json::to_string(rec).expect("record serializes");
    line.push('\n');
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)
}

/// The records of `<state_dir>/late.jsonl` (none when it does not exist). A line that does not
/// parse is an error naming the file and line.
pub fn read_late(state_dir: &Path) -> Result<Vec<LateRecord>> {
    let path = state_dir.join("late.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SinkError::Io { path, source }),
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        out.push(serde_json::from_str(line).map_err(|e| {
            corrupt(
                &path,
                format!("line {}: not a late-file record: {e}", i + 1),
            )
        })?);
    }
    Ok(out)
}

/// Rewrites `<state_dir>/late.jsonl` atomically with the records `keep` accepts (a restatement
/// resolves the late files of the markets it recomputed).
pub fn retain_late(state_dir: &Path, keep: impl Fn(&LateRecord) -> bool) -> Result<()> {
    let recs = read_late(state_dir)?;
    if recs.iter().all(&keep) {
        return Ok(());
    }
    let mut text = String::new();
    for r in recs.iter().filter(|r| keep(r)) {
        text.push_str(&serde_json::to_string(r).expect("record serializes"));
        text.push('\n');
    }
    write_atomic(&state_dir.join("late.jsonl"), text.as_bytes())
}

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CheckpointHeader {
        CheckpointHeader {
            format_version: FORMAT_VERSION,
            contract_version: "1".into(),
            producer: "test".into(),
            config_fingerprint: "abc".into(),
            parameters: "{}".into(),
            exchange: "binance".into(),
            symbol: "BTCUSDT".into(),
            root_id: Some("r1".into()),
            processed_until: 42,
            seq: 3,
            written_unix_ms: 1,
            finished: false,
            inputs: vec![InputFile {
                path: "bronze/x.parquet".into(),
                size: 10,
            }],
            outputs: vec![OutputFile {
                path: "silver/book/part-00000.parquet".into(),
                rows: 5,
                provisional: false,
            }],
            quality: Default::default(),
            state_bytes: 3,
        }
    }

    #[test]
    fn round_trip_and_every_corruption_is_detected() {
        let h = header();
        let bytes = encode(&h, &[1, 2, 3]);
        let p = Path::new("x.ckpt");
        let c = decode(p, &bytes).unwrap();
        assert_eq!(c.header, h);
        assert_eq!(c.state, vec![1, 2, 3]);
        // Every truncation and every single bit flip is an error, never a silent success.
        for cut in 0..bytes.len() {
            assert!(decode(p, &bytes[..cut]).is_err(), "truncated at {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(decode(p, &b).is_err(), "flip byte {i} bit {bit}");
            }
        }
    }

    /// A checkpoint of the previous release (no `root_id` in its header) still decodes, with
    /// `root_id: None`; a header with one round-trips it.
    #[test]
    fn issue_15_previous_release_headers_decode_without_a_root_id() {
        let mut h = header();
        h.root_id = None;
        let json = serde_json::to_string(&h).unwrap();
        assert!(!json.contains("root_id"), "{json}");
        let bytes = encode(&h, &[7]);
        let c = decode(Path::new("old.ckpt"), &bytes).unwrap();
        assert_eq!(c.header.root_id, None);
        assert_eq!(c.header, h);
        let with = header();
        let c = decode(Path::new("new.ckpt"), &encode(&with, &[])).unwrap();
        assert_eq!(c.header.root_id.as_deref(), Some("r1"));
    }

    #[test]
    fn root_id_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = root_id(dir.path()).unwrap();
        let b = root_id(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(root_id(other.path()).unwrap(), a);
    }

    #[test]
    fn recovery_rolls_forward_listed_and_removes_unlisted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let d = root.join("silver/book/exchange=x/symbol=Y/date=2024-01-01");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(".part-00000.parquet.inprogress"), b"a").unwrap();
        std::fs::write(d.join(".part-00001.parquet.inprogress"), b"b").unwrap();
        std::fs::write(d.join("part-00009.parquet"), b"old").unwrap();
        let mut h = header();
        h.exchange = "x".into();
        h.symbol = "Y".into();
        h.outputs = vec![OutputFile {
            path: "silver/book/exchange=x/symbol=Y/date=2024-01-01/part-00000.parquet".into(),
            rows: 1,
            provisional: false,
        }];
        let r = recover_market(root, "x", "Y", Some(&h)).unwrap();
        assert_eq!(
            r,
            Recovery {
                rolled_forward: 1,
                staged_removed: 1,
                unlisted_removed: 1
            }
        );
        let mut names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec!["part-00000.parquet".to_string()]);
        // A listed file that is gone is an error.
        std::fs::remove_file(d.join("part-00000.parquet")).unwrap();
        assert!(recover_market(root, "x", "Y", Some(&h)).is_err());
    }
}
