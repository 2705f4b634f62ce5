use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{assert_problem, TestApp};

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(app.admin())
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json", "{path}");
    (status, resp.json().await.unwrap())
}

#[sqlx::test(migrations = "../../migrations")]
async fn client_mistakes_are_4xx_problems(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let json_ct = Some("application/json");
    let p = "/v1/clusters";
    assert_problem(
        &raw(&app, Method::POST, p, json_ct, b"{\"name\": ".to_vec()).await,
        StatusCode::BAD_REQUEST,
        "malformed-json",
    );
    assert_problem(
        &raw(&app, Method::POST, p, json_ct, b"".to_vec()).await,
        StatusCode::BAD_REQUEST,
        "malformed-json",
    );
    assert_problem(
        &raw(&app, Method::POST, p, json_ct, vec![0xff, 0xfe]).await,
        StatusCode::BAD_REQUEST,
        "malformed-json",
    );
    assert_problem(
        &raw(&app, Method::POST, p, Some("text/plain"), b"{}".to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    assert_problem(
        &raw(&app, Method::POST, p, None, b"{}".to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    assert_problem(
        &raw(&app, Method::POST, p, json_ct, big.into_bytes()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    // Shape errors name the field.
    let unknown = json!({"name": "c", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1, "brokers": 9});
    let got = assert_problem(
        &raw(
            &app,
            Method::POST,
            p,
            json_ct,
            unknown.to_string().into_bytes(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert!(got["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("brokers"));
    let wrong_type =
        json!({"name": "c", "kafka_version": "3.7.0", "broker_count": "three", "storage_gib": 1});
    let got = assert_problem(
        &raw(
            &app,
            Method::POST,
            p,
            json_ct,
            wrong_type.to_string().into_bytes(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert_eq!(got["errors"][0]["field"], "broker_count");
    let negative =
        json!({"name": "c", "kafka_version": "3.7.0", "broker_count": -1, "storage_gib": 1});
    assert_problem(
        &raw(
            &app,
            Method::POST,
            p,
            json_ct,
            negative.to_string().into_bytes(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    // Every invalid field at once.
    let got = assert_problem(
        &app.post(
            p,
            &app.admin(),
            json!({"name": "-", "kafka_version": "0.8", "broker_count": 100, "storage_gib": 0}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    );
    assert_eq!(got["errors"].as_array().unwrap().len(), 4);
    // The problem JSON media type suffix is accepted as JSON.
    let ok = json!({"name": "c", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1});
    let resp = app
        .http
        .post(format!("{}{p}", app.base))
        .bearer_auth(app.admin())
        .header(
            "content-type",
            "application/merge-patch+json; charset=utf-8",
        )
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Paths and methods.
    let t = app.admin();
    assert_problem(
        &app.get("/v1/clusters/not-a-uuid", &t).await,
        StatusCode::NOT_FOUND,
        "cluster-not-found",
    );
    assert_problem(
        &app.get("/v1/clusters/00000000-0000-0000-0000-000000000000", &t)
            .await,
        StatusCode::NOT_FOUND,
        "cluster-not-found",
    );
    assert_problem(
        &app.get("/v1/operations/1%27%20OR%201=1", &t).await,
        StatusCode::NOT_FOUND,
        "operation-not-found",
    );
    // A path parameter that does not decode (not UTF-8 once percent-decoded).
    assert_problem(
        &app.get("/v1/clusters/%FF%FE/tags", &t).await,
        StatusCode::BAD_REQUEST,
        "invalid-path",
    );
    // Integers written with a zero fraction are integers, as JSON Schema says.
    let (s, created) = app
        .post(
            "/v1/clusters",
            &t,
            json!({"name": "floaty", "kafka_version": "3.9", "broker_count": 3.0, "storage_gib": 1e1}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["cluster"]["spec"]["storage_gib"], 10);
    assert_problem(
        &app.get("/v1/nothing-here", &t).await,
        StatusCode::NOT_FOUND,
        "route-not-found",
    );
    let (s, _, v) = app
        .call(Method::PATCH, "/v1/clusters", Some(&t), None)
        .await;
    assert_problem(
        &(s, v),
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    );
    // Every error carries a request id, which is also a header.
    let (_, h, v) = app
        .call(Method::GET, "/v1/nothing-here", Some(&t), None)
        .await;
    assert_eq!(
        h["x-request-id"].to_str().unwrap(),
        v["request_id"].as_str().unwrap()
    );
    // A caller's request id is kept.
    let resp = app
        .http
        .get(format!("{}/v1/nothing", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_lost_database_is_503_without_internals(pool: PgPool) {
    let app = TestApp::start(pool.clone()).await;
    let t = app.admin();
    let (s, _) = app.get("/readyz", &t).await;
    assert_eq!(s, StatusCode::OK);
    pool.close().await;
    let got = assert_problem(
        &app.get("/readyz", &t).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service-unavailable",
    );
    assert!(!got.to_string().contains("pool"), "{got}");
    let got = assert_problem(
        &app.get("/v1/clusters", &t).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service-unavailable",
    );
    assert!(got["request_id"].is_string());
    let (s, _) = app.get("/healthz", &t).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}
