#!/usr/bin/env bash
# The firmware example (examples/firmware, outside the workspace): lints and builds it for
# thumbv7em-none-eabihf, prints its flash and RAM sizes, and runs it on QEMU's MPS2 AN386
# board (a Cortex-M4F) with semihosting, checking that the echo came back whole. The
# program ends QEMU itself; the timeouts only bound a hang.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/firmware"
cd "$root/examples/firmware"

timeout 900 cargo clippy --release -- -D warnings
timeout 900 cargo build --release
elf="$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/kcp-firmware-example"
echo "firmware image (text is flash; bss holds the heap, data is copied to RAM at boot):"
size "$elf"

status=0
out=$(timeout 120 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf") || status=$?
echo "$out"
if [ "$status" -ne 0 ]; then
  echo "the firmware example failed on QEMU (status $status)" >&2
  exit 1
fi
grep -q '^echo ok: ' <<<"$out" || { echo "the firmware example printed no echo line" >&2; exit 1; }
