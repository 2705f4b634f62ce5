//! What the API server's objects say: a pod's health and broker id, a claim's size, a node's
//! zone, and how API errors read.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use sluice_reconciler::runtime::Health;
use sluice_reconciler::RuntimeError;

use crate::objects::{self};

pub(super) fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> RuntimeError {
    let what = what.into();
    move |e| RuntimeError::Platform {
        what,
        message: match &e {
            kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
            other => other.to_string(),
        },
    }
}

pub(super) fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// `Ok(())` for a delete of something already gone.
pub(super) fn gone_ok<T>(r: Result<T, kube::Error>, what: &str) -> Result<(), RuntimeError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some(404) => Ok(()),
        Err(e) => Err(api_err(what)(e)),
    }
}

pub(super) fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub(super) fn pod_phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// A pod that will never serve again: finished, or being deleted.
pub(super) fn pod_terminal(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some() || matches!(pod_phase(p), "Failed" | "Succeeded")
}

/// How a broker's pod answers. `node_gone`: it is bound to a node that no longer exists.
pub fn pod_health(p: &Pod, node_gone: bool, now_ms: i64, grace: Duration) -> Health {
    if pod_terminal(p) || node_gone {
        return Health::Dead;
    }
    if pod_ready(p) {
        return Health::Healthy;
    }
    let created = p
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now_ms, |t| t.0.as_millisecond());
    if now_ms - created < grace.as_millis() as i64 {
        Health::Starting
    } else {
        Health::Unresponsive
    }
}

pub(super) fn broker_label(meta: &kube::api::ObjectMeta) -> Option<u32> {
    meta.labels
        .as_ref()?
        .get(objects::LABEL_BROKER)?
        .parse()
        .ok()
}

pub(super) fn requested_gib(pvc: &PersistentVolumeClaim) -> u32 {
    pvc.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| objects::parse_gib(&q.0))
        .unwrap_or(0)
}

pub(super) fn zone_of(node: &Node) -> Option<String> {
    let labels = node.metadata.labels.as_ref()?;
    objects::ZONE_LABELS
        .iter()
        .find_map(|k| labels.get(*k))
        .filter(|z| !z.is_empty())
        .cloned()
}
