//! Leader-epoch cache: which leader epoch started at which offset, for
//! follower truncation (OffsetForLeaderEpoch).

/// Ordered `(epoch, start_offset)` pairs; both strictly increasing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EpochCache {
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    pub(crate) fn from_entries(mut entries: Vec<(i32, i64)>) -> Self {
        // A hand-edited or half-written file must not break the ordering invariant.
        entries.sort_unstable();
        entries.dedup_by_key(|e| e.0);
        let mut out: Vec<(i32, i64)> = Vec::with_capacity(entries.len());
        for e in entries {
            if out.last().is_none_or(|l| e.1 > l.1) {
                out.push(e);
            }
        }
        EpochCache { entries: out }
    }

    pub(crate) fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }

    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.0)
    }

    /// Records that `epoch` starts at `start_offset` if it is newer than the
    /// latest known epoch. Returns true when the cache changed.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || self.latest_epoch().is_some_and(|l| epoch <= l) {
            return false;
        }
        // Entries starting at or after the new start are stale leftovers.
        while self.entries.last().is_some_and(|l| l.1 >= start_offset) {
            self.entries.pop();
        }
        self.entries.push((epoch, start_offset));
        true
    }

    /// Drops epochs that start at or after `end_offset` (log truncated there).
    pub(crate) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.1 < end_offset);
        before != self.entries.len()
    }

    /// Forgets history below `start_offset`, keeping the epoch in force there.
    pub(crate) fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let n_below = self.entries.partition_point(|e| e.1 <= start_offset);
        if n_below == 0 {
            return false;
        }
        let keep = n_below - 1;
        let changed = keep > 0 || self.entries[keep].1 != start_offset;
        self.entries.drain(..keep);
        self.entries[0].1 = start_offset;
        changed
    }

    /// Kafka's `endOffsetFor`: `(largest epoch ≤ requested, start offset of
    /// the next higher epoch)`, or the log end offset for the latest epoch.
    pub(crate) fn end_offset_for(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if epoch < 0 {
            return None;
        }
        if self.latest_epoch() == Some(epoch) {
            return Some((epoch, log_end_offset));
        }
        let higher = self.entries.partition_point(|e| e.0 <= epoch);
        let next = self.entries.get(higher)?;
        match higher.checked_sub(1) {
            Some(floor) => Some((self.entries[floor].0, next.1)),
            None => Some((epoch, next.1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offset_for_follows_kafka() {
        let mut c = EpochCache::default();
        assert_eq!(c.end_offset_for(0, 10), None);
        assert!(c.assign(1, 0));
        assert!(c.assign(3, 10));
        assert!(!c.assign(2, 20));
        assert_eq!(c.end_offset_for(3, 25), Some((3, 25)));
        assert_eq!(c.end_offset_for(1, 25), Some((1, 10)));
        assert_eq!(c.end_offset_for(2, 25), Some((1, 10)));
        assert_eq!(c.end_offset_for(0, 25), Some((0, 0)));
        assert_eq!(c.end_offset_for(4, 25), None);
    }

    #[test]
    fn truncation_both_ends() {
        let mut c = EpochCache::from_entries(vec![(1, 0), (2, 10), (5, 20)]);
        assert!(c.truncate_from_end(20));
        assert_eq!(c.entries(), &[(1, 0), (2, 10)]);
        assert!(c.truncate_from_start(12));
        assert_eq!(c.entries(), &[(2, 12)]);
        assert!(!c.truncate_from_start(5));
    }
}
