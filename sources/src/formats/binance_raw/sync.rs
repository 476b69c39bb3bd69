//! Book sync of one market's depth stream (CONTRACT §9.2): diffs wait for the snapshot, stale
//! ones are dropped, the first applied one must straddle it, and later ones must chain.

use super::fast::Level;
use super::markets::Kind;
use super::messages::{Origin, Snapshot, levels, ms};
use crate::error::{Result, SourceError};
use crate::formats::context::Ctx;
use crate::ingest::report::MarketCounts;
use daedalus_model::market::Market;
use daedalus_model::rows::{BookRow, BookSide};
use daedalus_model::time::Nanos;
use std::path::{Path, PathBuf};

/// A parsed diff's ids and times (its levels travel beside it, borrowed while the book is
/// synced, owned only while waiting for the snapshot).
#[derive(Debug, Clone, Copy)]
pub(super) struct Diff {
    pub(super) ts_event: Nanos,
    pub(super) ts_recv: Nanos,
    /// `U`.
    pub(super) first: u64,
    /// `u`.
    pub(super) last: u64,
    /// The venue's previous id: `U - 1` (spot) or `pu` (futures).
    pub(super) prev: Option<u64>,
    /// 1-based line in the input.
    pub(super) line: u64,
}

/// What of a market's book sync continues into its next input (CONTRACT §10.2): the snapshot's
/// `lastUpdateId` and the `u` of the last applied diff. Diffs still waiting for a snapshot at the
/// end of an input do not carry over (counted as unsynced).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookChain {
    /// Snapshot `lastUpdateId` once seen (None: not synced).
    pub snapshot: Option<u64>,
    /// `u` of the last applied diff.
    pub last_u: Option<u64>,
}

/// Sync state of one market's book stream.
#[derive(Debug)]
pub(super) struct BookSync {
    kind: Kind,
    market: Market,
    /// The input being read (named in errors).
    file: PathBuf,
    /// Snapshot `lastUpdateId` once seen.
    snapshot: Option<u64>,
    /// Diffs waiting for the snapshot, with their levels.
    pending: Vec<(Diff, Vec<Level>)>,
    /// `u` of the last applied diff (None until the first diff after the snapshot applied).
    prev_u: Option<u64>,
    /// True until the first diff of an input that continues its predecessor's chain.
    continuing: bool,
}

impl BookSync {
    pub(super) fn new(kind: Kind, market: Market, file: &Path) -> Self {
        BookSync {
            kind,
            market,
            file: file.into(),
            snapshot: None,
            pending: Vec::new(),
            prev_u: None,
            continuing: false,
        }
    }

    /// Resumes the chain `c` a previous input ended with.
    pub(super) fn resume(kind: Kind, market: Market, file: &Path, c: BookChain) -> Self {
        BookSync {
            kind,
            market,
            file: file.into(),
            snapshot: c.snapshot,
            pending: Vec::new(),
            prev_u: c.last_u,
            continuing: c.last_u.is_some(),
        }
    }

    /// The chain to continue in the next input.
    pub(super) fn chain(&self) -> BookChain {
        BookChain {
            snapshot: self.snapshot,
            last_u: self.prev_u,
        }
    }

    /// Diffs that never found a snapshot.
    pub(super) fn unsynced(&self) -> usize {
        self.pending.len()
    }

    /// Book rows (levels) of the diffs that never found a snapshot.
    pub(super) fn unsynced_rows(&self) -> usize {
        self.pending.iter().map(|(_, lv)| lv.len()).sum()
    }

    fn counts<'r>(&self, ctx: &'r mut Ctx) -> &'r mut MarketCounts {
        ctx.report.market(&self.market)
    }

    fn emit_diff(&mut self, d: &Diff, levels: &[Level], ctx: &mut Ctx) -> Result<()> {
        let head = BookRow {
            ts_event: d.ts_event,
            ts_recv: d.ts_recv,
            seq: Some(d.last),
            prev_seq: d.prev,
            is_snapshot: false,
            side: BookSide::Bid,
            price: 0.0,
            size: 0.0,
        };
        ctx.w
            .book_levels(&self.market, &head, levels.iter().copied())?;
        let c = self.counts(ctx);
        c.book_rows += levels.len() as u64;
        c.book_messages += 1;
        self.prev_u = Some(d.last);
        Ok(())
    }

    /// Applies the sync rule to one diff once the snapshot is known.
    fn on_synced_diff(&mut self, d: Diff, lv: &[Level], ctx: &mut Ctx) -> Result<()> {
        let l = self.snapshot.expect("called after the snapshot");
        match self.prev_u {
            None => self.on_first_diff(d, lv, l, ctx),
            Some(prev_u) if self.continuing => self.on_continuing_diff(d, lv, prev_u, ctx),
            Some(prev_u) => {
                if let Some(what) = self.chain_break(&d, prev_u) {
                    self.gap(&d, what, ctx)?;
                }
                self.emit_diff(&d, lv, ctx)
            }
        }
    }

    /// The first diff after snapshot `l`: dropped when stale, else it must straddle `l`.
    fn on_first_diff(&mut self, d: Diff, lv: &[Level], l: u64, ctx: &mut Ctx) -> Result<()> {
        let spot = self.kind == Kind::Spot;
        let stale = if spot { d.last <= l } else { d.last < l };
        if stale {
            self.counts(ctx).stale_diffs += 1;
            return Ok(());
        }
        let straddles = if spot {
            d.first <= l + 1 && l < d.last
        } else {
            d.first <= l && l <= d.last
        };
        if !straddles {
            let what = format!(
                "first diff after the snapshot (lastUpdateId {l}) does not straddle it: U={} u={}",
                d.first, d.last
            );
            self.gap(&d, what, ctx)?;
        }
        self.emit_diff(&d, lv, ctx)
    }

    /// The first diff of an input continuing a chain that ended at `last_u`: dropped when
    /// already applied (`u <= last_u`), else it must meet the chain (spot
    /// `U <= last_u + 1 <= u`, futures `pu == last_u`); only a real break is a gap.
    fn on_continuing_diff(
        &mut self,
        d: Diff,
        lv: &[Level],
        last_u: u64,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if d.last <= last_u {
            self.counts(ctx).stale_diffs += 1;
            return Ok(());
        }
        self.continuing = false;
        let meets = if self.kind == Kind::Spot {
            d.first <= last_u + 1
        } else {
            d.prev == Some(last_u)
        };
        if !meets {
            let what = format!(
                "continuation does not meet the previous input's chain (last u={last_u}): U={} u={} pu={:?}",
                d.first, d.last, d.prev
            );
            self.gap(&d, what, ctx)?;
        }
        self.emit_diff(&d, lv, ctx)
    }

    /// Why `d` does not chain to the diff applied before it (last id `prev_u`), if it does not.
    fn chain_break(&self, d: &Diff, prev_u: u64) -> Option<String> {
        if self.kind == Kind::Spot {
            (d.first != prev_u + 1).then(|| {
                format!(
                    "depth chain broken: U={} but previous u={prev_u} (spot needs U == prev_u + 1)",
                    d.first
                )
            })
        } else {
            (d.prev != Some(prev_u)).then(|| {
                format!(
                    "depth chain broken: pu={:?} but previous u={prev_u} (futures need pu == prev_u)",
                    d.prev
                )
            })
        }
    }

    fn gap(&mut self, d: &Diff, rule: String, ctx: &mut Ctx) -> Result<()> {
        if !ctx.lenient {
            return Err(SourceError::Line {
                file: self.file.clone(),
                line: d.line,
                rule: format!("{}: {rule}", self.market),
            });
        }
        tracing::warn!(
            "{}:{}: {}: {rule}; kept as a gap marker (book invalid until the next snapshot)",
            self.file.display(),
            d.line,
            self.market
        );
        self.counts(ctx).gaps += 1;
        Ok(())
    }

    /// Writes the snapshot's levels (bids then asks), then replays the diffs that waited for it.
    pub(super) fn on_snapshot(&mut self, snap: &Snapshot, at: Origin, ctx: &mut Ctx) -> Result<()> {
        let ts_event = snap.E.map(ms).unwrap_or(at.ts_recv);
        let l = snap.last_update_id;
        let mut lv = Vec::with_capacity(snap.bids.len() + snap.asks.len());
        let parsed = levels(&snap.bids, BookSide::Bid, &mut lv)
            .and_then(|_| levels(&snap.asks, BookSide::Ask, &mut lv));
        if let Err(rule) = parsed {
            if ctx.lenient {
                ctx.report.skip("bad snapshot level");
                return Ok(());
            }
            return Err(SourceError::Line {
                file: at.file.into(),
                line: at.line,
                rule: format!("snapshot: {rule}"),
            });
        }
        for (side, price, size) in lv.iter().copied() {
            ctx.w.book(
                &self.market,
                BookRow {
                    ts_event,
                    ts_recv: at.ts_recv,
                    seq: Some(l),
                    prev_seq: None,
                    is_snapshot: true,
                    side,
                    price,
                    size,
                },
            )?;
        }
        let c = self.counts(ctx);
        c.book_rows += lv.len() as u64;
        c.book_messages += 1;
        c.snapshots += 1;
        self.snapshot = Some(l);
        self.prev_u = None;
        self.continuing = false;
        for (d, lv) in std::mem::take(&mut self.pending) {
            self.on_synced_diff(d, &lv, ctx)?;
        }
        Ok(())
    }

    /// Takes a diff: held until the snapshot, else synced.
    pub(super) fn on_diff(&mut self, d: Diff, levels: &[Level], ctx: &mut Ctx) -> Result<()> {
        if self.snapshot.is_none() {
            self.pending.push((d, levels.to_vec()));
            Ok(())
        } else {
            self.on_synced_diff(d, levels, ctx)
        }
    }
}
