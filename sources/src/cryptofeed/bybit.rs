//! Bybit (stub).

use super::{Bad, Received, Sink, VenueParser};

/// The Bybit parser.
#[derive(Debug, Default)]
pub struct Bybit;

impl VenueParser for Bybit {
    fn on_message(&mut self, _msg: Received<'_>, _sink: &mut Sink) -> Result<(), Bad> {
        Ok(())
    }
}
