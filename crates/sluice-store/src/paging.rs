//! Opaque cursors for keyset pagination over UUIDv7 ids.

use base64::Engine;
use uuid::Uuid;

use crate::StoreError;

/// Largest page a caller may ask for.
pub const MAX_PAGE: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 10;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl PageRequest {
    /// Decodes a client's `next_token` and `max_results`.
    pub fn parse(
        next_token: Option<&str>,
        max_results: Option<u32>,
    ) -> Result<PageRequest, StoreError> {
        let limit = max_results.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(StoreError::field(
                "max_results",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = next_token.map(decode).transpose()?;
        Ok(PageRequest { after, limit })
    }
}

/// A page of items and the token of the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Page<T> {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_token = if more {
            items.last().map(|t| encode(id(t)))
        } else {
            None
        };
        Page { items, next_token }
    }
}

const PREFIX: &str = "v1:";
const REVISION_PREFIX: &str = "r1:";

/// Decodes a revision list's `next_token`: the revision the next page starts below.
pub(crate) fn decode_revision(token: &str) -> Result<i64, StoreError> {
    let invalid = || StoreError::field("next_token", "not a token this API issued");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    text.strip_prefix(REVISION_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 1)
        .ok_or_else(invalid)
}

pub(crate) fn encode_revision(revision: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{REVISION_PREFIX}{revision}"))
}

fn encode(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{PREFIX}{id}"))
}

fn decode(token: &str) -> Result<Uuid, StoreError> {
    let invalid = || StoreError::field("next_token", "not a token this API issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let id = text.strip_prefix(PREFIX).ok_or_else(invalid)?;
    Uuid::parse_str(id).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_junk() {
        let id = Uuid::now_v7();
        assert_eq!(decode(&encode(id)).unwrap(), id);
        for junk in ["", "%%%", "djE6bm90LWEtdXVpZA", "eDo="] {
            assert!(decode(junk).is_err(), "{junk}");
        }
        assert_eq!(decode_revision(&encode_revision(7)).unwrap(), 7);
        assert!(decode_revision(&encode(id)).is_err());
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(101)).is_err());
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_PAGE);
    }

    #[test]
    fn page_has_token_only_when_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = Page::from_rows(ids.clone(), 2, |u| *u);
        assert_eq!(p.items.len(), 2);
        assert_eq!(decode(p.next_token.as_deref().unwrap()).unwrap(), ids[1]);
        let p = Page::from_rows(ids, 3, |u| *u);
        assert!(p.next_token.is_none());
    }
}
