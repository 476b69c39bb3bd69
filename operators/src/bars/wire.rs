//! The checkpoint layout of a [`BarBuilder`]. bincode is not self-describing, so the bytes are
//! the fields below in this order — the layout of the single-struct builder that wrote the first
//! checkpoints (`tests/fixtures/bars_v1`). Kind-only fields (`slot`, `afml`) are `None` for the
//! other families. Serializing borrows the live state; nothing is cloned but the spec.

use super::acc::Acc;
use super::afml::Afml;
use super::book_log::{BookEv, BookLog};
use super::builder::{Aggregator, BarBuilder};
use super::emit::Emitter;
use super::shared::Shared;
use super::spec::{BarConfig, BarSpec};
use crate::kyle::RollingKyle;
use daedalus_model::time::{Date, Nanos};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The wire fields, owned (decoding).
#[derive(Deserialize)]
struct Wire {
    spec: BarSpec,
    cfg: BarConfig,
    acc: Option<Acc>,
    slot: Option<i64>,
    log: Vec<BookEv>,
    base_mid: Option<f64>,
    base_spread: Option<f64>,
    log_from: Nanos,
    mid: Option<f64>,
    spread: Option<f64>,
    vpin: Option<f64>,
    prev_mid_close: Option<f64>,
    emitted_any: bool,
    kyle: RollingKyle,
    seq_date: Option<Date>,
    seq: i64,
    afml: Option<Afml>,
}

/// The wire fields, borrowed (encoding; bincode writes a reference as the value).
#[derive(Serialize)]
struct WireRef<'a> {
    spec: BarSpec,
    cfg: &'a BarConfig,
    acc: &'a Option<Acc>,
    slot: Option<i64>,
    log: &'a [BookEv],
    base_mid: Option<f64>,
    base_spread: Option<f64>,
    log_from: Nanos,
    mid: Option<f64>,
    spread: Option<f64>,
    vpin: Option<f64>,
    prev_mid_close: Option<f64>,
    emitted_any: bool,
    kyle: &'a RollingKyle,
    seq_date: Option<Date>,
    seq: i64,
    afml: Option<&'a Afml>,
}

impl Serialize for BarBuilder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (slot, afml) = match &self.agg {
            Aggregator::Time(t) => (t.slot, None),
            Aggregator::Threshold(_) => (None, None),
            Aggregator::Afml(a) => (None, Some(&**a)),
        };
        let (sh, book, em) = (&self.shared, &self.shared.book, &self.shared.emitter);
        WireRef {
            spec: self.agg.spec(),
            cfg: &self.cfg,
            acc: &sh.acc,
            slot,
            log: &book.events,
            base_mid: book.base_mid,
            base_spread: book.base_spread,
            log_from: book.from,
            mid: book.mid,
            spread: book.spread,
            vpin: sh.vpin,
            prev_mid_close: em.prev_mid_close,
            emitted_any: em.emitted_any,
            kyle: &em.kyle,
            seq_date: em.seq_date,
            seq: em.seq,
            afml,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for BarBuilder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let agg = aggregator(&w.spec, &w.cfg, w.slot, w.afml).map_err(D::Error::custom)?;
        let book = BookLog {
            events: w.log,
            base_mid: w.base_mid,
            base_spread: w.base_spread,
            from: w.log_from,
            mid: w.mid,
            spread: w.spread,
        };
        let emitter = Emitter {
            prev_mid_close: w.prev_mid_close,
            emitted_any: w.emitted_any,
            kyle: w.kyle,
            seq_date: w.seq_date,
            seq: w.seq,
        };
        Ok(BarBuilder {
            cfg: w.cfg,
            shared: Shared {
                acc: w.acc,
                book,
                vpin: w.vpin,
                emitter,
            },
            agg,
        })
    }
}

/// The aggregator of the decoded spec with its kind-only state; a field the spec's family does
/// not have must be `None` (else the bytes were not written by a builder).
fn aggregator(
    spec: &BarSpec,
    cfg: &BarConfig,
    slot: Option<i64>,
    afml: Option<Afml>,
) -> Result<Aggregator, &'static str> {
    let mut agg = Aggregator::new(spec, cfg);
    match (&mut agg, slot, afml) {
        (Aggregator::Time(t), slot, None) => t.slot = slot,
        (Aggregator::Threshold(_), None, None) => {}
        (Aggregator::Afml(a), None, Some(state)) => **a = state,
        _ => return Err("bar state does not match its spec"),
    }
    if agg.spec() != *spec {
        return Err("AFML state does not match its spec");
    }
    Ok(agg)
}
