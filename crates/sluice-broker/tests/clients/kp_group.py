"""Three kafka-python consumers (separate processes) in one group: all partitions assigned,
rebalance when one leaves, and a later consumer resumes from the committed offsets.

usage: kp_group.py BOOTSTRAP TOPIC GROUP
       kp_group.py member BOOTSTRAP TOPIC GROUP   (internal: one group member)
The topic is created by the first produce with the broker's default partition count (3).
"""
import json
import os
import select
import subprocess
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

PER_PARTITION = 200


def run_member(bootstrap, topic, group):
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
    last = None
    try:
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], 0)
            if ready:
                break  # "stop" line or EOF
            batch = c.poll(timeout_ms=200)
            values = [m.value.decode() for msgs in batch.values() for m in msgs]
            if values:
                print(json.dumps({"v": values}), flush=True)
                commit(c)
            parts = sorted(tp.partition for tp in c.assignment())
            if parts != last:
                print(json.dumps({"a": parts}), flush=True)
                last = parts
            # Slow consumption down so the rebalance happens mid-stream.
            time.sleep(0.05)
        # Records polled but not printed were never taken; a failed final commit only means
        # the next owner consumes them again.
        commit(c)
    finally:
        c.close()


def commit(c):
    """Commits consumed positions; a commit racing a rebalance fails, as with any broker, and
    the records are consumed again by whoever gets the partition."""
    try:
        c.commit()
        return True
    except KafkaError as e:
        print(json.dumps({"commit_failed": type(e).__name__}), flush=True)
        return False


if sys.argv[1] == "member":
    run_member(*sys.argv[2:5])
    sys.exit(0)

bootstrap, topic, group = sys.argv[1:4]
lock = threading.Lock()
seen = set()
assigned = {}
procs = {}


def produce(tag, n):
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for part in range(3):
        for i in range(n):
            p.send(topic, value=f"{tag}-{part}-{i}".encode(), partition=part)
    p.flush()
    p.close()


def stop_all():
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()


def wait_for(cond, what, timeout=120):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            stop_all()
            with lock:
                raise SystemExit(f"timed out waiting for {what}: assigned={assigned} seen={len(seen)}")
        time.sleep(0.05)


def start(name):
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "member", bootstrap, topic, group],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    procs[name] = proc

    def read():
        for line in proc.stdout:
            msg = json.loads(line)
            with lock:
                if "a" in msg:
                    assigned[name] = msg["a"]
                for v in msg.get("v", []):
                    seen.add(v)

    threading.Thread(target=read, daemon=True).start()


def stop(name):
    proc = procs[name]
    proc.stdin.write("stop\n")
    proc.stdin.close()
    if proc.wait(timeout=60) != 0:
        raise SystemExit(f"member {name} failed")


try:
    produce("a", PER_PARTITION)
    for n in ("m1", "m2", "m3"):
        start(n)

    def spread():
        with lock:
            parts = [assigned.get(n, []) for n in ("m1", "m2", "m3")]
        return all(len(p) == 1 for p in parts) and sorted(sum(parts, [])) == [0, 1, 2]

    wait_for(spread, "three members with one partition each")
    print("three members assigned", dict(assigned), flush=True)
    stop("m3")

    def two_cover_all():
        with lock:
            parts = [assigned.get(n, []) for n in ("m1", "m2")]
        return sorted(sum(parts, [])) == [0, 1, 2]

    wait_for(two_cover_all, "rebalance onto two members")
    print("after leave", {n: assigned[n] for n in ("m1", "m2")}, flush=True)
    wait_for(lambda: len(seen) == 3 * PER_PARTITION, "all records consumed")
    stop("m1")
    stop("m2")
finally:
    stop_all()

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
