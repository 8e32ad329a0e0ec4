#!/usr/bin/env bash
# Installs what the kcp-rs test suite needs on a fresh Debian machine; safe to re-run.
#  - libclang-dev: kcp-sys runs bindgen to build the real C ikcp 1.7.1 (the oracle);
#  - kcptun (20210922): the real kcptun-client/kcptun-server the tunnel's interop tests
#    talk to;
#  - the Go modules peers/go.mod pins (kcp-go 5.6.1 and what it needs, test dependencies
#    included, so kcp-go's own benchmarks compile) and peers/oob/go.mod pins (kcp-go
#    5.6.60, for out-of-band datagrams), downloaded once through the Go module
#    proxy; the tests then build the Go peers offline. Go itself (1.24 or newer) is the
#    machine's: Debian's golang-go is too old for the module files;
#  - iptables and bc: scripts/stall-check.sh drops datagrams in a network namespace;
#  - iproute2: the network emulator (tools/netem) configures its namespaces with `ip`;
#  - shadowsocks-libev and simple-obfs: kcp-tunnel's SIP003 plugin tests run ss-local,
#    ss-server, obfs-local and obfs-server;
#  - the thumbv7em-none-eabihf target: the no_std crates must build for a microcontroller;
#  - g++ and cmake: kcp-ffi's tests compile ikcp's test.cpp (C++) against the library and
#    build its README's CMake snippet;
#  - pkg-config and libgtest-dev: scripts/check-session-ffi-package.sh builds
#    kcp-session-ffi's examples through its pkg-config file and its C++ tests with
#    GoogleTest (find_package(GTest));
#  - qemu-user, an aarch64 cross linker and the aarch64-unknown-linux-gnu target: CI runs
#    kcp-fec's tests (the NEON kernel) as aarch64 binaries under qemu-aarch64;
#  - llvm: scripts/check-session-ffi-targets.sh reads the exports of kcp-session-ffi's
#    Android (ELF) and iOS (Mach-O) static libraries with llvm-nm;
#  - qemu-system-arm: scripts/check-firmware.sh runs the firmware example on an emulated
#    Cortex-M4F board (MPS2 AN386);
#  - nginx-light and libnginx-mod-stream: kcp-tunnel's load-balancer test puts two servers
#    behind nginx's UDP proxy (the test runs its own nginx, in the foreground).
set -euo pipefail

packages=(libclang-dev kcptun iptables bc iproute2 g++ cmake shadowsocks-libev simple-obfs)
packages+=(pkg-config libgtest-dev llvm)
packages+=(qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm)
packages+=(nginx-light libnginx-mod-stream)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -q '^thumbv7em-none-eabihf$'; then
  rustup target add thumbv7em-none-eabihf
fi
if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  rustup target add aarch64-unknown-linux-gnu
fi
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

# The Go peers: Go 1.24 or newer (kcp-go 5.6.60 needs it), then the pinned modules.
command -v go >/dev/null || {
  echo "setup: no Go toolchain on PATH; install Go 1.24 or newer (https://go.dev/dl/)" >&2
  exit 1
}
go_minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -z "$go_minor" ] || [ "$go_minor" -lt 24 ]; then
  echo "setup: $(go env GOVERSION) is too old for peers/oob/go.mod; install Go 1.24 or newer" >&2
  exit 1
fi
(cd "$(dirname "$0")/../peers" && GOFLAGS=-mod=readonly go mod download all)
(cd "$(dirname "$0")/../peers/oob" && GOFLAGS=-mod=readonly go mod download all)
