//! Helpers of the authorization tests: a TLS client per principal (its certificate's CN is
//! its user name through the brokers' mapping rules) and the requests the tests send.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateAclsRequest, CreateTopicsRequest, DeleteAclsRequest, DescribeAclsRequest,
    MetadataRequest, MetadataResponse, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use sluice_kafka_client::{ClientTls, Connection};

use crate::common::certs::Pki;
use crate::common::raw;

/// The mapping rule the tests' brokers use: `CN=alice` in the subject (RFC 2253: `O=Sluice Tests,CN=alice`) → `User:alice`.
pub(crate) const MAPPING: &str = "RULE:^(?:.*,)?CN=([^,]+)(?:,.*)?$/$1/,DEFAULT";

/// Broker properties: authorizer on, `admin` and the brokers (`CN=broker`) super users.
pub(crate) fn authz_props() -> String {
    format!(
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
         super.users=User:admin;User:broker\nssl.principal.mapping.rules={MAPPING}\n"
    )
}

/// One principal's connection.
pub(crate) struct Client {
    rt: tokio::runtime::Runtime,
    conn: Connection,
}

impl Client {
    /// Connects to `addr` over TLS as `CN=<user>`.
    pub(crate) fn connect(pki: &Pki, addr: &str, user: &str) -> Client {
        let cert = pki.client(user);
        let tls: ClientTls = pki.client_tls(Some(&cert));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = rt
            .block_on(Connection::connect_with(addr, user, Some(&tls)))
            .unwrap();
        Client { rt, conn }
    }

    /// Sends `req` at `version` and waits for the response.
    pub(crate) fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        self.rt.block_on(self.conn.call(version, req)).unwrap()
    }

    /// CreateTopics of one topic: its error code.
    pub(crate) fn create_topic(&mut self, name: &str, rf: i16) -> i16 {
        let mut t = CreatableTopic::default();
        t.name = TopicName(StrBytes::from_string(name.into()));
        t.num_partitions = 1;
        t.replication_factor = rf;
        let mut req = CreateTopicsRequest::default();
        req.topics = vec![t];
        req.timeout_ms = 10_000;
        self.call(5, &req).topics[0].error_code
    }

    /// Produce of `n` records to partition 0 of `topic` at `acks`: the partition's error code.
    pub(crate) fn produce(&mut self, topic: &str, n: usize, acks: i16) -> i16 {
        let mut pd = PartitionProduceData::default();
        pd.index = 0;
        pd.records = Some(raw::batch(n, None));
        let mut td = TopicProduceData::default();
        td.name = TopicName(StrBytes::from_string(topic.into()));
        td.partition_data = vec![pd];
        let mut req = ProduceRequest::default();
        req.acks = acks;
        req.timeout_ms = 10_000;
        req.topic_data = vec![td];
        self.call(8, &req).responses[0].partition_responses[0].error_code
    }

    /// Metadata of `topics` (`None`: all).
    pub(crate) fn metadata(&mut self, topics: Option<&[&str]>) -> MetadataResponse {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut m = MetadataRequestTopic::default();
                    m.name = Some(TopicName(StrBytes::from_string(t.to_string())));
                    m
                })
                .collect()
        });
        req.allow_auto_topic_creation = false;
        self.call(9, &req)
    }

    /// Topic names an all-topics Metadata shows.
    pub(crate) fn visible_topics(&mut self) -> Vec<String> {
        let mut names: Vec<String> = self
            .metadata(None)
            .topics
            .into_iter()
            .filter_map(|t| t.name.map(|n| n.0.to_string()))
            .collect();
        names.sort();
        names
    }

    /// CreateAcls of `bindings` (resource type, name, pattern type, principal, operation,
    /// permission): their error codes.
    pub(crate) fn create_acls(&mut self, bindings: &[(i8, &str, i8, &str, i8, i8)]) -> Vec<i16> {
        let mut req = CreateAclsRequest::default();
        req.creations = bindings
            .iter()
            .map(|(rt, name, pt, principal, op, perm)| {
                let mut c = AclCreation::default();
                c.resource_type = *rt;
                c.resource_name = StrBytes::from_string(name.to_string());
                c.resource_pattern_type = *pt;
                c.principal = StrBytes::from_string(principal.to_string());
                c.host = StrBytes::from_static_str("*");
                c.operation = *op;
                c.permission_type = *perm;
                c
            })
            .collect();
        self.call(2, &req)
            .results
            .iter()
            .map(|r| r.error_code)
            .collect()
    }

    /// DescribeAcls of everything: (error code, number of bindings).
    pub(crate) fn describe_all_acls(&mut self) -> (i16, usize) {
        let mut req = DescribeAclsRequest::default();
        req.resource_name_filter = None;
        req.principal_filter = None;
        req.host_filter = None;
        req.resource_type_filter = ANY;
        req.pattern_type_filter = ANY;
        req.operation = ANY;
        req.permission_type = ANY;
        let resp = self.call(2, &req);
        (
            resp.error_code,
            resp.resources.iter().map(|r| r.acls.len()).sum(),
        )
    }

    /// DeleteAcls of `principal`'s bindings for `op` on any resource: (error code, removed).
    pub(crate) fn delete_acls(&mut self, principal: &str, op: i8) -> (i16, usize) {
        let mut f = DeleteAclsFilter::default();
        f.resource_name_filter = None;
        f.host_filter = None;
        f.resource_type_filter = ANY;
        f.pattern_type_filter = ANY;
        f.principal_filter = Some(StrBytes::from_string(principal.into()));
        f.operation = op;
        f.permission_type = ANY;
        let mut req = DeleteAclsRequest::default();
        req.filters = vec![f];
        let resp = self.call(2, &req);
        let r = &resp.filter_results[0];
        (r.error_code, r.matching_acls.len())
    }
}

/// Kafka's ACL codes the tests use.
pub(crate) const ANY: i8 = 1;
pub(crate) const TOPIC: i8 = 2;

pub(crate) const LITERAL: i8 = 3;
pub(crate) const PREFIXED: i8 = 4;
pub(crate) const ALL: i8 = 2;

pub(crate) const WRITE: i8 = 4;
pub(crate) const DESCRIBE: i8 = 8;
pub(crate) const DENY: i8 = 2;
pub(crate) const ALLOW: i8 = 3;
