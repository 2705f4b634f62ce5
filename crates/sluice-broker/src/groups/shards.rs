//! Which `__consumer_offsets` partition a group belongs to, and which of those partitions this
//! broker coordinates right now.
//!
//! The mapping is Kafka's, bit for bit, so a group lands on the same partition as it would on
//! Kafka and tools that compute it (or operators who reason about it) agree with us. The count
//! always comes from the topic as it exists: a cluster created with another
//! `offsets.topic.num.partitions` keeps its own count, since changing it would strand every
//! group whose partition moved away from its stored state.
//!
//! Leadership changes arrive on the metadata path (`replica::manager::apply`, under the apply
//! lock). That path only updates the table; replaying a partition and failing the waiters of
//! a lost one happen on a separate thread, so a long replay or a request holding a group lock
//! never delays the next image. Until its replay is done a partition answers
//! COORDINATOR_LOAD_IN_PROGRESS, which clients retry.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use tokio::sync::watch;

use super::group::Group;
use super::records;
use crate::config::BrokerConfig;
use crate::partition::{Partition, CONSUMER_OFFSETS};

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of a group: Kafka's
/// `Utils.abs(groupId.hashCode) % partitions`, where `Utils.abs` masks the sign bit (so
/// `i32::MIN` maps to 0 rather than overflowing).
pub fn partition_for(group_id: &str, partitions: i32) -> i32 {
    (java_string_hash(group_id) & 0x7fff_ffff) % partitions.max(1)
}

/// The groups of one `__consumer_offsets` partition this broker leads.
#[derive(Debug)]
pub(super) struct Shard {
    pub(super) index: i32,
    /// Leader epoch the groups were loaded at; writes are refused once it is not current.
    pub(super) epoch: i32,
    /// The partition's local replica; `None` for the in-memory coordinator of unit tests.
    pub(super) log: Option<Arc<Partition>>,
    pub(super) state: Mutex<ShardState>,
}

#[derive(Debug, Default)]
pub(super) struct ShardState {
    /// Set once leadership moved: a request that found the shard just before must not touch
    /// groups that another broker now owns.
    pub(super) retired: bool,
    pub(super) groups: HashMap<String, Group>,
}

#[derive(Debug)]
enum Slot {
    Loading { epoch: i32, log: Arc<Partition> },
    Active(Arc<Shard>),
}

#[derive(Debug, Default)]
struct Table {
    /// Partition count of `__consumer_offsets` (0 while it does not exist).
    partitions: i32,
    /// The partitions this broker leads, by index.
    slots: BTreeMap<i32, Slot>,
}

/// Group settings from the broker configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) min_session_ms: i32,
    pub(super) max_session_ms: i32,
    pub(super) initial_delay: Duration,
    /// `offsets.retention.minutes`, in ms.
    pub(super) offsets_retention_ms: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            min_session_ms: 6_000,
            max_session_ms: 1_800_000,
            initial_delay: Duration::ZERO,
            offsets_retention_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// The group coordinator of this broker: the groups of every `__consumer_offsets` partition
/// it leads.
#[derive(Debug)]
pub struct GroupCoordinator {
    table: RwLock<Table>,
    pub(super) settings: Settings,
    /// Wakes followers' fetches after a write, and waits for the high watermark.
    pub(super) notify: Option<Arc<watch::Sender<u64>>>,
    pub(super) next_member: AtomicU64,
}

/// A `__consumer_offsets` partition this broker leads, at `epoch`.
#[derive(Debug, Clone)]
pub(super) struct Led {
    pub(super) index: i32,
    pub(super) epoch: i32,
    pub(super) log: Arc<Partition>,
}

/// Work that follows a leadership change, done off the metadata path.
#[derive(Debug)]
pub(super) enum Handover {
    /// Replay the partition and start coordinating its groups.
    Load(Led),
    /// Leadership moved: answer the waiting members and forget the groups.
    Retire(Arc<Shard>),
}

impl GroupCoordinator {
    /// A coordinator that leads nothing until [`set_coordinator`] says otherwise.
    pub fn new(config: &BrokerConfig, notify: Arc<watch::Sender<u64>>) -> GroupCoordinator {
        let settings = Settings {
            min_session_ms: config.group_min_session_timeout_ms,
            max_session_ms: config.group_max_session_timeout_ms,
            initial_delay: Duration::from_millis(config.group_initial_rebalance_delay_ms),
            offsets_retention_ms: config.offsets_retention_minutes.saturating_mul(60_000),
        };
        GroupCoordinator::leading_nothing(settings, Some(notify))
    }

    /// Without `notify`, writes do not wait for an ISR (unit tests, which have no runtime).
    pub(super) fn leading_nothing(
        settings: Settings,
        notify: Option<Arc<watch::Sender<u64>>>,
    ) -> GroupCoordinator {
        GroupCoordinator {
            table: RwLock::new(Table::default()),
            settings,
            notify,
            next_member: AtomicU64::new(0),
        }
    }

    /// A coordinator that keeps state in memory only and coordinates every group (unit tests).
    pub fn in_memory() -> GroupCoordinator {
        GroupCoordinator::in_memory_with(Settings::default())
    }

    pub(super) fn in_memory_with(settings: Settings) -> GroupCoordinator {
        let c = GroupCoordinator::leading_nothing(settings, None);
        let shard = Arc::new(Shard {
            index: 0,
            epoch: 0,
            log: None,
            state: Mutex::new(ShardState::default()),
        });
        let mut table = c.table.write().expect("poisoned");
        table.partitions = 1;
        table.slots.insert(0, Slot::Active(shard));
        drop(table);
        c
    }

    /// The coordinating shard of `group_id`: NOT_COORDINATOR if this broker does not lead its
    /// partition, COORDINATOR_LOAD_IN_PROGRESS while the partition is being replayed.
    pub(super) fn shard_for(&self, group_id: &str) -> Result<Arc<Shard>, ResponseError> {
        let table = self.table.read().expect("poisoned");
        if table.partitions < 1 {
            return Err(ResponseError::NotCoordinator);
        }
        match table.slots.get(&partition_for(group_id, table.partitions)) {
            None => Err(ResponseError::NotCoordinator),
            Some(Slot::Loading { .. }) => Err(ResponseError::CoordinatorLoadInProgress),
            Some(Slot::Active(shard)) => Ok(shard.clone()),
        }
    }

    /// Runs `f` on the groups of `group_id`'s partition, under that partition's lock (other
    /// partitions' groups are not held up by it, e.g. while a write waits for the ISR).
    pub(super) fn with_groups<R>(
        &self,
        group_id: &str,
        f: impl FnOnce(&Shard, &mut HashMap<String, Group>) -> R,
    ) -> Result<R, ResponseError> {
        let shard = self.shard_for(group_id)?;
        let mut state = shard.state.lock().expect("poisoned");
        if state.retired {
            return Err(ResponseError::NotCoordinator);
        }
        Ok(f(&shard, &mut state.groups))
    }

    /// Every partition this broker coordinates now, and whether any is still being replayed.
    pub(super) fn active_shards(&self) -> (Vec<Arc<Shard>>, bool) {
        let table = self.table.read().expect("poisoned");
        let mut loading = false;
        let mut active = Vec::new();
        for slot in table.slots.values() {
            match slot {
                Slot::Loading { .. } => loading = true,
                Slot::Active(s) => active.push(s.clone()),
            }
        }
        (active, loading)
    }

    /// The `__consumer_offsets` partitions this broker leads (index, epoch), and whether each
    /// is coordinating (`true`) or still replaying.
    #[cfg(test)]
    pub(super) fn led_partitions(&self) -> Vec<(i32, i32, bool)> {
        let table = self.table.read().expect("poisoned");
        table
            .slots
            .iter()
            .map(|(i, slot)| match slot {
                Slot::Loading { epoch, .. } => (*i, *epoch, false),
                Slot::Active(s) => (*i, s.epoch, true),
            })
            .collect()
    }

    /// Makes the table match the partitions this broker leads now; returns what must follow.
    /// A partition led at a new epoch is replayed again: another leader may have written to
    /// it in between, even if this broker never saw the intermediate image.
    pub(super) fn set_leadership(&self, partitions: i32, led: Vec<Led>) -> Vec<Handover> {
        let mut table = self.table.write().expect("poisoned");
        table.partitions = partitions;
        let wanted: BTreeMap<i32, Led> = led.into_iter().map(|l| (l.index, l)).collect();
        let mut work = Vec::new();
        let current: Vec<i32> = table.slots.keys().copied().collect();
        for index in current {
            let keep = match (&table.slots[&index], wanted.get(&index)) {
                (Slot::Loading { epoch, log }, Some(l)) => {
                    *epoch == l.epoch && Arc::ptr_eq(log, &l.log)
                }
                (Slot::Active(s), Some(l)) => {
                    s.epoch == l.epoch && s.log.as_ref().is_some_and(|x| Arc::ptr_eq(x, &l.log))
                }
                (_, None) => false,
            };
            if !keep {
                if let Some(Slot::Active(s)) = table.slots.remove(&index) {
                    work.push(Handover::Retire(s));
                }
            }
        }
        for (index, l) in wanted {
            if let std::collections::btree_map::Entry::Vacant(e) = table.slots.entry(index) {
                e.insert(Slot::Loading {
                    epoch: l.epoch,
                    log: l.log.clone(),
                });
                work.push(Handover::Load(l));
            }
        }
        work
    }

    /// Does the work a leadership change left: retires lost partitions' groups, replays newly
    /// led partitions and activates them unless leadership changed again meanwhile.
    pub(super) fn hand_over(&self, work: Handover) {
        match work {
            Handover::Retire(shard) => {
                let mut state = shard.state.lock().expect("poisoned");
                state.retired = true;
                for g in state.groups.values_mut() {
                    g.abandon(ResponseError::NotCoordinator);
                }
                let n = state.groups.len();
                state.groups.clear();
                tracing::info!(
                    partition = shard.index,
                    groups = n,
                    "no longer coordinating the groups of {CONSUMER_OFFSETS}-{}",
                    shard.index
                );
            }
            Handover::Load(led) => {
                // Up to the log end, not the high watermark: a new leader's log holds
                // everything the old one committed, while its high watermark catches up only
                // as followers fetch.
                let records = led.log.read_all_records();
                let mut table = self.table.write().expect("poisoned");
                let current = matches!(
                    table.slots.get(&led.index),
                    Some(Slot::Loading { epoch, log }) if *epoch == led.epoch && Arc::ptr_eq(log, &led.log)
                );
                if !current {
                    return;
                }
                let records = match records {
                    Ok(r) => r,
                    Err(e) => {
                        // Dropping the slot makes clients re-discover the coordinator rather
                        // than wait on a load that will not finish.
                        tracing::error!(partition = led.index, error = %e, "replaying {CONSUMER_OFFSETS} failed");
                        table.slots.remove(&led.index);
                        return;
                    }
                };
                let groups = records::replay(records);
                tracing::info!(
                    partition = led.index,
                    epoch = led.epoch,
                    groups = groups.len(),
                    "coordinating groups: replayed {CONSUMER_OFFSETS}-{}",
                    led.index
                );
                table.slots.insert(
                    led.index,
                    Slot::Active(Arc::new(Shard {
                        index: led.index,
                        epoch: led.epoch,
                        log: Some(led.log),
                        state: Mutex::new(ShardState {
                            retired: false,
                            groups,
                        }),
                    })),
                );
            }
        }
    }
}

/// Follows this broker's leadership of `__consumer_offsets`: `partitions` is the topic's
/// partition count in the image (0: no such topic yet) and `led` the (index, leader epoch) of
/// each partition this broker leads. Called on every image, so it must be cheap when nothing
/// changed. `log_of` is this broker's replica of a partition of `__consumer_offsets`.
pub fn set_coordinator(
    groups: &Arc<GroupCoordinator>,
    partitions: i32,
    led: &[(i32, i32)],
    log_of: impl Fn(i32) -> Option<Arc<Partition>>,
) {
    let led = led
        .iter()
        .filter_map(|&(index, epoch)| {
            let log = log_of(index)?;
            Some(Led { index, epoch, log })
        })
        .collect();
    let work = groups.set_leadership(partitions, led);
    if work.is_empty() {
        return;
    }
    let groups = groups.clone();
    let run = move || {
        for w in work {
            groups.hand_over(w);
        }
    };
    // Off the metadata path when there is a runtime (always, in the broker); inline otherwise.
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => drop(rt.spawn_blocking(run)),
        Err(_) => run(),
    }
}
