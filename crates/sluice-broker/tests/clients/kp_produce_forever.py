"""Produces numbered records with acks=all through broker restarts, retrying failures, and
prints every acknowledged value (one per line) at the end. Prints PROGRESS lines while running.

usage: kp_produce_forever.py BOOTSTRAP TOPIC COUNT
"""
import sys
import time

from kafka import KafkaProducer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = KafkaProducer(
    bootstrap_servers=bootstrap,
    acks="all",
    retries=1000,
    retry_backoff_ms=100,
    reconnect_backoff_ms=50,
    reconnect_backoff_max_ms=500,
    request_timeout_ms=5000,
    max_in_flight_requests_per_connection=1,
    enable_idempotence=False,
)
acked = []
last_ok = time.time()
for i in range(count):
    while True:
        if time.time() - last_ok > 120:
            raise SystemExit(f"no acknowledgement for 120 s at record {i}")
        try:
            p.send(topic, value=str(i).encode(), partition=0).get(timeout=30)
            acked.append(i)
            last_ok = time.time()
            break
        except Exception as e:  # noqa: BLE001 - retry anything while the broker restarts
            print(f"RETRY {i} {type(e).__name__}", flush=True)
            time.sleep(0.1)
    if i % 50 == 0:
        print(f"PROGRESS {i}", flush=True)
p.close()
print("ACKED " + ",".join(map(str, acked)), flush=True)
