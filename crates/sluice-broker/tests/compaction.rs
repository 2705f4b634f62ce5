//! Compacted topics: topic configs reach `sluice-log`, and housekeeping runs the cleaner.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_broker::batch::encode_batch;
use sluice_broker::config::BrokerConfig;
use sluice_broker::partition::leader::Acks;
use sluice_broker::partition::Partition;
use sluice_broker::replica::state::ReplicaState;
use sluice_broker::topic_config::{topic_config_defaults, validate_topic_config, TopicSettings};

fn effective(overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = topic_config_defaults(&BrokerConfig::default())
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (k, v) in overrides {
        validate_topic_config(k, v).expect("valid config");
        m.insert(k.to_string(), v.to_string());
    }
    m
}

#[test]
fn cleanup_policy_and_cleaner_configs_map_onto_the_log_config() {
    let delete = TopicSettings::resolve(&effective(&[("retention.ms", "1000")])).log;
    assert!(!delete.compact);
    assert_eq!(delete.retention_ms, Some(1000));

    let compact = TopicSettings::resolve(&effective(&[
        ("cleanup.policy", "compact"),
        ("retention.ms", "1000"),
        ("delete.retention.ms", "5"),
        ("min.cleanable.dirty.ratio", "0.25"),
        ("min.compaction.lag.ms", "7"),
    ]))
    .log;
    assert!(compact.compact);
    assert_eq!(
        (compact.retention_ms, compact.retention_bytes),
        (None, None)
    );
    assert_eq!(compact.delete_retention_ms, 5);
    assert_eq!(compact.min_cleanable_dirty_ratio, 0.25);
    assert_eq!(compact.min_compaction_lag_ms, 7);

    let both = TopicSettings::resolve(&effective(&[
        ("cleanup.policy", "compact,delete"),
        ("retention.ms", "1000"),
    ]))
    .log;
    assert!(both.compact);
    assert_eq!(both.retention_ms, Some(1000));

    assert!(validate_topic_config("min.cleanable.dirty.ratio", "1.5").is_err());
    assert!(validate_topic_config("delete.retention.ms", "-1").is_err());
}

#[test]
fn maintain_compacts_compacted_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = TopicSettings::resolve(&effective(&[
        ("cleanup.policy", "compact"),
        ("segment.ms", "1"),
    ]));
    settings.log.min_cleanable_dirty_ratio = 0.0;
    let progress = Arc::new(tokio::sync::watch::channel(0).0);
    let p = Partition::open(
        "t",
        0,
        uuid::Uuid::nil(),
        dir.path(),
        &settings,
        ReplicaState::sole_leader(0),
        progress,
    )
    .unwrap();
    for round in 0..10 {
        let kv = (0..3).map(|k| (format!("k{k}").into_bytes(), Some(vec![round])));
        // Each append lands in a new segment (segment.ms = 1, advancing clock).
        p.append(
            &encode_batch(kv, 0).unwrap(),
            Acks::Leader,
            round as i64 * 10,
        )
        .unwrap();
    }
    // Rolls the last segment, then compacts.
    let out = p.maintain(1_000).unwrap().expect("a pass ran");
    assert!(out.cleaned, "{out:?}");
    let records = p.read_all_records().unwrap();
    let want: Vec<_> = (0..3)
        .map(|k| (format!("k{k}").into_bytes(), Some(vec![9u8])))
        .collect();
    assert_eq!(records, want);
    assert_eq!(p.offsets().unwrap().log_end, 30);
}
