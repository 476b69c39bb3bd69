//! Which timestamp orders events, and the lower bound it has before a file's footer is read.

use daedalus_model::time::{Date, NANOS_PER_DAY, Nanos};
use serde::{Deserialize, Serialize};

/// Which timestamp orders events (CONTRACT §3: `ts_event` by default, `ts_recv` with
/// `--clock receive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrderClock {
    /// `ts_event`.
    #[default]
    Event,
    /// `ts_recv`.
    Receive,
}

/// Lower bound of the ordering clock for a partition's rows before its footer is read.
pub fn date_lower_bound(date: Date, clock: OrderClock) -> Nanos {
    match clock {
        OrderClock::Event => date.start_nanos(),
        OrderClock::Receive => date.start_nanos() - NANOS_PER_DAY,
    }
}
