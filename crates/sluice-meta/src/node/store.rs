//! Durable Raft log and vote under the node's directory.
//!
//! Layout (all serde_json):
//! * `vote.json`: the last vote, replaced atomically (tmp + fsync + rename + dir fsync) because
//!   a vote must never be forgotten after it was granted.
//! * `log.bin`: append-only records `[u32 big-endian length][json Entry]`, fsynced before the
//!   append callback completes. Truncate and purge rewrite the whole file atomically: cluster
//!   metadata is small and both are rare, so an offset index is not worth its complexity.
//! * `purged.json`: last purged log id, written *before* the log is rewritten so a crash in
//!   between only leaves entries that loading filters out.
//! * `committed.json`: last committed log id. Not fsynced: it only lets a restarted node
//!   re-apply sooner, and an unreadable or stale value is treated as "unknown".
//!
//! The in-memory copy ([`LogData`]) answers reads; disk is only written. File I/O runs on the
//! blocking pool so the Raft core's runtime threads never wait for fsync.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::raft_types::{Entry, NodeId, TypeConfig};

const LOG_FILE: &str = "log.bin";
const VOTE_FILE: &str = "vote.json";
const PURGED_FILE: &str = "purged.json";
const COMMITTED_FILE: &str = "committed.json";

/// Largest log record accepted when loading; a bigger length prefix means corruption.
const MAX_RECORD: usize = 64 << 20;

/// Writes `bytes` to `path` atomically and durably: a reader sees the old or the new content.
pub(super) fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, path)?;
    if durable {
        sync_dir(path)?;
    }
    Ok(())
}

/// Fsyncs the directory holding `path` so a rename or create in it survives a crash.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Reads a JSON file; `Ok(None)` when it does not exist.
pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Serializes to JSON, mapping the (practically impossible) failure to an I/O error.
pub(super) fn to_json<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (our critical sections
/// leave the data consistent at every await-free step).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs blocking file work off the async runtime threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("storage task failed: {e}"))))
}

/// The log as held in memory, mirrored on disk.
#[derive(Debug)]
struct LogData {
    dir: PathBuf,
    log: BTreeMap<u64, Entry>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    /// Open for appending; `None` until the first append after open or a rewrite.
    file: Option<File>,
}

impl LogData {
    fn load(dir: &Path) -> io::Result<LogData> {
        fs::create_dir_all(dir)?;
        let vote = read_json(&dir.join(VOTE_FILE))?;
        let last_purged: Option<LogId<NodeId>> = read_json(&dir.join(PURGED_FILE))?;
        // Best effort (see module docs).
        let committed = read_json(&dir.join(COMMITTED_FILE)).ok().flatten();
        let path = dir.join(LOG_FILE);
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut log = BTreeMap::new();
        let mut pos = 0usize;
        let mut torn = false;
        while pos < bytes.len() {
            let Some(len_bytes) = bytes.get(pos..pos + 4) else {
                torn = true;
                break;
            };
            let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]])
                as usize;
            let Some(body) = bytes
                .get(pos + 4..pos + 4 + len)
                .filter(|_| len <= MAX_RECORD)
            else {
                torn = true;
                break;
            };
            let entry: Entry = match serde_json::from_slice(body) {
                Ok(e) => e,
                Err(_) => {
                    torn = true;
                    break;
                }
            };
            // A later record for the same index wins: appends after a truncation that was
            // interrupted before its rewrite completed never happen (rewrites are atomic), but
            // be tolerant anyway.
            log.split_off(&entry.log_id.index);
            log.insert(entry.log_id.index, entry);
            pos += 4 + len;
        }
        if let Some(p) = last_purged {
            log = log.split_off(&(p.index + 1));
        }
        let mut data = LogData {
            dir: dir.to_path_buf(),
            log,
            last_purged,
            vote,
            committed,
            file: None,
        };
        if torn {
            // The tail was cut by a crash mid-append (never acknowledged): drop it so later
            // appends are not hidden behind garbage.
            tracing::warn!(path = %path.display(), valid_bytes = pos, "dropping torn tail of raft log");
            data.rewrite()?;
        }
        Ok(data)
    }

    fn append(&mut self, entries: Vec<Entry>) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for e in &entries {
            let body = to_json(e)?;
            let len =
                u32::try_from(body.len()).map_err(|_| io::Error::other("log entry too large"))?;
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&body);
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let path = self.dir.join(LOG_FILE);
                let created = !path.exists();
                let f = OpenOptions::new().create(true).append(true).open(&path)?;
                if created {
                    sync_dir(&path)?;
                }
                self.file.insert(f)
            }
        };
        if let Err(e) = file.write_all(&buf).and_then(|()| file.sync_data()) {
            // A partial record would hide every later append from the next load (it stops at
            // the first bad record): put the file back to what memory holds.
            self.file = None;
            if let Err(e2) = self.rewrite() {
                tracing::error!(error = %e2, "could not repair raft log after a failed append");
            }
            return Err(e);
        }
        for e in entries {
            self.log.insert(e.log_id.index, e);
        }
        Ok(())
    }

    /// Replaces the log file with the in-memory entries.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut buf = Vec::new();
        for e in self.log.values() {
            let body = to_json(e)?;
            let len =
                u32::try_from(body.len()).map_err(|_| io::Error::other("log entry too large"))?;
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&body);
        }
        self.file = None;
        write_atomic(&self.dir.join(LOG_FILE), &buf, true)
    }

    fn truncate(&mut self, index: u64) -> io::Result<()> {
        self.log.split_off(&index);
        self.rewrite()
    }

    fn purge(&mut self, log_id: LogId<NodeId>) -> io::Result<()> {
        write_atomic(&self.dir.join(PURGED_FILE), &to_json(&log_id)?, true)?;
        self.last_purged = Some(log_id);
        self.log = self.log.split_off(&(log_id.index + 1));
        self.rewrite()
    }
}

/// The Raft log store handed to openraft; clones share one log.
#[derive(Debug, Clone)]
pub(crate) struct LogStore {
    data: Arc<Mutex<LogData>>,
}

impl LogStore {
    /// Loads (or creates) the log under `dir`.
    pub(crate) fn open(dir: &Path) -> io::Result<LogStore> {
        Ok(LogStore {
            data: Arc::new(Mutex::new(LogData::load(dir)?)),
        })
    }

    /// Runs `f` on the shared data on the blocking pool.
    async fn with_data<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LogData) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let data = self.data.clone();
        blocking(move || f(&mut lock(&data))).await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let d = lock(&self.data);
        Ok(d.log.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let d = lock(&self.data);
        let last = d
            .log
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(d.last_purged);
        Ok(LogState {
            last_purged_log_id: d.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.with_data(move |d| {
            write_atomic(&d.dir.join(VOTE_FILE), &to_json(&vote)?, true)?;
            d.vote = Some(vote);
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(lock(&self.data).vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let res = self
            .with_data(move |d| {
                d.committed = committed;
                write_atomic(&d.dir.join(COMMITTED_FILE), &to_json(&committed)?, false)
            })
            .await;
        if let Err(e) = res {
            // Only an optimization (see module docs): never fail Raft for it.
            tracing::warn!(error = %e, "could not save committed log id");
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(lock(&self.data).committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let res = self.with_data(move |d| d.append(entries)).await;
        match res {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = StorageIOError::write_logs(&e).into();
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.with_data(move |d| d.truncate(log_id.index))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.with_data(move |d| d.purge(log_id))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
            payload: EntryPayload::Blank,
        }
    }

    #[test]
    fn log_survives_reload_truncate_purge_and_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = LogData::load(dir.path()).expect("load");
        d.append((1..=10).map(entry).collect()).expect("append");
        d.truncate(8).expect("truncate");
        d.purge(entry(3).log_id).expect("purge");
        d.append(vec![entry(8)]).expect("append");
        drop(d);
        // A crash mid-append leaves a partial record behind.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .expect("open");
        f.write_all(&[0, 0, 1]).expect("write");
        drop(f);
        let d = LogData::load(dir.path()).expect("reload");
        assert_eq!(
            d.log.keys().copied().collect::<Vec<_>>(),
            vec![4, 5, 6, 7, 8]
        );
        assert_eq!(d.last_purged.map(|l| l.index), Some(3));
        let d = LogData::load(dir.path()).expect("reload after repair");
        assert_eq!(d.log.len(), 5);
    }
}
