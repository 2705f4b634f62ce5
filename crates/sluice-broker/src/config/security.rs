//! Authorization settings: `authorizer.class.name`, `super.users`,
//! `allow.everyone.if.no.acl.found`, and how TLS client certificates become principals
//! (`ssl.principal.mapping.rules`).

use sluice_auth::acl::AuthorizerConfig;
use sluice_auth::principal::SslPrincipalMapper;

use crate::error::BrokerError;

/// The `authorizer.class.name` values that enable the authorizer (Kafka's two, and Sluice's
/// short name). Empty (the default) is no authorizer: every request is allowed, as in Kafka.
pub const AUTHORIZER_NAMES: &[&str] = &[
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
    "standard",
];

/// The broker's authorization settings.
#[derive(Debug, Clone, Default)]
pub struct SecurityConfig {
    /// Whether an authorizer is configured (`authorizer.class.name`).
    pub authorizer_enabled: bool,
    /// `super.users` and `allow.everyone.if.no.acl.found`.
    pub authorizer: AuthorizerConfig,
    /// `ssl.principal.mapping.rules` (Kafka's syntax; default `DEFAULT`: the subject DN).
    pub ssl_principal_mapper: SslPrincipalMapper,
}

impl SecurityConfig {
    /// Applies `key=value` if it is one of these settings; `Ok(false)` otherwise.
    pub fn apply(&mut self, key: &str, v: &str) -> Result<bool, BrokerError> {
        let bad = |why: String| BrokerError::Config(format!("{key}={v:?}: {why}"));
        match key {
            "authorizer.class.name" => {
                let v = v.trim();
                if !v.is_empty() && !AUTHORIZER_NAMES.contains(&v) {
                    return Err(bad(format!("supported: {}", AUTHORIZER_NAMES.join(", "))));
                }
                self.authorizer_enabled = !v.is_empty();
            }
            "super.users" => {
                self.authorizer.super_users = AuthorizerConfig::parse_super_users(v)
                    .map_err(|e| bad(format!("not a principal: {}", e.0)))?;
            }
            "allow.everyone.if.no.acl.found" => {
                self.authorizer.allow_everyone_if_no_acl_found = match v.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("not true or false".into())),
                }
            }
            "ssl.principal.mapping.rules" => {
                self.ssl_principal_mapper =
                    SslPrincipalMapper::from_rules(v).map_err(|e| bad(e.to_string()))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
