//! CreateAcls and DeleteAcls, as Kafka's `AclControlManager`, and the image's ACL read
//! accessors, including [`MetadataImage::acl_delta`] for brokers that keep an authorizer index.

use std::cmp::Ordering;

use kafka_protocol::error::ResponseError;

use super::command::Reply;
use super::model::MetadataImage;
use super::security::{AclBinding, AclBindingFilter, AclCreationResult, AclDeletionResult};

/// What changed in the ACLs between two images (see [`MetadataImage::acl_delta`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclDelta {
    /// Bindings in the newer image only.
    pub added: Vec<AclBinding>,
    /// Bindings in the older image only.
    pub removed: Vec<AclBinding>,
}

impl MetadataImage {
    /// Every ACL binding, in a stable order.
    pub fn acls(&self) -> impl Iterator<Item = &AclBinding> + '_ {
        self.acls.iter()
    }

    /// The bindings a filter selects (DescribeAcls).
    pub fn matching_acls<'a>(
        &'a self,
        filter: &'a AclBindingFilter,
    ) -> impl Iterator<Item = &'a AclBinding> + 'a {
        self.acls.iter().filter(move |b| filter.matches(b))
    }

    /// The ACL changes from `older` to this image: empty without a scan when
    /// [`MetadataImage::acl_version`] did not move, else one ordered merge of both sets (no
    /// index is rebuilt). A consumer keeps the image it last indexed and applies the delta.
    pub fn acl_delta(&self, older: &MetadataImage) -> AclDelta {
        let mut delta = AclDelta::default();
        if self.acl_version == older.acl_version {
            return delta;
        }
        let (mut new, mut old) = (self.acls.iter().peekable(), older.acls.iter().peekable());
        loop {
            match (new.peek(), old.peek()) {
                (None, None) => return delta,
                (Some(_), None) => delta.added.extend(new.by_ref().cloned()),
                (None, Some(_)) => delta.removed.extend(old.by_ref().cloned()),
                (Some(n), Some(o)) => match n.cmp(o) {
                    Ordering::Less => delta.added.extend(new.next().cloned()),
                    Ordering::Greater => delta.removed.extend(old.next().cloned()),
                    Ordering::Equal => {
                        new.next();
                        old.next();
                    }
                },
            }
        }
    }

    /// `AclControlManager.createAcls`: each binding validated on its own; one already stored
    /// succeeds without change (Kafka's create is idempotent).
    pub(super) fn create_acls(&mut self, bindings: &[AclBinding]) -> Reply {
        let mut changed = false;
        let results = bindings
            .iter()
            .map(|b| match b.invalid_reason() {
                Some(reason) => AclCreationResult {
                    error_code: ResponseError::InvalidRequest.code(),
                    error_message: Some(reason),
                },
                None => {
                    changed |= self.acls.insert(b.clone());
                    AclCreationResult {
                        error_code: 0,
                        error_message: None,
                    }
                }
            })
            .collect();
        if changed {
            self.acl_version += 1;
        }
        Reply::AclsCreated(results)
    }

    /// `AclControlManager.deleteAcls`: per filter, the bindings it matches are removed and
    /// returned; a binding two filters match is removed (and reported) once, by the first. A
    /// filter with an UNKNOWN code is INVALID_REQUEST.
    pub(super) fn delete_acls(&mut self, filters: &[AclBindingFilter]) -> Reply {
        let mut results = Vec::with_capacity(filters.len());
        for filter in filters {
            if filter.is_unknown() {
                results.push(AclDeletionResult {
                    error_code: ResponseError::InvalidRequest.code(),
                    error_message: Some("Unknown patternFilter or entryFilter.".into()),
                    matching: Vec::new(),
                });
                continue;
            }
            let matching: Vec<AclBinding> = self.matching_acls(filter).cloned().collect();
            for b in &matching {
                self.acls.remove(b);
            }
            results.push(AclDeletionResult {
                error_code: 0,
                error_message: None,
                matching,
            });
        }
        if results.iter().any(|r| !r.matching.is_empty()) {
            self.acl_version += 1;
        }
        Reply::AclsDeleted(results)
    }
}
