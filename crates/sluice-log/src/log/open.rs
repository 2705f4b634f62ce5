//! Opening a [`PartitionLog`]: finishing interrupted segment swaps, listing
//! the segments (and removing leftovers), opening each (CRC-checking those
//! above the recovery point and cutting a torn tail), and rebuilding the
//! leader-epoch cache and checkpoints.

use std::path::Path;
use std::sync::Arc;

use super::PartitionLog;
use crate::batch::BatchHeader;
use crate::checkpoint::{self, PartitionCheckpoint};
use crate::epoch::EpochCache;
use crate::error::IoContext;
use crate::fsutil::ignore_not_found;
use crate::segment::{self, Segment};
use crate::swap::recover_swaps;
use crate::{Flusher, LogConfig, LogError};

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering after a crash:
    /// the active segment and any segment above the recovery point are
    /// CRC-checked and cut at the first invalid batch; indexes are rebuilt
    /// where missing or corrupt. Durable appends use [`Flusher::global`].
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self, LogError> {
        Self::open_with_flusher(dir, config, Flusher::global())
    }

    /// Like [`open`](Self::open) with an explicit group-commit flusher (share
    /// one per disk among partitions so they share fsync rounds).
    pub fn open_with_flusher(
        dir: &Path,
        config: LogConfig,
        flusher: Flusher,
    ) -> Result<Self, LogError> {
        config.validate()?;
        std::fs::create_dir_all(dir).ctx(|| format!("create {}", dir.display()))?;
        recover_swaps(dir)?;
        let bases = scan_dir(dir)?;
        let cp = PartitionCheckpoint::read(dir)?;
        let stored_epochs = checkpoint::read_epochs(dir)?;
        let mut epochs = EpochCache::from_entries(stored_epochs.clone().unwrap_or_default());
        let recovery_point = cp.recovery_point.unwrap_or(0);

        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let next_base = bases.get(i + 1).copied();
            let recover = next_base.is_none_or(|n| n > recovery_point);
            let mut visit = |h: &BatchHeader| {
                // Without a checkpoint the cache is rebuilt below, in offset order.
                if stored_epochs.is_some() {
                    epochs.assign(h.partition_leader_epoch, h.base_offset);
                }
            };
            let (seg, cut) = Segment::open(
                dir,
                base,
                next_base,
                recover,
                config.index_interval_bytes,
                &mut visit,
            )?;
            let overlaps = next_base.is_some_and(|n| seg.next_offset > n);
            segments.push(seg);
            if cut.is_some() || overlaps {
                // Offsets after a hole cannot be trusted to be contiguous with it.
                for &later in &bases[i + 1..] {
                    tracing::warn!(dir = %dir.display(), segment = later, "deleting segment after a recovered hole");
                    Segment::delete_files_of(dir, later)?;
                }
                break;
            }
        }
        let n = segments.len();
        for seg in segments.iter_mut().take(n.saturating_sub(1)) {
            // A rebuilt index of an inactive segment needs its final time entry.
            seg.seal()?;
        }
        if stored_epochs.is_none() {
            // Without a checkpoint, trusted segments were only partly scanned.
            for seg in &segments {
                seg.find_from(0, |h| {
                    epochs.assign(h.partition_leader_epoch, h.base_offset);
                    false
                })?;
            }
        }
        if segments.is_empty() {
            segments.push(Segment::create(
                dir,
                cp.log_start_offset.unwrap_or(0).max(0),
            )?);
        }
        if let Some(active) = segments.last_mut() {
            // Like Kafka, `segment.ms` counts from the first batch's timestamp
            // across restarts (the in-memory append time is lost).
            if let Some((_, h)) = active.find_from(0, |_| true)? {
                active.first_append_ms = (h.max_timestamp >= 0).then_some(h.max_timestamp);
            }
        }
        if config.durable {
            // A new partition directory must itself survive a crash.
            checkpoint::sync_dir(dir)
                .and_then(|()| dir.parent().map_or(Ok(()), checkpoint::sync_dir))
                .ctx(|| format!("fsync {}", dir.display()))?;
        }
        let first_base = segments[0].base_offset;
        let leo = segments.last().map_or(0, |s| s.next_offset);
        let log_start = cp
            .log_start_offset
            .unwrap_or(first_base)
            .clamp(first_base, leo);
        epochs.truncate_from_end(leo);
        epochs.truncate_from_start(log_start);
        if stored_epochs.as_deref() != Some(epochs.entries()) {
            checkpoint::write_epochs(dir, epochs.entries(), true)?;
        }
        let hw = cp.high_watermark.unwrap_or(log_start).clamp(log_start, leo);
        let log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start,
            hw,
            recovery_point: recovery_point.min(leo),
            cleaner_offset: cp.cleaner_offset.map(|c| c.min(leo)),
            cleaner_busy: Arc::default(),
            truncations: 0,
            epochs,
            flusher,
            headers: Vec::new(),
            metas: Vec::new(),
            closed: false,
            epochs_dirty: false,
        };
        log.write_checkpoint(false)?;
        Ok(log)
    }
}

/// Base offsets of the segments in `dir`, sorted; removes leftovers of
/// interrupted operations (temp files, indexes without a log).
fn scan_dir(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut bases = Vec::new();
    let mut index_files = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("list {}", dir.display()))? {
        let entry = entry.ctx(|| format!("list {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(checkpoint::TMP_SUFFIX) {
            std::fs::remove_file(entry.path())
                .or_else(ignore_not_found)
                .ctx(|| format!("delete {name}"))?;
        } else if let Some(stem) = name.strip_suffix(segment::LOG_SUFFIX) {
            if let Ok(base) = stem.parse::<i64>() {
                bases.push(base);
            }
        } else if let Some(stem) = name
            .strip_suffix(segment::INDEX_SUFFIX)
            .or_else(|| name.strip_suffix(segment::TIME_INDEX_SUFFIX))
        {
            if let Ok(base) = stem.parse::<i64>() {
                index_files.push((base, entry.path()));
            }
        }
    }
    bases.sort_unstable();
    for (base, path) in index_files {
        if bases.binary_search(&base).is_err() {
            std::fs::remove_file(&path)
                .or_else(ignore_not_found)
                .ctx(|| format!("delete {}", path.display()))?;
        }
    }
    Ok(bases)
}
