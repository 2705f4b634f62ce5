//! Authorization in the broker: the [`BrokerAuthorizer`] (a `sluice_auth` [`Authorizer`] kept
//! current from the metadata image's ACLs, incrementally through
//! [`MetadataImage::acl_delta`]), the one place the image's stored ACLs (plain Kafka codes)
//! and `sluice_auth`'s types are converted ([`convert`]), and the checks handlers call:
//! [`Broker::authorize`] and its batch and cluster forms, which read the current
//! [`Session`](crate::connection::Session).
//!
//! Rules of thumb, as Kafka's:
//! - no `authorizer.class.name`: everything is allowed (but see [`Broker::may_act_as_replica`]);
//! - no session (an internal call: the group coordinator, replication, housekeeping): allowed;
//! - otherwise the authorizer decides, and every refusal is counted in
//!   `sluice_authorization_denied_total{api}`.
//!
//! Which operation each API needs is the table in [`rules`].

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use kafka_protocol::error::ResponseError;
use sluice_auth::acl::{AclOperation, Authorizer, ResourceType, CLUSTER_NAME};
use sluice_auth::KafkaPrincipal;
use sluice_meta::image::MetadataImage;

use crate::broker::Broker;
use crate::config::SecurityConfig;
use crate::connection::{current_session, Session};

pub mod convert;
pub mod rules;

/// The broker's authorizer: `None` when `authorizer.class.name` is empty.
#[derive(Debug)]
pub struct BrokerAuthorizer {
    indexed: Option<RwLock<Indexed>>,
}

/// The index and the image it reflects.
#[derive(Debug)]
struct Indexed {
    image: Option<Arc<MetadataImage>>,
    authorizer: Authorizer,
}

impl BrokerAuthorizer {
    /// From the broker's settings.
    pub fn new(config: &SecurityConfig) -> Self {
        BrokerAuthorizer {
            indexed: config.authorizer_enabled.then(|| {
                RwLock::new(Indexed {
                    image: None,
                    authorizer: Authorizer::new(config.authorizer.clone()),
                })
            }),
        }
    }

    /// Whether an authorizer is configured.
    pub fn enabled(&self) -> bool {
        self.indexed.is_some()
    }

    /// Brings the index up to `image`: nothing to do when its `acl_version` did not move,
    /// else the bindings added and removed since the image last indexed.
    pub fn update(&self, image: &Arc<MetadataImage>) {
        let Some(indexed) = &self.indexed else {
            return;
        };
        if indexed
            .read()
            .expect("poisoned")
            .image
            .as_ref()
            .is_some_and(|old| old.acl_version == image.acl_version)
        {
            return;
        }
        let mut guard = indexed.write().expect("poisoned");
        let delta = match &guard.image {
            Some(old) => image.acl_delta(old),
            None => sluice_meta::image::AclDelta {
                added: image.acls().cloned().collect(),
                removed: Vec::new(),
            },
        };
        for b in &delta.removed {
            if let Some(b) = convert::binding_from_meta(b) {
                guard.authorizer.remove(&b);
            }
        }
        for b in delta.added {
            match convert::binding_from_meta(&b) {
                Some(binding) => {
                    if let Err(e) = guard.authorizer.add(binding) {
                        tracing::warn!(acl = ?b, error = %e, "ACL binding not indexed");
                    }
                }
                None => tracing::warn!(acl = ?b, "ACL binding with unknown codes not indexed"),
            }
        }
        guard.image = Some(image.clone());
    }

    /// Runs `f` over the index (`None` without an authorizer).
    pub fn with<T>(&self, f: impl FnOnce(&Authorizer) -> T) -> Option<T> {
        self.indexed
            .as_ref()
            .map(|i| f(&i.read().expect("poisoned").authorizer))
    }

    /// Whether `principal` is one of `super.users`.
    pub fn is_super_user(&self, principal: &KafkaPrincipal) -> bool {
        self.with(|a| a.config().super_users.contains(principal))
            .unwrap_or(false)
    }
}

/// The principal of a TLS connection: the client certificate's subject through
/// `ssl.principal.mapping.rules`, else (no certificate, or no rule maps it) `User:ANONYMOUS`.
pub fn tls_principal(broker: &Broker, session: &Session) -> KafkaPrincipal {
    let Some(client) = &session.tls_client else {
        return KafkaPrincipal::anonymous();
    };
    match broker
        .config
        .security
        .ssl_principal_mapper
        .principal_for(&client.subject_dn)
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(dn = %client.subject_dn, error = %e, "no principal for the client certificate; treated as ANONYMOUS");
            KafkaPrincipal::anonymous()
        }
    }
}

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

#[cfg(test)]
mod tests;
