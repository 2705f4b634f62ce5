//! Topic commands: create, delete, add partitions, set config overrides.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::command::refuse;
use super::placement::{check_assignment, new_partition, place, ring};
use super::{BrokerId, MetadataImage, PartitionMeta, Reply, TopicMeta, MAX_PARTITIONS_PER_TOPIC};

/// The fields of [`super::Command::CreateTopic`], borrowed.
pub(crate) struct NewTopic<'a> {
    pub(crate) name: &'a str,
    pub(crate) id: Uuid,
    pub(crate) partitions: i32,
    pub(crate) replication_factor: Option<i16>,
    pub(crate) default_replication_factor: i16,
    pub(crate) assignments: Option<&'a [Vec<BrokerId>]>,
    pub(crate) configs: &'a BTreeMap<String, String>,
    pub(crate) validate_only: bool,
}

impl MetadataImage {
    /// [`super::Command::CreateTopic`].
    pub(super) fn create_topic(&mut self, new: NewTopic<'_>) -> Reply {
        if self.topics.contains_key(new.name) {
            return refuse(
                ResponseError::TopicAlreadyExists,
                format!("topic {} already exists", new.name),
            );
        }
        if let Some((other, _)) = self.topics.iter().find(|(_, t)| t.id == new.id) {
            // Fetch and Produce address topics by id too; two topics must never share one.
            return refuse(
                ResponseError::TopicAlreadyExists,
                format!("topic id {} is already used by topic {other}", new.id),
            );
        }
        let partitions = match new.assignments {
            Some([]) => {
                return refuse(
                    ResponseError::InvalidPartitions,
                    "the replica assignment has no partitions",
                )
            }
            Some(assignments) => match self.explicit_partitions(assignments, 0, None) {
                Ok(partitions) => partitions,
                Err(reply) => return reply,
            },
            None => match self.placed_topic_partitions(&new) {
                Ok(partitions) => partitions,
                Err(reply) => return reply,
            },
        };
        if new.validate_only {
            return Reply::Ok;
        }
        self.topics.insert(
            new.name.to_owned(),
            TopicMeta {
                id: new.id,
                configs: new.configs.clone(),
                partitions,
            },
        );
        Reply::Ok
    }

    /// [`super::Command::DeleteTopic`].
    pub(super) fn delete_topic(&mut self, name: &str) -> Reply {
        match self.topics.remove(name) {
            Some(_) => Reply::Ok,
            None => unknown_topic(name),
        }
    }

    /// [`super::Command::CreatePartitions`].
    pub(super) fn create_partitions(
        &mut self,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<BrokerId>]>,
        validate_only: bool,
    ) -> Reply {
        let Some(topic) = self.topics.get(name) else {
            return unknown_topic(name);
        };
        let current = topic.partitions.len();
        let Some(added) = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_sub(current))
            .filter(|&a| a > 0)
        else {
            return refuse(
                ResponseError::InvalidPartitions,
                format!("topic {name} has {current} partitions; {count} is not more"),
            );
        };
        if count > MAX_PARTITIONS_PER_TOPIC {
            return too_many_partitions(count);
        }
        // The replication factor is the target size, not counting replicas a reassignment is
        // about to remove.
        let Some(rf) = topic
            .partitions
            .first()
            .map(|p| p.replicas.len().saturating_sub(p.removing.len()))
            .filter(|&rf| rf > 0)
        else {
            return refuse(
                ResponseError::InvalidReplicationFactor,
                format!("topic {name} has no partition to take a replication factor from"),
            );
        };
        let new = match assignments {
            Some(a) if a.len() != added => {
                return refuse(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "adding {added} partitions but {} assignments given",
                        a.len()
                    ),
                )
            }
            Some(a) => match self.explicit_partitions(a, current, Some(rf)) {
                Ok(partitions) => partitions,
                Err(reply) => return reply,
            },
            None => {
                let ring = ring(&self.brokers);
                if rf > ring.len() {
                    return not_enough_brokers(rf, ring.len());
                }
                // Continue the topic's round robin where partition 0 started, as Kafka does,
                // so the new leaders extend the existing spread.
                let start = topic.partitions[0]
                    .replicas
                    .first()
                    .and_then(|head| ring.iter().position(|s| s.id == *head))
                    .unwrap_or(self.topics.len());
                let placed = place(&ring, start, current, added, rf);
                match self.placed_partitions(&placed) {
                    Ok(partitions) => partitions,
                    Err(reply) => return reply,
                }
            }
        };
        if validate_only {
            return Reply::Ok;
        }
        if let Some(topic) = self.topics.get_mut(name) {
            topic.partitions.extend(new);
        }
        Reply::Ok
    }

    /// [`super::Command::SetTopicConfigs`].
    pub(super) fn set_topic_configs(
        &mut self,
        name: &str,
        configs: &BTreeMap<String, String>,
    ) -> Reply {
        match self.topics.get_mut(name) {
            Some(topic) => {
                topic.configs = configs.clone();
                Reply::Ok
            }
            None => unknown_topic(name),
        }
    }

    /// Partitions of a new topic placed by [`place`].
    fn placed_topic_partitions(&self, new: &NewTopic<'_>) -> Result<Vec<PartitionMeta>, Reply> {
        if new.partitions < 1 {
            return Err(refuse(
                ResponseError::InvalidPartitions,
                format!("partition count {} is below 1", new.partitions),
            ));
        }
        if new.partitions > MAX_PARTITIONS_PER_TOPIC {
            return Err(too_many_partitions(new.partitions));
        }
        let ring = ring(&self.brokers);
        let rf = match new.replication_factor {
            Some(rf) => i32::from(rf),
            None if new.default_replication_factor < 1 => {
                return Err(refuse(
                    ResponseError::InvalidReplicationFactor,
                    format!(
                        "default replication factor {} is below 1",
                        new.default_replication_factor
                    ),
                ))
            }
            None => i32::from(new.default_replication_factor).min(ring.len() as i32),
        };
        let Some(rf) = usize::try_from(rf).ok().filter(|&rf| rf > 0) else {
            return Err(if ring.is_empty() {
                not_enough_brokers(1, 0)
            } else {
                refuse(
                    ResponseError::InvalidReplicationFactor,
                    format!("replication factor {rf} is below 1"),
                )
            });
        };
        if rf > ring.len() {
            return Err(not_enough_brokers(rf, ring.len()));
        }
        // Starting each topic one broker further spreads the leaders of small topics.
        let placed = place(&ring, self.topics.len(), 0, new.partitions as usize, rf);
        self.placed_partitions(&placed)
    }

    /// New partitions on placed replica lists (all eligible, so every one gets a leader).
    fn placed_partitions(&self, placed: &[Vec<BrokerId>]) -> Result<Vec<PartitionMeta>, Reply> {
        placed
            .iter()
            .map(|replicas| new_partition(&self.brokers, replicas))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| not_enough_brokers(1, 0))
    }

    /// New partitions on explicit replica lists, numbered from `first_index` in messages. All
    /// lists must have the same length (`rf` if given), as Kafka requires.
    fn explicit_partitions(
        &self,
        assignments: &[Vec<BrokerId>],
        first_index: usize,
        rf: Option<usize>,
    ) -> Result<Vec<PartitionMeta>, Reply> {
        if first_index.saturating_add(assignments.len()) > MAX_PARTITIONS_PER_TOPIC as usize {
            return Err(too_many_partitions(
                i32::try_from(first_index.saturating_add(assignments.len())).unwrap_or(i32::MAX),
            ));
        }
        let expected = rf.or_else(|| assignments.first().map(Vec::len));
        let bad = |index: usize, reason: String| {
            refuse(
                ResponseError::InvalidReplicaAssignment,
                format!("partition {}: {reason}", first_index + index),
            )
        };
        let mut partitions = Vec::with_capacity(assignments.len());
        for (i, replicas) in assignments.iter().enumerate() {
            check_assignment(&self.brokers, replicas).map_err(|reason| bad(i, reason))?;
            if let Some(expected) = expected.filter(|&e| e != replicas.len()) {
                return Err(bad(
                    i,
                    format!(
                        "{} replicas where the other partitions have {expected}",
                        replicas.len()
                    ),
                ));
            }
            let partition = new_partition(&self.brokers, replicas)
                .ok_or_else(|| bad(i, "every assigned broker is fenced or shutting down".into()))?;
            partitions.push(partition);
        }
        Ok(partitions)
    }
}

fn unknown_topic(name: &str) -> Reply {
    refuse(
        ResponseError::UnknownTopicOrPartition,
        format!("topic {name} does not exist"),
    )
}

fn too_many_partitions(count: i32) -> Reply {
    refuse(
        ResponseError::InvalidPartitions,
        format!(
            "{count} partitions is more than the limit of {MAX_PARTITIONS_PER_TOPIC} per topic"
        ),
    )
}

fn not_enough_brokers(rf: usize, eligible: usize) -> Reply {
    refuse(
        ResponseError::InvalidReplicationFactor,
        format!(
            "replication factor {rf} cannot be reached: {eligible} broker(s) are unfenced and \
             not shutting down"
        ),
    )
}
