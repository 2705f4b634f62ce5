#!/usr/bin/env bash
# API benchmark: wrk from a second process against a release sluice-control on a local Postgres.
# Prints, for each scenario, the median over RUNS runs of requests/s and p99 latency, beside two
# peers measured in the same run: /healthz (the HTTP stack alone, no auth, no database) and
# pgbench's `SELECT 1` (the database alone).
#   usage: crates/sluice-api/bench/run.sh [RUNS=5] [SECONDS=5]   (CONNS=8 connections by default)
set -euo pipefail
cd "$(dirname "$0")/../../.."
source .ci/lib.sh
use_build_cache
RUNS=${1:-5}
CONNS=${CONNS:-8}
SECS=${2:-5}
apt_install wrk
ensure_postgres
bin=$(pg_bin_dir)
db="sluice_bench_$$"
psql "$DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
url="${DATABASE_URL%/*}/$db"
cargo build --release -q -p sluice-control
ctl="$CARGO_TARGET_DIR/release/sluice-control"
export SLUICE_JWT_SECRET="bench-secret-bench-secret-bench-secret!"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="$url" RUST_LOG=warn "$ctl" serve --listen "127.0.0.1:$port" --db-max-connections 16 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
export SLUICE_TOKEN
SLUICE_TOKEN=$("$ctl" token --tenant bench --role operator --ttl 1h)
# 100 clusters to list, one to get.
for i in $(seq 1 100); do
  curl -sf -o /dev/null -XPOST "$base/v1/clusters" -H "authorization: Bearer $SLUICE_TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"name\":\"seed$i\",\"kafka_version\":\"3.7.0\",\"broker_count\":3,\"storage_gib\":100}"
done
id=$(curl -sf "$base/v1/clusters?max_results=1" -H "authorization: Bearer $SLUICE_TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["clusters"][0]["id"])')

here=$(dirname "$0")
# wrk: 2 threads, CONNS connections; prints "rps p99_ms non2xx" per run.
wrk_run() {
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" 2>&1 | python3 -c '
import re, sys
out = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rps:.0f} {p99:.2f} {errs.group(1) if errs else 0}")'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
scenario() {
  local name=$1; shift
  local rps=() p99=() bad=0
  for _ in $(seq 1 "$RUNS"); do
    read -r r p e < <(wrk_run "$@")
    rps+=("$r"); p99+=("$p"); bad=$((bad + e))
  done
  printf '%-34s %10s req/s   p99 %7s ms   non-2xx %s\n' "$name" \
    "$(printf '%s\n' "${rps[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)" "$bad"
}
echo "median of $RUNS runs x ${SECS}s, wrk -t2 -c$CONNS, $(nproc) cores shared by server, Postgres and wrk"
scenario "peer: GET /healthz (no auth, no DB)" "$base/healthz"
scenario "GET /v1/clusters/{id}" -s "$here/auth.lua" "$base/v1/clusters/$id"
scenario "GET /v1/clusters?max_results=100" -s "$here/auth.lua" "$base/v1/clusters?max_results=100"
scenario "POST /v1/clusters (create)" -s "$here/create.lua" "$base/v1/clusters"
pg=$(for _ in $(seq 1 "$RUNS"); do
  "$bin/pgbench" -n -c 16 -j 2 -T "$SECS" -f <(echo 'SELECT 1;') "$url" 2>/dev/null | awk '/^tps/ {print int($3)}'
done | median)
printf '%-34s %10s tx/s\n' "peer: pgbench SELECT 1, 16 clients" "$pg"
