//! IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT on individual configs of
//! a topic or of the broker's dynamic configs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, RequestHeader,
};

use crate::api::alter_configs::{apply, Refusal};
use crate::api::describe_configs::{BROKER, TOPIC};
use crate::broker::Broker;
use crate::codec::sb;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Applies the operations to `current`, giving the new full set of overrides.
pub fn merge(
    mut current: BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
    ops: &[AlterableConfig],
) -> Result<BTreeMap<String, String>, Refusal> {
    for op in ops {
        let name = op.name.to_string();
        let value = op.value.as_ref().map(|v| v.to_string());
        match (op.config_operation, value) {
            (SET, Some(v)) => {
                current.insert(name, v);
            }
            (DELETE, _) => {
                current.remove(&name);
            }
            (APPEND | SUBTRACT, Some(v)) => {
                let base = current
                    .get(&name)
                    .or_else(|| defaults.get(&name))
                    .cloned()
                    .unwrap_or_default();
                let mut items: Vec<String> = base
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if op.config_operation == APPEND && !items.iter().any(|i| i == item) {
                        items.push(item.to_string());
                    } else if op.config_operation == SUBTRACT {
                        items.retain(|i| i != item);
                    }
                }
                current.insert(name, items.join(","));
            }
            (SET | APPEND | SUBTRACT, None) => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("null value for {name}"),
                ));
            }
            (other, _) => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("unknown operation {other}"),
                ))
            }
        }
    }
    Ok(current)
}

/// Applies each resource's operations.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for r in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name.clone();
        let (current, defaults) = match r.resource_type {
            TOPIC => (
                broker
                    .topic(&r.resource_name)
                    .map(|t| t.configs.clone())
                    .unwrap_or_default(),
                broker
                    .topic_defaults()
                    .into_iter()
                    .map(|(k, (v, _))| (k, v))
                    .collect(),
            ),
            BROKER => (broker.dynamic_configs(), BTreeMap::new()),
            _ => (BTreeMap::new(), BTreeMap::new()),
        };
        let result = apply(
            broker,
            r.resource_type,
            &r.resource_name,
            merge(current, &defaults, &r.configs),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, code: i8, value: Option<&str>) -> AlterableConfig {
        let mut o = AlterableConfig::default();
        o.name = sb(name);
        o.config_operation = code;
        o.value = value.map(sb);
        o
    }

    #[test]
    fn operations_compose() {
        let defaults = BTreeMap::from([("cleanup.policy".to_string(), "delete".to_string())]);
        let current = BTreeMap::from([("retention.ms".to_string(), "5".to_string())]);
        let out = merge(
            current,
            &defaults,
            &[
                op("retention.ms", DELETE, None),
                op("cleanup.policy", APPEND, Some("compact")),
                op("segment.ms", SET, Some("9")),
            ],
        )
        .unwrap();
        assert_eq!(out.get("cleanup.policy").unwrap(), "delete,compact");
        assert_eq!(out.get("segment.ms").unwrap(), "9");
        assert!(!out.contains_key("retention.ms"));
        let out = merge(
            out,
            &defaults,
            &[op("cleanup.policy", SUBTRACT, Some("delete"))],
        )
        .unwrap();
        assert_eq!(out.get("cleanup.policy").unwrap(), "compact");
        assert!(merge(BTreeMap::new(), &defaults, &[op("x", SET, None)]).is_err());
    }
}
