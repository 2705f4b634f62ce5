//! SASL settings with Kafka's names: `sasl.enabled.mechanisms` (and its
//! `listener.name.<name>.` form), `sasl.mechanism.inter.broker.protocol`,
//! `connections.max.reauth.ms` (KIP-368), `sasl.server.max.receive.size`,
//! `connection.failed.authentication.delay.ms`; and Sluice's bootstrap of SCRAM users
//! (`sluice.sasl.users.file`) and the broker's own identity (`sluice.inter.broker.sasl.username`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::BrokerError;

/// A SASL mechanism this broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SaslMechanism {
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// PLAIN (RFC 4616), checked against the SCRAM credentials.
    Plain,
}

impl SaslMechanism {
    /// Kafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::Plain => "PLAIN",
        }
    }

    /// The SCRAM mechanism, for SCRAM ones.
    pub fn scram(self) -> Option<sluice_auth::ScramMechanism> {
        match self {
            SaslMechanism::ScramSha256 => Some(sluice_auth::ScramMechanism::Sha256),
            SaslMechanism::ScramSha512 => Some(sluice_auth::ScramMechanism::Sha512),
            SaslMechanism::Plain => None,
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SaslMechanism {
    type Err = BrokerError;

    fn from_str(s: &str) -> Result<Self, BrokerError> {
        match s.trim() {
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            "PLAIN" => Ok(SaslMechanism::Plain),
            other => Err(BrokerError::Config(format!(
                "SASL mechanism {other:?} is not supported (SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN)"
            ))),
        }
    }
}

/// Mechanisms served when none are configured: the salted ones.
const DEFAULT_MECHANISMS: [SaslMechanism; 2] =
    [SaslMechanism::ScramSha512, SaslMechanism::ScramSha256];

/// SASL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslSettings {
    /// `sasl.enabled.mechanisms`.
    pub enabled_mechanisms: Vec<SaslMechanism>,
    /// `listener.name.<name>.sasl.enabled.mechanisms`, by upper-case listener name.
    pub listener_mechanisms: BTreeMap<String, Vec<SaslMechanism>>,
    /// `sasl.mechanism.inter.broker.protocol`.
    pub inter_broker_mechanism: SaslMechanism,
    /// `connections.max.reauth.ms`: the session lifetime a client is told (0: sessions do not
    /// expire, and a second handshake on a connection is ILLEGAL_SASL_STATE).
    pub reauth_ms: u64,
    /// `sasl.server.max.receive.size`: the largest frame accepted before authentication.
    pub max_receive_size: usize,
    /// `connection.failed.authentication.delay.ms`: how long a failed authentication's answer
    /// is held before the connection closes (slows password guessing).
    pub failed_authentication_delay_ms: u64,
    /// `sluice.sasl.users.file`: `user:password` lines (0600) whose SCRAM credentials this
    /// broker makes sure exist in the metadata at start-up: the first admin user and the
    /// brokers' own user.
    pub users_file: Option<PathBuf>,
    /// `sluice.inter.broker.sasl.username`: the user this broker authenticates as on a SASL
    /// inter-broker listener (its password is the users file's).
    pub inter_broker_user: Option<String>,
}

impl Default for SaslSettings {
    fn default() -> Self {
        SaslSettings {
            enabled_mechanisms: DEFAULT_MECHANISMS.to_vec(),
            listener_mechanisms: BTreeMap::new(),
            inter_broker_mechanism: SaslMechanism::ScramSha512,
            reauth_ms: 0,
            max_receive_size: 524_288,
            failed_authentication_delay_ms: 100,
            users_file: None,
            inter_broker_user: None,
        }
    }
}

fn mechanisms(key: &str, v: &str) -> Result<Vec<SaslMechanism>, BrokerError> {
    let list = v
        .split(',')
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            m.parse()
                .map_err(|e| BrokerError::Config(format!("{key}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(BrokerError::Config(format!("{key} is empty")));
    }
    Ok(list)
}

fn number<T: FromStr>(key: &str, v: &str) -> Result<T, BrokerError> {
    v.trim()
        .parse()
        .map_err(|_| BrokerError::Config(format!("{key}={v:?} is not a valid number")))
}

impl SaslSettings {
    /// Applies `key=value` if it is a SASL property; `Ok(false)` otherwise.
    pub fn apply(&mut self, key: &str, v: &str) -> Result<bool, BrokerError> {
        match key {
            "sasl.enabled.mechanisms" => self.enabled_mechanisms = mechanisms(key, v)?,
            "sasl.mechanism.inter.broker.protocol" => {
                self.inter_broker_mechanism = v
                    .parse()
                    .map_err(|e| BrokerError::Config(format!("{key}: {e}")))?
            }
            "connections.max.reauth.ms" => self.reauth_ms = number(key, v)?,
            "sasl.server.max.receive.size" => self.max_receive_size = number(key, v)?,
            "connection.failed.authentication.delay.ms" => {
                self.failed_authentication_delay_ms = number(key, v)?
            }
            "sluice.sasl.users.file" => self.users_file = Some(PathBuf::from(v.trim())),
            "sluice.inter.broker.sasl.username" => {
                self.inter_broker_user = Some(v.trim().to_string())
            }
            _ => {
                let Some(listener) = key
                    .strip_prefix("listener.name.")
                    .and_then(|rest| rest.strip_suffix(".sasl.enabled.mechanisms"))
                else {
                    return Ok(false);
                };
                self.listener_mechanisms
                    .insert(listener.to_ascii_uppercase(), mechanisms(key, v)?);
            }
        }
        Ok(true)
    }

    /// The mechanisms served on `listener`.
    pub fn mechanisms_of(&self, listener: &str) -> &[SaslMechanism] {
        self.listener_mechanisms
            .get(listener)
            .unwrap_or(&self.enabled_mechanisms)
    }

    /// The users file's entries. The file holds passwords: it must not be readable by group
    /// or others.
    pub fn read_users(&self) -> Result<Vec<(String, String)>, BrokerError> {
        match &self.users_file {
            None => Ok(Vec::new()),
            Some(path) => read_users_file(path),
        }
    }

    /// The inter-broker user and its password, when the inter-broker listener uses SASL.
    pub fn inter_broker_credentials(&self) -> Result<(String, String), BrokerError> {
        let user = self.inter_broker_user.clone().ok_or_else(|| {
            BrokerError::Config(
                "the inter-broker listener uses SASL: set sluice.inter.broker.sasl.username (and list it in sluice.sasl.users.file)".into(),
            )
        })?;
        let password = self
            .read_users()?
            .into_iter()
            .find(|(u, _)| *u == user)
            .map(|(_, p)| p)
            .ok_or_else(|| {
                BrokerError::Config(format!(
                    "sluice.inter.broker.sasl.username {user:?} is not in sluice.sasl.users.file"
                ))
            })?;
        Ok((user, password))
    }
}

fn read_users_file(path: &Path) -> Result<Vec<(String, String)>, BrokerError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| BrokerError::Config(format!("sluice.sasl.users.file {shown}: {e}")))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(BrokerError::Config(format!(
            "sluice.sasl.users.file {shown} is readable by group or others (mode {:o}); chmod 600 it",
            meta.permissions().mode() & 0o777
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| BrokerError::Config(format!("sluice.sasl.users.file {shown}: {e}")))?;
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // Never echo the line: it holds a password.
        let (user, password) = line
            .split_once(':')
            .filter(|(u, p)| !u.trim().is_empty() && !p.is_empty())
            .ok_or_else(|| {
                BrokerError::Config(format!(
                    "sluice.sasl.users.file {shown} line {}: expected user:password",
                    i + 1
                ))
            })?;
        users.push((user.trim().to_string(), password.to_string()));
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn properties_with_kafkas_names() {
        let mut s = SaslSettings::default();
        assert_eq!(s.mechanisms_of("SASL_SSL"), DEFAULT_MECHANISMS);
        assert!(s.apply("sasl.enabled.mechanisms", "PLAIN").unwrap());
        assert!(s
            .apply(
                "listener.name.internal.sasl.enabled.mechanisms",
                "SCRAM-SHA-512"
            )
            .unwrap());
        assert!(s.apply("connections.max.reauth.ms", "60000").unwrap());
        assert!(!s.apply("ssl.client.auth", "required").unwrap());
        assert_eq!(s.mechanisms_of("EXTERNAL"), [SaslMechanism::Plain]);
        assert_eq!(s.mechanisms_of("INTERNAL"), [SaslMechanism::ScramSha512]);
        assert_eq!(s.reauth_ms, 60_000);
        let unsupported = s.apply("sasl.enabled.mechanisms", "GSSAPI").unwrap_err();
        assert!(unsupported.to_string().contains("GSSAPI"), "{unsupported}");
        assert!(s.apply("sasl.enabled.mechanisms", " , ").is_err());
    }

    #[test]
    fn the_users_file_must_be_private_and_is_never_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# admins\nadmin:pa:ss\n\nbroker:b-secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = SaslSettings {
            users_file: Some(path.clone()),
            inter_broker_user: Some("broker".into()),
            ..SaslSettings::default()
        };
        let open = s.read_users().unwrap_err().to_string();
        assert!(open.contains("chmod 600"), "{open}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            s.read_users().unwrap(),
            vec![
                ("admin".to_string(), "pa:ss".to_string()),
                ("broker".to_string(), "b-secret".to_string())
            ]
        );
        assert_eq!(
            s.inter_broker_credentials().unwrap(),
            ("broker".to_string(), "b-secret".to_string())
        );
        std::fs::write(&path, "admin-without-password\n").unwrap();
        let bad = s.read_users().unwrap_err().to_string();
        assert!(
            bad.contains("line 1") && !bad.contains("admin-without"),
            "{bad}"
        );
    }
}
