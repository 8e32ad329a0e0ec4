#!/usr/bin/env bash
# Session throughput side by side in one run: kcp-go 5.6.1 (its own EchoSpeed/SinkSpeed
# benchmarks and the peers/session programs), kcp-rs and tokio_kcp (benches/session.rs),
# then the ratios kcp-rs / kcp-go for the same shapes (one session over 127.0.0.1, stream
# mode, NoDelay 1,10,2,1, MTU 1400, windows 1024; sink: no cipher, no FEC; echo: Salsa20
# with FEC 10/3, writer and reader concurrent), and the cost of 10,000 idle sessions.
#
# Loopback throughput swings from run to run on a shared machine, so each side runs RUNS
# times (default 3) and the ratio compares medians.
#
#   scripts/bench-session.sh [MiB]      default 64 MiB per sink/echo run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-64}
runs=${RUNS:-3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== kcp-go 5.6.1" >&2
RUNS=$runs "$root/scripts/bench-kcpgo-session.sh" 2s $((mib << 20)) | tee "$scratch/go"

echo "== kcp-rs and tokio_kcp" >&2
(cd "$root" && cargo bench -q -p kcp-benches --bench session --no-run 2>/dev/null)
for i in $(seq "$runs"); do
  # Only the last run measures the idle sessions (it takes a while).
  filters=(sink echo)
  [ "$i" = "$runs" ] && filters=()
  (cd "$root" && KCP_BENCH_SINK_MIB=$mib KCP_BENCH_ECHO_MIB=$mib \
    cargo bench -q -p kcp-benches --bench session -- "${filters[@]}" 2>/dev/null)
done | tee "$scratch/rs"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
go_sink=$(awk '/^kcp-go-peer\/sink/ { print $2 }' "$scratch/go" | median)
go_echo=$(awk '/^kcp-go-peer\/echo/ { print $2 }' "$scratch/go" | median)
go_sink_cpu=$(awk '/^kcp-go-peer\/sink/ { print $3 }' "$scratch/go" | median)
go_echo_cpu=$(awk '/^kcp-go-peer\/echo/ { print $3 }' "$scratch/go" | median)
# The figures before "MiB/s" on the kcp-rs rows named $1, median.
rs_rate() {
  awk -v row="$1" 'index($0, row) == 1 { for (i = 2; i <= NF; i++) if ($i == "MiB/s") print $(i - 1) }' \
    "$scratch/rs" | median
}
rs_cpu() {
  awk -v row="$1" 'index($0, row) == 1 { for (i = 2; i <= NF; i++) if ($i == "ms") print $(i - 1) }' \
    "$scratch/rs" | median
}
rs_sink=$(rs_rate "kcp-rs sink")
rs_echo=$(rs_rate "kcp-rs echo")
echo
printf 'medians of %s runs; CPU is both ends together, ms per MiB moved\n' "$runs"
printf '%-6s %12s %12s %8s %12s %12s\n' shape "kcp-rs MiB/s" "kcp-go MiB/s" ratio "kcp-rs CPU" "kcp-go CPU"
line() {
  awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" -v d="$5" \
    'BEGIN { printf "%-6s %12.1f %12.1f %7.2fx %12.2f %12.2f\n", n, a, b, a / b, c, d }'
}
line sink "$rs_sink" "$go_sink" "$(rs_cpu "kcp-rs sink")" "$go_sink_cpu"
line echo "$rs_echo" "$go_echo" "$(rs_cpu "kcp-rs echo")" "$go_echo_cpu"
