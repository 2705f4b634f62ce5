//! FindCoordinator (key 10): the group coordinator is the leader of `__consumer_offsets`, which
//! is created on first use, replicated like any topic, and moves with its leadership. v4+
//! batches keys in `coordinator_keys`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader,
};
use sluice_meta::image::NO_LEADER;

use crate::api::sb;
use crate::broker::{Broker, CONSUMER_OFFSETS};

/// Points every key at the coordinator, or COORDINATOR_NOT_AVAILABLE while there is none.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let found = coordinator(broker).await;
    let mut resp = FindCoordinatorResponse::default();
    let fill = |node: &mut BrokerId, host: &mut _, port: &mut i32, code: &mut i16| match &found {
        Ok((id, h, p)) => {
            *node = BrokerId(*id);
            *host = sb(h.clone());
            *port = *p;
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
                c.key = key;
                fill(&mut c.node_id, &mut c.host, &mut c.port, &mut c.error_code);
                c
            })
            .collect();
    } else {
        fill(
            &mut resp.node_id,
            &mut resp.host,
            &mut resp.port,
            &mut resp.error_code,
        );
    }
    resp
}

async fn coordinator(broker: &Broker) -> Result<(i32, String, i32), ResponseError> {
    if broker.topic(CONSUMER_OFFSETS).is_none() {
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
                1,
                Some(rf as i16),
                None,
                BTreeMap::new(),
                false,
            )
            .await
        {
            Ok(()) | Err((ResponseError::TopicAlreadyExists, _)) => {}
            Err((e, msg)) => {
                tracing::warn!(error = ?e, message = ?msg, "creating {CONSUMER_OFFSETS} failed");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
    }
    let image = broker.image();
    let leader = image
        .partition(CONSUMER_OFFSETS, 0)
        .map_or(NO_LEADER, |p| p.leader);
    image
        .brokers
        .get(&leader)
        .filter(|b| !b.fenced)
        .map(|b| (b.id, b.host.clone(), b.port))
        .ok_or(ResponseError::CoordinatorNotAvailable)
}
