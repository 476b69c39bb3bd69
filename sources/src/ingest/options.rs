//! What `daedalus ingest` reads and how strictly.

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Raw Binance WebSocket recordings: `<recv_ns> <json>` lines, gzip or plain.
    BinanceRaw,
    /// Tardis `incremental_book_L2`, `trades`, `quotes` or `book_snapshot_N` CSV.
    TardisCsv,
    /// cryptofeed raw recorder captures (`<ts>: <json>` lines) of Coinbase, Kraken, OKX,
    /// BitMEX, Bybit or Bequant, with the venues' own book checks.
    Cryptofeed,
    /// Hyperliquid WebSocket recordings: `<recv_ns> <json>` lines of `l2Book` and `trades`.
    Hyperliquid,
    /// Bybit historical order book files (`*_ob500.data`, `.zip` too): `snapshot`/`delta` lines.
    BybitOrderbook,
    /// Binance public trade archives (data.binance.vision `trades`/`aggTrades` CSV, `.zip`
    /// too); `market` overrides the spot/USD-M/COIN-M kind told from the name and columns.
    BinanceVision {
        /// `--binance-market`.
        market: Option<VisionMarket>,
    },
}

/// The Binance market kind of a public archive (`--binance-market`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisionMarket {
    /// Spot (`binance`).
    Spot,
    /// USD-M futures (`binance-futures`).
    UsdM,
    /// COIN-M futures (`binance-delivery`).
    CoinM,
}

impl InputFormat {
    /// The format's name, the first part of its bronze file names (CONTRACT §10.1).
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::BinanceRaw => "binance-raw",
            InputFormat::TardisCsv => "tardis-csv",
            InputFormat::Cryptofeed => "cryptofeed",
            InputFormat::Hyperliquid => "hyperliquid",
            InputFormat::BybitOrderbook => "bybit-orderbook",
            InputFormat::BinanceVision { .. } => "binance-vision",
        }
    }
}

/// Ingest options.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Skip and count bad lines instead of failing; chain breaks become gap markers.
    pub lenient: bool,
    /// Keep an input whose depth diffs cannot be synced (no snapshot and no predecessor: the
    /// diffs are dropped, counted and warned about) instead of failing (issue 16). Implied by
    /// `lenient`.
    pub allow_unsynced: bool,
}
