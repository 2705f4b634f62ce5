//! The names and labels of a cluster's objects, and the owner reference that ties them to its
//! ConfigMap.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uuid::Uuid;

use super::settings::Settings;

/// Label keys.
pub const LABEL_CLUSTER: &str = "sluice.dev/cluster";
pub const LABEL_BROKER: &str = "sluice.dev/broker";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";

/// Object names of one cluster.
#[derive(Debug, Clone)]
pub struct Names {
    pub cluster_id: Uuid,
}

impl Names {
    pub fn new(cluster_id: Uuid) -> Names {
        Names { cluster_id }
    }
    /// The owner ConfigMap, and the PodDisruptionBudget.
    pub fn base(&self) -> String {
        format!("sluice-{}", self.cluster_id)
    }
    pub fn config_map(&self) -> String {
        self.base()
    }
    pub fn pdb(&self) -> String {
        self.base()
    }
    pub fn secret(&self) -> String {
        format!("{}-credentials", self.base())
    }
    pub fn headless(&self) -> String {
        format!("{}-brokers", self.base())
    }
    pub fn bootstrap(&self) -> String {
        format!("{}-bootstrap", self.base())
    }
    pub fn pod(&self, broker_id: u32) -> String {
        format!("{}-broker-{broker_id}", self.base())
    }
    pub fn pvc(&self, broker_id: u32) -> String {
        format!("{}-data-{broker_id}", self.base())
    }
    pub fn hostname(broker_id: u32) -> String {
        format!("broker-{broker_id}")
    }
    /// The broker's stable DNS name (hostname + subdomain under the headless Service).
    pub fn broker_host(&self, broker_id: u32, s: &Settings) -> String {
        format!(
            "{}.{}.{}.svc.{}",
            Self::hostname(broker_id),
            self.headless(),
            s.namespace,
            s.cluster_domain
        )
    }
    /// `sluice.dev/cluster=<id>`: every object of the cluster.
    pub fn selector(&self) -> String {
        format!("{LABEL_CLUSTER}={}", self.cluster_id)
    }
}

/// Labels of every object of the cluster; brokers' pods and volumes add `sluice.dev/broker`.
pub fn labels(names: &Names, component: &str, broker_id: Option<u32>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            "sluice-broker".to_owned(),
        ),
        ("app.kubernetes.io/instance".to_owned(), names.base()),
        (LABEL_COMPONENT.to_owned(), component.to_owned()),
        ("app.kubernetes.io/part-of".to_owned(), "sluice".to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "sluice".to_owned(),
        ),
        (LABEL_CLUSTER.to_owned(), names.cluster_id.to_string()),
    ]);
    if let Some(id) = broker_id {
        l.insert(LABEL_BROKER.to_owned(), id.to_string());
    }
    l
}

/// The labels selecting the cluster's broker pods.
pub(super) fn broker_selector(names: &Names) -> Value {
    json!({
        LABEL_CLUSTER: names.cluster_id.to_string(),
        LABEL_COMPONENT: "broker",
    })
}

/// The owner reference to the cluster's ConfigMap (its `uid` known once it exists).
pub fn owner_reference(names: &Names, config_map_uid: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": names.config_map(),
        "uid": config_map_uid,
        "controller": true,
    })
}
