//! Snapshot feeds to level changes (CONTRACT §10.3).
//!
//! Some venues and files send the whole top-N book in every message (Tardis `book_snapshot_N`,
//! Hyperliquid `l2Book`). Stored as they come, every message would be a snapshot, so the book
//! would reset each time and OFI/MLOFI would be reset with it. Instead the first snapshot of an
//! input is stored as `is_snapshot` rows, and each later one as the
//! level changes from the previous one: a level gone from the new top N is deleted (size 0), a
//! new or changed level carries its new size. The changes are one message with the snapshot's
//! times, so the book only ever holds the top N, exactly as the venue showed it.
//!
//! A snapshot identical to the previous one changes nothing and gives no rows.

use crate::formats::context::Ctx;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide};
use daedalus_model::time::Nanos;
use std::collections::BTreeMap;

/// One side of a top-N book, keyed by the price's bits (prices are positive and finite, whose
/// bit patterns order as the values do).
type Side = BTreeMap<u64, f64>;

/// A level to write: side, price, size, and whether it is a snapshot row.
type Change = (BookSide, f64, f64, bool);

/// The previous snapshot of one market.
#[derive(Default)]
pub(crate) struct SnapshotDiffer {
    bids: Side,
    asks: Side,
    primed: bool,
}

impl SnapshotDiffer {
    /// Takes the next snapshot, received at `(ts_event, ts_recv)`, and returns its book rows
    /// (see [`SnapshotDiffer::next`]); no sequence ids, as neither feed has one.
    pub(crate) fn next_rows(
        &mut self,
        bids: &[(f64, f64)],
        asks: &[(f64, f64)],
        (ts_event, ts_recv): (Nanos, Nanos),
    ) -> std::result::Result<Vec<BookRow>, String> {
        let rows = self
            .next(bids, asks)?
            .into_iter()
            .map(|(side, price, size, is_snapshot)| BookRow {
                ts_event,
                ts_recv,
                seq: None,
                prev_seq: None,
                is_snapshot,
                side,
                price,
                size,
            });
        Ok(rows.collect())
    }

    /// Takes the next snapshot (levels as `(price, size)`, any order; sizes > 0) and returns the
    /// rows to write: the whole book the first time, else the changes (bids then asks, by price).
    /// A price listed twice on one side is an error naming it.
    fn next(&mut self, bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Result<Vec<Change>, String> {
        let new_bids = side_of(bids, "bid")?;
        let new_asks = side_of(asks, "ask")?;
        let mut out = Vec::new();
        if self.primed {
            diff(BookSide::Bid, &self.bids, &new_bids, &mut out);
            diff(BookSide::Ask, &self.asks, &new_asks, &mut out);
        } else {
            whole(BookSide::Bid, &new_bids, &mut out);
            whole(BookSide::Ask, &new_asks, &mut out);
            self.primed = true;
        }
        self.bids = new_bids;
        self.asks = new_asks;
        Ok(out)
    }
}

/// Writes the rows of one snapshot and counts them: one message (none when nothing changed), and
/// a snapshot when they are the whole book.
pub(crate) fn write(
    ctx: &mut Ctx,
    market: &Market,
    rows: Vec<BookRow>,
) -> crate::error::Result<()> {
    let c = ctx.report.market(market);
    c.book_rows += rows.len() as u64;
    c.book_messages += u64::from(!rows.is_empty());
    c.snapshots += u64::from(rows.first().is_some_and(|r| r.is_snapshot));
    for r in rows {
        ctx.w.book(market, r)?;
    }
    Ok(())
}

fn side_of(levels: &[(f64, f64)], name: &str) -> Result<Side, String> {
    let mut s = Side::new();
    for &(p, q) in levels {
        if s.insert(p.to_bits(), q).is_some() {
            return Err(format!("{name} price {p} listed twice in one snapshot"));
        }
    }
    Ok(s)
}

fn whole(side: BookSide, new: &Side, out: &mut Vec<Change>) {
    out.extend(
        new.iter()
            .map(|(&p, &q)| (side, f64::from_bits(p), q, true)),
    );
}

/// The changes from `old` to `new`, by price: deletions (size 0), new and changed levels.
fn diff(side: BookSide, old: &Side, new: &Side, out: &mut Vec<Change>) {
    let prices: std::collections::BTreeSet<u64> = old.keys().chain(new.keys()).copied().collect();
    for p in prices {
        match (old.get(&p), new.get(&p)) {
            (Some(a), Some(b)) if a == b => {}
            (_, Some(&b)) => out.push((side, f64::from_bits(p), b, false)),
            (Some(_), None) => out.push((side, f64::from_bits(p), 0.0, false)),
            (None, None) => unreachable!("price from one of the two sides"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookSide::{Ask, Bid};

    /// Applies changes to a naive book (price → size, 0 deletes), resetting on snapshot rows.
    fn apply(book: &mut BTreeMap<(u8, u64), f64>, changes: &[Change]) {
        if changes.first().is_some_and(|c| c.3) {
            book.clear();
        }
        for &(s, p, q, _) in changes {
            let k = (s as u8, p.to_bits());
            if q == 0.0 {
                book.remove(&k);
            } else {
                book.insert(k, q);
            }
        }
    }

    fn naive(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> BTreeMap<(u8, u64), f64> {
        let b = bids.iter().map(|&(p, q)| ((Bid as u8, p.to_bits()), q));
        let a = asks.iter().map(|&(p, q)| ((Ask as u8, p.to_bits()), q));
        b.chain(a).collect()
    }

    #[test]
    fn first_is_whole_then_changes_rebuild_every_snapshot() {
        let snaps: [(&[(f64, f64)], &[(f64, f64)]); 4] = [
            (&[(100.0, 1.0), (99.0, 2.0)], &[(101.0, 1.5), (102.0, 3.0)]),
            (&[(100.0, 1.0), (99.5, 0.5)], &[(101.0, 2.5), (102.0, 3.0)]),
            (&[(100.0, 1.0), (99.5, 0.5)], &[(101.0, 2.5), (102.0, 3.0)]),
            (&[(98.0, 4.0)], &[(100.5, 1.0), (101.0, 2.5)]),
        ];
        let mut d = SnapshotDiffer::default();
        let mut book = BTreeMap::new();
        let mut rows = Vec::new();
        for (b, a) in snaps {
            let c = d.next(b, a).unwrap();
            apply(&mut book, &c);
            assert_eq!(book, naive(b, a));
            rows.push(c);
        }
        assert!(rows[0].iter().all(|c| c.3) && rows[0].len() == 4);
        assert_eq!(
            rows[1],
            vec![
                (Bid, 99.0, 0.0, false),
                (Bid, 99.5, 0.5, false),
                (Ask, 101.0, 2.5, false)
            ]
        );
        assert!(rows[2].is_empty(), "an identical snapshot changes nothing");
    }

    #[test]
    fn a_price_twice_is_an_error() {
        let e = SnapshotDiffer::default()
            .next(&[(100.0, 1.0), (100.0, 2.0)], &[])
            .unwrap_err();
        assert_eq!(e, "bid price 100 listed twice in one snapshot");
    }
}
