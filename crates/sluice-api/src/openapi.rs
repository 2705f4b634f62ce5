//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use serde_json::{json, Value};

use crate::routes::{clusters, configurations, operations, system, tags, updates};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT carrying `sub`, `tenant` and `roles` (viewer, operator, admin), with `exp`, `iss` and `aud`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Sluice's REST API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sluice API",
        description = "Managed Apache Kafka-compatible clusters on any Kubernetes cluster or one machine. Errors are RFC 9457 problem documents with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    paths(
        clusters::create, clusters::list, clusters::get, clusters::delete, clusters::bootstrap_brokers, clusters::nodes,
        updates::broker_count, updates::storage, updates::configuration, updates::kafka_version, updates::broker_type, updates::reboot_broker,
        operations::list, operations::get,
        configurations::create, configurations::list, configurations::catalogue, configurations::get, configurations::delete,
        configurations::create_revision, configurations::list_revisions, configurations::get_revision,
        tags::list_cluster, tags::tag_cluster, tags::untag_cluster, tags::list_configuration, tags::tag_configuration, tags::untag_configuration,
        system::healthz, system::readyz, system::metrics, system::openapi,
    ),
    components(schemas(sluice_model::Problem, sluice_model::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "clusters", description = "Kafka clusters"),
        (name = "updates", description = "Changes to a running cluster; each starts an operation"),
        (name = "operations", description = "The progress of changes"),
        (name = "configurations", description = "Broker configurations and revisions"),
        (name = "tags", description = "Tags on clusters and configurations"),
        (name = "system", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The document as served and committed: utoipa's, with the constraints of the model's parsers
/// ([`sluice_model::schema`]) merged into its schemas and parameters, and the links between
/// operations.
pub fn document() -> Value {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(build);
    DOCUMENT.clone()
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    for patch in sluice_model::schema::patches() {
        let mut target = &mut doc["components"]["schemas"][patch.schema];
        assert!(target.is_object(), "no schema {}", patch.schema);
        if let Some(field) = patch.field {
            target = &mut target["properties"][field];
            assert!(target.is_object(), "no field {}.{field}", patch.schema);
        }
        merge(target, patch.keywords);
    }
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        for (_, op) in item.as_object_mut().expect("path item").iter_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params {
                let keywords = match param["name"].as_str() {
                    Some("next_token") => {
                        sluice_model::schema::next_token(path.ends_with("/revisions"))
                    }
                    Some("max_results") => sluice_model::schema::max_results(),
                    _ => continue,
                };
                merge(&mut param["schema"], keywords);
            }
        }
    }
    bound_int64(&mut doc);
    add_links(&mut doc);
    doc
}

/// An `i64` takes any whole number in its range, and no other: say so where nothing narrower
/// was said (`current_version`, revisions), so that a client (or a fuzzer) knows the range.
fn bound_int64(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("int64") {
                map.entry("minimum").or_insert(json!(i64::MIN));
                map.entry("maximum").or_insert(json!(i64::MAX));
            }
            map.values_mut().for_each(bound_int64);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_int64),
        _ => {}
    }
}

fn merge(target: &mut Value, keywords: Value) {
    let target = target.as_object_mut().expect("a schema object");
    for (k, v) in keywords.as_object().expect("keywords").clone() {
        target.insert(k, v);
    }
}

/// A link: its name, the operation it leads to, and that operation's parameters.
type Link = (&'static str, &'static str, Value);

/// From an operation's answer to the operations that take the ids it carries.
fn add_links(doc: &mut Value) {
    let cluster_from = |pointer: &str| {
        let id = json!({"id": format!("$response.body#{pointer}")});
        vec![
            ("GetCluster", "getCluster", id.clone()),
            ("DeleteCluster", "deleteCluster", id.clone()),
            ("GetBootstrapBrokers", "getBootstrapBrokers", id.clone()),
            ("ListNodes", "listNodes", id.clone()),
            ("ListOperations", "listOperations", id.clone()),
            ("ListClusterTags", "listClusterTags", id.clone()),
            ("TagCluster", "tagCluster", id.clone()),
            ("UntagCluster", "untagCluster", id.clone()),
            ("UpdateBrokerCount", "updateBrokerCount", id.clone()),
            ("UpdateStorage", "updateStorage", id.clone()),
            ("UpdateConfiguration", "updateConfiguration", id.clone()),
            ("UpdateKafkaVersion", "updateKafkaVersion", id.clone()),
            ("UpdateBrokerType", "updateBrokerType", id.clone()),
            ("RebootBroker", "rebootBroker", id),
        ]
    };
    let operation = (
        "GetOperation",
        "getOperation",
        json!({"id": "$response.body#/operation/id"}),
    );
    let configuration = |id: &str| {
        let p = json!({"id": id});
        vec![
            ("GetConfiguration", "getConfiguration", p.clone()),
            ("DeleteConfiguration", "deleteConfiguration", p.clone()),
            ("CreateRevision", "createRevision", p.clone()),
            ("ListRevisions", "listRevisions", p.clone()),
            ("ListConfigurationTags", "listConfigurationTags", p.clone()),
            ("TagConfiguration", "tagConfiguration", p.clone()),
            ("UntagConfiguration", "untagConfiguration", p),
        ]
    };
    let mut table: Vec<(&str, &str, Vec<Link>)> = Vec::new();
    let mut created = cluster_from("/cluster/id");
    created.push(operation.clone());
    table.push(("createCluster", "201", created));
    for update in [
        "updateBrokerCount",
        "updateStorage",
        "updateConfiguration",
        "updateKafkaVersion",
        "updateBrokerType",
        "rebootBroker",
        "deleteCluster",
    ] {
        table.push((
            update,
            "202",
            vec![
                operation.clone(),
                (
                    "GetCluster",
                    "getCluster",
                    json!({"id": "$response.body#/cluster/id"}),
                ),
            ],
        ));
    }
    let mut config = configuration("$response.body#/id");
    config.push((
        "GetRevision",
        "getRevision",
        json!({"id": "$response.body#/id", "revision": "$response.body#/latest_revision/revision"}),
    ));
    table.push(("createConfiguration", "201", config));
    let mut revision = configuration("$request.path.id");
    revision.push((
        "GetRevision",
        "getRevision",
        json!({"id": "$request.path.id", "revision": "$response.body#/revision"}),
    ));
    table.push(("createRevision", "201", revision));

    let paths = doc["paths"].as_object_mut().expect("paths");
    for (from, status, links) in table {
        let op = paths
            .values_mut()
            .flat_map(|item| item.as_object_mut().expect("path item").values_mut())
            .find(|op| op["operationId"] == from)
            .unwrap_or_else(|| panic!("no operation {from}"));
        let response = &mut op["responses"][status];
        assert!(response.is_object(), "{from} has no {status}");
        let links: serde_json::Map<String, Value> = links
            .into_iter()
            .map(|(name, target, parameters)| {
                (
                    name.to_owned(),
                    json!({"operationId": target, "parameters": parameters}),
                )
            })
            .collect();
        response["links"] = Value::Object(links);
    }
}
