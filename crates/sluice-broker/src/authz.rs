//! Authorization in the broker: the [`BrokerAuthorizer`] (a `sluice_auth` [`Authorizer`] kept
//! current from the metadata image's ACLs, incrementally through
//! [`MetadataImage::acl_delta`]), the one place the image's stored ACLs (plain Kafka codes)
//! and `sluice_auth`'s types are converted ([`convert`]), and the checks handlers call
//! (`checks`): `Broker::authorize` and its batch and cluster forms, which read the current
//! request's session.
//!
//! Rules of thumb, as Kafka's:
//! - no `authorizer.class.name`: everything is allowed (but see `Broker::may_act_as_replica`);
//! - no session (an internal call: the group coordinator, replication, housekeeping): allowed;
//! - otherwise the authorizer decides, and every refusal is counted in
//!   `sluice_broker_authorization_denied_total{operation, resource_type}`.
//!
//! Which operation each API needs is the table in [`rules`].

use std::sync::{Arc, RwLock};

use sluice_auth::acl::Authorizer;
use sluice_auth::KafkaPrincipal;
use sluice_meta::image::MetadataImage;

use crate::config::SecurityConfig;
use crate::tls::TlsClientIdentity;

mod checks;
pub mod convert;
pub mod rules;

/// The broker's authorizer: `None` when `authorizer.class.name` is empty.
#[derive(Debug)]
pub struct BrokerAuthorizer {
    indexed: Option<RwLock<Indexed>>,
}

/// The index and the image it reflects.
#[derive(Debug)]
struct Indexed {
    image: Option<Arc<MetadataImage>>,
    authorizer: Authorizer,
}

impl BrokerAuthorizer {
    /// From the broker's settings.
    pub fn new(config: &SecurityConfig) -> Self {
        BrokerAuthorizer {
            indexed: config.authorizer_enabled.then(|| {
                RwLock::new(Indexed {
                    image: None,
                    authorizer: Authorizer::new(config.authorizer.clone()),
                })
            }),
        }
    }

    /// Whether an authorizer is configured.
    pub fn enabled(&self) -> bool {
        self.indexed.is_some()
    }

    /// Brings the index up to `image`: nothing to do when its `acl_version` did not move,
    /// else the bindings added and removed since the image last indexed.
    pub fn update(&self, image: &Arc<MetadataImage>) {
        let Some(indexed) = &self.indexed else {
            return;
        };
        if indexed
            .read()
            .expect("poisoned")
            .image
            .as_ref()
            .is_some_and(|old| old.acl_version == image.acl_version)
        {
            return;
        }
        let mut guard = indexed.write().expect("poisoned");
        let delta = match &guard.image {
            Some(old) => image.acl_delta(old),
            None => sluice_meta::image::AclDelta {
                added: image.acls().cloned().collect(),
                removed: Vec::new(),
            },
        };
        for b in &delta.removed {
            if let Some(b) = convert::binding_from_meta(b) {
                guard.authorizer.remove(&b);
            }
        }
        for b in delta.added {
            match convert::binding_from_meta(&b) {
                Some(binding) => {
                    if let Err(e) = guard.authorizer.add(binding) {
                        tracing::warn!(acl = ?b, error = %e, "ACL binding not indexed");
                    }
                }
                None => tracing::warn!(acl = ?b, "ACL binding with unknown codes not indexed"),
            }
        }
        guard.image = Some(image.clone());
    }

    /// Runs `f` over the index (`None` without an authorizer).
    pub fn with<T>(&self, f: impl FnOnce(&Authorizer) -> T) -> Option<T> {
        self.indexed
            .as_ref()
            .map(|i| f(&i.read().expect("poisoned").authorizer))
    }

    /// Whether `principal` is one of `super.users`.
    pub fn is_super_user(&self, principal: &KafkaPrincipal) -> bool {
        self.with(|a| a.config().super_users.contains(principal))
            .unwrap_or(false)
    }
}

/// The principal of a TLS connection: the client certificate's subject through
/// `ssl.principal.mapping.rules`, else (no certificate, or no rule maps it) `User:ANONYMOUS`.
pub fn tls_principal(
    config: &SecurityConfig,
    client: Option<&TlsClientIdentity>,
) -> KafkaPrincipal {
    let Some(client) = client else {
        return KafkaPrincipal::anonymous();
    };
    match config
        .ssl_principal_mapper
        .principal_for(&client.subject_dn)
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(dn = %client.subject_dn, error = %e, "no principal for the client certificate; treated as ANONYMOUS");
            KafkaPrincipal::anonymous()
        }
    }
}

#[cfg(test)]
mod tests;
