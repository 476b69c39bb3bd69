//! `cross_features`: where the timely part ends and the differential part begins (CONTRACT §11).
//!
//! **Input.** The interval points ([`PointsMsg`]) of every market of a configured group, split
//! off the market operator's output, plus the points a resumed run restores from the groups'
//! commit records (`replay`, sent once by worker 0 at time 0). Points of a market that the
//! group's record already holds (its market checkpoint is older than the group's) are dropped,
//! so no point enters twice.
//!
//! **Timestamps.** Differential time is event time in ns, in buckets: a point enters the
//! collection at the time `stamp = B - 1`, where `B` is the first bucket boundary at or after its
//! interval's `ts_close`; boundaries are the multiples of the grid's bucket span (the largest
//! multiple of the grid width up to one minute: 60 one-second intervals share a time) and of the
//! checkpoint period. A bucket's rows are computed together ([`CrossRows`]: each interval's
//! returns and spreads once, not once per row that reads them) and differential does its per-time
//! work (history replay, batch building) once per bucket instead of once per interval. The
//! market operator sends a point at a capability at most
//! its `ts_open` (or below `ts_close` for a market's first interval), so the stamp is never behind
//! its message; a point that is is an internal error, never a silently shifted time. A point is
//! **retracted** at the bucket time after the last bucket whose rows read it (the one holding
//! `ts_close + W·D`): a temporal filter. At time `t` the collection holds the points of the
//! `W + 1` intervals before each point stamped `t` and at most two buckets more, so
//! arrangements hold `W` plus about two buckets of intervals per market and no history (they
//! compact as the frontier passes).
//!
//! **Operators.** Points are keyed by `(base, grid)`, exchanged by that key (differential's
//! hash), arranged; the reference's points are joined with the group's non-reference markets
//! (`distinct` over the window), and a `reduce` per `(base, grid, market)` computes the rows of
//! the newest bucket in the window, one per market point stamped there, each over the `W + 1`
//! intervals ending with it, all with one [`CrossRows::rows`] call (the math, unit tested against
//! one-row [`daedalus_operators::cross::cross_row`] and a naive recomputation).
//!
//! **Output and retractions.** The reduce's output changes at every time its window changes: it
//! inserts the new bucket's rows and retracts the previous ones, and at a time with only
//! retractions it re-derives rows of an older bucket. Only an insertion at the row's own stamp
//! is a `silver/cross` row; every other change (retractions, re-derivations) is dropped here. A
//! time's rows are final once the frontier passes it, and the sink
//! ([`crate::ops::cross_sink`]) writes only such rows ([`CrossPlan::final_before`]).

use crate::error::RunError;
use crate::ops::sink::PointsMsg;
use crate::state::RunState;
use crate::summary::WorkerSummary;
use daedalus_model::cross::{CrossPoint, CrossStats};
use daedalus_model::market::Market;
use daedalus_model::time::Nanos;
use daedalus_operators::cross::CrossRows;
use daedalus_sinks::cross_state::SavedPoint;
use differential_dataflow::AsCollection;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Map;

/// The cross settings of a run.
#[derive(Debug, Clone)]
pub(crate) struct CrossPlan {
    /// (base, reference market) per group, sorted by base, one per base: a [`GroupId`] is an
    /// index into it.
    pub groups: Vec<(String, Market)>,
    /// Window W (intervals).
    pub window: usize,
    /// Grid width per interval spec index.
    pub widths: Vec<Nanos>,
    /// Interval spec per index (the `interval=` partition value).
    pub specs: Vec<String>,
    /// `silver/intervals` rows are written too.
    pub write_intervals: bool,
    /// Checkpoint period (0: only at the end); its multiples are bucket boundaries too.
    pub every: Nanos,
}

/// The event time one bucket of differential time spans (rounded down to a multiple of the grid
/// width, at least one width). Differential's cost is per distinct time and per operator, not
/// per row, so the points of a minute share one time instead of one time per interval.
const BUCKET: u64 = 60_000_000_000;

impl CrossPlan {
    /// The group of a market, if it belongs to a configured one: (base, is the reference).
    pub fn group_of(&self, m: &Market) -> Option<(&str, bool)> {
        let base = crate::config::symbol_base(&m.symbol);
        let (b, r) = &self.groups[self.group_id(&base)? as usize];
        Some((b.as_str(), r == m))
    }

    /// The id of a group: its base's position among the configured bases (the dataflow keys
    /// groups by it, so no string is cloned, hashed or compared per point).
    pub fn group_id(&self, base: &str) -> Option<GroupId> {
        (self.groups.binary_search_by(|(b, _)| b.as_str().cmp(base)))
            .ok()
            .map(|i| i as GroupId)
    }

    /// The base of a group id (called per cross message by the sink's routing: an index, not a
    /// search).
    pub fn base(&self, id: GroupId) -> &str {
        self.groups.get(id as usize).map_or("", |(b, _)| b.as_str())
    }

    /// The bucket span of grid `g`: the largest multiple of its width up to [`BUCKET`].
    fn bucket_span(&self, g: u8) -> u64 {
        let w = self.widths[g as usize].max(1) as u64;
        (BUCKET / w).max(1) * w
    }

    /// The least bucket boundary at or after `x`: a multiple of the grid's bucket span or of the
    /// checkpoint period, so every point before a checkpoint boundary is stamped before it.
    fn boundary_from(&self, g: u8, x: u64) -> u64 {
        let up = |s: u64| x.div_ceil(s).saturating_mul(s);
        let b = up(self.bucket_span(g));
        if self.every > 0 {
            b.min(up(self.every as u64))
        } else {
            b
        }
    }

    /// The greatest bucket boundary at or before `x` (for grid `g`).
    fn boundary_upto(&self, g: u8, x: u64) -> u64 {
        let down = |s: u64| x / s * s;
        let b = down(self.bucket_span(g));
        if self.every > 0 {
            b.max(down(self.every as u64))
        } else {
            b
        }
    }

    /// The differential time of the point (and the row) of grid `g` closing at `ts_close`: one
    /// before its bucket's closing boundary. Never behind the point's message, which the market
    /// operator sends at a time below `ts_close`.
    pub fn stamp(&self, g: u8, ts_close: Nanos) -> u64 {
        self.boundary_from(g, ts_close.max(1) as u64) - 1
    }

    /// The time the point leaves the window: the bucket time after the last row that reads it
    /// (the row `W` intervals after it).
    fn retire(&self, g: u8, ts_close: Nanos) -> u64 {
        let reach = self.window as u64 * self.widths[g as usize] as u64;
        let last = self.boundary_from(g, (ts_close.max(1) as u64).saturating_add(reach));
        self.boundary_from(g, last.saturating_add(1)) - 1
    }

    /// Rows with `ts_close` below this bound are final once the frontier is at `f`: their
    /// times are all before `f` on every grid (a bound per group, so a commit never splits it).
    pub fn final_before(&self, f: Nanos) -> Nanos {
        let f = f.max(0) as u64;
        let upto = (0..self.widths.len() as u8).map(|g| self.boundary_upto(g, f));
        upto.min().unwrap_or(f).min(i64::MAX as u64 - 1) as Nanos + 1
    }
}

/// A group's id ([`CrossPlan::group_id`]).
pub(crate) type GroupId = u32;

/// A point of the collection: (group, grid index, market key, is the reference, point).
pub(crate) type Tagged = (GroupId, u8, u64, bool, CrossPoint);

/// One `silver/cross` row, with its group and markets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CrossOut {
    /// Group.
    pub group: GroupId,
    /// Grid index.
    pub grid: u8,
    /// Market key.
    pub market: u64,
    /// The row's values.
    pub stats: CrossStats,
}

/// Points of a restored group record, by (grid, market): the greatest `ts_close` it holds.
pub(crate) type Floors = Arc<HashMap<(GroupId, u8, u64), Nanos>>;

/// The live points of the groups' markets, tagged, without those a restored record holds.
pub(crate) fn tag_points<'s>(
    points: Stream<'s, u64, Vec<PointsMsg>>,
    plan: Arc<CrossPlan>,
    state: Arc<RunState>,
    floors: Floors,
) -> Stream<'s, u64, Vec<Tagged>> {
    let mut names: HashMap<u64, Option<(GroupId, bool)>> = HashMap::new();
    points.flat_map(move |pm: PointsMsg| {
        let group = *names.entry(pm.market).or_insert_with(|| {
            let m = state.market(pm.market).ok()?;
            let (base, is_ref) = plan.group_of(&m)?;
            Some((plan.group_id(base)?, is_ref))
        });
        let floors = floors.clone();
        pm.points.into_iter().filter_map(move |(g, p)| {
            let (id, is_ref) = group?;
            let floor = floors.get(&(id, g, pm.market));
            if floor.is_some_and(|f| p.ts_close <= *f) {
                return None;
            }
            Some((id, g, pm.market, is_ref, p))
        })
    })
}

/// The saved points of restored records (of configured groups) as tagged points.
pub(crate) fn replay_points(plan: &CrossPlan, saved: &[(String, Vec<SavedPoint>)]) -> Vec<Tagged> {
    (saved.iter())
        .filter_map(|(base, pts)| Some((plan.group_id(base)?, pts)))
        .flat_map(|(id, pts)| pts.iter().map(move |&(g, m, r, p)| (id, g, m, r, p)))
        .collect()
}

/// The differential part: tagged points in, `silver/cross` rows out (at their `ts_close`).
pub(crate) fn cross_features<'s>(
    tagged: Stream<'s, u64, Vec<Tagged>>,
    plan: Arc<CrossPlan>,
    summary: Rc<RefCell<WorkerSummary>>,
) -> Stream<'s, u64, Vec<CrossOut>> {
    let times = plan.clone();
    let points = tagged
        .unary(Pipeline, "CrossStamp", move |_cap, _info| {
            move |input, output| {
                input.for_each(|time, data| {
                    let mut session = output.session(&time);
                    for t in data.drain(..) {
                        let at = times.stamp(t.1, t.4.ts_close);
                        if time.least().is_some_and(|m| at < *m) {
                            // A point stamped behind its message would be dropped downstream.
                            let market = format!("{} (base {})", t.2, times.base(t.0));
                            summary.borrow_mut().fail(RunError::Internal {
                                what: "silver/cross interval point sent after its ts_close",
                                market,
                            });
                            continue;
                        }
                        let gone = times.retire(t.1, t.4.ts_close);
                        session.give((t, at, 1isize));
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
    let ref_per_pair = refs.join_map(members, |k: &(GroupId, u8), p: &CrossPoint, m: &u64| {
        ((k.0, k.1, *m), (0u8, *p))
    });
    let own = others.map(|(b, g, m, _, p)| ((b, g, m), (1u8, p)));
    let rp = plan.clone();
    let mut scratch = CrossRows::default();
    let rows = ref_per_pair
        .concat(own)
        .reduce(move |key: &(GroupId, u8, u64), input, output| {
            bucket_rows(&rp, key.1, input, &mut scratch, output);
        });
    rows.inner
        .flat_map(move |(((group, grid, market), stats), t, d)| {
            (d > 0 && plan.stamp(grid, stats.ts_close) == t).then_some(CrossOut {
                group,
                grid,
                market,
                stats,
            })
        })
}

/// The rows of a pair's newest bucket among its window points (tag 0: reference, 1: market):
/// one per market point stamped at the newest time of any point, each from the points of the
/// `W + 1` intervals ending with it. At a time where only retractions happen, the newest bucket
/// is an older one; the caller drops those re-derived rows (they are not at their own time).
fn bucket_rows(
    plan: &CrossPlan,
    grid: u8,
    input: &[(&(u8, CrossPoint), isize)],
    rows: &mut CrossRows,
    output: &mut Vec<(CrossStats, isize)>,
) {
    let mut sides: [Vec<CrossPoint>; 2] = [Vec::new(), Vec::new()];
    for ((tag, p), d) in input {
        if *d > 0 {
            sides[*tag as usize].push(*p);
        }
    }
    let stamp = |p: &CrossPoint| plan.stamp(grid, p.ts_close);
    let Some(newest) = sides.iter().flatten().map(stamp).max() else {
        return;
    };
    let [reference, market] = &sides;
    // Input values come sorted, so the market's points are in `ts_open` order.
    let curs: Vec<Nanos> = (market.iter())
        .filter(|p| stamp(p) == newest)
        .map(|p| p.ts_open)
        .collect();
    let mut out = Vec::with_capacity(curs.len());
    let width = plan.widths[grid as usize];
    rows.rows(width, plan.window, &curs, market, reference, &mut out);
    output.extend(out.into_iter().map(|s| (s, 1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Nanos = 1_000_000_000;

    fn plan(widths: &[Nanos], every: Nanos) -> CrossPlan {
        CrossPlan {
            groups: vec![],
            window: 60,
            widths: widths.to_vec(),
            specs: widths.iter().map(|w| format!("{w}ns")).collect(),
            write_intervals: true,
            every,
        }
    }

    /// The stamp of every interval end: never below the point's message (at most `ts_close - 1`),
    /// monotone, one time per minute at one-second intervals, and below every checkpoint
    /// boundary at or after the interval's end.
    #[test]
    fn stamps_bucket_a_minute_and_respect_checkpoint_boundaries() {
        let day = 86_400 * SEC;
        for every in [0, 90 * SEC, day] {
            let p = plan(&[SEC, 7 * SEC, 3_600 * SEC], every);
            for g in 0..3u8 {
                let w = p.widths[g as usize];
                let t0 = 1_723_075_200 * SEC; // 2024-08-08, a multiple of every width
                let mut prev = 0;
                let mut times = std::collections::BTreeSet::new();
                for k in 1..=3_600i64 {
                    let c = t0 + k * w;
                    let s = p.stamp(g, c);
                    assert!(s >= c as u64 - 1 && s >= prev, "grid {g}, close {c}: {s}");
                    if every > 0 {
                        let next_b = (c as u64).div_ceil(every as u64) * every as u64;
                        assert!(s < next_b, "stamp {s} not before checkpoint {next_b}");
                    }
                    let r = p.retire(g, c);
                    assert!(
                        r > p.stamp(g, c + 60 * w),
                        "retired before the last row reads it"
                    );
                    prev = s;
                    times.insert(s);
                }
                if g == 0 && every == 0 {
                    assert_eq!(times.len(), 60, "3,600 one-second intervals in 60 times");
                }
                if g == 2 {
                    assert_eq!(times.len(), 3_600, "hour intervals keep one time each");
                }
            }
        }
    }

    /// `final_before(f)`: every row closing before it has its stamp before `f` on every grid, and
    /// it never runs ahead of `f`.
    #[test]
    fn final_bound_covers_only_rows_whose_time_passed() {
        let p = plan(&[SEC, 7 * SEC, 420 * SEC], 90 * SEC);
        let t0 = 1_723_075_200 * SEC;
        for df in (0..2_000).map(|k| k * 997_000_001) {
            let f = t0 + df;
            let bound = p.final_before(f);
            assert!(bound <= f + 1);
            for g in 0..3u8 {
                let w = p.widths[g as usize];
                let last = (bound - 1).div_euclid(w) * w;
                assert!(
                    p.stamp(g, last) < f as u64,
                    "grid {g}: close {last} at f {f}"
                );
            }
        }
    }
}
