#!/usr/bin/env bash
# The whole test suite: install dependencies, then build with -Werror and run
# every test (unit and integration, SQLite and a real PostgreSQL) in each pass:
#   build        gcc, Release (-O3): what users build
#   build-clang  clang, Debug
#   build-fuzz   clang, the libFuzzer harnesses of tests/fuzz/ (ASan+UBSan):
#                every seed and regression input replayed, then 20 s of
#                fuzzing per harness (scripts/fuzz.sh; about 60 s in all)
#   build-asan   gcc, Debug, AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan   clang, RelWithDebInfo, ThreadSanitizer; every test but those
#                labelled kafka: librdkafka starts its threads with C11
#                thrd_create, which this TSan does not intercept (it crashes).
#
# Usage: scripts/test.sh [--quick]   (--quick runs the first pass only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

# run_pass DIR "CTEST ARGS" CMAKE ARGS...
run_pass() {
    local dir=$1 ctest_args=$2 start=$SECONDS
    shift 2
    echo "==> configure $dir ($*)"
    cmake -S . -B "$dir" -G Ninja -DENABLE_WERROR=ON "$@" >/dev/null
    echo "==> build $dir"
    cmake --build "$dir" -j "$jobs"
    echo "==> test $dir"
    # shellcheck disable=SC2086 # ctest_args is a list of words
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 $ctest_args
    echo "==> $dir passed in $((SECONDS - start)) s"
}

run_pass build "" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release -DSANITIZE=OFF
if [ "$quick" -eq 0 ]; then
    run_pass build-clang "" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=OFF
    start=$SECONDS
    scripts/fuzz.sh --build build-fuzz --time 20
    echo "==> build-fuzz passed in $((SECONDS - start)) s"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_pass build-asan "" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=address \
        -DBUILD_BENCH=OFF
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        run_pass build-tsan "-LE kafka" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSANITIZE=thread -DBUILD_BENCH=OFF
fi
echo "==> all tests passed"
