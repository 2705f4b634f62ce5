"""Static membership with confluent-kafka: a member restarted with the same group.instance.id
gets its partition back and the other member keeps its own.

usage: ck_static.py BOOTSTRAP TOPIC   (creates TOPIC with 2 partitions)
"""
import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)


def member(instance):
    state = {"assigned": [], "revoked": 0}

    def on_assign(_c, parts):
        state["assigned"] = sorted(p.partition for p in parts)

    def on_revoke(_c, _parts):
        state["revoked"] += 1
        state["assigned"] = []

    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "static-" + topic,
        "group.instance.id": instance,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 300,
        "auto.offset.reset": "earliest",
    })
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    return c, state


def poll_until(members, cond, what, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}: {[s for _, s in members]}")
        for c, _ in members:
            c.poll(0.05)


a = member("i1")
b = member("i2")
poll_until([a, b], lambda: a[1]["assigned"] and b[1]["assigned"] and a[1]["assigned"] != b[1]["assigned"],
           "both members assigned")
before = (a[1]["assigned"], b[1]["assigned"])
print("assigned", before, flush=True)
# A static member leaving with close() does not send LeaveGroup; its replacement takes over.
a[0].close()
a2 = member("i1")
poll_until([a2, b], lambda: a2[1]["assigned"] and b[1]["assigned"], "restarted member assigned")
after = (a2[1]["assigned"], b[1]["assigned"])
assert after == before, (before, after)
a2[0].close()
b[0].close()
print("ok static", after)
