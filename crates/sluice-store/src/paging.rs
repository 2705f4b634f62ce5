//! Keyset pagination over UUIDv7 ids; the tokens themselves are the model's
//! ([`sluice_model::paging`]), so their schema and their decoder are one.

use sluice_model::paging::{decode_id_token, encode_id_token, parse_max_results};
use uuid::Uuid;

use crate::StoreError;

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
        let limit =
            parse_max_results(max_results).map_err(|e| StoreError::field("max_results", e))?;
        let after = next_token
            .map(decode_id_token)
            .transpose()
            .map_err(|e| StoreError::field("next_token", e))?;
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
            items.last().map(|t| encode_id_token(id(t)))
        } else {
            None
        };
        Page { items, next_token }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_model::paging::{DEFAULT_PAGE, MAX_PAGE};

    #[test]
    fn requests_are_checked() {
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(MAX_PAGE + 1)).is_err());
        assert!(PageRequest::parse(Some("junk"), None).is_err());
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_PAGE);
    }

    #[test]
    fn page_has_token_only_when_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = Page::from_rows(ids.clone(), 2, |u| *u);
        assert_eq!(p.items.len(), 2);
        assert_eq!(
            decode_id_token(p.next_token.as_deref().unwrap()).unwrap(),
            ids[1]
        );
        let p = Page::from_rows(ids, 3, |u| *u);
        assert!(p.next_token.is_none());
    }
}
