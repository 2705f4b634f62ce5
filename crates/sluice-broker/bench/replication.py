"""Replication benchmark: acks=all with replication factor 3 on three local brokers against
one broker at acks=1 (same run, same client, same machine), and failover time over 20 rounds.

usage: python3 replication.py SLUICE_BROKER_BIN RDKAFKA_PERFORMANCE_BIN [COUNT] [ROUNDS]

Throughput: rdkafka_performance, COUNT x 100-byte records to one partition, median of 3 runs
each. Failover: an idempotent acks=all producer (librdkafka) sends a record every 2 ms; the
leader of its partition is killed with SIGKILL; failover = time from the kill until the first
acknowledgement of a record produced after the kill (so it includes the client noticing and
re-routing, as an application would see it).
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Producer

BROKER, PERF = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} did not open")


class Cluster:
    def __init__(self, n, extra=""):
        self.root = tempfile.mkdtemp(prefix="sluice-repl-bench-")
        self.ports = [free_port() for _ in range(n)]
        self.admin = [free_port() for _ in range(n)]
        self.procs = [None] * n
        self.extra = extra
        voters = ",".join(f"{i + 1}@127.0.0.1:{self.admin[i]}" for i in range(n)) if n > 1 else ""
        # The cluster's admin secret: brokers serving the admin port refuse to start without one.
        self.secret = os.path.join(self.root, "admin.secret")
        fd = os.open(self.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
        for i in range(n):
            d = os.path.join(self.root, f"b{i + 1}")
            os.makedirs(d)
            with open(os.path.join(d, "server.properties"), "w") as f:
                f.write(f"node.id={i + 1}\nlisteners=PLAINTEXT://127.0.0.1:{self.ports[i]}\n"
                        f"log.dirs={d}/data\nbroker.heartbeat.interval.ms=200\n"
                        f"broker.session.timeout.ms=1000\nreplica.fetch.wait.max.ms=200\n{extra}\n")
                if voters:
                    f.write(f"controller.quorum.voters={voters}\n")
        for i in range(n):
            self.start(i)
        for p in self.ports:
            wait_port(p)
        self.wait_live()

    def start(self, i):
        d = os.path.join(self.root, f"b{i + 1}")
        log = open(os.path.join(d, "broker.log"), "a")
        self.procs[i] = subprocess.Popen(
            [BROKER, "--config", os.path.join(d, "server.properties"),
             "--admin-listener", f"127.0.0.1:{self.admin[i]}",
             "--admin-secret-file", self.secret],
            stdout=log, stderr=log, env={**os.environ, "RUST_LOG": os.environ.get("BROKER_LOG", "warn")})

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def status(self, i):
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin[i]}/cluster", timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    def wait_live(self, timeout=30):
        deadline = time.time() + timeout
        n = len(self.ports)
        while time.time() < deadline:
            s = self.status(0)
            if s and len(s["brokers"]) == n and all(not b["fenced"] for b in s["brokers"]):
                return
            time.sleep(0.05)
        raise SystemExit("brokers did not all register")

    def bootstrap(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def metadata(self, topic):
        live = [f"127.0.0.1:{self.ports[i]}" for i, p in enumerate(self.procs) if p.poll() is None]
        out = subprocess.run(["kcat", "-L", "-J", "-m", "3", "-b", ",".join(live), "-t", topic],
                             capture_output=True, text=True).stdout
        try:
            return json.loads(out)["topics"][0]["partitions"]
        except (ValueError, KeyError, IndexError):
            return None

    def wait_replicated(self, topic, rf, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ps = self.metadata(topic)
            if ps and all(p["leader"] > 0 and len(p["isrs"]) == rf for p in ps):
                return
            time.sleep(0.05)
        raise SystemExit(f"{topic} not fully replicated")

    def close(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def perf(bootstrap, topic, acks):
    out = subprocess.run([PERF, "-P", "-t", topic, "-p", "0", "-s", "100", "-c", str(COUNT),
                          "-b", bootstrap, "-u", "-a", str(acks)],
                         capture_output=True, text=True).stdout
    rows = [l for l in out.splitlines() if l.startswith("|")]
    cells = [c.strip() for c in rows[-1].split("|")]
    return float(cells[6])  # dr_m/s: delivered (acknowledged) messages per second


def throughput():
    single = Cluster(1)
    try:
        subprocess.run(["kcat", "-P", "-b", single.bootstrap(), "-t", "t1", "-p", "0"],
                       input="seed\n", text=True, check=True)
        a1 = [perf(single.bootstrap(), "t1", 1) for _ in range(3)]
    finally:
        single.close()
    three = Cluster(3, "default.replication.factor=3\nmin.insync.replicas=2")
    try:
        subprocess.run(["kcat", "-P", "-b", three.bootstrap(), "-t", "t3", "-p", "0"],
                       input="seed\n", text=True, check=True)
        three.wait_replicated("t3", 3)
        all3 = [perf(three.bootstrap(), "t3", -1) for _ in range(3)]
    finally:
        three.close()
    m1, m3 = statistics.median(a1), statistics.median(all3)
    print(f"single broker, acks=1:          {m1:,.0f} msgs/s (runs: {', '.join(f'{x:,.0f}' for x in a1)})")
    print(f"3 brokers, RF 3, acks=all:      {m3:,.0f} msgs/s (runs: {', '.join(f'{x:,.0f}' for x in all3)})")
    print(f"ratio acks=all RF3 / acks=1:    {m3 / m1:.2f} (target >= 0.40)")


def failover():
    c = Cluster(3, "default.replication.factor=3\nmin.insync.replicas=2\nnum.partitions=1")
    times = []
    try:
        subprocess.run(["kcat", "-P", "-b", c.bootstrap(), "-t", "fo", "-p", "0"],
                       input="seed\n", text=True, check=True)
        c.wait_replicated("fo", 3)
        acks = []
        lock = threading.Lock()

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acks.append((float(msg.value().decode()), time.time()))

        p = Producer({"bootstrap.servers": c.bootstrap(), "enable.idempotence": True,
                      "acks": "all", "linger.ms": 0, "retry.backoff.ms": 20,
                      "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 100,
                      "topic.metadata.refresh.interval.ms": 1000,
                      "topic.metadata.refresh.fast.interval.ms": 20})
        stop = threading.Event()

        def pump():
            while not stop.is_set():
                p.produce("fo", value=repr(time.time()).encode(), partition=0,
                          on_delivery=on_delivery)
                p.poll(0.002)
            p.flush(60)

        t = threading.Thread(target=pump)
        t.start()
        time.sleep(1)
        for _ in range(ROUNDS):
            ps = c.metadata("fo")
            leader = ps[0]["leader"] - 1
            t0 = time.time()
            c.kill(leader)
            deadline = t0 + 30
            found = None
            while time.time() < deadline and found is None:
                with lock:
                    found = next((at for sent, at in acks if sent > t0), None)
                time.sleep(0.005)
            if found is None:
                raise SystemExit("no acknowledgement within 30 s of a leader kill")
            times.append(found - t0)
            c.start(leader)
            c.wait_replicated("fo", 3)
        stop.set()
        t.join()
    finally:
        c.close()
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    print(f"failover over {len(times)} kills: median {statistics.median(times) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms (target p99 <= 2000 ms)")


throughput()
failover()
