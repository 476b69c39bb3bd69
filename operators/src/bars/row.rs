//! The `gold/bars` row and the AFML audit it carries: what every bar family emits. Defined in
//! the model beside the `gold/bars` schema and encoder; re-exported here for the aggregators.

pub use daedalus_model::features::{AfmlAudit, BarRow};
