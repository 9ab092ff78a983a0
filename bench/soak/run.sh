#!/usr/bin/env bash
# run.sh - soak benchmark of chanregd: a mixed load for a while, with the
# daemon's resident memory (RSS) sampled all along.
#
# For each store backend (SQLite in a temp dir, and a real PostgreSQL server
# started in a temp dir with tests/support/pg_test_server.sh) it starts the
# built chanregd, preloads schemas (../http/preload.py), then runs wrk with
# mixed.lua (id lookups, latest-version reads, subject lists, /healthz,
# /metrics, registrations of new schemas, connections that close) for
# DURATION seconds while it reads VmRSS of the daemon every SAMPLE seconds.
# It prints, per backend: the requests served, the refusals, the RSS after
# the preload (start), at half time (middle), at the end and the largest
# sample, and how much RSS grew in the second half against the first half
# ("levels off" when the second half grew by less than a quarter of the
# first, and by less than 2 MiB).  It builds nothing: pass the build
# directory.
#
# Usage: bench/soak/run.sh BUILD_DIR [sqlite|postgres|all]
#
# Environment: DURATION (seconds of load per backend, default 30; a few
# minutes, e.g. 300, for a real soak), SAMPLE (seconds between RSS samples,
# default DURATION/10), CONNECTIONS (wrk -c, 32), WRK_THREADS (wrk -t, 2),
# PRELOAD (schemas to preload, 1000), SUBJECTS (subjects the registrations
# spread over, 200), WRITES (0: no registrations, to tell the memory that
# new data takes (the schema cache, the store's page cache) from the rest;
# default 1), CHANREGD_ARGS (extra daemon flags), PYTHON (python3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_args "$@"

duration=${DURATION:-30}
sample=${SAMPLE:-$(((duration + 9) / 10))}
connections=${CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-2}
preload=${PRELOAD:-1000}
subjects=${SUBJECTS:-200}
writes=${WRITES:-1}
python=${PYTHON:-python3}
token=bench-token

bench_require_tools wrk curl "$python"
[ "$sample" -ge 1 ] || sample=1

work=$(mktemp -d "${TMPDIR:-/tmp}/chanreg-soak.XXXXXX")
wrk_pid=

cleanup() {
    if [ -n "$wrk_pid" ]; then
        kill "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
    fi
    bench_cleanup
}
trap cleanup EXIT
trap "exit 130" INT TERM

# rss_kib: the daemon's resident set in KiB.
rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$daemon_pid/status"
}

# soak_backend NAME DB_URL
soak_backend() {
    local backend=$1 ids first last start t out rss samples=() n i mid_rss end_rss max_rss
    echo "==> $backend: starting chanregd" >&2
    start_daemon "$2" "$work/chanregd-$backend.log" --per-ip-connection-limit 0
    echo "==> $backend: preloading $preload schemas" >&2
    ids=$("$python" "$root/bench/http/preload.py" "$url" "$preload" 100 "$token")
    read -r first last <<<"$ids"
    start=$(rss_kib)
    echo "==> $backend: mixed load for ${duration}s, $connections connections, RSS every ${sample}s" >&2
    wrk -t "$wrk_threads" -c "$connections" -d "${duration}s" -s "$here/mixed.lua" "$url" -- \
        "$first" "$last" "$subjects" "$token" "$backend$$" "$writes" >"$work/wrk-$backend.out" 2>&1 &
    wrk_pid=$!
    t=0
    samples+=("$start")
    while kill -0 "$wrk_pid" 2>/dev/null && [ "$t" -lt $((duration + 30)) ]; do
        sleep "$sample"
        t=$((t + sample))
        kill -0 "$daemon_pid" 2>/dev/null || {
            echo "run.sh: chanregd died under load; its log:" >&2
            cat "$work/chanregd-$backend.log" >&2
            return 1
        }
        rss=$(rss_kib)
        samples+=("$rss")
        echo "    t=${t}s rss=${rss} KiB" >&2
    done
    wait "$wrk_pid" || {
        echo "run.sh: wrk failed:" >&2
        cat "$work/wrk-$backend.out" >&2
        return 1
    }
    wrk_pid=
    samples+=("$(rss_kib)")
    out=$(cat "$work/wrk-$backend.out")
    grep "mixed.lua: HTTP" "$work/wrk-$backend.out" | head -3 >&2 || true
    n=${#samples[@]}
    mid_rss=${samples[$((n / 2))]}
    end_rss=${samples[$((n - 1))]}
    max_rss=0
    for i in "${samples[@]}"; do
        [ "$i" -gt "$max_rss" ] && max_rss=$i
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" \
        "$(echo "$out" | awk '/requests in/ {print $1}')" \
        "$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')" \
        "$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')" \
        "$start" "$mid_rss" "$end_rss" "$max_rss" >>"$results"
    stop_daemon
}

results=$work/results.tsv
: >"$results"
load_at_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

if [ "$which_backends" != postgres ]; then
    soak_backend sqlite "sqlite:$work/soak.db"
fi
if [ "$which_backends" != sqlite ]; then
    pg_start chanreg_soak
    soak_backend postgres "$(cat "$work/pg/url")"
    pg_stop
fi

echo
echo "chanregd soak: ${duration}s of mixed load per backend ($([ "$writes" -gt 0 ] &&
    echo "1 registration in 20 requests" || echo "reads only")), wrk -t$wrk_threads" \
    "-c$connections, $(nproc) cores (load $load_at_start at start), preload $preload schemas"
awk -F'\t' '
    BEGIN { printf "%-9s %10s %9s %8s %11s %11s %11s %11s %s\n", "backend", "requests", "req/s",
            "non-2xx", "rss start", "rss middle", "rss end", "rss max", "second half" }
    {
        first = $6 - $5; second = $7 - $6
        verdict = (second * 4 <= (first > 0 ? first : 0) || second <= 0) && second < 2048 ? "levels off" : "still growing"
        printf "%-9s %10s %9.0f %8s %8.1f MiB %8.1f MiB %8.1f MiB %8.1f MiB %+.1f MiB (%s)\n", $1, $2, $3,
            ($4 == "" ? 0 : $4), $5 / 1024, $6 / 1024, $7 / 1024, $8 / 1024, second / 1024, verdict
    }' "$results"
