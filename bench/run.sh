#!/usr/bin/env bash
# run.sh - every figure of the performance goals, as ratios to a reference
# measured in the same run (docs/performance.md).
#
# Usage: bench/run.sh BUILD_DIR [quick|full] [sqlite|postgres|all] [FIGURES]
#
# quick (the default, under 5 minutes) measures each HTTP figure for 3 s
# with smaller data sets; full (for releases) for 10 s with the sizes of
# the goals (10,000 subjects, version 1,000, 300 versions of a 34 KB
# schema).  For each backend it starts the built chanregd (SQLite in a
# temporary directory, PostgreSQL from tests/support/pg_test_server.sh),
# loads it, and measures with wrk over loopback; each HTTP figure is set
# against bench_ceiling (bench/ceiling/) answering the same bytes in the
# same threading mode.  Registration figures compare the daemon with
# itself (a registration at N versions against one at 10, p99 against
# p50).  bench_avro follows, with the Java or Python Avro checkers where
# installed.
#
# FIGURES selects some figures (comma-separated; all by default): http
# (reads, after loading the data sets), writers (64 concurrent
# registrations), chain (a registration at N versions under
# BACKWARD_TRANSITIVE), big (300 versions of a 34 KB schema, full mode),
# avro (bench_avro).  The resident
# memory of chanregd after the run and its peak are always reported.
#
# Build BUILD_DIR first, in Release mode for meaningful figures:
#   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-rel --target chanregd bench_ceiling bench_avro
# Needs wrk, python3 and, for PostgreSQL, the server binaries.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
    [ $# -ge 1 ] && exit 0 || exit 2
fi
build=$1
mode=${2:-quick}
backends=${3:-all}
figures=${4:-all}
case $mode in quick | full) ;; *)
    echo "run.sh: unknown mode \"$mode\" (quick or full)" >&2
    exit 2
    ;;
esac
case $backends in sqlite | postgres | all) ;; *)
    echo "run.sh: unknown backend \"$backends\" (sqlite, postgres or all)" >&2
    exit 2
    ;;
esac
for f in registry/daemon/chanregd bench/ceiling/bench_ceiling; do
    [ -x "$build/$f" ] || {
        echo "run.sh: $build/$f not found; build it first" >&2
        exit 2
    }
done
exec "${PYTHON:-python3}" "$here/perf.py" "$build" "$mode" "$backends" "$figures"
