//! The Kubernetes objects of a Sluice cluster, as JSON documents: pure functions of the broker
//! spec and the runtime's settings, no I/O. What they return is sent as is (server-side apply),
//! so tests validate exactly these documents against the Kubernetes schemas.
//!
//! Per cluster (names from [`Names`]):
//! - ConfigMap `sluice-<cluster id>`: the brokers' `server.properties`; the **owner** of every
//!   other object below (owner references), so deleting it garbage-collects the cluster;
//! - Secret `…-credentials`, Service `…-brokers` (headless, broker DNS), Service `…-bootstrap`,
//!   PodDisruptionBudget `sluice-<cluster id>` (maxUnavailable 1);
//! - per broker n: PersistentVolumeClaim `…-data-<n>` and Pod `…-broker-<n>` (no StatefulSet,
//!   so each broker is replaced, removed or reconfigured on its own).

use serde_json::{json, Value};
use sluice_reconciler::BrokerSpec;
use uuid::Uuid;

mod names;
#[cfg(test)]
mod tests;

mod settings;

use names::broker_selector;
pub use names::{labels, owner_reference, Names, LABEL_BROKER, LABEL_CLUSTER, LABEL_COMPONENT};
pub use settings::{PdbApi, Settings};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "sluice";
/// Pod annotations: what the broker was started with, and the zone of its node.
pub const ANN_FINGERPRINT: &str = "sluice.dev/fingerprint";
pub const ANN_ZONE: &str = "sluice.dev/zone";
/// ConfigMap annotation: how many brokers (ids `1..=n`) are the metadata quorum's voters,
/// chosen when the cluster's first broker starts and kept for the cluster's life.
pub const ANN_QUORUM_VOTERS: &str = "sluice.dev/quorum-voters";
/// The zone annotation's value when the node has no zone label.
pub const NO_ZONE: &str = "-";
/// Node labels the zone is read from (the GA one first).
pub const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

pub const KAFKA_PORT: u16 = 9092;
pub const ADMIN_PORT: u16 = 9093;

/// Where things are inside the broker container.
const DATA_MOUNT: &str = "/var/lib/sluice";
const CONFIG_MOUNT: &str = "/etc/sluice/config";
const POD_INFO_MOUNT: &str = "/etc/sluice/pod";
const RUN_MOUNT: &str = "/run/sluice";
const CREDENTIALS_MOUNT: &str = "/etc/sluice/credentials";

/// The broker's start: copy the cluster's properties to a writable place, add `broker.rack`
/// from the pod's `sluice.dev/zone` annotation (the runtime writes it from the node's zone label
/// once the pod is scheduled; a pod cannot read node labels itself), copy the cluster's admin
/// secret to a file only the broker's user may read (a secret volume with `fsGroup` is group
/// readable, which the broker refuses), then become the broker.
/// It waits up to two minutes for the annotation to reach the downward-API file; `-` means the
/// node has no zone. Every other setting comes from `SLUICE_*` variables the broker reads.
pub const LAUNCH_SCRIPT: &str = r#"set -eu
zone=""
i=0
while [ "$i" -lt 120 ]; do
  zone=$(cat /etc/sluice/pod/zone 2>/dev/null || true)
  [ -n "$zone" ] && break
  i=$((i + 1))
  sleep 1
done
cp /etc/sluice/config/server.properties /run/sluice/server.properties
if [ -n "$zone" ] && [ "$zone" != "-" ]; then
  printf 'broker.rack=%s\n' "$zone" >>/run/sluice/server.properties
fi
rm -f /run/sluice/admin.secret
(umask 077 && cp /etc/sluice/credentials/admin-secret /run/sluice/admin.secret)
exec /usr/local/bin/sluice-broker --config /run/sluice/server.properties
"#;

/// Readiness: the broker answers the Kafka protocol. Sends ApiVersions v0 (correlation id
/// "SLCE", client id "probe") over bash's /dev/tcp and expects the same correlation id and error
/// code 0 in the first 10 bytes of the answer. Needs only bash and coreutils (the broker image
/// is Debian slim), not a `--probe` mode in the broker.
pub const READINESS_SCRIPT: &str = r#"exec 3<>/dev/tcp/127.0.0.1/9092 || exit 1
printf '\x00\x00\x00\x0f\x00\x12\x00\x00SLCE\x00\x05probe' >&3
resp=$(timeout 3 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
[ "${resp:8:12}" = "534c43450000" ]
"#;

fn meta(name: &str, names: &Names, s: &Settings, component: &str, broker: Option<u32>) -> Value {
    json!({
        "name": name,
        "namespace": s.namespace,
        "labels": labels(names, component, broker),
    })
}

fn with_owner(mut meta: Value, owner: &Value) -> Value {
    meta["ownerReferences"] = json!([owner]);
    meta
}

/// How many voters a new cluster's quorum gets: brokers `1..=min(3, broker count)`. Raft
/// membership is fixed at first start, so this is chosen once ([`ANN_QUORUM_VOTERS`]) and
/// brokers added later join as learners; scaling in below the voters leaves fewer live voters
/// (a majority of the original ones is still needed).
pub fn initial_voters(broker_count: u32) -> u32 {
    broker_count.clamp(1, 3)
}

/// The brokers' `server.properties`: the cluster's configuration revision, then what Sluice
/// sets (cluster id, the quorum voters: brokers `1..=voters`). `node.id`, listeners and the
/// data directory come from the pod's `SLUICE_*` variables, `broker.rack` from the launch
/// script.
pub fn server_properties(spec: &BrokerSpec, names: &Names, s: &Settings, voters: u32) -> String {
    let voters: Vec<String> = (1..=voters.max(1))
        .map(|id| format!("{id}@{}:{ADMIN_PORT}", names.broker_host(id, s)))
        .collect();
    let mut out = String::new();
    if !spec.server_properties.trim().is_empty() {
        out.push_str("# The cluster's configuration revision\n");
        out.push_str(spec.server_properties.trim_end());
        out.push('\n');
    }
    out.push_str("# Set by Sluice\n");
    out.push_str(&format!("cluster.id={}\n", spec.cluster_id));
    out.push_str(&format!("controller.quorum.voters={}\n", voters.join(",")));
    out
}

/// The owner ConfigMap, recording the quorum's voter count ([`ANN_QUORUM_VOTERS`]).
pub fn config_map(spec: &BrokerSpec, s: &Settings, voters: u32) -> Value {
    let names = Names::new(spec.cluster_id);
    let mut metadata = meta(&names.config_map(), &names, s, "cluster", None);
    metadata["annotations"] = json!({ ANN_QUORUM_VOTERS: voters.to_string() });
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": { "server.properties": server_properties(spec, &names, s, voters) },
    })
}

/// The cluster's credentials, generated once (the Secret is created only when absent, never
/// re-applied, so they do not change): an admin password, mounted for the SASL work to come,
/// and `admin-secret`, the brokers' shared admin-port secret (`sluice.admin.secret.file`; 32
/// random bytes as 64 hex digits, whose text is the secret).
pub fn secret(
    cluster_id: Uuid,
    s: &Settings,
    owner: &Value,
    password: &str,
    admin_secret: &str,
) -> Value {
    let names = Names::new(cluster_id);
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": with_owner(meta(&names.secret(), &names, s, "cluster", None), owner),
        "type": "Opaque",
        "stringData": {
            "admin-username": "sluice-admin",
            "admin-password": password,
            "admin-secret": admin_secret,
        },
    })
}

fn kafka_ports() -> Value {
    json!([
        { "name": "kafka", "port": KAFKA_PORT, "targetPort": "kafka", "protocol": "TCP" },
        { "name": "admin", "port": ADMIN_PORT, "targetPort": "admin", "protocol": "TCP" },
    ])
}

/// The headless Service giving each broker its DNS name; not-ready addresses are published so
/// that brokers find each other while they start.
pub fn headless_service(cluster_id: Uuid, s: &Settings, owner: &Value) -> Value {
    let names = Names::new(cluster_id);
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": with_owner(meta(&names.headless(), &names, s, "cluster", None), owner),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": broker_selector(&names),
            "ports": kafka_ports(),
        },
    })
}

/// The bootstrap Service: one address for clients' first connection, ready brokers only.
pub fn bootstrap_service(cluster_id: Uuid, s: &Settings, owner: &Value) -> Value {
    let names = Names::new(cluster_id);
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": with_owner(meta(&names.bootstrap(), &names, s, "cluster", None), owner),
        "spec": {
            "type": "ClusterIP",
            "selector": broker_selector(&names),
            "ports": [{ "name": "kafka", "port": KAFKA_PORT, "targetPort": "kafka", "protocol": "TCP" }],
        },
    })
}

/// At most one broker down by a voluntary disruption (a node drain) at a time.
pub fn pod_disruption_budget(cluster_id: Uuid, s: &Settings, owner: &Value) -> Value {
    let names = Names::new(cluster_id);
    json!({
        "apiVersion": s.pdb_api.api_version(),
        "kind": "PodDisruptionBudget",
        "metadata": with_owner(meta(&names.pdb(), &names, s, "cluster", None), owner),
        "spec": {
            "maxUnavailable": 1,
            "selector": { "matchLabels": broker_selector(&names) },
        },
    })
}

/// The broker's volume, of `storage_gib` GiB.
pub fn pvc(spec: &BrokerSpec, storage_gib: u32, s: &Settings, owner: &Value) -> Value {
    let names = Names::new(spec.cluster_id);
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": format!("{storage_gib}Gi") } },
    });
    if let Some(class) = &s.storage_class {
        pvc_spec["storageClassName"] = json!(class);
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": with_owner(
            meta(&names.pvc(spec.broker_id), &names, s, "broker", Some(spec.broker_id)),
            owner,
        ),
        "spec": pvc_spec,
    })
}

/// The broker's pod, on its volume.
pub fn pod(spec: &BrokerSpec, s: &Settings, owner: &Value) -> Value {
    let names = Names::new(spec.cluster_id);
    let id = spec.broker_id;
    let mut metadata = with_owner(meta(&names.pod(id), &names, s, "broker", Some(id)), owner);
    metadata["annotations"] = json!({
        ANN_FINGERPRINT: spec.fingerprint,
        "sluice.dev/kafka-version": spec.kafka_version,
    });
    let resources = json!({
        "cpu": format!("{}m", spec.cpu_millis),
        "memory": format!("{}Mi", spec.memory_mib),
    });
    let host = names.broker_host(id, s);
    let mut container = json!({
        "name": "broker",
        "image": s.broker_image,
        "command": ["/bin/sh", "-c", LAUNCH_SCRIPT],
        "env": [
            { "name": "SLUICE_NODE_ID", "value": id.to_string() },
            { "name": "SLUICE_LISTENERS", "value": format!("PLAINTEXT://0.0.0.0:{KAFKA_PORT}") },
            { "name": "SLUICE_ADVERTISED_LISTENERS", "value": format!("PLAINTEXT://{host}:{KAFKA_PORT}") },
            { "name": "SLUICE_DATA_DIR", "value": format!("{DATA_MOUNT}/data") },
            { "name": "SLUICE_ADMIN_LISTENER", "value": format!("0.0.0.0:{ADMIN_PORT}") },
            // Copied there from the credentials Secret by the launch script.
            { "name": "SLUICE_ADMIN_SECRET_FILE", "value": format!("{RUN_MOUNT}/admin.secret") },
        ],
        "ports": [
            { "name": "kafka", "containerPort": KAFKA_PORT, "protocol": "TCP" },
            { "name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP" },
        ],
        "readinessProbe": {
            "exec": { "command": ["/bin/bash", "-c", READINESS_SCRIPT] },
            "periodSeconds": 5,
            "timeoutSeconds": 4,
            "failureThreshold": 3,
        },
        // Guaranteed QoS: a broker is not a burstable workload.
        "resources": { "requests": resources, "limits": resources },
        "volumeMounts": [
            { "name": "data", "mountPath": DATA_MOUNT },
            { "name": "config", "mountPath": CONFIG_MOUNT, "readOnly": true },
            { "name": "pod-info", "mountPath": POD_INFO_MOUNT, "readOnly": true },
            { "name": "run", "mountPath": RUN_MOUNT },
            { "name": "credentials", "mountPath": CREDENTIALS_MOUNT, "readOnly": true },
        ],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "privileged": false,
            "capabilities": { "drop": ["ALL"] },
        },
    });
    if let Some(p) = &s.image_pull_policy {
        container["imagePullPolicy"] = json!(p);
    }
    // Spread over zones (required when the cluster asks for several zones) and over nodes.
    let zone_rule = if spec.zone_count > 1 {
        "DoNotSchedule"
    } else {
        "ScheduleAnyway"
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "hostname": Names::hostname(id),
            "subdomain": names.headless(),
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 60,
            "enableServiceLinks": false,
            "automountServiceAccountToken": false,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": { "type": "RuntimeDefault" },
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": ZONE_LABELS[0],
                    "whenUnsatisfiable": zone_rule,
                    "labelSelector": { "matchLabels": broker_selector(&names) },
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": { "matchLabels": broker_selector(&names) },
                },
            ],
            "containers": [container],
            "volumes": [
                { "name": "data", "persistentVolumeClaim": { "claimName": names.pvc(id) } },
                { "name": "config", "configMap": { "name": names.config_map() } },
                { "name": "pod-info", "downwardAPI": { "items": [
                    { "path": "zone", "fieldRef": { "fieldPath": format!("metadata.annotations['{ANN_ZONE}']") } },
                ] } },
                { "name": "run", "emptyDir": { "medium": "Memory", "sizeLimit": "16Mi" } },
                // Owner-read only (0400); `fsGroup` adds group read, hence the launch script's copy.
                { "name": "credentials", "secret": { "secretName": names.secret(), "defaultMode": 0o400 } },
            ],
        },
    })
}

/// Every object of a cluster with `broker_count` brokers, as the runtime applies them (the owner
/// uid is a placeholder): what the schema test validates.
pub fn all(spec: &BrokerSpec, s: &Settings) -> Vec<Value> {
    let owner = owner_reference(
        &Names::new(spec.cluster_id),
        "00000000-0000-0000-0000-000000000000",
    );
    let mut out = vec![
        config_map(spec, s, initial_voters(spec.broker_count)),
        secret(spec.cluster_id, s, &owner, "generated", "generated"),
        headless_service(spec.cluster_id, s, &owner),
        bootstrap_service(spec.cluster_id, s, &owner),
        pod_disruption_budget(spec.cluster_id, s, &owner),
    ];
    for id in 1..=spec.broker_count {
        let b = BrokerSpec {
            broker_id: id,
            ..spec.clone()
        };
        out.push(pvc(&b, b.storage_gib, s, &owner));
        out.push(pod(&b, s, &owner));
    }
    out
}

/// `"<n>Gi"` (or another binary/decimal quantity) → whole GiB, rounded down.
pub fn parse_gib(q: &str) -> Option<u32> {
    let q = q.trim();
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: u64 = num.parse().ok()?;
    let bytes = match unit {
        "Ki" => n << 10,
        "Mi" => n << 20,
        "Gi" => n << 30,
        "Ti" => n << 40,
        "Pi" => n << 50,
        "" => n,
        "k" => n * 1_000,
        "M" => n * 1_000_000,
        "G" => n * 1_000_000_000,
        "T" => n * 1_000_000_000_000,
        _ => return None,
    };
    u32::try_from(bytes >> 30).ok()
}
