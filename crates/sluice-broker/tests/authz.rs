//! Authorization: ACLs decide per principal (TLS client certificates mapped to `User:<CN>`),
//! super users, DENY over ALLOW, prefixed and wildcard bindings, the ACL and SCRAM admin APIs
//! (raw frames and kafka-python's admin client), internal topics, and replica ids that a
//! client cannot forge.

mod common;
#[path = "authz_support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use common::certs::Pki;
use common::cluster::Cluster;
use common::{python, raw, TestBroker};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, BrokerId, DescribeAclsRequest,
    DescribeUserScramCredentialsRequest, FetchRequest, HeartbeatRequest, InitProducerIdRequest,
    ListOffsetsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_broker::config::parse_properties;
use support::*;

const TOPIC_DENIED: i16 = 29;
const GROUP_DENIED: i16 = 30;
const CLUSTER_DENIED: i16 = 31;

/// One broker with a mutual-TLS listener and the authorizer; `extra` properties after.
fn secured_broker(dir: &Path, pki: &Pki, extra: &str) -> TestBroker {
    let keystore = pki.keystore("broker.pem");
    let props = parse_properties(&format!(
        "listeners=SSL://127.0.0.1:0\nssl.keystore.location={}\nssl.truststore.location={}\n\
         ssl.client.auth=required\n{}{extra}",
        keystore.display(),
        pki.ca_pem.display(),
        authz_props()
    ));
    TestBroker::start(dir, 0, |cfg| cfg.apply_properties(&props).unwrap())
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

/// Fetch of partition 0 of `topic` from `offset`, as replica `replica` (-1: a consumer).
fn fetch(topic: &str, offset: i64, replica: i32) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = name(topic);
    t.partitions = vec![p];
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(replica);
    req.max_wait_ms = 0;
    req.max_bytes = 1 << 20;
    req.topics = vec![t];
    req
}

/// ListOffsets latest of partition 0 of `topic`, as a consumer: (error code, offset).
fn latest(c: &mut Client, topic: &str) -> (i16, i64) {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = name(topic);
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics = vec![t];
    let resp = c.call(4, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset)
}

#[test]
fn acls_decide_what_each_principal_may_do() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "authz");
    let broker = secured_broker(&dir.path().join("b"), &pki, "");
    let addr = broker.bootstrap();
    let mut admin = Client::connect(&pki, &addr, "admin");
    let mut alice = Client::connect(&pki, &addr, "alice");
    for t in ["orders", "payments-eu", "payments-secret"] {
        assert_eq!(admin.create_topic(t, 1), 0, "{t}");
    }

    // No ACLs and allow.everyone.if.no.acl.found=false: only super users get in.
    assert_eq!(
        admin.visible_topics(),
        ["orders", "payments-eu", "payments-secret"]
    );
    assert!(alice.visible_topics().is_empty());
    let explicit = alice.metadata(Some(&["orders", "missing"]));
    assert!(explicit.topics.iter().all(|t| t.error_code == TOPIC_DENIED));
    assert_eq!(alice.produce("orders", 1, 1), TOPIC_DENIED);
    assert_eq!(alice.create_topic("mine", 1), TOPIC_DENIED);
    assert_eq!(alice.describe_all_acls().0, CLUSTER_DENIED);
    assert_eq!(
        alice.create_acls(&[(TOPIC, "orders", LITERAL, "User:alice", ALL, ALLOW)]),
        [CLUSTER_DENIED]
    );
    let mut hb = HeartbeatRequest::default();
    hb.group_id = kafka_protocol::messages::GroupId(StrBytes::from_static_str("g"));
    assert_eq!(alice.call(3, &hb).error_code, GROUP_DENIED);
    let mut init = InitProducerIdRequest::default();
    init.producer_id = kafka_protocol::messages::ProducerId(-1);
    init.producer_epoch = -1;
    init.transactional_id = None;
    init.transaction_timeout_ms = 60_000;
    assert_eq!(alice.call(2, &init).error_code, CLUSTER_DENIED);
    assert_eq!(
        alice.call(4, &fetch("orders", 0, -1)).responses[0].partitions[0].error_code,
        TOPIC_DENIED
    );

    // Prefixed WRITE, wildcard DESCRIBE, a DENY that beats the wildcard, ALL on one topic.
    assert_eq!(
        admin.create_acls(&[
            (TOPIC, "payments-", PREFIXED, "User:alice", WRITE, ALLOW),
            (TOPIC, "*", LITERAL, "User:alice", DESCRIBE, ALLOW),
            (
                TOPIC,
                "payments-secret",
                LITERAL,
                "User:alice",
                DESCRIBE,
                DENY
            ),
            (TOPIC, "payments-secret", LITERAL, "User:alice", WRITE, DENY),
            (TOPIC, "orders", LITERAL, "User:alice", ALL, ALLOW),
        ]),
        [0; 5]
    );
    assert_eq!(admin.describe_all_acls(), (0, 5));
    assert_eq!(alice.visible_topics(), ["orders", "payments-eu"]);
    assert_eq!(alice.produce("payments-eu", 2, 1), 0);
    assert_eq!(alice.produce("orders", 2, 1), 0);
    assert_eq!(alice.produce("payments-secret", 1, 1), TOPIC_DENIED);
    // WRITE implies DESCRIBE but not READ.
    assert_eq!(
        alice.call(4, &fetch("payments-eu", 0, -1)).responses[0].partitions[0].error_code,
        TOPIC_DENIED
    );
    assert_eq!(
        alice.call(4, &fetch("orders", 0, -1)).responses[0].partitions[0].error_code,
        0
    );
    // WRITE on some topic stands in for IDEMPOTENT_WRITE (KIP-679).
    assert_eq!(alice.call(2, &init).error_code, 0);

    // Clients never write the offsets topic, super users included.
    assert_eq!(
        admin.produce("__consumer_offsets", 1, 1),
        ResponseError::InvalidTopicException.code()
    );

    // Deleting alice's ALL binding takes `orders` away from her again.
    assert_eq!(admin.delete_acls("User:alice", ALL), (0, 1));
    assert_eq!(alice.produce("orders", 1, 1), TOPIC_DENIED);
    assert_eq!(admin.describe_all_acls(), (0, 4));

    let metrics = broker.metrics();
    assert!(
        metrics.contains(
            "sluice_broker_authorization_denied_total{operation=\"WRITE\",resource_type=\"TOPIC\"}"
        ),
        "{metrics}"
    );
}

#[test]
fn scram_credentials_are_altered_and_described_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "scram");
    let broker = secured_broker(&dir.path().join("b"), &pki, "");
    let addr = broker.bootstrap();
    let mut admin = Client::connect(&pki, &addr, "admin");
    let mut alice = Client::connect(&pki, &addr, "alice");

    let mut up = ScramCredentialUpsertion::default();
    up.name = StrBytes::from_static_str("carol");
    up.mechanism = 1;
    up.iterations = 4096;
    up.salt = bytes::Bytes::from_static(b"salt-salt-salt");
    up.salted_password = bytes::Bytes::from(vec![7u8; 32]);
    let mut alter = AlterUserScramCredentialsRequest::default();
    alter.upsertions = vec![up];
    let denied = alice.call(0, &alter);
    assert_eq!(denied.results[0].error_code, CLUSTER_DENIED);
    let done = admin.call(0, &alter);
    assert_eq!(done.results[0].error_code, 0, "{done:?}");

    let mut describe = DescribeUserScramCredentialsRequest::default();
    describe.users = Some(
        ["carol", "nobody"]
            .iter()
            .map(|u| {
                let mut n = UserName::default();
                n.name = StrBytes::from_string(u.to_string());
                n
            })
            .collect(),
    );
    assert_eq!(alice.call(0, &describe).error_code, CLUSTER_DENIED);
    let resp = admin.call(0, &describe);
    let carol = resp
        .results
        .iter()
        .find(|r| r.user.as_str() == "carol")
        .unwrap();
    assert_eq!(carol.error_code, 0);
    assert_eq!(
        carol
            .credential_infos
            .iter()
            .map(|c| (c.mechanism, c.iterations))
            .collect::<Vec<_>>(),
        [(1, 4096)]
    );
    let nobody = resp
        .results
        .iter()
        .find(|r| r.user.as_str() == "nobody")
        .unwrap();
    assert_eq!(nobody.error_code, ResponseError::ResourceNotFound.code());
}

#[test]
fn acls_round_trip_through_kafka_python_admin() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "kp");
    let broker = secured_broker(&dir.path().join("b"), &pki, "");
    let cert = pki.client("admin");
    let out = python(
        "kp_acls.py",
        &[
            &broker.bootstrap(),
            pki.ca_pem.to_str().unwrap(),
            cert.cert.to_str().unwrap(),
            cert.key.to_str().unwrap(),
        ],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn without_an_authorizer_acl_apis_are_disabled_and_replica_ids_need_the_broker_listener() {
    let dir = tempfile::tempdir().unwrap();
    let props = parse_properties(
        "listeners=PLAINTEXT://127.0.0.1:0,CLIENT://127.0.0.1:0\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENT:PLAINTEXT\n\
         inter.broker.listener.name=PLAINTEXT\n",
    );
    let broker = TestBroker::start(dir.path(), 0, |cfg| cfg.apply_properties(&props).unwrap());
    let mut inter = raw::connect(broker.listener("PLAINTEXT"));
    let mut client = raw::connect(broker.listener("CLIENT"));
    let mut describe = DescribeAclsRequest::default();
    describe.resource_name_filter = None;
    describe.principal_filter = None;
    describe.host_filter = None;
    describe.resource_type_filter = ANY;
    describe.pattern_type_filter = ANY;
    describe.operation = ANY;
    describe.permission_type = ANY;
    assert_eq!(
        raw::call(&mut client, 2, &describe).error_code,
        ResponseError::SecurityDisabled.code()
    );
    // Any client may read and write (no authorizer), but not act as a replica.
    let mut c = sluice_kafka_client::blocking::Connection::connect(
        broker.listener("CLIENT"),
        "t",
        Duration::from_secs(10),
    )
    .unwrap();
    let mut create = kafka_protocol::messages::CreateTopicsRequest::default();
    let mut t = kafka_protocol::messages::create_topics_request::CreatableTopic::default();
    t.name = name("open");
    t.num_partitions = 1;
    t.replication_factor = 1;
    create.topics = vec![t];
    assert_eq!(c.call(5, &create).unwrap().topics[0].error_code, 0);
    let forged = raw::call(&mut client, 12, &fetch("open", 0, 1));
    assert_eq!(forged.responses[0].partitions[0].error_code, TOPIC_DENIED);
    let real = raw::call(&mut inter, 12, &fetch("open", 0, 0));
    assert_eq!(real.responses[0].partitions[0].error_code, 0);
    let consumer = raw::call(&mut client, 12, &fetch("open", 0, -1));
    assert_eq!(consumer.responses[0].partitions[0].error_code, 0);
}

#[test]
fn a_forged_replica_fetch_is_refused_and_moves_no_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "cluster");
    let keystore = pki.keystore("broker.pem");
    // Mutual TLS everywhere: the followers are User:broker (a super user); a follower that
    // stops fetching stays in the ISR for the test's length (long lag and session timeouts).
    let extra = format!(
        "listener.security.protocol.map=PLAINTEXT:SSL\nssl.keystore.location={}\n\
         ssl.truststore.location={}\nssl.client.auth=required\n{}\
         replica.lag.time.max.ms=60000\nbroker.session.timeout.ms=60000\n\
         auto.leader.rebalance.enable=false\n",
        keystore.display(),
        pki.ca_pem.display(),
        authz_props()
    );
    let mut cluster = Cluster::start(&dir.path().join("cluster"), 2, &extra);
    let admin_cert = pki.client("admin");
    cluster.client_args = [
        "-X",
        "security.protocol=SSL",
        "-X",
        &format!("ssl.ca.location={}", pki.ca_pem.display()),
        "-X",
        &format!("ssl.certificate.location={}", admin_cert.cert.display()),
        "-X",
        &format!("ssl.key.location={}", admin_cert.key.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut admin = Client::connect(&pki, &cluster.nodes[0].addr(), "admin");
    assert_eq!(admin.create_topic("hw", 2), 0);
    cluster.wait_fully_replicated("hw", 1, 2, Duration::from_secs(60));
    let leader = cluster.leader_of("hw", 0, Duration::from_secs(30));
    let follower = 1 - leader;
    let follower_id = cluster.nodes[follower].id;
    let leader_addr = cluster.nodes[leader].addr();
    let mut admin = Client::connect(&pki, &leader_addr, "admin");
    assert_eq!(admin.produce("hw", 3, -1), 0);
    let (code, before) = latest(&mut admin, "hw");
    assert_eq!((code, before), (0, 3));

    // The follower stops copying; an acks=1 produce lands on the leader alone.
    cluster.pause(follower);
    assert_eq!(admin.produce("hw", 4, 1), 0);
    assert_eq!(latest(&mut admin, "hw"), (0, 3));

    // mallory claims to be the follower, at the log end: refused, nothing moves.
    let mut mallory = Client::connect(&pki, &leader_addr, "mallory");
    let forged = mallory.call(12, &fetch("hw", 7, follower_id));
    assert_eq!(forged.responses[0].partitions[0].error_code, TOPIC_DENIED);
    assert!(forged.responses[0].partitions[0]
        .records
        .as_ref()
        .is_none_or(|r| r.is_empty()));
    assert_eq!(latest(&mut admin, "hw"), (0, 3));
    // The same fetch from a principal allowed ClusterAction (the brokers' own) does move it:
    // what was refused above is exactly the forgery.
    let mut replica = Client::connect(&pki, &leader_addr, "broker");
    let real = replica.call(12, &fetch("hw", 7, follower_id));
    assert_eq!(real.responses[0].partitions[0].error_code, 0);
    assert_eq!(latest(&mut admin, "hw"), (0, 7));
    cluster.resume(follower);
}
