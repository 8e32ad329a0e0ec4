#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), then runs every test
# of the workspace, including the differential test against the C ikcp and the interop
# tests against the real kcp-go. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace "$@"
