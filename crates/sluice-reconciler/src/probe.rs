//! A tiny Kafka client: one ApiVersions round trip, then Metadata, over a fresh connection.
//! This is the readiness test of a broker: its process may run long before it answers clients.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

async fn exchange(addr: SocketAddr, node_id: i32) -> Result<ProbeReport, String> {
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let versions: ApiVersionsResponse = call(
        &mut conn,
        ApiKey::ApiVersions,
        0,
        1,
        &ApiVersionsRequest::default(),
    )
    .await?;
    if versions.error_code != 0 {
        return Err(format!("ApiVersions error code {}", versions.error_code));
    }
    // Metadata v1, all topics (topics = null).
    let meta: MetadataResponse = call(
        &mut conn,
        ApiKey::Metadata,
        1,
        2,
        &MetadataRequest::default().with_topics(None),
    )
    .await?;
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

pub(crate) async fn call<Req: Encodable, Resp: Decodable>(
    conn: &mut TcpStream,
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &Req,
) -> Result<Resp, String> {
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("sluice-reconciler"));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(version))
        .and_then(|_| body.encode(&mut buf, version))
        .map_err(|e| format!("encode: {e}"))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    conn.write_all(&buf)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let len = conn.read_i32().await.map_err(|e| format!("receive: {e}"))?;
    if !(4..=64 << 20).contains(&len) {
        return Err(format!("bad response length {len}"));
    }
    let mut frame = vec![0u8; len as usize];
    conn.read_exact(&mut frame)
        .await
        .map_err(|e| format!("receive: {e}"))?;
    let mut frame = Bytes::from(frame);
    let rh = ResponseHeader::decode(&mut frame, key.response_header_version(version))
        .map_err(|e| format!("decode header: {e}"))?;
    if rh.correlation_id != correlation_id {
        return Err(format!(
            "correlation id {} != {correlation_id}",
            rh.correlation_id
        ));
    }
    let resp = Resp::decode(&mut frame, version).map_err(|e| format!("decode {key:?}: {e}"))?;
    if frame.has_remaining() {
        tracing::debug!(?key, left = frame.remaining(), "trailing bytes in response");
    }
    Ok(resp)
}
