#!/usr/bin/env bash
# Static kcp-tunnel binaries for Linux, the way a release ships them: musl, statically
# linked, stripped (Cargo profile `dist`). Each binary is run once (`--version`, and a
# client and server moving bytes on 127.0.0.1 for the host's own target; under qemu-user
# for the others) and its size printed.
#
#   scripts/release.sh [TARGET...]
#
# Targets: x86_64-unknown-linux-musl (the default), aarch64-unknown-linux-musl,
# armv7-unknown-linux-musleabihf, or `all`. They are linked with rust-lld and musl's own
# start files, so no cross C toolchain is needed. Binaries land in target/binaries/ as
# kcp-tunnel-VERSION-TARGET (the check's log beside each, as .check.log). A target whose standard library rustup cannot install is
# reported and skipped with one line; every other failure fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-musl)
if [ "${targets[0]}" = all ]; then
  targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf)
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p target/binaries
for t in "${targets[@]}"; do
  if ! rustup target add "$t" >/dev/null 2>&1; then
    echo "release: skipping $t: rustup cannot install its standard library here"
    continue
  fi
  upper=$(echo "$t" | tr 'a-z-' 'A-Z_')
  env "CARGO_TARGET_${upper}_LINKER=rust-lld" \
    cargo build -q --profile dist -p kcp-tunnel --bin kcp-tunnel --target "$t"
  out="target/binaries/kcp-tunnel-$version-$t"
  cp "target/$t/dist/kcp-tunnel" "$out"
  case "$t" in
    x86_64-*) run=() ;;
    aarch64-*) run=(qemu-aarch64) ;;
    armv7-*) run=(qemu-arm) ;;
    *) echo "release: no way to run $t" >&2; exit 1 ;;
  esac
  if readelf -l "$out" | grep -q "program interpreter"; then
    echo "release: $out is not static: it asks for a program interpreter" >&2
    exit 1
  fi
  got=$("${run[@]}" "$out" --version)
  [ "$got" = "kcp-tunnel $version" ] || { echo "release: $out --version said: $got" >&2; exit 1; }
  # A server and a client of this binary carry 1 MiB to an echo target and back.
  python3 - "$out" "${run[@]}" <<'PY'
import os, socket, subprocess, sys, threading, time
binary, runner = sys.argv[1], sys.argv[2:]
def free(kind):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]; s.close(); return port
echo = socket.socket(); echo.bind(("127.0.0.1", 0)); echo.listen(1)
def serve():
    c, _ = echo.accept()
    while (b := c.recv(65536)):
        c.sendall(b)
    c.close()
threading.Thread(target=serve, daemon=True).start()
udp, tcp = free(socket.SOCK_DGRAM), free(socket.SOCK_STREAM)
key = ["--key", "release-check", "--quiet"]
log = open(binary + ".check.log", "w")
procs = [subprocess.Popen(runner + [binary, "server", "-l", f"127.0.0.1:{udp}", "-t",
                                    "127.0.0.1:%d" % echo.getsockname()[1]] + key,
                          stdout=log, stderr=log),
         subprocess.Popen(runner + [binary, "client", "-l", f"127.0.0.1:{tcp}", "-r",
                                    f"127.0.0.1:{udp}"] + key, stdout=log, stderr=log)]
try:
    deadline = time.time() + 60
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", tcp), timeout=60); break
        except OSError:
            if time.time() > deadline: sys.exit("release: the client never listened")
            time.sleep(0.1)
    data = os.urandom(1 << 20)
    threading.Thread(target=c.sendall, args=(data,), daemon=True).start()
    got = b""
    while len(got) < len(data):
        b = c.recv(65536)
        if not b: break
        got += b
    if got != data: sys.exit(f"release: {binary} echoed {len(got)} bytes, not the 1 MiB sent")
finally:
    for p in procs:
        p.kill(); p.wait()
PY
  printf 'release: %-60s %9d bytes  %s, 1 MiB echoed\n' "$out" "$(stat -c %s "$out")" "$got"
done
