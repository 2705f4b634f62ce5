//! Replacing a segment by its cleaned copy, crash-safely: the
//! `<base>.log.cleaned` → `<base>.log.swap` → `<base>.log` renames, the
//! recovery that completes or rolls them back when a log is opened
//! ([`recover_swaps`]), and the points a test can stop at ([`CrashPoint`]).
//! Owns no state but those files' names.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::error::IoContext;
use crate::fsutil::ignore_not_found;
use crate::segment;
use crate::LogError;

/// A cleaned segment being written.
pub(crate) const CLEANED_SUFFIX: &str = ".log.cleaned";
/// A cleaned segment committed to replace `<base>.log`.
pub(crate) const SWAP_SUFFIX: &str = ".log.swap";

/// Where [`PartitionLog::compact_crashing`] stops while replacing the first
/// segment it rewrites, leaving the files as a crash at that point would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(any(test, feature = "testing")),
    allow(
        dead_code,
        unreachable_pub,
        reason = "only compact_crashing (tests, the `testing` feature) names a crash point"
    )
)]
pub enum CrashPoint {
    /// Half of `<base>.log.cleaned` written.
    PartialCleaned,
    /// `<base>.log.cleaned` complete and fsynced.
    Cleaned,
    /// Renamed to `<base>.log.swap` (the commit point).
    Swapped,
    /// The old index files deleted.
    IndexesDeleted,
    /// The swap file renamed over `<base>.log`, indexes not yet written.
    Renamed,
}

/// Finishes or rolls back segment replacements a crash interrupted: deletes
/// `.cleaned` files (the old segment is intact) and completes `.swap` files
/// (the cleaned segment was committed). Called before a log is opened.
pub(crate) fn recover_swaps(dir: &Path) -> Result<(), LogError> {
    let mut swaps = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("list {}", dir.display()))? {
        let entry = entry.ctx(|| format!("list {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(CLEANED_SUFFIX) {
            tracing::warn!(dir = %dir.display(), file = name, "deleting interrupted cleaner output");
            std::fs::remove_file(entry.path())
                .or_else(ignore_not_found)
                .ctx(|| format!("delete {name}"))?;
        } else if let Some(stem) = name.strip_suffix(SWAP_SUFFIX) {
            if let Ok(base) = stem.parse::<i64>() {
                swaps.push((base, entry.path()));
            }
        }
    }
    for (base, path) in swaps {
        tracing::warn!(dir = %dir.display(), segment = base, "completing interrupted cleaner swap");
        delete_index_files(dir, base)?;
        rename(
            &path,
            &dir.join(segment::file_name(base, segment::LOG_SUFFIX)),
        )?;
        checkpoint::sync_dir(dir).ctx(|| format!("fsync {}", dir.display()))?;
    }
    Ok(())
}

pub(crate) fn rename(from: &Path, to: &PathBuf) -> Result<(), LogError> {
    std::fs::rename(from, to).ctx(|| format!("rename {} to {}", from.display(), to.display()))
}

pub(crate) fn delete_index_files(dir: &Path, base: i64) -> Result<(), LogError> {
    for suffix in [segment::INDEX_SUFFIX, segment::TIME_INDEX_SUFFIX] {
        let p = dir.join(segment::file_name(base, suffix));
        std::fs::remove_file(&p)
            .or_else(ignore_not_found)
            .ctx(|| format!("delete {}", p.display()))?;
    }
    Ok(())
}
