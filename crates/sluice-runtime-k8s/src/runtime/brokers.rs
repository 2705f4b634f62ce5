//! [`KubeRuntime`] as the reconciler's [`Runtime`]: brokers started, stopped, resized, observed
//! and removed as pods and their volumes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;
use sluice_reconciler::runtime::{BrokerSpec, Health, ObservedBroker, Runtime};
use sluice_reconciler::KafkaAdmin;
use sluice_reconciler::RuntimeError;
use uuid::Uuid;

use crate::objects::{self, Names};

use super::pods::*;
use super::*;

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
