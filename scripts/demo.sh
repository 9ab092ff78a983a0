#!/usr/bin/env bash
# The main job: install dependencies, build chanreg, start chanregd on its
# embedded SQLite store, load the example contracts of contracts/ with
# `chanctl register`, show them with `chanctl list channels`, and keep the
# registry running until Ctrl-C.
#
# Usage: scripts/demo.sh [--once]
#   --once   stop the registry after the first chanctl calls (for scripts)
# Environment: CHANREG_DEMO_PORT (default 8081), CHANREG_DEMO_DIR (data
# directory, default .demo/ in the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."

once=0
[ "${1:-}" = "--once" ] && once=1

scripts/deps.sh

echo "==> build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target chanregd chanctl

port=${CHANREG_DEMO_PORT:-8081}
data=${CHANREG_DEMO_DIR:-.demo}
mkdir -p "$data"
url="http://127.0.0.1:$port"

log="$data/chanregd.log"
echo "==> start chanregd on $url (SQLite store in $data/chanreg.db, log in $log)"
# A local demo on loopback: no token, every request may write (say so explicitly).
build/registry/daemon/chanregd --listen "127.0.0.1:$port" --db "sqlite:$data/chanreg.db" \
    --allow-unauthenticated-writes >>"$log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
    if curl -fsS "$url/readyz" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$daemon" 2>/dev/null; then
        echo "chanregd exited early; its log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    sleep 0.1
done

echo "==> chanctl register contracts/ --registry $url"
build/cli/chanctl register contracts/ --registry "$url"
echo "==> chanctl list channels --registry $url"
build/cli/chanctl list channels --registry "$url"

echo "==> web UI: $url/ui/ (catalog, channel pages, consumer portal, audit log)"

if [ "$once" -eq 1 ]; then
    exit 0
fi
echo "==> chanreg is running at $url (Confluent-compatible API at $url/subjects); Ctrl-C stops it"
echo "    try: build/cli/chanctl get channel orders.order-created --registry $url"
wait "$daemon"
