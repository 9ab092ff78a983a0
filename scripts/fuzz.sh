#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz/ (clang, -DENABLE_FUZZ=ON:
# ASan+UBSan+libFuzzer), write their seed corpora, replay every seed and
# every saved regression input once, then fuzz each harness for a while.
#
# Usage: scripts/fuzz.sh [--time SECONDS] [--build DIR] [HARNESS]...
#   --time SECONDS  fuzzing time per harness (default 20; 0: replay only)
#   --build DIR     build directory (default build-fuzz)
#   HARNESS         contract, avro, http (default: all three)
#
# The corpus grown by a run is kept in DIR/tests/fuzz/work/<harness>/ and
# used by the next run; findings (crash-*, leak-*, timeout-*, oom-*) go to
# DIR/tests/fuzz/findings/<harness>/ and make the script fail.  A finding,
# once fixed, is copied to tests/fuzz/regressions/<harness>/ so that every
# later run replays it.  tests/README.md, "Fuzzing", tells how to run them
# for hours.
set -euo pipefail
cd "$(dirname "$0")/.."

time_s=20
build=build-fuzz
harnesses=()
while [ $# -gt 0 ]; do
    case $1 in
    --time) time_s=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    contract | avro | http) harnesses+=("$1"); shift ;;
    *) echo "usage: scripts/fuzz.sh [--time SECONDS] [--build DIR] [contract|avro|http]..." >&2
       exit 2 ;;
    esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(contract avro http)

echo "==> configure $build (clang, ENABLE_FUZZ=ON)"
cmake -S . -B "$build" -G Ninja -DENABLE_WERROR=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENABLE_FUZZ=ON -DSANITIZE=OFF -DBUILD_TESTING=OFF \
    -DBUILD_BENCH=OFF >/dev/null
echo "==> build the harnesses"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
    --target "${harnesses[@]/#/fuzz_}" fuzz_corpus

fuzz=$build/tests/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for h in "${harnesses[@]}"; do
    work=$fuzz/work/$h findings=$fuzz/findings/$h
    mkdir -p "$work" "$findings"
    seeds=("$fuzz/corpus/$h")
    [ -d "tests/fuzz/regressions/$h" ] && seeds+=("tests/fuzz/regressions/$h")
    # -timeout: one input running longer is a hang; -rss_limit_mb: a blow-up.
    common=(-timeout=20 -rss_limit_mb=4096 -artifact_prefix="$findings/" -print_final_stats=1
        -dict="tests/fuzz/$h.dict")
    echo "==> fuzz_$h: replay the seeds and regressions"
    if ! "$fuzz/fuzz_$h" "${common[@]}" -runs=0 "$work" "${seeds[@]}" >"$fuzz/$h.replay.log" 2>&1; then
        tail -n 60 "$fuzz/$h.replay.log" >&2
        echo "==> fuzz_$h: a seed or regression fails (log: $fuzz/$h.replay.log)" >&2
        status=1
        continue
    fi
    [ "$time_s" -gt 0 ] || continue
    echo "==> fuzz_$h: fuzzing for ${time_s} s"
    if ! "$fuzz/fuzz_$h" "${common[@]}" -max_total_time="$time_s" "$work" "${seeds[@]}" \
        >"$fuzz/$h.log" 2>&1; then
        tail -n 60 "$fuzz/$h.log" >&2
        echo "==> fuzz_$h: FINDING in $findings (log: $fuzz/$h.log)" >&2
        status=1
        continue
    fi
    grep -E '^(stat::number_of_executed_units|Done)' "$fuzz/$h.log" | tail -n 2 || true
done
[ "$status" -eq 0 ] && echo "==> fuzzing found nothing"
exit "$status"
