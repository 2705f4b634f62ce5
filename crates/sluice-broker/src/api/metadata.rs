//! Metadata (key 3): the single broker leads every partition; unknown topics are auto-created
//! when `auto.create.topics.enable` is on and the request allows it.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, RequestHeader, TopicName,
};

use crate::api::sb;
use crate::broker::{valid_topic_name, Broker, Topic};

/// Leader epoch reported for every partition: a single broker never changes leaders.
pub const LEADER_EPOCH: i32 = 0;

/// Describes the broker and the requested (or all) topics.
pub fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: MetadataRequest,
) -> MetadataResponse {
    let version = header.request_api_version;
    let cfg = &broker.config;
    let mut resp = MetadataResponse::default();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(cfg.node_id);
    b.host = sb(cfg.advertised.0.clone());
    b.port = i32::from(cfg.advertised.1);
    resp.brokers = vec![b];
    resp.cluster_id = Some(sb(cfg.cluster_id.clone()));
    resp.controller_id = BrokerId(cfg.node_id);

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
    resp.topics = match requested {
        None => broker
            .topics()
            .iter()
            .map(|t| describe(t, cfg.node_id))
            .collect(),
        Some(names) => names
            .into_iter()
            .map(|name| {
                let found = if allow_create {
                    broker.get_or_auto_create(&name)
                } else {
                    broker
                        .topic(&name)
                        .ok_or(ResponseError::UnknownTopicOrPartition)
                };
                match found {
                    Ok(t) => describe(&t, cfg.node_id),
                    Err(e) => {
                        let e = if valid_topic_name(&name) {
                            e
                        } else {
                            ResponseError::InvalidTopicException
                        };
                        let mut t = MetadataResponseTopic::default();
                        t.error_code = e.code();
                        t.name = Some(TopicName(sb(name)));
                        t
                    }
                }
            })
            .collect(),
    };
    resp
}

/// Metadata of one topic led entirely by this broker.
pub fn describe(topic: &Topic, node_id: i32) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(sb(topic.name.clone())));
    t.topic_id = topic.id;
    t.is_internal = topic.is_internal();
    t.partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let mut mp = MetadataResponsePartition::default();
            mp.partition_index = p.index;
            mp.leader_id = BrokerId(node_id);
            mp.leader_epoch = LEADER_EPOCH;
            mp.replica_nodes = vec![BrokerId(node_id)];
            mp.isr_nodes = vec![BrokerId(node_id)];
            mp
        })
        .collect();
    t
}
