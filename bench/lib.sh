# shellcheck shell=bash
# lib.sh - what the wrk drivers bench/http/run.sh and bench/soak/run.sh
# share: their arguments and --help, the tools they need, chanregd started
# on a free loopback port and stopped, a temporary PostgreSQL server, and
# the cleanup on exit.  Sourced, never run.
#
# The driver sets root (the source tree) before sourcing it, then calls
# bench_args "$@" (which sets build, which_backends and chanregd), sets
# token and python, calls bench_require_tools, creates work (its temporary
# directory) and traps EXIT with bench_cleanup (or a function that ends
# with it).  The functions keep their state in the globals daemon_pid, url
# and pg_started.

# The driver sets root, work and token.
# shellcheck disable=SC2154

daemon_pid=
pg_started=0

# bench_args ARGS...: --help (the calling script's header comment), then
# BUILD_DIR [sqlite|postgres|all]; sets build, which_backends, chanregd.
bench_args() {
    if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
        sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
        [ $# -ge 1 ] && exit 0 || exit 2
    fi
    build=$(cd "$1" && pwd)
    which_backends=${2:-all}
    case $which_backends in
    sqlite | postgres | all) ;;
    *)
        echo "run.sh: unknown backend \"$which_backends\" (sqlite, postgres or all)" >&2
        exit 2
        ;;
    esac
    chanregd=$build/registry/daemon/chanregd
}

# bench_require_tools TOOL...: exit 2 unless every tool and the built chanregd are there.
bench_require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "run.sh: $tool not found" >&2
            exit 2
        }
    done
    [ -x "$chanregd" ] || {
        echo "run.sh: $chanregd not found; build it first (ninja -C BUILD_DIR chanregd)" >&2
        exit 2
    }
}

# bench_cleanup: stop the daemon and the PostgreSQL server, remove $work.
bench_cleanup() {
    stop_daemon
    if [ "$pg_started" -eq 1 ]; then
        "$root/tests/support/pg_test_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}

stop_daemon() {
    if [ -n "$daemon_pid" ]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=
    fi
}

# start_daemon DB_URL LOG [FLAG...]: start chanregd on a free port with the
# extra flags (before CHANREGD_ARGS), set $url.
start_daemon() {
    local db=$1 log=$2 port_file=$work/port
    shift 2
    rm -f "$port_file"
    # shellcheck disable=SC2086
    "$chanregd" --listen 127.0.0.1:0 --port-file "$port_file" --db "$db" --token "$token" \
        --log-level warn "$@" ${CHANREGD_ARGS:-} >"$log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1 200); do
        if [ -s "$port_file" ]; then
            url="http://127.0.0.1:$(cat "$port_file")"
            if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then
                return 0
            fi
        fi
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
            echo "run.sh: chanregd exited; its log:" >&2
            cat "$log" >&2
            daemon_pid=
            return 1
        fi
        sleep 0.05
    done
    echo "run.sh: chanregd did not become healthy; its log:" >&2
    cat "$log" >&2
    return 1
}

# pg_start DB_NAME: start a temporary PostgreSQL server in $work/pg; its URL is in $work/pg/url.
pg_start() {
    echo "==> postgres: starting a temporary server" >&2
    pg_started=1
    "$root/tests/support/pg_test_server.sh" start "$work/pg" "$1" >&2
}

# pg_stop: stop the server of pg_start.
pg_stop() {
    "$root/tests/support/pg_test_server.sh" stop "$work/pg" >&2
    pg_started=0
}
