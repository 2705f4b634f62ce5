//! Metadata (key 3): brokers, controller, and each topic's leaders, replicas and ISRs as the
//! replicated metadata image has them; unknown topics are auto-created through the controller
//! when `auto.create.topics.enable` is on and the request allows it.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, RequestHeader, TopicName,
};
use sluice_meta::image::{MetadataImage, NO_LEADER};

use crate::broker::{valid_topic_name, Broker, Topic};
use crate::codec::sb;
use sluice_auth::acl::{AclOperation, ResourceType};

/// Live brokers as `(id, host, port, rack)` at the listener the client connected to (Kafka
/// leaves out brokers without that listener); this broker alone until the image knows any,
/// so a client bootstrapping during start-up still has somewhere to go.
pub fn live_brokers(
    broker: &Broker,
    image: &MetadataImage,
) -> Vec<(i32, String, i32, Option<String>)> {
    let listener = crate::connection::current_listener(broker);
    let live: Vec<_> = image
        .brokers
        .values()
        .filter(|b| !b.fenced)
        .filter_map(|b| {
            let (host, port) = b.endpoint(&listener)?;
            Some((b.id, host.to_string(), port, b.rack.clone()))
        })
        .collect();
    if image.brokers.values().all(|b| b.fenced) {
        let cfg = &broker.config;
        let own = cfg
            .listeners
            .iter()
            .find(|l| l.name == listener)
            .unwrap_or_else(|| cfg.inter_broker_listener());
        return vec![(
            cfg.node_id,
            own.advertised_host.clone(),
            i32::from(own.advertised_port),
            cfg.broker_rack.clone(),
        )];
    }
    live
}

/// Describes the cluster and the requested (or all) topics.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: MetadataRequest,
) -> MetadataResponse {
    let version = header.request_api_version;
    let requested: Option<Vec<String>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .filter_map(|t| t.name.map(|n| n.0.to_string()))
                .collect(),
        ),
    };
    let allow_create = version < 4 || req.allow_auto_topic_creation;
    let mut topics = Vec::new();
    match requested {
        None => {
            // All topics: the ones the principal may not describe are left out.
            let all = broker.topics();
            let allowed = broker.authorize_each(
                AclOperation::Describe,
                ResourceType::Topic,
                all.iter().map(|t| t.name.as_str()),
            );
            topics.extend(
                all.iter()
                    .zip(allowed)
                    .filter(|(_, ok)| *ok)
                    .map(|(t, _)| describe(t)),
            );
        }
        Some(names) => {
            for name in names {
                let found = if !broker.authorize_topic(AclOperation::Describe, &name) {
                    Err(ResponseError::TopicAuthorizationFailed)
                } else if allow_create {
                    broker.get_or_auto_create(&name).await
                } else {
                    broker
                        .topic(&name)
                        .ok_or(ResponseError::UnknownTopicOrPartition)
                };
                topics.push(match found {
                    Ok(t) => describe(&t),
                    Err(e) => {
                        let e = if e == ResponseError::TopicAuthorizationFailed
                            || valid_topic_name(&name)
                        {
                            e
                        } else {
                            ResponseError::InvalidTopicException
                        };
                        let mut t = MetadataResponseTopic::default();
                        t.error_code = e.code();
                        t.name = Some(TopicName(sb(name)));
                        t
                    }
                });
            }
        }
    }
    // Read the image after any auto-creation so brokers and topics agree.
    let image = broker.image();
    let mut resp = MetadataResponse::default();
    resp.brokers = live_brokers(broker, &image)
        .into_iter()
        .map(|(id, host, port, rack)| {
            let mut b = MetadataResponseBroker::default();
            b.node_id = BrokerId(id);
            b.host = sb(host);
            b.port = port;
            b.rack = rack.map(sb);
            b
        })
        .collect();
    resp.cluster_id = Some(sb(broker.config.cluster_id.clone()));
    resp.controller_id = BrokerId(broker.meta.controller_id().unwrap_or(-1));
    resp.topics = topics;
    resp
}

/// Metadata of one topic: per partition its leader, epoch, replicas, ISR and offline replicas
/// (fenced brokers), LEADER_NOT_AVAILABLE while no leader is elected.
pub fn describe(topic: &Topic) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(sb(topic.name.clone())));
    t.topic_id = topic.id;
    t.is_internal = topic.is_internal();
    t.partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut mp = MetadataResponsePartition::default();
            mp.partition_index = i as i32;
            mp.leader_id = BrokerId(p.leader);
            mp.leader_epoch = p.leader_epoch;
            mp.replica_nodes = p.replicas.iter().copied().map(BrokerId).collect();
            mp.isr_nodes = p.isr.iter().copied().map(BrokerId).collect();
            if p.leader == NO_LEADER {
                mp.error_code = ResponseError::LeaderNotAvailable.code();
            }
            mp
        })
        .collect();
    t
}
