#!/usr/bin/env bash
# validate_cli.sh - end-to-end checks of `chanctl validate`: exit codes and
# the four output formats, on the example contracts and the fixtures.
#
# Usage: validate_cli.sh CHANCTL SOURCE_DIR
set -euo pipefail

chanctl=$1
src=$2
fx=tests/fixtures/contracts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run EXPECTED_RC ARGS... : run chanctl, keep stdout/stderr, check the exit code.
run() {
    local expected=$1 rc=0
    shift
    "$chanctl" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != "$expected" ]; then
        cat "$tmp/out" "$tmp/err" >&2
        fail "chanctl $* exited $rc, expected $expected"
    fi
}

expect_out() {
    grep -qE -- "$1" "$tmp/out" || { cat "$tmp/out" >&2; fail "stdout lacks /$1/"; }
}

expect_err() {
    grep -qE -- "$1" "$tmp/err" || { cat "$tmp/err" >&2; fail "stderr lacks /$1/"; }
}

# The example contracts: valid, default path is contracts/.  (Warnings are
# not asserted away: the deprecation dates of the examples pass one day.)
run 0 validate
expect_out '^4 contracts checked: 4 valid, 0 invalid; 0 errors, [0-9]+ warnings?$'
run 0 validate contracts/orders.order-created.yaml "$fx/good"
expect_out '^4 contracts checked: 4 valid'
run 0 validate --quiet contracts/orders.order-created.yaml
[ ! -s "$tmp/out" ] || fail "--quiet printed output for a valid contract"

# Text: location, rule, source line, caret, hint, summary.
run 1 validate "$fx/bad/many-errors.yaml"
expect_out "^$fx/bad/many-errors.yaml:16:5: error: unknown field \"grup\" in consumers\\[0\\] \\[unknown-field\\]$"
expect_out '^    16 \|     grup: reader.fx$'
expect_out '^       \|     \^$'
expect_out '^hint: did you mean "group"\?$'
expect_out "^$fx/bad/many-errors.yaml:6:11: error: .* \\[wrong-type\\]$"
expect_out "^$fx/bad/many-errors.yaml:8:19: error: .* \\[invalid-date\\]$"
expect_out '^1 contract checked: 0 valid, 1 invalid; 1[0-9] errors, 0 warnings$'

run 1 validate "$fx/bad/syntax.yaml"
expect_out "^$fx/bad/syntax.yaml:5:13: error: did not find expected ',' or ']'.*\\[yaml-syntax\\]$"

# Cross-file: duplicate channel.
run 1 validate "$fx/bad/dup-channel-a.yaml" "$fx/bad/dup-channel-b.yaml"
expect_out "^$fx/bad/dup-channel-b.yaml:2:10: error: channel \"fx.dup\" is also defined in $fx/bad/dup-channel-a.yaml:2:10 \\[duplicate-channel\\]$"

# Warnings pass unless --strict.
sed 's/^retention_hours: 24$/retention_hours: 24\ndeprecation_date: 2001-01-01/' \
    "$fx/good/ok.yaml" >"$tmp/old.yaml"
run 0 validate --schemas "$fx/schemas" "$tmp/old.yaml"
expect_out "^$tmp/old.yaml:8:19: warning: channel fx.ok is deprecated since 2001-01-01 \\[deprecated\\]$"
expect_out '1 warning$'
run 1 validate --strict --schemas "$fx/schemas" "$tmp/old.yaml"

# The policy floor (--min-compatibility, default BACKWARD): below it without
# a waiver fails; with schema.waiver.reason it warns (an admin must approve).
sed 's/^  compatibility: BACKWARD_TRANSITIVE$/  compatibility: NONE/' \
    "$fx/good/ok.yaml" >"$tmp/none.yaml"
run 1 validate --schemas "$fx/schemas" "$tmp/none.yaml"
expect_out "^$tmp/none.yaml:10:18: error: compatibility NONE is below the floor BACKWARD; raise it or add schema.waiver.reason \\(an admin must approve it\\) \\[compatibility-floor\\]$"
expect_out '^1 contract checked: 0 valid, 1 invalid; 1 error, 0 warnings$'
run 0 validate --min-compatibility none --schemas "$fx/schemas" "$tmp/none.yaml"
sed 's/^  compatibility: BACKWARD_TRANSITIVE$/  compatibility: FORWARD\n  waiver:\n    reason: Consumers are upgraded before producers on this channel./' \
    "$fx/good/ok.yaml" >"$tmp/waived.yaml"
run 0 validate --schemas "$fx/schemas" "$tmp/waived.yaml"
expect_out "^$tmp/waived.yaml:10:18: warning: compatibility FORWARD is below the floor BACKWARD under a waiver: it needs an admin's approval once registered \\[compatibility-floor\\]$"
expect_out '^hint: an admin approves it with POST /v1/channels/fx.ok/waiver/approve$'
run 1 validate --strict --schemas "$fx/schemas" "$tmp/waived.yaml"
run 1 validate --min-compatibility FULL --schemas "$fx/schemas" "$fx/good/ok.yaml"
expect_out 'compatibility BACKWARD_TRANSITIVE is below the floor FULL'
run 2 validate --min-compatibility SOMETIMES contracts
expect_err '--min-compatibility: unknown level "SOMETIMES"'

# JSON.
run 1 validate --format json "$fx/bad/removed-field.yaml" "$fx/good/ok.yaml"
/usr/bin/python3 - "$tmp/out" "$fx" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
fx = sys.argv[2]
assert doc["valid"] is False, doc
assert doc["errors"] == 1 and doc["warnings"] == 0, doc
assert [c["valid"] for c in doc["contracts"]] == [False, True], doc["contracts"]
d = doc["diagnostics"][0]
assert d["file"] == fx + "/bad/removed-field.yaml", d
assert (d["line"], d["column"], d["rule"], d["severity"]) == (11, 14, "field-removed", "error"), d
assert d["path"] == "schema.versions[0]", d
PY
run 0 validate -f json contracts
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] and d["errors"] == 0 and len(d["contracts"]) == 4' "$tmp/out"

# JUnit: one testcase per file, failures counted.
run 1 validate --format=junit "$fx/bad/incompatible.yaml" "$fx/good/ok.yaml"
/usr/bin/python3 - "$tmp/out" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
cases = root.findall("./testsuite/testcase")
assert len(cases) == 2
assert cases[0].find("failure") is not None and "[incompatible]" in cases[0].find("failure").text
assert cases[1].find("failure") is None
PY

# GitHub annotations.
run 1 validate --format github "$fx/bad/bad-avro.yaml"
expect_out "^::error file=$fx/bad/bad-avro.yaml,line=11,col=14,title=avro-invalid::.*unknown type"

# Garbage: binary and huge files are errors, not crashes.
head -c 4096 /dev/urandom >"$tmp/binary.yaml"
run 1 validate "$tmp/binary.yaml"
expect_out 'error: .*\[(yaml-syntax|document|too-complex)\]'
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$tmp/huge.yaml"
run 1 validate "$tmp/huge.yaml"
expect_out '\[too-large\]'

# Usage errors: exit 2 with a hint on stderr.
run 2 validate --no-such-option
expect_err 'unknown option --no-such-option'
expect_err 'Try "chanctl validate --help"'
run 2 validate does/not/exist.yaml
expect_err 'cannot access does/not/exist.yaml'
run 2 validate --format xml contracts
expect_err 'unknown format "xml"'
run 2 validate --format
expect_err 'needs a value'
run 0 validate --help
expect_out '^Usage: chanctl validate'
expect_out '--strict'

echo "validate_cli: all checks passed"
