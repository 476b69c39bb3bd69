//! Venue recording parsers, one module per input format; each writes bronze rows through the
//! [`Ctx`](context::Ctx) it is given and imports only leaf modules (options, report, lines).

pub(crate) mod binance_raw;
pub(crate) mod binance_vision;
pub(crate) mod bybit_orderbook;
mod context;
mod fields;
pub(crate) mod hyperliquid;
pub(crate) mod json;
mod snapshot_feed;
pub(crate) mod tardis_csv;
