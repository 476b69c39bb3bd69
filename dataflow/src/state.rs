//! Run-wide state shared by the workers of one process: the market registry, the resume index
//! loaded from the per-market checkpoints, crash recovery of output directories, the stop flag
//! (SIGINT/SIGTERM) and the VPIN `adv` oracle.
//!
//! Nothing here is per-worker state: operator state lives in the operators and is checkpointed
//! per market by the sink (see `daedalus_sinks::manifest`).

use crate::config::RunConfig;
use crate::error::EngineError;
use crate::observer::RunObserver;
use daedalus_model::fixed::Qty;
use daedalus_model::market::Market;
use daedalus_model::rows::Dataset;
use daedalus_model::time::{Date, Nanos};
use daedalus_sinks::manifest::{self, Checkpoint, CheckpointHeader};
use daedalus_sources::bronze::discover;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// Trading days whose volume the `adv` rule averages (CONTRACT §9.8).
pub const ADV_DAYS: i64 = 30;
type Result<T> = std::result::Result<T, EngineError>;
/// Buckets per day of the `adv` rule (V = ADV / 50).
pub const ADV_BUCKETS_PER_DAY: f64 = 50.0;

/// What a market's checkpoint says, for the sources (what to skip) and the market operator
/// (the state to restore).
#[derive(Debug, Clone)]
pub(crate) struct MarketResume {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Consumed inputs: relative path -> size.
    pub inputs: HashMap<String, u64>,
}

impl MarketResume {
    /// Rows before this ordering time were applied.
    pub(crate) fn processed_until(&self) -> Nanos {
        self.checkpoint.header.processed_until
    }
}

/// The `adv` rule as an oracle: V for a day from the trailing 30 days of bronze trades present
/// when it is asked (never the day itself: no look-ahead). Daily volumes are cached.
#[derive(Debug, Default)]
pub(crate) struct AdvOracle {
    daily: Mutex<HashMap<(u64, i64), f64>>,
}

impl AdvOracle {
    /// V for `day` of `market`, or `None` when no earlier day has trades.
    pub(crate) fn v_for_day(&self, root: &Path, market: &Market, day: i64) -> Result<Option<Qty>> {
        let key = market.hash64();
        let history = discover(root, &[Dataset::Trades], |e, s, d| {
            e == market.exchange
                && s == market.symbol
                && (day - ADV_DAYS..day).contains(&d.days_since_epoch())
        })
        .map_err(EngineError::bronze(
            "listing bronze trades for the adv rule",
        ))?;
        let mut window = Vec::new();
        for p in history {
            let d = p.date.days_since_epoch();
            let cached = self
                .daily
                .lock()
                .expect("adv cache")
                .get(&(key, d))
                .copied();
            let v = match cached {
                Some(v) => v,
                None => {
                    let v = daedalus_sources::bronze::partition_traded_volume(&p).map_err(
                        EngineError::bronze("reading traded volume for the adv rule"),
                    )?;
                    self.daily.lock().expect("adv cache").insert((key, d), v);
                    v
                }
            };
            window.push(v);
        }
        if window.is_empty() {
            return Ok(None);
        }
        let adv = window.iter().sum::<f64>() / window.len() as f64;
        let v = Qty::from_f64(adv / ADV_BUCKETS_PER_DAY).filter(|q| q.0 > 0);
        if let Some(v) = v {
            tracing::info!(
                "{market}: VPIN V for {} = {:.6} (adv rule, {} earlier day(s))",
                Date::from_days(day),
                v.to_f64(),
                window.len()
            );
        }
        Ok(v)
    }
}

/// Process-wide run state.
pub(crate) struct RunState {
    /// Root (bronze in; silver/gold out unless this run computes a shadow).
    pub root: PathBuf,
    /// Where silver and gold go: the root, or a recomputation's shadow output tree.
    pub out_root: PathBuf,
    /// This run computes a recomputation's shadow: its output tree starts empty and is never
    /// reconciled (the live outputs it will replace are elsewhere).
    pub shadow: bool,
    /// Checkpoint directory.
    pub state_dir: PathBuf,
    /// Fingerprint of the output-changing parameters.
    pub fingerprint: String,
    /// The root's identity (`<state_dir>/ROOT_ID`), written into every checkpoint.
    pub root_id: String,
    /// Checkpoints loaded at start, by market key.
    pub resume: BTreeMap<u64, MarketResume>,
    /// Markets seen so far (key -> market).
    registry: Mutex<BTreeMap<u64, Market>>,
    /// Markets whose output directories were reconciled with their checkpoint.
    recovered: Mutex<HashSet<u64>>,
    /// Set by SIGINT/SIGTERM: stop reading, checkpoint, exit 0.
    pub stop: Arc<AtomicBool>,
    /// Set by a watch run with `--restate` when late bronze arrives: stop reading and
    /// checkpoint like a stop, so the caller restates and resumes watching.
    pub restart: AtomicBool,
    /// Consumed bronze files of resumed markets that are gone: (market, path relative to root).
    pub removed_inputs: Vec<(Market, String)>,
    /// VPIN `adv` rule.
    pub adv: AdvOracle,
    /// Datasets the run reads.
    pub datasets: Vec<Dataset>,
    /// Receives the run's progress.
    pub observer: Arc<dyn RunObserver>,
}

/// FNV-1a 64 of a string, hex.
fn fnv_hex(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Fingerprint of every parameter that changes output values (not the filter: it only selects
/// markets and dates, and each market's checkpoint says what it covers).
pub(crate) fn config_fingerprint(c: &RunConfig) -> String {
    let mut c = c.clone();
    c.filter = Default::default();
    c.dedup_specs();
    let json = serde_json::to_string(&c).unwrap_or_default();
    fnv_hex(&format!(
        "{}|{}|{json}",
        daedalus_model::CONTRACT_VERSION,
        manifest::FORMAT_VERSION
    ))
}

/// A checkpoint proves who it is (issue 15): its header names the market of its path, and the
/// root id it records (if any: checkpoints of earlier releases have none and are adopted) is
/// this root's. Checked for every checkpoint before anything is touched.
fn check_identity(state_dir: &Path, m: &Market, h: &CheckpointHeader, root_id: &str) -> Result<()> {
    let path = manifest::checkpoint_path(state_dir, &m.exchange, &m.symbol);
    if h.exchange != m.exchange || h.symbol != m.symbol {
        return Err(EngineError::CheckpointMarket {
            path,
            found: Market {
                exchange: h.exchange.clone(),
                symbol: h.symbol.clone(),
            },
            expected: m.clone(),
        });
    }
    match &h.root_id {
        Some(id) if id != root_id => Err(EngineError::CheckpointRoot {
            path,
            market: m.clone(),
            found: id.clone(),
            expected: root_id.to_string(),
        }),
        _ => Ok(()),
    }
}

impl RunState {
    /// Opens the state directory, loads and verifies every checkpoint, and lists consumed bronze
    /// files that are gone.
    pub(crate) fn open(
        root: &Path,
        out_root: &Path,
        shadow: bool,
        state_dir: &Path,
        config: &RunConfig,
        datasets: Vec<Dataset>,
        observer: Arc<dyn RunObserver>,
    ) -> Result<Self> {
        let state_err = || EngineError::state(format!("state directory {}", state_dir.display()));
        manifest::init_state_dir(state_dir).map_err(state_err())?;
        let fingerprint = config_fingerprint(config);
        let root_id = manifest::root_id(state_dir).map_err(state_err())?;
        let mut resume = BTreeMap::new();
        let mut removed_inputs = Vec::new();
        for (e, s) in manifest::list_markets(state_dir).map_err(state_err())? {
            let m = Market {
                exchange: e.clone(),
                symbol: s.clone(),
            };
            let Some(cp) = manifest::load(state_dir, &e, &s).map_err(state_err())? else {
                continue;
            };
            check_identity(state_dir, &m, &cp.header, &root_id)?;
            if cp.header.config_fingerprint != fingerprint {
                return Err(EngineError::Fingerprint {
                    path: manifest::checkpoint_path(state_dir, &e, &s),
                    market: m,
                    found: cp.header.config_fingerprint,
                    expected: fingerprint,
                });
            }
            let inputs: HashMap<String, u64> = cp
                .header
                .inputs
                .iter()
                .map(|i| (i.path.clone(), i.size))
                .collect();
            removed_inputs.extend(
                inputs
                    .keys()
                    .filter(|p| !root.join(p).exists())
                    .map(|p| (m.clone(), p.clone())),
            );
            resume.insert(
                m.hash64(),
                MarketResume {
                    checkpoint: cp,
                    inputs,
                },
            );
        }
        removed_inputs.sort();
        Ok(RunState {
            root: root.to_path_buf(),
            out_root: out_root.to_path_buf(),
            shadow,
            state_dir: state_dir.to_path_buf(),
            fingerprint,
            root_id,
            resume,
            registry: Mutex::new(BTreeMap::new()),
            recovered: Mutex::new(HashSet::new()),
            stop: Arc::new(AtomicBool::new(false)),
            restart: AtomicBool::new(false),
            removed_inputs,
            adv: AdvOracle::default(),
            datasets,
            observer,
        })
    }

    /// Sources stop reading and markets checkpoint: a signal, or late data to restate.
    pub(crate) fn halting(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
            || self.restart.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records a market seen by a source.
    pub(crate) fn register(&self, m: &Market) -> Result<()> {
        let mut r = self.registry.lock().expect("registry");
        match r.get(&m.hash64()) {
            Some(old) if old != m => Err(EngineError::KeyCollision(old.clone(), m.clone())),
            Some(_) => Ok(()),
            None => {
                r.insert(m.hash64(), m.clone());
                Ok(())
            }
        }
    }

    /// The market of a key: from the registry, else from the checkpoints, else by listing bronze
    /// (a chunk may come from another process that saw the file first).
    pub(crate) fn market(&self, key: u64) -> Result<Market> {
        if let Some(m) = self.registry.lock().expect("registry").get(&key) {
            return Ok(m.clone());
        }
        if let Some(r) = self.resume.get(&key) {
            let m = Market {
                exchange: r.checkpoint.header.exchange.clone(),
                symbol: r.checkpoint.header.symbol.clone(),
            };
            self.register(&m)?;
            return Ok(m);
        }
        let found = discover(&self.root, &self.datasets, |_, _, _| true)
            .map_err(EngineError::bronze("discovering bronze"))?;
        for p in found {
            let m = Market {
                exchange: p.exchange,
                symbol: p.symbol,
            };
            if m.hash64() == key {
                self.register(&m)?;
                return Ok(m);
            }
        }
        Err(EngineError::UnknownMarket(key))
    }

    /// Reconciles a market's output directories with its checkpoint once per process: staged
    /// files of the checkpoint rolled forward, anything else staged or unlisted removed. With no
    /// checkpoint, every output file of the market goes (a fresh run replaces them).
    pub(crate) fn ensure_recovered(&self, m: &Market) -> Result<()> {
        let key = m.hash64();
        if self.shadow || !self.recovered.lock().expect("recovered").insert(key) {
            return Ok(());
        }
        let header: Option<&CheckpointHeader> = self.resume.get(&key).map(|r| &r.checkpoint.header);
        if header.is_none() {
            manifest::remove(&self.state_dir, &m.exchange, &m.symbol).map_err(
                EngineError::state(format!("removing the checkpoint of {m}")),
            )?;
        }
        let rec = manifest::recover_market(&self.out_root, &m.exchange, &m.symbol, header)
            .map_err(EngineError::state(format!("recovering outputs of {m}")))?;
        if rec != Default::default() {
            tracing::info!(
                "{m}: recovered outputs: {} committed file(s) rolled forward, {} staged file(s) of an uncommitted epoch removed, {} unlisted file(s) removed",
                rec.rolled_forward,
                rec.staged_removed,
                rec.unlisted_removed
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint of a configuration without duplicate specs is what the previous release
    /// wrote into its checkpoints (issue 15: old checkpoints must still resume).
    #[test]
    fn fingerprints_without_duplicates_are_unchanged() {
        let mut c = RunConfig::default();
        assert_eq!(config_fingerprint(&c), "0aac08b0f7078e32");
        c.interval = vec!["1s".into(), "1m".into()];
        c.bar = vec!["time_1m".into(), "volume_5".into()];
        assert_eq!(config_fingerprint(&c), "d78c8c4f1070be34");
    }

    /// Issue 17 item 6: without `quote_alias` (or with the default pair spelled out) the
    /// serialized configuration, so its fingerprint and metadata, are those of the releases
    /// before quote aliases, `--normalize-quotes` on or off; another table is another
    /// fingerprint.
    #[test]
    fn quote_aliases_keep_the_default_fingerprint_and_change_others() {
        let plain = serde_json::to_string(&RunConfig::default()).unwrap();
        assert!(!plain.contains("quote_alias"), "{plain}");
        let nq = RunConfig {
            normalize_quotes: true,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&nq).unwrap(),
            plain.replace("\"normalize_quotes\":false", "\"normalize_quotes\":true")
        );
        let table = |pairs: &[(&str, &str)]| {
            let mut c = nq.clone();
            c.quote_alias = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            c.canonical_quote_alias();
            c
        };
        let spelled = table(&[("USDC", "USD"), ("USDT", "USD")]);
        assert_eq!(config_fingerprint(&spelled), config_fingerprint(&nq));
        assert_eq!(spelled.metadata(), nq.metadata());
        let tusd = table(&[("TUSD", "USD")]);
        assert_ne!(config_fingerprint(&tusd), config_fingerprint(&nq));
        assert!(
            tusd.metadata()[0]
                .1
                .contains(r#""quote_alias":{"TUSD":"USD"}"#)
        );
    }

    /// Issue 15, reproduction 6: specs are a set; the fingerprint uses the set.
    #[test]
    fn issue_15_duplicate_specs_share_the_fingerprint_of_the_set() {
        let c = RunConfig {
            interval: vec!["1s".into(), "1m".into()],
            bar: vec!["time_1m".into(), "volume_5".into()],
            ..Default::default()
        };
        let mut d = c.clone();
        d.interval = vec!["1s".into(), "1s".into(), "1m".into(), "60s".into()];
        d.bar = vec!["time_1m".into(), "time_60s".into(), "volume_5".into()];
        assert_eq!(config_fingerprint(&d), config_fingerprint(&c));
    }
}
