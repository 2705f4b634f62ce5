//! Kafka's named listeners: `listeners`, `advertised.listeners`,
//! `listener.security.protocol.map`, `inter.broker.listener.name` (or
//! `security.inter.broker.protocol`), resolved and validated into [`ListenerConfig`]s.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::error::BrokerError;

/// Kafka's default `listener.security.protocol.map`.
pub const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/// How a listener's connections are secured (Kafka's `SecurityProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    /// No encryption, no authentication.
    Plaintext,
    /// TLS; the client is authenticated by its certificate when `ssl.client.auth` asks for one.
    Ssl,
    /// SASL authentication over plain TCP.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients must authenticate with SASL before anything else.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityProtocol {
    type Err = BrokerError;

    fn from_str(s: &str) -> Result<Self, BrokerError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(BrokerError::Config(format!(
                "unknown security protocol {other:?} (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
            ))),
        }
    }
}

/// One listener: where it binds, what it tells clients, how it is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Listener name, upper case (`PLAINTEXT`, `SSL`, `INTERNAL`, ...).
    pub name: String,
    /// Its security protocol from `listener.security.protocol.map`.
    pub protocol: SecurityProtocol,
    /// Address bound.
    pub bind: SocketAddr,
    /// Host announced in Metadata to clients of this listener.
    pub advertised_host: String,
    /// Port announced in Metadata to clients of this listener.
    pub advertised_port: u16,
}

impl ListenerConfig {
    /// A `PLAINTEXT` listener on `bind`, advertised as `host` and the bound port.
    pub fn plaintext(bind: SocketAddr, host: &str) -> ListenerConfig {
        ListenerConfig {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            bind,
            advertised_host: host.into(),
            advertised_port: bind.port(),
        }
    }
}

/// The listener properties as given, resolved together by [`resolve`] once all are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerProps {
    /// `listeners`.
    pub listeners: String,
    /// `advertised.listeners`.
    pub advertised: Option<String>,
    /// `listener.security.protocol.map`.
    pub protocol_map: String,
    /// `inter.broker.listener.name`.
    pub inter_broker_listener_name: Option<String>,
    /// `security.inter.broker.protocol`.
    pub security_inter_broker_protocol: Option<String>,
}

impl Default for ListenerProps {
    fn default() -> Self {
        ListenerProps {
            listeners: "PLAINTEXT://127.0.0.1:9092".into(),
            advertised: None,
            protocol_map: DEFAULT_PROTOCOL_MAP.into(),
            inter_broker_listener_name: None,
            security_inter_broker_protocol: None,
        }
    }
}

fn bad(msg: String) -> BrokerError {
    BrokerError::Config(msg)
}

/// Parses a `NAME://host:port` list. An empty host stays empty (binds every interface).
pub(super) fn parse_endpoints(
    key: &str,
    v: &str,
) -> Result<Vec<(String, String, u16)>, BrokerError> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, addr) = item
            .split_once("://")
            .ok_or_else(|| bad(format!("{key}: {item:?} is not NAME://host:port")))?;
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("{key}: {item:?} has no port")))?;
        let port = port
            .parse()
            .map_err(|_| bad(format!("{key}: {item:?} has a bad port")))?;
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() {
            return Err(bad(format!("{key}: {item:?} has no listener name")));
        }
        out.push((name, host.trim_matches(['[', ']']).to_string(), port));
    }
    if out.is_empty() {
        return Err(bad(format!("{key} is empty")));
    }
    Ok(out)
}

/// Parses `listener.security.protocol.map`: `NAME:PROTOCOL,...`.
pub(super) fn parse_protocol_map(
    v: &str,
) -> Result<BTreeMap<String, SecurityProtocol>, BrokerError> {
    let mut out = BTreeMap::new();
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, proto) = item.split_once(':').ok_or_else(|| {
            bad(format!(
                "listener.security.protocol.map: {item:?} is not NAME:PROTOCOL"
            ))
        })?;
        let proto: SecurityProtocol = proto.parse().map_err(|e| {
            bad(format!(
                "listener.security.protocol.map: listener {name}: {e}"
            ))
        })?;
        out.insert(name.trim().to_ascii_uppercase(), proto);
    }
    Ok(out)
}

fn bind_addr(name: &str, host: &str, port: u16) -> Result<SocketAddr, BrokerError> {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    format!("{host}:{port}")
        .parse()
        .or_else(|_| format!("[{host}]:{port}").parse())
        .map_err(|_| {
            bad(format!(
                "listener {name}: {host}:{port} is not an ip:port to bind"
            ))
        })
}

/// Resolves the listeners and the inter-broker listener's name, refusing what Kafka refuses
/// (and, until SASL is implemented, SASL listeners).
pub(super) fn resolve(p: &ListenerProps) -> Result<(Vec<ListenerConfig>, String), BrokerError> {
    let map = parse_protocol_map(&p.protocol_map)?;
    let endpoints = parse_endpoints("listeners", &p.listeners)?;
    let mut listeners: Vec<ListenerConfig> = Vec::new();
    for (name, host, port) in endpoints {
        if listeners.iter().any(|l| l.name == name) {
            return Err(bad(format!(
                "listeners: listener name {name} appears twice"
            )));
        }
        if port != 0 && listeners.iter().any(|l| l.bind.port() == port) {
            return Err(bad(format!(
                "listeners: port {port} is used by two listeners"
            )));
        }
        let protocol = *map.get(&name).ok_or_else(|| {
            bad(format!(
                "listener {name} is not in listener.security.protocol.map ({})",
                p.protocol_map
            ))
        })?;
        let bind = bind_addr(&name, &host, port)?;
        listeners.push(ListenerConfig {
            name,
            protocol,
            bind,
            advertised_host: bind.ip().to_string(),
            advertised_port: bind.port(),
        });
    }
    if let Some(adv) = &p.advertised {
        let mut seen = Vec::new();
        for (name, host, port) in parse_endpoints("advertised.listeners", adv)? {
            if seen.contains(&name) {
                return Err(bad(format!(
                    "advertised.listeners: listener name {name} appears twice"
                )));
            }
            let l = listeners
                .iter_mut()
                .find(|l| l.name == name)
                .ok_or_else(|| {
                    bad(format!(
                        "advertised.listeners names {name}, which is not among listeners ({})",
                        p.listeners
                    ))
                })?;
            if !host.is_empty() {
                l.advertised_host = host;
            }
            l.advertised_port = port;
            seen.push(name);
        }
    }
    let inter = inter_broker_name(p, &listeners)?;
    Ok((listeners, inter))
}

/// Kafka's rule: `inter.broker.listener.name` if set, else the listener using
/// `security.inter.broker.protocol` (default PLAINTEXT); a lone listener is always it.
fn inter_broker_name(
    p: &ListenerProps,
    listeners: &[ListenerConfig],
) -> Result<String, BrokerError> {
    match (
        &p.inter_broker_listener_name,
        &p.security_inter_broker_protocol,
    ) {
        (Some(_), Some(_)) => Err(bad(
            "only one of inter.broker.listener.name and security.inter.broker.protocol may be set"
                .into(),
        )),
        (Some(name), None) => {
            let name = name.trim().to_ascii_uppercase();
            if listeners.iter().any(|l| l.name == name) {
                Ok(name)
            } else {
                Err(bad(format!(
                    "inter.broker.listener.name={name} is not among listeners ({})",
                    p.listeners
                )))
            }
        }
        (None, proto) => {
            if let [only] = listeners {
                return Ok(only.name.clone());
            }
            let proto: SecurityProtocol = proto.as_deref().unwrap_or("PLAINTEXT").parse()?;
            listeners
                .iter()
                .find(|l| l.protocol == proto)
                .map(|l| l.name.clone())
                .ok_or_else(|| {
                    bad(format!(
                        "no listener uses security.inter.broker.protocol={proto}; set inter.broker.listener.name"
                    ))
                })
        }
    }
}
