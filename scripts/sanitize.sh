#!/usr/bin/env bash
# Builds gmr with sanitizers (clang) and runs the GoogleTest suite under them:
#   asan  build-asan/: AddressSanitizer + UndefinedBehaviorSanitizer (and leak
#         checking), every GoogleTest test but one (ctest -LE web: the node web
#         tests do not run under sanitizers; ASAN_EXCLUDE below says which one).
#         The demo the tests start is built the same way.
#   tsan  build-tsan/: ThreadSanitizer, the same tests but four (TSAN_EXCLUDE below).
#
#   scripts/sanitize.sh            both
#   scripts/sanitize.sh tsan       only TSan
#
# Suppressions live in tests/sanitizers/, each with its reason. A sanitizer report
# in a test, or in a demo that a test starts, fails that test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
command -v clang++ >/dev/null || { echo "gmr: sanitize.sh needs clang++" >&2; exit 1; }

modes=("$@")
if ((${#modes[@]} == 0)); then
  modes=(asan tsan)
fi

root=$(pwd)
# Boost.Stacktrace's libbacktrace backend includes <backtrace.h>, which Debian ships
# only in gcc's private include directory: clang looks there after its own headers.
gcc_include=$(gcc -print-file-name=include)
common="-g -O1 -fno-omit-frame-pointer -idirafter $gcc_include"

# One test is left out under both sanitizers, as it checks what they change: ThreadCapture.ThreadsParkedInKnownFunctionsAreFoundWithFileAndLine
# wants a thread spinning in a call-free loop to be interrupted on the loop's line.
#  - ASan: its shadow-memory checks around the loop's volatile accesses carry line
#    0 in the debug information, and the signal lands in them about one time in
#    three: the frame is right, its line is 0 (seen in 1 of 3 runs).
#  - TSan: it delays an asynchronous signal until the thread next enters its
#    runtime (a call it intercepts), which that loop never does: the thread never
#    answers, the assertion fails, and the spinning thread the test then joins
#    never stops (a hang until ctest's timeout).
# Under TSan, ThreadCapture.SurvivesThousandCapturesWhileThreadsThrow is left out
# too: it wants both throwing threads to answer all 1000 captures within 500 ms
# each, and with TSan's delayed delivery a thread inside libgcc's unwinder (no
# intercepted call for a long stretch, waiting on the loader's lock) missed 1 to 15
# of 2000 answers when the 2 cores were busy (2 of 8 runs; 0 of 6 when idle). TSan
# reported no race there; the slot protocol is still run under TSan by the other
# capture tests and FaultCapture's 1000 captures.
# Under TSan, ThreadCapture.ThreadThatMovesOnIsWalkedAgain and
# ThreadCapture.ReusedOuterFramesNeverHideChangedInnerOnes are left out as well:
# they check which functions each stack holds, and TSan runs a held-back handler
# with the context saved when the signal came, after the thread has moved on, so
# the walk from it can stop early (a stack without the loop's frame, in about
# half of the runs on a busy machine). The kernel hands a real handler the live
# context; both tests run in the plain and ASan builds.
ASAN_EXCLUDE='^ThreadCapture\.ThreadsParkedInKnownFunctionsAreFoundWithFileAndLine$'
TSAN_EXCLUDE='^ThreadCapture\.(ThreadsParkedInKnownFunctionsAreFoundWithFileAndLine|SurvivesThousandCapturesWhileThreadsThrow|ThreadThatMovesOnIsWalkedAgain|ReusedOuterFramesNeverHideChangedInnerOnes)$'

build() {
  local dir=$1 flags=$2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ "-DCMAKE_CXX_FLAGS=$common $flags" \
    "-DCMAKE_EXE_LINKER_FLAGS=$flags" "-DCMAKE_SHARED_LINKER_FLAGS=$flags" \
    -DGMR_BUILD_BENCH=OFF -DGMR_INSTALL=OFF >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target gmr_tests
}

status=0
for mode in "${modes[@]}"; do
  start=$SECONDS
  case $mode in
    asan)
      build build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
      # detect_stack_use_after_return: locals on a fake stack, so that a pointer
      # to a returned frame is caught; the init-order checks catch static
      # initialisation that depends on another file's statics.
      export ASAN_OPTIONS=${GMR_ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1}
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      (cd build-asan && ctest -LE web -E "$ASAN_EXCLUDE" -j "$(nproc)" --timeout 300 \
         --output-on-failure) || status=1
      unset ASAN_OPTIONS UBSAN_OPTIONS
      ;;
    tsan)
      build build-tsan "-fsanitize=thread"
      export TSAN_OPTIONS="suppressions=$root/tests/sanitizers/tsan.supp:second_deadlock_stack=1:halt_on_error=0"
      (cd build-tsan && ctest -LE web -E "$TSAN_EXCLUDE" -j "$(nproc)" --timeout 300 \
         --output-on-failure) || status=1
      unset TSAN_OPTIONS
      ;;
    *)
      echo "gmr: unknown sanitizer '$mode' (asan or tsan)" >&2
      exit 2
      ;;
  esac
  echo "gmr: $mode: $((SECONDS - start)) s" >&2
done
exit $status
