"""Open-loop produce latency probe with a real client (confluent-kafka, i.e. librdkafka).

usage: latency.py BOOTSTRAP TOPIC RATE COUNT OUT

Sends COUNT records of 100 B to partition 0 at RATE records/s, acks=1, linger.ms=0, in 1 ms
ticks (a tick that starts late sends at once, so the schedule holds on average), and writes each
record's produce()-to-acknowledgement time in microseconds (librdkafka's message latency) to OUT,
one per line.

Why not `rdkafka_performance -r`: its rate limiter busy-polls, so on a 2-core machine it keeps
one core at 100% and the broker and the client's own network thread share the other; what it
then reports is mostly the scheduler's time slices. Here the sending thread sleeps between ticks
and a second thread blocks in poll(), which librdkafka wakes as each delivery report arrives.
"""
import sys
import threading
import time

from confluent_kafka import Producer

bootstrap, topic, rate, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 0})
latencies = []
errors = []


def delivered(err, msg):
    if err is not None:
        errors.append(err)
    else:
        latencies.append(msg.latency())


value = b"x" * 100
# Connection and metadata first, outside the measurement.
producer.produce(topic, value, partition=0)
producer.flush(30)

running = True


def serve_reports():
    while running:
        producer.poll(0.1)


poller = threading.Thread(target=serve_reports)
poller.start()
per_tick = max(1, rate // 1000)
start = time.perf_counter()
sent = 0
tick = 0
while sent < count:
    n = min(per_tick, count - sent)
    for _ in range(n):
        producer.produce(topic, value, partition=0, on_delivery=delivered)
    sent += n
    tick += 1
    left = start + tick / 1000 - time.perf_counter()
    if left > 0:
        time.sleep(left)
send_secs = time.perf_counter() - start
deadline = time.perf_counter() + 30
while len(latencies) + len(errors) < sent and time.perf_counter() < deadline:
    time.sleep(0.01)
running = False
poller.join()
with open(out, "w") as f:
    f.write("\n".join(str(round(l * 1e6)) for l in latencies))
print(f"sent {sent} at {sent / send_secs:,.0f}/s, acknowledged {len(latencies)}, errors {len(errors)}", file=sys.stderr)
if errors or len(latencies) != sent:
    sys.exit(1)
