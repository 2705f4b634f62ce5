//! Extractors that turn every client mistake into a problem document rather than axum's plain text.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use sluice_model::FieldError;
use sluice_store::Resource;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body: `application/json` (or `+json`) required, size bounded by the router's body
/// limit, unknown fields rejected by the target type. Type errors name the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(ref inner)
                if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge(crate::MAX_BODY_BYTES)
            }
            other => ApiError::MalformedJson(other.body_text()),
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document, telling syntax errors (400) from shape errors (422, with the field).
/// Numbers are taken by value, as JSON Schema takes them: `24.0` is the integer 24.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    integral_numbers(&mut json);
    let value = serde_path_to_error::deserialize::<_, T>(json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::Validation(vec![FieldError {
                field,
                message: inner.to_string(),
            }])
        } else {
            ApiError::MalformedJson(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    Ok(value)
}

/// Turns every number written with a zero fraction (`24.0`, `1e3`) into the integer it is.
fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            const TWO_63: f64 = 9_223_372_036_854_775_808.0;
            if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
                *v = Value::from(f as i64);
            } else if f.fract() == 0.0 && (0.0..2.0 * TWO_63).contains(&f) {
                *v = Value::from(f as u64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// A query string, rejected as `invalid-query` when it does not parse.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::InvalidQuery(e.body_text()))
    }
}

/// Path parameters, rejected as `invalid-path` when they do not decode.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::InvalidPath(e.body_text()))
    }
}

/// Parses a resource id from the path. Anything that is not a UUID cannot name a resource, so it
/// answers as not found.
pub(crate) fn parse_id(raw: &str, resource: Resource) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(
        dead_code,
        reason = "the fields are only deserialised, to test the errors"
    )]
    struct Body {
        n: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(
        dead_code,
        reason = "the fields are only deserialised, to test the errors"
    )]
    struct Inner {
        m: u32,
    }

    #[test]
    fn json_errors_are_classified() {
        assert!(parse_json::<Body>(br#"{"n": 1}"#).is_ok());
        assert!(matches!(
            parse_json::<Body>(b"{\"n\": "),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"not json"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"n": 1} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
        match parse_json::<Body>(br#"{"n": 1, "inner": {"m": -1}}"#) {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].field, "inner.m"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(br#"{"n": 1, "extra": true}"#) {
            Err(ApiError::Validation(e)) => assert!(e[0].message.contains("extra"), "{e:?}"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(br#"{"n": 24.0, "inner": {"m": 1e3}}"#) {
            Ok(b) => assert_eq!((b.n, b.inner.map(|i| i.m)), (24, Some(1000))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(br#"{"n": 24.5}"#),
            Err(ApiError::Validation(_))
        ));
        match parse_json::<Body>(b"[]") {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].field, "body"),
            other => panic!("{other:?}"),
        }
    }
}
