//! openraft's type configuration of the metadata log, and the id and entry types every part
//! of the node shares.

use openraft::BasicNode;

use crate::image::{Command, Reply};

openraft::declare_raft_types!(
    /// openraft's type configuration of the metadata log.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = u64,
        Node = BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// Raft node id: the broker id.
pub(crate) type NodeId = u64;
/// One Raft log entry.
pub(crate) type Entry = openraft::Entry<TypeConfig>;
