#!/usr/bin/env bash
# run.sh - HTTP benchmark of chanregd over loopback with wrk.
#
# For each store backend (SQLite in a temp dir, and a real PostgreSQL server
# started in a temp dir with tests/support/pg_test_server.sh) it starts the built
# chanregd, preloads schemas and measures, with wrk:
#
#   GET  /healthz                      the reference figure of the run
#   GET  /schemas/ids/{id}             id lookups over the whole preloaded set
#   POST /subjects/{s}/versions        registrations of unique schemas spread
#                                      over many subjects (a Lua counter)
#
# and prints one table: requests/s, p99 latency, the ratio to /healthz, the
# non-2xx replies and the socket errors (wrk gives up on a request after 2 s:
# those count as "timeout" socket errors).  It builds nothing: pass the build
# directory.
#
# Usage: bench/http/run.sh BUILD_DIR [sqlite|postgres|all]
#
# Environment: DURATION (wrk -d, default 10s), CONNECTIONS (wrk -c, 64),
# WRK_THREADS (wrk -t, 2), PRELOAD (schemas to preload, 2000), SUBJECTS
# (subjects the registrations spread over, 500), CHANREGD_ARGS (extra daemon
# flags, e.g. "--threads 2"), PYTHON (python3).
#
# Targets on a 2-core machine: >= 30,000 id lookups/s and >= 1,000
# registrations/s on PostgreSQL.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_args "$@"

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
wrk_threads=${WRK_THREADS:-2}
preload=${PRELOAD:-2000}
subjects=${SUBJECTS:-500}
python=${PYTHON:-python3}
token=bench-token

bench_require_tools wrk curl "$python"

work=$(mktemp -d "${TMPDIR:-/tmp}/chanreg-bench.XXXXXX")
trap bench_cleanup EXIT
trap "exit 130" INT TERM

# measure NAME WRK-ARGS...: run wrk, append "name rate p99 errors" to $results.
measure() {
    local name=$1 out rate p99 errors sock
    shift
    out=$(wrk -t "$wrk_threads" -c "$connections" -d "$duration" --latency "$@" 2>&1) || {
        echo "run.sh: wrk failed:" >&2
        echo "$out" >&2
        return 1
    }
    rate=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
    errors=${errors:-0}
    # "Socket errors: connect 0, read 0, write 0, timeout 74" -> 74
    sock=$(echo "$out" | awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }')
    sock=${sock:-0}
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$name" "${rate:-0}" "${p99:--}" "$errors" \
        "$sock" >>"$results"
    if echo "$out" | grep -q "register.lua: HTTP"; then
        echo "$out" | grep "register.lua: HTTP" | head -3 >&2
    fi
}

# bench_backend NAME DB_URL
bench_backend() {
    local ids first last
    backend=$1
    echo "==> $backend: starting chanregd" >&2
    start_daemon "$2" "$work/chanregd-$backend.log"
    echo "==> $backend: preloading $preload schemas" >&2
    ids=$("$python" "$here/preload.py" "$url" "$preload" 100 "$token")
    read -r first last <<<"$ids"
    echo "==> $backend: wrk $duration per figure, $connections connections, ids $first..$last" >&2
    measure "GET /healthz" -s "$here/healthz.lua" "$url"
    measure "GET /schemas/ids/{id}" -s "$here/lookup_ids.lua" "$url" -- "$first" "$last"
    measure "POST /subjects/{s}/versions" -s "$here/register.lua" "$url" -- "$subjects" \
        "$token" "$backend$$"
    stop_daemon
}

results=$work/results.tsv
: >"$results"
# Other work on the machine skews every figure: report the load the run started with.
load_at_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

if [ "$which_backends" != postgres ]; then
    bench_backend sqlite "sqlite:$work/bench.db"
fi

if [ "$which_backends" != sqlite ]; then
    pg_server=$root/tests/support/pg_test_server.sh
    if [ ! -x "$pg_server" ]; then
        echo "run.sh: $pg_server is missing; skipping PostgreSQL" >&2
    else
        pg_start chanreg_bench
        bench_backend postgres "$(cat "$work/pg/url")"
        pg_stop
    fi
fi

# The table: every figure next to the /healthz figure of the same backend.
echo
echo "chanregd HTTP benchmark: wrk -t$wrk_threads -c$connections -d$duration over loopback," \
    "$(nproc) cores (load $load_at_start at start), preload $preload schemas," \
    "registrations over $subjects subjects"
awk -F'\t' '
    BEGIN { printf "%-9s %-29s %10s %10s %10s %8s %9s\n", "backend", "route", "req/s", "p99", "vs healthz", "non-2xx", "sock.err" }
    $2 == "GET /healthz" { ref[$1] = $3 }
    { rows[NR] = $0 }
    END {
        for (i = 1; i <= NR; i++) {
            split(rows[i], f, "\t")
            ratio = ref[f[1]] > 0 ? sprintf("%.2f", f[3] / ref[f[1]]) : "-"
            printf "%-9s %-29s %10.0f %10s %10s %8s %9s\n", f[1], f[2], f[3], f[4], ratio, f[5], f[6]
        }
    }' "$results"

echo
awk -F'\t' '
    $1 == "postgres" && $2 == "GET /schemas/ids/{id}" {
        printf "target: >= 30000 id lookups/s on PostgreSQL: %s (%.0f/s)\n", ($3 >= 30000 ? "met" : "MISSED"), $3 }
    $1 == "postgres" && $2 == "POST /subjects/{s}/versions" {
        printf "target: >= 1000 registrations/s on PostgreSQL: %s (%.0f/s)\n", ($3 >= 1000 ? "met" : "MISSED"), $3 }
' "$results"
