//! Opening an existing segment: a cleanly closed one is trusted and its
//! index files used when they look sane (only the batches after the last
//! time-index entry are scanned); otherwise every batch is scanned, CRC-checked
//! when recovering, and the indexes rebuilt. Owns no state of its own: it
//! fills in a [`Segment`].

use std::path::Path;

use super::Segment;
use crate::batch::BatchHeader;
use crate::error::IoContext;
use crate::fsutil::open_rw;
use crate::index::{OffsetIndex, TimeIndex};
use crate::recovery::{self, Stop};
use crate::LogError;

impl Segment {
    /// Opens an existing segment. With `recover`, every batch's CRC is checked
    /// and invalid bytes are cut off (returned as `Some(reason)`); otherwise the
    /// data is trusted and the index files are used when they look sane.
    /// `visit` sees every batch scanned (used to rebuild the leader-epoch cache).
    pub(crate) fn open(
        dir: &Path,
        base: i64,
        next_base: Option<i64>,
        recover: bool,
        index_interval: u32,
        visit: &mut dyn FnMut(&BatchHeader),
    ) -> Result<(Self, Option<&'static str>), LogError> {
        let (log_path, index_path, time_path) = Self::paths(dir, base);
        let file = open_rw(&log_path, false).ctx(|| format!("open {}", log_path.display()))?;
        let len = file
            .metadata()
            .ctx(|| format!("stat {}", log_path.display()))?
            .len();
        let mut seg = Self::blank(dir, base, file, len);
        if !recover {
            let oi = OffsetIndex::read(index_path).ctx(|| "read offset index".into())?;
            let ti = TimeIndex::read(time_path).ctx(|| "read time index".into())?;
            if let (Some(oi), Some(ti)) = (oi, ti) {
                let max_rel = next_base.and_then(|n| u32::try_from(n - base).ok());
                if oi.is_sane(len, max_rel)
                    && ti.is_sane(max_rel)
                    && seg.load_tail(oi, ti, index_interval, visit)?
                {
                    seg.seek_to_end()?;
                    return Ok((seg, None));
                }
            }
            tracing::warn!(segment = %log_path.display(), "index missing or corrupt; rebuilding");
        }
        let stop = seg.rebuild(recover, index_interval, visit)?;
        seg.seek_to_end()?;
        Ok((seg, stop))
    }

    /// Completes state from trusted indexes by scanning only the batches after
    /// the last time-index entry. Returns false if that scan finds the data
    /// inconsistent with the index (then the caller rebuilds).
    fn load_tail(
        &mut self,
        oi: OffsetIndex,
        ti: TimeIndex,
        index_interval: u32,
        visit: &mut dyn FnMut(&BatchHeader),
    ) -> Result<bool, LogError> {
        if self.size > 0 && (oi.entries.is_empty() || ti.entries.is_empty()) {
            // The first batch of a segment is always indexed.
            return Ok(false);
        }
        let from_rel = ti.last().map(|e| e.rel).unwrap_or(0);
        let from = u64::from(oi.lookup(from_rel).ctx(|| "offset index lookup".into())?);
        // Sanity checks cannot catch entries that point into the middle of a
        // batch; spot-check the entries this open relies on.
        let used = oi
            .entries
            .iter()
            .rev()
            .find(|e| u64::from(e.pos) == from)
            .copied();
        for e in [oi.last(), used].into_iter().flatten() {
            let at = recovery::header_at(&self.log, self.size, u64::from(e.pos))
                .ctx(|| format!("read {}", self.log_path.display()))?;
            if at.is_none_or(|h| h.base_offset != self.base_offset + i64::from(e.rel)) {
                return Ok(false);
            }
        }
        self.max_timestamp = ti.last().map(|e| e.ts).unwrap_or(-1);
        self.offset_index = oi;
        self.time_index = ti;
        let mut last = None;
        let mut next = self.base_offset;
        let mut max_ts = self.max_timestamp;
        let scanned = recovery::scan(
            &self.log,
            self.size,
            from,
            self.base_offset,
            false,
            |h, _| {
                visit(h);
                last = Some(h.base_offset);
                next = h.next_offset();
                max_ts = max_ts.max(h.max_timestamp);
            },
        )
        .ctx(|| format!("scan {}", self.log_path.display()))?;
        // A sealed segment's last time entry is at its last batch.
        let sealed = last.is_none_or(|l| {
            let rel = self.time_index.last().map(|e| i64::from(e.rel));
            rel == Some(l - self.base_offset)
        });
        if scanned.stop != Stop::End || (from > 0 && last.is_none()) || !sealed {
            self.offset_index.clear();
            self.time_index.clear();
            return Ok(false);
        }
        self.last_batch_base = last;
        self.next_offset = next;
        self.max_timestamp = max_ts;
        // Unknown how much of the interval the tail used; index eagerly.
        self.bytes_since_index = u64::from(index_interval);
        Ok(true)
    }
}
