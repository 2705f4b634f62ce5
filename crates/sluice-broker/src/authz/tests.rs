//! The authorizer follows the image's ACLs incrementally.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use sluice_auth::acl::{AclOperation, ResourceType};
use sluice_auth::KafkaPrincipal;
use sluice_meta::image::{AclBinding, AclBindingFilter, MetadataImage};
use sluice_meta::Command;

use super::BrokerAuthorizer;
use crate::config::SecurityConfig;

const HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn binding(name: &str, op: i8, permission: i8) -> AclBinding {
    AclBinding {
        resource_type: 2,
        resource_name: name.into(),
        pattern_type: 3,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: op,
        permission,
    }
}

fn may_read(authz: &BrokerAuthorizer, topic: &str) -> bool {
    authz
        .with(|a| {
            a.authorize(
                &KafkaPrincipal::user("alice"),
                HOST,
                AclOperation::Read,
                ResourceType::Topic,
                topic,
            )
        })
        .unwrap()
}

#[test]
fn the_index_follows_created_and_deleted_acls() {
    let mut config = SecurityConfig::default();
    config.apply("authorizer.class.name", "standard").unwrap();
    let authz = BrokerAuthorizer::new(&config);
    assert!(authz.enabled());
    let mut image = MetadataImage::default();
    authz.update(&Arc::new(image.clone()));
    assert!(!may_read(&authz, "orders"));

    image.apply(
        1,
        &Command::CreateAcls {
            bindings: vec![binding("orders", 3, 3), binding("audit", 2, 3)],
        },
    );
    authz.update(&Arc::new(image.clone()));
    assert!(may_read(&authz, "orders"));
    assert!(may_read(&authz, "audit"));
    assert_eq!(authz.with(|a| a.len()), Some(2));

    // A DENY beats the ALL allow; deleting the allow on `orders` removes it from the index.
    image.apply(
        2,
        &Command::CreateAcls {
            bindings: vec![binding("audit", 3, 2)],
        },
    );
    let mut filter = AclBindingFilter::any();
    filter.resource_name = Some("orders".into());
    image.apply(
        3,
        &Command::DeleteAcls {
            filters: vec![filter],
        },
    );
    authz.update(&Arc::new(image.clone()));
    assert!(!may_read(&authz, "orders"));
    assert!(!may_read(&authz, "audit"));
    assert_eq!(authz.with(|a| a.len()), Some(2));
}

#[test]
fn no_authorizer_configured_means_no_index() {
    let authz = BrokerAuthorizer::new(&SecurityConfig::default());
    assert!(!authz.enabled());
    assert_eq!(authz.with(|a| a.len()), None);
    let mut config = SecurityConfig::default();
    assert!(config
        .apply("authorizer.class.name", "com.example.Other")
        .is_err());
    assert!(config.apply("super.users", "nocolon").is_err());
    config
        .apply("super.users", "User:admin; User:broker")
        .unwrap();
    assert_eq!(config.authorizer.super_users.len(), 2);
}
