#!/usr/bin/env bash
# kcp-fec's benchmarks (benches/benches/fec.rs) next to kcp-go 5.6.1's own
# BenchmarkFECEncode / BenchmarkFECDecode on this machine, as one table. MB/s is 10^6 bytes
# per second of 1500-byte packets, as Go reports it.
#
# Ours runs twice: with the portable GF(2^8) kernels, and with the `kcp-fec/simd` feature
# (reed-solomon-erasure's SIMD kernels; on x86_64 they are built for AVX2). Go and both of
# ours run ROUNDS times in turn and each keeps its best round, which damps the noise of a
# busy machine (criterion's median per round; Go's ns/op).
#
#   scripts/bench-fec.sh [ROUNDS] [GO_BENCHTIME]        defaults: 2 rounds, 2s
set -euo pipefail
rounds=${1:-2}
benchtime=${2:-2s}
root=$(cd "$(dirname "$0")/.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"

benches=(FECEncode FECDecode)
declare -A best

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

# Runs a command quietly; on failure shows the end of its output and stops.
quiet() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    tail -30 "$log" >&2
    rm -f "$log"
    echo "failed: $*" >&2
    exit 1
  fi
  rm -f "$log"
}

run_ours() { # $1 = label, rest = extra cargo arguments
  local label=$1
  shift
  quiet cargo bench -q -p kcp-benches --bench fec "$@" -- --warm-up-time 1 --measurement-time 4
  for b in "${benches[@]}"; do
    keep_best "$label/$b" "$(criterion_ns "$b")"
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
quiet cargo bench -q -p kcp-benches --bench fec --no-run
quiet cargo bench -q -p kcp-benches --bench fec --features kcp-fec/simd --no-run
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  run_go
  run_ours portable
  run_ours simd --features kcp-fec/simd
done

mbs() { awk -v ns="$1" 'BEGIN { printf "%.0f", 1500 * 1000 / ns }'; }
ratio() { awk -v ours="$1" -v go="$2" 'BEGIN { printf "%.2f", go / ours }'; }

printf '%-10s %12s %12s %12s %12s %12s\n' name "ours simd" "ours port." kcp-go "ratio simd" "ratio port."
printf '%-10s %12s %12s %12s %12s %12s\n' "" "MB/s" "MB/s" "MB/s" "ours/kcp-go" "ours/kcp-go"
for b in "${benches[@]}"; do
  s=${best[simd/$b]} p=${best[portable/$b]} g=${best[kcp-go/$b]}
  printf '%-10s %12s %12s %12s %12s %12s\n' "$b" "$(mbs "$s")" "$(mbs "$p")" "$(mbs "$g")" \
    "$(ratio "$s" "$g")" "$(ratio "$p" "$g")"
done
