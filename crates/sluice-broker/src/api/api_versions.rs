//! ApiVersions (key 18): advertises exactly the table in `kafka_apis::SUPPORTED`.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, RequestHeader};

use crate::broker::Broker;
use crate::kafka_apis::SUPPORTED;

/// Answers with the served API table.
pub fn handle(
    _broker: &Arc<Broker>,
    _header: &RequestHeader,
    _req: ApiVersionsRequest,
) -> ApiVersionsResponse {
    response(0)
}

/// The response body, with `error_code`; used with UNSUPPORTED_VERSION for too-new requests.
pub fn response(error_code: i16) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = error_code;
    resp.api_keys = SUPPORTED
        .iter()
        .map(|(k, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = *lo;
            v.max_version = *hi;
            v
        })
        .collect();
    resp
}

/// The body sent (at v0) to a client asking with a newer ApiVersions version than we serve.
pub fn unsupported_version() -> ApiVersionsResponse {
    response(ResponseError::UnsupportedVersion.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn advertised_ranges_are_within_what_the_codec_knows() {
        let resp = response(0);
        assert_eq!(resp.api_keys.len(), SUPPORTED.len());
        for v in &resp.api_keys {
            let key = ApiKey::try_from(v.api_key).unwrap();
            let known = key.valid_versions();
            assert!(
                v.min_version >= known.min && v.max_version <= known.max,
                "{key:?}"
            );
            assert!(v.min_version <= v.max_version);
        }
    }
}
