#!/usr/bin/env bash
# replay.sh - the ctest side of the fuzz harnesses: write the seed corpora
# (make_corpus.py) into a temporary directory, then replay the corpus of one
# harness and its saved regressions (tests/fuzz/regressions/<name>/) once
# with the harness built on replay_main.c.
#
# Usage: replay.sh PYTHON REPLAY_BINARY NAME SOURCE_DIR
set -euo pipefail

python=$1 binary=$2 name=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" "$src/tests/fuzz/make_corpus.py" "$src" "$tmp/corpus"
inputs=("$tmp/corpus/$name")
[ -d "$src/tests/fuzz/regressions/$name" ] && inputs+=("$src/tests/fuzz/regressions/$name")
"$binary" "${inputs[@]}"
