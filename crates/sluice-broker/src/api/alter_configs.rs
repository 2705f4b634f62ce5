//! AlterConfigs (key 33): replaces the whole set of overrides of a topic, or the dynamic
//! configs of the broker. Changes are persisted and applied to open logs at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, RequestHeader};

use crate::api::describe_configs::{is_this_broker, BROKER, TOPIC};
use crate::broker::Broker;
use crate::codec::sb;
use crate::topic_config::{topic_name_of, validate_topic_config};
use sluice_auth::acl::AclOperation;

/// Why a config change was refused.
pub type Refusal = (ResponseError, String);

/// Validates a full set of topic overrides.
pub fn validate_topic(configs: &BTreeMap<String, String>) -> Result<(), Refusal> {
    for (k, v) in configs {
        validate_topic_config(k, v).map_err(|m| (ResponseError::InvalidConfig, m))?;
    }
    Ok(())
}

/// Validates a full set of dynamic broker configs.
pub fn validate_broker(configs: &BTreeMap<String, String>) -> Result<(), Refusal> {
    for (k, v) in configs {
        let Some(topic_key) = topic_name_of(k) else {
            return Err((
                ResponseError::InvalidConfig,
                format!("{k} cannot be updated dynamically"),
            ));
        };
        validate_topic_config(topic_key, v).map_err(|m| (ResponseError::InvalidConfig, m))?;
    }
    Ok(())
}

/// Validates and (unless `validate_only`) applies new configs for one resource; `configs` is
/// already a refusal when the request itself could not be turned into configs.
pub async fn apply(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    configs: Result<BTreeMap<String, String>, Refusal>,
    validate_only: bool,
) -> Result<(), Refusal> {
    broker
        .authorize_config_resource(AclOperation::AlterConfigs, resource_type, name)
        .map_err(|e| (e, e.to_string()))?;
    let configs = configs?;
    match resource_type {
        TOPIC => {
            if broker.topic(name).is_none() {
                return Err((
                    ResponseError::UnknownTopicOrPartition,
                    format!("topic {name} does not exist"),
                ));
            }
            validate_topic(&configs)?;
            if validate_only {
                return Ok(());
            }
            broker
                .set_topic_configs(name, configs)
                .await
                .map_err(|e| (e, e.to_string()))
        }
        BROKER if is_this_broker(broker, name) => {
            validate_broker(&configs)?;
            if validate_only {
                return Ok(());
            }
            broker
                .set_dynamic_configs(configs)
                .await
                .map_err(|e| (e, e.to_string()))
        }
        _ => Err((
            ResponseError::InvalidRequest,
            format!("unsupported resource {resource_type}/{name}"),
        )),
    }
}

/// Replaces the configs of each resource.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for r in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name.clone();
        let configs: Option<BTreeMap<String, String>> = r
            .configs
            .iter()
            .map(|c| {
                c.value
                    .as_ref()
                    .map(|v| (c.name.to_string(), v.to_string()))
            })
            .collect();
        let configs = configs.ok_or_else(|| {
            (
                ResponseError::InvalidRequest,
                "null config value".to_string(),
            )
        });
        let result = apply(
            broker,
            r.resource_type,
            &r.resource_name,
            configs,
            req.validate_only,
        )
        .await;
        if let Err((e, msg)) = result {
            out.error_code = e.code();
            out.error_message = Some(sb(msg));
        }
        resp.responses.push(out);
    }
    resp
}
