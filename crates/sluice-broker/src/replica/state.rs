//! A partition replica's replication state, sans I/O: its role, the leader's view of its
//! followers, the high watermark rule and the ISR shrink/expand decisions.
//!
//! Kafka's rules, kept here so they are unit-testable:
//! * the leader's high watermark is the smallest log end offset among ISR members (its own
//!   counted only once durable), and never moves back;
//! * a follower is *caught up* at a fetch whose offset reaches the leader's log end offset, or
//!   the log end offset the leader had at the follower's previous fetch;
//! * an ISR member not caught up for `replica.lag.time.max.ms` leaves the ISR;
//! * a replica outside the ISR joins once its log end offset reaches the high watermark and
//!   the start of the leader's current epoch (so it holds everything the leader committed).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice_meta::image::{BrokerId, PartitionMeta};

/// What this broker is for a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves produce and fetch.
    Leader,
    /// Copies from `leader`.
    Follower {
        /// The leader.
        leader: BrokerId,
    },
    /// No leader is known (or this broker was fenced): serves nothing.
    Offline,
}

/// The leader's view of one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset (its last fetch offset); -1 before its first fetch.
    pub leo: i64,
    /// Last time it was caught up.
    pub last_caught_up: Instant,
    /// Time of its previous fetch.
    pub last_fetch: Instant,
    /// The leader's log end offset at its previous fetch.
    pub leader_leo_at_last_fetch: i64,
}

/// One partition's replication state on this broker.
#[derive(Debug, Clone)]
pub struct ReplicaState {
    /// This broker.
    pub me: BrokerId,
    /// Current role.
    pub role: Role,
    /// Leader epoch of the role (stamped on batches this leader appends).
    pub leader_epoch: i32,
    /// Partition epoch last seen in metadata (an AlterPartition must name it).
    pub partition_epoch: i32,
    /// Assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas as committed in metadata.
    pub isr: Vec<BrokerId>,
    /// Replicas being added by a reassignment.
    pub adding: Vec<BrokerId>,
    /// Leader only: progress of each other replica.
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// Leader only: log end offset when this leadership began.
    pub epoch_start_offset: i64,
    /// An AlterPartition proposal is in flight (one at a time per partition).
    pub alter_in_flight: bool,
}

/// What a metadata update did to the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Same role and epoch (ISR or replicas may have changed).
    Unchanged,
    /// Became leader (or a new leader epoch of it).
    BecameLeader,
    /// Became follower of a (new) leader or epoch: truncate before fetching.
    BecameFollower,
    /// Lost its leader.
    WentOffline,
}

impl ReplicaState {
    /// A replica with no role yet.
    pub fn new(me: BrokerId) -> ReplicaState {
        ReplicaState {
            me,
            role: Role::Offline,
            leader_epoch: -1,
            partition_epoch: -1,
            replicas: Vec::new(),
            isr: Vec::new(),
            adding: Vec::new(),
            followers: BTreeMap::new(),
            epoch_start_offset: 0,
            alter_in_flight: false,
        }
    }

    /// A single-replica leader (a partition only this broker holds), for tests and tools.
    pub fn sole_leader(me: BrokerId) -> ReplicaState {
        ReplicaState {
            role: Role::Leader,
            leader_epoch: 0,
            partition_epoch: 0,
            replicas: vec![me],
            isr: vec![me],
            ..ReplicaState::new(me)
        }
    }

    /// Applies the partition's committed metadata; `leo` is the local log end offset.
    pub fn update(&mut self, meta: &PartitionMeta, leo: i64, now: Instant) -> RoleChange {
        let role = if meta.leader == self.me {
            Role::Leader
        } else if meta.leader >= 0 {
            Role::Follower {
                leader: meta.leader,
            }
        } else {
            Role::Offline
        };
        let changed = role != self.role || meta.leader_epoch != self.leader_epoch;
        if meta.partition_epoch != self.partition_epoch {
            // Whatever we proposed was either applied or refused by now.
            self.alter_in_flight = false;
        }
        self.replicas = meta.replicas.clone();
        self.isr = meta.isr.clone();
        self.adding = meta.adding.clone();
        self.partition_epoch = meta.partition_epoch;
        if !changed {
            if self.role == Role::Leader {
                // Replicas added by a reassignment start being tracked; removed ones are dropped.
                let me = self.me;
                self.followers.retain(|id, _| meta.replicas.contains(id));
                for id in meta.replicas.iter().filter(|id| **id != me) {
                    self.followers.entry(*id).or_insert(FollowerProgress {
                        leo: -1,
                        last_caught_up: now,
                        last_fetch: now,
                        leader_leo_at_last_fetch: leo,
                    });
                }
            }
            return RoleChange::Unchanged;
        }
        self.role = role;
        self.leader_epoch = meta.leader_epoch;
        self.alter_in_flight = false;
        self.followers.clear();
        match role {
            Role::Leader => {
                self.epoch_start_offset = leo;
                for id in meta.replicas.iter().filter(|id| **id != self.me) {
                    // A new leader gives every follower a full lag window before judging it.
                    self.followers.insert(
                        *id,
                        FollowerProgress {
                            leo: -1,
                            last_caught_up: now,
                            last_fetch: now,
                            leader_leo_at_last_fetch: leo,
                        },
                    );
                }
                RoleChange::BecameLeader
            }
            Role::Follower { .. } => RoleChange::BecameFollower,
            Role::Offline => RoleChange::WentOffline,
        }
    }

    /// Whether this replica leads at `epoch` (or at all, when `epoch` is -1).
    pub fn leads(&self, epoch: i32) -> bool {
        self.role == Role::Leader && (epoch < 0 || epoch == self.leader_epoch)
    }

    /// Records a follower's fetch at `offset` when the leader's log ends at `leader_leo`.
    pub fn record_fetch(&mut self, follower: BrokerId, offset: i64, leader_leo: i64, now: Instant) {
        let Some(p) = self.followers.get_mut(&follower) else {
            return;
        };
        if offset >= leader_leo {
            p.last_caught_up = now;
        } else if offset >= p.leader_leo_at_last_fetch {
            p.last_caught_up = p.last_caught_up.max(p.last_fetch);
        }
        p.leo = offset;
        p.last_fetch = now;
        p.leader_leo_at_last_fetch = leader_leo;
    }

    /// The high watermark the ISR allows, given the leader's durable end `local_end`; `None`
    /// when an ISR member's position is not known yet.
    pub fn isr_high_watermark(&self, local_end: i64) -> Option<i64> {
        let mut hw = local_end;
        for id in &self.isr {
            if *id == self.me {
                continue;
            }
            match self.followers.get(id) {
                Some(p) if p.leo >= 0 => hw = hw.min(p.leo),
                _ => return None,
            }
        }
        Some(hw)
    }

    /// ISR members (other than the leader) that have lagged longer than `max_lag`.
    pub fn lagging(&self, now: Instant, max_lag: Duration) -> Vec<BrokerId> {
        self.isr
            .iter()
            .filter(|id| **id != self.me)
            .filter(|id| {
                self.followers
                    .get(id)
                    .is_none_or(|p| now.saturating_duration_since(p.last_caught_up) > max_lag)
            })
            .copied()
            .collect()
    }

    /// Replicas outside the ISR that have caught up to `hw` and the current epoch.
    pub fn ready_to_join(&self, hw: i64) -> Vec<BrokerId> {
        self.followers
            .iter()
            .filter(|(id, p)| {
                !self.isr.contains(id)
                    && p.leo >= 0
                    && p.leo >= hw
                    && p.leo >= self.epoch_start_offset
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(leader: BrokerId, epoch: i32, isr: &[BrokerId]) -> PartitionMeta {
        PartitionMeta {
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            leader,
            leader_epoch: epoch,
            partition_epoch: epoch,
            ..PartitionMeta::default()
        }
    }

    #[test]
    fn roles_follow_metadata_and_epochs() {
        let now = Instant::now();
        let mut s = ReplicaState::new(1);
        assert_eq!(
            s.update(&meta(1, 0, &[1, 2, 3]), 10, now),
            RoleChange::BecameLeader
        );
        assert_eq!(s.epoch_start_offset, 10);
        assert_eq!(
            s.update(&meta(1, 0, &[1, 2]), 12, now),
            RoleChange::Unchanged
        );
        assert_eq!(s.isr, vec![1, 2]);
        assert_eq!(
            s.update(&meta(2, 1, &[2, 1]), 12, now),
            RoleChange::BecameFollower
        );
        assert_eq!(s.role, Role::Follower { leader: 2 });
        assert!(!s.leads(-1));
        assert_eq!(
            s.update(&meta(-1, 2, &[2]), 12, now),
            RoleChange::WentOffline
        );
        assert_eq!(
            s.update(&meta(1, 3, &[1]), 12, now),
            RoleChange::BecameLeader
        );
        assert!(s.leads(3) && !s.leads(2));
    }

    #[test]
    fn high_watermark_is_the_isr_minimum_and_waits_for_unknown_followers() {
        let now = Instant::now();
        let mut s = ReplicaState::new(1);
        s.update(&meta(1, 0, &[1, 2, 3]), 0, now);
        s.record_fetch(2, 5, 10, now);
        assert_eq!(
            s.isr_high_watermark(10),
            None,
            "follower 3 has not fetched yet"
        );
        s.record_fetch(3, 7, 10, now);
        assert_eq!(s.isr_high_watermark(10), Some(5));
        s.update(&meta(1, 0, &[1, 3]), 10, now);
        assert_eq!(s.isr_high_watermark(10), Some(7), "2 left the ISR");
        assert_eq!(
            s.isr_high_watermark(6),
            Some(6),
            "not past the durable local end"
        );
        s.update(&meta(1, 0, &[1]), 10, now);
        assert_eq!(s.isr_high_watermark(10), Some(10));
    }

    #[test]
    fn a_follower_that_stops_catching_up_lags_out() {
        let t0 = Instant::now();
        let lag = Duration::from_millis(100);
        let mut s = ReplicaState::new(1);
        s.update(&meta(1, 0, &[1, 2, 3]), 0, t0);
        assert!(s.lagging(t0 + Duration::from_millis(50), lag).is_empty());
        // 2 keeps up; 3 fetches but stays behind the leader's log end.
        let t1 = t0 + Duration::from_millis(80);
        s.record_fetch(2, 10, 10, t1);
        s.record_fetch(3, 0, 10, t1);
        let t2 = t0 + Duration::from_millis(150);
        s.record_fetch(2, 20, 20, t2);
        s.record_fetch(3, 5, 20, t2);
        assert_eq!(s.lagging(t2, lag), vec![3]);
    }

    #[test]
    fn reaching_the_previous_leader_end_counts_as_caught_up() {
        let t0 = Instant::now();
        let mut s = ReplicaState::new(1);
        s.update(&meta(1, 0, &[1, 2]), 0, t0);
        let t1 = t0 + Duration::from_millis(90);
        s.record_fetch(2, 0, 10, t1);
        // Steady stream: the follower reaches the end the leader had at its previous fetch.
        let t2 = t0 + Duration::from_millis(180);
        s.record_fetch(2, 10, 20, t2);
        assert!(s.lagging(t2, Duration::from_millis(100)).is_empty());
    }

    #[test]
    fn a_replica_joins_once_it_holds_the_high_watermark_and_the_epoch() {
        let now = Instant::now();
        let mut s = ReplicaState::new(1);
        s.update(&meta(1, 4, &[1, 2]), 100, now);
        s.record_fetch(2, 120, 120, now);
        s.record_fetch(3, 90, 120, now);
        assert!(s.ready_to_join(120).is_empty());
        s.record_fetch(3, 120, 120, now);
        assert_eq!(s.ready_to_join(120), vec![3]);
        assert!(s.ready_to_join(121).is_empty());
    }
}
