//! Signatures, the clock window, secret files and the middleware.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use tower::ServiceExt as _;

use super::*;

fn secret(byte: u8) -> AdminSecret {
    AdminSecret::from_bytes(&[byte; 32]).expect("secret")
}

const PATH: &str = "/meta/propose";
const BODY: &[u8] = br#"{"x":1}"#;

#[test]
fn a_signed_request_verifies_and_names_its_node() {
    let signer = Signer::new(secret(1), 3);
    let now = 1_700_000_000_000;
    let header = signer.authorization_at("POST", PATH, BODY, now);
    assert!(header
        .to_str()
        .unwrap()
        .starts_with("Sluice-HMAC node=3,ts=1700000000000,sig="));
    assert_eq!(
        verify(&secret(1), Some(&header), "POST", PATH, BODY, now),
        Ok(3)
    );
    // Within the window on either side.
    assert_eq!(
        verify(&secret(1), Some(&header), "POST", PATH, BODY, now + 59_000),
        Ok(3)
    );
    assert_eq!(
        verify(&secret(1), Some(&header), "POST", PATH, BODY, now - 59_000),
        Ok(3)
    );
}

#[test]
fn forgeries_are_refused() {
    let now = 1_700_000_000_000;
    let good = Signer::new(secret(1), 3).authorization_at("POST", PATH, BODY, now);
    let check = |h: Option<&HeaderValue>, method: &str, path: &str, body: &[u8], at: i64| {
        verify(&secret(1), h, method, path, body, at)
    };
    assert_eq!(check(None, "POST", PATH, BODY, now), Err(Refusal::Missing));
    let basic = HeaderValue::from_static("Basic YWRtaW46YWRtaW4=");
    assert_eq!(
        check(Some(&basic), "POST", PATH, BODY, now),
        Err(Refusal::Missing)
    );
    let garbage = HeaderValue::from_static("Sluice-HMAC node=x,ts=1,sig=!!");
    assert_eq!(
        check(Some(&garbage), "POST", PATH, BODY, now),
        Err(Refusal::Malformed)
    );
    // Another cluster's secret.
    let other = Signer::new(secret(2), 3).authorization_at("POST", PATH, BODY, now);
    assert_eq!(
        check(Some(&other), "POST", PATH, BODY, now),
        Err(Refusal::BadSignature)
    );
    // Stale and future timestamps.
    assert_eq!(
        check(Some(&good), "POST", PATH, BODY, now + 61_000),
        Err(Refusal::Stale)
    );
    assert_eq!(
        check(Some(&good), "POST", PATH, BODY, now - 61_000),
        Err(Refusal::Stale)
    );
    // Tampered body, path, method.
    assert_eq!(
        check(Some(&good), "POST", PATH, br#"{"x":2}"#, now),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(Some(&good), "POST", "/meta/register", BODY, now),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(Some(&good), "PUT", PATH, BODY, now),
        Err(Refusal::BadSignature)
    );
    // Another node id with the same signature.
    let renamed = good.to_str().unwrap().replace("node=3", "node=4");
    let renamed = HeaderValue::from_str(&renamed).unwrap();
    assert_eq!(
        check(Some(&renamed), "POST", PATH, BODY, now),
        Err(Refusal::BadSignature)
    );
}

#[test]
fn secret_files_must_be_private_and_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.secret");
    std::fs::write(&path, [9u8; 32]).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = AdminSecret::load(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("mode {mode:o}")) && err.contains("chmod 600"),
            "{err}"
        );
    }
    for mode in [0o600, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        assert!(AdminSecret::load(&path).is_ok());
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&path, [9u8; 31]).unwrap();
    let err = AdminSecret::load(&path).unwrap_err().to_string();
    assert!(err.contains("31 bytes"), "{err}");
    let err = AdminSecret::load(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing"), "{err}");
    assert_eq!(format!("{:?}", secret(5)), "AdminSecret(32 bytes)");
}

/// A JSON route behind the middleware, counting handler runs and refusals.
fn app() -> (Router, Arc<AtomicU64>, Arc<AtomicU64>) {
    let (ran, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let ran2 = ran.clone();
    let routes = Router::new().route(
        PATH,
        post(move |Json(v): Json<serde_json::Value>| {
            ran2.fetch_add(1, Ordering::SeqCst);
            async move { Json(v) }
        }),
    );
    let refused2 = refused.clone();
    let auth = AdminAuth::new(secret(1)).on_refused(move || {
        refused2.fetch_add(1, Ordering::SeqCst);
    });
    (auth.protect(routes), ran, refused)
}

fn request(auth: Option<HeaderValue>, body: &'static [u8]) -> Request<Body> {
    let mut r = Request::post(PATH).header("content-type", "application/json");
    if let Some(a) = auth {
        r = r.header(AUTHORIZATION, a);
    }
    r.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn the_middleware_refuses_before_the_handler_and_counts() {
    let (app, ran, refused) = app();
    let signer = Signer::new(secret(1), 1);
    // Valid.
    let ok = app.clone().oneshot(request(
        Some(signer.authorization("POST", PATH, BODY)),
        BODY,
    ));
    assert_eq!(ok.await.unwrap().status(), StatusCode::OK);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // Not JSON at all, unsigned: 401, not a deserialisation error.
    let unsigned = app.clone().oneshot(request(None, b"not json"));
    assert_eq!(unsigned.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Wrong secret, stale, tampered.
    let wrong = Signer::new(secret(2), 1).authorization("POST", PATH, BODY);
    let stale = signer.authorization_at("POST", PATH, BODY, now_ms() - 120_000);
    let tampered = signer.authorization("POST", PATH, b"{}");
    for header in [wrong, stale, tampered] {
        let r = app.clone().oneshot(request(Some(header), BODY));
        assert_eq!(r.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "no refused request reached the handler"
    );
    assert_eq!(refused.load(Ordering::SeqCst), 4);
}
