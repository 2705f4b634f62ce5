//! The API over real HTTP on port 0 against a real Postgres (one database per test, from
//! `#[sqlx::test]`, which reads `DATABASE_URL`).

mod auth;
mod clusters;
mod configurations;
mod errors;
mod system;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sluice_api::{AppState, AuthConfig, Authenticator, TokenRequest};
use sluice_model::Role;
use sluice_store::Store;
use sqlx::PgPool;
use tokio::sync::oneshot;

pub const SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";
pub const ISSUER: &str = "sluice-test";
pub const AUDIENCE: &str = "sluice-api";

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// The authentication every test server uses unless it says otherwise: an HS secret, the test
/// RSA key as a PEM, and the JWKS with the EC key.
pub fn default_auth() -> AuthConfig {
    AuthConfig {
        hs_secret: Some(SECRET.to_vec()),
        public_key_pems: vec![fixture("rsa-public.pem")],
        jwks_json: Some(String::from_utf8(fixture("jwks.json")).unwrap()),
        jwks_url: None,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        leeway_secs: 5,
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn start(pool: PgPool) -> TestApp {
        TestApp::start_with(pool, default_auth()).await
    }

    pub async fn start_with(pool: PgPool, auth: AuthConfig) -> TestApp {
        let store = Store::from_pool(pool);
        let state = AppState::new(
            store.clone(),
            Authenticator::new(&auth).expect("auth config"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(sluice_api::run(
            listener,
            sluice_api::router(state),
            async {
                let _ = stopped.await;
            },
        ));
        TestApp {
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            store,
            _stop: stop,
        }
    }

    /// A token for `tenant` with one role, signed with the HS secret.
    pub fn token(&self, tenant: &str, role: Role) -> String {
        sluice_api::mint_hs256(
            SECRET,
            &TokenRequest {
                subject: "tester",
                tenant,
                roles: &[role],
                ttl: Duration::from_secs(600),
                issuer: ISSUER,
                audience: AUDIENCE,
            },
        )
        .unwrap()
    }

    pub fn admin(&self) -> String {
        self.token("acme", Role::Admin)
    }

    /// Sends a request and returns the status, the headers and the body as JSON (Null if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::GET, path, Some(token), None).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self
            .call(Method::POST, path, Some(token), Some(&body))
            .await;
        (s, v)
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::PUT, path, Some(token), Some(&body)).await;
        (s, v)
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::DELETE, path, Some(token), None).await;
        (s, v)
    }

    /// Creates a cluster and returns its JSON.
    pub async fn create_cluster(&self, token: &str, name: &str) -> Value {
        let (s, v) = self
            .post(
                "/v1/clusters",
                token,
                serde_json::json!({"name": name, "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 100}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["cluster"].clone()
    }

    /// Creates a cluster and completes its create operation, as the reconciler will: ACTIVE.
    pub async fn active_cluster(&self, token: &str, name: &str) -> Value {
        let c = self.create_cluster(token, name).await;
        let op = uuid(&c["active_operation_id"]);
        self.store.complete_operation(op).await.unwrap();
        let (s, c) = self
            .get(
                &format!("/v1/clusters/{}", c["id"].as_str().unwrap()),
                token,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(c["state"], "ACTIVE");
        c
    }
}

pub fn uuid(v: &Value) -> uuid::Uuid {
    uuid::Uuid::parse_str(v.as_str().expect("uuid string")).expect("uuid")
}

/// Asserts a problem document with this status and code, and returns it.
#[track_caller]
pub fn assert_problem(got: &(StatusCode, Value), status: StatusCode, code: &str) -> Value {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert_eq!(got.1["status"], status.as_u16());
    assert_eq!(got.1["type"], format!("urn:sluice:problem:{code}"));
    got.1.clone()
}
