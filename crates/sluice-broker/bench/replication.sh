#!/usr/bin/env bash
# Replication benchmark (see replication.py): acks=all RF 3 on 3 brokers vs 1 broker at acks=1,
# and failover time over 20 leader kills. Reuses run.sh's rdkafka_performance build.
#
# usage: crates/sluice-broker/bench/replication.sh [COUNT] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$HOME/.cache/sluice/bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target-broker}"
if [ ! -x "$BENCH_DIR/rdkafka_performance" ]; then
    echo "building rdkafka_performance through run.sh (one-off)" >&2
    "$ROOT/crates/sluice-broker/bench/run.sh" 1000 >/dev/null
fi
command -v kcat >/dev/null || "$ROOT/.ci/install-broker-deps"
python3 -c 'import confluent_kafka' 2>/dev/null || "$ROOT/.ci/install-broker-deps"
(cd "$ROOT" && cargo build --release -q -p sluice-broker)
exec python3 "$ROOT/crates/sluice-broker/bench/replication.py" \
    "$CARGO_TARGET_DIR/release/sluice-broker" "$BENCH_DIR/rdkafka_performance" "${1:-1000000}" "${2:-20}"
