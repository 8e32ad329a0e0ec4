#!/usr/bin/env bash
# Builds kcp-session-ffi's static library (cargo build --release) and installs it as a C
# library under PREFIX, for CMake (find_package) and pkg-config:
#
#   PREFIX/include/kcp_session.h
#   PREFIX/lib/libkcp_session_ffi.a
#   PREFIX/lib/cmake/kcp_session/kcp_sessionConfig.cmake         target kcp::session
#   PREFIX/lib/cmake/kcp_session/kcp_sessionConfigVersion.cmake
#   PREFIX/lib/pkgconfig/kcp_session.pc
#
# usage: scripts/install-session-ffi.sh PREFIX
# Only the static library is installed: the program carries the library (no soname to
# version, nothing to ship beside it), and `-lkcp_session_ffi` cannot pick up a shared one.
set -euo pipefail
prefix=${1:?usage: install-session-ffi.sh PREFIX}
cd "$(dirname "$0")/.."
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
target="${CARGO_TARGET_DIR:-target}"

cargo build --release -p kcp-session-ffi
version=$(cargo pkgid -p kcp-session-ffi | sed 's/.*[#@]//')
url=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml)
pointer=$(($(getconf LONG_BIT) / 8))

install -D -m 644 kcp-session-ffi/include/kcp_session.h "$prefix/include/kcp_session.h"
install -D -m 644 "$target/release/libkcp_session_ffi.a" "$prefix/lib/libkcp_session_ffi.a"
cmake_dir="$prefix/lib/cmake/kcp_session"
install -D -m 644 kcp-session-ffi/cmake/kcp_sessionConfig.cmake "$cmake_dir/kcp_sessionConfig.cmake"
sed -e "s|@VERSION@|$version|g" -e "s|@SIZEOF_VOID_P@|$pointer|g" \
  kcp-session-ffi/cmake/kcp_sessionConfigVersion.cmake.in >"$cmake_dir/kcp_sessionConfigVersion.cmake"
mkdir -p "$prefix/lib/pkgconfig"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@URL@|$url|g" \
  kcp-session-ffi/pkgconfig/kcp_session.pc.in >"$prefix/lib/pkgconfig/kcp_session.pc"
chmod 644 "$cmake_dir/kcp_sessionConfigVersion.cmake" "$prefix/lib/pkgconfig/kcp_session.pc"
echo "installed kcp_session $version under $prefix"
