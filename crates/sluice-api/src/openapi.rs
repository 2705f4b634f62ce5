//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
