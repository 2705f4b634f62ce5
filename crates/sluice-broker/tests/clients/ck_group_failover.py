"""Several consumer groups (confluent-kafka, MEMBERS consumers each) on one topic, driven by
commands on stdin so the test can kill a broker between phases. Each command is answered by one
line on stdout.

usage: ck_group_failover.py BOOTSTRAP TOPIC PARTITIONS GROUP[,GROUP...] MEMBERS
  (creates TOPIC with PARTITIONS partitions, replication factor 3; prints "ready" once every
  group is stable)
commands:
  produce TAG N     N records per partition valued TAG-partition-i, acks=all; waits until every
                    group is stable, then until each has consumed and committed them: "done TAG"
  failover G[,G..]  the coordinators of these groups are gone: from now on their members must
                    rejoin (a new assignment each) before a group counts as stable: "marked"
  report            closes the consumers and prints one JSON line per group, then exits

Every member consumes in its own thread and commits synchronously after each batch. With
auto.offset.reset=earliest, a group whose committed offsets were lost reads everything again,
which the report shows.
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
groups = sys.argv[4].split(",")
members_per_group = int(sys.argv[5])
TIMEOUT = 120

lock = threading.Lock()
stop = threading.Event()


def fail(what):
    with lock:
        state = {g: [(m.name, m.assignment, m.assigns_after) for m in ms] for g, ms in members.items()}
    print(f"FAILED: timed out waiting for {what}: {json.dumps(state)}", flush=True)
    stop.set()
    sys.exit(1)


def wait_for(cond, what):
    deadline = time.time() + TIMEOUT
    while True:
        with lock:
            if cond():
                return
        if time.time() > deadline:
            fail(what)
        time.sleep(0.05)


class Member:
    def __init__(self, group, i):
        self.group = group
        self.name = f"{group}-m{i}"
        self.assignment = []
        self.assigns_before = 0
        self.assigns_after = 0
        self.commit_failures_after = 0
        self.pending = False  # consumed but not yet committed
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": self.name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 300,
            "topic.metadata.refresh.interval.ms": 2000,
        })
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke,
                                on_lost=self.on_revoke)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_assign(self, _c, parts):
        with lock:
            self.assignment = sorted(p.partition for p in parts)
            if marked_any:
                self.assigns_after += 1
            else:
                self.assigns_before += 1

    def on_revoke(self, _c, _parts):
        with lock:
            self.assignment = []

    def run(self):
        c = self.consumer
        while not stop.is_set():
            msgs = c.consume(num_messages=200, timeout=0.2)
            values = [m.value().decode() for m in msgs if m.error() is None]
            errors = [m.error() for m in msgs if m.error() is not None]
            for e in errors:
                if e.code() != KafkaError._PARTITION_EOF:
                    print(f"consume error {self.name}: {e}", file=sys.stderr, flush=True)
            with lock:
                for v in values:
                    consumed[self.group].append((v, marked_any))
                if values:
                    self.pending = True
                pending = self.pending
            if not pending:
                continue
            try:
                c.commit(asynchronous=False)
                ok = True
            except KafkaException as e:
                ok = e.args[0].code() == KafkaError._NO_OFFSET
                if not ok:
                    print(f"commit failed {self.name}: {e}", file=sys.stderr, flush=True)
            with lock:
                if ok:
                    self.pending = False
                elif marked_any:
                    self.commit_failures_after += 1


def stable(group):
    ms = members[group]
    parts = [p for m in ms for p in m.assignment]
    if sorted(parts) != list(range(partitions)) or any(not m.assignment for m in ms):
        return False
    return group not in failed_over or all(m.assigns_after > 0 for m in ms)


admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, partitions, 3)])[topic].result(60)

consumed = {g: [] for g in groups}
failed_over = set()
marked_any = False
members = {g: [Member(g, i) for i in range(members_per_group)] for g in groups}
for ms in members.values():
    for m in ms:
        m.thread.start()
wait_for(lambda: all(stable(g) for g in groups), "every group stable")
print("ready", flush=True)

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "produce":
        tag, n = cmd[1], int(cmd[2])
        wait_for(lambda: all(stable(g) for g in groups), f"every group stable before {tag}")
        errors = []

        def delivered(err, _msg):
            if err is not None:
                errors.append(err)

        for p in range(partitions):
            for i in range(n):
                producer.produce(topic, value=f"{tag}-{p}-{i}".encode(), partition=p,
                                 on_delivery=delivered)
        producer.flush(60)
        if errors or len(producer):
            print(f"FAILED: delivery errors {errors[:5]}", flush=True)
            sys.exit(1)
        expected = {f"{tag}-{p}-{i}" for p in range(partitions) for i in range(n)}

        def all_consumed():
            for g in groups:
                if not expected <= {v for v, _ in consumed[g]}:
                    return False
                if any(m.pending for m in members[g]):
                    return False
            return True

        wait_for(all_consumed, f"every group to consume and commit {tag}")
        print(f"done {tag}", flush=True)
    elif cmd[0] == "failover":
        with lock:
            failed_over.update(cmd[1].split(","))
            marked_any = True
        print("marked", flush=True)
    elif cmd[0] == "report":
        break

stop.set()
for ms in members.values():
    for m in ms:
        m.thread.join(30)
for g in groups:
    ms = members[g]
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    committed = {tp.partition: tp.offset for tp in ms[0].consumer.committed(tps, timeout=30)}
    ends = {p: ms[0].consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in range(partitions)}
    print(json.dumps({
        "group": g,
        "consumed": [v for v, _ in consumed[g]],
        "consumed_after_failover": [v for v, after in consumed[g] if after],
        "assigns_before": [m.assigns_before for m in ms],
        "assigns_after": [m.assigns_after for m in ms],
        "commit_failures_after": sum(m.commit_failures_after for m in ms),
        "committed": committed,
        "ends": ends,
    }), flush=True)
    for m in ms:
        m.consumer.close()
