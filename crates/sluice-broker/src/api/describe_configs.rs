//! DescribeConfigs (key 32): topic configs (overrides and inherited defaults) and broker configs.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader};

use crate::broker::Broker;
use crate::codec::sb;
use crate::topic_config::ConfigSource;
use sluice_auth::acl::AclOperation;

/// Resource type codes.
pub const TOPIC: i8 = 2;
/// Resource type codes.
pub const BROKER: i8 = 4;

/// Kafka's `ConfigType` of a config, for DescribeConfigs v3+.
fn config_type(name: &str) -> i8 {
    const BOOLEAN: i8 = 1;
    const STRING: i8 = 2;
    const INT: i8 = 3;
    const LONG: i8 = 5;
    const LIST: i8 = 7;
    match name {
        "cleanup.policy" | "log.cleanup.policy" | "log.dirs" => LIST,
        "retention.ms"
        | "retention.bytes"
        | "segment.ms"
        | "flush.messages"
        | "log.retention.ms"
        | "log.retention.bytes"
        | "log.roll.ms"
        | "log.flush.interval.messages" => LONG,
        "message.timestamp.type" | "log.message.timestamp.type" => STRING,
        "auto.create.topics.enable" => BOOLEAN,
        _ => INT,
    }
}

/// Whether the broker resource name addresses this broker ("" is the cluster default).
pub fn is_this_broker(broker: &Broker, name: &str) -> bool {
    name.is_empty() || name == broker.config.node_id.to_string()
}

/// Describes each resource.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for r in req.resources {
        let mut result = DescribeConfigsResult::default();
        result.resource_type = r.resource_type;
        result.resource_name = r.resource_name.clone();
        let allowed = broker.authorize_config_resource(
            AclOperation::DescribeConfigs,
            r.resource_type,
            &r.resource_name,
        );
        let (entries, read_only) = match r.resource_type {
            _ if allowed.is_err() => (allowed.map(|()| Vec::new()), true),
            TOPIC => match broker.topic(&r.resource_name) {
                Some(t) => (Ok(broker.effective_topic_configs(&t.configs)), false),
                None => (Err(ResponseError::UnknownTopicOrPartition), false),
            },
            BROKER if is_this_broker(broker, &r.resource_name) => {
                (Ok(broker.broker_configs()), true)
            }
            BROKER => (Err(ResponseError::InvalidRequest), true),
            _ => (Err(ResponseError::InvalidRequest), true),
        };
        match entries {
            Err(e) => {
                result.error_code = e.code();
                result.error_message = Some(sb(e.to_string()));
            }
            Ok(entries) => {
                let wanted = r.configuration_keys.as_ref();
                result.configs = entries
                    .into_iter()
                    .filter(|(k, _, _)| wanted.is_none_or(|w| w.iter().any(|x| x.as_str() == k)))
                    .map(|(k, v, src)| {
                        let mut c = DescribeConfigsResourceResult::default();
                        c.config_type = config_type(&k);
                        c.name = sb(k);
                        c.value = Some(sb(v));
                        c.config_source = src as i8;
                        c.read_only = read_only && src == ConfigSource::Static;
                        c
                    })
                    .collect();
            }
        }
        resp.results.push(result);
    }
    resp
}
