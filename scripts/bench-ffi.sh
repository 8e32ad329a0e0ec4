#!/usr/bin/env bash
# kcp-ffi's C API against ikcp.c 1.7.1 compiled with -O2, same process, same C harness
# (kcp-ffi/bench/bench.c): flush over 1,024 idle segments, 100 MiB bulk, and 100 MiB with
# 10% loss. Prints medians of 15 alternating rounds and the median of the per-round
# ratios kcp-ffi / ikcp.c.
# Extra arguments go to the program (--quick: a smoke run).
#
# --instructions instead counts the instructions (valgrind's cachegrind: the same count on
# a busy machine as on an idle one) of five 16 MiB bulk transfers, without and with 10%
# loss, for ikcp.c and kcp-ffi through the C harness, and for kcp-core called from Rust
# (kcp-ffi/examples/bulk_direct.rs, the same harness in Rust): the C API's own overhead.
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
if [ "${1:-}" != "--instructions" ]; then
  exec "$out/bench" "$@"
fi
command -v valgrind >/dev/null || { echo "--instructions needs valgrind" >&2; exit 1; }
cargo build -p kcp-ffi --release --example bulk_direct
count() { # command...: instructions executed
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
    | sed -n 's/.*I *refs: *//p' | tr -d ,
}
printf '%-26s %14s %14s %14s %9s %9s\n' "5 x 16 MiB bulk" ikcp.c kcp-ffi "kcp-core (Rust)" ffi/C core/C
for drop in 0 10; do
  c=$(count "$out/bench" --only ikcp.c 16 "$drop")
  f=$(count "$out/bench" --only kcp-ffi 16 "$drop")
  r=$(count "$target/release/examples/bulk_direct" 16 "$drop" 5)
  label=$([ "$drop" = 0 ] && echo "no loss" || echo "every ${drop}th dropped")
  printf '%-26s %14s %14s %14s %9.2f %9.2f\n' "$label" "$c" "$f" "$r" \
    "$(echo "$f / $c" | bc -l)" "$(echo "$r / $c" | bc -l)"
done
