//! InitProducerId (key 22): producer ids for idempotent producers. Transactions are not
//! served, so a transactional id is refused; a known id/epoch pair (v3+) gets its epoch bumped.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader,
};

use crate::broker::Broker;
use sluice_auth::acl::{AclOperation, ResourceType};

/// Allocates a producer id or bumps an epoch.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    if req.transactional_id.is_some() {
        resp.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
        return resp;
    }
    // Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (Kafka's
    // authorizeByResourceType, KIP-679).
    if !broker.authorize_cluster_quietly(AclOperation::IdempotentWrite)
        && !broker.authorize_any(AclOperation::Write, ResourceType::Topic)
    {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 {
        if req.producer_epoch == i16::MAX - 1 {
            match broker.allocate_producer_id().await {
                Ok(id) => {
                    resp.producer_id = ProducerId(id);
                    resp.producer_epoch = 0;
                }
                Err(e) => resp.error_code = e.code(),
            }
        } else {
            resp.producer_id = req.producer_id;
            resp.producer_epoch = req.producer_epoch + 1;
        }
        return resp;
    }
    match broker.allocate_producer_id().await {
        Ok(id) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err(e) => resp.error_code = e.code(),
    }
    resp
}
