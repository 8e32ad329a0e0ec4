#!/usr/bin/env bash
# Session throughput side by side in one run: kcp-go 5.6.1 (the peers/session programs,
# and its own EchoSpeed/SinkSpeed benchmarks for reference), kcp-rs and tokio_kcp
# (benches/session.rs), then the ratios kcp-rs / kcp-go for the same shapes over
# 127.0.0.1, with CPU per MiB (both ends together) beside throughput:
#
#   sink          no cipher, no FEC, NoDelay 1,10,2,1, MTU 1400, windows 1024
#   echo          Salsa20 with FEC 10/3, same knobs, writer and reader concurrent
#   echo-kcptun   kcptun's defaults: aes, FEC 10/3, mode fast, MTU 1350, windows 1024
#
# each with acknowledgements as each side sends them by default (kcp-go on its flush
# timer, kcp-rs per receive burst) and with --acknodelay on both sides; then the cost of
# idle sessions; then, as root, the same sink and echo transfers through 5% kernel loss in
# a network namespace (scripts/stall-check.sh: median and worst of several runs, both
# implementations).
#
# Loopback throughput swings from run to run on a shared machine, so each side runs RUNS
# times (default 3) and the ratio compares medians.
#
#   scripts/bench-session.sh [MiB]      default 64 MiB per sink/echo run
#   LOSSY_RUNS=10 LOSSY_MIB=16          the lossy rows (default 10 runs of 16 MiB)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-64}
runs=${RUNS:-3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

(cd "$root" && cargo bench -q -p kcp-benches --bench session --no-run)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for ack in 0 1; do
  echo "== kcp-go 5.6.1, acknodelay=$ack" >&2
  ACKNODELAY=$ack RUNS=$runs "$root/scripts/bench-kcpgo-session.sh" 2s $((mib << 20)) \
    | tee "$scratch/go$ack"
  echo "== kcp-rs and tokio_kcp, acknodelay=$ack" >&2
  for i in $(seq "$runs"); do
    # tokio_kcp has no ack-no-delay switch: it runs in the first pass only.
    filters=("kcp-rs sink" "kcp-rs echo")
    [ "$ack" = 0 ] && filters+=("tokio_kcp")
    (cd "$root" && KCP_BENCH_ACKNODELAY=$ack KCP_BENCH_SINK_MIB=$mib KCP_BENCH_ECHO_MIB=$mib \
      cargo bench -q -p kcp-benches --bench session -- "${filters[@]}") || exit 1
  done | tee "$scratch/rs$ack"
done

# Every run must have printed its rows: a failed run is an error, not a missing cell.
for ack in 0 1; do
  for row in "kcp-rs sink" "kcp-rs echo salsa20 fec" "kcp-rs echo kcptun"; do
    n=$(grep -c "^$row" "$scratch/rs$ack" || true)
    [ "$n" -ge "$runs" ] || { echo "bench-session: $n of $runs runs printed '$row' (acknodelay=$ack)" >&2; exit 1; }
  done
  for row in sink echo echo-kcptun; do
    n=$(grep -c "^kcp-go-peer/$row-" "$scratch/go$ack" || true)
    [ "$n" -ge "$runs" ] || { echo "bench-session: $n of $runs kcp-go runs printed '$row' (acknodelay=$ack)" >&2; exit 1; }
  done
done

# The figures before "MiB/s" (or "ms") on the rows of FILE named ROW, median.
rs_col() {
  awk -v row="$2" -v unit="$3" 'index($0, row) == 1 { for (i = 2; i <= NF; i++) if ($i == unit) print $(i - 1) }' \
    "$1" | median
}
go_col() { awk -v row="kcp-go-peer/$2-" -v col="$3" 'index($0, row) == 1 { print $col }' "$1" | median; }

echo
printf 'medians of %s runs of %s MiB; CPU is both ends together, ms per MiB moved\n' "$runs" "$mib"
printf '%-12s %-11s %12s %12s %8s %12s %12s\n' shape acks "kcp-rs MiB/s" "kcp-go MiB/s" ratio \
  "kcp-rs CPU" "kcp-go CPU"
for ack in 0 1; do
  acks=$([ "$ack" = 1 ] && echo "--acknodelay" || echo default)
  for row in sink echo echo-kcptun; do
    case $row in
      sink) rs="kcp-rs sink" ;;
      echo) rs="kcp-rs echo salsa20 fec" ;;
      *) rs="kcp-rs echo kcptun" ;;
    esac
    awk -v n="$row" -v k="$acks" -v a="$(rs_col "$scratch/rs$ack" "$rs" MiB/s)" \
      -v b="$(go_col "$scratch/go$ack" "$row" 2)" -v c="$(rs_col "$scratch/rs$ack" "$rs" ms)" \
      -v d="$(go_col "$scratch/go$ack" "$row" 3)" \
      'BEGIN { printf "%-12s %-11s %12.1f %12.1f %7.2fx %12.2f %12.2f\n", n, k, a, b, a / b, c, d }'
  done
done

echo "== idle sessions" >&2
(cd "$root" && KCP_BENCH_IDLE_SECS=10 cargo bench -q -p kcp-benches --bench session -- idle)

if [ "$(id -u)" -eq 0 ]; then
  for proto in sink echo; do
    echo
    echo "through 5% kernel loss each way (kcptun's defaults), $proto:"
    PROTO=$proto RUNS=${LOSSY_RUNS:-10} MIB=${LOSSY_MIB:-16} "$root/scripts/stall-check.sh" 0.05
  done
else
  echo "(the lossy rows need root: network namespace and iptables)" >&2
fi
