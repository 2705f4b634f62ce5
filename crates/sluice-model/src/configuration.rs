//! Broker configurations: named, revisioned sets of broker settings that clusters apply.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::{setting, validate_value};
use crate::{ConfigurationName, FieldError, KafkaVersion, Tags, Violations};

/// Validated broker settings: every key is in the catalogue, every value canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServerProperties(BTreeMap<String, String>);

impl ServerProperties {
    /// Checks each setting against the catalogue. Values may be JSON strings, numbers or booleans.
    pub fn parse(
        raw: &BTreeMap<String, serde_json::Value>,
        v: &mut Violations,
    ) -> Option<ServerProperties> {
        let before = v.clone();
        let mut out = BTreeMap::new();
        if raw.is_empty() {
            v.add("server_properties", "give at least one setting");
        }
        for (key, value) in raw {
            let field = format!("server_properties.{key}");
            let Some(s) = setting(key) else {
                v.add(
                    field,
                    "unknown broker setting (see GET /v1/configurations/catalogue)",
                );
                continue;
            };
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                // A JSON integer written with a zero fraction (`6.0`) is still an integer, as
                // JSON Schema's `integer` says.
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        (f as i64).to_string()
                    }
                    _ => n.to_string(),
                },
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    v.add(field, "must be a string, a number or a boolean");
                    continue;
                }
            };
            match validate_value(s, &text) {
                Ok(canonical) => {
                    out.insert(key.clone(), canonical);
                }
                Err(e) => v.add(field, e),
            }
        }
        let num = |k: &str| out.get(k).and_then(|s| s.parse::<i64>().ok());
        if let (Some(lo), Some(hi)) = (
            num("group.min.session.timeout.ms"),
            num("group.max.session.timeout.ms"),
        ) {
            if lo > hi {
                v.add(
                    "server_properties.group.min.session.timeout.ms",
                    "must not exceed group.max.session.timeout.ms",
                );
            }
        }
        (*v == before).then_some(ServerProperties(out))
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The settings in Java properties form, as a broker reads them.
    pub fn to_properties_text(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

/// The longest description of a configuration or revision, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1024;

fn check_description(d: &Option<String>, v: &mut Violations) {
    if let Some(Err(e)) = d.as_deref().map(crate::check_text) {
        v.add("description", e);
    }
    if d.as_ref()
        .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS)
    {
        v.add(
            "description",
            format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
        );
    }
}

/// Body of `POST /v1/configurations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConfigurationRequest {
    /// 1–64 ASCII letters, digits and '-', starting with a letter; unique in the tenant.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Kafka versions this configuration may be applied to (as `kafka_version` of a create
    /// accepts them; stored canonical); empty for any.
    #[serde(default)]
    pub kafka_versions: Vec<String>,
    /// Broker settings, each from the catalogue.
    #[schema(value_type = Object, example = json!({"num.partitions": 6, "log.retention.ms": "86400000"}))]
    pub server_properties: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A configuration create that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCreateConfiguration {
    pub name: ConfigurationName,
    pub description: Option<String>,
    pub kafka_versions: Vec<String>,
    pub server_properties: ServerProperties,
    pub tags: Tags,
}

impl CreateConfigurationRequest {
    pub fn validate(&self) -> Result<ValidCreateConfiguration, Vec<FieldError>> {
        let mut v = Violations::new();
        let name = v.check("name", ConfigurationName::parse(&self.name));
        check_description(&self.description, &mut v);
        let mut kafka_versions = Vec::new();
        for (i, k) in self.kafka_versions.iter().enumerate() {
            if let Some(k) = v.check(&format!("kafka_versions[{i}]"), KafkaVersion::parse(k)) {
                kafka_versions.push(k.as_str().to_owned());
            }
        }
        let props = ServerProperties::parse(&self.server_properties, &mut v);
        let tags = Tags::parse(&self.tags, "tags", &mut v);
        if !v.is_empty() {
            return Err(v.into_errors());
        }
        kafka_versions.sort();
        kafka_versions.dedup();
        Ok(ValidCreateConfiguration {
            name: name.expect("validated"),
            description: self.description.clone(),
            kafka_versions,
            server_properties: props.expect("validated"),
            tags: tags.expect("validated"),
        })
    }
}

/// Body of `POST /v1/configurations/{id}/revisions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRevisionRequest {
    #[serde(default)]
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub server_properties: BTreeMap<String, serde_json::Value>,
}

impl CreateRevisionRequest {
    pub fn validate(&self) -> Result<(Option<String>, ServerProperties), Vec<FieldError>> {
        let mut v = Violations::new();
        check_description(&self.description, &mut v);
        let props = ServerProperties::parse(&self.server_properties, &mut v);
        v.into_result(|| (self.description.clone(), props.expect("validated")))
    }
}

/// Whether a configuration can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigurationState {
    Active,
}

/// One immutable revision of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConfigurationRevision {
    /// 1 for the first, then counting up.
    pub revision: i64,
    pub description: Option<String>,
    pub server_properties: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

/// A configuration as the API shows it, with its newest revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Configuration {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub kafka_versions: Vec<String>,
    pub state: ConfigurationState,
    pub latest_revision: ConfigurationRevision,
    pub tags: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

/// A page of configurations.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfigurationList {
    pub configurations: Vec<Configuration>,
    pub next_token: Option<String>,
}

/// A page of revisions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevisionList {
    pub revisions: Vec<ConfigurationRevision>,
    pub next_token: Option<String>,
}

/// `GET /v1/configurations/catalogue`: the settings a configuration may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Catalogue {
    pub settings: Vec<crate::catalogue::SettingInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(props: serde_json::Value) -> CreateConfigurationRequest {
        serde_json::from_value(serde_json::json!({"name": "base", "server_properties": props}))
            .unwrap()
    }

    #[test]
    fn accepts_scalars_and_canonicalises() {
        let c = req(serde_json::json!({"num.partitions": 6, "auto.create.topics.enable": false, "compression.type": "ZSTD"}))
            .validate()
            .unwrap();
        let m = c.server_properties.as_map();
        assert_eq!(m["num.partitions"], "6");
        assert_eq!(m["auto.create.topics.enable"], "false");
        assert_eq!(m["compression.type"], "zstd");
        assert!(c
            .server_properties
            .to_properties_text()
            .contains("num.partitions=6\n"));
    }

    #[test]
    fn reports_unknown_invalid_and_inconsistent_settings() {
        let errs = req(serde_json::json!({
            "listeners": "PLAINTEXT://:9092", "num.partitions": -1, "log.retention.ms": [1],
            "group.min.session.timeout.ms": 9000, "group.max.session.timeout.ms": 6000
        }))
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "server_properties.listeners",
                "server_properties.log.retention.ms",
                "server_properties.num.partitions",
                "server_properties.group.min.session.timeout.ms"
            ]
        );
        assert!(req(serde_json::json!({})).validate().is_err());
    }
}
