//! The exact requests the runtime sends, through kube's mock service (`tower_test::mock`)
//! answered by a tiny in-memory API: method, path, query (field manager, force), content type
//! and the essentials of each body, for create, restart, stop, resize and delete.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{json, Value};
use sluice_reconciler::{BrokerSpec, Health, Runtime, RuntimeError};
use sluice_runtime_k8s::{KubeConfig, KubeRuntime, PdbApi};
use uuid::Uuid;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Value,
}

impl Seen {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The objects the fake server holds, by path; and every request it saw.
#[derive(Default)]
struct Fake {
    objects: BTreeMap<String, Value>,
    seen: Vec<Seen>,
    next_uid: u32,
}

const PLURALS: [&str; 7] = [
    "pods",
    "persistentvolumeclaims",
    "services",
    "configmaps",
    "secrets",
    "poddisruptionbudgets",
    "storageclasses",
];

fn status(code: u16, reason: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code}),
    )
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(k);
                } else {
                    merge(a.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

fn labels_match(obj: &Value, selector: &str) -> bool {
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => obj["metadata"]["labels"][k] == v,
        None => !obj["metadata"]["labels"][term].is_null(),
    })
}

impl Fake {
    fn answer(&mut self, s: &Seen) -> (u16, Value) {
        let last = s.path.rsplit('/').next().unwrap_or_default();
        let is_collection = PLURALS.contains(&last);
        match s.method.as_str() {
            "GET" if is_collection => {
                let selector: String = form_urlencoded_get(&s.query, "labelSelector");
                let prefix = format!("{}/", s.path);
                let items: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|(k, v)| k.starts_with(&prefix) && labels_match(v, &selector))
                    .map(|(_, v)| v.clone())
                    .collect();
                (
                    200,
                    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}),
                )
            }
            "GET" => match self.objects.get(&s.path) {
                Some(o) => (200, o.clone()),
                None => status(404, "NotFound"),
            },
            "POST" => {
                let name = s.body["metadata"]["name"].as_str().unwrap();
                let path = format!("{}/{name}", s.path);
                if self.objects.contains_key(&path) {
                    return status(409, "AlreadyExists");
                }
                let o = self.stored(&path, s.body.clone());
                (201, o)
            }
            "PATCH" if s.content_type == "application/apply-patch+yaml" => {
                let o = self.stored(&s.path, s.body.clone());
                (200, o)
            }
            "PATCH" => match self.objects.get_mut(&s.path) {
                Some(o) => {
                    merge(o, &s.body);
                    (200, o.clone())
                }
                None => status(404, "NotFound"),
            },
            "DELETE" => match self.objects.remove(&s.path) {
                Some(o) => (200, o),
                None => status(404, "NotFound"),
            },
            _ => status(405, "MethodNotAllowed"),
        }
    }

    /// Stores an object, keeping the uid of the one it replaces.
    fn stored(&mut self, path: &str, mut o: Value) -> Value {
        let uid = match self.objects.get(path) {
            Some(old) => old["metadata"]["uid"].clone(),
            None => {
                self.next_uid += 1;
                json!(format!("uid-{}", self.next_uid))
            }
        };
        o["metadata"]["uid"] = uid;
        o["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        self.objects.insert(path.to_owned(), o.clone());
        o
    }
}

fn form_urlencoded_get(query: &str, key: &str) -> String {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| {
            v.replace("%3D", "=")
                .replace("%2F", "/")
                .replace("%2C", ",")
        })
        .unwrap_or_default()
}

type Shared = Arc<Mutex<Fake>>;

/// A runtime over the fake API server, namespace `kafka`, PDBs as policy/v1beta1 (1.20).
fn runtime() -> (KubeRuntime, Shared) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let fake: Shared = Arc::default();
    let f = fake.clone();
    tokio::spawn(async move {
        while let Some((req, send)) = handle.next_request().await {
            let (parts, body) = req.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                content_type: parts
                    .headers
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (code, answer) = {
                let mut fake = f.lock().unwrap();
                let a = fake.answer(&seen);
                fake.seen.push(seen);
                a
            };
            send.send_response(
                Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                    .unwrap(),
            );
        }
    });
    let client = kube::Client::new(service, "kafka");
    let mut cfg = KubeConfig::new("kafka", "sluice/sluice-broker:test");
    cfg.storage_class = Some("fast".into());
    cfg.probe_brokers = false;
    cfg.poll_interval = Duration::from_millis(5);
    cfg.stop_timeout = Duration::from_millis(200);
    (KubeRuntime::new(client, cfg, PdbApi::V1beta1), fake)
}

fn cid() -> Uuid {
    Uuid::parse_str("0190a3f0-0000-7000-8000-00000000abcd").unwrap()
}

fn spec(broker_id: u32, fingerprint: &str) -> BrokerSpec {
    BrokerSpec {
        cluster_id: cid(),
        broker_id,
        kafka_version: "3.7.0".into(),
        storage_gib: 10,
        cpu_millis: 1000,
        memory_mib: 2048,
        broker_count: 1,
        zone_count: 1,
        server_properties: "num.partitions=3\n".into(),
        fingerprint: fingerprint.into(),
    }
}

const NS: &str = "/api/v1/namespaces/kafka";
const BASE: &str = "sluice-0190a3f0-0000-7000-8000-00000000abcd";

/// The requests seen since the last call, as "METHOD path" lines.
fn take(fake: &Shared) -> Vec<Seen> {
    std::mem::take(&mut fake.lock().unwrap().seen)
}

fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

fn cluster_object_requests() -> Vec<String> {
    vec![
        format!("GET {NS}/configmaps/{BASE}"),
        format!("PATCH {NS}/configmaps/{BASE}"),
        format!("POST {NS}/secrets"),
        format!("PATCH {NS}/services/{BASE}-brokers"),
        format!("PATCH {NS}/services/{BASE}-bootstrap"),
        format!("PATCH /apis/policy/v1beta1/namespaces/kafka/poddisruptionbudgets/{BASE}"),
    ]
}

#[tokio::test]
async fn create_applies_every_object_with_one_field_manager() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let seen = take(&fake);
    let mut want = cluster_object_requests();
    want.extend([
        format!("GET {NS}/persistentvolumeclaims/{BASE}-data-1"),
        format!("PATCH {NS}/persistentvolumeclaims/{BASE}-data-1"),
        format!("GET {NS}/pods/{BASE}-broker-1"),
        format!("PATCH {NS}/pods/{BASE}-broker-1"),
    ]);
    assert_eq!(lines(&seen), want);

    for s in seen.iter().filter(|s| s.method == "PATCH") {
        assert_eq!(
            s.content_type,
            "application/apply-patch+yaml",
            "{}",
            s.line()
        );
        assert!(
            s.query.contains("fieldManager=sluice"),
            "{}: {}",
            s.line(),
            s.query
        );
        assert!(s.query.contains("force=true"), "{}: {}", s.line(), s.query);
    }
    let cm = &seen[1].body;
    let props = cm["data"]["server.properties"].as_str().unwrap();
    assert!(props.contains("num.partitions=3\n"), "{props}");
    assert!(
        props.contains(&format!(
            "controller.quorum.voters=1@broker-1.{BASE}-brokers.kafka.svc.cluster.local:9093\n"
        )),
        "{props}"
    );
    assert_eq!(
        cm["metadata"]["annotations"]["sluice.dev/quorum-voters"],
        "1"
    );
    // Every other object is owned by the ConfigMap (uid-1, the first object made).
    for s in &seen[2..] {
        if s.method == "GET" {
            continue;
        }
        assert_eq!(
            s.body["metadata"]["ownerReferences"][0]["uid"],
            "uid-1",
            "{}",
            s.line()
        );
        assert_eq!(
            s.body["metadata"]["labels"]["sluice.dev/cluster"],
            cid().to_string()
        );
    }
    assert_eq!(seen[2].body["stringData"]["admin-username"], "sluice-admin");
    // The brokers' admin-port secret: 32 random bytes as hex.
    let admin_secret = seen[2].body["stringData"]["admin-secret"].as_str().unwrap();
    assert_eq!(admin_secret.len(), 64);
    assert!(admin_secret.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(
        seen[2].query.contains("fieldManager=sluice"),
        "{}",
        seen[2].query
    );
    assert_eq!(seen[3].body["spec"]["clusterIP"], "None");
    assert_eq!(seen[5].body["apiVersion"], "policy/v1beta1");
    assert_eq!(seen[5].body["spec"]["maxUnavailable"], 1);
    let pvc = &seen[7].body;
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(pvc["spec"]["storageClassName"], "fast");
    let pod = &seen[9].body;
    assert_eq!(
        pod["metadata"]["annotations"]["sluice.dev/fingerprint"],
        "fp-1"
    );
    assert_eq!(pod["metadata"]["labels"]["sluice.dev/broker"], "1");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["image"], "sluice/sluice-broker:test");
    assert_eq!(c["resources"]["requests"]["cpu"], "1000m");
    assert_eq!(c["resources"]["limits"]["memory"], "2048Mi");
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        format!("{BASE}-data-1")
    );

    // Started again as it is: nothing but the (idempotent) cluster objects and two reads.
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let mut want = cluster_object_requests();
    want.extend([
        format!("GET {NS}/persistentvolumeclaims/{BASE}-data-1"),
        format!("GET {NS}/pods/{BASE}-broker-1"),
    ]);
    assert_eq!(lines(&take(&fake)), want);

    // A broker added later (the spec now wants 4) gets the same voters: the quorum is fixed.
    let mut later = spec(2, "fp-1");
    later.broker_count = 4;
    rt.start_broker(&later).await.unwrap();
    let seen = take(&fake);
    let props = seen[1].body["data"]["server.properties"].as_str().unwrap();
    assert!(
        props.contains(&format!(
            "controller.quorum.voters=1@broker-1.{BASE}-brokers.kafka.svc.cluster.local:9093\n"
        )),
        "{props}"
    );
    assert_eq!(
        seen[1].body["metadata"]["annotations"]["sluice.dev/quorum-voters"],
        "1"
    );
}

#[tokio::test]
async fn a_new_fingerprint_replaces_the_pod_on_the_same_volume() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    take(&fake);
    rt.start_broker(&spec(1, "fp-2")).await.unwrap();
    let seen = take(&fake);
    let mut want = cluster_object_requests();
    want.extend([
        format!("GET {NS}/persistentvolumeclaims/{BASE}-data-1"),
        format!("GET {NS}/pods/{BASE}-broker-1"),
        format!("GET {NS}/pods/{BASE}-broker-1"),
        format!("DELETE {NS}/pods/{BASE}-broker-1"),
        format!("GET {NS}/pods/{BASE}-broker-1"),
        format!("PATCH {NS}/pods/{BASE}-broker-1"),
    ]);
    assert_eq!(lines(&seen), want);
    // A graceful delete (controlled shutdown), not a forced one.
    assert!(
        seen[9].body.get("gracePeriodSeconds").is_none(),
        "{}",
        seen[9].body
    );
    assert_eq!(
        seen[11].body["metadata"]["annotations"]["sluice.dev/fingerprint"],
        "fp-2"
    );
}

#[tokio::test]
async fn stop_deletes_the_pod_and_keeps_the_volume() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    take(&fake);
    rt.stop_broker(cid(), 1).await.unwrap();
    assert_eq!(
        lines(&take(&fake)),
        [
            format!("GET {NS}/pods/{BASE}-broker-1"),
            format!("DELETE {NS}/pods/{BASE}-broker-1"),
            format!("GET {NS}/pods/{BASE}-broker-1"),
        ]
    );
    let observed = rt.observe(cid()).await.unwrap();
    assert_eq!(observed.len(), 1, "the volume keeps the broker");
    assert_eq!(observed[0].health, Health::Dead);
    assert_eq!(observed[0].storage_gib, 10);
    // Stopping what is stopped is one read.
    take(&fake);
    rt.stop_broker(cid(), 1).await.unwrap();
    assert_eq!(
        lines(&take(&fake)),
        [format!("GET {NS}/pods/{BASE}-broker-1")]
    );
}

#[tokio::test]
async fn a_failed_pod_is_deleted_at_once_and_made_again() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let pod_path = format!("{NS}/pods/{BASE}-broker-1");
    fake.lock().unwrap().objects.get_mut(&pod_path).unwrap()["status"] = json!({"phase": "Failed"});
    assert_eq!(rt.observe(cid()).await.unwrap()[0].health, Health::Dead);
    take(&fake);
    // What a heal does: stop, start.
    rt.stop_broker(cid(), 1).await.unwrap();
    let seen = take(&fake);
    assert_eq!(seen[1].line(), format!("DELETE {pod_path}"));
    assert_eq!(
        seen[1].body["gracePeriodSeconds"], 0,
        "nothing to shut down"
    );
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let seen = take(&fake);
    assert_eq!(seen.last().unwrap().line(), format!("PATCH {pod_path}"));
}

#[tokio::test]
async fn resize_patches_the_claim_only_when_its_class_can_expand() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let sc = "/apis/storage.k8s.io/v1/storageclasses/fast";
    fake.lock().unwrap().objects.insert(
        sc.into(),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "fast"}, "provisioner": "x"}),
    );
    take(&fake);
    let mut bigger = spec(1, "fp-1");
    bigger.storage_gib = 20;
    let err = rt.resize_storage(&bigger).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::CannotResize { reason, .. } if reason.contains("storage class fast does not allow volume expansion")),
        "{err}"
    );
    let pvc = format!("{NS}/persistentvolumeclaims/{BASE}-data-1");
    assert_eq!(
        lines(&take(&fake)),
        [format!("GET {pvc}"), format!("GET {sc}")],
        "nothing is patched"
    );

    fake.lock().unwrap().objects.get_mut(sc).unwrap()["allowVolumeExpansion"] = json!(true);
    rt.resize_storage(&bigger).await.unwrap();
    let seen = take(&fake);
    assert_eq!(
        lines(&seen),
        [
            format!("GET {pvc}"),
            format!("GET {sc}"),
            format!("PATCH {pvc}")
        ]
    );
    assert_eq!(seen[2].content_type, "application/merge-patch+json");
    assert!(seen[2].query.contains("fieldManager=sluice"));
    assert_eq!(
        seen[2].body,
        json!({"spec": {"resources": {"requests": {"storage": "20Gi"}}}})
    );
    assert_eq!(rt.observe(cid()).await.unwrap()[0].storage_gib, 20);
    // Already that big: one read.
    take(&fake);
    rt.resize_storage(&bigger).await.unwrap();
    assert_eq!(lines(&take(&fake)), [format!("GET {pvc}")]);
}

#[tokio::test]
async fn removing_the_last_broker_deletes_the_cluster() {
    let (rt, fake) = runtime();
    let mut two = spec(1, "fp-1");
    two.broker_count = 2;
    rt.start_broker(&two).await.unwrap();
    rt.start_broker(&BrokerSpec {
        broker_id: 2,
        ..two.clone()
    })
    .await
    .unwrap();
    take(&fake);

    rt.remove_broker(cid(), 2).await.unwrap();
    let sel = format!("labelSelector=sluice.dev%2Fcluster%3D{}", cid());
    let seen = take(&fake);
    assert_eq!(
        lines(&seen),
        [
            format!("GET {NS}/pods/{BASE}-broker-2"),
            format!("DELETE {NS}/pods/{BASE}-broker-2"),
            format!("GET {NS}/pods/{BASE}-broker-2"),
            format!("DELETE {NS}/persistentvolumeclaims/{BASE}-data-2"),
            format!("GET {NS}/persistentvolumeclaims"),
        ],
        "broker 1 is left: the cluster's objects stay"
    );
    assert!(seen[4].query.contains(&sel), "{}", seen[4].query);

    rt.remove_broker(cid(), 1).await.unwrap();
    let seen = take(&fake);
    assert_eq!(
        lines(&seen),
        [
            format!("GET {NS}/pods/{BASE}-broker-1"),
            format!("DELETE {NS}/pods/{BASE}-broker-1"),
            format!("GET {NS}/pods/{BASE}-broker-1"),
            format!("DELETE {NS}/persistentvolumeclaims/{BASE}-data-1"),
            format!("GET {NS}/persistentvolumeclaims"),
            format!("GET {NS}/pods"),
            format!("DELETE /apis/policy/v1beta1/namespaces/kafka/poddisruptionbudgets/{BASE}"),
            format!("DELETE {NS}/services/{BASE}-bootstrap"),
            format!("DELETE {NS}/services/{BASE}-brokers"),
            format!("DELETE {NS}/secrets/{BASE}-credentials"),
            format!("DELETE {NS}/configmaps/{BASE}"),
        ]
    );
    assert_eq!(seen.last().unwrap().body["propagationPolicy"], "Background");
    assert!(
        fake.lock().unwrap().objects.is_empty(),
        "everything is gone"
    );
    assert!(rt.observe(cid()).await.unwrap().is_empty());
    // Removing again is harmless.
    rt.remove_broker(cid(), 1).await.unwrap();
}

#[tokio::test]
async fn wait_ready_follows_the_ready_condition() {
    let (rt, fake) = runtime();
    rt.start_broker(&spec(1, "fp-1")).await.unwrap();
    let err = rt
        .wait_ready(cid(), 1, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not ready"), "{err}");
    let pod_path = format!("{NS}/pods/{BASE}-broker-1");
    fake.lock().unwrap().objects.get_mut(&pod_path).unwrap()["status"] = json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
    });
    rt.wait_ready(cid(), 1, Duration::from_secs(5))
        .await
        .unwrap();
    let b = &rt.observe(cid()).await.unwrap()[0];
    assert_eq!(b.health, Health::Healthy);
    assert_eq!(b.fingerprint, "fp-1");
    assert_eq!(
        b.host,
        format!("broker-1.{BASE}-brokers.kafka.svc.cluster.local")
    );
    assert_eq!(b.port, 9092);
}
