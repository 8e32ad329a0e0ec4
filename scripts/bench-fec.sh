#!/usr/bin/env bash
# kcp-fec's benchmarks (benches/benches/fec.rs) next to kcp-go 5.6.1's own
# BenchmarkFECEncode / BenchmarkFECDecode on this machine, as one table. MB/s is 10^6 bytes
# per second of 1500-byte packets, as Go reports it.
#
# Ours runs the kernel a default build picks on this CPU, then each GF(2^8) kernel the CPU
# has (avx2, ssse3, neon, portable), all in one benchmark binary. Go and ours run ROUNDS
# times in turn and each keeps its best round, which damps the noise of a busy machine
# (criterion's median per round; Go's ns/op).
#
#   scripts/bench-fec.sh [ROUNDS] [GO_BENCHTIME]        defaults: 2 rounds, 2s
set -euo pipefail
rounds=${1:-2}
benchtime=${2:-2s}
root=$(cd "$(dirname "$0")/.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"

benches=(FECEncode FECDecode)
kernels=(avx2 ssse3 neon portable)
declare -A best
default_kernel=""

# Keeps the smaller of the stored and the given ns/op for key $1.
keep_best() {
  local key=$1 ns=$2
  if [ -z "${best[$key]:-}" ] || awk -v a="$ns" -v b="${best[$key]}" 'BEGIN { exit !(a < b) }'; then
    best[$key]=$ns
  fi
}

# Median of criterion's estimates for one benchmark, in ns per iteration.
criterion_ns() {
  sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.eE+-]+).*/\1/' \
    "$target/criterion/fec/$1/new/estimates.json"
}

# Runs a command quietly into file $1; on failure shows the end of its output and stops.
quiet() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -30 "$log" >&2
    echo "failed: $*" >&2
    exit 1
  fi
}

log=$(mktemp)
stamp=$(mktemp)
trap 'rm -f "$log" "$stamp"' EXIT

run_ours() {
  touch "$stamp"
  quiet "$log" cargo bench -q -p kcp-benches --bench fec -- --warm-up-time 1 --measurement-time 4
  default_kernel=$(sed -n 's/^fec: default kernel //p' "$log")
  for b in "${benches[@]}"; do
    keep_best "default/$b" "$(criterion_ns "$b")"
    for k in "${kernels[@]}"; do
      local f="$target/criterion/fec/$b-$k/new/estimates.json"
      # Only kernels this CPU ran in this round.
      if [ -f "$f" ] && [ "$f" -nt "$stamp" ]; then
        keep_best "$k/$b" "$(criterion_ns "$b-$k")"
      fi
    done
  done
}

run_go() {
  local lines
  lines=$("$root/scripts/kcpgo-bench.sh" '^BenchmarkFEC(Encode|Decode)$' "$benchtime")
  for b in "${benches[@]}"; do
    keep_best "kcp-go/$b" "$(awk -v n="Benchmark$b" '$1 ~ "^"n"(-[0-9]+)?$" { print $3 }' <<<"$lines")"
  done
}

echo "building (the first build of kcp-benches takes a few minutes)..." >&2
quiet "$log" cargo bench -q -p kcp-benches --bench fec --no-run
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  run_go
  run_ours
done

mbs() { awk -v ns="$1" 'BEGIN { printf "%.0f", 1500 * 1000 / ns }'; }
ratio() { awk -v ours="$1" -v go="$2" 'BEGIN { printf "%.2fx", go / ours }'; }

printf '%-18s %12s %12s %12s %12s\n' kernel "encode MB/s" "/ kcp-go" "decode MB/s" "/ kcp-go"
row() { # $1 = label, $2 = key
  local e=${best[$2/FECEncode]:-} d=${best[$2/FECDecode]:-}
  [ -n "$e" ] && [ -n "$d" ] || return 0
  printf '%-18s %12s %12s %12s %12s\n' "$1" "$(mbs "$e")" "$(ratio "$e" "${best[kcp-go/FECEncode]}")" \
    "$(mbs "$d")" "$(ratio "$d" "${best[kcp-go/FECDecode]}")"
}
row "default ($default_kernel)" default
for k in "${kernels[@]}"; do
  row "$k" "$k"
done
row "kcp-go 5.6.1" kcp-go
