#!/usr/bin/env bash
# Echo throughput of a C program on kcp_session.h against kcp-go's own client, through the
# same kcp-go 5.6.1 echo server on 127.0.0.1, in the same run: BYTES (default 64 MiB) with
# aes and FEC 10/3, mode fast3, ROUNDS (default 3) rounds alternating the two clients.
# Prints each run's seconds and the median ratio (kcp-go seconds / C seconds: above 1 means
# the C client is faster). Loopback numbers: they compare the stacks, not a network.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${BYTES:-67108864}
rounds=${ROUNDS:-3}
target="${CARGO_TARGET_DIR:-target}"
flags=(-crypt aes -key "bench key" -mode fast3 -datashard 10 -parityshard 3)
c_flags=(crypt=aes "key=bench key" mode=fast3 datashard=10 parityshard=3)

peer=$(scripts/go-peer.sh session)
cargo build --release -p kcp-session-ffi
dir="$target/bench-session-ffi"
mkdir -p "$dir"
c=kcp-session-ffi/tests/c
gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -pedantic -Werror \
  -Ikcp-session-ffi/include "$c/echo_client.c" "$c/udp.c" \
  "$target/release/libkcp_session_ffi.a" -lpthread -ldl -lm -o "$dir/echo_client"

out="$dir/server.out"
"$peer" echo-server -listen 127.0.0.1:0 "${flags[@]}" >"$out" 2>"$dir/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  addr=$(sed -n 's/^listening //p' "$out" | head -1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "${addr:-}" ] || { echo "kcp-go echo server did not start" >&2; exit 1; }

c_secs=() go_secs=()
for r in $(seq "$rounds"); do
  line=$(timeout 300 "$dir/echo_client" "${addr%:*}" "${addr##*:}" "$bytes" "${c_flags[@]}")
  c_secs+=("$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$line")")
  line=$(timeout 300 "$peer" echo-client -remote "$addr" -bytes "$bytes" "${flags[@]}" | grep '^ok ')
  go_secs+=("$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$line")")
  [ -n "${c_secs[-1]}" ] && [ -n "${go_secs[-1]}" ] || { echo "a client failed" >&2; exit 1; }
  echo "round $r: C on kcp_session.h ${c_secs[-1]} s, kcp-go client ${go_secs[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
c=$(median "${c_secs[@]}") go=$(median "${go_secs[@]}")
awk -v c="$c" -v go="$go" -v b="$bytes" 'BEGIN {
  printf "median: C %.3f s (%.1f MiB/s each way), kcp-go %.3f s (%.1f MiB/s); kcp-go/C = %.2f\n",
    c, b / 1048576 / c, go, b / 1048576 / go, go / c }'
