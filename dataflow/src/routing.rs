//! Market → worker routing.
//!
//! Every row of a market is processed by one worker (its state is sequential), so a run's
//! parallelism is the balance of markets over workers. Hashing the market id balances many
//! markets but not a few of unequal size: with the four markets of `daedalus gen`, the stable
//! hash sends three of them (78 % of the events) to one of two workers, which caps `-w 2` at
//! 1.28x. A run therefore routes the markets it knows at planning time by bronze bytes, greedy
//! longest-processing-time first ([`Routing::balanced`]): the largest market goes to the least
//! loaded worker. Markets unknown to the table (a watch run's new markets) fall back to the
//! stable hash.
//!
//! **Agreement.** The table depends on what each process saw when it planned, and two
//! processes that disagree on a market's worker would split its state. So the table is never
//! used as planned: worker 0 broadcasts its table to every worker of the cluster in a small
//! dataflow before the main one ([`agree`]), and all workers route by that one table. Routing
//! changes no output (each market's total order is the same on any worker); checkpoints are
//! per market and load on whichever worker the market lands.
//!
//! The source reads a market's bronze on the market's own worker too, so chunks never cross
//! workers (or processes) on their way to the market operator.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Probe};
use timely::worker::Worker;

/// Where each market is processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routing {
    peers: usize,
    table: BTreeMap<u64, usize>,
}

impl Routing {
    /// The stable hash only (`market % peers`).
    #[cfg(test)]
    fn hashed(peers: usize) -> Self {
        Routing {
            peers: peers.max(1),
            table: BTreeMap::new(),
        }
    }

    /// Longest-processing-time-first assignment of `(market, weight)` pairs: markets by weight,
    /// descending (ties by market id), each to the least loaded worker (ties: lowest index).
    /// Deterministic for a given input.
    pub(crate) fn balanced(weights: &[(u64, u64)], peers: usize) -> Self {
        let peers = peers.max(1);
        let mut ms: Vec<(u64, u64)> = weights.to_vec();
        ms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ms.dedup_by_key(|m| m.0);
        let mut load = vec![0u128; peers];
        let mut table = BTreeMap::new();
        for (m, w) in ms {
            let (i, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(i, l)| (**l, *i))
                .expect("peers >= 1");
            load[i] += u128::from(w.max(1));
            table.insert(m, i);
        }
        Routing { peers, table }
    }

    /// The worker (global index) of `market`.
    #[inline]
    pub(crate) fn worker_of(&self, market: u64) -> usize {
        match self.table.get(&market) {
            Some(&w) => w,
            None => (market % self.peers as u64) as usize,
        }
    }

    fn to_pairs(&self) -> Vec<(u64, u64)> {
        self.table.iter().map(|(&m, &w)| (m, w as u64)).collect()
    }

    fn from_pairs(peers: usize, pairs: &[(u64, u64)]) -> Self {
        Routing {
            peers: peers.max(1),
            table: pairs.iter().map(|&(m, w)| (m, w as usize)).collect(),
        }
    }
}

/// Every worker of the cluster adopts worker 0's `proposed` table (see the module docs). Runs a
/// one-round dataflow to completion; every worker must call it, in the same dataflow order.
pub(crate) fn agree(worker: &mut Worker, proposed: &Routing) -> Routing {
    let got: Rc<RefCell<Vec<(u64, u64)>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<Vec<(u64, u64)>>();
        let (probe, _) = stream
            .broadcast()
            .inspect(move |x: &(u64, u64)| sink.borrow_mut().push(*x))
            .probe();
        (input, probe)
    });
    if worker.index() == 0 {
        for p in proposed.to_pairs() {
            input.send(p);
        }
    }
    input.close();
    while !probe.done() {
        worker.step();
    }
    let mut pairs = got.take();
    pairs.sort_unstable();
    Routing::from_pairs(proposed.peers, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four `gen` markets (bronze event shares 27.8/16.7/33.4/22.3 %) split 50/50 on two
    /// workers; the hash alone put 78 % on one.
    #[test]
    fn balanced_splits_unequal_markets_evenly() {
        let w = [(1, 278), (2, 167), (3, 334), (4, 223)];
        let r = Routing::balanced(&w, 2);
        let mut load = [0u64; 2];
        for (m, x) in w {
            load[r.worker_of(m)] += x;
        }
        assert_eq!(load, [501, 501]);
        // Deterministic whatever the input order.
        let mut rev = w;
        rev.reverse();
        assert_eq!(Routing::balanced(&rev, 2), r);
    }

    #[test]
    fn unknown_markets_fall_back_to_the_hash() {
        let r = Routing::balanced(&[(10, 5)], 3);
        assert_eq!(r.worker_of(10), 0);
        assert_eq!(r.worker_of(7), 1);
        assert_eq!(Routing::hashed(4).worker_of(7), 3);
    }

    #[test]
    fn agreement_adopts_worker_zero_table() {
        let proposed = Routing::balanced(&[(1, 3), (2, 2), (3, 1)], 2);
        let expect = proposed.clone();
        let got = timely::execute(timely::Config::process(2), move |worker| {
            // Worker 1 proposes a different table; worker 0's wins everywhere.
            let mine = if worker.index() == 0 {
                proposed.clone()
            } else {
                Routing::hashed(2)
            };
            agree(worker, &mine)
        })
        .expect("timely")
        .join();
        for r in got {
            assert_eq!(r.expect("worker"), expect);
        }
    }
}
