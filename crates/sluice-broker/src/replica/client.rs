//! The follower's side of broker-to-broker requests. Connections are the one Kafka client's
//! ([`sluice_kafka_client::Connection`]: one request in flight at a time); this adds the one
//! query a follower makes outside its fetch loop ([`leader_offset`]).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
pub(crate) use sluice_kafka_client::{ClientError, Connection};

use crate::codec::sb;

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
