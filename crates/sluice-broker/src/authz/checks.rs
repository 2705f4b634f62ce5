//! The checks handlers call: [`Broker::authorize`] and its batch, cluster, config-resource and
//! replica forms, reading the current request's session.

use std::net::IpAddr;

use kafka_protocol::error::ResponseError;
use sluice_auth::acl::{AclOperation, ResourceType, CLUSTER_NAME};

use crate::broker::Broker;
use crate::connection::{current_session, Session};

fn host_of(session: &Session) -> IpAddr {
    session.peer.ip()
}

impl Broker {
    /// Whether the current request's principal may perform `op` on the resource
    /// `resource_type`/`name`. Allowed without an authorizer or without a session (internal
    /// calls); refusals are counted.
    pub fn authorize(&self, op: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        self.check(op, resource_type, name, true)
    }

    fn check(
        &self,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
        count: bool,
    ) -> bool {
        let Some(session) = current_session() else {
            return true;
        };
        let allowed = self
            .authz
            .with(|a| {
                a.authorize(
                    &session.principal,
                    host_of(&session),
                    op,
                    resource_type,
                    name,
                )
            })
            .unwrap_or(true);
        if !allowed && count {
            self.metrics
                .authorization_denied(op.name(), resource_type.name());
            tracing::debug!(principal = %session.principal, %op, %resource_type, name, "denied");
        }
        allowed
    }

    /// [`authorize_cluster`](Self::authorize_cluster) without counting a refusal (where a
    /// refusal only narrows the answer, as ListGroups).
    pub fn authorize_cluster_quietly(&self, op: AclOperation) -> bool {
        self.check(op, ResourceType::Cluster, CLUSTER_NAME, false)
    }

    /// Whether the principal may create the topic `name`: CREATE on the cluster, or on the
    /// topic (CreateTopics, auto-creation).
    pub fn may_create_topic(&self, name: &str) -> bool {
        self.check(
            AclOperation::Create,
            ResourceType::Cluster,
            CLUSTER_NAME,
            false,
        ) || self.authorize(AclOperation::Create, ResourceType::Topic, name)
    }

    /// Whether the principal may `op` the topic `name` ([`authorize`](Self::authorize)).
    pub fn authorize_topic(&self, op: AclOperation, name: &str) -> bool {
        self.authorize(op, ResourceType::Topic, name)
    }

    /// Whether the principal may `op` (DescribeConfigs, AlterConfigs) a config resource: a
    /// topic (TOPIC_AUTHORIZATION_FAILED), or a broker or broker logger (the cluster:
    /// CLUSTER_AUTHORIZATION_FAILED). Other types are left to the handler.
    pub fn authorize_config_resource(
        &self,
        op: AclOperation,
        resource_type: i8,
        name: &str,
    ) -> Result<(), ResponseError> {
        const TOPIC: i8 = 2;
        const BROKER: i8 = 4;
        const BROKER_LOGGER: i8 = 8;
        match resource_type {
            TOPIC if !self.authorize_topic(op, name) => {
                Err(ResponseError::TopicAuthorizationFailed)
            }
            BROKER | BROKER_LOGGER if !self.authorize_cluster(op) => {
                Err(ResponseError::ClusterAuthorizationFailed)
            }
            _ => Ok(()),
        }
    }

    /// Whether the principal may `op` the group `id`.
    pub fn authorize_group(&self, op: AclOperation, id: &str) -> bool {
        self.authorize(op, ResourceType::Group, id)
    }

    /// [`authorize`](Self::authorize) of each name, in order, under one look at the session
    /// and one lock of the index (for filtering long lists: Metadata, ListGroups).
    pub fn authorize_each<'a>(
        &self,
        op: AclOperation,
        resource_type: ResourceType,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Vec<bool> {
        let names: Vec<&str> = names.into_iter().collect();
        let Some(session) = current_session() else {
            return vec![true; names.len()];
        };
        let host = host_of(&session);
        let Some(decided) = self.authz.with(|a| {
            names
                .iter()
                .map(|n| a.authorize(&session.principal, host, op, resource_type, n))
                .collect::<Vec<bool>>()
        }) else {
            return vec![true; names.len()];
        };
        for _ in decided.iter().filter(|ok| !**ok) {
            self.metrics
                .authorization_denied(op.name(), resource_type.name());
        }
        decided
    }

    /// [`authorize`](Self::authorize) on the cluster resource.
    pub fn authorize_cluster(&self, op: AclOperation) -> bool {
        self.authorize(op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Whether the principal may perform `op` on at least one resource of the type (Kafka's
    /// `authorizeByResourceType`, for InitProducerId without a transactional id).
    pub fn authorize_any(&self, op: AclOperation, resource_type: ResourceType) -> bool {
        let Some(session) = current_session() else {
            return true;
        };
        let allowed = self
            .authz
            .with(|a| {
                a.authorize_by_resource_type(
                    &session.principal,
                    host_of(&session),
                    op,
                    resource_type,
                )
                .unwrap_or(false)
            })
            .unwrap_or(true);
        if !allowed {
            self.metrics
                .authorization_denied(op.name(), resource_type.name());
        }
        allowed
    }

    /// Whether the current request may act as a replica (Fetch, OffsetForLeaderEpoch and
    /// ListOffsets with a replica id). With an authorizer: ClusterAction on the cluster, as in
    /// Kafka. Without one (where Kafka trusts any client), Sluice still refuses a replica id
    /// unless the request came in on the inter-broker listener or from a super user, so a
    /// client cannot forge one to move a high watermark. Internal calls may.
    pub fn may_act_as_replica(&self) -> bool {
        let Some(session) = current_session() else {
            return true;
        };
        if self.authz.enabled() {
            return self.authorize_cluster(AclOperation::ClusterAction);
        }
        let ok = session.listener == self.config.inter_broker_listener_name
            || self
                .config
                .security
                .authorizer
                .super_users
                .contains(&session.principal);
        if !ok {
            self.metrics
                .authorization_denied(AclOperation::ClusterAction.name(), "CLUSTER");
        }
        ok
    }
}
