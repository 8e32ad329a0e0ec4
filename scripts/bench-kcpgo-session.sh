#!/usr/bin/env bash
# kcp-go 5.6.1 session throughput on this machine, as the baseline for kcp-rs's own session
# benchmarks. Prints a two-column table `name MiB/s` on stdout (details go to stderr):
#
#   kcp-go/EchoSpeed4K ... kcp-go/SinkSpeed1M
#       kcp-go's own BenchmarkEchoSpeed* / BenchmarkSinkSpeed* (sess_test.go), run through
#       scripts/kcpgo-bench.sh (kcp-go 5.6.1 as peers/go.mod pins it, offline). Go
#       reports MB/s (10^6); they are converted to MiB/s here. Note that v5.6.1's echo
#       benchmark is lock-step: it writes one message and reads it back before the next.
#   kcp-go-peer/sink-<N>MiB, kcp-go-peer/echo-<N>MiB
#       peers/session sink-client -> sink-server and echo-client -> echo-server over
#       127.0.0.1, one session each, with the EchoSpeed/SinkSpeed settings: stream mode,
#       -mode fast3 (NoDelay 1,10,2,1), MTU 1400, windows 1024/1024; sink without crypto
#       or FEC (-crypt null, FEC 0/0), echo with Salsa20 and FEC 10/3. The echo client
#       streams (writer and reader run concurrently); MiB/s counts one direction.
#
# These are kcp-go's rows only. kcp-rs's rows (same names with a kcp-rs/ prefix, same
# format) come from a Rust benchmark and are not printed by this script.
#
#   scripts/bench-kcpgo-session.sh [BENCHTIME] [BYTES]    defaults: 2s 67108864
#   RUNS=3 scripts/bench-kcpgo-session.sh                 repeat the peer rows
set -euo pipefail
benchtime=${1:-2s}
bytes=${2:-67108864}
runs=${RUNS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
out="${CARGO_TARGET_DIR:-$root/target}/go-peers"
mkdir -p "$out"

row() { printf '%-28s %8s\n' "$1" "$2"; }

row name MiB/s

# --- kcp-go's own benchmarks -------------------------------------------------------------
go_lines=$("$root/scripts/kcpgo-bench.sh" 'EchoSpeed|SinkSpeed' "$benchtime")
echo "$go_lines" >&2
echo "$go_lines" | awk '{
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) if ($(i + 1) == "MB/s")
      printf "%-28s %8.2f\n", "kcp-go/" name, $i * 1e6 / 1048576
  }'

# --- peers/session against itself --------------------------------------------------------
# Built exactly as kcp-testkit's go_peer::build builds it (module mode, offline).
peer=$("$root/scripts/go-peer.sh" session)
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

common=(-mode fast3 -mtu 1400 -sndwnd 1024 -rcvwnd 1024)
# ACKNODELAY=1: every peer acknowledges at once (kcptun --acknodelay).
ack=()
[ "${ACKNODELAY:-0}" = 1 ] && ack=(-acknodelay)
sink_flags=(-crypt null -datashard 0 -parityshard 0 "${common[@]}" "${ack[@]}")
echo_flags=(-crypt salsa20 -datashard 10 -parityshard 3 "${common[@]}" "${ack[@]}")
# kcptun's defaults: aes, FEC 10/3, mode fast, MTU 1350, windows 1024.
kcptun_flags=("${ack[@]}")

# start_server NAME FLAGS... : starts a server in the background (its pid goes into pids;
# not in a subshell, so the trap can stop it) and sets listen_addr once it is listening.
start_server() {
  local name=$1
  shift
  "$peer" "$name" -listen 127.0.0.1:0 "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" &
  pids+=($!)
  for _ in $(seq 300); do
    if grep -q '^listening ' "$scratch/$name.out"; then
      listen_addr=$(awk '/^listening /{ print $2; exit }' "$scratch/$name.out")
      return
    fi
    sleep 0.1
  done
  echo "$name did not start: $(cat "$scratch/$name.err")" >&2
  exit 1
}

start_server sink-server "${sink_flags[@]}"
sink_addr=$listen_addr sink_pid=${pids[-1]}
start_server echo-server "${echo_flags[@]}"
echo_addr=$listen_addr echo_pid=${pids[-1]}
start_server echo-server "${kcptun_flags[@]}"
kcptun_addr=$listen_addr kcptun_pid=${pids[-1]}
mib=$((bytes / 1048576))

# CPU time in ms: of a running process (user + system ticks from /proc, 100 per second),
# and of this shell's finished children from a file bash's `times` wrote (the client's;
# `times` must run in this shell, not in a $(...) subshell, to see them).
proc_cpu_ms() { awk '{ sub(/.*\) /, ""); print ($12 + $13) * 10 }' "/proc/$1/stat"; }
times_ms() {
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60000 + a[2] * 1000 } print int(t) }' "$1"
}

for _ in $(seq "$runs"); do
  for row in sink echo echo-kcptun; do
    case $row in
      sink) kind=sink addr=$sink_addr flags=("${sink_flags[@]}") spid=$sink_pid ;;
      echo) kind=echo addr=$echo_addr flags=("${echo_flags[@]}") spid=$echo_pid ;;
      *) kind=echo addr=$kcptun_addr flags=("${kcptun_flags[@]}") spid=$kcptun_pid ;;
    esac
    s0=$(proc_cpu_ms "$spid")
    times >"$scratch/times0"
    line=$("$peer" "$kind-client" -remote "$addr" -bytes "$bytes" -timeout 300 "${flags[@]}")
    times >"$scratch/times1"
    s1=$(proc_cpu_ms "$spid")
    c0=$(times_ms "$scratch/times0") c1=$(times_ms "$scratch/times1")
    echo "$kind-client: $line" >&2
    # Both processes together, as kcp-rs's benchmark runs both ends in one process.
    cpu=$(awk -v ms=$((s1 - s0 + c1 - c0)) -v mib="$mib" 'BEGIN { printf "%.2f", ms / mib }')
    printf '%-28s %8s %8s ms CPU/MiB\n' "kcp-go-peer/$row-${mib}MiB" \
      "$(sed -n 's/.* mibps=\([0-9.]*\).*/\1/p' <<<"$line")" "$cpu"
  done
done

# --- kcp-rs rows ------------------------------------------------------------------------
# Not printed here: the Rust session benchmark prints its own `kcp-rs/...  MiB/s` rows in
# the same format, for the same workloads, to be read next to the rows above.
