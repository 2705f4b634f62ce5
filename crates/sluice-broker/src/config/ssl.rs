//! A listener's TLS settings from Kafka's PEM-style `ssl.*` properties, with
//! `listener.name.<name>.ssl.*` overriding them for one listener.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::BrokerError;

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// A client certificate is asked for; a client without one is still served.
    Requested,
    /// The handshake fails without a client certificate signed by the trust store.
    Required,
}

/// Where PEM text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file, re-read when it changes (certificate rotation).
    File(PathBuf),
    /// Inline in the configuration.
    Inline(String),
}

/// The server's certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keystore {
    /// `ssl.keystore.location`: one PEM file with the private key and the certificate chain.
    File(PathBuf),
    /// `ssl.keystore.certificate.chain` and `ssl.keystore.key`.
    Inline {
        /// PEM certificates, leaf first.
        chain: String,
        /// PEM private key (never logged).
        key: String,
    },
}

/// TLS settings of one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslSettings {
    /// The listener they are for.
    pub listener: String,
    /// Certificate and key presented (to clients, and to leaders as a follower's client
    /// certificate on the inter-broker listener).
    pub keystore: Keystore,
    /// CA certificates that client certificates (and, between brokers, the leader's
    /// certificate) must chain to.
    pub truststore: Option<Pem>,
    /// `ssl.client.auth`.
    pub client_auth: ClientAuth,
}

impl SslSettings {
    /// The files to watch for rotation.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Keystore::File(p) = &self.keystore {
            out.push(p.clone());
        }
        if let Some(Pem::File(p)) = &self.truststore {
            out.push(p.clone());
        }
        out
    }
}

/// Whether `key` is a TLS property kept for [`ssl_settings`].
pub(super) fn is_ssl_key(key: &str) -> bool {
    key.starts_with("ssl.") || (key.starts_with("listener.name.") && key.contains(".ssl."))
}

/// The settings of `listener` from the `ssl.*` properties given.
pub fn ssl_settings(
    props: &BTreeMap<String, String>,
    listener: &str,
) -> Result<SslSettings, BrokerError> {
    let prefix = format!("listener.name.{}.", listener.to_ascii_lowercase());
    let get = |k: &str| -> Option<(String, &String)> {
        let own = format!("{prefix}{k}");
        match props.get(&own) {
            Some(v) => Some((own, v)),
            None => props.get(k).map(|v| (k.to_string(), v)),
        }
        .filter(|(_, v)| !v.trim().is_empty())
    };
    let bad = |msg: String| BrokerError::Config(format!("listener {listener}: {msg}"));
    for store in ["ssl.keystore.type", "ssl.truststore.type"] {
        if let Some((k, v)) = get(store) {
            if !v.eq_ignore_ascii_case("PEM") {
                return Err(bad(format!("{k}={v}: only PEM is supported")));
            }
        }
    }
    if let Some((k, _)) = get("ssl.key.password") {
        return Err(bad(format!(
            "{k} is set: encrypted private keys are not supported; give an unencrypted PKCS#8, PKCS#1 or SEC1 key"
        )));
    }
    let keystore = match (
        get("ssl.keystore.location"),
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
    ) {
        (Some((_, path)), None, None) => Keystore::File(PathBuf::from(path)),
        (None, Some((_, chain)), Some((_, key))) => Keystore::Inline {
            chain: chain.clone(),
            key: key.clone(),
        },
        (None, None, None) => {
            return Err(bad(
                "an SSL listener needs ssl.keystore.location or ssl.keystore.certificate.chain with ssl.keystore.key".into(),
            ))
        }
        (Some(_), _, _) => {
            return Err(bad(
                "ssl.keystore.location excludes ssl.keystore.certificate.chain and ssl.keystore.key".into(),
            ))
        }
        _ => {
            return Err(bad(
                "ssl.keystore.certificate.chain and ssl.keystore.key go together".into(),
            ))
        }
    };
    let truststore = match (
        get("ssl.truststore.location"),
        get("ssl.truststore.certificates"),
    ) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "ssl.truststore.location excludes ssl.truststore.certificates".into(),
            ))
        }
        (Some((_, path)), None) => Some(Pem::File(PathBuf::from(path))),
        (None, Some((_, pem))) => Some(Pem::Inline(pem.clone())),
        (None, None) => None,
    };
    let client_auth = match get("ssl.client.auth") {
        None => ClientAuth::None,
        Some((k, v)) => match v.to_ascii_lowercase().as_str() {
            "none" => ClientAuth::None,
            "requested" => ClientAuth::Requested,
            "required" => ClientAuth::Required,
            _ => {
                return Err(bad(format!(
                    "{k}={v} is not one of required, requested, none"
                )))
            }
        },
    };
    if client_auth != ClientAuth::None && truststore.is_none() {
        return Err(bad(
            "ssl.client.auth asks for client certificates but no ssl.truststore is set".into(),
        ));
    }
    Ok(SslSettings {
        listener: listener.to_string(),
        keystore,
        truststore,
        client_auth,
    })
}
