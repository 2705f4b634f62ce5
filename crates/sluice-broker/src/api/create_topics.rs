//! CreateTopics (key 19): validates names, partition counts and configs here, then proposes the
//! topic to the controller, which places replicas (rack-aware) and checks the replication
//! factor against the live brokers; `validate_only` checks without creating.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, RequestHeader};

use crate::broker::{valid_topic_name, Broker};
use crate::codec::sb;
use crate::topic_config::validate_topic_config;

/// Creates (or validates) each topic independently.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    let mut seen = std::collections::HashSet::new();
    let duplicates: std::collections::HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.0.to_string()))
        .map(|t| t.name.0.to_string())
        .collect();
    // Partitions the whole request would create, against `sluice.max.partitions.per.request`.
    let limits = &broker.config.request_limits;
    let too_many = limits.too_many_partitions(req.topics.iter().map(|t| {
        match (t.assignments.len(), t.num_partitions) {
            (0, -1) => broker.config.num_partitions.max(0) as usize,
            (0, n) => n.max(0) as usize,
            (n, _) => n,
        }
    }));
    for topic in &req.topics {
        let mut r = CreatableTopicResult::default();
        r.name = topic.name.clone();
        r.num_partitions = -1;
        r.replication_factor = -1;
        let name = topic.name.0.to_string();
        let outcome = if too_many {
            Err((
                ResponseError::PolicyViolation,
                format!(
                    "the request creates more than {} partitions \
                     (sluice.max.partitions.per.request)",
                    limits.max_partitions_per_request
                ),
            ))
        } else if duplicates.contains(&name) {
            Err((
                ResponseError::InvalidRequest,
                format!("topic {name} appears more than once"),
            ))
        } else if !broker.may_create_topic(&name) {
            Err((
                ResponseError::TopicAuthorizationFailed,
                "Authorization failed.".to_string(),
            ))
        } else {
            create_one(broker, topic, req.validate_only).await
        };
        match outcome {
            Ok((partitions, configs, id, rf)) => {
                r.num_partitions = partitions;
                r.replication_factor = rf;
                r.topic_id = id;
                r.configs = Some(
                    broker
                        .effective_topic_configs(&configs)
                        .into_iter()
                        .map(|(k, v, src)| {
                            let mut c = CreatableTopicConfigs::default();
                            c.name = sb(k);
                            c.value = Some(sb(v));
                            c.config_source = src as i8;
                            c
                        })
                        .collect(),
                );
            }
            Err((e, msg)) => {
                r.error_code = e.code();
                r.error_message = Some(sb(msg));
            }
        }
        resp.topics.push(r);
    }
    resp
}

type Created = (i32, BTreeMap<String, String>, uuid::Uuid, i16);

async fn create_one(
    broker: &Broker,
    topic: &CreatableTopic,
    validate_only: bool,
) -> Result<Created, (ResponseError, String)> {
    let name = topic.name.0.to_string();
    if !valid_topic_name(&name) {
        return Err((
            ResponseError::InvalidTopicException,
            format!("topic name {name:?} is illegal"),
        ));
    }
    if broker.topic(&name).is_some() {
        return Err((
            ResponseError::TopicAlreadyExists,
            format!("topic '{name}' already exists"),
        ));
    }
    let partitions = if !topic.assignments.is_empty() {
        topic.assignments.len() as i32
    } else if topic.num_partitions == -1 {
        broker.config.num_partitions
    } else {
        topic.num_partitions
    };
    let max = broker.config.request_limits.max_partitions_per_topic;
    if !(1..=max).contains(&partitions) {
        return Err((
            ResponseError::InvalidPartitions,
            format!("number of partitions must be between 1 and {max} (sluice.max.partitions.per.topic)"),
        ));
    }
    let rf = match topic.replication_factor {
        -1 => None,
        rf if rf < 1 || !topic.assignments.is_empty() => {
            if topic.assignments.is_empty() {
                return Err((
                    ResponseError::InvalidReplicationFactor,
                    format!("replication factor {rf} must be at least 1"),
                ));
            }
            None
        }
        rf => Some(rf),
    };
    let assignments = if topic.assignments.is_empty() {
        None
    } else {
        let mut a: Vec<_> = topic.assignments.iter().collect();
        a.sort_by_key(|r| r.partition_index);
        if a.iter()
            .enumerate()
            .any(|(i, r)| r.partition_index != i as i32)
        {
            return Err((
                ResponseError::InvalidReplicaAssignment,
                "assignments must cover partitions 0..n exactly once".into(),
            ));
        }
        Some(
            a.iter()
                .map(|r| r.broker_ids.iter().map(|b| b.0).collect())
                .collect(),
        )
    };
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        let key = c.name.to_string();
        let Some(value) = c.value.as_ref().map(|v| v.to_string()) else {
            return Err((
                ResponseError::InvalidConfig,
                format!("null value for config {key}"),
            ));
        };
        validate_topic_config(&key, &value).map_err(|m| (ResponseError::InvalidConfig, m))?;
        configs.insert(key, value);
    }
    broker
        .create_topic(
            &name,
            partitions,
            rf,
            assignments,
            configs.clone(),
            validate_only,
        )
        .await
        .map_err(|(e, msg)| (e, msg.unwrap_or_else(|| e.to_string())))?;
    if validate_only {
        let rf = rf.unwrap_or(broker.config.default_replication_factor);
        return Ok((partitions, configs, uuid::Uuid::nil(), rf));
    }
    match broker.topic(&name) {
        Some(t) => {
            let rf = t.partitions.first().map_or(0, |p| p.replicas.len() as i16);
            Ok((partitions, configs, t.id, rf))
        }
        None => Err((
            ResponseError::UnknownTopicOrPartition,
            format!("topic '{name}' was deleted right after creation"),
        )),
    }
}
