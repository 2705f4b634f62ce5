//! What a group leaves in its `__consumer_offsets` partition, and how it is read back.
//!
//! Only what must survive a coordinator failover is written: committed offsets and a group's
//! generation and protocol (so a new coordinator does not hand out a generation the old one
//! already used). Members are not: they rejoin the new coordinator. Records are keyed so the
//! latest per key wins, and a null value deletes. Writing them is `persist`'s.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::group::Group;
use super::types::Committed;
use crate::batch::KeyValue;

/// Key of a record in `__consumer_offsets`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
pub(super) enum StoredKey {
    #[serde(rename = "o")]
    Offset { g: String, topic: String, p: i32 },
    #[serde(rename = "g")]
    Group { g: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredGroup {
    protocol_type: Option<String>,
    protocol: Option<String>,
    generation: i32,
}

/// A record and its value (`None`: a tombstone).
pub(super) type StoredRecord = (StoredKey, Option<Vec<u8>>);

/// The record of one committed offset.
pub(super) fn offset_record(
    group: &str,
    topic: &str,
    p: i32,
    c: Option<&Committed>,
) -> StoredRecord {
    (
        StoredKey::Offset {
            g: group.to_string(),
            topic: topic.to_string(),
            p,
        },
        c.and_then(|c| serde_json::to_vec(c).ok()),
    )
}

/// The record of a group's generation and protocol (`None`: the group is deleted).
pub(super) fn group_record(group: &str, g: Option<&Group>) -> StoredRecord {
    let value = g.map(|g| StoredGroup {
        protocol_type: g.protocol_type.clone(),
        protocol: g.protocol.clone(),
        generation: g.generation,
    });
    (
        StoredKey::Group {
            g: group.to_string(),
        },
        value.and_then(|v| serde_json::to_vec(&v).ok()),
    )
}

/// Rebuilds a partition's groups (generations, protocols, committed offsets) from its records,
/// oldest first.
pub(super) fn replay(records: Vec<KeyValue>) -> HashMap<String, Group> {
    let mut groups = HashMap::new();
    for (key, value) in records {
        apply_stored(&mut groups, &key, value.as_deref());
    }
    groups
}

fn apply_stored(groups: &mut HashMap<String, Group>, key: &[u8], value: Option<&[u8]>) {
    let Ok(key) = serde_json::from_slice::<StoredKey>(key) else {
        return;
    };
    match key {
        StoredKey::Offset { g, topic, p } => {
            match value.and_then(|v| serde_json::from_slice::<Committed>(v).ok()) {
                Some(c) => {
                    groups
                        .entry(g)
                        .or_insert_with(Group::new)
                        .offsets
                        .insert((topic, p), c);
                }
                None => {
                    if let Some(group) = groups.get_mut(&g) {
                        group.offsets.remove(&(topic, p));
                    }
                }
            }
        }
        StoredKey::Group { g } => {
            match value.and_then(|v| serde_json::from_slice::<StoredGroup>(v).ok()) {
                Some(s) => {
                    let group = groups.entry(g).or_insert_with(Group::new);
                    group.generation = s.generation;
                    group.protocol_type = s.protocol_type;
                    group.protocol = s.protocol;
                }
                None => {
                    groups.remove(&g);
                }
            }
        }
    }
}
