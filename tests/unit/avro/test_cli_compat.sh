#!/bin/sh
# test_cli_compat.sh - exit codes and output of `chanctl compat`.
#
# Usage: test_cli_compat.sh CHANCTL FIXTURE_DIR
#
# Every fixture case must exit 0 when its expect file lists no issue and 1
# otherwise; invalid schemas and bad usage must exit 2 with a message that
# names the file and the JSON pointer.
set -u
chanctl=$1
fixtures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

check() { # check WANT_RC DESCRIPTION -- COMMAND...
    want=$1 desc=$2
    shift 3
    count=$((count + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $desc: exit $got, want $want" >&2
        sed 's/^/  | /' "$tmp/out" "$tmp/err" >&2
        failures=$((failures + 1))
    fi
}

expect_in() { # expect_in FILE TEXT DESCRIPTION
    if ! grep -qF -- "$2" "$tmp/$1"; then
        echo "FAIL: $3: \"$2\" not in std$1" >&2
        sed 's/^/  | /' "$tmp/$1" >&2
        failures=$((failures + 1))
    fi
}

# Pure Avro/Confluent semantics by default: only the compatibility issues
# count; with --require-deprecation the removal rule's too.
for case_dir in "$fixtures"/*/; do
    name=$(basename "$case_dir")
    mode=$(sed -n 's/^mode //p' "$case_dir/expect")
    if grep -qE '^issue ' "$case_dir/expect"; then want=1; else want=0; fi
    check "$want" "fixture $name" -- "$chanctl" compat --mode "${mode:-BACKWARD}" \
        "$case_dir/new.avsc" "$case_dir/old.avsc"
    if grep -qE '^(issue|removal) ' "$case_dir/expect"; then want=1; else want=0; fi
    check "$want" "fixture $name --require-deprecation" -- "$chanctl" compat \
        --require-deprecation --mode "${mode:-BACKWARD}" "$case_dir/new.avsc" "$case_dir/old.avsc"
done

f=$fixtures/add-field-without-default
check 1 "text output names kind and pointer" -- "$chanctl" compat "$f/new.avsc" "$f/old.avsc"
expect_in out "READER_FIELD_MISSING_DEFAULT_VALUE: /fields/1 (amount): reader field has no default" "text"
check 1 "json output" -- "$chanctl" compat --format json "$f/new.avsc" "$f/old.avsc"
expect_in out '"compatible": false' "json"
expect_in out '"location": "/fields/1"' "json"
check 0 "NONE mode" -- "$chanctl" compat --mode none "$f/new.avsc" "$f/old.avsc"
check 0 "compatible json" -- "$chanctl" compat -f json "$f/old.avsc" "$f/old.avsc"
expect_in out '"compatible": true' "json compatible"

# The removal rule is contract governance: off by default, added by
# --require-deprecation, never under NONE (chan_policy_removal_rule_applies).
r=$fixtures/remove-field-not-deprecated
check 0 "removal is Avro-compatible" -- "$chanctl" compat --mode FULL "$r/new.avsc" "$r/old.avsc"
check 0 "removal under default BACKWARD" -- "$chanctl" compat "$r/new.avsc" "$r/old.avsc"
check 1 "--require-deprecation" -- "$chanctl" compat --mode FULL --require-deprecation "$r/new.avsc" "$r/old.avsc"
expect_in out "FIELD_REMOVED_NOT_DEPRECATED" "removal rule"
expect_in out "removal rule: FIELD_REMOVED_NOT_DEPRECATED" "removal rule text"
check 0 "NONE checks nothing, even with --require-deprecation" -- "$chanctl" compat --mode NONE --require-deprecation "$r/new.avsc" "$r/old.avsc"
check 0 "--no-removal-rule" -- "$chanctl" compat --mode FULL --no-removal-rule "$r/new.avsc" "$r/old.avsc"
check 2 "contradicting flags" -- "$chanctl" compat --require-deprecation --no-removal-rule "$r/new.avsc" "$r/old.avsc"

# Transitive modes check every earlier version, newest first.
printf '%s' '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}' >"$tmp/v1.avsc"
printf '%s' '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0},{"name":"b","type":"int","default":0}]}' >"$tmp/v2.avsc"
printf '%s' '{"type":"record","name":"R","fields":[{"name":"b","type":"int","default":0}]}' >"$tmp/v3.avsc"
check 0 "FORWARD uses the latest only" -- "$chanctl" compat --no-removal-rule --mode FORWARD "$tmp/v3.avsc" "$tmp/v2.avsc" "$tmp/v1.avsc"
check 1 "FORWARD_TRANSITIVE reaches v1" -- "$chanctl" compat --no-removal-rule --mode FORWARD_TRANSITIVE "$tmp/v3.avsc" "$tmp/v2.avsc" "$tmp/v1.avsc"
expect_in out "v1.avsc, old reads new: READER_FIELD_MISSING_DEFAULT_VALUE" "transitive"

# Invalid schemas: exit 2, "file: /pointer: message".
printf '%s' '{"type":"record","name":"R","fields":[{"name":"a","type":"strng"}]}' >"$tmp/bad.avsc"
check 2 "invalid schema" -- "$chanctl" compat "$tmp/bad.avsc" "$tmp/v1.avsc"
expect_in err "bad.avsc: /fields/0/type: unknown type \"strng\"" "invalid schema message"
printf '{"type":' >"$tmp/trunc.avsc"
check 2 "bad JSON" -- "$chanctl" compat "$tmp/v1.avsc" "$tmp/trunc.avsc"
expect_in err "trunc.avsc: not JSON (syntax error at line 1" "bad JSON message"
printf '\377\376\000{\200"\001' >"$tmp/garbage.avsc"
check 2 "binary garbage" -- "$chanctl" compat "$tmp/garbage.avsc" "$tmp/v1.avsc"
check 2 "missing file" -- "$chanctl" compat "$tmp/nope.avsc" "$tmp/v1.avsc"
# A file that is no schema is never quoted (it may be a secret).
printf 'root:x:0:0:s3cr3t-token\n' >"$tmp/passwd.avsc"
check 2 "not JSON" -- "$chanctl" compat "$tmp/passwd.avsc" "$tmp/v1.avsc"
expect_in err "passwd.avsc: not JSON (syntax error at line 1, column" "not JSON message"
if grep -q 's3cr3t\|root' "$tmp/err"; then
    echo "FAIL: the content of a non-schema file was printed" >&2
    failures=$((failures + 1))
fi
printf '{"password": "s3cr3t-token"}' >"$tmp/creds.avsc"
check 2 "JSON, not a schema" -- "$chanctl" compat "$tmp/creds.avsc" "$tmp/v1.avsc"
expect_in err "creds.avsc: JSON, but not an Avro schema" "JSON, not a schema message"
if grep -q 's3cr3t' "$tmp/err"; then
    echo "FAIL: the content of a JSON non-schema file was printed" >&2
    failures=$((failures + 1))
fi
# Not a regular file: refused without blocking (a FIFO with no writer).
mkfifo "$tmp/fifo.avsc"
check 2 "FIFO" -- timeout 20 "$chanctl" compat "$tmp/fifo.avsc" "$tmp/v1.avsc"
expect_in err "fifo.avsc is a FIFO, not a regular file" "FIFO message"
check 2 "device" -- timeout 20 "$chanctl" compat /dev/zero "$tmp/v1.avsc"
expect_in err "/dev/zero is a device, not a regular file" "device message"

# Usage errors.
check 2 "one file" -- "$chanctl" compat "$tmp/v1.avsc"
check 2 "unknown mode" -- "$chanctl" compat --mode SIDEWAYS "$tmp/v1.avsc" "$tmp/v1.avsc"
expect_in err 'unknown compatibility mode "SIDEWAYS"' "unknown mode message"
check 2 "unknown format" -- "$chanctl" compat --format xml "$tmp/v1.avsc" "$tmp/v1.avsc"
check 2 "unknown option" -- "$chanctl" compat --frobnicate "$tmp/v1.avsc" "$tmp/v1.avsc"
check 2 "missing option value" -- "$chanctl" compat "$tmp/v1.avsc" "$tmp/v1.avsc" --mode
check 0 "--help" -- "$chanctl" compat --help
expect_in out "Usage: chanctl compat" "help"

echo "$count checks, $failures failed"
[ "$failures" -eq 0 ]
