//! Paging: page sizes and the opaque `next_token`s the server mints.
//!
//! A token is unpadded URL-safe base64 of a tag byte and a cursor: `1` and a row id (UUIDv7,
//! 16 bytes) for lists ordered by id, `2` and a revision number (big-endian i64) for revision
//! lists. Every string of the token patterns below decodes; a cursor that names no row just
//! pages from where that row would be.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

/// Largest page a caller may ask for.
pub const MAX_PAGE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 10;

const ID_TAG: u8 = 1;
const REVISION_TAG: u8 = 2;

/// Exactly the strings [`decode_id_token`] accepts: 17 bytes in unpadded URL-safe base64 (23
/// characters, the last carrying 4 bits), the first byte 1.
pub const ID_TOKEN_PATTERN: &str = "^A[Q-Za-f][A-Za-z0-9_-]{20}[AEIMQUYcgkosw048]$";
/// Exactly the strings [`decode_revision_token`] accepts: 9 bytes (12 characters), the first 2.
pub const REVISION_TOKEN_PATTERN: &str = "^A[g-v][A-Za-z0-9_-]{10}$";

const NOT_OURS: &str = "not a token this API issued";

fn decode(token: &str, tag: u8, len: usize) -> Result<Vec<u8>, String> {
    match URL_SAFE_NO_PAD.decode(token) {
        Ok(bytes) if bytes.len() == len && bytes[0] == tag => Ok(bytes),
        _ => Err(NOT_OURS.into()),
    }
}

/// The token of a page that starts after the row `id`.
pub fn encode_id_token(id: Uuid) -> String {
    let mut bytes = vec![ID_TAG];
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The row id a page starts after.
pub fn decode_id_token(token: &str) -> Result<Uuid, String> {
    let bytes = decode(token, ID_TAG, 17)?;
    Ok(Uuid::from_slice(&bytes[1..]).expect("16 bytes"))
}

/// The token of a revision page that starts below `revision`.
pub fn encode_revision_token(revision: i64) -> String {
    let mut bytes = vec![REVISION_TAG];
    bytes.extend_from_slice(&revision.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The revision a page starts below.
pub fn decode_revision_token(token: &str) -> Result<i64, String> {
    let bytes = decode(token, REVISION_TAG, 9)?;
    Ok(i64::from_be_bytes(bytes[1..].try_into().expect("8 bytes")))
}

/// The page size asked for, or why it is refused.
pub fn parse_max_results(max_results: Option<u32>) -> Result<u32, String> {
    let limit = max_results.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(format!("must be between 1 and {MAX_PAGE}"))
    }
}

/// Query of the lists ordered by id (configurations, a cluster's operations).
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_token` of the previous page.
    pub next_token: Option<String>,
    /// Page size, 1–100 (default 10).
    pub max_results: Option<u32>,
}

/// Query of `GET /v1/configurations/{id}/revisions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevisionPageQuery {
    /// The `next_token` of the previous page.
    pub next_token: Option<String>,
    /// Page size, 1–100 (default 10).
    pub max_results: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{matches, Rng};

    #[test]
    fn tokens_round_trip_and_reject_junk() {
        let id = Uuid::now_v7();
        assert_eq!(decode_id_token(&encode_id_token(id)).unwrap(), id);
        assert_eq!(decode_revision_token(&encode_revision_token(7)).unwrap(), 7);
        for junk in [
            "",
            "%%%",
            "djE6bm90LWEtdXVpZA",
            "eDo=",
            &encode_revision_token(3),
        ] {
            assert!(decode_id_token(junk).is_err(), "{junk}");
        }
        assert!(decode_revision_token(&encode_id_token(id)).is_err());
        assert!(parse_max_results(Some(0)).is_err());
        assert!(parse_max_results(Some(MAX_PAGE)).is_ok());
        assert!(parse_max_results(Some(MAX_PAGE + 1)).is_err());
        assert_eq!(parse_max_results(None).unwrap(), DEFAULT_PAGE);
    }

    /// Minted tokens match the pattern; strings of the pattern decode; strings that decode match.
    #[test]
    fn token_patterns_say_exactly_what_decodes() {
        let mut rng = Rng::new(12);
        for _ in 0..2000 {
            let mut b = [0u8; 16];
            rng.fill(&mut b);
            let t = encode_id_token(Uuid::from_bytes(b));
            assert!(matches(ID_TOKEN_PATTERN, &t), "{t}");
            let t = encode_revision_token(rng.next() as i64);
            assert!(matches(REVISION_TOKEN_PATTERN, &t), "{t}");
            for (pattern, len) in [(ID_TOKEN_PATTERN, 23), (REVISION_TOKEN_PATTERN, 12)] {
                // Random strings near the shape: of the alphabet and about the right length.
                let s = rng.string_of("AgQfvZa-_09wx=+/", len - 1..len + 2);
                let decodes = if len == 23 {
                    decode_id_token(&s).is_ok()
                } else {
                    decode_revision_token(&s).is_ok()
                };
                assert_eq!(decodes, matches(pattern, &s), "{s}");
                let s = rng.matching(pattern);
                assert!(matches(pattern, &s), "{s}");
            }
            let s = rng.matching(ID_TOKEN_PATTERN);
            assert!(decode_id_token(&s).is_ok(), "{s}");
            let s = rng.matching(REVISION_TOKEN_PATTERN);
            assert!(decode_revision_token(&s).is_ok(), "{s}");
        }
    }
}
