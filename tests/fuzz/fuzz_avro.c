/*
 * fuzz_avro.c - libFuzzer harness of the Avro parser and the compatibility
 * checker, through the public API of chan/avro.h only.
 *
 * An input holds two schemas separated by SEPARATOR (a raw newline cannot
 * occur inside a JSON string, so JSON never contains it); without the
 * separator the whole input is one schema.  Every schema that parses must
 *
 *   - have a stable canonical form: parsing chan_avro_schema_canonical(x)
 *     succeeds and gives the same canonical form and fingerprint (unless a
 *     type of the null namespace is defined inside a namespace, which the
 *     specification's form cannot tell);
 *   - have a stable normalized form: parsing chan_avro_schema_normalized(x)
 *     gives the same normalized form and the same canonical form;
 *   - be compatible with itself: chan_avro_can_read(x, x), every mode of
 *     chan_avro_check_mode with x as the only earlier version, and the
 *     field-removal rule (chan_avro_check_removals(x, x)); the one issue
 *     allowed is AMBIGUOUS_FIELD_ALIAS (a field's alias names another field
 *     of its record, which Avro Java refuses to resolve, even against the
 *     same schema: docs/compatibility.md);
 *
 * and when both parse, every check between the two runs (in both
 * directions, every mode, with both as earlier versions) without a crash.
 * A broken property aborts, so that libFuzzer keeps the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/avro.h"

#define SEPARATOR "\n----\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const chan_compat_mode modes[] = {
    CHAN_COMPAT_NONE,
    CHAN_COMPAT_BACKWARD,
    CHAN_COMPAT_BACKWARD_TRANSITIVE,
    CHAN_COMPAT_FORWARD,
    CHAN_COMPAT_FORWARD_TRANSITIVE,
    CHAN_COMPAT_FULL,
    CHAN_COMPAT_FULL_TRANSITIVE,
};

static void fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_avro: %s\n  first:  %s\n  second: %s\n", what, a ? a : "(null)",
            b ? b : "(null)");
    abort();
}

/* Parse text that the library produced itself; it must be valid. */
static chan_avro_schema *reparse(const char *text, const char *what)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_avro_schema_parse(&s, text, strlen(text), &err) != 0)
        fail(what, text, err.message);
    return s;
}

static void check_report(const chan_compat_report *report)
{
    size_t i;

    for (i = 0; i < chan_compat_report_count(report); i++) {
        const chan_compat_issue *is = chan_compat_report_get(report, i);

        if (is->kind == NULL || is->message == NULL || is->location == NULL)
            fail("a compatibility issue without kind, message or location", is->kind, is->message);
    }
}

/* True when every issue of report is AMBIGUOUS_FIELD_ALIAS (and there is one). */
static bool only_ambiguous_aliases(const chan_compat_report *report)
{
    size_t i, n = chan_compat_report_count(report);

    for (i = 0; i < n; i++)
        if (strcmp(chan_compat_report_get(report, i)->kind, "AMBIGUOUS_FIELD_ALIAS") != 0)
            return false;
    return n > 0;
}

static void check_one(const chan_avro_schema *s)
{
    const char *canon = chan_avro_schema_canonical(s), *norm = chan_avro_schema_normalized(s);
    /* The specification's canonical form names a type of the null namespace
     * defined inside a namespace by its simple name, which reads back in
     * that namespace (Avro Java's form is the same); the normalized text
     * writes such a type with "namespace":"". */
    bool canon_ambiguous = strstr(norm, "\"namespace\":\"\"") != NULL;
    chan_avro_schema *c =
        canon_ambiguous ? NULL : reparse(canon, "the canonical form does not parse");
    chan_avro_schema *n = reparse(norm, "the normalized form does not parse");
    const chan_avro_schema *previous[1] = {s};
    chan_compat_report *report;
    size_t i;

    if (c && strcmp(chan_avro_schema_canonical(c), canon) != 0)
        fail("canonical form not stable", canon, chan_avro_schema_canonical(c));
    if (c && chan_avro_schema_fingerprint(c) != chan_avro_schema_fingerprint(s))
        fail("fingerprint of the canonical form differs", canon, NULL);
    if (strcmp(chan_avro_schema_normalized(n), norm) != 0)
        fail("normalized form not stable", norm, chan_avro_schema_normalized(n));
    if (strcmp(chan_avro_schema_canonical(n), canon) != 0)
        fail("the normalized form has another canonical form", canon,
             chan_avro_schema_canonical(n));

    report = chan_compat_report_new();
    if (!chan_avro_can_read(s, s, report) && !only_ambiguous_aliases(report)) {
        check_report(report);
        fail("a schema cannot read its own data", norm,
             chan_compat_report_count(report) ? chan_compat_report_get(report, 0)->message : "");
    }
    chan_compat_report_free(report);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        report = chan_compat_report_new();
        if (chan_avro_check_mode(modes[i], s, previous, 1, report) != 0 &&
            !only_ambiguous_aliases(report))
            fail("a schema is not compatible with itself under a mode",
                 chan_compat_mode_name(modes[i]), norm);
        chan_compat_report_free(report);
    }
    report = chan_compat_report_new();
    if (!chan_avro_check_removals(s, s, report))
        fail("the removal rule refuses a schema against itself", norm, NULL);
    chan_compat_report_free(report);
    (void)chan_avro_schema_name(s);
    chan_avro_schema_free(c);
    chan_avro_schema_free(n);
}

static void check_pair(const chan_avro_schema *a, const chan_avro_schema *b)
{
    const chan_avro_schema *previous[2] = {b, a};
    chan_compat_report *report;
    size_t i;

    report = chan_compat_report_new();
    (void)chan_avro_can_read(a, b, report);
    (void)chan_avro_can_read(b, a, report);
    (void)chan_avro_check_removals(a, b, report);
    (void)chan_avro_check_removals(b, a, report);
    check_report(report);
    chan_compat_report_free(report);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        report = chan_compat_report_new();
        (void)chan_avro_check_mode(modes[i], a, previous, 2, report);
        check_report(report);
        chan_compat_report_free(report);
    }
}

/* The first occurrence of SEPARATOR in data, or NULL. */
static const uint8_t *find_separator(const uint8_t *data, size_t size)
{
    size_t n = sizeof(SEPARATOR) - 1, i;

    for (i = 0; i + n <= size; i++)
        if (memcmp(data + i, SEPARATOR, n) == 0)
            return data + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = find_separator(data, size);
    size_t len_a = sep ? (size_t)(sep - data) : size;
    chan_avro_schema *a = NULL, *b = NULL;

    if (chan_avro_schema_parse(&a, (const char *)data, len_a, NULL) == 0)
        check_one(a);
    if (sep != NULL) {
        const uint8_t *rest = sep + sizeof(SEPARATOR) - 1;

        if (chan_avro_schema_parse(&b, (const char *)rest, size - (size_t)(rest - data), NULL) == 0)
            check_one(b);
    }
    if (a != NULL && b != NULL)
        check_pair(a, b);
    chan_avro_schema_free(a);
    chan_avro_schema_free(b);
    return 0;
}
