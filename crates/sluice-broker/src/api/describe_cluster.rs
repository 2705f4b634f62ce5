//! DescribeCluster (key 60): this broker is the whole cluster and its controller.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader,
};

use crate::api::sb;
use crate::broker::Broker;

/// Describes the one-broker cluster.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    _req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let cfg = &broker.config;
    let mut resp = DescribeClusterResponse::default();
    resp.cluster_id = sb(cfg.cluster_id.clone());
    resp.controller_id = BrokerId(cfg.node_id);
    let mut b = DescribeClusterBroker::default();
    b.broker_id = BrokerId(cfg.node_id);
    b.host = sb(cfg.advertised.0.clone());
    b.port = i32::from(cfg.advertised.1);
    resp.brokers = vec![b];
    resp
}
