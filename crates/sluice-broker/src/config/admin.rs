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

use std::path::PathBuf;

use sluice_meta::AdminSecret;

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

/// The `sluice.admin.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// `sluice.admin.auth`: whether the admin port's metadata RPCs require signatures.
    pub auth: AdminAuthMode,
    /// `sluice.admin.secret.file`: the cluster's shared admin secret.
    pub secret_file: Option<PathBuf>,
    /// `sluice.admin.metrics.open`: `/metrics` and `/cluster` need no signature.
    pub metrics_open: bool,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            auth: AdminAuthMode::Hmac,
            secret_file: None,
            metrics_open: true,
        }
    }
}

impl AdminSettings {
    /// Applies one `sluice.admin.*` property.
    pub fn apply_property(&mut self, key: &str, value: &str) -> Result<(), BrokerError> {
        apply_property(self, key, value)
    }
}

fn apply_property(config: &mut AdminSettings, key: &str, value: &str) -> Result<(), BrokerError> {
    match key {
        "sluice.admin.auth" => {
            config.auth = match value {
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
            config.secret_file =
                Some(value.into()).filter(|p: &std::path::PathBuf| !p.as_os_str().is_empty())
        }
        "sluice.admin.metrics.open" => {
            config.metrics_open = match value {
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

impl AdminSettings {
    /// The admin secret this broker signs and checks with, decided once at start-up:
    /// `Ok(None)` means unauthenticated, which only an explicit `sluice.admin.auth=none` (or a
    /// lone broker that serves no admin listener) gets. `serves_admin`: an admin listener is
    /// bound; `has_peers`: the quorum names other brokers.
    pub fn secret(
        &self,
        serves_admin: bool,
        has_peers: bool,
    ) -> Result<Option<AdminSecret>, BrokerError> {
        match (self.auth, &self.secret_file) {
            (AdminAuthMode::Hmac, Some(path)) => AdminSecret::load(path)
                .map(Some)
                .map_err(|e| BrokerError::Config(e.to_string())),
            (AdminAuthMode::Hmac, None) if serves_admin || has_peers => Err(BrokerError::Config(
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
                if serves_admin || has_peers {
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
        let mut admin = AdminSettings::default();
        // A lone broker with no admin listener serves and calls nothing.
        assert!(admin.secret(false, false).unwrap().is_none());
        let err = admin.secret(true, false).unwrap_err().to_string();
        assert!(err.contains("sluice.admin.secret.file"), "{err}");
        assert!(
            admin.secret(false, true).is_err(),
            "a quorum member calls its peers"
        );
        admin.apply_property("sluice.admin.auth", "none").unwrap();
        assert!(admin.secret(true, true).unwrap().is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, [1u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        admin
            .apply_property("sluice.admin.secret.file", path.to_str().unwrap())
            .unwrap();
        assert!(
            admin.secret(true, true).is_err(),
            "none and a secret conflict"
        );
        admin.apply_property("sluice.admin.auth", "hmac").unwrap();
        assert!(admin.secret(true, true).unwrap().is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = admin.secret(true, true).unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
        assert!(admin.apply_property("sluice.admin.auth", "basic").is_err());
        assert!(admin
            .apply_property("sluice.admin.metrics.open", "yes")
            .is_err());
        admin
            .apply_property("sluice.admin.metrics.open", "false")
            .unwrap();
        assert!(!admin.metrics_open);
    }
}
