#!/usr/bin/env bash
# Install the Debian 12 packages chanreg needs to build, test and run.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

CHAN_DEB_PACKAGES=(
    build-essential cmake ninja-build pkg-config git ca-certificates
    libavro-dev librdkafka-dev libpq-dev libmicrohttpd-dev libcmocka-dev
    libyaml-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libgnutls28-dev
    postgresql python3 python3-confluent-kafka python3-requests python3-yaml python3-avro
    nodejs wrk curl openssl
    clang clang-format clang-tidy cppcheck
)

# npm installs the Node.js Schema Registry client of the wire-format tests into
# the build directory; some nodejs builds bring their own npm.
if ! command -v npm >/dev/null 2>&1; then
    CHAN_DEB_PACKAGES+=(npm)
fi

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
