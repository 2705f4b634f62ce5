//! server.properties parsing: Kafka's names, and refused values.

use super::*;

#[test]
fn properties_file_uses_kafka_names() {
    let props = parse_properties(
        "# comment\nnum.partitions=3\nauto.create.topics.enable = false\nlisteners=PLAINTEXT://127.0.0.1:19092\nlog.retention.hours: 2\n",
    );
    let mut cfg = BrokerConfig::default();
    cfg.apply_properties(&props).unwrap();
    assert_eq!(cfg.num_partitions, 3);
    assert!(!cfg.auto_create_topics_enable);
    assert_eq!(cfg.listener.port(), 19092);
    assert_eq!(cfg.log_retention_ms, 7_200_000);
}

#[test]
fn quorum_voters_parse_and_reject_garbage() {
    let v = parse_voters("1@127.0.0.1:9101, 2@broker-2.sluice:9101").unwrap();
    assert_eq!(v.get(&2).map(String::as_str), Some("broker-2.sluice:9101"));
    for bad in ["1", "x@h:1", "1@h", "1@:9", "1@h:notaport"] {
        assert!(parse_voters(bad).is_err(), "{bad}");
    }
}

#[test]
fn bad_numbers_are_rejected() {
    let props = parse_properties("num.partitions=lots");
    assert!(BrokerConfig::default().apply_properties(&props).is_err());
}

#[test]
fn offsets_topic_partitions_default_to_kafkas_and_must_be_positive() {
    let mut cfg = BrokerConfig::default();
    assert_eq!(cfg.offsets_topic_num_partitions, 50);
    cfg.apply_properties(&parse_properties("offsets.topic.num.partitions=6"))
        .unwrap();
    assert_eq!(cfg.offsets_topic_num_partitions, 6);
    for bad in ["0", "-3", "many"] {
        let props = parse_properties(&format!("offsets.topic.num.partitions={bad}"));
        assert!(cfg.apply_properties(&props).is_err(), "{bad}");
    }
    assert_eq!(cfg.offsets_topic_num_partitions, 6);
}
