//! FindCoordinator (key 10): a group's coordinator is the leader of its `__consumer_offsets`
//! partition (`groups::partition_for`), so each key may get a different broker. The topic is
//! created on first use, once enough brokers are live, with `offsets.topic.num.partitions`
//! partitions; afterwards the count in the metadata image rules. v4+ batches keys in
//! `coordinator_keys`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader,
};
use sluice_meta::image::{MetadataImage, NO_LEADER};

use crate::broker::Broker;
use crate::codec::sb;
use crate::groups::partition_for;
use crate::partition::CONSUMER_OFFSETS;
use sluice_auth::acl::{AclOperation, ResourceType};

/// Points each key at its coordinator, or COORDINATOR_NOT_AVAILABLE while it has none.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let ready = ensure_offsets_topic(broker).await;
    let image = broker.image();
    let listener = crate::connection::current_listener(broker);
    let key_type = req.key_type;
    let find = |key: &str| {
        authorize_key(broker, key_type, key)
            .and(ready)
            .and_then(|()| coordinator(&image, key, &listener))
    };
    let mut resp = FindCoordinatorResponse::default();
    let fill = |found: Result<(i32, String, i32), ResponseError>,
                node: &mut BrokerId,
                host: &mut _,
                port: &mut i32,
                code: &mut i16| match found {
        Ok((id, h, p)) => {
            *node = BrokerId(id);
            *host = sb(h);
            *port = p;
        }
        Err(e) => {
            *node = BrokerId(-1);
            *port = -1;
            *code = e.code();
        }
    };
    if header.request_api_version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let mut c = Coordinator::default();
                fill(
                    find(&key),
                    &mut c.node_id,
                    &mut c.host,
                    &mut c.port,
                    &mut c.error_code,
                );
                c.key = key;
                c
            })
            .collect();
    } else {
        fill(
            find(&req.key),
            &mut resp.node_id,
            &mut resp.host,
            &mut resp.port,
            &mut resp.error_code,
        );
    }
    resp
}

/// DESCRIBE on the group (key type 0) or transactional id (1) the key names.
fn authorize_key(broker: &Broker, key_type: i8, key: &str) -> Result<(), ResponseError> {
    match key_type {
        0 if !broker.authorize_group(AclOperation::Describe, key) => {
            Err(ResponseError::GroupAuthorizationFailed)
        }
        1 if !broker.authorize(AclOperation::Describe, ResourceType::TransactionalId, key) => {
            Err(ResponseError::TransactionalIdAuthorizationFailed)
        }
        _ => Ok(()),
    }
}

/// Kafka's settings for `__consumer_offsets`: compacted, so the latest commit of every group,
/// topic and partition stays however old it is (with `delete`, retention would drop the offsets
/// of a group that stopped committing), with `offsets.topic.segment.bytes`' 100 MiB segments so
/// the cleaner reaches closed segments soon.
fn offsets_topic_configs() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cleanup.policy".to_string(), "compact".to_string()),
        ("segment.bytes".to_string(), (100u64 << 20).to_string()),
    ])
}

/// Creates `__consumer_offsets` if it does not exist yet.
async fn ensure_offsets_topic(broker: &Broker) -> Result<(), ResponseError> {
    if broker.topic(CONSUMER_OFFSETS).is_some() {
        return Ok(());
    }
    let image = broker.image();
    let eligible = image
        .brokers
        .values()
        .filter(|b| !b.fenced && !b.shutting_down)
        .count();
    let quorum = broker.config.controller_quorum_voters.len().max(1);
    let want = broker.config.offsets_topic_replication_factor.max(1) as usize;
    // Like Kafka, wait for enough brokers instead of creating the offsets topic
    // under-replicated for good; a cluster smaller than the factor uses all its brokers.
    let rf = want.min(quorum.max(eligible));
    if eligible < rf {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    match broker
        .create_topic(
            CONSUMER_OFFSETS,
            broker.config.offsets_topic_num_partitions.max(1),
            Some(rf as i16),
            None,
            offsets_topic_configs(),
            false,
        )
        .await
    {
        Ok(()) | Err((ResponseError::TopicAlreadyExists, _)) => Ok(()),
        Err((e, msg)) => {
            tracing::warn!(error = ?e, message = ?msg, "creating {CONSUMER_OFFSETS} failed");
            Err(ResponseError::CoordinatorNotAvailable)
        }
    }
}

/// The live leader of `key`'s partition of `__consumer_offsets`, with the topic's partition
/// count as it is (not as configured: an existing topic keeps its count), at the client's
/// `listener` (a leader without that listener is not available to this client).
fn coordinator(
    image: &MetadataImage,
    key: &str,
    listener: &str,
) -> Result<(i32, String, i32), ResponseError> {
    let partitions = image
        .topics
        .get(CONSUMER_OFFSETS)
        .map_or(0, |t| t.partitions.len() as i32);
    if partitions == 0 {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    let leader = image
        .partition(CONSUMER_OFFSETS, partition_for(key, partitions))
        .map_or(NO_LEADER, |p| p.leader);
    image
        .brokers
        .get(&leader)
        .filter(|b| !b.fenced)
        .and_then(|b| {
            let (host, port) = b.endpoint(listener)?;
            Some((b.id, host.to_string(), port))
        })
        .ok_or(ResponseError::CoordinatorNotAvailable)
}
