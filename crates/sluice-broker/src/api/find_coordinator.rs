//! FindCoordinator (key 10): this broker coordinates every group (and would every transaction).
//! v4+ batches keys in `coordinator_keys`.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader,
};

use crate::api::sb;
use crate::broker::Broker;

/// Points every key at this broker.
pub fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let cfg = &broker.config;
    let mut resp = FindCoordinatorResponse::default();
    if header.request_api_version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let mut c = Coordinator::default();
                c.key = key;
                c.node_id = BrokerId(cfg.node_id);
                c.host = sb(cfg.advertised.0.clone());
                c.port = i32::from(cfg.advertised.1);
                c
            })
            .collect();
    } else {
        resp.node_id = BrokerId(cfg.node_id);
        resp.host = sb(cfg.advertised.0.clone());
        resp.port = i32::from(cfg.advertised.1);
    }
    resp
}
