//! The one place partition epochs are bumped.
//!
//! Every command that touches a partition goes through [`PartitionMeta::update`], which derives
//! the epoch bumps from what actually changed; hand-written bumps at each call site are how a
//! leader change without a leader-epoch bump (and so a zombie leader) would slip in.

use super::PartitionMeta;

impl PartitionMeta {
    /// Applies `change` to the partition's leader, ISR, replicas and reassignment, then bumps
    /// `leader_epoch` if the leader changed and `partition_epoch` if anything changed (or if
    /// `force_bump`, for AlterPartition, whose success always moves the epoch so the leader can
    /// tell its update was applied). Epoch edits made by `change` are discarded. Returns whether
    /// the partition epoch moved.
    pub(crate) fn update(
        &mut self,
        force_bump: bool,
        change: impl FnOnce(&mut PartitionMeta),
    ) -> bool {
        let before = self.clone();
        change(self);
        self.leader_epoch = before.leader_epoch;
        self.partition_epoch = before.partition_epoch;
        if *self == before && !force_bump {
            return false;
        }
        if self.leader != before.leader {
            // Saturating: two billion elections on one partition must not panic the state machine.
            self.leader_epoch = self.leader_epoch.saturating_add(1);
        }
        self.partition_epoch = self.partition_epoch.saturating_add(1);
        true
    }
}
