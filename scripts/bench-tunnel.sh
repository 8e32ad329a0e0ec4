#!/usr/bin/env bash
# kcp-tunnel against kcptun 20210922 (Debian's kcptun-client/kcptun-server) on 127.0.0.1,
# in one run: throughput over 1 and 8 TCP connections, both directions, with kcptun's
# defaults and with --nocomp, and CPU time per MiB of both tunnel processes.
#
# A third pair with kcptun's flags joins the table when KCPTUN_RUST names a directory
# holding its kcptun-client and kcptun-server (for example the bin directory of
# `cargo install kcptun-rust --version 1.1.0 --root DIR`).
#
# Extra arguments go to the benchmark program (kcp-tunnel/benches/kcptun.rs): --mib N
# (per run and direction, default 64), --repeat R (runs per case, default 5), --conns 1,8.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kcptun-client >/dev/null || { echo "kcptun is missing: run scripts/setup.sh" >&2; exit 1; }
third=()
if [ -n "${KCPTUN_RUST:-}" ]; then
  third=(--third-client "$KCPTUN_RUST/kcptun-client" --third-server "$KCPTUN_RUST/kcptun-server"
         --third-name kcptun-rust)
fi
cargo bench -p kcp-tunnel --bench kcptun -- "${third[@]}" "$@"
