#!/usr/bin/env bash
# Builds gmr's libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) in build-fuzz/
# and runs each for a bounded time, starting from its seed corpus in
# tests/fuzz/corpus/TARGET/ (copied: the checked-in corpus is never modified).
#
#   scripts/fuzz.sh                  every target, GMR_FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh url config_file  only these targets
#
# A crash, a leak, a sanitizer report or a broken invariant fails the script; the
# input that did it is left in build-fuzz/artifacts/ and its first bytes printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

seconds=${GMR_FUZZ_SECONDS:-60}
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(config_file config_argv admin_request url)
fi
command -v clang++ >/dev/null || { echo "gmr: fuzz.sh needs clang++ (libFuzzer)" >&2; exit 1; }

cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  dict=()
  if [[ -f tests/fuzz/$t.dict ]]; then
    dict=(-dict="tests/fuzz/$t.dict")
  fi
  log=build-fuzz/$t.log
  echo "gmr: fuzzing $t for ${seconds}s" >&2
  # -timeout: one input that takes 10 s is a hang; -rss_limit_mb: a leak that
  # grows without bound fails; -max_len: configuration files and requests are small.
  if ./build-fuzz/fuzz_"$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/artifacts/"$t"- >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "gmr: $t: $runs inputs, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files, no failure" >&2
  else
    status=1
    echo "gmr: $t FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    for a in build-fuzz/artifacts/"$t"-*; do
      [[ -f $a ]] && { echo "gmr: input $a:" >&2; head -c 300 "$a" | od -c | head -20 >&2; }
    done
  fi
done
exit $status
