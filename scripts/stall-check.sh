#!/usr/bin/env bash
# The tail of bulk transfers under random loss, kcp-rs next to kcp-go 5.6.1 in one run.
#
# For each loss rate it creates a network namespace whose loopback drops that share of UDP
# datagrams (iptables' statistic match: real kernel loss, no netem needed), starts a sink
# server of each implementation inside it, runs RUNS transfers of MIB MiB with each
# client, and prints the median and the worst transfer time of both. A stall (a lost
# window update waiting for a 7 s probe, a retransmission timeout backed off for tens of
# seconds) shows up in the worst column long before it moves the median.
#
#   scripts/stall-check.sh [LOSS...]        default: 0.05 0.10 0.20
#   RUNS=20 MIB=16 MODE=fast PROTO=sink scripts/stall-check.sh 0.05
#
# PROTO=echo runs the echo examples instead (every byte both ways).
#
# Session flags are kcptun's defaults (aes, FEC 10/3, MTU 1350, windows 1024) plus MODE
# (default fast) and EXTRA (more flags for both implementations, e.g. "--acknodelay");
# RS_EXTRA adds flags for ours alone (e.g. "--congestion bbr").
# Needs root (namespaces, iptables) and what scripts/setup.sh installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-20}
mib=${MIB:-16}
mode=${MODE:-fast}
proto=${PROTO:-sink}
case $proto in sink | echo) ;; *) echo "stall-check: PROTO must be sink or echo" >&2; exit 2 ;; esac
extra=${EXTRA:-}
rs_extra=${RS_EXTRA:-}
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(0.05 0.10 0.20)
[ "$(id -u)" -eq 0 ] || { echo "stall-check: needs root (network namespace, iptables)" >&2; exit 2; }
command -v iptables >/dev/null || { echo "stall-check: iptables missing: run scripts/setup.sh" >&2; exit 2; }

cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -q --release -p kcp-examples --example "$proto"
rs_bin=$target/release/examples/$proto
# The kcp-go peer, built as kcp-testkit's go_peer::build builds it (module mode, offline).
go_bin=$(scripts/go-peer.sh session)

ns=kcpstall$$
scratch=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# One client run inside the namespace: prints its wall time in seconds (120 = timed out, a
# stall). A client that fails any other way (crash, wrong bytes) stops the script with its
# log: that is a bug, not a slow transfer.
timed() {
  local start end rc=0
  start=$(date +%s.%N)
  ip netns exec "$ns" timeout 120 "$@" >"$scratch/client.log" 2>&1 || rc=$?
  if [ "$rc" -eq 124 ]; then
    echo 120
    return
  elif [ "$rc" -ne 0 ]; then
    echo "stall-check: client failed (exit $rc): $*" >&2
    cat "$scratch/client.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%8.2f %8.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[NR] }'; }

printf '%d %s transfers of %d MiB per cell, mode %s %s (ours also: %s); seconds\n' "$runs" "$proto" "$mib" "$mode" "$extra" "$rs_extra"
printf '%-6s %8s %8s   %8s %8s\n' loss "rs med" "rs worst" "go med" "go worst"
for loss in "${rates[@]}"; do
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" iptables -A INPUT -p udp -m statistic --mode random --probability "$loss" -j DROP
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$rs_bin" server --listen 127.0.0.1:4000 --mode "$mode" $extra $rs_extra >"$scratch/rs.log" 2>&1 &
  pids+=($!)
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$go_bin" "$proto-server" -listen 127.0.0.1:4001 -mode "$mode" $extra >"$scratch/go.log" 2>&1 &
  pids+=($!)
  sleep 0.5
  : >"$scratch/rs.times"
  : >"$scratch/go.times"
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086
    timed "$rs_bin" client --remote 127.0.0.1:4000 --bytes "${mib}M" --mode "$mode" $extra $rs_extra >>"$scratch/rs.times"
    # shellcheck disable=SC2086
    timed "$go_bin" "$proto-client" -remote 127.0.0.1:4001 -bytes $((mib << 20)) -mode "$mode" $extra >>"$scratch/go.times"
  done
  printf '%-6s %s   %s\n' "$loss" "$(stats <"$scratch/rs.times")" "$(stats <"$scratch/go.times")"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
  ip netns del "$ns"
done
