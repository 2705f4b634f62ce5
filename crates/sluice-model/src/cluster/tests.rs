use super::*;

fn create(json: serde_json::Value) -> Result<ValidCreateCluster, Vec<FieldError>> {
    serde_json::from_value::<CreateClusterRequest>(json)
        .expect("well-formed")
        .validate()
}

fn base() -> serde_json::Value {
    serde_json::json!({"name": "orders", "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 100})
}

fn fields(errs: Vec<FieldError>) -> Vec<String> {
    errs.into_iter().map(|e| e.field).collect()
}

#[test]
fn minimal_create_takes_defaults() {
    let c = create(base()).unwrap();
    assert_eq!(c.spec.broker_type.as_deref(), Some(DEFAULT_BROKER_TYPE));
    assert_eq!(
        c.spec.broker_resources,
        BrokerResources {
            cpu_millis: 2000,
            memory_mib: 8192
        }
    );
    assert_eq!(c.spec.zone_count, 1);
    assert!(c.tags.as_map().is_empty());
}

#[test]
fn every_bad_field_is_reported() {
    let errs = create(serde_json::json!({
        "name": "9lives", "kafka_version": "2.0.0", "broker_count": 0, "storage_gib": 0,
        "zone_count": 7, "broker_type": "huge", "tags": {"sluice:x": "1"},
        "client_request_token": ""
    }))
    .unwrap_err();
    assert_eq!(
        fields(errs),
        [
            "name",
            "kafka_version",
            "broker_count",
            "storage_gib",
            "zone_count",
            "broker_type",
            "tags.sluice:x",
            "client_request_token"
        ]
    );
}

#[test]
fn brokers_must_fill_zones_evenly() {
    let mut j = base();
    j["zone_count"] = 2.into();
    assert_eq!(fields(create(j.clone()).unwrap_err()), ["broker_count"]);
    j["broker_count"] = 4.into();
    assert!(create(j).is_ok());
}

#[test]
fn type_and_resources_are_exclusive() {
    let mut j = base();
    j["broker_type"] = "kafka.m5.large".into();
    j["broker_resources"] = serde_json::json!({"cpu_millis": 1000, "memory_mib": 2048});
    assert_eq!(fields(create(j.clone()).unwrap_err()), ["broker_type"]);
    j.as_object_mut().unwrap().remove("broker_type");
    let c = create(j.clone()).unwrap();
    assert_eq!(c.spec.broker_type, None);
    j["broker_resources"] = serde_json::json!({"cpu_millis": 1, "memory_mib": 1});
    assert_eq!(
        fields(create(j).unwrap_err()),
        ["broker_resources.cpu_millis", "broker_resources.memory_mib"]
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let mut j = base();
    j["brokers"] = 3.into();
    assert!(serde_json::from_value::<CreateClusterRequest>(j).is_err());
}

fn spec() -> ClusterSpec {
    create(base()).unwrap().spec
}

#[test]
fn storage_only_grows() {
    let s = spec();
    assert_eq!(s.apply(&SpecChange::Storage(200)).unwrap().storage_gib, 200);
    assert!(s.apply(&SpecChange::Storage(100)).is_err());
    assert!(s.apply(&SpecChange::Storage(50)).is_err());
    assert!(s.apply(&SpecChange::Storage(MAX_STORAGE_GIB + 1)).is_err());
}

/// A request wrong in itself is `Invalid` (422); one that does not fit this cluster, `Conflict`.
#[test]
fn refusals_tell_invalid_requests_from_conflicts() {
    let s = spec();
    let invalid = |c: SpecChange| matches!(s.apply(&c), Err(ChangeRefused::Invalid(_)));
    let conflict = |c: SpecChange| matches!(s.apply(&c), Err(ChangeRefused::Conflict(_)));
    assert!(invalid(SpecChange::Storage(MAX_STORAGE_GIB + 1)));
    assert!(conflict(SpecChange::Storage(50)));
    assert!(invalid(SpecChange::BrokerCount(0)));
    assert!(conflict(SpecChange::BrokerCount(s.broker_count)));
    assert!(invalid(SpecChange::KafkaVersion("3".into())));
    assert!(conflict(SpecChange::KafkaVersion("3.6".into())));
    assert!(conflict(SpecChange::KafkaVersion(s.kafka_version.clone())));
    assert!(invalid(SpecChange::RebootBroker(0)));
    assert!(invalid(SpecChange::RebootBroker(MAX_BROKERS + 1)));
    assert!(conflict(SpecChange::RebootBroker(s.broker_count + 1)));
    let mut zoned = s.clone();
    zoned.zone_count = 3;
    zoned.broker_count = 3;
    assert!(matches!(
        zoned.apply(&SpecChange::BrokerCount(4)),
        Err(ChangeRefused::Conflict(_))
    ));
}

#[test]
fn broker_count_grows_and_shrinks_within_limits() {
    let s = spec();
    assert_eq!(
        s.apply(&SpecChange::BrokerCount(5)).unwrap().broker_count,
        5
    );
    assert_eq!(
        s.apply(&SpecChange::BrokerCount(1)).unwrap().broker_count,
        1
    );
    assert!(
        s.apply(&SpecChange::BrokerCount(3)).is_err(),
        "no-op refused"
    );
    assert!(s.apply(&SpecChange::BrokerCount(0)).is_err());
    let mut zoned = s.clone();
    zoned.zone_count = 3;
    assert!(zoned.apply(&SpecChange::BrokerCount(4)).is_err());
    assert!(zoned.apply(&SpecChange::BrokerCount(6)).is_ok());
}

#[test]
fn versions_only_move_forward() {
    let s = spec();
    assert_eq!(
        s.apply(&SpecChange::KafkaVersion("3.8.0".into()))
            .unwrap()
            .kafka_version,
        "3.8.0"
    );
    assert!(s.apply(&SpecChange::KafkaVersion("3.6.0".into())).is_err());
    assert!(s.apply(&SpecChange::KafkaVersion("3.7.0".into())).is_err());
    assert!(s.apply(&SpecChange::KafkaVersion("9.9.9".into())).is_err());
}

#[test]
fn broker_type_changes() {
    let s = spec();
    let big = SpecChange::BrokerType {
        broker_type: Some("kafka.m5.xlarge".into()),
        broker_resources: None,
    };
    assert_eq!(s.apply(&big).unwrap().broker_resources.cpu_millis, 4000);
    let same = SpecChange::BrokerType {
        broker_type: Some(DEFAULT_BROKER_TYPE.into()),
        broker_resources: None,
    };
    assert!(s.apply(&same).is_err());
    let none = SpecChange::BrokerType {
        broker_type: None,
        broker_resources: None,
    };
    assert!(s.apply(&none).is_err());
}

#[test]
fn configuration_and_reboot() {
    let s = spec();
    let c = ConfigurationRef {
        id: Uuid::nil(),
        revision: 1,
    };
    let next = s.apply(&SpecChange::Configuration(c)).unwrap();
    assert_eq!(next.configuration, Some(c));
    assert!(next.apply(&SpecChange::Configuration(c)).is_err());
    assert!(s
        .apply(&SpecChange::Configuration(ConfigurationRef {
            revision: 0,
            ..c
        }))
        .is_err());
    assert_eq!(s.apply(&SpecChange::RebootBroker(3)).unwrap(), s);
    assert!(s.apply(&SpecChange::RebootBroker(4)).is_err());
    assert!(s.apply(&SpecChange::RebootBroker(0)).is_err());
    assert_eq!(SpecChange::RebootBroker(2).broker_ids(), vec![2]);
}

#[test]
fn states_round_trip() {
    for st in ClusterState::ALL {
        assert_eq!(ClusterState::parse(st.as_str()), Some(st));
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(json, format!("\"{}\"", st.as_str()));
    }
    assert!(ClusterState::Active.accepts_updates());
    assert!(!ClusterState::Failed.accepts_updates());
    assert!(ClusterState::Failed.accepts_delete());
    assert!(!ClusterState::Deleting.accepts_delete());
}
