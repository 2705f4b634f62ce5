//! CreateTopics (key 19): validates names, partition counts, replication factor (1 on a single
//! broker) and configs; `validate_only` checks without creating.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, RequestHeader};

use crate::api::sb;
use crate::broker::{valid_topic_name, validate_topic_config, Broker};

/// Creates (or validates) each topic independently.
pub fn handle(
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
    for topic in &req.topics {
        let mut r = CreatableTopicResult::default();
        r.name = topic.name.clone();
        r.num_partitions = -1;
        r.replication_factor = -1;
        let name = topic.name.0.to_string();
        let outcome = if duplicates.contains(&name) {
            Err((
                ResponseError::InvalidRequest,
                format!("topic {name} appears more than once"),
            ))
        } else {
            create_one(broker, topic, req.validate_only)
        };
        match outcome {
            Ok((partitions, configs, id)) => {
                r.num_partitions = partitions;
                r.replication_factor = 1;
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

type Created = (i32, BTreeMap<String, String>, uuid::Uuid);

fn create_one(
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
    if !(1..=10_000).contains(&partitions) {
        return Err((
            ResponseError::InvalidPartitions,
            "number of partitions must be between 1 and 10000".into(),
        ));
    }
    let rf = if topic.replication_factor == -1 {
        broker.config.default_replication_factor
    } else {
        topic.replication_factor
    };
    if rf != 1 {
        return Err((
            ResponseError::InvalidReplicationFactor,
            format!("replication factor {rf} is larger than the 1 available broker"),
        ));
    }
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
    if validate_only {
        return Ok((partitions, configs, uuid::Uuid::nil()));
    }
    match broker.create_topic(&name, partitions, configs.clone()) {
        Ok(Ok(t)) => Ok((partitions, configs, t.id)),
        Ok(Err(e)) => Err((e, format!("topic '{name}' already exists"))),
        Err(e) => {
            tracing::error!(topic = %name, error = %e, "creating topic failed");
            Err((ResponseError::UnknownServerError, e.to_string()))
        }
    }
}
