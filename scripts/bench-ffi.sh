#!/usr/bin/env bash
# kcp-ffi's C API against ikcp.c 1.7.1 compiled with -O2, same process, same C harness
# (kcp-ffi/bench/bench.c): flush over 1,024 idle segments, 100 MiB bulk, and 100 MiB with
# 10% loss. Prints medians of 15 alternating rounds and the median of the per-round
# ratios kcp-ffi / ikcp.c.
# Extra arguments go to the program (--quick: a smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p kcp-ffi --release
target="${CARGO_TARGET_DIR:-target}"
out="$target/bench-ffi"
mkdir -p "$out"
upstream=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/kcp-sys-0.1.0/kcp 2>/dev/null | head -1)
if [ -z "$upstream" ]; then
  cargo fetch
  upstream=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/kcp-sys-0.1.0/kcp | head -1)
fi
gcc -O2 -w -include kcp-ffi/tests/c/rename.h -I"$upstream" -c "$upstream/ikcp.c" -o "$out/ikcp_c.o"
gcc -O2 -Wall -Ikcp-ffi/include -Ikcp-ffi/tests/c -c kcp-ffi/tests/c/worlds.c -o "$out/worlds.o"
gcc -O2 -Wall -Ikcp-ffi/include -Ikcp-ffi/tests/c -c kcp-ffi/bench/bench.c -o "$out/bench.o"
gcc -O2 "$out/bench.o" "$out/worlds.o" "$out/ikcp_c.o" "$target/release/libkcp_ffi.a" \
  -lpthread -ldl -lm -lrt -lutil -o "$out/bench"
"$out/bench" "$@"
