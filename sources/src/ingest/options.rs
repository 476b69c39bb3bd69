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
        }
    }
}

/// Ingest options.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Skip and count bad lines instead of failing; chain breaks become gap markers.
    pub lenient: bool,
}
