//! Connection limits: `max.connections`, `max.connections.per.ip` (and its overrides),
//! `connections.max.idle.ms` and the write timeout of clients that stop reading.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::error::BrokerError;

/// Limits on client connections, across all listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `max.connections`: open connections at most (Kafka's default: Integer.MAX_VALUE).
    pub max_connections: usize,
    /// `max.connections.per.ip`.
    pub max_connections_per_ip: usize,
    /// `max.connections.per.ip.overrides`: `ip:count,...` (IP addresses only).
    pub per_ip_overrides: BTreeMap<IpAddr, usize>,
    /// `connections.max.idle.ms`: a connection that sends nothing this long is closed.
    pub idle_ms: u64,
    /// `sluice.socket.write.timeout.ms`: a response not written within this long (the client
    /// stopped reading) closes the connection.
    pub write_timeout_ms: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: i32::MAX as usize,
            max_connections_per_ip: i32::MAX as usize,
            per_ip_overrides: BTreeMap::new(),
            idle_ms: 600_000,
            write_timeout_ms: 30_000,
        }
    }
}

impl ConnectionLimits {
    /// How many connections `ip` may hold.
    pub fn limit_for(&self, ip: IpAddr) -> usize {
        self.per_ip_overrides
            .get(&ip)
            .copied()
            .unwrap_or(self.max_connections_per_ip)
    }

    /// Applies `key=value` if it is one of these limits' properties; `Ok(false)` otherwise.
    pub fn apply(&mut self, key: &str, v: &str) -> Result<bool, BrokerError> {
        let count = |v: &str| -> Result<usize, BrokerError> {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(|n| n as usize)
                .ok_or_else(|| BrokerError::Config(format!("{key}={v:?} is not a count")))
        };
        let ms = |v: &str| -> Result<u64, BrokerError> {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    BrokerError::Config(format!("{key}={v:?} is not a positive number of ms"))
                })
        };
        match key {
            "max.connections" => self.max_connections = count(v)?,
            "max.connections.per.ip" => self.max_connections_per_ip = count(v)?,
            "max.connections.per.ip.overrides" => {
                let mut out = BTreeMap::new();
                for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    let (host, n) = item.rsplit_once(':').ok_or_else(|| {
                        BrokerError::Config(format!("{key}: {item:?} is not ip:count"))
                    })?;
                    let ip: IpAddr = host.trim_matches(['[', ']']).parse().map_err(|_| {
                        BrokerError::Config(format!(
                            "{key}: {host:?} is not an IP address (host names are not supported)"
                        ))
                    })?;
                    out.insert(ip, count(n)?);
                }
                self.per_ip_overrides = out;
            }
            "connections.max.idle.ms" => self.idle_ms = ms(v)?,
            "sluice.socket.write.timeout.ms" => self.write_timeout_ms = ms(v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}
