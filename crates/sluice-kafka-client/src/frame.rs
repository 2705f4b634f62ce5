//! Request and response frames, with no I/O: a frame is a 4-byte big-endian length, then the
//! header and the body, each encoded at the version the API key and request version call for.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

pub use crate::error::FrameError;

/// Encodes `req` as API `key` at `version` into one whole frame, length prefix included.
pub fn encode<Req: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<StrBytes>,
    req: &Req,
) -> Result<BytesMut, FrameError> {
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = client_id;
    let mut out = BytesMut::with_capacity(64);
    out.extend_from_slice(&[0; 4]);
    header
        .encode(&mut out, key.request_header_version(version))
        .and_then(|()| req.encode(&mut out, version))
        .map_err(|e| FrameError(format!("encoding {key:?} v{version}: {e}")))?;
    let len = i32::try_from(out.len() - 4)
        .map_err(|_| FrameError(format!("{key:?} request of {} bytes", out.len())))?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// [`encode`] for a typed request, whose type names its API key.
pub fn encode_request<R: Request>(
    version: i16,
    correlation_id: i32,
    client_id: Option<StrBytes>,
    req: &R,
) -> Result<BytesMut, FrameError> {
    encode(api_key::<R>()?, version, correlation_id, client_id, req)
}

/// The length a frame's 4-byte prefix announces, checked against `max`.
pub fn body_len(prefix: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = i32::from_be_bytes(prefix);
    match usize::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(FrameError(format!(
            "response size {len} (at most {max} accepted)"
        ))),
    }
}

/// Decodes a response body (the frame without its length prefix) to API `key` at `version`,
/// returning its correlation id beside it.
pub fn decode<Resp: Decodable>(
    key: ApiKey,
    version: i16,
    mut body: Bytes,
) -> Result<(i32, Resp), FrameError> {
    let header = ResponseHeader::decode(&mut body, key.response_header_version(version))
        .map_err(|e| FrameError(format!("decoding the {key:?} response header: {e}")))?;
    let resp = Resp::decode(&mut body, version)
        .map_err(|e| FrameError(format!("decoding {key:?} v{version}: {e}")))?;
    if body.has_remaining() {
        // Newer brokers may add fields a client at this version does not know: not an error.
        tracing::trace!(?key, left = body.remaining(), "trailing response bytes");
    }
    Ok((header.correlation_id, resp))
}

/// [`decode`] for the response of a typed request.
pub fn decode_response<R: Request>(
    version: i16,
    body: Bytes,
) -> Result<(i32, R::Response), FrameError> {
    decode(api_key::<R>()?, version, body)
}

/// Decodes a response body and checks it answers `correlation_id`.
pub fn decode_answer<Resp: Decodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: Bytes,
) -> Result<Resp, FrameError> {
    let (got, resp) = decode(key, version, body)?;
    if got != correlation_id {
        return Err(FrameError(format!(
            "correlation id {got} in the answer to request {correlation_id}"
        )));
    }
    Ok(resp)
}

/// The API key a typed request names.
pub fn api_key<R: Request>() -> Result<ApiKey, FrameError> {
    ApiKey::try_from(R::KEY).map_err(|()| FrameError(format!("unknown API key {}", R::KEY)))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, ResponseHeader};

    use super::*;

    #[test]
    fn a_request_frame_is_its_length_then_header_then_body() {
        let req = ApiVersionsRequest::default();
        let f = encode_request(3, 42, Some(StrBytes::from_static_str("me")), &req).unwrap();
        let len = body_len(f[..4].try_into().unwrap(), 1 << 20).unwrap();
        assert_eq!(len, f.len() - 4);
        let mut body = f.freeze().slice(4..);
        let header = RequestHeader::decode(&mut body, 2).unwrap();
        assert_eq!(header.request_api_key, ApiKey::ApiVersions as i16);
        assert_eq!(header.request_api_version, 3);
        assert_eq!(header.correlation_id, 42);
        assert_eq!(header.client_id.as_deref(), Some("me"));
        assert_eq!(ApiVersionsRequest::decode(&mut body, 3).unwrap(), req);
    }

    #[test]
    fn a_response_must_answer_the_request_asked() {
        let mut resp = ApiVersionsResponse::default();
        resp.error_code = 35;
        let mut body = BytesMut::new();
        let mut header = ResponseHeader::default();
        header.correlation_id = 9;
        header.encode(&mut body, 0).unwrap();
        resp.encode(&mut body, 0).unwrap();
        let body = body.freeze();
        let got: ApiVersionsResponse =
            decode_answer(ApiKey::ApiVersions, 0, 9, body.clone()).unwrap();
        assert_eq!(got.error_code, 35);
        let wrong = decode_answer::<ApiVersionsResponse>(ApiKey::ApiVersions, 0, 10, body);
        assert!(wrong.unwrap_err().to_string().contains("correlation id 9"));
    }

    #[test]
    fn sizes_beyond_the_limit_or_negative_are_refused() {
        assert_eq!(body_len(100i32.to_be_bytes(), 100).unwrap(), 100);
        assert!(body_len(101i32.to_be_bytes(), 100).is_err());
        assert!(body_len((-1i32).to_be_bytes(), 100).is_err());
    }

    #[test]
    fn a_truncated_response_is_an_error_not_a_panic() {
        let body = Bytes::from_static(&[0, 0, 0, 1, 0]);
        assert!(decode::<ApiVersionsResponse>(ApiKey::ApiVersions, 3, body).is_err());
    }
}
