//! [`KubeRuntime`]: the reconciler's [`Runtime`] over the Kubernetes API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, PropagationPolicy,
};
use kube::Client;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sluice_reconciler::runtime::BrokerSpec;
use sluice_reconciler::RuntimeError;
use uuid::Uuid;

use crate::objects::{self, Names, PdbApi, Settings};

mod brokers;
mod pods;

pub use pods::pod_health;
use pods::*;

/// Timeout of one Kafka admin exchange with a broker (Metadata, AlterPartitionReassignments).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the Kubernetes runtime.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// The namespace brokers of every cluster live in.
    pub namespace: String,
    /// The `sluice-broker` image.
    pub broker_image: String,
    pub image_pull_policy: Option<String>,
    /// The storage class of broker volumes; `None` uses the cluster's default class.
    pub storage_class: Option<String>,
    /// The cluster's DNS domain, for brokers' names.
    pub cluster_domain: String,
    /// How long a new pod may take to become ready before it counts as unresponsive.
    pub start_grace: Duration,
    /// How long a pod may take to shut down (controlled) before it is deleted forcibly.
    pub stop_timeout: Duration,
    /// Ask ready brokers over the Kafka protocol (pod IPs, so the control plane runs in the
    /// cluster) which partitions they hold, whether the cluster is safe to restart a broker of
    /// and which is the controller, and drain and rebalance through partition reassignment.
    /// Without it, a broker's partitions are unknown (removing one stays blocked), the restart
    /// gate is pod readiness alone, and a scale-out does not move replicas.
    pub probe_brokers: bool,
    pub probe_timeout: Duration,
    /// How often `wait_ready` looks at the pod.
    pub poll_interval: Duration,
}

impl KubeConfig {
    pub fn new(namespace: impl Into<String>, broker_image: impl Into<String>) -> KubeConfig {
        KubeConfig {
            namespace: namespace.into(),
            broker_image: broker_image.into(),
            image_pull_policy: None,
            storage_class: None,
            cluster_domain: "cluster.local".into(),
            // The launch script may wait up to 2 minutes for the zone annotation.
            start_grace: Duration::from_secs(180),
            stop_timeout: Duration::from_secs(75),
            probe_brokers: true,
            probe_timeout: Duration::from_millis(1500),
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// Brokers as pods with persistent volume claims. See the crate docs for the objects and the
/// invariants.
#[derive(Clone)]
pub struct KubeRuntime {
    client: Client,
    cfg: KubeConfig,
    settings: Settings,
}

impl std::fmt::Debug for KubeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRuntime")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl KubeRuntime {
    /// A runtime for a server whose PodDisruptionBudget API is known.
    pub fn new(client: Client, cfg: KubeConfig, pdb_api: PdbApi) -> KubeRuntime {
        let settings = Settings {
            namespace: cfg.namespace.clone(),
            broker_image: cfg.broker_image.clone(),
            image_pull_policy: cfg.image_pull_policy.clone(),
            storage_class: cfg.storage_class.clone(),
            cluster_domain: cfg.cluster_domain.clone(),
            pdb_api,
        };
        KubeRuntime {
            client,
            cfg,
            settings,
        }
    }

    /// A runtime for the server `client` talks to: asks its version (for the
    /// PodDisruptionBudget API) and fails early if the server cannot be reached.
    pub async fn connect(client: Client, cfg: KubeConfig) -> Result<KubeRuntime, RuntimeError> {
        let v = client
            .apiserver_version()
            .await
            .map_err(api_err("asking the Kubernetes API server its version"))?;
        let pdb = PdbApi::for_server(&v.major, &v.minor);
        tracing::info!(server = %v.git_version, pdb = pdb.api_version(), namespace = %cfg.namespace, "Kubernetes runtime connected");
        Ok(KubeRuntime::new(client, cfg, pdb))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn ns<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.cfg.namespace)
    }

    fn pdbs(&self) -> Api<DynamicObject> {
        let (group, version) = self
            .settings
            .pdb_api
            .api_version()
            .split_once('/')
            .expect("group/version");
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            group,
            version,
            "PodDisruptionBudget",
        ));
        Api::namespaced_with(self.client.clone(), &self.cfg.namespace, &ar)
    }

    async fn apply<K>(&self, api: &Api<K>, obj: &Value) -> Result<K, RuntimeError>
    where
        K: Clone + DeserializeOwned + std::fmt::Debug,
    {
        let name = obj["metadata"]["name"].as_str().expect("objects are named");
        let what = format!(
            "applying {} {name}",
            obj["kind"].as_str().unwrap_or("object")
        );
        let pp = PatchParams::apply(objects::FIELD_MANAGER).force();
        api.patch(name, &pp, &Patch::Apply(obj))
            .await
            .map_err(api_err(what))
    }

    /// The cluster-wide objects: the owner ConfigMap (its properties follow the spec), the
    /// credentials Secret (made once), the Services and the PodDisruptionBudget. Returns the
    /// owner reference for the brokers' objects.
    async fn ensure_cluster(&self, spec: &BrokerSpec) -> Result<Value, RuntimeError> {
        let names = Names::new(spec.cluster_id);
        let s = &self.settings;
        // The quorum's voters are chosen with the cluster's first broker and never change
        // (Raft membership is fixed at first start): read back what the ConfigMap recorded.
        let existing = self
            .ns::<ConfigMap>()
            .get_opt(&names.config_map())
            .await
            .map_err(api_err(format!("reading ConfigMap {}", names.config_map())))?;
        let voters = existing
            .as_ref()
            .and_then(|cm| cm.metadata.annotations.as_ref())
            .and_then(|a| a.get(objects::ANN_QUORUM_VOTERS))
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|v| *v >= 1)
            .unwrap_or_else(|| objects::initial_voters(spec.broker_count));
        let cm: ConfigMap = self
            .apply(&self.ns(), &objects::config_map(spec, s, voters))
            .await?;
        let uid = cm.metadata.uid.ok_or_else(|| RuntimeError::Platform {
            what: format!("applying ConfigMap {}", names.config_map()),
            message: "the answer has no uid".into(),
        })?;
        let owner = objects::owner_reference(&names, &uid);
        let password: String = (0..2)
            .map(|_| Uuid::new_v4().simple().to_string())
            .collect();
        let admin_secret = random_hex(32).map_err(|e| RuntimeError::Platform {
            what: "generating the cluster's admin secret".into(),
            message: e.to_string(),
        })?;
        let secret: Secret = serde_json::from_value(objects::secret(
            spec.cluster_id,
            s,
            &owner,
            &password,
            &admin_secret,
        ))
        .expect("a Secret");
        match self
            .ns::<Secret>()
            .create(
                &PostParams {
                    field_manager: Some(objects::FIELD_MANAGER.into()),
                    ..Default::default()
                },
                &secret,
            )
            .await
        {
            Ok(_) => {}
            Err(e) if code(&e) == Some(409) => {} // made before: credentials never change
            Err(e) => return Err(api_err(format!("creating Secret {}", names.secret()))(e)),
        }
        let svc = self.ns::<Service>();
        self.apply(&svc, &objects::headless_service(spec.cluster_id, s, &owner))
            .await?;
        self.apply(
            &svc,
            &objects::bootstrap_service(spec.cluster_id, s, &owner),
        )
        .await?;
        self.apply(
            &self.pdbs(),
            &objects::pod_disruption_budget(spec.cluster_id, s, &owner),
        )
        .await?;
        Ok(owner)
    }

    /// Whether the pod is bound to a node that no longer exists. A control plane not allowed to
    /// read nodes assumes the node is there.
    async fn node_gone(&self, p: &Pod) -> bool {
        let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            return false;
        };
        match Api::<Node>::all(self.client.clone()).get_opt(node).await {
            Ok(n) => n.is_none(),
            Err(e) => {
                tracing::debug!(node, error = %e, "cannot read the node");
                false
            }
        }
    }

    /// The zone of a scheduled pod's node, recorded on the pod (`sluice.dev/zone`) for its
    /// launch script (through the downward API) and for observers. `None` until scheduled.
    async fn zone(&self, p: &Pod, nodes: &mut HashMap<String, Option<Node>>) -> Option<String> {
        let ann = p
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(objects::ANN_ZONE));
        if let Some(z) = ann {
            return (z != objects::NO_ZONE).then(|| z.clone());
        }
        let node_name = p.spec.as_ref()?.node_name.clone()?;
        if !nodes.contains_key(&node_name) {
            let n = Api::<Node>::all(self.client.clone())
                .get_opt(&node_name)
                .await
                .unwrap_or_else(|e| {
                    tracing::debug!(node = %node_name, error = %e, "cannot read the node");
                    None
                });
            nodes.insert(node_name.clone(), n);
        }
        let node = nodes.get(&node_name)?.as_ref()?;
        let zone = zone_of(node);
        let name = p.metadata.name.as_deref()?;
        let patch = json!({ "metadata": { "annotations": {
            objects::ANN_ZONE: zone.as_deref().unwrap_or(objects::NO_ZONE)
        } } });
        let pp = PatchParams {
            field_manager: Some(objects::FIELD_MANAGER.into()),
            ..Default::default()
        };
        if let Err(e) = self
            .ns::<Pod>()
            .patch(name, &pp, &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(pod = name, error = %e, "recording the node's zone on the pod");
        }
        zone
    }

    /// Kafka addresses (pod IPs) of the cluster's ready brokers, lowest id first.
    async fn kafka_addrs(&self, cluster_id: Uuid) -> Result<Vec<SocketAddr>, RuntimeError> {
        let lp = ListParams::default().labels(&Names::new(cluster_id).selector());
        let pods = self
            .ns::<Pod>()
            .list(&lp)
            .await
            .map_err(api_err("listing Pods"))?;
        let mut out: Vec<(u32, SocketAddr)> = pods
            .items
            .iter()
            .filter(|p| pod_ready(p) && !pod_terminal(p))
            .filter_map(|p| {
                let id = broker_label(&p.metadata)?;
                let ip: std::net::IpAddr = p.status.as_ref()?.pod_ip.as_ref()?.parse().ok()?;
                Some((id, SocketAddr::new(ip, objects::KAFKA_PORT)))
            })
            .collect();
        out.sort_by_key(|(id, _)| *id);
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    async fn partitions(&self, p: &Pod, broker_id: u32) -> Option<u32> {
        if !self.cfg.probe_brokers {
            return None;
        }
        let ip: std::net::IpAddr = p.status.as_ref()?.pod_ip.as_ref()?.parse().ok()?;
        let addr = SocketAddr::new(ip, objects::KAFKA_PORT);
        match sluice_reconciler::probe::probe(addr, broker_id as i32, self.cfg.probe_timeout).await
        {
            Ok(r) => Some(r.partitions),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "asking the broker for its partitions");
                None
            }
        }
    }

    /// Deletes the broker's pod and waits until it is gone: gracefully (the broker's controlled
    /// shutdown, `terminationGracePeriodSeconds`), forcibly after `stop_timeout`, and at once
    /// when the pod already finished or its node is gone (nothing would ever confirm it).
    async fn delete_pod(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        let name = Names::new(cluster_id).pod(broker_id);
        let pods = self.ns::<Pod>();
        let what = format!("deleting Pod {name}");
        let Some(p) = pods.get_opt(&name).await.map_err(api_err(&what))? else {
            return Ok(());
        };
        let force = matches!(pod_phase(&p), "Failed" | "Succeeded") || self.node_gone(&p).await;
        let uid = p.metadata.uid.clone();
        let dp = if force {
            DeleteParams::default().grace_period(0)
        } else {
            DeleteParams::default()
        };
        gone_ok(pods.delete(&name, &dp).await, &what)?;
        let still_there = |p: Option<Pod>| p.is_some_and(|p| p.metadata.uid == uid);
        let deadline = tokio::time::Instant::now() + self.cfg.stop_timeout;
        let mut forced = force;
        loop {
            if !still_there(pods.get_opt(&name).await.map_err(api_err(&what))?) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                if forced {
                    return Err(RuntimeError::StopTimeout {
                        cluster_id,
                        broker_id,
                        secs: self.cfg.stop_timeout.as_secs() * 2,
                    });
                }
                tracing::warn!(pod = %name, "controlled shutdown timed out; deleting the pod forcibly");
                gone_ok(
                    pods.delete(&name, &DeleteParams::default().grace_period(0))
                        .await,
                    &what,
                )?;
                forced = true;
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }

    /// Deletes what belongs to the whole cluster. The ConfigMap owns everything, so the garbage
    /// collector removes whatever this misses.
    async fn delete_cluster_objects(&self, cluster_id: Uuid) -> Result<(), RuntimeError> {
        let n = Names::new(cluster_id);
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        let d = |kind: &str, name: &str| format!("deleting {kind} {name}");
        gone_ok(
            self.pdbs().delete(&n.pdb(), &dp).await,
            &d("PodDisruptionBudget", &n.pdb()),
        )?;
        let svc = self.ns::<Service>();
        gone_ok(
            svc.delete(&n.bootstrap(), &dp).await,
            &d("Service", &n.bootstrap()),
        )?;
        gone_ok(
            svc.delete(&n.headless(), &dp).await,
            &d("Service", &n.headless()),
        )?;
        gone_ok(
            self.ns::<Secret>().delete(&n.secret(), &dp).await,
            &d("Secret", &n.secret()),
        )?;
        gone_ok(
            self.ns::<ConfigMap>().delete(&n.config_map(), &dp).await,
            &d("ConfigMap", &n.config_map()),
        )?;
        tracing::info!(%cluster_id, "cluster objects deleted");
        Ok(())
    }

    /// Whether any pod or (not terminating) volume of the cluster is left.
    async fn any_broker_left(&self, cluster_id: Uuid) -> Result<bool, RuntimeError> {
        let lp = ListParams::default().labels(&Names::new(cluster_id).selector());
        let pvcs = self
            .ns::<PersistentVolumeClaim>()
            .list(&lp)
            .await
            .map_err(api_err("listing PersistentVolumeClaims"))?;
        if pvcs
            .items
            .iter()
            .any(|p| p.metadata.deletion_timestamp.is_none())
        {
            return Ok(true);
        }
        let pods = self
            .ns::<Pod>()
            .list(&lp)
            .await
            .map_err(api_err("listing Pods"))?;
        Ok(!pods.items.is_empty())
    }

    /// The storage class a volume uses: its own, or the cluster's default one.
    async fn storage_class_of(
        &self,
        pvc: &PersistentVolumeClaim,
    ) -> Result<Option<String>, RuntimeError> {
        if let Some(c) = pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone()) {
            return Ok(Some(c));
        }
        let classes = Api::<StorageClass>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(api_err("listing StorageClasses"))?;
        const DEFAULT: [&str; 2] = [
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ];
        Ok(classes
            .items
            .into_iter()
            .find(|c| {
                c.metadata.annotations.as_ref().is_some_and(|a| {
                    DEFAULT
                        .iter()
                        .any(|k| a.get(*k).is_some_and(|v| v == "true"))
                })
            })
            .and_then(|c| c.metadata.name))
    }
}

/// `bytes` bytes from the OS's random source, as lowercase hex.
fn random_hex(bytes: usize) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
