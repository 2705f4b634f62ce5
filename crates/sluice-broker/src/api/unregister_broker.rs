//! UnregisterBroker (key 64): removes a decommissioned broker from the cluster metadata (what
//! `kafka-cluster.sh unregister` sends). Refused while any partition still lists it as a
//! replica: drain it with AlterPartitionReassignments first.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{RequestHeader, UnregisterBrokerRequest, UnregisterBrokerResponse};
use sluice_meta::image::Reply;
use sluice_meta::Command;

use crate::broker::Broker;
use crate::codec::sb;
use crate::proposals::reply_error;
use sluice_auth::acl::AclOperation;

/// Unregisters the broker through the controller.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: UnregisterBrokerRequest,
) -> UnregisterBrokerResponse {
    let mut resp = UnregisterBrokerResponse::default();
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let id = req.broker_id.0;
    if !broker.image().brokers.contains_key(&id) {
        resp.error_code = ResponseError::BrokerIdNotRegistered.code();
        resp.error_message = Some(sb(format!("broker {id} is not registered")));
        return resp;
    }
    match broker.propose(Command::UnregisterBroker { id }).await {
        Ok(Reply::Error { code, message }) => {
            resp.error_code = reply_error(code).code();
            resp.error_message = Some(sb(message));
        }
        Ok(_) => tracing::info!(broker = id, "unregistered broker"),
        Err(e) => resp.error_code = e.code(),
    }
    resp
}
