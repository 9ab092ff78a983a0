#!/usr/bin/env bash
# Static checks on the project's C sources:
#  - banned functions (unbounded string functions, unchecked number parsing),
#  - formatting against .clang-format,
#  - cppcheck (warnings, portability, performance),
#  - clang-tidy with the checks of .clang-tidy.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
mapfile -t files < <(git ls-files '*.c' '*.h' '*.h.in' 2>/dev/null | grep -v '\.h\.in$' || true)
if [ "${#files[@]}" -eq 0 ]; then
    mapfile -t files < <(find registry cli tests bench -name '*.[ch]')
fi

if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atof)\s*\(' "${files[@]}"; then
    echo "lint: banned function used (use snprintf, chan_buf, chan_parse_int64)" >&2
    status=1
fi

if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/chanreg-clang-format.$$; then
        head -40 /tmp/chanreg-clang-format.$$ >&2
        echo "lint: files not formatted; run: clang-format -i <file>" >&2
        status=1
    fi
    rm -f /tmp/chanreg-clang-format.$$
else
    echo "lint: clang-format not installed, formatting not checked" >&2
fi

if command -v cppcheck >/dev/null 2>&1; then
    if ! cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
        --inline-suppr --suppress=missingIncludeSystem --std=c11 \
        -I registry/include -I cli "${files[@]}"; then
        echo "lint: cppcheck found problems" >&2
        status=1
    fi
else
    echo "lint: cppcheck not installed, not run" >&2
fi

if command -v clang-tidy >/dev/null 2>&1; then
    # clang-tidy needs the compile commands of a configured (not built) tree.
    cmake -S . -B build-lint -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
    mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep -E '^(registry|cli)/.*\.c$')
    # clang-tidy exits non-zero on errors too: judge by what it prints.
    tidy_out=$(printf '%s\n' "${sources[@]}" |
        xargs -P "$(nproc 2>/dev/null || echo 2)" -n 4 clang-tidy -p build-lint --quiet \
            2>/dev/null || true)
    if printf '%s\n' "$tidy_out" | grep -E -A3 '(warning|error):'; then
        echo "lint: clang-tidy found problems" >&2
        status=1
    fi
else
    echo "lint: clang-tidy not installed, not run" >&2
fi

if [ "$status" -eq 0 ]; then
    echo "lint: ok (${#files[@]} files)"
fi
exit $status
