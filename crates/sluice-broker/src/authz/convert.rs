//! The one place security data changes form between the metadata image (plain serde data:
//! Kafka's codes for ACL bindings and filters, `i32` iterations for SCRAM credentials) and
//! `sluice_auth`'s types (the authorizer's index, the SCRAM exchange). Codes the authorizer
//! does not know make no binding (`None`).

use sluice_auth::acl::{self as auth, AclOperation, AclPermission, PatternType, ResourceType};
use sluice_meta::image as meta;

/// `sluice_auth`'s form of a stored SCRAM credential (`None` for a negative iteration count,
/// which the controller never stores).
pub fn scram_from_meta(c: &meta::ScramCredential) -> Option<sluice_auth::ScramCredential> {
    Some(sluice_auth::ScramCredential {
        salt: c.salt.clone(),
        iterations: u32::try_from(c.iterations).ok()?,
        stored_key: c.stored_key.clone(),
        server_key: c.server_key.clone(),
    })
}

/// The image's form of a SCRAM credential.
pub fn scram_to_meta(c: sluice_auth::ScramCredential) -> meta::ScramCredential {
    meta::ScramCredential {
        salt: c.salt,
        iterations: i32::try_from(c.iterations).unwrap_or(i32::MAX),
        stored_key: c.stored_key,
        server_key: c.server_key,
    }
}

/// The authorizer's form of a stored binding, if every code is one it knows.
pub fn binding_from_meta(b: &meta::AclBinding) -> Option<auth::AclBinding> {
    Some(auth::AclBinding {
        resource_type: ResourceType::from_code(b.resource_type).ok()?,
        resource_name: b.resource_name.clone(),
        pattern_type: PatternType::from_code(b.pattern_type).ok()?,
        principal: b.principal.clone(),
        host: b.host.clone(),
        operation: AclOperation::from_code(b.operation).ok()?,
        permission: AclPermission::from_code(b.permission).ok()?,
    })
}

/// The stored form of a binding.
pub fn binding_to_meta(b: &auth::AclBinding) -> meta::AclBinding {
    meta::AclBinding {
        resource_type: b.resource_type.code(),
        resource_name: b.resource_name.clone(),
        pattern_type: b.pattern_type.code(),
        principal: b.principal.clone(),
        host: b.host.clone(),
        operation: b.operation.code(),
        permission: b.permission.code(),
    }
}

/// A wire filter (DescribeAcls, DeleteAcls) in the stored form, which matches as Kafka does.
#[allow(clippy::too_many_arguments)]
pub fn filter_from_wire(
    resource_type: i8,
    resource_name: Option<&str>,
    pattern_type: i8,
    principal: Option<&str>,
    host: Option<&str>,
    operation: i8,
    permission: i8,
) -> meta::AclBindingFilter {
    meta::AclBindingFilter {
        resource_type,
        resource_name: resource_name.map(str::to_owned),
        pattern_type,
        principal: principal.map(str::to_owned),
        host: host.map(str::to_owned),
        operation,
        permission,
    }
}

/// Why a wire binding cannot be created (CreateAcls), checked with the authorizer's own
/// validation (codes, names, principal and host syntax) before it is proposed.
pub fn invalid_binding(b: &meta::AclBinding) -> Option<String> {
    if let Some(reason) = b.invalid_reason() {
        return Some(reason);
    }
    match binding_from_meta(b) {
        None => Some("Unknown ACL code".into()),
        Some(binding) => binding.validate().err().map(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_round_trip_and_bad_codes_make_none() {
        let b = auth::AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: "orders".into(),
            pattern_type: PatternType::Prefixed,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::Write,
            permission: AclPermission::Deny,
        };
        let stored = binding_to_meta(&b);
        assert_eq!(binding_from_meta(&stored), Some(b));
        assert_eq!(invalid_binding(&stored), None);
        let mut bad = stored.clone();
        bad.operation = 99;
        assert_eq!(binding_from_meta(&bad), None);
        assert!(invalid_binding(&bad).is_some());
        let mut bad_host = stored;
        bad_host.host = "not-an-ip".into();
        assert!(invalid_binding(&bad_host).is_some());
    }
}
