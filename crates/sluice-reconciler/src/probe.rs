//! The readiness probe of a broker: one ApiVersions round trip, then Metadata, over a fresh
//! connection of the Kafka client. Its process may run long before it answers clients.

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};
use sluice_kafka_client::Connection;

/// How the reconciler names itself to brokers.
pub const CLIENT_ID: &str = "sluice-reconciler";

/// What a broker said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// Node ids the Metadata response lists.
    pub broker_ids: Vec<i32>,
    /// Partition replicas (of every topic, `__consumer_offsets` included) on the probed broker.
    pub partitions: u32,
}

/// Why a probe failed, for a person.
#[derive(Debug, thiserror::Error)]
#[error("Kafka probe of {addr}: {message}")]
pub struct ProbeError {
    pub addr: SocketAddr,
    pub message: String,
}

/// Asks the broker at `addr` (node `node_id`) ApiVersions and Metadata within `timeout`.
pub async fn probe(
    addr: SocketAddr,
    node_id: i32,
    timeout: Duration,
) -> Result<ProbeReport, ProbeError> {
    let err = |message: String| ProbeError { addr, message };
    tokio::time::timeout(timeout, exchange(addr, node_id))
        .await
        .map_err(|_| err(format!("no answer within {timeout:?}")))?
        .map_err(err)
}

/// A fresh connection of the reconciler to the broker at `addr`.
pub(crate) async fn connect(addr: SocketAddr) -> Result<Connection, String> {
    Connection::connect(&addr.to_string(), CLIENT_ID)
        .await
        .map_err(|e| e.to_string())
}

/// Metadata v1 for every topic (topics = null): brokers, controller, replicas and ISRs.
pub(crate) async fn metadata(conn: &mut Connection) -> Result<MetadataResponse, String> {
    conn.call(1, &MetadataRequest::default().with_topics(None))
        .await
        .map_err(|e| e.to_string())
}

async fn exchange(addr: SocketAddr, node_id: i32) -> Result<ProbeReport, String> {
    let mut conn = connect(addr).await?;
    let versions: ApiVersionsResponse = conn
        .call(0, &ApiVersionsRequest::default())
        .await
        .map_err(|e| e.to_string())?;
    if versions.error_code != 0 {
        return Err(format!("ApiVersions error code {}", versions.error_code));
    }
    let meta = metadata(&mut conn).await?;
    let broker_ids: Vec<i32> = meta.brokers.iter().map(|b| b.node_id.0).collect();
    if !broker_ids.contains(&node_id) {
        return Err(format!(
            "Metadata lists brokers {broker_ids:?}, not {node_id}"
        ));
    }
    // Every replica counts, internal topics too: with replication `__consumer_offsets` is the
    // cluster's data like any topic, and a broker is removed only once it holds none.
    let partitions = meta
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .filter(|p| p.leader_id.0 == node_id || p.replica_nodes.iter().any(|r| r.0 == node_id))
        .count() as u32;
    Ok(ProbeReport {
        broker_ids,
        partitions,
    })
}
