"""Admin APIs through confluent-kafka's AdminClient (librdkafka 2.x).

usage: ck_admin.py BOOTSTRAP PHASE   (PHASE: setup | verify)
setup: topics, configs, partitions, records, groups; verify (after a broker restart): the
changes persisted.
"""
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

bootstrap, phase = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})
T = 30


def topic_config(name):
    res = ConfigResource(ResourceType.TOPIC, name)
    return {k: v.value for k, v in admin.describe_configs([res])[res].result(T).items()}


def broker_config():
    res = ConfigResource(ResourceType.BROKER, "0")
    return {k: v.value for k, v in admin.describe_configs([res])[res].result(T).items()}


if phase == "setup":
    fs = admin.create_topics([
        NewTopic("cfg", num_partitions=1, replication_factor=1, config={"retention.ms": "3600000"}),
        NewTopic("grow", num_partitions=1, replication_factor=1),
        NewTopic("doomed", num_partitions=2, replication_factor=1),
    ])
    for f in fs.values():
        f.result(T)
    # Errors come back per topic.
    try:
        admin.create_topics([NewTopic("cfg", num_partitions=1, replication_factor=1)])["cfg"].result(T)
        raise SystemExit("duplicate topic accepted")
    except Exception as e:  # noqa: BLE001
        assert "already exists" in str(e).lower() or "TOPIC_ALREADY_EXISTS" in str(e), e

    assert topic_config("cfg")["retention.ms"] == "3600000"
    res = ConfigResource(ResourceType.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET),
    ])
    admin.incremental_alter_configs([res])[res].result(T)
    cfg = topic_config("cfg")
    assert cfg["retention.ms"] == "7200000" and cfg["message.timestamp.type"] == "LogAppendTime", cfg
    bad = ConfigResource(ResourceType.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET),
    ])
    try:
        admin.incremental_alter_configs([bad])[bad].result(T)
        raise SystemExit("invalid config accepted")
    except Exception as e:  # noqa: BLE001
        assert "INVALID_CONFIG" in str(e) or "invalid" in str(e).lower(), e
    bres = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[
        ConfigEntry("log.retention.bytes", "123456789", incremental_operation=AlterConfigOpType.SET),
    ])
    admin.incremental_alter_configs([bres])[bres].result(T)
    assert broker_config()["log.retention.bytes"] == "123456789"
    assert topic_config("grow")["retention.bytes"] == "123456789"

    # LogAppendTime is applied to new batches.
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce("cfg", value=b"x", timestamp=1000)
    for i in range(10):
        p.produce("grow", value=str(i).encode(), partition=0)
    assert p.flush(T) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "admin-g", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("cfg", 0, 0)])
    m = c.poll(T)
    assert m is not None and not m.error(), m
    ts_type, ts = m.timestamp()
    assert ts_type == 2 and ts > 1000, m.timestamp()  # TIMESTAMP_LOG_APPEND_TIME
    c.commit(offsets=[TopicPartition("cfg", 0, 1)], asynchronous=False)
    c.close()

    admin.create_partitions([NewPartitions("grow", 3)])["grow"].result(T)
    md = admin.list_topics(timeout=T)
    assert len(md.topics["grow"].partitions) == 3

    deleted = admin.delete_records([TopicPartition("grow", 0, 4)])
    low = list(deleted.values())[0].result(T)
    assert low.low_watermark == 4, low.low_watermark
    lo = admin.list_offsets({TopicPartition("grow", 0): OffsetSpec.earliest()})
    assert list(lo.values())[0].result(T).offset == 4
    hi = admin.list_offsets({TopicPartition("grow", 0): OffsetSpec.latest()})
    assert list(hi.values())[0].result(T).offset == 10

    admin.delete_topics(["doomed"])["doomed"].result(T)
    assert "doomed" not in admin.list_topics(timeout=T).topics

    groups = admin.list_consumer_groups().result(T)
    assert "admin-g" in [g.group_id for g in groups.valid], groups.valid
    desc = admin.describe_consumer_groups(["admin-g"])["admin-g"].result(T)
    assert desc.group_id == "admin-g"
    cluster = admin.describe_cluster().result(T)
    assert len(cluster.nodes) == 1
    print("ok setup")
elif phase == "verify":
    cfg = topic_config("cfg")
    assert cfg["retention.ms"] == "7200000" and cfg["message.timestamp.type"] == "LogAppendTime", cfg
    assert broker_config()["log.retention.bytes"] == "123456789"
    md = admin.list_topics(timeout=T)
    assert len(md.topics["grow"].partitions) == 3 and "doomed" not in md.topics
    lo = admin.list_offsets({TopicPartition("grow", 0): OffsetSpec.earliest()})
    assert list(lo.values())[0].result(T).offset == 4
    offs = admin.list_consumer_group_offsets([__import__("confluent_kafka").ConsumerGroupTopicPartitions("admin-g")])
    tps = list(offs.values())[0].result(T).topic_partitions
    assert [(tp.topic, tp.offset) for tp in tps] == [("cfg", 1)], tps
    admin.delete_consumer_groups(["admin-g"])["admin-g"].result(T)
    assert "admin-g" not in [g.group_id for g in admin.list_consumer_groups().result(T).valid]
    print("ok verify")
