//! The broker's security logic, sans-I/O: no sockets, no async runtime, no clock.
//!
//! This crate owns *what* is decided when a Kafka client authenticates and
//! is authorized; the broker owns *when* (frames, connections, metadata
//! replication) and feeds bytes, principals and ACL changes in.
//!
//! * [`scram`] — SASL SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka does it:
//!   stored credentials ([`ScramCredential`]) and the server side of the
//!   exchange ([`ScramServer`]), including a fake-credential path for unknown
//!   users.
//! * [`plain`] — SASL PLAIN (RFC 4616) verified against the same SCRAM
//!   credential store.
//! * [`principal`] — [`KafkaPrincipal`] (`User:alice`), Kafka's
//!   `ssl.principal.mapping.rules` ([`SslPrincipalMapper`]) and the RFC 2253
//!   subject of a DER certificate as Java prints it.
//! * [`acl`] — Kafka ACL bindings, filters, CreateAcls validation and an
//!   indexed [`Authorizer`] with the rules of Kafka's `StandardAuthorizer`.
//!
//! Secrets (passwords, salted passwords, keys) never appear in `Debug`
//! output or error messages; every error's `Display` is safe to send to a
//! client.

#![warn(missing_docs)]

pub mod acl;
mod crypto;
pub mod plain;
pub mod principal;
pub mod scram;

pub use acl::{
    AclBinding, AclBindingFilter, AclError, AclOperation, AclPermission, Authorizer,
    AuthorizerConfig, Decision, PatternType, ResourceType,
};
pub use principal::{KafkaPrincipal, SslPrincipalMapper};
pub use scram::{
    CredentialStore, InMemoryCredentialStore, ScramClient, ScramCredential, ScramError,
    ScramMechanism, ScramServer,
};
