//! What happens to a [`Partition`] outside requests: metadata changes (role, epochs, ISR,
//! configs), housekeeping (rolls, retention, log cleaning, flushes), and reading an internal
//! topic back for a coordinator taking over.

use std::time::Instant;

use kafka_protocol::error::ResponseError;
use sluice_log::{CleanPlan, CleanedPass, CompactionOutcome};
use sluice_meta::image::PartitionMeta;

use super::Partition;
use crate::batch::KeyValue;
use crate::error::BrokerError;
use crate::replica::state::{Role, RoleChange};
use crate::topic_config::TopicSettings;

/// What a metadata change did to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// How its role changed.
    pub change: RoleChange,
    /// The leader it follows now, if it is a follower.
    pub following: Option<i32>,
    /// It leads now.
    pub leads: bool,
    /// The high watermark moved (a shrunk ISR can let it advance).
    pub high_watermark_moved: bool,
}

impl Partition {
    /// Takes the image's view of this partition: configs, role, epochs, replicas and ISR.
    pub fn apply_metadata(
        &self,
        meta: &PartitionMeta,
        settings: &TopicSettings,
        now: Instant,
    ) -> Result<Applied, ResponseError> {
        let mut s = self.state()?;
        let store = &mut s.store;
        if store.log_config() != &settings.log {
            if let Err(e) = store.update_settings(settings) {
                tracing::error!(topic = %self.topic, partition = self.index, error = ?e, "applying config failed");
            }
        }
        let leo = store.log_end_offset();
        let change = store.replica.update(meta, leo, now);
        let leads = store.replica.leads(-1);
        let high_watermark_moved = leads && store.recompute_high_watermark();
        let following = match store.replica.role {
            Role::Follower { leader } => Some(leader),
            _ => None,
        };
        Ok(Applied {
            change,
            following,
            leads,
            high_watermark_moved,
        })
    }

    /// Housekeeping (rolls, retention, and a log cleaner pass for compacted topics), holding
    /// the lock only for the short steps. The pass reads, re-encodes, writes and fsyncs
    /// segments with the lock released, so produce and fetch go on; the lock is taken again
    /// only to swap the cleaned segments in. Returns the cleaner's outcome when a pass ran.
    /// An offline replica (see the module docs of `partition`) is first reopened.
    pub fn maintain(&self, now_ms: i64) -> Result<Option<CompactionOutcome>, BrokerError> {
        self.maintain_with(now_ms, CleanPlan::clean)
    }

    /// [`maintain`](Self::maintain) with the clean step supplied, so a test can check what
    /// holds while it runs.
    pub(crate) fn maintain_with(
        &self,
        now_ms: i64,
        clean: impl FnOnce(CleanPlan) -> CleanedPass,
    ) -> Result<Option<CompactionOutcome>, BrokerError> {
        let plan = {
            let mut guard = self.lock_recovering();
            if guard.failed {
                self.reopen(&mut guard);
            }
            if guard.failed {
                return Err(BrokerError::Log("replica offline".into()));
            }
            guard.store.maintain(now_ms)?
        };
        let Some(plan) = plan else {
            return Ok(None);
        };
        let pass = clean(plan);
        // Also when the clean failed: the commit tells a broken segment (an error) from one
        // truncated under the clean by a follower catching up with a new leader (abandoned).
        let outcome = self.store_op(|s| s.commit_compaction(pass))?;
        Ok(Some(outcome))
    }

    /// Forces the log to disk.
    pub fn flush(&self) -> Result<(), BrokerError> {
        self.store_op(|s| s.flush())
    }

    /// Forces the log to disk if anything was appended since the last flush.
    pub fn flush_if_unflushed(&self) -> Result<(), BrokerError> {
        self.store_op(|s| s.flush_if_unflushed())
    }

    /// Bytes on disk (0 while offline).
    pub fn size_bytes(&self) -> u64 {
        self.state().map_or(0, |s| s.store.size_bytes())
    }

    /// Key and value of every record up to the log end (uncompressed batches only), for
    /// replaying an internal topic.
    pub fn read_all_records(&self) -> Result<Vec<KeyValue>, BrokerError> {
        self.store_op(|s| s.read_all_records())
    }

    fn store_op<T>(
        &self,
        op: impl FnOnce(&mut super::store::PartitionStore) -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        let mut s = self
            .state()
            .map_err(|_| BrokerError::Log("replica offline".into()))?;
        op(&mut s.store)
    }
}
