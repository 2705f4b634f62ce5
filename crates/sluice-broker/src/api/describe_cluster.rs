//! DescribeCluster (key 60): the live brokers and the controller (the metadata quorum's leader).

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader,
};

use crate::broker::Broker;
use crate::codec::sb;

/// Describes the cluster.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    _req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let cfg = &broker.config;
    let mut resp = DescribeClusterResponse::default();
    resp.cluster_id = sb(cfg.cluster_id.clone());
    resp.controller_id = BrokerId(broker.meta.controller_id().unwrap_or(-1));
    let image = broker.image();
    resp.brokers = crate::api::metadata::live_brokers(broker, &image)
        .into_iter()
        .map(|(id, host, port, rack)| {
            let mut b = DescribeClusterBroker::default();
            b.broker_id = BrokerId(id);
            b.host = sb(host);
            b.port = port;
            b.rack = rack.map(sb);
            b
        })
        .collect();
    resp
}
