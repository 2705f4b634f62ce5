//! Bearer-token authentication and role checks.
//!
//! Tokens are JWTs verified with `jsonwebtoken`: HS256 with a shared secret for simple set-ups,
//! RS*/PS*/ES*/EdDSA with public keys from PEM files or a JWKS (file or URL) for production.
//! The key is chosen by the token's algorithm *family*, and only keys of that family are tried,
//! so an RS256 public key can never be used as an HMAC secret (algorithm confusion), and `none`
//! is not an algorithm `jsonwebtoken` knows, so such tokens fail to parse.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    decode, decode_header, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use sluice_model::{Role, TenantId};
use tokio::sync::{Mutex, RwLock};

use crate::error::ApiError;
use crate::AppState;

/// Where verification keys come from, and what every token must say of itself.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Shared secret for HS256/384/512 tokens (at least 32 bytes).
    pub hs_secret: Option<Vec<u8>>,
    /// PEM-encoded public keys (RSA, EC or Ed25519).
    pub public_key_pems: Vec<Vec<u8>>,
    /// A JWKS document's contents.
    pub jwks_json: Option<String>,
    /// A URL serving a JWKS, fetched on start and refreshed when a token names an unknown key.
    pub jwks_url: Option<String>,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, seconds.
    pub leeway_secs: u64,
}

/// Why the authentication configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("no verification key configured: give an HS secret, a public key or a JWKS")]
    NoKeys,
    #[error("the HS secret must be at least 32 bytes")]
    WeakSecret,
    #[error("public key {index} is not an RSA, EC or Ed25519 PEM key")]
    BadPem { index: usize },
    #[error("the JWKS is invalid: {0}")]
    BadJwks(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family(alg: Algorithm) -> Family {
    use Algorithm::*;
    match alg {
        HS256 | HS384 | HS512 => Family::Hmac,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
        ES256 | ES384 => Family::Ec,
        EdDSA => Family::Ed,
    }
}

struct Key {
    family: Family,
    kid: Option<String>,
    key: DecodingKey,
}

fn jwks_keys(json: &str) -> Result<Vec<Key>, AuthSetupError> {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    let set: JwkSet =
        serde_json::from_str(json).map_err(|e| AuthSetupError::BadJwks(e.to_string()))?;
    set.keys
        .iter()
        .map(|jwk| {
            let family = match &jwk.algorithm {
                P::RSA(_) => Family::Rsa,
                P::EllipticCurve(_) => Family::Ec,
                P::OctetKeyPair(_) => Family::Ed,
                // Symmetric keys in a published key set would be a shared secret in the open.
                P::OctetKey(_) => {
                    return Err(AuthSetupError::BadJwks(
                        "symmetric keys are not accepted".into(),
                    ))
                }
            };
            let key =
                DecodingKey::from_jwk(jwk).map_err(|e| AuthSetupError::BadJwks(e.to_string()))?;
            Ok(Key {
                family,
                kid: jwk.common.key_id.clone(),
                key,
            })
        })
        .collect()
}

/// The claims Sluice reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    pub iss: String,
    pub aud: String,
}

/// Verifies tokens. Cheap to share.
pub struct Authenticator {
    static_keys: Vec<Key>,
    jwks_url: Option<String>,
    remote: RwLock<Vec<Key>>,
    last_fetch: Mutex<Option<Instant>>,
    http: reqwest::Client,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.static_keys.len())
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// How long to wait between JWKS fetches, so unknown `kid`s cannot make us hammer the issuer.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Authenticator, AuthSetupError> {
        let mut keys = Vec::new();
        if let Some(secret) = &config.hs_secret {
            if secret.len() < 32 {
                return Err(AuthSetupError::WeakSecret);
            }
            keys.push(Key {
                family: Family::Hmac,
                kid: None,
                key: DecodingKey::from_secret(secret),
            });
        }
        for (index, pem) in config.public_key_pems.iter().enumerate() {
            let key = DecodingKey::from_rsa_pem(pem)
                .map(|k| (Family::Rsa, k))
                .or_else(|_| DecodingKey::from_ec_pem(pem).map(|k| (Family::Ec, k)))
                .or_else(|_| DecodingKey::from_ed_pem(pem).map(|k| (Family::Ed, k)))
                .map_err(|_| AuthSetupError::BadPem { index })?;
            keys.push(Key {
                family: key.0,
                kid: None,
                key: key.1,
            });
        }
        if let Some(json) = &config.jwks_json {
            keys.extend(jwks_keys(json)?);
        }
        if keys.is_empty() && config.jwks_url.is_none() {
            return Err(AuthSetupError::NoKeys);
        }
        Ok(Authenticator {
            static_keys: keys,
            jwks_url: config.jwks_url.clone(),
            remote: RwLock::new(Vec::new()),
            last_fetch: Mutex::new(None),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_secs,
        })
    }

    /// Fetches the JWKS from its URL unless that was done in the last [`JWKS_MIN_REFRESH`].
    pub async fn refresh_jwks(&self) {
        let Some(url) = &self.jwks_url else { return };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < JWKS_MIN_REFRESH) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = async {
            let text = self
                .http
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            Ok::<_, reqwest::Error>(text)
        }
        .await;
        match fetched
            .map_err(|e| e.to_string())
            .and_then(|t| jwks_keys(&t).map_err(|e| e.to_string()))
        {
            Ok(keys) => *self.remote.write().await = keys,
            Err(e) => tracing::warn!(%url, error = %e, "could not refresh the JWKS"),
        }
    }

    /// Verifies a token and returns who is calling.
    pub async fn verify(&self, token: &str) -> Result<Caller, String> {
        let header = decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let kid = header.kid.as_deref();
        let mut outcome = self
            .try_keys(token, family(header.alg), kid, &validation)
            .await;
        if outcome.is_none() && self.jwks_url.is_some() {
            self.refresh_jwks().await;
            outcome = self
                .try_keys(token, family(header.alg), kid, &validation)
                .await;
        }
        outcome.unwrap_or_else(|| {
            Err(format!(
                "no key accepts {:?} tokens{}",
                header.alg,
                kid.map(|k| format!(" with kid {k}")).unwrap_or_default()
            ))
        })
    }

    /// Tries every key of the family (and `kid`, when both name one), without copying keys on
    /// this per-request path; `None` when no key qualifies.
    async fn try_keys(
        &self,
        token: &str,
        fam: Family,
        kid: Option<&str>,
        validation: &Validation,
    ) -> Option<Result<Caller, String>> {
        let remote = self.remote.read().await;
        let mut last_err = None;
        let candidates = self
            .static_keys
            .iter()
            .chain(remote.iter())
            .filter(|k| k.family == fam)
            .filter(|k| match (kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            });
        for key in candidates {
            match decode::<Claims>(token, &key.key, validation) {
                Ok(data) => return Some(Caller::from_claims(data.claims)),
                Err(e) => last_err = Some(e.to_string()),
            }
        }
        last_err.map(|e| Err(format!("invalid token: {e}")))
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub tenant: TenantId,
    /// The most privileged role the token grants, if any.
    pub role: Option<Role>,
}

impl Caller {
    fn from_claims(c: Claims) -> Result<Caller, String> {
        let tenant = c.tenant.ok_or("the token has no tenant claim")?;
        let tenant = TenantId::parse(&tenant).map_err(|e| format!("bad tenant claim: {e}"))?;
        Ok(Caller {
            subject: c.sub,
            tenant,
            role: c.roles.iter().filter_map(|r| Role::parse(r)).max(),
        })
    }

    /// Succeeds when the caller holds `role` or a more privileged one.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role.is_some_and(|r| r >= role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(role.as_str()))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
            })?;
        let caller = state
            .auth
            .verify(token)
            .await
            .map_err(ApiError::Unauthorized)?;
        tracing::Span::current().record("tenant", caller.tenant.as_str());
        Ok(caller)
    }
}

/// What a minted token should say.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub subject: &'a str,
    pub tenant: &'a str,
    pub roles: &'a [Role],
    pub ttl: Duration,
    pub issuer: &'a str,
    pub audience: &'a str,
}

/// Mints an HS256 token with the shared secret, for bootstrap and development.
pub fn mint_hs256(
    secret: &[u8],
    req: &TokenRequest<'_>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let claims = Claims {
        sub: req.subject.to_owned(),
        tenant: Some(req.tenant.to_owned()),
        roles: req.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        exp: now + req.ttl.as_secs(),
        nbf: Some(now),
        iat: Some(now),
        iss: req.issuer.to_owned(),
        aud: req.audience.to_owned(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}
