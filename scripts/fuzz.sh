#!/usr/bin/env bash
# Fuzz campaigns with cargo-fuzz (libFuzzer), for one target or all of them.
#
#   scripts/fuzz.sh TARGET|all [SECONDS] [EXECS]
#       Runs each target for SECONDS (default 60) or EXECS executions (default: no
#       limit), whichever comes first, starting from the committed corpus in
#       fuzz/seeds/TARGET plus the working corpus in fuzz/corpus/TARGET. Fails if a target
#       crashes, leaks, times out, or ends without libFuzzer's final statistics (a fuzzer
#       that never started). Prints one line per target: executions, coverage, corpus.
#   scripts/fuzz.sh --minimize TARGET|all
#       Merges the working corpus into fuzz/seeds/TARGET, keeping only inputs that add
#       coverage (commit the result, so that short runs start from it).
#
# FUZZ_SANITIZER (default address) picks cargo-fuzz's sanitizer; `none` runs several
# times faster, for deep campaigns. kcp-core, kcp-session and kcp-tunnel have no unsafe code;
# kcp-fec and kcp-crypt have some, which fec_decode and crypt_open reach directly: keep
# ASan for those two.
#
# Needs cargo-fuzz (installed on first use) and runs on the stable toolchain with
# RUSTC_BOOTSTRAP=1, as libFuzzer's sanitizer flags require nightly features.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

minimize=false
if [ "${1:-}" = "--minimize" ]; then
  minimize=true
  shift
fi
which=${1:?usage: scripts/fuzz.sh [--minimize] TARGET|all [SECONDS] [EXECS]}
seconds=${2:-60}
execs=${3:-0}
sanitizer=${FUZZ_SANITIZER:-address}

targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "fuzz: no targets found" >&2; exit 1; }
if [ "$which" != all ]; then
  echo "$targets" | grep -qx "$which" || { echo "fuzz: no target $which" >&2; exit 1; }
  targets=$which
fi

cargo fuzz build -O -a -s "$sanitizer"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for target in $targets; do
  mkdir -p "corpus/$target" "seeds/$target"
  if $minimize; then
    # Keep the inputs of both corpora that add coverage, back in seeds/.
    cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
    cargo fuzz cmin -O -a -s "$sanitizer" "$target" "corpus/$target" >"$logs/$target" 2>&1 \
      || { tail -20 "$logs/$target"; exit 1; }
    rm -rf "seeds/$target"
    cp -r "corpus/$target" "seeds/$target"
    echo "fuzz: $target: $(ls "seeds/$target" | wc -l) inputs kept in fuzz/seeds/$target"
    continue
  fi
  status=0
  runs_limit=-1
  [ "$execs" -gt 0 ] && runs_limit=$execs
  cargo fuzz run -O -a -s "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -runs="$runs_limit" -print_final_stats=1 -rss_limit_mb=4096 \
    >"$logs/$target" 2>&1 || status=$?
  if [ "$status" -ne 0 ] || compgen -G "artifacts/$target/*" >/dev/null; then
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$logs/$target" | head -20 >&2 || true
    echo "fuzz: target $target failed (exit $status); artifacts in fuzz/artifacts/$target" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target" | tail -1)
  if [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
    tail -20 "$logs/$target" >&2
    echo "fuzz: target $target ran no input" >&2
    exit 1
  fi
  last=$(grep -E '^#[0-9]+' "$logs/$target" | tail -1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target" | tail -1)
  printf 'fuzz: %-16s %12s executions %8s/s  cov %6s  ft %6s  corpus %6s\n' \
    "$target" "$runs" "$rate" "$cov" "$ft" "$corp"
done
