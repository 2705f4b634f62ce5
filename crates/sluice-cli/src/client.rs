//! The HTTP client: one method per verb, each answering both the API's JSON as received (for
//! `-o json`/`-o yaml`, so nothing the server sent is lost) and the typed value from
//! `sluice-model` (for tables and for logic).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_model::Problem;

use crate::error::CliError;

/// An answer: the body as received (printed by `-o json|yaml`, keys in the server's order), the
/// same as a JSON value, and parsed into the shared model type.
#[derive(Debug, Clone)]
pub struct Resp<T> {
    pub body: Vec<u8>,
    pub raw: serde_json::Value,
    pub typed: T,
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Per-request limit: every endpoint answers from one database round trip, so a minute is
/// generous; a hung proxy should not hang a script forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(endpoint: &str, token: Option<&str>) -> Result<Client, CliError> {
        let base = endpoint.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| CliError::Usage(format!("invalid endpoint {endpoint:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::Usage(format!(
                "invalid endpoint {endpoint:?}: use an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| CliError::Other(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            base,
            token: token.map(str::to_owned),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.base
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Resp<T>, CliError> {
        self.send(Method::GET, path, None::<&()>).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Resp<T>, CliError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Resp<T>, CliError> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<Resp<T>, CliError> {
        self.send(Method::DELETE, path, None::<&()>).await
    }

    /// A DELETE answered with 204 and no body.
    pub async fn delete_empty(&self, path: &str) -> Result<(), CliError> {
        let (status, bytes) = self.exchange(Method::DELETE, path, None::<&()>).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(error_from(status, &bytes))
        }
    }

    async fn send<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Resp<T>, CliError> {
        let (status, bytes) = self.exchange(method, path, body).await?;
        if !status.is_success() {
            return Err(error_from(status, &bytes));
        }
        let raw: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| CliError::Unexpected {
                status: status.as_u16(),
                body: snippet(&bytes),
            })?;
        let mut resp = parse(raw)?;
        resp.body = bytes;
        Ok(resp)
    }

    async fn exchange<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(StatusCode, Vec<u8>), CliError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .http
            .request(method, &url)
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| self.connection_error(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.connection_error(e))?;
        Ok((status, bytes.to_vec()))
    }

    fn connection_error(&self, e: reqwest::Error) -> CliError {
        let reason = if e.is_timeout() {
            "the request timed out".to_owned()
        } else if e.is_connect() {
            // reqwest's top-level message is generic; the cause says refused, DNS or TLS.
            let mut cause = String::from("connection failed");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                cause = s.to_string();
                src = s.source();
            }
            cause
        } else {
            e.to_string()
        };
        CliError::Connection {
            endpoint: self.base.clone(),
            reason,
        }
    }
}

/// Types a JSON document, for answers the CLI assembled itself (such as `--all` pages).
pub(crate) fn parse<T: DeserializeOwned>(raw: serde_json::Value) -> Result<Resp<T>, CliError> {
    let typed = T::deserialize(&raw).map_err(|e| {
        CliError::Other(format!(
            "the API's answer does not match this CLI's version of the model: {e}"
        ))
    })?;
    let body = serde_json::to_vec(&raw).map_err(|e| CliError::Other(e.to_string()))?;
    Ok(Resp { body, raw, typed })
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    text.chars().take(200).collect()
}

fn error_from(status: StatusCode, bytes: &[u8]) -> CliError {
    match serde_json::from_slice::<Problem>(bytes) {
        Ok(problem) => CliError::Api {
            status: status.as_u16(),
            problem: Box::new(problem),
        },
        Err(_) => CliError::Unexpected {
            status: status.as_u16(),
            body: snippet(bytes),
        },
    }
}

/// Percent-encodes one query or path component.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds `?a=b&c=d` from the pairs whose value is present.
pub(crate) fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_queries() {
        assert_eq!(query(&[("a", None)]), "");
        assert_eq!(
            query(&[
                ("keys", Some("a b,c".into())),
                ("x", None),
                ("n", Some("1".into()))
            ]),
            "?keys=a%20b%2Cc&n=1"
        );
    }
}
