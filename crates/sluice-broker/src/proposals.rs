//! Admin requests as metadata proposals: every change to topics, configs, producer-id blocks,
//! SCRAM credentials and ACLs goes to the controller (`sluice-meta`), and the local replicas
//! are brought up to date with the image that includes it. Nothing here decides; the
//! controller's image does.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use sluice_meta::image::{
    AclBinding, AclBindingFilter, AclCreationResult, AclDeletionResult, BrokerId, Reply,
    ScramDeletion, ScramResult, ScramUpsertion,
};
use sluice_meta::Command;

use crate::broker::{valid_topic_name, Broker, Topic};
use crate::partition::CONSUMER_OFFSETS;

/// How long an admin request waits for the metadata quorum.
pub const META_TIMEOUT: Duration = Duration::from_secs(10);

/// Maps a refused metadata command to the Kafka error the client gets.
pub fn reply_error(code: i16) -> ResponseError {
    ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError)
}

impl Broker {
    /// Proposes a metadata command and maps quorum trouble to retriable Kafka errors.
    pub async fn propose(&self, command: Command) -> Result<Reply, ResponseError> {
        let reply = self
            .meta
            .propose(command, META_TIMEOUT)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "metadata proposal failed");
                match e {
                    sluice_meta::MetaError::Timeout(_) => ResponseError::RequestTimedOut,
                    _ => ResponseError::NotController,
                }
            })?;
        // Make the local replicas match the image that includes the change, so a client
        // that created a topic here can use it here right away.
        crate::replica::manager::apply_current(self);
        Ok(reply)
    }

    async fn propose_ok(&self, command: Command) -> Result<(), ResponseError> {
        match self.propose(command).await? {
            Reply::Error { code, message } => {
                tracing::debug!(code, %message, "metadata command refused");
                Err(reply_error(code))
            }
            _ => Ok(()),
        }
    }

    /// Replaces a topic's config overrides (already validated).
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ResponseError> {
        self.propose_ok(Command::SetTopicConfigs {
            name: name.to_string(),
            configs,
        })
        .await
    }

    /// Replaces the cluster's dynamic broker configs (broker names, already validated).
    pub async fn set_dynamic_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ResponseError> {
        self.propose_ok(Command::SetBrokerConfigs { configs }).await
    }

    /// Creates a topic through the controller.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: Option<i16>,
        assignments: Option<Vec<Vec<BrokerId>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), (ResponseError, Option<String>)> {
        let command = Command::CreateTopic {
            name: name.to_string(),
            id: uuid::Uuid::new_v4(),
            partitions,
            replication_factor,
            default_replication_factor: self.config.default_replication_factor,
            assignments,
            configs,
            validate_only,
        };
        match self.propose(command).await.map_err(|e| (e, None))? {
            Reply::Error { code, message } => Err((reply_error(code), Some(message))),
            _ => {
                if !validate_only {
                    tracing::info!(topic = name, partitions, "created topic");
                }
                Ok(())
            }
        }
    }

    /// Returns the topic, creating it with defaults when auto-creation is on.
    pub async fn get_or_auto_create(&self, name: &str) -> Result<Topic, ResponseError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        if !self.config.auto_create_topics_enable {
            return Err(ResponseError::UnknownTopicOrPartition);
        }
        if !valid_topic_name(name) {
            return Err(ResponseError::InvalidTopicException);
        }
        if !self.may_create_topic(name) {
            return Err(ResponseError::TopicAuthorizationFailed);
        }
        match self
            .create_topic(
                name,
                self.config.num_partitions,
                None,
                None,
                BTreeMap::new(),
                false,
            )
            .await
        {
            Ok(()) | Err((ResponseError::TopicAlreadyExists, _)) => self
                .topic(name)
                .ok_or(ResponseError::UnknownTopicOrPartition),
            Err((e, msg)) => {
                tracing::warn!(topic = name, error = ?e, message = ?msg, "auto-creating topic failed");
                Err(if e == ResponseError::InvalidReplicationFactor {
                    ResponseError::LeaderNotAvailable
                } else {
                    e
                })
            }
        }
    }

    /// Deletes a topic; each broker drops its replicas when it applies the change.
    pub async fn delete_topic(&self, name: &str) -> Result<(), ResponseError> {
        if name == CONSUMER_OFFSETS {
            return Err(ResponseError::InvalidTopicException);
        }
        self.propose_ok(Command::DeleteTopic {
            name: name.to_string(),
        })
        .await?;
        self.metrics.forget_topic(name);
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// Grows a topic to `count` partitions.
    pub async fn add_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> Result<(), (ResponseError, Option<String>)> {
        if name == CONSUMER_OFFSETS {
            // A group's coordinator is picked by the partition count: growing it would move
            // groups away from their committed offsets.
            return Err((
                ResponseError::InvalidTopicException,
                Some(format!(
                    "the partition count of {CONSUMER_OFFSETS} cannot change"
                )),
            ));
        }
        let command = Command::CreatePartitions {
            name: name.to_string(),
            count,
            assignments,
            validate_only,
        };
        match self.propose(command).await.map_err(|e| (e, None))? {
            Reply::Error { code, message } => Err((reply_error(code), Some(message))),
            _ => Ok(()),
        }
    }

    /// Allocates a fresh producer id for InitProducerId, from blocks the controller hands out
    /// so ids are unique across the cluster and across restarts.
    pub async fn allocate_producer_id(&self) -> Result<i64, ResponseError> {
        let mut ids = self.producer_ids.lock().await;
        if ids.0 >= ids.1 {
            match self
                .propose(Command::AllocateProducerIds {
                    broker: self.config.node_id,
                })
                .await?
            {
                Reply::ProducerIds { first, count } => *ids = (first, first + count),
                Reply::Error { code, .. } => return Err(reply_error(code)),
                _ => return Err(ResponseError::UnknownServerError),
            }
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// AlterUserScramCredentials through the controller: one result per user (stored and
    /// server keys already derived from the salted password by the caller).
    pub async fn alter_scram_credentials(
        &self,
        upsertions: Vec<ScramUpsertion>,
        deletions: Vec<ScramDeletion>,
    ) -> Result<Vec<ScramResult>, ResponseError> {
        let command = Command::AlterScramCredentials {
            upsertions,
            deletions,
        };
        match self.propose(command).await? {
            Reply::ScramResults(results) => Ok(results),
            Reply::Error { code, .. } => Err(reply_error(code)),
            _ => Err(ResponseError::UnknownServerError),
        }
    }

    /// CreateAcls through the controller: one result per binding.
    pub async fn create_acls(
        &self,
        bindings: Vec<AclBinding>,
    ) -> Result<Vec<AclCreationResult>, ResponseError> {
        match self.propose(Command::CreateAcls { bindings }).await? {
            Reply::AclsCreated(results) => Ok(results),
            Reply::Error { code, .. } => Err(reply_error(code)),
            _ => Err(ResponseError::UnknownServerError),
        }
    }

    /// DeleteAcls through the controller: per filter, the bindings it removed.
    pub async fn delete_acls(
        &self,
        filters: Vec<AclBindingFilter>,
    ) -> Result<Vec<AclDeletionResult>, ResponseError> {
        match self.propose(Command::DeleteAcls { filters }).await? {
            Reply::AclsDeleted(results) => Ok(results),
            Reply::Error { code, .. } => Err(reply_error(code)),
            _ => Err(ResponseError::UnknownServerError),
        }
    }
}
