#!/usr/bin/env bash
# kcp-ffi's Rust-level tests under Miri (needs a nightly toolchain with the miri and
# rust-src components: `rustup component add miri rust-src --toolchain nightly`):
#  - with the library's own allocator (`runtime` feature) under Tree Borrows: an allocator
#    that keeps a header before each block and frees the whole block is outside what
#    Stacked Borrows can express;
#  - without it (Miri's allocator) under Stacked Borrows, the stricter model, for the API
#    layer itself.
# Miri's data race detector checks the tests that call ikcp.h's `const` functions from
# several threads at once (`threads`) and install allocators while another thread
# allocates (`allocator`).
# The C parts (ikcp_log) are skipped by Miri; the C test programs run under ASan and UBSan
# in `cargo test -p kcp-ffi` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri-ffi.sh: no nightly toolchain with Miri;" \
    "rustup toolchain install nightly --profile minimal --component miri,rust-src" >&2
  exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/miri"
MIRIFLAGS="-Zmiri-tree-borrows" cargo +nightly miri test -p kcp-ffi --test api --test allocator \
  --test threads
cargo +nightly miri test -p kcp-ffi --no-default-features --test api --test threads
