"""confluent-kafka (librdkafka 2.x) idempotent producer and a group consumer.

usage: ck_idempotent.py BOOTSTRAP TOPIC COUNT
"""
import sys

from confluent_kafka import Consumer, Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
errors = []
offsets = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        offsets.append(msg.offset())


p = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "compression.type": "lz4",
    "linger.ms": 5,
})
for i in range(count):
    p.produce(topic, key=str(i).encode(), value=f"v{i}".encode(), partition=0,
              headers={"idx": str(i)}, on_delivery=on_delivery)
    p.poll(0)
left = p.flush(30)
assert left == 0 and not errors, (left, errors[:3])
assert sorted(offsets) == list(range(count)), "offsets not 0..count"

c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "ck-" + topic,
    "auto.offset.reset": "earliest",
    "enable.partition.eof": True,
})
c.subscribe([topic])
got = []
while True:
    m = c.poll(10)
    assert m is not None, f"timed out after {len(got)} records"
    if m.error():
        if m.error().code() == -191:  # _PARTITION_EOF
            if len(got) >= count:
                break
            continue
        raise SystemExit(f"consumer error {m.error()}")
    got.append((m.key().decode(), m.value().decode(), dict(m.headers())["idx"].decode()))
c.close()
assert got == [(str(i), f"v{i}", str(i)) for i in range(count)], got[:5]
print(f"ok idempotent {count}")
