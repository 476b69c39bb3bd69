//! The k-way merge of sorted runs by segments, as the market operator releases rows.
//!
//! The run with the least ready head is drained while its keys stay below the least head of the
//! other runs (and ready). Each run is sorted, so that segment is found by a galloping search on
//! the run's keys and handed over whole: the caller applies its rows in one tight loop without
//! comparing keys per row, and the runs are scanned once per segment, not once per row. The
//! segments, concatenated, are the ready rows of all runs in key order (a plain sort of them).

use std::ops::Range;

/// A sorted run: keys ascend with the merge position; the cursor is the first unmerged one.
pub(crate) trait MergeRun {
    /// The sort key.
    type Key: Ord + Copy;

    /// Rows in the run.
    fn len(&self) -> usize;

    /// Key of the row at merge position `k` (keys ascend with `k`).
    fn key_at(&self, k: usize) -> Self::Key;

    /// The first unmerged position.
    fn cursor(&self) -> usize;

    /// Marks every position before `k` merged.
    fn set_cursor(&mut self, k: usize);

    /// Key of the first unmerged row.
    fn head(&self) -> Option<Self::Key> {
        (self.cursor() < self.len()).then(|| self.key_at(self.cursor()))
    }

    /// The first merge position at or after `start` whose key fails `within` (keys ascend, so
    /// `within` holds on a prefix). `within` must hold at `start`. Galloping: O(log segment).
    fn segment_end(&self, start: usize, within: &impl Fn(&Self::Key) -> bool) -> usize {
        let n = self.len();
        // Invariant: within(lo - 1) holds; hi is past the segment or n.
        let mut lo = start + 1;
        let mut step = 1;
        let mut hi = loop {
            let probe = start + step;
            if probe >= n {
                break n;
            }
            if !within(&self.key_at(probe)) {
                break probe;
            }
            lo = probe + 1;
            step *= 2;
        };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if within(&self.key_at(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Hands every ready row of `runs` to `segment` in key order, as `(run, positions)` segments,
/// and advances the runs' cursors past them. `ready` must hold on a prefix of every run (keys
/// below a bound); rows where it fails stay unmerged.
pub(crate) fn merge_segments<R: MergeRun>(
    runs: &mut [R],
    ready: impl Fn(&R::Key) -> bool,
    mut segment: impl FnMut(&R, Range<usize>),
) {
    loop {
        let mut best: Option<(usize, R::Key)> = None;
        let mut second: Option<R::Key> = None;
        for (i, r) in runs.iter().enumerate() {
            if let Some(k) = r.head()
                && ready(&k)
            {
                match best {
                    Some((_, b)) if k >= b => {
                        if second.is_none_or(|s2| k < s2) {
                            second = Some(k);
                        }
                    }
                    _ => {
                        // The previous best (if any) is now the least of the others.
                        if let Some((_, b)) = best {
                            second = Some(b);
                        }
                        best = Some((i, k));
                    }
                }
            }
        }
        let Some((ri, _)) = best else { break };
        let run = &runs[ri];
        let in_segment = |k: &R::Key| ready(k) && second.is_none_or(|b| *k < b);
        let start = run.cursor();
        let end = run.segment_end(start, &in_segment);
        segment(run, start..end);
        runs[ri].set_cursor(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct VecRun {
        keys: Vec<(u8, u16)>,
        cursor: usize,
    }

    impl MergeRun for VecRun {
        type Key = (u8, u16);
        fn len(&self) -> usize {
            self.keys.len()
        }
        fn key_at(&self, k: usize) -> (u8, u16) {
            self.keys[k]
        }
        fn cursor(&self) -> usize {
            self.cursor
        }
        fn set_cursor(&mut self, k: usize) {
            self.cursor = k;
        }
    }

    proptest! {
        /// The segments are the ready rows of all runs in plain-sort order, and every run's
        /// cursor stops at its first row that is not ready.
        #[test]
        fn segments_equal_a_plain_sort(
            runs in prop::collection::vec(prop::collection::vec((0u8..16, 0u16..8), 0..40), 0..6),
            bound in prop::option::of(0u8..17),
        ) {
            let mut runs: Vec<VecRun> = runs
                .into_iter()
                .map(|mut keys| {
                    keys.sort();
                    VecRun { keys, cursor: 0 }
                })
                .collect();
            let ready = |k: &(u8, u16)| bound.is_none_or(|b| k.0 < b);
            let mut expected: Vec<(u8, u16)> =
                runs.iter().flat_map(|r| r.keys.iter().copied()).filter(ready).collect();
            expected.sort();
            let mut got = Vec::new();
            merge_segments(&mut runs, ready, |r, seg| {
                assert!(!seg.is_empty());
                got.extend_from_slice(&r.keys[seg]);
            });
            prop_assert_eq!(got, expected);
            for r in &runs {
                prop_assert_eq!(r.cursor, r.keys.iter().filter(|k| ready(k)).count());
            }
        }
    }
}
