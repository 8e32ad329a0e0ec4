#!/usr/bin/env bash
# Installs what the kcp-rs test suite needs on a fresh Debian machine; safe to re-run.
#  - libclang-dev: kcp-sys runs bindgen to build the real C ikcp 1.7.1 (the oracle);
#  - golang-go + golang-github-xtaci-kcp-dev (kcp-go 5.6.1) and kcptun: the real peers the
#    interop tests talk to; testify lets kcp-go's own benchmarks compile;
#  - iptables and bc: scripts/stall-check.sh drops datagrams in a network namespace;
#  - iproute2: the network emulator (kcp-testkit's netem) configures its namespaces with `ip`;
#  - shadowsocks-libev and simple-obfs: kcp-tunnel's SIP003 plugin tests run ss-local,
#    ss-server, obfs-local and obfs-server;
#  - the thumbv7em-none-eabihf target: the no_std crates must build for a microcontroller;
#  - g++ and cmake: kcp-ffi's tests compile ikcp's test.cpp (C++) against the library and
#    build its README's CMake snippet;
#  - qemu-user, an aarch64 cross linker and the aarch64-unknown-linux-gnu target: CI runs
#    kcp-fec's tests (the NEON kernel) as aarch64 binaries under qemu-aarch64.
set -euo pipefail

packages=(libclang-dev golang-go golang-github-xtaci-kcp-dev golang-github-xtaci-smux-dev
          golang-github-stretchr-testify-dev kcptun iptables bc iproute2 g++ cmake
          shadowsocks-libev simple-obfs)
packages+=(qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
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
