#!/usr/bin/env bash
# Runs kcp-crypt's criterion benchmarks (benches/benches/crypt.rs) and kcp-go 5.6.1's own
# crypt benchmarks (Debian's sources, through scripts/kcpgo-bench.sh) on this machine and
# prints one table: name, ours MB/s, kcp-go MB/s, ours/kcp-go. MB is 10^6 bytes, as Go
# prints it. The two alternate benchmark by benchmark, so that a change in machine load
# hits both sides alike.
#
#   scripts/bench-crypt.sh [BENCHTIME] [NAME...]     e.g. scripts/bench-crypt.sh 2s AES128 Salsa20
#
# BENCHTIME is Go's -test.benchtime and criterion's measurement time (default 2s).
# AEAD_AES_128_GCM (seal + open of a 1500-byte datagram) is ours alone: kcp-go 5.6.1 has
# no AEAD. None measures nothing on our side (the identity works in place; kcp-go copies).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
benchtime=${1:-2s}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(AES128 AES192 AES256 Salsa20 Blowfish Twofish Cast5 3DES TEA XTEA SM4 XOR None
         CRC32 CsprngNonceAES128 AEAD_AES_128_GCM)
fi
seconds=${benchtime%s}

# Bytes one iteration processes, per benchmark (kcp-go's b.SetBytes).
bytes_of() {
  case $1 in
    CRC32) echo 1024 ;;
    CsprngNonceAES128) echo 16 ;;
    *) echo 3000 ;;
  esac
}

cd "$root"
echo "building both benchmark binaries..." >&2
cargo bench -p kcp-benches --bench crypt --no-run >&2
"$root/scripts/kcpgo-bench.sh" '^$' 1x >/dev/null 2>&1 || true

printf '%-20s %12s %12s %8s\n' benchmark 'ours MB/s' 'kcp-go MB/s' ratio
for name in "${names[@]}"; do
  # kcp-go 5.6.1 has no AEAD benchmark: its column stays empty.
  go_line=$("$root/scripts/kcpgo-bench.sh" "^Benchmark${name}\$" "$benchtime" 2>/dev/null | head -n1 || true)
  go_mbs=$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") print $i}' <<<"$go_line")
  ours_line=$(cargo bench -q -p kcp-benches --bench crypt -- --exact "crypt/$name" \
    --output-format bencher --warm-up-time 1 --measurement-time "$seconds" 2>/dev/null |
    grep '^test ' | head -n1)
  ns=$(awk '{for (i = 1; i < NF; i++) if ($i == "bench:") { gsub(",", "", $(i + 1)); print $(i + 1) }}' <<<"$ours_line")
  bytes=$(bytes_of "$name")
  awk -v n="$name" -v ns="$ns" -v b="$bytes" -v go="$go_mbs" 'BEGIN {
    ours = (ns > 0) ? b * 1000 / ns : 0
    ratio = (go > 0) ? sprintf("%.2fx", ours / go) : "-"
    printf "%-20s %12.1f %12s %8s\n", n, ours, (go == "" ? "-" : go), ratio
  }'
done
