//! [`KafkaAdmin`]: the reconciler's [`ClusterAdmin`] for brokers that speak Kafka, over the
//! listeners any [`Runtime`] reports.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::admin::{ClusterAdmin, ClusterStatus};
use crate::kafka_admin::{describe_any, drain, rebalance, unregister};
use crate::runtime::Runtime;
use crate::RuntimeError;

/// [`ClusterAdmin`] through the brokers' Kafka listeners (Metadata, ListPartitionReassignments,
/// AlterPartitionReassignments, ElectLeaders, UnregisterBroker), at the addresses the runtime
/// reports. When the runtime says its brokers cannot be reached from here, the gate is the
/// runtime's own readiness (safe), nothing is moved, and a drain, which cannot be skipped
/// safely, fails and says why.
#[derive(Debug)]
pub struct KafkaAdmin<R> {
    runtime: Arc<R>,
    /// How long Metadata may take when probing the gate.
    probe_timeout: Duration,
    /// How long one admin exchange may take.
    rpc_timeout: Duration,
}

impl<R> KafkaAdmin<R> {
    pub fn new(runtime: Arc<R>, probe_timeout: Duration, rpc_timeout: Duration) -> KafkaAdmin<R> {
        KafkaAdmin {
            runtime,
            probe_timeout,
            rpc_timeout,
        }
    }
}

impl<R> Clone for KafkaAdmin<R> {
    fn clone(&self) -> Self {
        KafkaAdmin {
            runtime: self.runtime.clone(),
            probe_timeout: self.probe_timeout,
            rpc_timeout: self.rpc_timeout,
        }
    }
}

fn failed(cluster_id: Uuid, what: String) -> impl FnOnce(String) -> RuntimeError {
    move |message| RuntimeError::Admin {
        cluster_id,
        what,
        message,
    }
}

impl<R: Runtime> KafkaAdmin<R> {
    async fn addrs(&self, cluster_id: Uuid) -> Result<Option<Vec<SocketAddr>>, RuntimeError> {
        self.runtime.kafka_endpoints(cluster_id).await
    }
}

impl<R: Runtime> ClusterAdmin for KafkaAdmin<R> {
    async fn cluster_status(&self, cluster_id: Uuid) -> Result<ClusterStatus, RuntimeError> {
        let Some(addrs) = self.addrs(cluster_id).await? else {
            // The brokers cannot be reached from here: the gate is the runtime's readiness.
            return Ok(ClusterStatus {
                safe: true,
                controller: None,
            });
        };
        Ok(match describe_any(&addrs, self.probe_timeout).await {
            Ok((_, view)) => ClusterStatus {
                safe: view.safe(),
                controller: view.controller,
            },
            Err(e) => {
                tracing::debug!(%cluster_id, error = %e, "no broker described the cluster");
                ClusterStatus::default()
            }
        })
    }

    async fn drain_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        keep: &[u32],
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let what = format!("draining broker {broker_id}");
        let Some(addrs) = self.addrs(cluster_id).await? else {
            return Err(failed(cluster_id, what)(
                "the brokers cannot be reached from here (broker probing is off)".into(),
            ));
        };
        let keep: Vec<i32> = keep.iter().map(|b| *b as i32).collect();
        drain(&addrs, broker_id as i32, &keep, timeout, self.rpc_timeout)
            .await
            .map_err(failed(cluster_id, what))
    }

    async fn unregister_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
    ) -> Result<(), RuntimeError> {
        let Some(addrs) = self.addrs(cluster_id).await? else {
            // Left registered (fenced), which clients never see.
            tracing::warn!(%cluster_id, broker_id, "the brokers cannot be reached from here: the removed broker stays registered");
            return Ok(());
        };
        unregister(&addrs, broker_id as i32, self.rpc_timeout)
            .await
            .map_err(failed(
                cluster_id,
                format!("unregistering broker {broker_id}"),
            ))
    }

    async fn rebalance(
        &self,
        cluster_id: Uuid,
        brokers: &[u32],
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let Some(addrs) = self.addrs(cluster_id).await? else {
            // Nothing can be moved from outside the cluster; new topics use the new brokers.
            tracing::warn!(%cluster_id, "the brokers cannot be reached from here: replicas are not rebalanced");
            return Ok(());
        };
        let brokers: Vec<i32> = brokers.iter().map(|b| *b as i32).collect();
        rebalance(&addrs, &brokers, timeout, self.rpc_timeout)
            .await
            .map_err(failed(cluster_id, "rebalancing partitions".into()))
    }
}
