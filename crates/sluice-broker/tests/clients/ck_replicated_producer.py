"""Idempotent acks=all producer (confluent-kafka / librdkafka) that keeps writing while a
test kills, restarts or reassigns brokers under it.

Writes values "<partition>:<seq>" round-robin over PARTITIONS partitions, with per-partition
sequence numbers, at up to RATE records/s, until STOPFILE exists. Then flushes, writes every
acknowledged value (one per line) to OUTFILE and prints "ACKED <n>" and "ERRORS <n>" (delivery
errors the application saw) on stdout. Prints "PROGRESS <acked>" about once a second.

usage: ck_replicated_producer.py BOOTSTRAP TOPIC PARTITIONS RATE STOPFILE OUTFILE
"""
import os
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, partitions, rate, stopfile, outfile = sys.argv[1:7]
partitions, rate = int(partitions), int(rate)
acked = []
errors = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(f"{msg.partition()}:{err}")
    else:
        acked.append(msg.value().decode())


p = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "message.timeout.ms": 120000,
    "retry.backoff.ms": 50,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "topic.metadata.refresh.interval.ms": 1000,
})
seq = [0] * partitions
sent = 0
start = time.time()
last_progress = start
while not os.path.exists(stopfile):
    part = sent % partitions
    value = f"{part}:{seq[part]}"
    while True:
        try:
            p.produce(topic, value=value.encode(), partition=part, on_delivery=on_delivery)
            break
        except BufferError:
            p.poll(0.05)
    seq[part] += 1
    sent += 1
    p.poll(0)
    # Pace to RATE records/s.
    ahead = sent / rate - (time.time() - start)
    if ahead > 0:
        p.poll(ahead)
    if time.time() - last_progress > 1:
        print(f"PROGRESS {len(acked)}", flush=True)
        last_progress = time.time()
remaining = p.flush(180)
if remaining:
    errors.append(f"{remaining} records still unacknowledged after 180 s")
with open(outfile, "w") as f:
    f.write("\n".join(acked))
print(f"ACKED {len(acked)}", flush=True)
print(f"ERRORS {len(errors)}", flush=True)
for e in errors[:20]:
    print(f"ERROR {e}", flush=True)
