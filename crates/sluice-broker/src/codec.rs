//! Sans-I/O request decoding and response encoding on top of `kafka-protocol`.
//!
//! The header version depends on the API key and version (flexible versions use header v2 for
//! requests and v1 for responses, except ApiVersions whose response header is always v0).

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::error::{BrokerError, DecodeError};
use crate::kafka_apis::{kafka_apis, supported_versions};

/// A frame split into its decoded header and the still-encoded body.
#[derive(Debug)]
pub struct RawRequest {
    /// API of the request.
    pub api_key: ApiKey,
    /// Decoded header.
    pub header: RequestHeader,
    /// Body bytes for `api_key` at `header.request_api_version`.
    pub body: Bytes,
}

/// What to do with a frame whose header decoded.
#[derive(Debug)]
pub enum Decoded {
    /// A request this broker serves at this version.
    Request(RawRequest),
    /// ApiVersions at a version newer than ours: Kafka answers with a v0 body and
    /// UNSUPPORTED_VERSION so the client can retry with a version we know.
    ApiVersionsTooNew(RequestHeader),
}

/// Decodes the request header and checks that key and version are served here.
pub fn decode_header(mut frame: Bytes) -> Result<Decoded, DecodeError> {
    if frame.len() < 4 {
        return Err(DecodeError::Malformed {
            api: "unknown",
            version: -1,
            reason: "frame shorter than api key and version".into(),
        });
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api_key = ApiKey::try_from(key).map_err(|_| DecodeError::UnknownApiKey(key))?;
    let Some(range) = supported_versions(api_key) else {
        return Err(DecodeError::UnknownApiKey(key));
    };
    if api_key == ApiKey::ApiVersions && version > range.1 {
        // The header of a too-new version may be flexible or not; v0-v1 headers share the
        // fixed prefix, which is all the answer needs.
        let header =
            RequestHeader::decode(&mut frame, 1).map_err(|e| malformed(api_key, version, e))?;
        return Ok(Decoded::ApiVersionsTooNew(header));
    }
    if version < range.0 || version > range.1 {
        return Err(DecodeError::Malformed {
            api: api_name(api_key),
            version,
            reason: format!("version not in supported range {}..={}", range.0, range.1),
        });
    }
    let header = RequestHeader::decode(&mut frame, api_key.request_header_version(version))
        .map_err(|e| malformed(api_key, version, e))?;
    Ok(Decoded::Request(RawRequest {
        api_key,
        header,
        body: frame,
    }))
}

fn malformed(api_key: ApiKey, version: i16, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Malformed {
        api: api_name(api_key),
        version,
        reason: e.to_string(),
    }
}

/// Name of an API for logs and metric labels.
pub fn api_name(api_key: ApiKey) -> &'static str {
    crate::kafka_apis::name(api_key)
}

/// Decodes a request body. Bytes left over are tolerated, as Kafka does: librdkafka 2.x sends
/// a few extra bytes after some Metadata v12 bodies.
pub fn decode_body<T: Decodable>(raw: &mut RawRequest) -> Result<T, DecodeError> {
    let version = raw.header.request_api_version;
    let body = T::decode(&mut raw.body, version).map_err(|e| malformed(raw.api_key, version, e))?;
    if raw.body.has_remaining() {
        tracing::debug!(
            api = api_name(raw.api_key),
            version,
            n = raw.body.remaining(),
            "ignoring trailing request bytes"
        );
    }
    Ok(body)
}

/// Encodes header and body of a response, with the length prefix, into `out`.
pub fn encode_response<T: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
    out: &mut BytesMut,
) -> Result<(), BrokerError> {
    let header_version = api_key.response_header_version(version);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let size = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + body.compute_size(version)?))
        .map_err(|e| BrokerError::Encode(e.to_string()))?;
    out.reserve(4 + size);
    out.extend_from_slice(&(size as i32).to_be_bytes());
    header
        .encode(out, header_version)
        .and_then(|_| body.encode(out, version))
        .map_err(|e| BrokerError::Encode(e.to_string()))?;
    Ok(())
}

macro_rules! decoders {
    ($($api:ident $lo:literal..=$hi:literal => $module:ident($req:ident) $(.$aw:ident)? $(-> $opt:ident)?),* $(,)?) => {
        /// Decodes a request body without handling it (used by the fuzz target and tests).
        pub fn decode_only(raw: &mut RawRequest) -> Result<(), DecodeError> {
            use kafka_protocol::messages::*;
            match raw.api_key {
                $(ApiKey::$api => decode_body::<$req>(raw).map(|_| ()),)*
                other => Err(DecodeError::UnknownApiKey(other as i16)),
            }
        }
    };
}
kafka_apis!(decoders);

/// Shorthand for building protocol strings.
pub fn sb(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}

/// Runs untrusted bytes through framing and decoding, as a connection would; returns how many
/// requests decoded. Never panics (the fuzz target's property).
pub fn decode_stream(data: &[u8], max_frame: usize) -> usize {
    let mut buf = BytesMut::from(data);
    let mut decoded = 0;
    while let Ok(Some(frame)) = crate::frame::parse_frame(&mut buf, max_frame) {
        match decode_header(frame) {
            Ok(Decoded::Request(mut raw)) => {
                if decode_only(&mut raw).is_err() {
                    break;
                }
                decoded += 1;
            }
            Ok(Decoded::ApiVersionsTooNew(_)) => decoded += 1,
            Err(_) => break,
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use kafka_protocol::protocol::StrBytes;

    fn frame_of<T: Encodable>(key: ApiKey, version: i16, body: &T) -> Bytes {
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = 42;
        header.client_id = Some(StrBytes::from_static_str("test"));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    /// A cheap stand-in for the cargo-fuzz target that runs on stable in CI: byte flips,
    /// truncations and length rewrites of valid requests must never panic.
    #[test]
    fn mutated_requests_never_panic() {
        use kafka_protocol::messages::{FetchRequest, JoinGroupRequest, ProduceRequest};
        let seeds = [
            frame_of(ApiKey::Metadata, 12, &MetadataRequest::default()),
            frame_of(ApiKey::Produce, 9, &ProduceRequest::default()),
            frame_of(ApiKey::Fetch, 12, &FetchRequest::default()),
            frame_of(ApiKey::JoinGroup, 9, &JoinGroupRequest::default()),
            frame_of(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()),
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            let mut framed = (seed.len() as i32).to_be_bytes().to_vec();
            framed.extend_from_slice(seed);
            assert_eq!(decode_stream(&framed, 1 << 20), 1);
            for _ in 0..3000 {
                let mut m = framed.clone();
                for _ in 0..(next() % 4 + 1) {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                if next() % 3 == 0 {
                    m.truncate((next() as usize) % m.len());
                }
                decode_stream(&m, 1 << 20);
            }
        }
    }

    #[test]
    fn flexible_and_non_flexible_headers_decode() {
        for v in [0, 9, 12] {
            let frame = frame_of(ApiKey::Metadata, v, &MetadataRequest::default());
            let Decoded::Request(mut raw) = decode_header(frame).unwrap() else {
                panic!()
            };
            assert_eq!(raw.header.correlation_id, 42);
            assert_eq!(raw.header.client_id.as_deref(), Some("test"));
            let _: MetadataRequest = decode_body(&mut raw).unwrap();
        }
    }

    #[test]
    fn unknown_key_and_too_new_apiversions() {
        let mut frame =
            BytesMut::from(&frame_of(ApiKey::Metadata, 1, &MetadataRequest::default())[..]);
        frame[0] = 0x7f;
        assert!(matches!(
            decode_header(frame.freeze()),
            Err(DecodeError::UnknownApiKey(_))
        ));
        let frame = frame_of(ApiKey::ApiVersions, 4, &ApiVersionsRequest::default());
        assert!(
            matches!(decode_header(frame).unwrap(), Decoded::ApiVersionsTooNew(h) if h.correlation_id == 42)
        );
    }

    #[test]
    fn trailing_bytes_are_ignored_and_truncated_bodies_are_errors() {
        let mut long =
            BytesMut::from(&frame_of(ApiKey::Metadata, 1, &MetadataRequest::default())[..]);
        long.extend_from_slice(&[0, 0, 0]);
        let Decoded::Request(mut raw) = decode_header(long.freeze()).unwrap() else {
            panic!()
        };
        assert!(decode_body::<MetadataRequest>(&mut raw).is_ok());
        let full = frame_of(ApiKey::Metadata, 1, &MetadataRequest::default());
        let cut = full.slice(..full.len() - 2);
        let Decoded::Request(mut raw) = decode_header(cut).unwrap() else {
            panic!()
        };
        assert!(decode_body::<MetadataRequest>(&mut raw).is_err());
    }
}
