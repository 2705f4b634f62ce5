//! The Raft state machine: a [`MetadataImage`] plus durable snapshots of it.
//!
//! The applied state itself is not persisted entry by entry: on restart the node loads the
//! latest snapshot (`snapshot.json`: meta + serialized image) and openraft re-applies the
//! committed entries after it from the log. Every apply batch publishes the new image on a
//! watch channel, which is what the broker (and `propose`) waits on.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::raft_types::{Entry, NodeId, TypeConfig};
use super::store::{lock, read_json, to_json, write_atomic};
use crate::image::{MetadataImage, Reply};

const SNAPSHOT_FILE: &str = "snapshot.json";

/// What `snapshot.json` holds. `data` is exactly what is sent to followers (the JSON image).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, openraft::BasicNode>,
    data: Vec<u8>,
}

/// The applied state.
#[derive(Debug, Default)]
struct Applied {
    image: MetadataImage,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, openraft::BasicNode>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    applied: Mutex<Applied>,
    snapshot: Mutex<Option<StoredSnapshot>>,
    /// Distinguishes snapshots built at the same log id.
    snapshot_seq: AtomicU64,
    publish: watch::Sender<Arc<MetadataImage>>,
}

impl Shared {
    fn publish(&self, image: &MetadataImage) {
        self.publish.send_replace(Arc::new(image.clone()));
    }

    /// Persists `snap` and makes it the current snapshot, unless a newer one is current: a
    /// snapshot built from an older state can finish after a newer one was installed from the
    /// leader, and the log before the newer one may already be purged.
    async fn store_snapshot(self: &Arc<Self>, snap: StoredSnapshot) -> io::Result<()> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || {
            // Held across the write so the file and the in-memory copy change together.
            let mut current = lock(&shared.snapshot);
            if current
                .as_ref()
                .is_some_and(|c| c.meta.last_log_id > snap.meta.last_log_id)
            {
                return Ok(());
            }
            write_atomic(&shared.dir.join(SNAPSHOT_FILE), &to_json(&snap)?, true)?;
            *current = Some(snap);
            Ok(())
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("snapshot task failed: {e}"))))
    }
}

/// The state machine handed to openraft; clones (snapshot builders) share its state.
#[derive(Debug, Clone)]
pub(crate) struct StateMachine {
    shared: Arc<Shared>,
}

impl StateMachine {
    /// Loads the latest snapshot under `dir`, if any, and returns the state machine with the
    /// receiver of its published images.
    pub(crate) fn open(
        dir: &Path,
    ) -> io::Result<(StateMachine, watch::Receiver<Arc<MetadataImage>>)> {
        let stored: Option<StoredSnapshot> = read_json(&dir.join(SNAPSHOT_FILE))?;
        let mut applied = Applied::default();
        if let Some(s) = &stored {
            applied.image = serde_json::from_slice(&s.data).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("snapshot image: {e}"))
            })?;
            applied.last_applied = s.meta.last_log_id;
            applied.membership = s.meta.last_membership.clone();
        }
        let (tx, rx) = watch::channel(Arc::new(applied.image.clone()));
        let sm = StateMachine {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                applied: Mutex::new(applied),
                snapshot: Mutex::new(stored),
                snapshot_seq: AtomicU64::new(0),
                publish: tx,
            }),
        };
        Ok((sm, rx))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        // Copy under the lock, serialize and write outside it so applies are not held up.
        let (image, last_applied, membership) = {
            let a = lock(&self.shared.applied);
            (a.image.clone(), a.last_applied, a.membership.clone())
        };
        let data = to_json(&image).map_err(|e| StorageIOError::read_state_machine(&e))?;
        let seq = self.shared.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, seq),
            None => format!("none-{seq}"),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        let snap = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        self.shared
            .store_snapshot(snap)
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<
        (
            Option<LogId<NodeId>>,
            StoredMembership<NodeId, openraft::BasicNode>,
        ),
        StorageError<NodeId>,
    > {
        let a = lock(&self.shared.applied);
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut a = lock(&self.shared.applied);
        for entry in entries {
            a.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(cmd) => {
                    let reply = a.image.apply(entry.log_id.index, &cmd);
                    replies.push(reply);
                }
                EntryPayload::Blank => {
                    a.image.applied_index = entry.log_id.index;
                    replies.push(Reply::Ok);
                }
                EntryPayload::Membership(m) => {
                    a.image.applied_index = entry.log_id.index;
                    a.membership = StoredMembership::new(Some(entry.log_id), m);
                    replies.push(Reply::Ok);
                }
            }
        }
        self.shared.publish(&a.image);
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        // The leader's bytes are network input: a bad image is a storage error, not a panic.
        let mut image: MetadataImage = serde_json::from_slice(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        if let Some(l) = meta.last_log_id {
            image.applied_index = image.applied_index.max(l.index);
        }
        self.shared
            .store_snapshot(StoredSnapshot {
                meta: meta.clone(),
                data,
            })
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let mut a = lock(&self.shared.applied);
        a.last_applied = meta.last_log_id;
        a.membership = meta.last_membership.clone();
        a.image = image;
        self.shared.publish(&a.image);
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(lock(&self.shared.snapshot).as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use openraft::{BasicNode, CommittedLeaderId, Membership};

    use super::*;

    fn log_id(index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(1, 0), index)
    }

    #[tokio::test]
    async fn snapshot_reloads_image_applied_state_and_membership() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut sm, rx) = StateMachine::open(dir.path()).expect("open");
        let membership = Membership::new(
            vec![BTreeSet::from([1])],
            BTreeMap::from([(
                1,
                BasicNode {
                    addr: "127.0.0.1:1".into(),
                },
            )]),
        );
        let entries = vec![
            Entry {
                log_id: log_id(1),
                payload: EntryPayload::Membership(membership),
            },
            Entry {
                log_id: log_id(2),
                payload: EntryPayload::Blank,
            },
        ];
        let replies = sm.apply(entries).await.expect("apply");
        assert_eq!(replies, vec![Reply::Ok, Reply::Ok]);
        assert_eq!(rx.borrow().applied_index, 2);
        let snap = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .expect("build");
        assert_eq!(snap.meta.last_log_id, Some(log_id(2)));

        let (mut reopened, rx) = StateMachine::open(dir.path()).expect("reopen");
        assert_eq!(rx.borrow().applied_index, 2);
        let (applied, m) = reopened.applied_state().await.expect("applied state");
        assert_eq!(applied, Some(log_id(2)));
        assert_eq!(m.log_id(), &Some(log_id(1)));
        let current = reopened.get_current_snapshot().await.expect("snapshot");
        assert_eq!(current.map(|s| s.meta.last_log_id), Some(Some(log_id(2))));

        // Garbage from the leader is an error, not a panic.
        let meta = snap.meta.clone();
        let bad = Box::new(Cursor::new(b"not json".to_vec()));
        assert!(reopened.install_snapshot(&meta, bad).await.is_err());
    }
}
