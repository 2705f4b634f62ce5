use reqwest::StatusCode;
use sqlx::PgPool;

use crate::TestApp;

#[sqlx::test(migrations = "../../migrations")]
async fn health_metrics_and_docs(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let t = app.admin();
    app.create_cluster(&t, "c").await;
    let _ = app
        .get("/v1/clusters/00000000-0000-0000-0000-000000000000", &t)
        .await;
    let (s, v) = app.get("/healthz", "").await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"sluice_api_http_requests_total{method="POST",route="/v1/clusters",status="201"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="/v1/clusters/{id}",status="404""#),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_api_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_api_db_pool_max_connections"),
        "{metrics}"
    );
    let docs = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(html.contains("/openapi.json"));
    assert!(
        !html.contains("https://"),
        "the docs page must load nothing from elsewhere"
    );
    let served: serde_json::Value = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: serde_json::Value = serde_json::from_str(&sluice_api::openapi_json()).unwrap();
    assert_eq!(served, generated);
}

/// The committed spec is the contract: regenerate it with
/// `cargo run -p sluice-control -- openapi > openapi/sluice.json` after changing the API.
#[test]
fn committed_openapi_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/sluice.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = sluice_api::openapi_json();
    assert!(
        committed == generated,
        "openapi/sluice.json is stale: run `cargo run -p sluice-control -- openapi > openapi/sluice.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/clusters",
        "/v1/clusters/{id}/broker-count",
        "/v1/operations/{id}",
        "/v1/configurations/{id}/revisions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} undocumented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}
