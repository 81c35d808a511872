#!/usr/bin/env bash
# bench/run.sh: gmr's benchmarks in one command (issue #5).
#
#   bench/run.sh                 # as root on Debian 12; 1 to 2 minutes of measuring, after
#                                # waiting up to 3 minutes for a quiet machine
#   bench/run.sh --counts 10,100 --warm 5     # any option of bench/run_bench.py
#
# Installs what is missing (the project's packages through scripts/deps.sh, and
# elfutils, gdb, wrk, linux-perf), builds gmr-bench-target in build-bench/, then,
# for N = 10, 100 and 1000 threads, measures gmr, eu-stack and gdb on one process
# each, and /gmr under wrk; prints the table and writes BENCHMARKS.md.
#
# Environment: GMR_BENCH_BUILD_DIR (default: build-bench), GMR_BENCH_OUT (default:
# BENCHMARKS.md at the top of the repository; "-" to write nothing),
# GMR_BENCH_JSON (a file for every raw measurement).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${GMR_BENCH_BUILD_DIR:-$repo/build-bench}
out=${GMR_BENCH_OUT:-$repo/BENCHMARKS.md}

die() {
  echo "bench/run.sh: $*" >&2
  exit 2
}

# The driver puts itself, and so every process it starts, in a process group of
# its own (--own-process-group): on any exit, that whole group goes, and nothing else.
driver=""
cleanup() {
  if [[ -n $driver ]] && kill -0 "$driver" 2>/dev/null; then
    kill -TERM -- "-$driver" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$driver" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- Packages ----------------------------------------------------------------------
[[ $(uname -s) == Linux ]] || die "Linux only"
if [[ -x $repo/scripts/deps.sh ]]; then
  "$repo/scripts/deps.sh" || die "scripts/deps.sh could not install the build dependencies"
fi
declare -A tool_package=([eu-stack]=elfutils [gdb]=gdb [wrk]=wrk [perf]=linux-perf [python3]=python3
                         [cmake]=cmake [ninja]=ninja-build)
missing=()
for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_package[$tool]}")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "bench/run.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "could not install ${missing[*]}"
fi
for tool in "${!tool_package[@]}"; do
  [[ $tool == perf ]] && continue  # optional: without it the kernel's view is "n/a"
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian package ${tool_package[$tool]})"
done
[[ $(id -u) -eq 0 ]] || echo "bench/run.sh: not root: gdb, eu-stack and perf may be refused" >&2

# ---- Build -------------------------------------------------------------------------
configure() {
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGMR_BUILD_BENCH=ON "$@" >/dev/null
}
echo "bench/run.sh: building gmr-bench-target in $build" >&2
if ! { configure -DGMR_BENCH_SPLIT=ON && cmake --build "$build" --target gmr-bench-target; }; then
  # The split is timed by wrapping gmr's internal functions at link time: if one
  # was renamed, measure without the split rather than not at all.
  echo "bench/run.sh: build failed; trying again without the capture/symbolize split" >&2
  configure -DGMR_BENCH_SPLIT=OFF || die "cmake could not configure $build"
  cmake --build "$build" --target gmr-bench-target || die "gmr-bench-target does not build"
fi

# ---- Measure -----------------------------------------------------------------------
args=(--binary "$build/bin/gmr-bench-target" --repo "$repo" --workdir "$build/bench-run"
      --command "bench/run.sh${*:+ $*}")
[[ $out == - ]] || args+=(--out "$out")
[[ -z ${GMR_BENCH_JSON:-} ]] || args+=(--json "$GMR_BENCH_JSON")
ulimit -n 65536 2>/dev/null || true
python3 "$here/run_bench.py" --own-process-group "${args[@]}" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit "$status"
