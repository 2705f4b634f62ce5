use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{assert_problem, uuid, TestApp};

#[sqlx::test(migrations = "../../migrations")]
async fn configurations_revisions_and_use_by_clusters(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let (s, cfg) = app
        .post(
            "/v1/configurations",
            &t,
            json!({"name": "base", "description": "defaults", "kafka_versions": ["3.7.0", "3.8.0"],
                   "server_properties": {"num.partitions": 6, "auto.create.topics.enable": "FALSE", "log.retention.ms": "86400000"},
                   "tags": {"owner": "platform"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cfg}");
    let id = cfg["id"].as_str().unwrap().to_owned();
    assert_eq!(cfg["latest_revision"]["revision"], 1);
    assert_eq!(
        cfg["latest_revision"]["server_properties"]["auto.create.topics.enable"],
        "false"
    );
    assert_eq!(
        cfg["latest_revision"]["server_properties"]["num.partitions"],
        "6"
    );
    assert_problem(
        &app.post(
            "/v1/configurations",
            &t,
            json!({"name": "base", "server_properties": {"num.partitions": 1}}),
        )
        .await,
        StatusCode::CONFLICT,
        "name-taken",
    );

    // Unknown and invalid settings are named one by one.
    let p = assert_problem(
        &app.post(
            "/v1/configurations",
            &t,
            json!({"name": "bad", "server_properties": {"listeners": "PLAINTEXT://:9092", "num.partitions": 0, "compression.type": "brotli"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "server_properties.compression.type",
            "server_properties.listeners",
            "server_properties.num.partitions"
        ]
    );

    // Revisions.
    let (s, rev) = app
        .post(
            &format!("/v1/configurations/{id}/revisions"),
            &t,
            json!({"description": "more partitions", "server_properties": {"num.partitions": 12}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(rev["revision"], 2);
    let (_, revs) = app
        .get(
            &format!("/v1/configurations/{id}/revisions?max_results=1"),
            &t,
        )
        .await;
    assert_eq!(revs["revisions"][0]["revision"], 2);
    let (_, older) = app
        .get(
            &format!(
                "/v1/configurations/{id}/revisions?next_token={}",
                revs["next_token"].as_str().unwrap()
            ),
            &t,
        )
        .await;
    assert_eq!(older["revisions"][0]["revision"], 1);
    assert!(older["next_token"].is_null());
    let (_, one) = app
        .get(&format!("/v1/configurations/{id}/revisions/1"), &t)
        .await;
    assert_eq!(one["server_properties"]["num.partitions"], "6");
    assert_problem(
        &app.get(&format!("/v1/configurations/{id}/revisions/9"), &t)
            .await,
        StatusCode::NOT_FOUND,
        "revision-not-found",
    );
    assert_problem(
        &app.get(&format!("/v1/configurations/{id}/revisions/x"), &t)
            .await,
        StatusCode::NOT_FOUND,
        "revision-not-found",
    );
    let (_, got) = app.get(&format!("/v1/configurations/{id}"), &t).await;
    assert_eq!(got["latest_revision"]["revision"], 2);
    let (_, list) = app.get("/v1/configurations", &t).await;
    assert_eq!(list["configurations"].as_array().unwrap().len(), 1);
    let (_, cat) = app.get("/v1/configurations/catalogue", &t).await;
    assert!(cat["settings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "min.insync.replicas" && s["kind"] == "int"));

    // A cluster created with it; a revision that does not exist or does not fit is refused.
    let spec = |rev: i64, version: &str| {
        json!({"name": "c", "kafka_version": version, "broker_count": 3, "storage_gib": 10,
               "configuration": {"id": id, "revision": rev}})
    };
    let p = assert_problem(
        &app.post("/v1/clusters", &t, spec(3, "3.7.0")).await,
        StatusCode::NOT_FOUND,
        "revision-not-found",
    );
    assert!(p.get("errors").is_none(), "{p}");
    // A configuration that does not exist at all.
    let mut missing = spec(1, "3.7.0");
    missing["configuration"]["id"] = json!(::uuid::Uuid::now_v7());
    assert_problem(
        &app.post("/v1/clusters", &t, missing).await,
        StatusCode::NOT_FOUND,
        "configuration-not-found",
    );
    assert_problem(
        &app.post("/v1/clusters", &t, spec(1, "3.6.0")).await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
    let (s, created) = app.post("/v1/clusters", &t, spec(1, "3.7.0")).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let cluster = created["cluster"]["id"].as_str().unwrap().to_owned();
    app.store
        .complete_operation(uuid(&created["operation"]["id"]))
        .await
        .unwrap();

    // In use: cannot be deleted.
    assert_problem(
        &app.delete(&format!("/v1/configurations/{id}"), &t).await,
        StatusCode::CONFLICT,
        "configuration-in-use",
    );

    // Apply revision 2; the same one again is refused; upgrading past the allowed versions too.
    let (s, up) = app
        .put(
            &format!("/v1/clusters/{cluster}/configuration"),
            &t,
            json!({"current_version": 1, "configuration": {"id": id, "revision": 2}}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{up}");
    assert_eq!(up["operation"]["operation_type"], "UPDATE_CONFIGURATION");
    assert_eq!(up["operation"]["source"]["configuration"]["revision"], 1);
    assert_eq!(up["operation"]["target"]["configuration"]["revision"], 2);
    app.store
        .complete_operation(uuid(&up["operation"]["id"]))
        .await
        .unwrap();
    assert_problem(
        &app.put(
            &format!("/v1/clusters/{cluster}/configuration"),
            &t,
            json!({"current_version": 2, "configuration": {"id": id, "revision": 2}}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
    let p = assert_problem(
        &app.put(
            &format!("/v1/clusters/{cluster}/version"),
            &t,
            json!({"current_version": 2, "kafka_version": "3.9.0"}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3.7.0, 3.8.0"),
        "{p}"
    );

    // Tags on configurations.
    let (_, tags) = app
        .post(
            &format!("/v1/configurations/{id}/tags"),
            &t,
            json!({"tags": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(tags["tags"], json!({"owner": "platform", "tier": "gold"}));
    let (_, tags) = app
        .delete(&format!("/v1/configurations/{id}/tags?keys=owner"), &t)
        .await;
    assert_eq!(tags["tags"], json!({"tier": "gold"}));
    let (_, tags) = app.get(&format!("/v1/configurations/{id}/tags"), &t).await;
    assert_eq!(tags["tags"], json!({"tier": "gold"}));

    // Once the cluster is gone, the configuration can go.
    let (_, del) = app.delete(&format!("/v1/clusters/{cluster}"), &t).await;
    assert_problem(
        &app.delete(&format!("/v1/configurations/{id}"), &t).await,
        StatusCode::CONFLICT,
        "configuration-in-use",
    );
    app.store
        .complete_operation(uuid(&del["operation"]["id"]))
        .await
        .unwrap();
    let (s, _) = app.delete(&format!("/v1/configurations/{id}"), &t).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_problem(
        &app.get(&format!("/v1/configurations/{id}"), &t).await,
        StatusCode::NOT_FOUND,
        "configuration-not-found",
    );
    assert_problem(
        &app.delete(&format!("/v1/configurations/{id}"), &t).await,
        StatusCode::NOT_FOUND,
        "configuration-not-found",
    );
}
