#!/usr/bin/env bash
# kcp-session-ffi's Rust-level tests of the C ABI under Miri (Stacked Borrows), needs a
# nightly toolchain with the miri and rust-src components (`rustup component add miri
# rust-src --toolchain nightly`):
#  - tests/api.rs and tests/datagrams.rs: hostile calls (NULLs, stale, made-up and
#    foreign handles, lengths above PTRDIFF_MAX, bad addresses and config values), message
#    mode, unreliable datagrams (kept when the buffer is too small) and confirmed
#    connects between two endpoints, datagrams handed across through kcps_transmit's
#    pointers;
#  - tests/threads.rs: two threads calling into one endpoint at once, under Miri's data
#    race detector (the busy flag must keep them off the endpoint's state), with 16
#    scheduler seeds: the interleaving that showed a call's state reference outliving its
#    turn came up under some seeds only.
# The endpoints use no cipher: aes's key derivation alone (4096 PBKDF2 rounds) takes
# minutes under Miri, so the one test with aes is ignored there. The C programs run under
# ASan and UBSan instead (tests/kcpgo.rs, scripts/check-session-ffi-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri-session-ffi.sh: no nightly toolchain with Miri;" \
    "rustup toolchain install nightly --profile minimal --component miri,rust-src" >&2
  exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/miri"
cargo +nightly miri test -p kcp-session-ffi --test api --test datagrams
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-many-seeds=0..16" cargo +nightly miri test -p kcp-session-ffi --test threads
