//! The admin port's authentication settings and the start-up rule over them.
//!
//! * `sluice.admin.auth`: `hmac` (default) or `none`;
//! * `sluice.admin.secret.file` (`--admin-secret-file`, `SLUICE_ADMIN_SECRET_FILE`): the
//!   cluster's shared secret, at least 32 random bytes, readable by its owner only;
//! * `sluice.admin.metrics.open` (default `true`): `/metrics` and `/cluster` (read-only) are
//!   served without a signature.
//!
//! Secure by default: a broker that serves the metadata RPCs on an admin listener, or that is
//! one of several in a quorum, refuses to start without a secret unless `sluice.admin.auth=none`
//! says so explicitly (and then warns loudly).

use sluice_meta::AdminSecret;

use super::BrokerConfig;
use crate::error::BrokerError;

/// `sluice.admin.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminAuthMode {
    /// Requests to the metadata RPCs must carry a `Sluice-HMAC` signature.
    #[default]
    Hmac,
    /// Nothing is checked (explicit opt-out, for a trusted single host).
    None,
}

/// Applies one `sluice.admin.*` property.
pub(super) fn apply_property(
    config: &mut BrokerConfig,
    key: &str,
    value: &str,
) -> Result<(), BrokerError> {
    match key {
        "sluice.admin.auth" => {
            config.admin_auth = match value {
                "hmac" => AdminAuthMode::Hmac,
                "none" => AdminAuthMode::None,
                other => {
                    return Err(BrokerError::Config(format!(
                        "{key}={other:?} is not one of hmac, none"
                    )))
                }
            }
        }
        "sluice.admin.secret.file" => {
            config.admin_secret_file =
                Some(value.into()).filter(|p: &std::path::PathBuf| !p.as_os_str().is_empty())
        }
        "sluice.admin.metrics.open" => {
            config.admin_metrics_open = match value {
                "true" => true,
                "false" => false,
                other => {
                    return Err(BrokerError::Config(format!(
                        "{key}={other:?} is not true or false"
                    )))
                }
            }
        }
        _ => tracing::warn!(property = %key, "ignoring unknown broker property"),
    }
    Ok(())
}

impl BrokerConfig {
    /// The admin secret this broker signs and checks with, decided once at start-up:
    /// `Ok(None)` means unauthenticated, which only an explicit `sluice.admin.auth=none` (or a
    /// lone broker that serves no admin listener) gets. `serves_admin`: an admin listener is
    /// bound.
    pub fn admin_secret(&self, serves_admin: bool) -> Result<Option<AdminSecret>, BrokerError> {
        let peers = self
            .controller_quorum_voters
            .keys()
            .any(|id| *id != self.node_id);
        match (self.admin_auth, &self.admin_secret_file) {
            (AdminAuthMode::Hmac, Some(path)) => AdminSecret::load(path)
                .map(Some)
                .map_err(|e| BrokerError::Config(e.to_string())),
            (AdminAuthMode::Hmac, None) if serves_admin || peers => Err(BrokerError::Config(
                "the admin port serves the metadata quorum's RPCs, and no \
                     sluice.admin.secret.file (--admin-secret-file, SLUICE_ADMIN_SECRET_FILE) is \
                     set: give every broker of the cluster the same file of at least 32 random \
                     bytes, mode 0600, or set sluice.admin.auth=none to serve them \
                     unauthenticated"
                    .into(),
            )),
            (AdminAuthMode::Hmac, None) => Ok(None),
            (AdminAuthMode::None, Some(_)) => Err(BrokerError::Config(
                "sluice.admin.auth=none and sluice.admin.secret.file are both set: choose one"
                    .into(),
            )),
            (AdminAuthMode::None, None) => {
                if serves_admin || peers {
                    tracing::warn!(
                        "sluice.admin.auth=none: the admin port's metadata RPCs (Raft, proposals, \
                         registration) are served WITHOUT AUTHENTICATION; anyone who reaches the \
                         port can change this cluster's metadata"
                    );
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_broker_serving_the_admin_port_needs_a_secret_or_an_explicit_none() {
        let mut config = BrokerConfig::default();
        // A lone broker with no admin listener serves and calls nothing.
        assert!(config.admin_secret(false).unwrap().is_none());
        let err = config.admin_secret(true).unwrap_err().to_string();
        assert!(err.contains("sluice.admin.secret.file"), "{err}");
        config.controller_quorum_voters = [(0, "a:1".into()), (1, "b:1".into())].into();
        assert!(
            config.admin_secret(false).is_err(),
            "a quorum member calls its peers"
        );
        apply_property(&mut config, "sluice.admin.auth", "none").unwrap();
        assert!(config.admin_secret(true).unwrap().is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, [1u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        apply_property(
            &mut config,
            "sluice.admin.secret.file",
            path.to_str().unwrap(),
        )
        .unwrap();
        assert!(
            config.admin_secret(true).is_err(),
            "none and a secret conflict"
        );
        apply_property(&mut config, "sluice.admin.auth", "hmac").unwrap();
        assert!(config.admin_secret(true).unwrap().is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = config.admin_secret(true).unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
        assert!(apply_property(&mut config, "sluice.admin.auth", "basic").is_err());
        assert!(apply_property(&mut config, "sluice.admin.metrics.open", "yes").is_err());
        apply_property(&mut config, "sluice.admin.metrics.open", "false").unwrap();
        assert!(!config.admin_metrics_open);
    }
}
