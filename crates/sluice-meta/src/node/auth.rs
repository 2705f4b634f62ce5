//! Authentication of the admin port: a per-cluster shared secret, and every request to a
//! state-changing endpoint signed with it.
//!
//! `Authorization: Sluice-HMAC node=<id>,ts=<unix ms>,sig=<base64 HMAC-SHA256(secret,
//! method \n path \n ts \n node \n hex(sha256(body)))>`. [`AdminAuth::protect`] is the server
//! side (an axum middleware that checks the header, a ±60 s clock window and the signature in
//! constant time before the handler, and so before any body is deserialised, runs); [`Signer`]
//! is the client side. Self-contained (hmac, sha2, base64) so it can move to a shared crate.
//!
//! A signed request can be replayed within the window by someone who saw it; the admin port is
//! a cluster-internal network, and the point is that nobody without the secret can forge one.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header::AUTHORIZATION, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::MetaError;
use crate::image::BrokerId;

/// The scheme of the `Authorization` header.
pub const SCHEME: &str = "Sluice-HMAC";
/// Shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 32;
/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(60);
/// Largest body a protected route reads (the metadata RPCs' limit).
pub(crate) const BODY_LIMIT: usize = 32 << 20;

type HmacSha256 = Hmac<Sha256>;

/// The cluster's admin secret. `Debug` never shows it.
#[derive(Clone)]
pub struct AdminSecret(Arc<[u8]>);

impl fmt::Debug for AdminSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdminSecret({} bytes)", self.0.len())
    }
}

impl AdminSecret {
    /// A secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<AdminSecret, MetaError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(MetaError::Config(format!(
                "the admin secret has {} bytes; at least {MIN_SECRET_BYTES} random bytes are needed",
                bytes.len()
            )));
        }
        Ok(AdminSecret(bytes.into()))
    }

    /// Reads a secret file: refused if group or world may read or write it (mode & 0o077) or
    /// if it holds fewer than [`MIN_SECRET_BYTES`] bytes. The file's bytes are the secret, as
    /// they are (a trailing newline is part of it on every broker alike).
    pub fn load(path: &Path) -> Result<AdminSecret, MetaError> {
        use std::os::unix::fs::PermissionsExt as _;
        let bad =
            |why: String| MetaError::Config(format!("admin secret file {}: {why}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "mode {mode:o} lets other users read it; make it 0600 or 0400 (chmod 600)"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        Self::from_bytes(&bytes).map_err(|e| bad(e.to_string()))
    }

    fn mac(&self, method: &str, path: &str, ts: i64, node: BrokerId, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        let digest = hex::encode(Sha256::digest(body));
        mac.update(format!("{method}\n{path}\n{ts}\n{node}\n{digest}").as_bytes());
        mac
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Signs requests as one node.
#[derive(Clone, Debug)]
pub struct Signer {
    secret: AdminSecret,
    node: BrokerId,
}

impl Signer {
    /// Signs as `node`.
    pub fn new(secret: AdminSecret, node: BrokerId) -> Signer {
        Signer { secret, node }
    }

    /// The `Authorization` value for a request now.
    pub fn authorization(&self, method: &str, path: &str, body: &[u8]) -> HeaderValue {
        self.authorization_at(method, path, body, now_ms())
    }

    /// The `Authorization` value for a request at `ts` (unix ms).
    pub fn authorization_at(&self, method: &str, path: &str, body: &[u8], ts: i64) -> HeaderValue {
        let sig = self
            .secret
            .mac(method, path, ts, self.node, body)
            .finalize()
            .into_bytes();
        let value = format!(
            "{SCHEME} node={},ts={ts},sig={}",
            self.node,
            STANDARD.encode(sig)
        );
        HeaderValue::from_str(&value).expect("ASCII header value")
    }
}

/// Why a request was refused (logged, never sent back in detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header, or not ours.
    Missing,
    /// The header does not parse.
    Malformed,
    /// The timestamp is outside the window.
    Stale,
    /// The signature does not match (wrong secret, tampered request).
    BadSignature,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Missing => "no Sluice-HMAC authorization",
            Refusal::Malformed => "malformed authorization",
            Refusal::Stale => "timestamp outside the allowed clock skew",
            Refusal::BadSignature => "bad signature",
        })
    }
}

/// The parsed header: node, timestamp, signature.
fn parse(header: Option<&HeaderValue>) -> Result<(BrokerId, i64, Vec<u8>), Refusal> {
    let value = header.ok_or(Refusal::Missing)?;
    let value = value.to_str().map_err(|_| Refusal::Malformed)?;
    let params = value
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(Refusal::Missing)?;
    let (mut node, mut ts, mut sig) = (None, None, None);
    for part in params.split(',') {
        match part.trim().split_once('=') {
            Some(("node", v)) => node = v.parse::<BrokerId>().ok(),
            Some(("ts", v)) => ts = v.parse::<i64>().ok(),
            // base64 padding contains '=': split_once keeps it in the value.
            Some(("sig", v)) => sig = STANDARD.decode(v).ok(),
            _ => return Err(Refusal::Malformed),
        }
    }
    match (node, ts, sig) {
        (Some(n), Some(t), Some(s)) => Ok((n, t, s)),
        _ => Err(Refusal::Malformed),
    }
}

/// Checks a request's authorization at `now` (unix ms); the signing node on success.
pub fn verify(
    secret: &AdminSecret,
    header: Option<&HeaderValue>,
    method: &str,
    path: &str,
    body: &[u8],
    now: i64,
) -> Result<BrokerId, Refusal> {
    let (node, ts, sig) = parse(header)?;
    if now.abs_diff(ts) > MAX_SKEW.as_millis() as u64 {
        return Err(Refusal::Stale);
    }
    secret
        .mac(method, path, ts, node, body)
        .verify_slice(&sig)
        .map_err(|_| Refusal::BadSignature)?;
    Ok(node)
}

/// The server side: the secret and what to do about a refusal (count it).
#[derive(Clone)]
pub struct AdminAuth {
    secret: AdminSecret,
    on_refused: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuth")
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl AdminAuth {
    /// Verifies with `secret`; refusals are only logged.
    pub fn new(secret: AdminSecret) -> AdminAuth {
        AdminAuth {
            secret,
            on_refused: Arc::new(|| {}),
        }
    }

    /// Also calls `hook` on every refusal (a metric).
    pub fn on_refused(mut self, hook: impl Fn() + Send + Sync + 'static) -> AdminAuth {
        self.on_refused = Arc::new(hook);
        self
    }

    /// The secret (to sign with).
    pub fn secret(&self) -> &AdminSecret {
        &self.secret
    }

    /// Requires a valid signature on every route of `router` (routes merged in later are not
    /// covered): 401 otherwise, before the handler runs.
    pub fn protect<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            check_signature,
        ))
    }
}

async fn check_signature(State(auth): State<AdminAuth>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let peer = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let header = parts.headers.get(AUTHORIZATION);
    // Cheap checks first, so an unsigned request costs no body read.
    let early = parse(header).and_then(|(_, ts, _)| {
        if now_ms().abs_diff(ts) > MAX_SKEW.as_millis() as u64 {
            Err(Refusal::Stale)
        } else {
            Ok(())
        }
    });
    let result = match early {
        Err(r) => Err(r),
        Ok(()) => match axum::body::to_bytes(body, BODY_LIMIT).await {
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
            Ok(bytes) => verify(
                &auth.secret,
                header,
                parts.method.as_str(),
                &path,
                &bytes,
                now_ms(),
            )
            .map(|node| (node, bytes)),
        },
    };
    match result {
        Ok((node, bytes)) => {
            tracing::trace!(node, %path, "signed admin request");
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(reason) => {
            (auth.on_refused)();
            tracing::warn!(%path, method = %parts.method, ?peer, %reason,
                "refused an unauthenticated admin request");
            (StatusCode::UNAUTHORIZED, "unauthorized").into_response()
        }
    }
}

#[cfg(test)]
mod tests;
