//! A minimal Kafka client connection for broker-to-broker requests (follower fetches and
//! OffsetForLeaderEpoch): one request in flight at a time, encoded with `kafka-protocol`; and
//! the one query a follower makes outside its fetch loop ([`leader_offset`]).

use bytes::{Buf, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListOffsetsRequest, ListOffsetsResponse, RequestHeader, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::codec::sb;

/// Responses larger than this are refused (a follower asks for far less).
const MAX_RESPONSE: usize = 256 << 20;

/// Why a broker-to-broker request failed; the caller reconnects and retries.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("i/o with {addr}: {source}")]
    Io {
        /// Peer address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The peer sent something we could not decode, or we could not encode the request.
    #[error("protocol with {addr}: {reason}")]
    Protocol {
        /// Peer address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
}

/// One connection to another broker's Kafka listener.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: TcpStream,
    client_id: StrBytes,
    next_correlation: i32,
    buf: BytesMut,
}

impl Connection {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str, client_id: String) -> Result<Connection, ClientError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Io {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            addr: addr.to_string(),
            stream,
            client_id: StrBytes::from_string(client_id),
            next_correlation: 0,
            buf: BytesMut::with_capacity(64 * 1024),
        })
    }

    fn protocol(&self, reason: impl std::fmt::Display) -> ClientError {
        ClientError::Protocol {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            addr: self.addr.clone(),
            source,
        }
    }

    /// Sends `req` as `key` at `version` and waits for the response.
    pub async fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp, ClientError> {
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation = self.next_correlation;
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = correlation;
        header.client_id = Some(self.client_id.clone());
        let header_version = key.request_header_version(version);
        let mut out = BytesMut::new();
        out.extend_from_slice(&[0; 4]);
        header
            .encode(&mut out, header_version)
            .and_then(|_| req.encode(&mut out, version))
            .map_err(|e| self.protocol(e))?;
        let len = (out.len() - 4) as i32;
        out[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&out).await.map_err(|e| self.io(e))?;

        self.buf.clear();
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .await
            .map_err(|e| self.io(e))?;
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > MAX_RESPONSE {
            return Err(self.protocol(format!("response size {len}")));
        }
        self.buf.resize(len as usize, 0);
        self.stream
            .read_exact(&mut self.buf)
            .await
            .map_err(|e| self.io(e))?;
        let mut body = self.buf.split().freeze();
        let header = ResponseHeader::decode(&mut body, key.response_header_version(version))
            .map_err(|e| self.protocol(e))?;
        if header.correlation_id != correlation {
            return Err(self.protocol(format!(
                "correlation id {} for request {correlation}",
                header.correlation_id
            )));
        }
        let resp = Resp::decode(&mut body, version).map_err(|e| self.protocol(e))?;
        if body.has_remaining() {
            tracing::trace!(n = body.remaining(), "trailing response bytes");
        }
        Ok(resp)
    }
}

/// ListOffsets version used between brokers (has the current leader epoch).
const LIST_OFFSETS_VERSION: i16 = 4;
/// ListOffsets timestamp asking for the log end (a replica's view: not the high watermark).
pub const LATEST: i64 = -1;
/// ListOffsets timestamp asking for the log start.
pub const EARLIEST: i64 = -2;

/// The leader's earliest or latest offset for one partition (its log end, since we ask as a
/// replica), or the partition-level error it answered.
pub async fn leader_offset(
    c: &mut Connection,
    key: &(String, i32),
    epoch: i32,
    me: i32,
    timestamp: i64,
) -> Result<Result<i64, ResponseError>, ClientError> {
    let mut lp = ListOffsetsPartition::default();
    lp.partition_index = key.1;
    lp.current_leader_epoch = epoch;
    lp.timestamp = timestamp;
    let mut lt = ListOffsetsTopic::default();
    lt.name = TopicName(sb(key.0.clone()));
    lt.partitions.push(lp);
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(me);
    req.topics.push(lt);
    let resp: ListOffsetsResponse = c
        .send(ApiKey::ListOffsets, LIST_OFFSETS_VERSION, &req)
        .await?;
    let answer = resp
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|r| r.partition_index == key.1);
    Ok(match answer {
        Some(r) if r.error_code == 0 => Ok(r.offset),
        Some(r) => {
            Err(ResponseError::try_from_code(r.error_code)
                .unwrap_or(ResponseError::UnknownServerError))
        }
        None => Err(ResponseError::UnknownServerError),
    })
}
