#!/usr/bin/env bash
# npm_install.sh SRC_DIR DEST_DIR - install the browser test's npm packages
# (package.json, pinned by package-lock.json in SRC_DIR) into DEST_DIR, a
# folder of the build tree, never the source tree.  Does nothing when DEST_DIR
# already holds exactly that lock file's packages.  Fails (no skip) when npm
# is missing or the install fails: CI installs nodejs with scripts/deps.sh.
set -euo pipefail
src=$1
dest=$2

if ! command -v npm >/dev/null 2>&1; then
    echo "npm_install.sh: npm is not installed (scripts/deps.sh installs nodejs and npm)" >&2
    exit 1
fi
mkdir -p "$dest"
want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$want" ] &&
    [ -d "$dest/node_modules/puppeteer-core" ] && [ -d "$dest/node_modules/axe-core" ]; then
    exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
rm -f "$dest/.installed"
# --ignore-scripts: puppeteer-core downloads nothing; the test uses Debian's chromium.
(cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$want" >"$dest/.installed"
