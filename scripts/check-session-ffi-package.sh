#!/usr/bin/env bash
# kcp-session-ffi as C and C++ projects use it: installs it into a scratch prefix
# (scripts/install-session-ffi.sh), then
#  - builds the examples (kcp-session-ffi/examples: echo.c, C99, and echo.cpp, C++11) with
#    CMake through find_package(kcp_session), and again with pkg-config, every warning an
#    error (-Wall -Wextra -pedantic);
#  - builds and runs the GoogleTest suite (kcp-session-ffi/tests/cpp) against the package,
#    under AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer;
#  - runs the examples against each other over 127.0.0.1 (the CMake build of one against
#    the pkg-config build of the other, both ways) and against the real kcp-go 5.6.1
#    (peers/session) in both roles, 4 MiB echoed and checked byte for byte, with aes and
#    FEC 10/3 or salsa20 without FEC; and examples/hello.cpp, kcptun's defaults in about
#    30 lines, says hello to kcp-go.
# Every step fails the script; nothing is skipped. Needs cmake, pkg-config, g++,
# libgtest-dev and Go (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf -- '--- %s\n' "$1"; }

prefix="$work/prefix"
scripts/install-session-ffi.sh "$prefix"
warn=(-Wall -Wextra -pedantic -Werror)

step "examples with CMake: find_package(kcp_session CONFIG)"
cmake -S kcp-session-ffi/examples -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="${warn[*]}" -DCMAKE_CXX_FLAGS="${warn[*]}" >/dev/null
cmake --build "$work/cmake"

step "examples with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists --print-errors "kcp_session >= 0.1"
mkdir -p "$work/pc"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -std=c99 -O2 "${warn[@]}" $(pkg-config --cflags kcp_session) kcp-session-ffi/examples/echo.c \
  -o "$work/pc/echo_c" $(pkg-config --libs kcp_session)
# shellcheck disable=SC2046
c++ -std=c++11 -O2 "${warn[@]}" $(pkg-config --cflags kcp_session) \
  kcp-session-ffi/examples/echo.cpp -o "$work/pc/echo_cpp" $(pkg-config --libs kcp_session)

step "GoogleTest suite, ASan and UBSan"
san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
cmake -S kcp-session-ffi/tests/cpp -B "$work/gtest" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="${warn[*]} ${san[*]}" >/dev/null
cmake --build "$work/gtest"
ASAN_OPTIONS=detect_leaks=1 timeout 300 "$work/gtest/session_test"

bytes=$((4 << 20))
options() { # aes | salsa: the examples' NAME=VALUE options
  case $1 in
    aes) echo crypt=aes key=example datashard=10 parityshard=3 mode=fast3 ;;
    salsa) echo crypt=salsa20 key=example datashard=0 parityshard=0 mode=fast3 ;;
  esac
}
go_flags() { # NAME=VALUE ... as kcptun flags, one a line
  local opt
  for opt in "$@"; do printf -- '-%s\n%s\n' "${opt%%=*}" "${opt#*=}"; done
}

# Starts a server (its command line in "$@") printing "listening 127.0.0.1:PORT" first;
# sets server_pid and port.
start_server() {
  : >"$work/server.out"
  timeout 120 "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 200); do
    port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "the server did not start: $*" >&2
  cat "$work/server.err" >&2
  exit 1
}

# A client run must print its success line; an example server must then exit 0.
expect_line() { # label, pattern, command...
  local label=$1 pattern=$2 out
  shift 2
  if ! out=$(timeout 120 "$@" 2>"$work/client.err") || ! grep -q "$pattern" <<<"$out"; then
    echo "FAILED: $label: client said: $out" >&2
    cat "$work/client.err" "$work/server.err" >&2
    exit 1
  fi
  echo "ok: $label: $(grep "$pattern" <<<"$out")"
}
server_exits_ok() { # label
  if ! wait "$server_pid"; then
    echo "FAILED: $1: the server failed" >&2
    cat "$work/server.out" "$work/server.err" >&2
    exit 1
  fi
}

step "examples against each other (CMake builds against pkg-config builds)"
for pair in "cmake/echo_cpp pc/echo_c" "pc/echo_c cmake/echo_cpp" "cmake/echo_c pc/echo_cpp"; do
  read -r server client <<<"$pair"
  for opts in aes salsa; do
    read -ra o <<<"$(options "$opts")"
    start_server "$work/$server" listen 0 "$bytes" "${o[@]}"
    expect_line "$client dials $server ($opts)" "^ok bytes=$bytes\$" \
      "$work/$client" dial 127.0.0.1 "$port" "$bytes" "${o[@]}"
    server_exits_ok "$server ($opts)"
  done
done

step "examples against kcp-go 5.6.1"
go_peer=$(scripts/go-peer.sh session)
for opts in aes salsa; do
  read -ra o <<<"$(options "$opts")"
  mapfile -t flags < <(go_flags "${o[@]}")
  for example in cmake/echo_c cmake/echo_cpp; do
    start_server "$go_peer" echo-server -listen 127.0.0.1:0 "${flags[@]}"
    expect_line "$example dials kcp-go ($opts)" "^ok bytes=$bytes\$" \
      "$work/$example" dial 127.0.0.1 "$port" "$bytes" "${o[@]}"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    start_server "$work/$example" listen 0 "$bytes" "${o[@]}"
    expect_line "kcp-go dials $example ($opts)" "^ok conns=1 bytes=$bytes " \
      "$go_peer" echo-client -remote "127.0.0.1:$port" -bytes "$bytes" "${flags[@]}"
    server_exits_ok "$example ($opts)"
  done
done
step "hello.cpp (kcptun's defaults) against kcp-go with kcptun's defaults"
start_server "$go_peer" echo-server -listen 127.0.0.1:0 -key "hello key"
expect_line "hello dials kcp-go" '^hello$' "$work/cmake/hello" 127.0.0.1 "$port" "hello key"
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
cd "$root"
echo "kcp-session-ffi package: all checks passed"
