use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sluice_model::Role;
use sqlx::PgPool;

use crate::{assert_problem, default_auth, fixture, TestApp, AUDIENCE, ISSUER, SECRET};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({"sub": "u1", "tenant": "acme", "roles": ["admin"], "exp": now() + 600, "iss": ISSUER, "aud": AUDIENCE})
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET),
        claims,
        None,
    )
}

async fn status_with(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.get("/v1/clusters", token).await
}

#[sqlx::test(migrations = "../../migrations")]
async fn valid_tokens_of_every_kind_are_accepted(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let rsa = EncodingKey::from_rsa_pem(&fixture("rsa-private.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&fixture("ec-private.pem")).unwrap();
    for token in [
        hs(&claims()),
        sign(Algorithm::RS256, &rsa, &claims(), None),
        sign(Algorithm::RS256, &rsa, &claims(), Some("rsa-1")),
        sign(Algorithm::ES256, &ec, &claims(), Some("ec-1")),
        sign(Algorithm::ES256, &ec, &claims(), None),
    ] {
        let (s, v) = status_with(&app, &token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_tokens_get_401(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let rsa_other = EncodingKey::from_rsa_pem(&fixture("rsa-other-private.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&fixture("ec-private.pem")).unwrap();
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    let cases: Vec<(&str, String)> = vec![
        ("expired", hs(&with("exp", json!(now() - 3600)))),
        ("not yet valid", hs(&with("nbf", json!(now() + 3600)))),
        ("wrong issuer", hs(&with("iss", json!("someone-else")))),
        ("wrong audience", hs(&with("aud", json!("other-api")))),
        ("no tenant", hs(&without("tenant"))),
        ("bad tenant", hs(&with("tenant", json!("a b")))),
        ("no exp", hs(&without("exp"))),
        (
            "wrong HS secret",
            sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(b"another-secret-another-secret-!!"),
                &claims(),
                None,
            ),
        ),
        (
            "untrusted RSA key",
            sign(Algorithm::RS256, &rsa_other, &claims(), None),
        ),
        (
            "EC key under an unknown kid",
            sign(Algorithm::ES256, &ec, &claims(), Some("nope")),
        ),
        ("alg none", unsigned),
        ("garbage", "not.a.token".into()),
        ("tampered", {
            let t = hs(&claims());
            let parts: Vec<&str> = t.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                b64(&with("tenant", json!("victim"))),
                parts[2]
            )
        }),
    ];
    for (what, token) in cases {
        let got = status_with(&app, &token).await;
        assert_problem(&got, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(!got.1["detail"].as_str().unwrap().is_empty(), "{what}");
    }
    // No header, or not a bearer one.
    let (s, h, _) = app.call(Method::GET, "/v1/clusters", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(h["www-authenticate"], "Bearer");
    let resp = app
        .http
        .get(format!("{}/v1/clusters", app.base))
        .header("authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../../migrations")]
async fn hs_rs_confusion_is_rejected(pool: PgPool) {
    // A server that trusts only an RSA public key: an attacker signs HS256 with that public key's
    // bytes as the secret, hoping the server verifies HMAC with the same key material.
    let mut auth = default_auth();
    auth.hs_secret = None;
    auth.jwks_json = None;
    let app = TestApp::start_with(pool, auth).await;
    let public = fixture("rsa-public.pem");
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public),
        &claims(),
        None,
    );
    assert_problem(
        &status_with(&app, &forged).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let rsa = EncodingKey::from_rsa_pem(&fixture("rsa-private.pem")).unwrap();
    let (s, _) = status_with(&app, &sign(Algorithm::RS256, &rsa, &claims(), None)).await;
    assert_eq!(s, StatusCode::OK);
}

#[sqlx::test(migrations = "../../migrations")]
async fn roles_gate_writes(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let viewer = app.token("acme", Role::Viewer);
    let operator = app.token("acme", Role::Operator);
    let body = json!({"name": "c", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1});
    assert_problem(
        &app.post("/v1/clusters", &viewer, body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let c = app.create_cluster(&operator, "c").await;
    let id = c["id"].as_str().unwrap();
    let (s, _) = app.get(&format!("/v1/clusters/{id}"), &viewer).await;
    assert_eq!(s, StatusCode::OK);
    assert_problem(
        &app.delete(&format!("/v1/clusters/{id}"), &viewer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &app.post(
            &format!("/v1/clusters/{id}/tags"),
            &viewer,
            json!({"tags": {"a": "b"}}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // Configurations are shared by a tenant's clusters: only admins change them.
    let cfg = json!({"name": "base", "server_properties": {"num.partitions": 3}});
    assert_problem(
        &app.post("/v1/configurations", &operator, cfg.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (s, _) = app.post("/v1/configurations", &app.admin(), cfg).await;
    assert_eq!(s, StatusCode::CREATED);
    // A token with no known role reads nothing.
    let nobody = hs(&{
        let mut c = claims();
        c["roles"] = json!(["superuser"]);
        c
    });
    assert_problem(
        &app.get("/v1/clusters", &nobody).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn tenants_cannot_see_each_other(pool: PgPool) {
    let app = TestApp::start(pool).await;
    let acme = app.token("acme", Role::Admin);
    let evil = app.token("evil", Role::Admin);
    let c = app.create_cluster(&acme, "private").await;
    let id = c["id"].as_str().unwrap();
    let op = c["active_operation_id"].as_str().unwrap();
    for path in [
        format!("/v1/clusters/{id}"),
        format!("/v1/clusters/{id}/nodes"),
        format!("/v1/clusters/{id}/operations"),
        format!("/v1/clusters/{id}/tags"),
        format!("/v1/clusters/{id}/bootstrap-brokers"),
    ] {
        assert_problem(
            &app.get(&path, &evil).await,
            StatusCode::NOT_FOUND,
            "cluster-not-found",
        );
    }
    assert_problem(
        &app.get(&format!("/v1/operations/{op}"), &evil).await,
        StatusCode::NOT_FOUND,
        "operation-not-found",
    );
    assert_problem(
        &app.delete(&format!("/v1/clusters/{id}"), &evil).await,
        StatusCode::NOT_FOUND,
        "cluster-not-found",
    );
    assert_problem(
        &app.put(
            &format!("/v1/clusters/{id}/storage"),
            &evil,
            json!({"current_version": 1, "storage_gib": 200}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "cluster-not-found",
    );
    let (_, list) = app.get("/v1/clusters", &evil).await;
    assert_eq!(list["clusters"], json!([]));
    // Names are per tenant.
    app.create_cluster(&evil, "private").await;
}
