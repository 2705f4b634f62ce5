//! The Kubernetes runtime (`sluice-runtime-k8s`) against a real kube-apiserver 1.20 with its
//! controller manager (`.ci/k8s-testenv.sh start`): no scheduler and no kubelet, so the test
//! plays kubelet (it marks pods Running and Ready, binds one to a node, fails another) and
//! plays the storage provisioner (it marks volumes Bound). The runtime is driven step by step
//! as the reconciler's executor drives it (provision, heal = stop + start + wait, scale,
//! resize, delete), and through the full reconciler. The runtime acts as the control plane's
//! service account under the chart's RBAC, so a verb the chart does not grant fails the test.
//! Also: every object it generates validated against the Kubernetes 1.33 schemas with
//! `kubernetes-validate --strict`, and the readiness probe against a real broker.

#[allow(
    dead_code,
    reason = "the chart tests share these helpers; this test uses only some"
)]
#[path = "chart/tools.rs"]
mod tools;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sluice_reconciler::{BrokerSpec, Health, Runtime, RuntimeError};
use sluice_runtime_k8s::objects::{self, Names, PdbApi, Settings};
use sluice_runtime_k8s::{KubeConfig, KubeRuntime};
use tools::{find_all, ok, run, Apiserver};
use uuid::Uuid;

const NS: &str = "kafka";

async fn client(kubeconfig: &PathBuf) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("client config");
    kube::Client::try_from(cfg).expect("client")
}

fn spec(cluster_id: Uuid, broker_id: u32, broker_count: u32) -> BrokerSpec {
    BrokerSpec {
        cluster_id,
        broker_id,
        kafka_version: "3.7.0".into(),
        storage_gib: 10,
        cpu_millis: 1000,
        memory_mib: 2048,
        broker_count,
        zone_count: 1,
        server_properties: "num.partitions=3\n".into(),
        fingerprint: "3.7.0/-/1000m/2048Mi".into(),
    }
}

/// Polls `check` until it returns Some, or panics at the deadline.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Plays kubelet: every Sluice pod that is Pending (and not being deleted) becomes Running and
/// Ready, as if its broker answered the readiness probe.
fn kubelet(client: kube::Client, on: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(client, NS);
        let mut ip = 10u32;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !on.load(Ordering::SeqCst) {
                continue;
            }
            let Ok(list) = pods
                .list(&ListParams::default().labels(objects::LABEL_CLUSTER))
                .await
            else {
                continue;
            };
            for p in list.items {
                let phase = p.status.as_ref().and_then(|s| s.phase.clone());
                if p.metadata.deletion_timestamp.is_some()
                    || !matches!(phase.as_deref(), None | Some("Pending"))
                {
                    continue;
                }
                ip += 1;
                let status = json!({ "status": {
                    "phase": "Running",
                    "podIP": format!("10.244.0.{}", ip % 250 + 1),
                    "conditions": [{ "type": "Ready", "status": "True" }],
                } });
                let name = p.metadata.name.unwrap();
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await;
            }
        }
    })
}

async fn set_pod_status(pods: &Api<Pod>, name: &str, status: serde_json::Value) {
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await
    .expect("pod status");
}

fn uid<K: kube::Resource>(o: &K) -> String {
    o.meta().uid.clone().expect("uid")
}

/// Provisions brokers as the executor does: start them all, then wait for each.
async fn provision(rt: &KubeRuntime, specs: &[BrokerSpec]) {
    for s in specs {
        rt.start_broker(s).await.expect("start_broker");
    }
    for s in specs {
        rt.wait_ready(s.cluster_id, s.broker_id, Duration::from_secs(30))
            .await
            .expect("wait_ready");
    }
}

/// Heals a broker as the executor does: stop, start with the same id and volume, wait.
async fn heal(rt: &KubeRuntime, s: &BrokerSpec) {
    rt.stop_broker(s.cluster_id, s.broker_id)
        .await
        .expect("stop_broker");
    provision(rt, std::slice::from_ref(s)).await;
}

/// A started apiserver with the namespace `kafka`, two storage classes (`expandable` with
/// allowVolumeExpansion, `fixed` without) and the chart's RBAC for the control plane's service
/// account `sluice/sluice` managing `kafka`. Returns the admin client (the test's own moves)
/// and a client acting as that service account (the runtime's), so every request the runtime
/// makes is checked against the chart's Roles. `None`: the tools are missing (skip).
async fn setup() -> Option<(Apiserver, kube::Client, kube::Client)> {
    let [_, _, _, helm, kubectl] = find_all([
        "kube-apiserver",
        "kube-controller-manager",
        "etcd",
        "helm",
        "kubectl",
    ])?;
    let server = Apiserver::start("sluice-k8s-rt-");
    let client = client(&server.kubeconfig()).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap(),
        )
        .await
        .expect("namespace");
    let classes: Api<StorageClass> = Api::all(client.clone());
    for (name, expand) in [("expandable", Some(true)), ("fixed", None)] {
        let mut sc = json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name}, "provisioner": "example.com/test",
        });
        if let Some(e) = expand {
            sc["allowVolumeExpansion"] = json!(e);
        }
        classes
            .create(&PostParams::default(), &serde_json::from_value(sc).unwrap())
            .await
            .expect("storage class");
    }
    let rbac = ok(
        Command::new(&helm)
            .args(["template", "sluice"])
            .arg(tools::chart_dir())
            .args(["-n", "sluice", "-s", "templates/rbac.yaml", "-f"])
            .arg(tools::chart_dir().join("tests/values/default.yaml"))
            .args(["--set", "rbac.namespaces={kafka}"]),
        None,
    );
    ok(
        Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(server.kubeconfig())
            .args(["apply", "-f", "-"]),
        Some(rbac.as_bytes()),
    );
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("client config");
    cfg.auth_info.impersonate = Some("system:serviceaccount:sluice:sluice".into());
    let as_sluice = kube::Client::try_from(cfg).expect("client");
    // The impersonation holds: the service account may not read secrets.
    let denied = Api::<Secret>::namespaced(as_sluice.clone(), NS)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&denied, kube::Error::Api(s) if s.code == 403),
        "{denied}"
    );
    Some((server, client, as_sluice))
}

fn test_config() -> KubeConfig {
    let mut cfg = KubeConfig::new(NS, "sluice/sluice-broker:test");
    cfg.storage_class = Some("expandable".into());
    cfg.probe_brokers = false;
    cfg.stop_timeout = Duration::from_secs(3);
    cfg.start_grace = Duration::from_secs(30);
    cfg.poll_interval = Duration::from_millis(100);
    cfg
}

#[tokio::test]
async fn the_kubernetes_runtime_runs_brokers_on_a_real_apiserver() {
    let Some((_server, client, as_sluice)) = setup().await else {
        return;
    };
    let cfg = test_config();
    let rt = KubeRuntime::connect(as_sluice.clone(), cfg.clone())
        .await
        .expect("connect");
    assert_eq!(
        rt.settings().pdb_api,
        PdbApi::V1beta1,
        "1.20 serves PodDisruptionBudgets as policy/v1beta1 only"
    );

    // The reconciler's wake-ups: the watches see the cluster's pods and volumes change.
    let woken: Arc<Mutex<BTreeSet<Uuid>>> = Arc::default();
    let mut wakes = rt.wakes().expect("the runtime has a change feed");
    let w = woken.clone();
    let watch_task = tokio::spawn(async move {
        while let Some(id) = wakes.next().await {
            w.lock().unwrap().insert(id);
        }
    });
    let kubelet_on = Arc::new(AtomicBool::new(true));
    let kubelet_task = kubelet(client.clone(), kubelet_on.clone());

    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let pdbs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "policy",
            "v1beta1",
            "PodDisruptionBudget",
        )),
    );

    // --- Create: three brokers.
    let cid = Uuid::now_v7();
    let names = Names::new(cid);
    let specs: Vec<BrokerSpec> = (1..=3).map(|id| spec(cid, id, 3)).collect();
    provision(&rt, &specs).await;
    let observed = rt.observe(cid).await.unwrap();
    assert_eq!(observed.len(), 3);
    assert!(
        observed.iter().all(|b| b.health == Health::Healthy),
        "{observed:?}"
    );

    let cm = config_maps.get(&names.config_map()).await.unwrap();
    let owner_uid = uid(&cm);
    let props = cm.data.as_ref().unwrap()["server.properties"].clone();
    assert!(props.contains("num.partitions=3\n"), "{props}");
    let host = |id: u32| format!("broker-{id}.{}.{NS}.svc.cluster.local", names.headless());
    assert!(
        props.contains(&format!(
            "controller.quorum.voters=1@{}:9093,2@{}:9093,3@{}:9093\n",
            host(1),
            host(2),
            host(3)
        )),
        "{props}"
    );
    let owned = |meta: &kube::api::ObjectMeta| {
        let refs = meta.owner_references.clone().unwrap_or_default();
        assert_eq!(refs.len(), 1, "{:?}", meta.name);
        assert_eq!(refs[0].uid, owner_uid, "{:?}", meta.name);
        assert_eq!(refs[0].kind, "ConfigMap");
        let labels = meta.labels.clone().unwrap_or_default();
        assert_eq!(labels[objects::LABEL_CLUSTER], cid.to_string());
        assert_eq!(labels["app.kubernetes.io/managed-by"], "sluice");
        // Server-side apply recorded one field manager.
        let managers: BTreeSet<String> = meta
            .managed_fields
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert!(managers.contains("sluice"), "{:?}: {managers:?}", meta.name);
    };
    for id in 1..=3 {
        let p = pods.get(&names.pod(id)).await.unwrap();
        owned(&p.metadata);
        let ps = p.spec.as_ref().unwrap();
        assert_eq!(
            ps.hostname.as_deref(),
            Some(format!("broker-{id}").as_str())
        );
        assert_eq!(ps.subdomain.as_deref(), Some(names.headless().as_str()));
        let c = &ps.containers[0];
        let res = c.resources.as_ref().unwrap();
        assert_eq!(res.requests.as_ref().unwrap()["cpu"].0, "1");
        assert_eq!(res.limits.as_ref().unwrap()["memory"].0, "2Gi");
        assert!(c.readiness_probe.as_ref().unwrap().exec.is_some());
        let claim = ps.volumes.as_ref().unwrap()[0]
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name
            .clone();
        assert_eq!(claim, names.pvc(id));
        let v = pvcs.get(&names.pvc(id)).await.unwrap();
        owned(&v.metadata);
        let vs = v.spec.as_ref().unwrap();
        assert_eq!(vs.storage_class_name.as_deref(), Some("expandable"));
        assert_eq!(
            vs.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"].0,
            "10Gi"
        );
    }
    let headless = services.get(&names.headless()).await.unwrap();
    owned(&headless.metadata);
    let hs = headless.spec.as_ref().unwrap();
    assert_eq!(hs.cluster_ip.as_deref(), Some("None"));
    assert_eq!(hs.publish_not_ready_addresses, Some(true));
    let bootstrap = services.get(&names.bootstrap()).await.unwrap();
    owned(&bootstrap.metadata);
    assert!(bootstrap
        .spec
        .as_ref()
        .unwrap()
        .cluster_ip
        .as_deref()
        .is_some_and(|ip| ip.starts_with("10.96.")));
    owned(&secrets.get(&names.secret()).await.unwrap().metadata);
    let pdb = pdbs.get(&names.pdb()).await.unwrap();
    owned(&pdb.metadata);
    assert_eq!(pdb.data["spec"]["maxUnavailable"], 1);

    // Starting a running broker again changes nothing.
    let before = uid(&pods.get(&names.pod(1)).await.unwrap());
    rt.start_broker(&specs[0]).await.unwrap();
    assert_eq!(uid(&pods.get(&names.pod(1)).await.unwrap()), before);

    // --- Zone: broker 1 is scheduled on a node in zone-a; the runtime records the zone on the
    // pod (its launch script reads it as broker.rack through the downward API).
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "node-a",
                "labels": {"topology.kubernetes.io/zone": "zone-a"}}}))
            .unwrap(),
        )
        .await
        .expect("node");
    let binding = json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": names.pod(1)},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}});
    pods.create_subresource::<serde_json::Value, serde_json::Value>(
        "binding",
        &names.pod(1),
        &PostParams::default(),
        &binding,
    )
    .await
    .expect("binding");
    let b1 = rt.observe(cid).await.unwrap().remove(0);
    assert_eq!(b1.zone.as_deref(), Some("zone-a"));
    let p1 = pods.get(&names.pod(1)).await.unwrap();
    assert_eq!(
        p1.metadata.annotations.as_ref().unwrap()[objects::ANN_ZONE],
        "zone-a"
    );

    // --- A pod marked Failed is replaced, on the same volume.
    let pvc2 = uid(&pvcs.get(&names.pvc(2)).await.unwrap());
    let pod2 = uid(&pods.get(&names.pod(2)).await.unwrap());
    set_pod_status(
        &pods,
        &names.pod(2),
        json!({"phase": "Failed", "conditions": []}),
    )
    .await;
    let b2 = rt.observe(cid).await.unwrap().remove(1);
    assert_eq!(b2.health, Health::Dead);
    heal(&rt, &specs[1]).await;
    let new2 = pods.get(&names.pod(2)).await.unwrap();
    assert_ne!(uid(&new2), pod2, "a new pod");
    assert_eq!(
        uid(&pvcs.get(&names.pvc(2)).await.unwrap()),
        pvc2,
        "the same volume"
    );
    assert_eq!(rt.observe(cid).await.unwrap()[1].health, Health::Healthy);

    // --- A pod whose node is gone is replaced (forcibly deleted: no kubelet would confirm).
    nodes.delete("node-a", &Default::default()).await.unwrap();
    assert_eq!(rt.observe(cid).await.unwrap()[0].health, Health::Dead);
    heal(&rt, &specs[0]).await;
    assert_ne!(uid(&pods.get(&names.pod(1)).await.unwrap()), before);
    assert_eq!(rt.observe(cid).await.unwrap()[0].health, Health::Healthy);

    // --- Scale out to four, then back to three.
    let four: Vec<BrokerSpec> = (1..=4).map(|id| spec(cid, id, 4)).collect();
    provision(&rt, &four).await;
    assert_eq!(rt.observe(cid).await.unwrap().len(), 4);
    let props = config_maps
        .get(&names.config_map())
        .await
        .unwrap()
        .data
        .unwrap()["server.properties"]
        .clone();
    // The quorum's voters are fixed at creation: broker 4 joins as a learner.
    assert!(
        props.contains(&format!(
            "controller.quorum.voters=1@{}:9093,2@{}:9093,3@{}:9093\n",
            host(1),
            host(2),
            host(3)
        )),
        "{props}"
    );
    assert!(!props.contains(&format!("4@{}", host(4))), "{props}");
    rt.remove_broker(cid, 4).await.unwrap();
    assert!(pods.get_opt(&names.pod(4)).await.unwrap().is_none());
    eventually(
        "the fourth volume to go",
        Duration::from_secs(60),
        || async {
            // kube-controller-manager's pvc-protection controller lifts the finalizer.
            pvcs.get_opt(&names.pvc(4))
                .await
                .unwrap()
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert_eq!(rt.observe(cid).await.unwrap().len(), 3);
    config_maps
        .get(&names.config_map())
        .await
        .expect("the cluster's objects stay");

    // --- Storage grow, on a class that allows it. The apiserver only lets a bound claim grow:
    // the test plays the provisioner and binds the volume first.
    pvcs.patch_status(
        &names.pvc(3),
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"phase": "Bound",
            "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}})),
    )
    .await
    .unwrap();
    let mut big = specs[2].clone();
    big.storage_gib = 20;
    rt.resize_storage(&big).await.expect("resize");
    let v3 = pvcs.get(&names.pvc(3)).await.unwrap();
    assert_eq!(
        v3.spec.unwrap().resources.unwrap().requests.unwrap()["storage"].0,
        "20Gi"
    );
    assert_eq!(rt.observe(cid).await.unwrap()[2].storage_gib, 20);

    // ... and on one that does not: a clear error, the claim untouched.
    let mut fixed_cfg = cfg.clone();
    fixed_cfg.storage_class = Some("fixed".into());
    let fixed_rt = KubeRuntime::new(as_sluice.clone(), fixed_cfg, PdbApi::V1beta1);
    let other = Uuid::now_v7();
    let other_names = Names::new(other);
    provision(&fixed_rt, &[spec(other, 1, 1)]).await;
    let mut grow = spec(other, 1, 1);
    grow.storage_gib = 20;
    let err = fixed_rt.resize_storage(&grow).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::CannotResize { reason, .. }
            if reason.contains("storage class fixed does not allow volume expansion")),
        "{err}"
    );
    let v = pvcs.get(&other_names.pvc(1)).await.unwrap();
    assert_eq!(
        v.spec.unwrap().resources.unwrap().requests.unwrap()["storage"].0,
        "10Gi"
    );

    // --- Owner references: deleting the owner ConfigMap alone lets the garbage collector
    // (kube-controller-manager) remove the rest of that cluster.
    config_maps
        .delete(&other_names.config_map(), &Default::default())
        .await
        .unwrap();
    let sel = ListParams::default().labels(&other_names.selector());
    eventually(
        "the garbage collector to remove the cluster",
        Duration::from_secs(90),
        || async {
            let left = pods.list(&sel).await.unwrap().items.len()
                + pvcs.list(&sel).await.unwrap().items.len()
                + services.list(&sel).await.unwrap().items.len()
                + secrets.list(&sel).await.unwrap().items.len()
                + pdbs.list(&sel).await.unwrap().items.len();
            (left == 0).then_some(())
        },
    )
    .await;

    // --- Delete (the executor's DELETE_BROKERS: remove every observed broker).
    for b in rt.observe(cid).await.unwrap() {
        rt.remove_broker(cid, b.broker_id).await.unwrap();
    }
    let sel = ListParams::default().labels(&names.selector());
    eventually(
        "every object of the cluster to go",
        Duration::from_secs(60),
        || async {
            let left = pods.list(&sel).await.unwrap().items.len()
                + pvcs.list(&sel).await.unwrap().items.len()
                + services.list(&sel).await.unwrap().items.len()
                + secrets.list(&sel).await.unwrap().items.len()
                + config_maps.list(&sel).await.unwrap().items.len()
                + pdbs.list(&sel).await.unwrap().items.len();
            (left == 0).then_some(())
        },
    )
    .await;
    assert!(rt.observe(cid).await.unwrap().is_empty());

    let woken = woken.lock().unwrap().clone();
    assert!(
        woken.contains(&cid),
        "the watches woke the cluster: {woken:?}"
    );
    assert!(woken.contains(&other));
    kubelet_on.store(false, Ordering::SeqCst);
    kubelet_task.abort();
    watch_task.abort();
}

/// Every object the runtime generates is valid for Kubernetes 1.33 (strict: no unknown
/// fields). The 1.20 rendition (policy/v1beta1 PodDisruptionBudget) is checked by the real
/// apiserver above.
#[test]
fn generated_objects_validate_against_kubernetes_1_33() {
    let Some([validate]) = find_all(["kubernetes-validate"]) else {
        return;
    };
    let settings = Settings {
        namespace: NS.into(),
        broker_image: "sluice/sluice-broker:0.1.0".into(),
        image_pull_policy: Some("IfNotPresent".into()),
        storage_class: Some("fast".into()),
        cluster_domain: "cluster.local".into(),
        pdb_api: PdbApi::V1,
    };
    let mut three_zones = spec(Uuid::now_v7(), 1, 3);
    three_zones.zone_count = 3;
    let mut docs = objects::all(&three_zones, &settings);
    // Without a storage class and with one zone, too.
    let plain = Settings {
        storage_class: None,
        image_pull_policy: None,
        ..settings.clone()
    };
    docs.extend(objects::all(&spec(Uuid::now_v7(), 1, 1), &plain));
    let stream: String = docs
        .iter()
        .map(|d| format!("---\n{}\n", serde_json::to_string_pretty(d).unwrap()))
        .collect();
    let out = run(
        Command::new(&validate).args(["-k", "1.33.0", "--strict", "-"]),
        Some(stream.as_bytes()),
    );
    assert!(
        out.status.success(),
        "kubernetes-validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        report.matches("passed for resource").count(),
        docs.len(),
        "one PASSED per object:\n{report}"
    );
}

/// The whole control plane on Kubernetes: REST API + reconciler (woken by the runtime's
/// watches) + the Kubernetes runtime, against a real Postgres and apiserver: create → ACTIVE
/// with three pods, a failed pod healed (HEALING → ACTIVE, a new pod on the same volume), delete
/// → every object gone.
#[sqlx::test(migrations = "../migrations")]
async fn the_reconciler_drives_a_cluster_on_a_real_apiserver(pool: sqlx::PgPool) {
    let Some((_server, client, as_sluice)) = setup().await else {
        return;
    };
    let store = sluice_store::Store::from_pool(pool);
    let api = sluice_e2e::Api::start(&store).await;
    let rt = KubeRuntime::connect(as_sluice, test_config())
        .await
        .expect("connect");
    let rec = sluice_reconciler::Reconciler::new(
        store.clone(),
        Arc::new(rt),
        sluice_e2e::test_context("k8s-e2e"),
    );
    let reconciler = tokio::spawn(async move { rec.run().await.expect("reconciler") });
    let kubelet_task = kubelet(client.clone(), Arc::new(AtomicBool::new(true)));
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);

    let (s, created) = api
        .call(
            reqwest::Method::POST,
            "/v1/clusters",
            Some(json!({"name": "orders", "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 10})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    let cid: Uuid = id.parse().unwrap();
    let names = Names::new(cid);
    let active = || async {
        let c = api.get(&format!("/v1/clusters/{id}")).await;
        (c["state"] == "ACTIVE").then_some(c)
    };
    eventually("create → ACTIVE", Duration::from_secs(90), active).await;
    for b in 1..=3 {
        let p = pods.get(&names.pod(b)).await.unwrap();
        assert_eq!(
            p.spec.unwrap().containers[0]
                .resources
                .clone()
                .unwrap()
                .requests
                .unwrap()["memory"]
                .0,
            "8Gi",
            "kafka.m5.large"
        );
    }

    // A pod fails: the reconciler notices, heals it on the same volume, and is ACTIVE again.
    let pod2 = uid(&pods.get(&names.pod(2)).await.unwrap());
    let pvc2 = uid(&pvcs.get(&names.pvc(2)).await.unwrap());
    set_pod_status(
        &pods,
        &names.pod(2),
        json!({"phase": "Failed", "conditions": []}),
    )
    .await;
    eventually(
        "the failed pod replaced",
        Duration::from_secs(90),
        || async {
            let p = pods.get_opt(&names.pod(2)).await.unwrap()?;
            (uid(&p) != pod2).then_some(())
        },
    )
    .await;
    eventually("ACTIVE after the heal", Duration::from_secs(90), active).await;
    assert_eq!(uid(&pvcs.get(&names.pvc(2)).await.unwrap()), pvc2);
    let op = api
        .get(&format!("/v1/clusters/{id}/operations?max_results=1"))
        .await["operations"][0]
        .clone();
    assert_eq!(op["operation_type"], "HEAL_CLUSTER", "{op}");

    // Delete: the cluster and every object go.
    let (s, body) = api
        .call(reqwest::Method::DELETE, &format!("/v1/clusters/{id}"), None)
        .await;
    assert!(s == 202 || s == 200, "{s} {body}");
    let sel = ListParams::default().labels(&names.selector());
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    eventually("every object deleted", Duration::from_secs(90), || async {
        let left = pods.list(&sel).await.unwrap().items.len()
            + pvcs.list(&sel).await.unwrap().items.len()
            + config_maps.list(&sel).await.unwrap().items.len();
        (left == 0).then_some(())
    })
    .await;
    eventually("the cluster gone", Duration::from_secs(30), || async {
        let (s, _) = api
            .call(reqwest::Method::GET, &format!("/v1/clusters/{id}"), None)
            .await;
        (s == 404).then_some(())
    })
    .await;
    reconciler.abort();
    kubelet_task.abort();
}

/// The pods' readiness probe is a shell script speaking Kafka (ApiVersions over bash's
/// /dev/tcp): it passes against a real `sluice-broker` and fails where no broker answers.
#[test]
fn the_readiness_probe_passes_against_a_real_broker() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let mut broker = Command::new(sluice_e2e::broker_bin())
        .args(["--node-id", "1", "--listeners"])
        .arg(format!("PLAINTEXT://127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sluice-broker");
    let probe = |port: u16| {
        Command::new("bash")
            .arg("-c")
            .arg(objects::READINESS_SCRIPT.replace("/9092", &format!("/{port}")))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut passed = false;
    while Instant::now() < deadline {
        if probe(port) {
            passed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = broker.kill();
    let _ = broker.wait();
    assert!(
        passed,
        "the probe never passed against the broker on port {port}"
    );
    assert!(!probe(port), "nothing listens any more: the probe fails");
}

/// The pods' launch script (paths moved to a temp dir, the broker replaced by `cat`): the
/// zone the runtime recorded on the pod becomes `broker.rack`; `-` (no zone label) adds none;
/// the admin secret is copied to a file only its owner may read.
#[test]
fn the_launch_script_adds_the_zone_as_broker_rack() {
    for (zone, rack) in [("zone-b\n", "broker.rack=zone-b\n"), ("-", "")] {
        let dir = tempfile::tempdir().unwrap();
        let sub = |name: &str| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(&p).unwrap();
            p.display().to_string()
        };
        let (pod, config, run_dir) = (sub("pod"), sub("config"), sub("run"));
        let credentials = sub("credentials");
        std::fs::write(format!("{credentials}/admin-secret"), "ab".repeat(32)).unwrap();
        std::fs::write(format!("{pod}/zone"), zone).unwrap();
        std::fs::write(
            format!("{config}/server.properties"),
            "cluster.id=c\nnum.partitions=3\n",
        )
        .unwrap();
        let script = objects::LAUNCH_SCRIPT
            .replace("/etc/sluice/pod", &pod)
            .replace("/etc/sluice/config", &config)
            .replace("/etc/sluice/credentials", &credentials)
            .replace("/run/sluice", &run_dir)
            .replace("exec /usr/local/bin/sluice-broker --config", "exec cat");
        let out = ok(Command::new("sh").arg("-c").arg(&script), None);
        assert_eq!(out, format!("cluster.id=c\nnum.partitions=3\n{rack}"));
        // The admin secret, copied where only the broker's user may read it.
        let copied = format!("{run_dir}/admin.secret");
        assert_eq!(std::fs::read_to_string(&copied).unwrap(), "ab".repeat(32));
        let mode = std::fs::metadata(&copied).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);
    }
}
