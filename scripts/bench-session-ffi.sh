#!/usr/bin/env bash
# Echo throughput of C programs on kcp_session.h against kcp-go 5.6.1, on 127.0.0.1, in the
# same run: BYTES (default 64 MiB) each way with aes and FEC 10/3, mode fast3, ROUNDS
# (default 3) rounds of
#   - the C client and kcp-go's own client, each through the same kcp-go echo server;
#   - a C client with a C server (both on kcp_session.h), and kcp-go's client with kcp-go's
#     server: the whole stack against the whole stack, with the CPU seconds of both
#     processes per MiB echoed.
# Prints each run's seconds and the median ratios (kcp-go seconds / C seconds: above 1
# means C is faster). Loopback numbers: they compare the stacks, not a network.
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
gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -pedantic -Werror \
  -Ikcp-session-ffi/include "$c/echo_server.c" "$c/udp.c" \
  "$target/release/libkcp_session_ffi.a" -lpthread -ldl -lm -o "$dir/echo_server"

# The address a server prints as "listening ADDR" in FILE, waiting up to 10 s for it.
listening() {
  local a
  for _ in $(seq 100); do
    a=$(sed -n 's/^listening //p' "$1" | head -1)
    [ -n "$a" ] && { echo "$a"; return; }
    sleep 0.1
  done
  echo "$2 did not start" >&2
  exit 1
}

out="$dir/server.out"
"$peer" echo-server -listen 127.0.0.1:0 "${flags[@]}" >"$out" 2>"$dir/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
addr=$(listening "$out" "kcp-go echo server")

c_secs=() go_secs=()
for r in $(seq "$rounds"); do
  line=$(timeout 300 "$dir/echo_client" "${addr%:*}" "${addr##*:}" "$bytes" "${c_flags[@]}")
  c_secs+=("$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$line")")
  line=$(timeout 300 "$peer" echo-client -remote "$addr" -bytes "$bytes" "${flags[@]}" | grep '^ok ')
  go_secs+=("$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$line")")
  [ -n "${c_secs[-1]}" ] && [ -n "${go_secs[-1]}" ] || { echo "a client failed" >&2; exit 1; }
  echo "round $r: C on kcp_session.h ${c_secs[-1]} s, kcp-go client ${go_secs[-1]} s"
done
# The whole stack on each side: C with C, kcp-go with kcp-go; CPU of both processes (the
# clients' from bash's `time`, the servers' from /proc).
TIMEFORMAT='cpu=%U+%S'
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cc_secs=() gg_secs=() cc_cpu=() gg_cpu=()
for r in $(seq "$rounds"); do
  "$dir/echo_server" "$bytes" "${c_flags[@]}" >"$dir/c-server.out" 2>&1 &
  cs=$!
  caddr=$(listening "$dir/c-server.out" "C echo server")
  # The server's CPU is read while it runs (it exits once all is echoed): sample it.
  ( while kill -0 "$cs" 2>/dev/null; do cpu_of "$cs" >"$dir/c-server.cpu" 2>/dev/null; sleep 0.05; done ) &
  sampler=$!
  line=$( { time timeout 300 "$dir/echo_client" "${caddr%:*}" "${caddr##*:}" "$bytes" "${c_flags[@]}"; } 2>&1)
  wait "$cs" || { echo "C echo server failed: $(cat "$dir/c-server.out")" >&2; exit 1; }
  wait "$sampler" || true
  client_cpu=$(sed -n 's/.*cpu=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' <<<"$line" | awk '{ print $1 + $2 }')
  server_ticks=$(cat "$dir/c-server.cpu")
  cc_secs+=("$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$line" | head -1)")
  cc_cpu+=("$(awk -v c="$client_cpu" -v t="$server_ticks" -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
    'BEGIN { printf "%.2f", (c + t / hz) * 1000 / (b / 1048576) }')")
  gs_out="$dir/go-server-$r.out"
  "$peer" echo-server -listen 127.0.0.1:0 "${flags[@]}" >"$gs_out" 2>/dev/null &
  gs=$!
  gaddr=$(listening "$gs_out" "kcp-go echo server")
  g0=$(cpu_of "$gs")
  line=$( { time timeout 300 "$peer" echo-client -remote "$gaddr" -bytes "$bytes" "${flags[@]}"; } 2>&1 | grep '^ok \|^cpu=')
  g1=$(cpu_of "$gs")
  kill "$gs"; wait "$gs" 2>/dev/null || true
  client_cpu=$(sed -n 's/^cpu=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' <<<"$line" | awk '{ print $1 + $2 }')
  gg_secs+=("$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$line" | head -1)")
  gg_cpu+=("$(awk -v c="$client_cpu" -v t="$((g1 - g0))" -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
    'BEGIN { printf "%.2f", (c + t / hz) * 1000 / (b / 1048576) }')")
  [ -n "${cc_secs[-1]}" ] && [ -n "${gg_secs[-1]}" ] || { echo "a pair failed" >&2; exit 1; }
  echo "round $r: C with C ${cc_secs[-1]} s (${cc_cpu[-1]} ms CPU/MiB), kcp-go with kcp-go ${gg_secs[-1]} s (${gg_cpu[-1]} ms CPU/MiB)"
done

median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
c=$(median "${c_secs[@]}") go=$(median "${go_secs[@]}")
awk -v c="$c" -v go="$go" -v b="$bytes" 'BEGIN {
  printf "median: C %.3f s (%.1f MiB/s each way), kcp-go %.3f s (%.1f MiB/s); kcp-go/C = %.2f\n",
    c, b / 1048576 / c, go, b / 1048576 / go, go / c }'
cc=$(median "${cc_secs[@]}") gg=$(median "${gg_secs[@]}")
ccc=$(median "${cc_cpu[@]}") ggc=$(median "${gg_cpu[@]}")
awk -v c="$cc" -v go="$gg" -v b="$bytes" -v cc="$ccc" -v gc="$ggc" 'BEGIN {
  printf "median, whole stacks: C with C %.3f s (%.1f MiB/s, %.1f ms CPU/MiB), kcp-go with kcp-go %.3f s (%.1f MiB/s, %.1f ms CPU/MiB); kcp-go/C = %.2f\n",
    c, b / 1048576 / c, cc, go, b / 1048576 / go, gc, go / c }'
