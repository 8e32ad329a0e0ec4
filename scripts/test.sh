#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), then runs every test
# of the workspace, including the differential test against the C ikcp and the interop
# tests against the real kcp-go. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace "$@"
# The crates with their default features off, as no_std users build them: the workspace
# run above unifies features across all crates, so the paths that depend on them are only
# tested here (dev-dependencies may still turn some on). The sans-io tests of kcp-session
# need neither its std nor its tokio feature.
cargo test -p kcp-core -p kcp-fec -p kcp-crypt --no-default-features --lib
cargo test -p kcp-session --no-default-features --lib --test sansio --test endpoint --test stall
