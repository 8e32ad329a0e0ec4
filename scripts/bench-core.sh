#!/usr/bin/env bash
# kcp-core against the real C ikcp 1.7.1 (through kcp-sys), same process, same harness:
# runs the criterion benchmarks in benches/benches/core.rs and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p kcp-benches --bench core -- "$@"
scripts/criterion-ratios.py "${CARGO_TARGET_DIR:-target}" flush_1024_idle bulk_100MiB bulk_100MiB_loss10
