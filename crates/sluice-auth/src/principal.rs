//! Who a client is: [`KafkaPrincipal`], how a TLS certificate becomes one
//! ([`SslPrincipalMapper`], [`subject_rfc2253`]).
//!
//! SASL gives `User:<username>`; mutual TLS gives `User:<mapped name>`, where
//! the name is the certificate subject in RFC 2253 form passed through
//! Kafka's `ssl.principal.mapping.rules`; no authentication gives
//! `User:ANONYMOUS`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod ssl;
#[cfg(test)]
mod ssl_tests;
mod x509;
#[cfg(test)]
mod x509_tests;

pub use ssl::{MappingError, SslPrincipalMapper};
pub use x509::{subject_rfc2253, CertificateError};

/// Kafka's only built-in principal type.
pub const USER_TYPE: &str = "User";

/// A Kafka principal, `Type:name` (`User:alice`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KafkaPrincipal {
    /// The principal type (`User`).
    pub principal_type: String,
    /// The name (`alice`, `*` for the ACL wildcard, a DN for unmapped TLS).
    pub name: String,
}

impl KafkaPrincipal {
    /// `User:<name>`.
    pub fn user(name: impl Into<String>) -> Self {
        KafkaPrincipal {
            principal_type: USER_TYPE.to_owned(),
            name: name.into(),
        }
    }

    /// `User:ANONYMOUS`: unauthenticated (PLAINTEXT, or TLS without a client certificate).
    pub fn anonymous() -> Self {
        Self::user("ANONYMOUS")
    }

    /// `User:*`: the ACL wildcard principal, matching every user.
    pub fn wildcard_user() -> Self {
        Self::user("*")
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

/// A string that is not `Type:name` with both parts non-empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a principal in the format principalType:principalName, got {0:?}")]
pub struct PrincipalParseError(pub String);

impl FromStr for KafkaPrincipal {
    type Err = PrincipalParseError;

    /// Splits at the first `:` (as Kafka's `SecurityUtils.parseKafkaPrincipal`);
    /// the name may contain further colons.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((t, n)) if !t.is_empty() && !n.is_empty() => Ok(KafkaPrincipal {
                principal_type: t.to_owned(),
                name: n.to_owned(),
            }),
            _ => Err(PrincipalParseError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        let p = KafkaPrincipal::user("alice");
        assert_eq!(p.to_string(), "User:alice");
        assert_eq!("User:alice".parse::<KafkaPrincipal>().unwrap(), p);
        let dn: KafkaPrincipal = "User:CN=a:b,O=x".parse().unwrap();
        assert_eq!(
            (dn.principal_type.as_str(), dn.name.as_str()),
            ("User", "CN=a:b,O=x")
        );
        assert_eq!(KafkaPrincipal::anonymous().to_string(), "User:ANONYMOUS");
        assert_eq!(KafkaPrincipal::wildcard_user().to_string(), "User:*");
        let group: KafkaPrincipal = "Group:admins".parse().unwrap();
        assert_eq!(group.principal_type, "Group");
        for bad in ["alice", "User:", ":alice", ""] {
            assert!(bad.parse::<KafkaPrincipal>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_shape() {
        let json = serde_json::to_string(&KafkaPrincipal::user("a")).unwrap();
        assert_eq!(json, r#"{"principal_type":"User","name":"a"}"#);
    }
}
