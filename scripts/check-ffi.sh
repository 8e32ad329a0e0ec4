#!/usr/bin/env bash
# kcp-ffi's build artefacts against its header:
#  - `cargo build -p kcp-ffi --release` gives libkcp_ffi.a and libkcp_ffi.so, each
#    exporting exactly the ikcp_* functions that kcp-ffi/include/ikcp.h declares;
#  - the thumbv7em-none-eabihf staticlib exports the same (less ikcp_log, which bare-metal
#    firmware compiles from kcp-ffi/c/ikcp_log.c) and links into an image with no
#    undefined symbol (rust-lld, every API function kept, the rest garbage-collected).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

declared=$(gcc -E -P kcp-ffi/include/ikcp.h | grep -oE '\bikcp_[a-z_]+ *\(' | tr -d ' (' | sort -u)
echo "ikcp.h declares $(echo "$declared" | wc -l) functions"

exports() { # nm flags, file
  nm $1 --defined-only "$2" 2>/dev/null | awk '$2 == "T" && $3 ~ /^ikcp_/ {print $3}' | sort -u
}
same() { # what, expected, actual
  if [ "$2" != "$3" ]; then
    echo "$1 does not match ikcp.h:" >&2
    diff <(echo "$2") <(echo "$3") >&2 || true
    exit 1
  fi
  echo "$1: $(echo "$3" | wc -l) ikcp_* functions, as declared"
}

cargo build -p kcp-ffi --release
same "libkcp_ffi.a" "$declared" "$(exports -g "$target/release/libkcp_ffi.a")"
same "libkcp_ffi.so" "$declared" "$(exports -D "$target/release/libkcp_ffi.so")"

cargo build -p kcp-ffi --release --target thumbv7em-none-eabihf
lib="$target/thumbv7em-none-eabihf/release/libkcp_ffi.a"
same "thumbv7em libkcp_ffi.a" "$(echo "$declared" | grep -v '^ikcp_log$')" "$(exports -g "$lib")"
host=$(rustc -vV | sed -n 's/^host: //p')
lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
keep=()
for f in $(echo "$declared" | grep -v '^ikcp_log$'); do keep+=(-u "$f"); done
image="$target/thumbv7em-none-eabihf/release/kcp-ffi-link-check.elf"
"$lld" -flavor gnu --gc-sections --entry ikcp_create "${keep[@]}" "$lib" -o "$image"
echo "thumbv7em image with every API function links with no undefined symbol:"
size "$image"
