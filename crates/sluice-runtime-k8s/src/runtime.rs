//! [`KubeRuntime`]: the reconciler's [`Runtime`] over the Kubernetes API.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, PropagationPolicy,
};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sluice_reconciler::runtime::{BrokerSpec, Health, ObservedBroker, Runtime};
use sluice_reconciler::KafkaAdmin;
use sluice_reconciler::RuntimeError;
use uuid::Uuid;

use crate::objects::{self, Names, PdbApi, Settings};

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

fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> RuntimeError {
    let what = what.into();
    move |e| RuntimeError::Platform {
        what,
        message: match &e {
            kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
            other => other.to_string(),
        },
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// `Ok(())` for a delete of something already gone.
fn gone_ok<T>(r: Result<T, kube::Error>, what: &str) -> Result<(), RuntimeError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some(404) => Ok(()),
        Err(e) => Err(api_err(what)(e)),
    }
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// A pod that will never serve again: finished, or being deleted.
fn pod_terminal(p: &Pod) -> bool {
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

fn broker_label(meta: &kube::api::ObjectMeta) -> Option<u32> {
    meta.labels
        .as_ref()?
        .get(objects::LABEL_BROKER)?
        .parse()
        .ok()
}

fn requested_gib(pvc: &PersistentVolumeClaim) -> u32 {
    pvc.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| objects::parse_gib(&q.0))
        .unwrap_or(0)
}

fn zone_of(node: &Node) -> Option<String> {
    let labels = node.metadata.labels.as_ref()?;
    objects::ZONE_LABELS
        .iter()
        .find_map(|k| labels.get(*k))
        .filter(|z| !z.is_empty())
        .cloned()
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
        let secret: Secret =
            serde_json::from_value(objects::secret(spec.cluster_id, s, &owner, &password))
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

impl Runtime for KubeRuntime {
    type Admin = KafkaAdmin<KubeRuntime>;

    fn admin(runtime: &Arc<KubeRuntime>) -> KafkaAdmin<KubeRuntime> {
        KafkaAdmin::new(runtime.clone(), runtime.cfg.probe_timeout, ADMIN_TIMEOUT)
    }

    /// The ready pods' IPs, when the brokers can be reached from here (`probe_brokers`).
    async fn kafka_endpoints(
        &self,
        cluster_id: Uuid,
    ) -> Result<Option<Vec<SocketAddr>>, RuntimeError> {
        if !self.cfg.probe_brokers {
            return Ok(None);
        }
        self.kafka_addrs(cluster_id).await.map(Some)
    }

    fn wakes(&self) -> Option<BoxStream<'static, Uuid>> {
        fn ids<K: kube::Resource + 'static + Send>(
            s: impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
            what: &'static str,
        ) -> BoxStream<'static, Uuid> {
            s.filter_map(move |r| async move {
                match r {
                    Ok(o) => o
                        .meta()
                        .labels
                        .as_ref()?
                        .get(objects::LABEL_CLUSTER)?
                        .parse()
                        .ok(),
                    Err(e) => {
                        tracing::warn!(what, error = %e, "watch (retrying with backoff)");
                        None
                    }
                }
            })
            .boxed()
        }
        let cfg = watcher::Config::default().labels(objects::LABEL_CLUSTER);
        let pods = watcher(self.ns::<Pod>(), cfg.clone())
            .default_backoff()
            .touched_objects();
        let pvcs = watcher(self.ns::<PersistentVolumeClaim>(), cfg)
            .default_backoff()
            .touched_objects();
        Some(
            futures::stream::select(ids(pods, "pods"), ids(pvcs, "persistentvolumeclaims")).boxed(),
        )
    }

    async fn observe(&self, cluster_id: Uuid) -> Result<Vec<ObservedBroker>, RuntimeError> {
        let names = Names::new(cluster_id);
        let lp = ListParams::default().labels(&names.selector());
        let pvcs = self
            .ns::<PersistentVolumeClaim>()
            .list(&lp)
            .await
            .map_err(api_err("listing PersistentVolumeClaims"))?;
        let pods = self
            .ns::<Pod>()
            .list(&lp)
            .await
            .map_err(api_err("listing Pods"))?;
        // A volume being deleted is a broker being removed, not one to heal.
        let pvcs: BTreeMap<u32, PersistentVolumeClaim> = pvcs
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| Some((broker_label(&p.metadata)?, p)))
            .collect();
        let pods: BTreeMap<u32, Pod> = pods
            .items
            .into_iter()
            .filter_map(|p| Some((broker_label(&p.metadata)?, p)))
            .collect();
        let ids: BTreeSet<u32> = pvcs.keys().chain(pods.keys()).copied().collect();
        let now = chrono::Utc::now().timestamp_millis();
        let mut nodes = HashMap::new();
        let mut out = Vec::new();
        for id in ids {
            let pod = pods.get(&id);
            let (health, fingerprint, zone, partitions) = match pod {
                None => (Health::Dead, String::new(), None, None),
                Some(p) => {
                    let gone = self.node_gone(p).await;
                    let health = pod_health(p, gone, now, self.cfg.start_grace);
                    let fp = p
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(objects::ANN_FINGERPRINT))
                        .cloned()
                        .unwrap_or_default();
                    let zone = if health == Health::Dead {
                        None
                    } else {
                        self.zone(p, &mut nodes).await
                    };
                    let parts = if health == Health::Healthy {
                        self.partitions(p, id).await
                    } else {
                        None
                    };
                    (health, fp, zone, parts)
                }
            };
            out.push(ObservedBroker {
                broker_id: id,
                health,
                fingerprint,
                storage_gib: pvcs.get(&id).map_or(0, requested_gib),
                partitions,
                host: names.broker_host(id, &self.settings),
                port: objects::KAFKA_PORT,
                zone,
            });
        }
        Ok(out)
    }

    async fn start_broker(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        let names = Names::new(spec.cluster_id);
        let owner = self.ensure_cluster(spec).await?;
        // The volume is made once; only `resize_storage` changes it afterwards.
        let pvcs = self.ns::<PersistentVolumeClaim>();
        let pvc_name = names.pvc(spec.broker_id);
        let existing = pvcs
            .get_opt(&pvc_name)
            .await
            .map_err(api_err(format!("reading PersistentVolumeClaim {pvc_name}")))?;
        if existing.is_none() {
            self.apply(
                &pvcs,
                &objects::pvc(spec, spec.storage_gib, &self.settings, &owner),
            )
            .await?;
        }
        let pods = self.ns::<Pod>();
        let pod_name = names.pod(spec.broker_id);
        if let Some(p) = pods
            .get_opt(&pod_name)
            .await
            .map_err(api_err(format!("reading Pod {pod_name}")))?
        {
            let same = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(objects::ANN_FINGERPRINT))
                .is_some_and(|f| *f == spec.fingerprint);
            if same && !pod_terminal(&p) && !self.node_gone(&p).await {
                return Ok(()); // already running as asked
            }
            // A pod's containers and resources are immutable: a new fingerprint is a new pod,
            // on the same volume.
            self.delete_pod(spec.cluster_id, spec.broker_id).await?;
        }
        self.apply(&pods, &objects::pod(spec, &self.settings, &owner))
            .await?;
        tracing::info!(cluster_id = %spec.cluster_id, broker = spec.broker_id, pod = %pod_name, "broker pod created");
        Ok(())
    }

    async fn stop_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        self.delete_pod(cluster_id, broker_id).await
    }

    async fn wait_ready(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let name = Names::new(cluster_id).pod(broker_id);
        let pods = self.ns::<Pod>();
        let deadline = tokio::time::Instant::now() + timeout;
        let not_ready = |last: String| RuntimeError::NotReady {
            cluster_id,
            broker_id,
            secs: timeout.as_secs(),
            last,
        };
        let mut nodes = HashMap::new();
        loop {
            let last = match pods
                .get_opt(&name)
                .await
                .map_err(api_err(format!("reading Pod {name}")))?
            {
                None => return Err(not_ready(format!("pod {name} does not exist"))),
                Some(p) if pod_terminal(&p) => {
                    return Err(not_ready(format!(
                        "pod {name} is {}",
                        if p.metadata.deletion_timestamp.is_some() {
                            "being deleted"
                        } else {
                            pod_phase(&p)
                        }
                    )))
                }
                Some(p) if pod_ready(&p) => return Ok(()),
                Some(p) => {
                    // Once scheduled, the pod's launch script waits for its zone: record it now
                    // (no observe runs while the reconciler waits here).
                    self.zone(&p, &mut nodes).await;
                    format!("pod {name} is {} and not ready", pod_phase(&p))
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(not_ready(last));
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }

    async fn resize_storage(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        let name = Names::new(spec.cluster_id).pvc(spec.broker_id);
        let pvcs = self.ns::<PersistentVolumeClaim>();
        let what = format!("growing PersistentVolumeClaim {name}");
        let pvc = pvcs
            .get_opt(&name)
            .await
            .map_err(api_err(&what))?
            .ok_or_else(|| RuntimeError::Platform {
                what: what.clone(),
                message: "it does not exist".into(),
            })?;
        if requested_gib(&pvc) >= spec.storage_gib {
            return Ok(());
        }
        let cannot = |reason: String| RuntimeError::CannotResize {
            cluster_id: spec.cluster_id,
            broker_id: spec.broker_id,
            reason,
        };
        let Some(class) = self.storage_class_of(&pvc).await? else {
            return Err(cannot(format!(
                "volume {name} has no storage class and the cluster has no default one"
            )));
        };
        let sc = Api::<StorageClass>::all(self.client.clone())
            .get_opt(&class)
            .await
            .map_err(api_err(format!("reading StorageClass {class}")))?;
        match sc {
            None => return Err(cannot(format!("storage class {class} does not exist"))),
            Some(sc) if sc.allow_volume_expansion != Some(true) => {
                return Err(cannot(format!(
                    "storage class {class} does not allow volume expansion (allowVolumeExpansion is not true); \
                     enable it on the class or use a class that allows it"
                )))
            }
            Some(_) => {}
        }
        // A merge patch of the one field (not an apply of the whole claim, whose other fields
        // are immutable and were applied once at creation).
        let patch = json!({ "spec": { "resources": { "requests": {
            "storage": format!("{}Gi", spec.storage_gib)
        } } } });
        let pp = PatchParams {
            field_manager: Some(objects::FIELD_MANAGER.into()),
            ..Default::default()
        };
        pvcs.patch(&name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(api_err(what))?;
        tracing::info!(cluster_id = %spec.cluster_id, broker = spec.broker_id, gib = spec.storage_gib, "volume grow requested");
        Ok(())
    }

    async fn remove_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        let names = Names::new(cluster_id);
        self.delete_pod(cluster_id, broker_id).await?;
        let pvc = names.pvc(broker_id);
        gone_ok(
            self.ns::<PersistentVolumeClaim>()
                .delete(&pvc, &DeleteParams::default())
                .await,
            &format!("deleting PersistentVolumeClaim {pvc}"),
        )?;
        // The cluster's own objects go with its last broker.
        if !self.any_broker_left(cluster_id).await? {
            self.delete_cluster_objects(cluster_id).await?;
        }
        Ok(())
    }
}
