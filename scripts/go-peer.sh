#!/usr/bin/env bash
# Builds a program of the Go peers module (peers/go.mod: kcp-go 5.6.1, pinned; or a
# program with a module of its own, such as peers/oob: kcp-go 5.6.60) into
# target/go-peers, exactly as kcp-testkit's go_peer::build does for the tests (module mode,
# offline, from the module cache `scripts/setup.sh` fills), and prints the binary's path.
#
#   scripts/go-peer.sh session          the peers/session program
#   scripts/go-peer.sh oob              the peers/oob program (its own module)
#   scripts/go-peer.sh kcp-go.test      kcp-go 5.6.1's own test binary (its Go benchmarks)
set -euo pipefail
name=${1:?usage: go-peer.sh NAME}
root=$(cd "$(dirname "$0")/.." && pwd)
out="${CARGO_TARGET_DIR:-$root/target}/go-peers"
mkdir -p "$out"
export GO111MODULE=on GOFLAGS="-mod=readonly -buildvcs=false" GOPROXY=off GOCACHE="$out/cache"
cd "$root/peers"
if [ "$name" = kcp-go.test ]; then
  go test -c -o "$out/$name" github.com/xtaci/kcp-go/v5 >&2
elif [ -f "$name/go.mod" ]; then
  (cd "$name" && go build -o "$out/$name" . >&2)
else
  go build -o "$out/$name" "./$name" >&2
fi
echo "$out/$name"
