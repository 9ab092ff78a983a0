#!/usr/bin/env bash
# pg_test_server.sh - a throwaway PostgreSQL server for tests and benchmarks.
#
# Usage:
#   pg_test_server.sh start STATE_DIR [DB...]   start a server, create databases
#   pg_test_server.sh stop  STATE_DIR           stop it and delete its data
#   pg_test_server.sh url   STATE_DIR [DB]      print the URL of a database
#   pg_test_server.sh crash STATE_DIR           stop it at once (-m immediate), keep its data
#   pg_test_server.sh restart STATE_DIR         start it again on its port (after crash)
#
# start runs initdb in a fresh temporary directory (under $TMPDIR, /tmp by
# default) and starts the server on a free port of 127.0.0.1 only
# (listen_addresses=127.0.0.1, Unix socket inside the temporary directory,
# trust authentication, fsync off: test data only).  It creates each DB
# (default: one database named "chanreg") and writes into STATE_DIR:
#   url          the URL of the first database, e.g.
#                postgresql://postgres@127.0.0.1:54321/chanreg
#   url-<DB>     the URL of each database
#   port, datadir, bindir, runas   what stop needs
# STATE_DIR is created if missing; give every test module its own so that
# `ctest -j` can run several servers at once.  A server already recorded in
# STATE_DIR is stopped first.
#
# stop is idempotent and always removes the data directory; use it as the
# CTest FIXTURES_CLEANUP step so that no server outlives the tests, also when
# they fail.  Example (CMake):
#   add_test(NAME x.pg.start COMMAND pg_test_server.sh start ${dir} mydb)
#   add_test(NAME x.pg.stop  COMMAND pg_test_server.sh stop  ${dir})
#   set_tests_properties(x.pg.start PROPERTIES FIXTURES_SETUP x_pg)
#   set_tests_properties(x.pg.stop  PROPERTIES FIXTURES_CLEANUP x_pg)
#   set_tests_properties(x PROPERTIES FIXTURES_REQUIRED x_pg)
# and read the URL from ${dir}/url in the test.
#
# When run as root, the server runs as the `postgres` system user (PostgreSQL
# refuses to run as root).  Server binaries are taken from $PG_BINDIR or the
# newest /usr/lib/postgresql/*/bin.  Exit status: 0 ok, 1 failure, 2 usage.
set -euo pipefail

usage() {
    sed -n '3,8p' "$0" | sed 's/^# //' >&2
    exit 2
}

die() {
    echo "pg_test_server: $*" >&2
    exit 1
}

find_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        echo "$PG_BINDIR"
        return
    fi
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ ! -x "$d/initdb" ]; then
        die "no PostgreSQL server binaries found (set PG_BINDIR)"
    fi
    echo "$d"
}

# Run a server binary as the right user.
as_pg() {
    if [ "$runas" = "" ]; then
        "$@"
    else
        runuser -u "$runas" -- "$@"
    fi
}

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

cmd_stop() {
    local state=$1
    [ -d "$state" ] || return 0
    local datadir bindir
    datadir=$(cat "$state/datadir" 2>/dev/null || true)
    bindir=$(cat "$state/bindir" 2>/dev/null || true)
    runas=$(cat "$state/runas" 2>/dev/null || true)
    if [ -n "$datadir" ] && [ -d "$datadir" ]; then
        if [ -f "$datadir/data/postmaster.pid" ] && [ -n "$bindir" ]; then
            as_pg "$bindir/pg_ctl" -D "$datadir/data" -m immediate -w -t 30 stop \
                >/dev/null 2>&1 || true
        fi
        # Last resort: the postmaster pid, if the server is still alive.
        if [ -f "$datadir/data/postmaster.pid" ]; then
            local pid
            pid=$(head -n 1 "$datadir/data/postmaster.pid" 2>/dev/null || true)
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                kill -QUIT "$pid" 2>/dev/null || true
                # until it is gone, for at most 5 s
                for _ in $(seq 50); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
            fi
        fi
        rm -rf "$datadir"
    fi
    rm -f "$state"/url "$state"/url-* "$state/port" "$state/datadir" "$state/bindir" \
        "$state/runas"
}

# start_server BINDIR DATADIR PORT: pg_ctl start with the test settings.
start_server() {
    as_pg "$1/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$3 -c unix_socket_directories=$2 -c fsync=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null 2>&1
}

# A crash as far as clients can tell: the server and its sessions end at once.
cmd_crash() {
    local state=$1
    local datadir bindir
    datadir=$(cat "$state/datadir")
    bindir=$(cat "$state/bindir")
    runas=$(cat "$state/runas")
    as_pg "$bindir/pg_ctl" -D "$datadir/data" -m immediate -w -t 30 stop >/dev/null
}

cmd_restart() {
    local state=$1
    local datadir bindir
    datadir=$(cat "$state/datadir")
    bindir=$(cat "$state/bindir")
    runas=$(cat "$state/runas")
    start_server "$bindir" "$datadir" "$(cat "$state/port")" ||
        die "cannot restart the server (log: $datadir/server.log)"
}

cmd_start() {
    local state=$1
    shift
    local dbs=("$@")
    [ ${#dbs[@]} -gt 0 ] || dbs=(chanreg)
    mkdir -p "$state"
    cmd_stop "$state"

    local bindir datadir user port started=0
    bindir=$(find_bindir)
    runas=""
    user=$(id -un)
    if [ "$(id -u)" = "0" ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user"
        runas=postgres
        user=postgres
    fi
    datadir=$(mktemp -d "${TMPDIR:-/tmp}/chanreg-pg.XXXXXX")
    echo "$datadir" >"$state/datadir"
    echo "$bindir" >"$state/bindir"
    echo "$runas" >"$state/runas"
    [ -n "$runas" ] && chown "$runas" "$datadir"
    chmod 700 "$datadir"

    if ! as_pg "$bindir/initdb" -D "$datadir/data" -U "$user" --auth=trust --no-sync \
        -E UTF8 --locale=C >"$datadir/initdb.log" 2>&1; then
        cat "$datadir/initdb.log" >&2
        cmd_stop "$state"
        die "initdb failed"
    fi

    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if start_server "$bindir" "$datadir" "$port"; then
            started=1
            break
        fi
        # Probably lost the port to someone else: try another one.
        as_pg "$bindir/pg_ctl" -D "$datadir/data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    if [ "$started" != 1 ]; then
        cat "$datadir/server.log" >&2 || true
        cmd_stop "$state"
        die "cannot start the server"
    fi
    echo "$port" >"$state/port"

    local db
    for db in "${dbs[@]}"; do
        if ! as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db"; then
            cmd_stop "$state"
            die "cannot create database $db"
        fi
        echo "postgresql://$user@127.0.0.1:$port/$db" >"$state/url-$db"
    done
    cp "$state/url-${dbs[0]}" "$state/url"
}

cmd_url() {
    local state=$1 db=${2:-}
    if [ -n "$db" ]; then
        cat "$state/url-$db"
    else
        cat "$state/url"
    fi
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
start) cmd_start "$@" ;;
stop) cmd_stop "$1" ;;
url) cmd_url "$@" ;;
crash) cmd_crash "$1" ;;
restart) cmd_restart "$1" ;;
*) usage ;;
esac
