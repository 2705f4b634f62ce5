"""Produce, consume through a group and commit, authenticated with SASL (and TLS when a CA is
given), with kafka-python or confluent-kafka.

usage: sasl_clients.py LIB BOOTSTRAP PROTOCOL MECHANISM USER PASSWORD TOPIC [CA_PEM]
LIB is kafka-python or confluent-kafka. Prints "ok N records, committed N".
"""
import sys
import time

lib, bootstrap, protocol, mechanism, user, password, topic = sys.argv[1:8]
ca = sys.argv[8] if len(sys.argv) > 8 else None
N = 50
group = f"sasl-{lib}-{topic}"

if lib == "kafka-python":
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    common = dict(
        bootstrap_servers=bootstrap,
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_plain_username=user,
        sasl_plain_password=password,
    )
    if ca:
        common.update(ssl_cafile=ca, ssl_check_hostname=False)
    producer = KafkaProducer(acks="all", **common)
    for i in range(N):
        producer.send(topic, key=b"k%d" % i, value=b"v%d" % i)
    producer.flush(30)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **common,
    )
    got = []
    deadline = time.time() + 60
    while len(got) < N and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            got.extend(r.value for r in records)
    consumer.commit()
    committed = consumer.committed(TopicPartition(topic, 0))
    consumer.close()
elif lib == "confluent-kafka":
    from confluent_kafka import Consumer, Producer, TopicPartition

    common = {
        "bootstrap.servers": bootstrap,
        "security.protocol": protocol,
        "sasl.mechanisms": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    if ca:
        common.update({"ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "none"})
    producer = Producer({**common, "acks": "all", "linger.ms": 5})
    for i in range(N):
        producer.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
    assert producer.flush(30) == 0, "undelivered records"
    consumer = Consumer(
        {
            **common,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got = []
    deadline = time.time() + 60
    while len(got) < N and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            raise SystemExit(f"consume error: {m.error()}")
        got.append(m.value())
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
    consumer.close()
else:
    raise SystemExit(f"unknown client library {lib}")

assert sorted(got) == sorted(b"v%d" % i for i in range(N)), got
print(f"ok {len(got)} records, committed {committed}")
