//! Small text checkpoint files, replaced atomically (write temp, fsync, rename).
//!
//! * `partition-checkpoint`: `high_watermark`, `log_start_offset`,
//!   `recovery_point` and (compacted topics) `cleaner_offset` as `key value`
//!   lines after a version line. Unknown keys are ignored.
//! * `leader-epoch-checkpoint`: Kafka's format — version line, entry count,
//!   then `epoch start_offset` lines.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::error::IoContext;
use crate::LogError;

pub(crate) const PARTITION_CHECKPOINT: &str = "partition-checkpoint";
pub(crate) const EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";
pub(crate) const TMP_SUFFIX: &str = ".tmp";
const VERSION: &str = "0";

/// Replaces `dir/name` with `contents`. With `durable`, the data and the
/// rename are fsynced so the file survives power loss.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    contents: &str,
    durable: bool,
) -> Result<(), LogError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    };
    write().ctx(|| format!("write checkpoint {}", path.display()))
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn read_optional(path: &Path) -> Result<Option<String>, LogError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // Garbage bytes: treat like a missing checkpoint, the log is rebuilt conservatively.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(None),
        Err(e) => Err(LogError::io(format!("read {}", path.display()), e)),
    }
}

/// Contents of the partition checkpoint; absent values mean "unknown".
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionCheckpoint {
    pub(crate) high_watermark: Option<i64>,
    pub(crate) log_start_offset: Option<i64>,
    pub(crate) recovery_point: Option<i64>,
    /// Log cleaner checkpoint: first offset not yet compacted.
    pub(crate) cleaner_offset: Option<i64>,
}

impl PartitionCheckpoint {
    pub(crate) fn read(dir: &Path) -> Result<Self, LogError> {
        let Some(text) = read_optional(&dir.join(PARTITION_CHECKPOINT))? else {
            return Ok(Self::default());
        };
        let mut lines = text.lines();
        if lines.next() != Some(VERSION) {
            tracing::warn!(dir = %dir.display(), "unreadable partition checkpoint; ignoring");
            return Ok(Self::default());
        }
        let mut cp = Self::default();
        for line in lines {
            let mut it = line.split_whitespace();
            let (Some(k), Some(v), None) =
                (it.next(), it.next().and_then(|v| v.parse().ok()), it.next())
            else {
                tracing::warn!(dir = %dir.display(), line, "bad partition checkpoint line");
                return Ok(Self::default());
            };
            match k {
                "high_watermark" => cp.high_watermark = Some(v),
                "log_start_offset" => cp.log_start_offset = Some(v),
                "recovery_point" => cp.recovery_point = Some(v),
                "cleaner_offset" => cp.cleaner_offset = Some(v),
                _ => {}
            }
        }
        Ok(cp)
    }

    pub(crate) fn write(&self, dir: &Path, durable: bool) -> Result<(), LogError> {
        let mut s = format!("{VERSION}\n");
        for (k, v) in [
            ("high_watermark", self.high_watermark),
            ("log_start_offset", self.log_start_offset),
            ("recovery_point", self.recovery_point),
            ("cleaner_offset", self.cleaner_offset),
        ] {
            if let Some(v) = v {
                s.push_str(&format!("{k} {v}\n"));
            }
        }
        write_atomic(dir, PARTITION_CHECKPOINT, &s, durable)
    }
}

/// Reads `leader-epoch-checkpoint`; `None` when missing or malformed.
pub(crate) fn read_epochs(dir: &Path) -> Result<Option<Vec<(i32, i64)>>, LogError> {
    let Some(text) = read_optional(&dir.join(EPOCH_CHECKPOINT))? else {
        return Ok(None);
    };
    let parse = || -> Option<Vec<(i32, i64)>> {
        let mut lines = text.lines();
        if lines.next()? != VERSION {
            return None;
        }
        let count: usize = lines.next()?.trim().parse().ok()?;
        let mut out = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let mut it = lines.next()?.split_whitespace();
            out.push((it.next()?.parse().ok()?, it.next()?.parse().ok()?));
        }
        Some(out)
    };
    let parsed = parse();
    if parsed.is_none() {
        tracing::warn!(dir = %dir.display(), "malformed leader-epoch checkpoint; rebuilding from the log");
    }
    Ok(parsed)
}

pub(crate) fn write_epochs(
    dir: &Path,
    entries: &[(i32, i64)],
    durable: bool,
) -> Result<(), LogError> {
    let mut s = format!("{VERSION}\n{}\n", entries.len());
    for (e, o) in entries {
        s.push_str(&format!("{e} {o}\n"));
    }
    write_atomic(dir, EPOCH_CHECKPOINT, &s, durable)
}
