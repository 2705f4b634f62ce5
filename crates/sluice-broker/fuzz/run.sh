#!/usr/bin/env bash
# Fuzzes sluice-broker's request decoder (framing + header + body for every served API, the SASL
# and ACL requests included) and the pre-authentication SASL exchange (SCRAM, PLAIN, mapping
# rules).
#
# usage: crates/sluice-broker/fuzz/run.sh [SECONDS]   (default 60 per target)
# cargo-fuzz needs nightly features; with only a stable toolchain, RUSTC_BOOTSTRAP=1 enables
# them. Crashes are written to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in decode_request sasl_exchange; do
  cargo fuzz run "$target" -- -max_total_time="${1:-60}" -max_len=65536
done
