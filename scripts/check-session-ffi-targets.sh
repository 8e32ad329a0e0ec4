#!/usr/bin/env bash
# kcp-session-ffi's static library for the targets C and C++ users ship on, each checked to
# export exactly the kcps_* functions kcp_session.h declares:
#  - aarch64-unknown-linux-gnu (Debian's cross toolchain links the shared library too);
#  - aarch64-linux-android and aarch64-apple-ios: the static library only, built without
#    the NDK or Xcode (a static library needs no linker; the app's own build links it).
# Not built: thumbv7em-none-eabihf, because kcp-session-ffi needs std (the sans-io
# kcp-session itself builds there, see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}/cross"

declared=$(gcc -E -P kcp-session-ffi/include/kcp_session.h | grep -oE '\bkcps_[a-z_]+ *\(' \
  | tr -d ' (' | sort -u)
echo "kcp_session.h declares $(echo "$declared" | wc -l) functions"

for t in aarch64-unknown-linux-gnu aarch64-linux-android aarch64-apple-ios; do
  if ! rustup target list --installed | grep -qx "$t" && ! rustup target add "$t"; then
    echo "SKIPPED: kcp-session-ffi for $t: rustup could not install the target"
    continue
  fi
  CARGO_TARGET_DIR="$target_dir" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    cargo rustc -q -p kcp-session-ffi --release --lib --crate-type staticlib --target "$t"
  lib="$target_dir/$t/release/libkcp_session_ffi.a"
  # Mach-O prefixes C symbols with an underscore. llvm-nm exits non-zero on archive
  # members it cannot read (compiler-builtins' odd objects); the symbols still count.
  exported=$({ llvm-nm -g --defined-only "$lib" 2>/dev/null || true; } | awk '$2 == "T" {print $3}' \
    | sed 's/^_kcps_/kcps_/' | grep -E '^kcps_' | sort -u)
  if [ "$exported" != "$declared" ]; then
    echo "$t: libkcp_session_ffi.a does not export what kcp_session.h declares:" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 || true
    exit 1
  fi
  echo "$t: libkcp_session_ffi.a ($(du -h "$lib" | cut -f1)) exports the $(echo "$exported" | wc -l) kcps_* functions"
done
