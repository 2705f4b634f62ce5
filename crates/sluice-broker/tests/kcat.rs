//! kcat (librdkafka) against an in-process broker.

mod common;

use common::{kcat, TestBroker};

#[test]
fn keys_and_headers_round_trip_in_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let b = broker.bootstrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("kc-{codec}");
        let input: String = (0..500)
            .map(|i| format!("k{i}|{codec} value {i}\n"))
            .collect();
        kcat(
            &[
                "-b",
                &b,
                "-P",
                "-t",
                &topic,
                "-K",
                "|",
                "-z",
                codec,
                "-H",
                "trace=abc",
                "-H",
                "n=1",
            ],
            Some(input.as_bytes()),
        );
        let out = kcat(
            &[
                "-b",
                &b,
                "-C",
                "-t",
                &topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k|%s|%h|%o\n",
            ],
            None,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 500, "{codec}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(
                *line,
                format!("k{i}|{codec} value {i}|trace=abc,n=1|{i}"),
                "{codec}"
            );
        }
    }
    let metrics = broker.metrics();
    assert!(
        metrics.contains("sluice_broker_records_in_total{topic=\"kc-zstd\"} 500"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_broker_request_latency_seconds_count{api=\"produce\"}"),
        "{metrics}"
    );
}

#[test]
fn hundred_thousand_records_with_lz4() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let b = broker.bootstrap();
    let n = 100_000;
    let input: String = (0..n)
        .map(|i| format!("key-{i}:payload-{i:08}-{}\n", "x".repeat(40)))
        .collect();
    kcat(
        &[
            "-b", &b, "-P", "-t", "big", "-K", ":", "-z", "lz4", "-H", "h=v",
        ],
        Some(input.as_bytes()),
    );
    let out = kcat(
        &[
            "-b",
            &b,
            "-C",
            "-t",
            "big",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%k:%s:%h\n",
        ],
        None,
    );
    let mut count = 0;
    for (i, line) in out.lines().enumerate() {
        assert_eq!(
            line,
            format!("key-{i}:payload-{i:08}-{}:h=v", "x".repeat(40))
        );
        count += 1;
    }
    assert_eq!(count, n);
    let offsets = kcat(&["-b", &b, "-Q", "-t", "big:0:-1"], None);
    assert!(
        offsets.contains(&format!("big [0] offset {n}")),
        "{offsets}"
    );
}

#[test]
fn auto_create_off_rejects_unknown_topics() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.auto_create_topics_enable = false);
    let meta = kcat(&["-b", &broker.bootstrap(), "-L", "-t", "nope"], None);
    assert!(
        meta.contains("Broker: Unknown topic or partition"),
        "{meta}"
    );
}

#[test]
fn durable_mode_acknowledges_after_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.log_flush_interval_messages = 1);
    let b = broker.bootstrap();
    let input: String = (0..2000).map(|i| format!("{i}\n")).collect();
    kcat(
        &["-b", &b, "-P", "-t", "durable", "-X", "acks=all"],
        Some(input.as_bytes()),
    );
    let out = kcat(
        &[
            "-b",
            &b,
            "-C",
            "-t",
            "durable",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    assert_eq!(out.lines().count(), 2000);
    assert_eq!(out.lines().last(), Some("1999"));
}
