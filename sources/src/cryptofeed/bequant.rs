//! Bequant (stub).

use super::{Bad, Received, Sink, VenueParser};

/// The Bequant parser.
#[derive(Debug, Default)]
pub struct Bequant;

impl VenueParser for Bequant {
    fn on_message(&mut self, _msg: Received<'_>, _sink: &mut Sink) -> Result<(), Bad> {
        Ok(())
    }
}
