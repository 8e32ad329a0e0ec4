#!/usr/bin/env bash
# Runs kcp-go 5.6.1's own Go benchmarks (Debian's golang-github-xtaci-kcp-dev sources) on
# this machine and prints Go's benchmark lines, so our criterion figures can be put side by
# side with the peer's from the same run.
#
#   scripts/kcpgo-bench.sh REGEX [BENCHTIME]      e.g. scripts/kcpgo-bench.sh 'AES|Salsa20' 1s
set -euo pipefail
regex=${1:?usage: kcpgo-bench.sh REGEX [BENCHTIME]}
benchtime=${2:-1s}
root=$(cd "$(dirname "$0")/.." && pwd)
out="${CARGO_TARGET_DIR:-$root/target}/go-peers"
src=/usr/share/gocode/src/github.com/xtaci/kcp-go
[ -d "$src" ] || { echo "kcp-go sources missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p "$out"
if [ ! -x "$out/kcp-go.test" ]; then
  (cd "$src" && GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOCACHE="$out/cache" \
    go test -c -o "$out/kcp-go.test" .) >&2
fi
# The test binary's init() starts a pprof listener on :6060; run it from a scratch dir.
cd "$out"
./kcp-go.test -test.run='^$' -test.bench="$regex" -test.benchtime="$benchtime" -test.benchmem \
  | grep -E '^Benchmark'
