#!/usr/bin/env bash
# Style checks: banned functions in project C sources.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find registry cli tests bench -name '*.[ch]')
# Banned: unbounded string functions and unchecked number parsing.
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atof)\s*\(' $files; then
    echo "lint: banned function used (use snprintf, chan_buf, chan_parse_int64)" >&2
    status=1
fi
exit $status
