"""Three kafka-python consumers in one group: all partitions assigned, rebalance when one
leaves, and a later consumer resumes from the committed offsets.

usage: kp_group.py BOOTSTRAP TOPIC GROUP
The topic must exist with 3 partitions.
"""
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer

bootstrap, topic, group = sys.argv[1:4]
PER_PARTITION = 200


def produce(tag, n):
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for part in range(3):
        for i in range(n):
            p.send(topic, value=f"{tag}-{part}-{i}".encode(), partition=part)
    p.flush()
    p.close()


def wait_for(cond, what, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


produce("a", PER_PARTITION)

lock = threading.Lock()
seen = {}
assigned = {}
stop = {}


def member(name):
    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=300,
        max_poll_records=20,
    )
    try:
        while not stop.get(name):
            batch = c.poll(timeout_ms=200)
            for _tp, msgs in batch.items():
                with lock:
                    for m in msgs:
                        seen.setdefault(m.value.decode(), name)
            if batch:
                c.commit()
            with lock:
                assigned[name] = sorted(tp.partition for tp in c.assignment())
            # Slow consumption down so the rebalance happens mid-stream.
            time.sleep(0.05)
        c.commit()
    finally:
        c.close()


threads = {n: threading.Thread(target=member, args=(n,)) for n in ("m1", "m2", "m3")}
for t in threads.values():
    t.start()


def spread():
    with lock:
        parts = [assigned.get(n, []) for n in ("m1", "m2", "m3")]
    return all(len(p) == 1 for p in parts) and sorted(sum(parts, [])) == [0, 1, 2]


wait_for(spread, "three members with one partition each")
print("three members assigned", dict(assigned), flush=True)
stop["m3"] = True
threads["m3"].join()


def two_cover_all():
    with lock:
        parts = [assigned.get(n, []) for n in ("m1", "m2")]
    return sorted(sum(parts, [])) == [0, 1, 2]


wait_for(two_cover_all, "rebalance onto two members")
print("after leave", {n: assigned[n] for n in ("m1", "m2")}, flush=True)
wait_for(lambda: len(seen) == 3 * PER_PARTITION, "all records consumed")
stop["m1"] = stop["m2"] = True
for n in ("m1", "m2"):
    threads[n].join()

# Resume from committed offsets: a new member must see only records produced afterwards.
produce("b", 10)
c = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=8000,
)
later = [m.value.decode() for m in c]
c.commit()
c.close()
assert sorted(later) == sorted(f"b-{p}-{i}" for p in range(3) for i in range(10)), later
print(f"ok group: {len(seen)} records, resumed with {len(later)} new ones")
