//! `gold/bars` of every type (CONTRACT §5, §9.5–9.8; FEATURES §9).
//!
//! **Bar types.** `time_<n>{s,m,h}` on the epoch grid `[T, T+D)` (D divides a day; left-open
//! `(T, T+D]` as an option), `tick_<n>` (closes at n trades), `volume_<x>` (the crossing trade is
//! split pro rata in exact `Qty` units, so every complete bar has volume == x; `no-split` mode as
//! an option), `dollar_<x>` (no split: closes when quote volume >= x), and the AFML
//! `imbalance_{tick,volume,dollar}` / `run_{tick,volume,dollar}` bars with mlfinlab-compatible
//! thresholds (tick-rule signs, first sign 0; expected imbalance = adjust-form EWMA of the last
//! `expected_imbalance_window` imbalances over the global history, set at warm-up and after every
//! bar; strict `>`; const or EMA expected bar length), emitting the thresholds used in
//! [`AfmlAudit`].
//!
//! **When rows are emitted.** A bar is emitted once it is complete: a time bar when a later trade
//! proves it closed (every empty time bar between two trades is emitted as a volume-0 row with
//! null prices; none before the first trade's bar or after the last's, CONTRACT §9.6), a
//! threshold bar when its threshold is reached. [`BarBuilder::finish`] emits the open bar with
//! `is_complete = false`. [`BarBuilder::pending_since`] is the `ts_open` of the bar still owed.
//!
//! **Timestamps.** Time bars: `ts_open = T`, `ts_close = T + D`. Other bars: `ts_open` = first
//! trade's time, `ts_close` = last trade's time + 1 ns (an exclusive end, so `ts_open < ts_close`
//! always). `bar_seq` counts 0, 1, 2, … within (builder, UTC date of `ts_open`).
//!
//! **Feature aggregates.** `ofi` = Σ book OFI flow in the bar (time bars: book messages in the
//! bar's slot; other bars: book messages since the previous bar's last trade). `mid_open` = mid in
//! force when the bar opens (time bars: after the last book message before `T`; other bars: as of
//! the first trade), `mid_close` = mid after the last book message before the bar's end,
//! `spread_mean` = time-weighted mean over `[ts_open, ts_close)` of the spread in force (defined
//! spans only; null if none). `vpin` = value of the last bucket completed by a trade before the
//! bar's end. `kyle_lambda` = rolling OLS over the last W bars of this builder (y = change of
//! `mid_close` from the previous bar, x = `signed_volume`; CONTRACT §9.7 null rules).
//!
//! **Layout.** `spec` parses bar specs and holds the options; `row` is the emitted row. Every
//! family shares the state in `shared`: one accumulator (`acc`), the book log (`book_log`) and
//! the emitter (`emit`). The families are `time`, `threshold` (tick, volume, dollar) and `afml`
//! (imbalance and run); [`BarBuilder`] dispatches to them over an enum (`builder`). `wire`
//! keeps the checkpoint layout of earlier releases.

mod acc;
mod afml;
mod book_log;
mod builder;
mod emit;
mod row;
mod shared;
mod spec;
mod threshold;
mod time;
mod wire;

pub use builder::BarBuilder;
pub use row::{AfmlAudit, BarRow};
pub use spec::{AfmlParams, BarConfig, BarSpec, BarSpecError, TimeBarClosure};

#[cfg(test)]
mod tests;
