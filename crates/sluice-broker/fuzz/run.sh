#!/usr/bin/env bash
# Fuzzes sluice-broker's request decoder (framing + header + body for every served API).
#
# usage: crates/sluice-broker/fuzz/run.sh [SECONDS]   (default 60)
# cargo-fuzz needs nightly features; with only a stable toolchain, RUSTC_BOOTSTRAP=1 enables
# them. Crashes are written to fuzz/artifacts/decode_request/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz run decode_request -- -max_total_time="${1:-60}" -max_len=65536
