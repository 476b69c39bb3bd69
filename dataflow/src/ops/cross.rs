//! `cross_features`: where the timely part ends and the differential part begins (CONTRACT §11).
//!
//! **Input.** The interval points ([`PointsMsg`]) of every market of a configured group, split
//! off the market operator's output, plus the points a resumed run restores from the groups'
//! commit records (`replay`, sent once by worker 0 at time 0). Points of a market that the
//! group's record already holds (its market checkpoint is older than the group's) are dropped,
//! so no point enters twice.
//!
//! **Timestamps.** Differential time is event time in ns. A point enters the collection at its
//! interval's `ts_close` (the interval is complete; the market operator sends it at a
//! capability at most its `ts_open`, or below `ts_close` for a market's first interval, so the
//! time is never behind its message) and is **retracted** at `ts_close + (W + 1)·D` (a temporal
//! filter): a point whose message time is after its `ts_close` is an internal error (the market
//! operator guarantees it is not, also for a resumed market), never a silently shifted time. At
//! time `t` the collection holds exactly the points of the `W + 1` grid intervals
//! ending at `t`, so arrangements hold `W + 1` intervals per market and no history (they compact
//! as the frontier passes).
//!
//! **Operators.** Points are keyed by `(base, grid)`, exchanged by that key (differential's
//! hash), arranged; the reference's points are joined with the group's non-reference markets
//! (`distinct` over the window), and a `reduce` per `(base, grid, market)` computes the row of
//! the newest interval in the window with [`daedalus_operators::cross::cross_row`] (the math,
//! unit tested against a naive recomputation).
//!
//! **Output and retractions.** The reduce's output changes at every time its window changes: it
//! inserts the new row and retracts the previous one, and after a market's last interval the
//! retractions of old points re-derive rows for intervals that are no longer the newest. Only
//! an insertion at the row's own `ts_close` is a `silver/cross` row; every other change
//! (retractions, re-derivations) is dropped here. A time's rows are final once the frontier
//! passes it, and the sink ([`crate::ops::cross_sink`]) writes only such rows.

use crate::error::RunError;
use crate::ops::sink::PointsMsg;
use crate::state::RunState;
use crate::summary::WorkerSummary;
use daedalus_model::cross::{CrossPoint, CrossStats};
use daedalus_model::market::Market;
use daedalus_model::time::Nanos;
use daedalus_operators::cross::cross_row;
use daedalus_sinks::cross_state::SavedPoint;
use differential_dataflow::AsCollection;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Map;

/// The cross settings of a run.
#[derive(Debug, Clone)]
pub(crate) struct CrossPlan {
    /// Base -> reference market.
    pub groups: BTreeMap<String, Market>,
    /// Window W (intervals).
    pub window: usize,
    /// Grid width per interval spec index.
    pub widths: Vec<Nanos>,
    /// Interval spec per index (the `interval=` partition value).
    pub specs: Vec<String>,
    /// `silver/intervals` rows are written too.
    pub write_intervals: bool,
}

impl CrossPlan {
    /// The group of a market, if it belongs to a configured one: (base, is the reference).
    pub fn group_of(&self, m: &Market) -> Option<(&str, bool)> {
        let base = crate::config::symbol_base(&m.symbol);
        let (b, r) = self.groups.get_key_value(&base)?;
        Some((b.as_str(), r == m))
    }
}

/// A point of the collection: (base, grid index, market key, is the reference, point).
pub(crate) type Tagged = (String, u8, u64, bool, CrossPoint);

/// One `silver/cross` row, with its group and markets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CrossOut {
    /// Group base.
    pub base: String,
    /// Grid index.
    pub grid: u8,
    /// Market key.
    pub market: u64,
    /// The row's values.
    pub stats: CrossStats,
}

/// Points of a restored group record, by (grid, market): the greatest `ts_close` it holds.
pub(crate) type Floors = Arc<HashMap<(String, u8, u64), Nanos>>;

/// The live points of the groups' markets, tagged, without those a restored record holds.
pub(crate) fn tag_points<'s>(
    points: Stream<'s, u64, Vec<PointsMsg>>,
    plan: Arc<CrossPlan>,
    state: Arc<RunState>,
    floors: Floors,
) -> Stream<'s, u64, Vec<Tagged>> {
    let mut names: HashMap<u64, Option<(String, bool)>> = HashMap::new();
    points.flat_map(move |pm: PointsMsg| {
        let group = names
            .entry(pm.market)
            .or_insert_with(|| {
                let m = state.market(pm.market).ok()?;
                plan.group_of(&m).map(|(b, r)| (b.to_string(), r))
            })
            .clone();
        let floors = floors.clone();
        pm.points.into_iter().filter_map(move |(g, p)| {
            let (base, is_ref) = group.clone()?;
            let floor = floors.get(&(base.clone(), g, pm.market));
            if floor.is_some_and(|f| p.ts_close <= *f) {
                return None;
            }
            Some((base, g, pm.market, is_ref, p))
        })
    })
}

/// The saved points of restored records as tagged points.
pub(crate) fn replay_points(saved: &[(String, Vec<SavedPoint>)]) -> Vec<Tagged> {
    saved
        .iter()
        .flat_map(|(base, pts)| {
            pts.iter()
                .map(move |&(g, m, r, p)| (base.clone(), g, m, r, p))
        })
        .collect()
}

/// The differential part: tagged points in, `silver/cross` rows out (at their `ts_close`).
pub(crate) fn cross_features<'s>(
    tagged: Stream<'s, u64, Vec<Tagged>>,
    plan: Arc<CrossPlan>,
    summary: Rc<RefCell<WorkerSummary>>,
) -> Stream<'s, u64, Vec<CrossOut>> {
    let span = {
        let p = plan.clone();
        move |g: u8| (p.window as u64 + 1) * p.widths[g as usize] as u64
    };
    let points = tagged
        .unary(Pipeline, "CrossStamp", move |_cap, _info| {
            move |input, output| {
                input.for_each(|time, data| {
                    let mut session = output.session(&time);
                    for t in data.drain(..) {
                        let at = t.4.ts_close.max(0) as u64;
                        if time.least().is_some_and(|m| at < *m) {
                            // A point stamped behind its message would be dropped downstream.
                            let market = format!("{} (base {})", t.2, t.0);
                            summary.borrow_mut().fail(RunError::Internal {
                                what: "silver/cross interval point sent after its ts_close",
                                market,
                            });
                            continue;
                        }
                        let gone = at + span(t.1);
                        session.give((t.clone(), at, 1isize));
                        session.give((t, gone, -1isize));
                    }
                });
            }
        })
        .as_collection();
    let refs = points
        .clone()
        .filter(|t: &Tagged| t.3)
        .map(|(b, g, _, _, p)| ((b, g), p));
    let others = points.filter(|t: &Tagged| !t.3);
    let members = others.clone().map(|(b, g, m, _, _)| ((b, g), m)).distinct();
    let ref_per_pair = refs.join_map(members, |k: &(String, u8), p: &CrossPoint, m: &u64| {
        ((k.0.clone(), k.1, *m), (0u8, *p))
    });
    let own = others.map(|(b, g, m, _, p)| ((b, g, m), (1u8, p)));
    let rp = plan;
    let rows = ref_per_pair
        .concat(own)
        .reduce(move |key: &(String, u8, u64), input, output| {
            if let Some(s) = newest_row(&rp, key.1, input) {
                output.push((s, 1isize));
            }
        });
    rows.inner
        .flat_map(|(((base, grid, market), stats), t, d)| {
            (d > 0 && stats.ts_close.max(0) as u64 == t).then_some(CrossOut {
                base,
                grid,
                market,
                stats,
            })
        })
}

/// The row of the newest interval among a pair's window points (tag 0: reference, 1: market).
fn newest_row(
    plan: &CrossPlan,
    grid: u8,
    input: &[(&(u8, CrossPoint), isize)],
) -> Option<CrossStats> {
    let mut sides: [Vec<CrossPoint>; 2] = [Vec::new(), Vec::new()];
    for ((tag, p), d) in input {
        if *d > 0 {
            sides[*tag as usize].push(*p);
        }
    }
    let cur = input.iter().map(|((_, p), _)| p.ts_open).max()?;
    let width = plan.widths[grid as usize];
    cross_row(width, plan.window, cur, &sides[1], &sides[0])
}
