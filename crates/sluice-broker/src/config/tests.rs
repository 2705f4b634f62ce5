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
    assert_eq!(cfg.listeners[0].bind.port(), 19092);
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

fn resolved(props: &str) -> Result<BrokerConfig, String> {
    let mut cfg = BrokerConfig::default();
    cfg.apply_properties(&parse_properties(props))
        .map(|()| cfg)
        .map_err(|e| e.to_string())
}

const SSL_FILES: &str = "ssl.keystore.location=/k.pem\nssl.truststore.location=/t.pem\n";

#[test]
fn named_listeners_resolve_with_kafkas_defaults() {
    let cfg = resolved(&format!(
        "listeners=PLAINTEXT://:9092,SSL://127.0.0.1:9093\n\
         advertised.listeners=SSL://broker.example:19093\n{SSL_FILES}"
    ))
    .unwrap();
    let l = &cfg.listeners;
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].name.as_str(), l[0].protocol),
        ("PLAINTEXT", SecurityProtocol::Plaintext)
    );
    assert_eq!(l[0].bind.to_string(), "0.0.0.0:9092");
    assert_eq!(
        (l[0].advertised_host.as_str(), l[0].advertised_port),
        ("0.0.0.0", 9092)
    );
    assert_eq!(l[1].protocol, SecurityProtocol::Ssl);
    assert_eq!(
        (l[1].advertised_host.as_str(), l[1].advertised_port),
        ("broker.example", 19093)
    );
    // security.inter.broker.protocol defaults to PLAINTEXT.
    assert_eq!(cfg.inter_broker_listener_name, "PLAINTEXT");

    let cfg = resolved(&format!(
        "listeners=INTERNAL://127.0.0.1:9094,EXTERNAL://127.0.0.1:9095\n\
         listener.security.protocol.map=INTERNAL:SSL,EXTERNAL:PLAINTEXT\n\
         inter.broker.listener.name=internal\n{SSL_FILES}"
    ))
    .unwrap();
    assert_eq!(cfg.inter_broker_listener_name, "INTERNAL");
    assert_eq!(cfg.inter_broker_listener().bind.port(), 9094);
    // A lone listener is the inter-broker one whatever its protocol.
    let cfg = resolved(&format!("listeners=SSL://127.0.0.1:9093\n{SSL_FILES}")).unwrap();
    assert_eq!(cfg.inter_broker_listener_name, "SSL");
}

#[test]
fn listener_mistakes_are_refused_with_clear_errors() {
    let cases = [
        ("listeners=PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2", "appears twice"),
        ("listeners=PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:1", "port 1 is used by two"),
        ("listeners=OTHER://127.0.0.1:1", "not in listener.security.protocol.map"),
        ("listener.security.protocol.map=A:TLS", "unknown security protocol"),
        ("listeners=127.0.0.1:9092", "is not NAME://host:port"),
        ("advertised.listeners=SSL://h:1", "not among listeners"),
        ("inter.broker.listener.name=SSL", "not among listeners"),
        (
            "listeners=SSL://127.0.0.1:1,X://127.0.0.1:2\nlistener.security.protocol.map=SSL:SSL,X:SSL\nssl.keystore.location=/k",
            "no listener uses security.inter.broker.protocol=PLAINTEXT",
        ),
        (
            "inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=PLAINTEXT",
            "only one of",
        ),
        (
            "listeners=SASL_PLAINTEXT://127.0.0.1:1",
            "set sluice.inter.broker.sasl.username",
        ),
        (
            "listeners=SASL_PLAINTEXT://127.0.0.1:1\nsasl.enabled.mechanisms=GSSAPI",
            "SASL mechanism \"GSSAPI\" is not supported",
        ),
        (
            "listeners=SASL_PLAINTEXT://127.0.0.1:1\nsluice.inter.broker.sasl.username=b\nsasl.mechanism.inter.broker.protocol=PLAIN",
            "must be SCRAM-SHA-256 or SCRAM-SHA-512",
        ),
        ("listeners=SSL://127.0.0.1:1", "needs ssl.keystore.location"),
        (
            "listeners=SSL://127.0.0.1:1\nssl.keystore.location=/k\nssl.key.password=x",
            "encrypted private keys are not supported",
        ),
        (
            "listeners=SSL://127.0.0.1:1\nssl.keystore.location=/k\nssl.keystore.type=JKS",
            "only PEM",
        ),
        (
            "listeners=SSL://127.0.0.1:1\nssl.keystore.location=/k\nssl.client.auth=required",
            "no ssl.truststore",
        ),
        ("max.connections=lots", "is not a count"),
        ("max.connections.per.ip.overrides=somehost:3", "host names are not supported"),
    ];
    for (props, want) in cases {
        let err = resolved(props).expect_err(props);
        assert!(err.contains(want), "{props}: {err}");
    }
}

#[test]
fn per_listener_ssl_overrides_win() {
    let props = parse_properties(
        "ssl.keystore.location=/global.pem\nssl.client.auth=required\nssl.truststore.location=/ca.pem\n\
         listener.name.internal.ssl.keystore.location=/internal.pem\n\
         listener.name.internal.ssl.client.auth=none\n",
    );
    let mut cfg = BrokerConfig::default();
    cfg.apply_properties(&props).unwrap();
    let internal = ssl_settings(&cfg.ssl_props, "INTERNAL").unwrap();
    assert_eq!(internal.keystore, Keystore::File("/internal.pem".into()));
    assert_eq!(internal.client_auth, ClientAuth::None);
    let other = ssl_settings(&cfg.ssl_props, "SSL").unwrap();
    assert_eq!(other.keystore, Keystore::File("/global.pem".into()));
    assert_eq!(other.client_auth, ClientAuth::Required);
    assert_eq!(other.truststore, Some(Pem::File("/ca.pem".into())));
}

#[test]
fn connection_limits_parse() {
    let cfg = resolved(
        "max.connections=10\nmax.connections.per.ip=2\nmax.connections.per.ip.overrides=127.0.0.2:5,::1:7\n\
         connections.max.idle.ms=1000\nsluice.socket.write.timeout.ms=500",
    )
    .unwrap();
    let l = &cfg.limits;
    assert_eq!((l.max_connections, l.max_connections_per_ip), (10, 2));
    assert_eq!(l.limit_for("127.0.0.2".parse().unwrap()), 5);
    assert_eq!(l.limit_for("::1".parse().unwrap()), 7);
    assert_eq!(l.limit_for("127.0.0.1".parse().unwrap()), 2);
    assert_eq!((l.idle_ms, l.write_timeout_ms), (1000, 500));
    assert_eq!(BrokerConfig::default().limits.idle_ms, 600_000);
}

#[test]
fn tls_keys_this_broker_reads_are_known() {
    assert!(ssl::is_known_ssl_key("ssl.keystore.location"));
    assert!(ssl::is_known_ssl_key(
        "listener.name.internal.ssl.client.auth"
    ));
    assert!(!ssl::is_known_ssl_key("ssl.cipher.suites"));
    assert!(!ssl::is_known_ssl_key(
        "listener.name.x.ssl.enabled.protocols"
    ));
}
