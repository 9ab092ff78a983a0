#!/usr/bin/env bash
# Install the Debian 12 packages chanreg needs to build, test and run.
# Idempotent: does nothing when every package is already installed.
#
# Usage: scripts/deps.sh [--bench]
#   --bench  also the peers of bench_avro (docs/performance.md): a JDK and
#            Debian's Java Avro library.  CI does not need them.
set -euo pipefail

CHAN_DEB_PACKAGES=(
    build-essential cmake ninja-build pkg-config git ca-certificates
    libavro-dev librdkafka-dev libpq-dev libmicrohttpd-dev libcmocka-dev
    libyaml-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libgnutls28-dev
    postgresql python3 python3-confluent-kafka python3-requests python3-yaml python3-avro
    wrk curl openssl pre-commit
    clang libclang-rt-14-dev clang-format clang-tidy cppcheck
    chromium fonts-dejavu-core nodejs
)
# bench_avro's Java peer (AvroPeer.java: Apache Avro 1.8.2 with its Jackson
# and SLF4J jars); the Python peer uses python3-avro above.
CHAN_BENCH_PACKAGES=(default-jdk-headless libavro-java libslf4j-java)

case "${1:-}" in
--bench) CHAN_DEB_PACKAGES+=("${CHAN_BENCH_PACKAGES[@]}") ;;
"") ;;
*)
    echo "usage: scripts/deps.sh [--bench]" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${CHAN_DEB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "chanreg: installing ${missing[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm (the browser test's packages: tests/integration/ui, and the Node.js
# Schema Registry client of tests/integration/daemon): Debian's package,
# unless the installed nodejs brings its own npm (NodeSource's does).
if ! command -v npm >/dev/null 2>&1; then
    echo "chanreg: installing npm" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
