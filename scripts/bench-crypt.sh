#!/usr/bin/env bash
# Runs kcp-crypt's criterion benchmarks (benches/benches/crypt.rs), the same shapes on the
# RustCrypto crates (its `rustcrypto` group) and kcp-go 5.6.1's own crypt benchmarks
# (Debian's sources, through scripts/kcpgo-bench.sh) on this machine, and prints one table:
# name, ours MB/s, RustCrypto MB/s, kcp-go MB/s, ours/RustCrypto, ours/kcp-go. MB is 10^6
# bytes, as Go prints it. The three alternate benchmark by benchmark, so that a change in
# machine load hits all of them alike; with ROUNDS=N (default 1) the whole table is
# measured N times and each cell is the median.
#
#   [ROUNDS=N] scripts/bench-crypt.sh [BENCHTIME] [NAME...]   e.g. scripts/bench-crypt.sh 2s AES128 Salsa20
#
# BENCHTIME is Go's -test.benchtime and criterion's measurement time (default 2s).
# RustCrypto figures exist for the ciphers kcp-crypt implements itself (3DES, Twofish, SM4,
# Salsa20; TEA has no crate); for the others kcp-crypt runs the crate, and the column is
# empty. The interleaved comparison with the crates (benches/crypt_pairs.rs) follows the
# table. AEAD_AES_128_GCM (seal + open of a 1500-byte datagram) has no kcp-go 5.6.1
# counterpart. None measures nothing on our side (the identity works in place; kcp-go
# copies).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
benchtime=${1:-2s}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(AES128 AES192 AES256 Salsa20 Blowfish Twofish Cast5 3DES TEA XTEA SM4 XOR None
         CRC32 CsprngNonceAES128 AEAD_AES_128_GCM)
fi
rounds=${ROUNDS:-1}
seconds=${benchtime%s}

# Bytes one iteration processes, per benchmark (kcp-go's b.SetBytes).
bytes_of() {
  case $1 in
    CRC32) echo 1024 ;;
    CsprngNonceAES128) echo 16 ;;
    *) echo 3000 ;;
  esac
}

# MB/s of criterion benchmark $1 (GROUP/NAME), or nothing when it does not exist.
criterion_mbs() {
  local line ns
  line=$(cargo bench -q -p kcp-benches --bench crypt -- --exact "$1" \
    --output-format bencher --warm-up-time 1 --measurement-time "$seconds" 2>/dev/null |
    grep '^test ' | head -n1 || true)
  ns=$(awk '{for (i = 1; i < NF; i++) if ($i == "bench:") { gsub(",", "", $(i + 1)); print $(i + 1) }}' <<<"$line")
  [ -n "$ns" ] && awk -v ns="$ns" -v b="$(bytes_of "${1#*/}")" 'BEGIN { printf "%.1f", b * 1000 / ns }'
  return 0
}

cd "$root"
echo "building both benchmark binaries..." >&2
cargo bench -p kcp-benches --bench crypt --no-run >&2
"$root/scripts/go-peer.sh" kcp-go.test >/dev/null ||
  { echo "bench-crypt: kcp-go's benchmark binary does not build" >&2; exit 1; }

# Benchmarks one side has no counterpart for; any other missing figure is a failure.
no_go=" AEAD_AES_128_GCM "

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    go_mbs=
    if [[ $no_go != *" $name "* ]]; then
      go_line=$("$root/scripts/kcpgo-bench.sh" "^Benchmark${name}\$" "$benchtime" | head -n1) ||
        { echo "bench-crypt: kcp-go's Benchmark$name failed" >&2; exit 1; }
      go_mbs=$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") print $i}' <<<"$go_line")
      [ -n "$go_mbs" ] || { echo "bench-crypt: kcp-go printed no MB/s for Benchmark$name" >&2; exit 1; }
    fi
    ours=$(criterion_mbs "crypt/$name")
    [ -n "$ours" ] || { echo "bench-crypt: our crypt/$name benchmark printed nothing" >&2; exit 1; }
    crate=$(criterion_mbs "rustcrypto/$name")
    echo "$name ${ours:--} ${crate:--} ${go_mbs:--}" >>"$results"
    [ "$rounds" -gt 1 ] && echo "round $round: $name ours ${ours:--} rustcrypto ${crate:--} kcp-go ${go_mbs:--}" >&2
  done
done

printf '%-18s %10s %12s %12s %10s %10s\n' benchmark 'ours MB/s' 'RustCrypto' 'kcp-go MB/s' 'ours/RC' 'ours/Go'
for name in "${names[@]}"; do
  awk -v n="$name" '
    function median(list,   a, k, i, j, t) {
      k = split(list, a, " ")
      if (k == 0) return ""
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    # Ratios are taken within a round (the three ran back to back), then the median.
    $1 == n {
      if ($2 != "-") o = o " " $2
      if ($3 != "-") c = c " " $3
      if ($4 != "-") g = g " " $4
      if ($2 != "-" && $3 != "-") rc = rc " " $2 / $3
      if ($2 != "-" && $4 != "-" && $4 > 0) rg = rg " " $2 / $4
    }
    END {
      mo = median(o); mc = median(c); mg = median(g); mrc = median(rc); mrg = median(rg)
      printf "%-18s %10s %12s %12s %10s %10s\n", n, (mo == "" ? "-" : sprintf("%.1f", mo)),
        (mc == "" ? "-" : sprintf("%.1f", mc)), (mg == "" ? "-" : sprintf("%.1f", mg)),
        (mrc == "" ? "-" : sprintf("%.2fx", mrc)), (mrg == "" ? "-" : sprintf("%.2fx", mrg))
    }' "$results"
done

echo
echo "kcp-crypt's own ciphers against RustCrypto, interleaved (benches/crypt_pairs.rs):"
cargo bench -q -p kcp-benches --bench crypt_pairs -- "$seconds" 2>/dev/null
