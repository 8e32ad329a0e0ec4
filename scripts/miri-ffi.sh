#!/usr/bin/env bash
# kcp-ffi's Rust-level tests under Miri (needs a nightly toolchain with the miri and
# rust-src components: `rustup component add miri rust-src --toolchain nightly`):
#  - with the library's own allocator (`runtime` feature) under Tree Borrows: an allocator
#    that keeps a header before each block and frees the whole block is outside what
#    Stacked Borrows can express;
#  - without it (Miri's allocator) under Stacked Borrows, the stricter model, for the API
#    layer itself.
# The C parts (ikcp_log) are skipped by Miri; the C test programs run under ASan and UBSan
# in `cargo test -p kcp-ffi` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/miri"
MIRIFLAGS="-Zmiri-tree-borrows" cargo +nightly miri test -p kcp-ffi --test api --test allocator
cargo +nightly miri test -p kcp-ffi --no-default-features --test api
