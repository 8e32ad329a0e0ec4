#!/usr/bin/env bash
# Runs kcp-go 5.6.1's own Go benchmarks (the version peers/go.mod pins) on this machine
# and prints Go's benchmark lines, so our criterion figures can be put side by side with
# the peer's from the same run.
#
#   scripts/kcpgo-bench.sh REGEX [BENCHTIME]      e.g. scripts/kcpgo-bench.sh 'AES|Salsa20' 1s
set -euo pipefail
regex=${1:?usage: kcpgo-bench.sh REGEX [BENCHTIME]}
benchtime=${2:-1s}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$("$root/scripts/go-peer.sh" kcp-go.test)
# The test binary's init() starts a pprof listener on :6060; run it from a scratch dir.
cd "$(dirname "$bin")"
./kcp-go.test -test.run='^$' -test.bench="$regex" -test.benchtime="$benchtime" -test.benchmem \
  | grep -E '^Benchmark'
