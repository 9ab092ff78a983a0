#!/usr/bin/env bash
# The whole test suite: install dependencies, build with -Werror, run every
# test (unit and integration, SQLite and a real PostgreSQL), then build and
# run everything again under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

run_pass() {
    local dir=$1
    shift
    echo "==> configure $dir ($*)"
    cmake -S . -B "$dir" -G Ninja -DENABLE_WERROR=ON "$@" >/dev/null
    echo "==> build $dir"
    cmake --build "$dir" -j "$jobs"
    echo "==> test $dir"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

run_pass build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANITIZE=OFF
if [ "$quick" -eq 0 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_pass build-asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON -DBUILD_BENCH=OFF
fi
echo "==> all tests passed"
