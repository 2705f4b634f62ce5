"""Round-trips keyed records with headers through the broker using kafka-python.

usage: kp_roundtrip.py BOOTSTRAP TOPIC COMPRESSION COUNT
Exits non-zero (with a message) if anything read back differs from what was sent.
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, compression, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
compression = None if compression == "none" else compression

producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=compression, acks="all", linger_ms=5)
futures = []
for i in range(count):
    futures.append(
        producer.send(
            topic,
            key=f"key-{i}".encode(),
            value=f"value-{i}-{compression}".encode() * 3,
            headers=[("h1", f"hv-{i}".encode()), ("h2", b"")],
            partition=0,
        )
    )
producer.flush()
offsets = [f.get(timeout=30).offset for f in futures]
assert offsets == list(range(offsets[0], offsets[0] + count)), "offsets not contiguous"
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=15000)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek(tp, offsets[0])
seen = 0
for msg in consumer:
    i = msg.offset - offsets[0]
    assert msg.key == f"key-{i}".encode(), (msg.key, i)
    assert msg.value == f"value-{i}-{compression}".encode() * 3, (msg.value, i)
    assert list(msg.headers) == [("h1", f"hv-{i}".encode()), ("h2", b"")], msg.headers
    seen += 1
    if seen == count:
        break
consumer.close()
assert seen == count, f"read {seen} of {count}"
print(f"ok {seen} records compression={compression}")
