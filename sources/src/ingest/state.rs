//! Ingest state per market (CONTRACT §10.2), under
//! `<root>/_daedalus/ingest/exchange=<E>/symbol=<S>.state`, framed and checksummed like run
//! checkpoints ([`daedalus_sinks::ingest_state`]). It records the book chain the market's last
//! input ended with, every input applied (identity, receive times, bronze files with row counts,
//! the chain before it, its counts) in application order, and the market's counters. The state
//! is what makes per-input calls equal to one call: the next input continues the chain, an
//! unchanged input is recognised and skipped, and an earlier input can be put in its place.

use super::report::MarketCounts;
use crate::cryptofeed::VenueBook;
use crate::error::{Result, SourceError};
use crate::formats::binance_raw::BookChain;
use daedalus_model::market::Market;
use daedalus_sinks::ingest_state::{decode_frame, encode_frame};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What of a market's book continues from one input into the next: Binance's update-id chain,
/// or a cryptofeed venue's whole book (its levels, id map, last sequence and top-of-book
/// history), so an input continues exactly where its predecessor ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Binance raw: snapshot id and last applied `u` (the fields of states written before
    /// cryptofeed, kept at the same place).
    #[serde(flatten)]
    pub ids: BookChain,
    /// cryptofeed: the book state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book: Option<VenueBook>,
}

impl From<BookChain> for Chain {
    fn from(ids: BookChain) -> Self {
        Chain { ids, book: None }
    }
}

impl From<VenueBook> for Chain {
    fn from(book: VenueBook) -> Self {
        Chain {
            ids: BookChain::default(),
            book: Some(book),
        }
    }
}

/// One input as applied to one market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedInput {
    /// Base name (the input's identity).
    pub name: String,
    /// Where it was read from (absolute), to re-apply it after an earlier input arrives.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Content hash (CRC-32 of the bytes, hex).
    pub hash: String,
    /// Its place in the market's order with the name: the receive time of its first line for
    /// formats whose inputs continue each other (Binance raw), 0 otherwise (ns).
    pub order: i64,
    /// Least receive time of its rows of this market (ns).
    pub first_recv: i64,
    /// Greatest receive time of its rows of this market (ns).
    pub last_recv: i64,
    /// Bronze files of this input and market (relative to the root) with their rows.
    pub files: Vec<(String, u64)>,
    /// The market's book chain before this input.
    pub chain_before: Chain,
    /// The counts of this input for this market.
    pub counts: MarketCounts,
    /// Lines of the whole input.
    pub lines: u64,
}

impl AppliedInput {
    /// The order of inputs within a market: first receive time, ties by name.
    pub fn key(&self) -> (i64, &str) {
        (self.order, &self.name)
    }

    /// The identity of the input across markets: name and content hash (two recordings of
    /// different markets may share a base name, e.g. spot and futures `btcusdt_20240808.gz`).
    pub fn id(&self) -> (String, String) {
        (self.name.clone(), self.hash.clone())
    }
}

/// The ingest state of one market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketState {
    /// Exchange.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// The book chain after the last input.
    pub chain: Chain,
    /// Inputs in application order.
    pub inputs: Vec<AppliedInput>,
    /// Sums of the inputs' counts.
    pub counters: MarketCounts,
}

impl MarketState {
    /// An empty state of `m`.
    pub fn new(m: &Market) -> Self {
        MarketState {
            exchange: m.exchange.clone(),
            symbol: m.symbol.clone(),
            chain: Chain::default(),
            inputs: Vec::new(),
            counters: MarketCounts::default(),
        }
    }

    /// Recomputes the counters from the inputs.
    pub fn recount(&mut self) {
        let mut c = MarketCounts::default();
        self.inputs.iter().for_each(|i| c.add(&i.counts));
        self.counters = c;
    }
}

/// The directory of ingest states.
pub fn state_dir(root: &Path) -> PathBuf {
    root.join("_daedalus").join("ingest")
}

/// The state file of market `m`, relative to the root.
pub fn state_rel(m: &Market) -> String {
    format!(
        "_daedalus/ingest/exchange={}/symbol={}.state",
        m.exchange, m.symbol
    )
}

/// The framed bytes of a state.
pub fn encode(s: &MarketState) -> Vec<u8> {
    let json = serde_json::to_vec(s).expect("state serializes");
    encode_frame(&json, &[])
}

fn read_state(path: &Path) -> Result<MarketState> {
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.into(),
        source,
    })?;
    let (json, _) = decode_frame(path, &bytes)?;
    serde_json::from_slice(json).map_err(|e| SourceError::File {
        file: path.into(),
        rule: format!("ingest state: {e}"),
    })
}

/// Every market's state under `root`.
pub fn load_all(root: &Path) -> Result<BTreeMap<Market, MarketState>> {
    let mut out = BTreeMap::new();
    let dir = state_dir(root);
    let Ok(exchanges) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for ex in exchanges.flatten() {
        let Ok(files) = std::fs::read_dir(ex.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".state") {
                continue;
            }
            let s = read_state(&f.path())?;
            let m = Market::new(&s.exchange, &s.symbol).map_err(|e| SourceError::File {
                file: f.path(),
                rule: e.to_string(),
            })?;
            out.insert(m, s);
        }
    }
    Ok(out)
}
