use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sluice_model::{ClusterState, ErrorInfo, Role};
use sqlx::PgPool;

use crate::{assert_problem, uuid, TestApp};

#[sqlx::test(migrations = "../../migrations")]
async fn whole_lifecycle(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.token("acme", Role::Operator);
    let (s, h, created) = app
        .call(
            Method::POST,
            "/v1/clusters",
            Some(&t),
            Some(&json!({"name": "orders", "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 100,
                         "zone_count": 3, "tags": {"env": "prod"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let c = &created["cluster"];
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(h["location"], format!("/v1/clusters/{id}").as_str());
    assert_eq!(c["state"], "CREATING");
    assert_eq!(c["current_version"], 1);
    assert_eq!(c["tags"]["env"], "prod");
    assert_eq!(created["operation"]["operation_type"], "CREATE_CLUSTER");
    assert_eq!(created["operation"]["state"], "PENDING");
    assert_eq!(created["operation"]["source"], Value::Null);
    let op_path = format!(
        "/v1/operations/{}",
        created["operation"]["id"].as_str().unwrap()
    );
    assert_eq!(
        app.get(&op_path, &t).await.1,
        created["operation"],
        "the create answers what was stored"
    );

    // Updates wait for ACTIVE; the state is named.
    let p = assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/storage"),
            &t,
            json!({"current_version": 1, "storage_gib": 200}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-state",
    );
    assert_eq!(p["state"], "CREATING");

    // Not ready: no brokers yet.
    let p = assert_problem(
        &app.get(&format!("/v1/clusters/{id}/bootstrap-brokers"), &t)
            .await,
        StatusCode::CONFLICT,
        "cluster-not-ready",
    );
    assert_eq!(p["state"], "CREATING");

    // The reconciler's part, done by hand: the create completes and brokers appear.
    app.store
        .complete_operation(uuid(&c["active_operation_id"]))
        .await
        .unwrap();
    for b in 1..=3u32 {
        let node = sluice_model::Node {
            broker_id: b,
            host: "127.0.0.1".into(),
            port: 19091 + b as u16,
            zone: Some(format!("zone-{b}")),
            state: "RUNNING".into(),
            kafka_version: "3.7.0".into(),
            updated_at: chrono::Utc::now(),
        };
        app.store.upsert_node(uuid(&c["id"]), &node).await.unwrap();
    }
    let (s, bb) = app
        .get(&format!("/v1/clusters/{id}/bootstrap-brokers"), &t)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        bb["bootstrap_brokers"],
        "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    );
    let (_, nodes) = app.get(&format!("/v1/clusters/{id}/nodes"), &t).await;
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(nodes["nodes"][1]["zone"], "zone-2");

    // Scale out: 202 with the operation, version bumped, state UPDATING.
    let (s, up) = app
        .put(
            &format!("/v1/clusters/{id}/broker-count"),
            &t,
            json!({"current_version": 1, "broker_count": 6}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{up}");
    assert_eq!(up["cluster"]["state"], "UPDATING");
    assert_eq!(up["cluster"]["current_version"], 2);
    assert_eq!(up["cluster"]["spec"]["broker_count"], 6);
    let op = &up["operation"];
    assert_eq!(op["operation_type"], "UPDATE_BROKER_COUNT");
    assert_eq!(op["source"]["broker_count"], 3);
    assert_eq!(op["target"]["broker_count"], 6);

    // A stale version is refused while another change runs, and names the current one.
    let p = assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/storage"),
            &t,
            json!({"current_version": 1, "storage_gib": 200}),
        )
        .await,
        StatusCode::CONFLICT,
        "version-conflict",
    );
    assert_eq!(p["current_version"], 2);

    // Steps recorded by the reconciler are visible on the operation.
    let step = sluice_model::OperationStep {
        name: "ADD_BROKER".into(),
        status: sluice_model::StepStatus::Complete,
        broker_id: Some(4),
        started_at: Some(chrono::Utc::now()),
        ended_at: Some(chrono::Utc::now()),
        message: None,
    };
    app.store
        .record_steps(uuid(&op["id"]), &[step])
        .await
        .unwrap();
    let (_, got) = app
        .get(
            &format!("/v1/operations/{}", op["id"].as_str().unwrap()),
            &t,
        )
        .await;
    assert_eq!(got["state"], "IN_PROGRESS");
    assert_eq!(got["steps"][0]["broker_id"], 4);
    app.store.complete_operation(uuid(&op["id"])).await.unwrap();

    // Storage grows, never shrinks.
    let p = assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/storage"),
            &t,
            json!({"current_version": 2, "storage_gib": 50}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
    assert_eq!(p["errors"][0]["field"], "storage_gib");
    let (s, _) = app
        .put(
            &format!("/v1/clusters/{id}/storage"),
            &t,
            json!({"current_version": 2, "storage_gib": 500}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, c) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    app.store
        .complete_operation(uuid(&c["active_operation_id"]))
        .await
        .unwrap();

    // Version upgrade, broker type, reboot: each an operation of its own type.
    for (path, body, ty, state) in [
        (
            "version",
            json!({"kafka_version": "3.8.0"}),
            "UPDATE_KAFKA_VERSION",
            "UPDATING",
        ),
        (
            "broker-type",
            json!({"broker_type": "kafka.m5.xlarge"}),
            "UPDATE_BROKER_TYPE",
            "UPDATING",
        ),
        (
            "reboot-broker",
            json!({"broker_id": 2}),
            "REBOOT_BROKER",
            "REBOOTING_BROKER",
        ),
    ] {
        let (_, c) = app.get(&format!("/v1/clusters/{id}"), &t).await;
        let mut body = body;
        body["current_version"] = c["current_version"].clone();
        let method = if path == "reboot-broker" {
            Method::POST
        } else {
            Method::PUT
        };
        let (s, _, up) = app
            .call(
                method,
                &format!("/v1/clusters/{id}/{path}"),
                Some(&t),
                Some(&body),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{path}: {up}");
        assert_eq!(up["operation"]["operation_type"], ty);
        assert_eq!(up["cluster"]["state"], state);
        app.store
            .complete_operation(uuid(&up["operation"]["id"]))
            .await
            .unwrap();
    }
    let (_, c) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(c["spec"]["kafka_version"], "3.8.0");
    assert_eq!(c["spec"]["broker_resources"]["cpu_millis"], 4000);
    assert_eq!(c["state"], "ACTIVE");

    // Operations list, newest first, paged.
    let (_, ops) = app
        .get(&format!("/v1/clusters/{id}/operations?max_results=2"), &t)
        .await;
    assert_eq!(ops["operations"][0]["operation_type"], "REBOOT_BROKER");
    assert_eq!(ops["operations"][0]["broker_ids"], json!([2]));
    let (_, more) = app
        .get(
            &format!(
                "/v1/clusters/{id}/operations?max_results=10&next_token={}",
                ops["next_token"].as_str().unwrap()
            ),
            &t,
        )
        .await;
    assert_eq!(more["operations"].as_array().unwrap().len(), 4);
    assert_eq!(more["operations"][3]["operation_type"], "CREATE_CLUSTER");
    assert!(more["next_token"].is_null());

    // Delete: 202, DELETING, then gone.
    let (s, del) = app.delete(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(del["cluster"]["state"], "DELETING");
    assert_problem(
        &app.delete(&format!("/v1/clusters/{id}"), &t).await,
        StatusCode::CONFLICT,
        "invalid-state",
    );
    app.store
        .complete_operation(uuid(&del["operation"]["id"]))
        .await
        .unwrap();
    assert_problem(
        &app.get(&format!("/v1/clusters/{id}"), &t).await,
        StatusCode::NOT_FOUND,
        "cluster-not-found",
    );
    // The name is free again.
    app.create_cluster(&t, "orders").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn failed_clusters_can_only_be_deleted(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let c = app.create_cluster(&t, "doomed").await;
    let id = c["id"].as_str().unwrap();
    let err = ErrorInfo {
        code: "brokers-unreachable".into(),
        message: "no broker answered".into(),
    };
    app.store
        .fail_operation(uuid(&c["active_operation_id"]), &err, ClusterState::Failed)
        .await
        .unwrap();
    let (_, got) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(got["state"], "FAILED");
    assert_eq!(got["state_info"]["code"], "brokers-unreachable");
    let p = assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/broker-count"),
            &t,
            json!({"current_version": 1, "broker_count": 4}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-state",
    );
    assert_eq!(p["state"], "FAILED");
    assert!(p["detail"].as_str().unwrap().contains("only be deleted"));
    let (s, _) = app
        .delete(&format!("/v1/clusters/{id}?current_version=1"), &t)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failed_update_rolls_the_spec_back(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let c = app.active_cluster(&t, "c").await;
    let id = c["id"].as_str().unwrap();
    let (_, up) = app
        .put(
            &format!("/v1/clusters/{id}/storage"),
            &t,
            json!({"current_version": 1, "storage_gib": 300}),
        )
        .await;
    let err = ErrorInfo {
        code: "storage-not-expandable".into(),
        message: "the volume cannot grow".into(),
    };
    app.store
        .fail_operation(uuid(&up["operation"]["id"]), &err, ClusterState::Active)
        .await
        .unwrap();
    let (_, got) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(got["state"], "ACTIVE");
    assert_eq!(got["spec"]["storage_gib"], 100);
    assert_eq!(
        got["current_version"], 3,
        "the rollback is a spec change too"
    );
    let (_, op) = app
        .get(
            &format!("/v1/operations/{}", up["operation"]["id"].as_str().unwrap()),
            &t,
        )
        .await;
    assert_eq!(op["state"], "UPDATE_FAILED");
    assert_eq!(op["error"]["code"], "storage-not-expandable");
    assert!(op["ended_at"].is_string());
}

#[sqlx::test(migrations = "../../migrations")]
async fn delete_supersedes_unfinished_operations(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let c = app.create_cluster(&t, "c").await;
    let id = c["id"].as_str().unwrap();
    let p = assert_problem(
        &app.delete(&format!("/v1/clusters/{id}?current_version=7"), &t)
            .await,
        StatusCode::CONFLICT,
        "version-conflict",
    );
    assert_eq!(p["current_version"], 1);
    let (s, _) = app.delete(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, create_op) = app
        .get(
            &format!(
                "/v1/operations/{}",
                c["active_operation_id"].as_str().unwrap()
            ),
            &t,
        )
        .await;
    assert_eq!(create_op["state"], "UPDATE_FAILED");
    assert_eq!(create_op["error"]["code"], "superseded-by-delete");
}

#[sqlx::test(migrations = "../../migrations")]
async fn idempotent_create(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let body = json!({"name": "orders", "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 100,
                      "client_request_token": "req-1"});
    let (s1, h1, first) = app
        .call(Method::POST, "/v1/clusters", Some(&t), Some(&body))
        .await;
    assert_eq!(s1, StatusCode::CREATED);
    assert!(h1.get("idempotent-replayed").is_none());
    // The same request again, spelled with the defaults written out: the same cluster.
    let mut same = body.clone();
    same["zone_count"] = json!(1);
    let (s2, h2, second) = app
        .call(Method::POST, "/v1/clusters", Some(&t), Some(&same))
        .await;
    assert_eq!(s2, StatusCode::CREATED);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(first["cluster"]["id"], second["cluster"]["id"]);
    assert_eq!(first["operation"]["id"], second["operation"]["id"]);
    // The same token with another body is refused.
    let mut other = body.clone();
    other["broker_count"] = json!(6);
    assert_problem(
        &app.post("/v1/clusters", &t, other).await,
        StatusCode::CONFLICT,
        "client-request-token-reused",
    );
    // Tokens are per tenant.
    let (s, _) = app
        .post(
            "/v1/clusters",
            &app.token("other", Role::Admin),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Concurrent retries of one create make one cluster.
    let mut racing = body.clone();
    racing["client_request_token"] = json!("req-2");
    racing["name"] = json!("raced");
    let calls = (0..8).map(|_| app.post("/v1/clusters", &t, racing.clone()));
    let results = futures::future::join_all(calls).await;
    let ids: HashSet<String> = results
        .iter()
        .map(|(s, v)| {
            assert_eq!(*s, StatusCode::CREATED, "{v}");
            v["cluster"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    // A name already taken without a token.
    assert_problem(
        &app.post(
            "/v1/clusters",
            &t,
            json!({"name": "raced", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1}),
        )
        .await,
        StatusCode::CONFLICT,
        "name-taken",
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_updates_with_one_version_have_one_winner(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let c = app.active_cluster(&t, "c").await;
    let id = c["id"].as_str().unwrap();
    let version = c["current_version"].as_i64().unwrap();
    let path = format!("/v1/clusters/{id}/storage");
    let calls = (0..10).map(|i| {
        app.put(
            &path,
            &t,
            json!({"current_version": version, "storage_gib": 200 + i}),
        )
    });
    let results = futures::future::join_all(calls).await;
    let wins = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    let conflicts = results
        .iter()
        .filter(|(s, v)| {
            *s == StatusCode::CONFLICT
                && (v["code"] == "version-conflict" || v["code"] == "invalid-state")
        })
        .count();
    assert_eq!(wins, 1, "{results:?}");
    assert_eq!(conflicts, 9, "{results:?}");
    let (_, ops) = app.get(&format!("/v1/clusters/{id}/operations"), &t).await;
    assert_eq!(
        ops["operations"].as_array().unwrap().len(),
        2,
        "one create, one update"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn pagination_stays_correct_while_rows_are_inserted(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let mut originals = Vec::new();
    for i in 0..23 {
        originals.push(
            app.create_cluster(&t, &format!("c{i:02}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut inserted = 0;
    loop {
        let path = match &token {
            Some(tk) => format!("/v1/clusters?max_results=5&next_token={tk}"),
            None => "/v1/clusters?max_results=5".to_owned(),
        };
        let (s, page) = app.get(&path, &t).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(
            page["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        // Rows inserted between pages must neither shift nor repeat what was seen.
        if inserted < 4 {
            app.create_cluster(&t, &format!("late{inserted}")).await;
            inserted += 1;
        }
        match page["next_token"].as_str() {
            Some(tk) => token = Some(tk.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no cluster twice");
    assert_eq!(&seen[..23], &originals[..], "originals in creation order");
    assert_eq!(seen.len(), 27, "rows created during the walk come last");

    // Filters.
    let (_, late) = app
        .get("/v1/clusters?name_prefix=late&max_results=100", &t)
        .await;
    assert_eq!(late["clusters"].as_array().unwrap().len(), 4);
    let (_, creating) = app
        .get("/v1/clusters?state=CREATING&max_results=100", &t)
        .await;
    assert_eq!(creating["clusters"].as_array().unwrap().len(), 27);
    let (_, active) = app.get("/v1/clusters?state=ACTIVE", &t).await;
    assert_eq!(active["clusters"], json!([]));
    // A prefix with LIKE wildcards is taken literally.
    let (_, none) = app.get("/v1/clusters?name_prefix=%25", &t).await;
    assert_eq!(none["clusters"], json!([]));
    assert_problem(
        &app.get("/v1/clusters?max_results=0", &t).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/clusters?max_results=101", &t).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/clusters?next_token=garbage", &t).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/clusters?state=SLEEPING", &t).await,
        StatusCode::BAD_REQUEST,
        "invalid-query",
    );
    assert_problem(
        &app.get("/v1/clusters?colour=red", &t).await,
        StatusCode::BAD_REQUEST,
        "invalid-query",
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn tags_on_clusters(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.token("acme", Role::Operator);
    let c = app.create_cluster(&t, "c").await;
    let id = c["id"].as_str().unwrap();
    let (s, tags) = app
        .post(
            &format!("/v1/clusters/{id}/tags"),
            &t,
            json!({"tags": {"env": "prod", "team": "data"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tags["tags"], json!({"env": "prod", "team": "data"}));
    let (_, tags) = app
        .post(
            &format!("/v1/clusters/{id}/tags"),
            &t,
            json!({"tags": {"env": "staging"}}),
        )
        .await;
    assert_eq!(tags["tags"]["env"], "staging");
    let (_, tags) = app
        .delete(&format!("/v1/clusters/{id}/tags?keys=team,missing"), &t)
        .await;
    assert_eq!(tags["tags"], json!({"env": "staging"}));
    let (_, listed) = app.get(&format!("/v1/clusters/{id}/tags"), &t).await;
    assert_eq!(listed["tags"], json!({"env": "staging"}));
    // Cached renderings of the cluster follow every change.
    let (_, list) = app.get("/v1/clusters", &t).await;
    assert_eq!(list["clusters"][0]["tags"], json!({"env": "staging"}));
    app.post(
        &format!("/v1/clusters/{id}/tags"),
        &t,
        json!({"tags": {"v": "2"}}),
    )
    .await;
    app.store
        .set_cluster_state(uuid(&c["id"]), ClusterState::Maintenance, None)
        .await
        .unwrap();
    let (_, list) = app.get("/v1/clusters", &t).await;
    assert_eq!(list["clusters"][0]["tags"]["v"], "2");
    assert_eq!(list["clusters"][0]["state"], "MAINTENANCE");
    let (_, one) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(one, list["clusters"][0]);
    let (_, got) = app.get(&format!("/v1/clusters/{id}"), &t).await;
    assert_eq!(got["current_version"], 1, "tags are not part of the spec");
    assert_problem(
        &app.post(
            &format!("/v1/clusters/{id}/tags"),
            &t,
            json!({"tags": {"sluice:owner": "x"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    let many: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_problem(
        &app.post(
            &format!("/v1/clusters/{id}/tags"),
            &t,
            json!({"tags": many}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn sql_looking_input_is_stored_verbatim(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let nasty = "'; DROP TABLE clusters; -- \" \\ %_ $1 \u{0} ünï";
    let nasty = nasty.replace('\u{0}', "");
    let (s, created) = app
        .post(
            "/v1/clusters",
            &t,
            json!({"name": "safe", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1,
                   "tags": {"note": nasty}, "client_request_token": "x');DELETE/**/FROM/**/operations;--"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (_, got) = app
        .get(
            &format!(
                "/v1/clusters/{}",
                created["cluster"]["id"].as_str().unwrap()
            ),
            &t,
        )
        .await;
    assert_eq!(got["tags"]["note"], nasty.as_str());
    let (_, cfg) = app
        .post("/v1/configurations", &t, json!({"name": "cfg", "description": nasty, "server_properties": {"num.partitions": 3}}))
        .await;
    assert_eq!(cfg["description"], nasty.as_str());
    let (_, list) = app.get("/v1/clusters", &t).await;
    assert_eq!(list["clusters"].as_array().unwrap().len(), 1);
}

/// Kafka versions as people write them: short forms that name one release are stored canonical;
/// ambiguous ones are refused naming the candidates.
#[sqlx::test(migrations = "../../migrations")]
async fn kafka_versions_in_short_forms(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    let create = |name: &str, version: &str| json!({"name": name, "kafka_version": version, "broker_count": 1, "storage_gib": 1});
    let (s, created) = app.post("/v1/clusters", &t, create("short", "3.9")).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["cluster"]["spec"]["kafka_version"], "3.9.0");
    let (s, x) = app.post("/v1/clusters", &t, create("wild", "3.8.x")).await;
    assert_eq!(s, StatusCode::CREATED, "{x}");
    assert_eq!(x["cluster"]["spec"]["kafka_version"], "3.8.0");
    let p = assert_problem(
        &app.post("/v1/clusters", &t, create("vague", "3.x")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("ambiguous") && message.contains("3.6.0"),
        "{p}"
    );
    let p = assert_problem(
        &app.post("/v1/clusters", &t, create("old", "2.8")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4.0.0"),
        "{p}"
    );

    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    app.store
        .complete_operation(uuid(&created["operation"]["id"]))
        .await
        .unwrap();
    // The same version in another spelling is no change; `4` is the only 4.x.
    assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/version"),
            &t,
            json!({"current_version": 1, "kafka_version": "3.9.x"}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid-change",
    );
    let (s, up) = app
        .put(
            &format!("/v1/clusters/{id}/version"),
            &t,
            json!({"current_version": 1, "kafka_version": "4"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{up}");
    assert_eq!(up["cluster"]["spec"]["kafka_version"], "4.0.0");

    let (s, cfg) = app
        .post(
            "/v1/configurations",
            &t,
            json!({"name": "v", "kafka_versions": ["3.9", "4.x", "3.9.0"], "server_properties": {"num.partitions": 3}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cfg}");
    assert_eq!(cfg["kafka_versions"], json!(["3.9.0", "4.0.0"]));
}
