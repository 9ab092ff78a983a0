/*
 * test_cgate_alloc.c - the tree gate's Avro C schemas live in an arena
 * (cgate_alloc.c) and are dropped with it, not taken apart by Avro C:
 *
 *  - the references the gate takes on Avro C's primitive schemas (process-
 *    wide singletons) are all given back, whether the gate accepts, refuses
 *    or leaves the verdict to the text gate, on one thread or several;
 *  - Avro C used outside a gate, on the same thread or on another one
 *    while gates run, allocates as before: its schemas stay whole across
 *    gates (under ASan a schema put in a gate's arena would be reported when
 *    the arena is released and the schema read afterwards);
 *  - refusals on several threads at once quote their own messages.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <avro.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "cgate_tree.h"

#define N_PRIMITIVES 8

/* Schemas the parser accepts; the tree gate's verdict on each. */
static const struct {
    const char *json;
    int verdict; /* 0, -1 (Avro C refuses), CHAN_AVRO_CGATE_UNDECIDED */
} cases[] = {
    {"\"int\"", 0},
    {"{\"type\":\"record\",\"name\":\"P\",\"fields\":["
     "{\"name\":\"a\",\"type\":\"null\"},{\"name\":\"b\",\"type\":\"boolean\"},"
     "{\"name\":\"c\",\"type\":\"int\"},{\"name\":\"d\",\"type\":\"long\"},"
     "{\"name\":\"e\",\"type\":\"float\"},{\"name\":\"f\",\"type\":\"double\"},"
     "{\"name\":\"g\",\"type\":\"bytes\"},{\"name\":\"h\",\"type\":\"string\"},"
     "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"j\",\"type\":\"string\"}]}",
     0},
    {"{\"type\":\"record\",\"name\":\"C\",\"namespace\":\"n\",\"fields\":["
     "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
     "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"double\",\"bytes\"]}},"
     "{\"name\":\"u\",\"type\":[\"null\",\"string\",{\"type\":\"enum\",\"name\":\"E\","
     "\"symbols\":[\"X\",\"Y\"]},{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}]},"
     "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
     "{\"name\":\"x\",\"type\":\"boolean\"},{\"name\":\"self\",\"type\":[\"null\",\"In\"]},"
     "{\"name\":\"e\",\"type\":\"E\"}]}},"
     "{\"name\":\"empty\",\"type\":{\"type\":\"array\",\"items\":[]}}]}",
     0},
    /* refused by Avro C after part of the schema was built */
    {"{\"type\":\"record\",\"name\":\"R\",\"fields\":["
     "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"s\",\"type\":[\"null\",\"string\"]},"
     "{\"name\":\"f\",\"type\":{\"type\":\"record\",\"name\":\"record\",\"fields\":[]}},"
     "{\"name\":\"g\",\"type\":\"record\"}]}",
     -1},
    /* left to the text gate: a type named enum used by its simple name */
    {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":["
     "{\"name\":\"l\",\"type\":\"long\"},"
     "{\"name\":\"f\",\"type\":{\"type\":\"enum\",\"name\":\"enum\",\"symbols\":[\"A\"]}},"
     "{\"name\":\"g\",\"type\":\"enum\"}]}",
     CHAN_AVRO_CGATE_UNDECIDED},
    /* the same with another of Avro C's keywords (another message) */
    {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":["
     "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"map\",\"size\":2}},"
     "{\"name\":\"g\",\"type\":\"map\"}]}",
     CHAN_AVRO_CGATE_UNDECIDED},
};

static void refcounts(int out[N_PRIMITIVES])
{
    avro_schema_t p[N_PRIMITIVES] = {
        avro_schema_null(),  avro_schema_boolean(), avro_schema_int(),   avro_schema_long(),
        avro_schema_float(), avro_schema_double(),  avro_schema_bytes(), avro_schema_string(),
    };
    int i;

    for (i = 0; i < N_PRIMITIVES; i++) {
        out[i] = p[i]->refcount - 1; /* without the reference just taken */
        avro_schema_decref(p[i]);
    }
}

/* The message of each case's refusal, as one thread alone gets it. */
static char alone[sizeof(cases) / sizeof(cases[0])][sizeof(((chan_error *)0)->message)];

/*
 * Parse each case (the gates run: new texts) and gate it again directly;
 * refusals quote their own message, whatever other threads refuse meanwhile
 * (Avro C 1.11 keeps its last message in one static buffer: the gates hold
 * a lock while they use it).
 */
static void gate_all(int rounds)
{
    int r;
    size_t i;

    for (r = 0; r < rounds; r++)
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            chan_avro_schema *s = NULL;
            chan_error err = CHAN_ERROR_INIT;
            char msg[256];
            int rc;

            rc = chan_avro_schema_parse_opts(&s, cases[i].json, strlen(cases[i].json), NULL,
                                             CHAN_AVRO_PARSE_STORED, &err);

            assert_int_equal(rc, 0);
            assert_int_equal(chan_avro__cgate_tree(s, msg, sizeof(msg)), cases[i].verdict);
            chan_avro_schema_free(s);
            s = NULL;
            rc = chan_avro_schema_parse(&s, cases[i].json, strlen(cases[i].json), &err);
            if (cases[i].verdict == 0) {
                assert_int_equal(rc, 0);
            } else {
                assert_int_not_equal(rc, 0);
                assert_non_null(strstr(err.message, "rejected by Avro C"));
                if (alone[i][0] == '\0')
                    snprintf(alone[i], sizeof(alone[i]), "%s", err.message);
                else
                    assert_string_equal(err.message, alone[i]);
            }
            chan_avro_schema_free(s);
        }
}

static void test_primitive_references_balanced(void **state)
{
    int before[N_PRIMITIVES], after[N_PRIMITIVES], i;

    (void)state;
    refcounts(before);
    gate_all(50);
    refcounts(after);
    for (i = 0; i < N_PRIMITIVES; i++)
        assert_int_equal(after[i], before[i]);
}

/*
 * A thread's share: each case parsed as a new text `rounds` times, starting
 * at case `first`; `wrong` counts the outcomes that differ from what one
 * thread alone got (verdict, or a refusal's message).  No cmocka assertion
 * here: they cannot fail from another thread.
 */
typedef struct share {
    size_t first;
    int rounds;
    size_t wrong;
} share;

static void *gate_thread(void *arg)
{
    share *sh = arg;
    size_t n = sizeof(cases) / sizeof(cases[0]), k;
    int r;

    for (r = 0; r < sh->rounds; r++)
        for (k = 0; k < n; k++) {
            size_t i = (sh->first + k) % n;
            chan_avro_schema *s = NULL;
            chan_error err = CHAN_ERROR_INIT;
            int rc = chan_avro_schema_parse(&s, cases[i].json, strlen(cases[i].json), &err);

            if ((rc == 0) != (cases[i].verdict == 0) ||
                (rc != 0 && strcmp(err.message, alone[i]) != 0))
                sh->wrong++;
            chan_avro_schema_free(s);
        }
    return NULL;
}

static const char outside_json[] =
    "{\"type\":\"record\",\"name\":\"Outside\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"tags\",\"type\":{\"type\":\"array\","
    "\"items\":\"string\"}},{\"name\":\"note\",\"type\":[\"null\",\"string\"]}]}";

/* An Avro C schema made outside any gate is whole: three fields, as written. */
static void check_outside(avro_schema_t s)
{
    assert_int_equal(avro_schema_record_size(s), 3);
    assert_string_equal(avro_schema_record_field_name(s, 0), "id");
    assert_string_equal(avro_schema_record_field_name(s, 1), "tags");
    assert_string_equal(avro_schema_record_field_name(s, 2), "note");
    assert_int_equal(avro_schema_record_field_get_index(s, "note"), 2);
    assert_true(is_avro_array(avro_schema_record_field_get(s, "tags")));
}

static void test_avro_c_outside_gates(void **state)
{
    avro_schema_t made_before = NULL, made_between = NULL;
    pthread_t t[2];
    share shares[2];
    int before[N_PRIMITIVES], after[N_PRIMITIVES], i, k;

    (void)state;
    refcounts(before);
    assert_int_equal(avro_schema_from_json_length(outside_json, strlen(outside_json), &made_before),
                     0);
    gate_all(3);
    check_outside(made_before);
    for (i = 0; i < 2; i++) {
        shares[i].first = (size_t)i * 3; /* refusing different cases at once */
        shares[i].rounds = 300;
        shares[i].wrong = 0;
        assert_int_equal(pthread_create(&t[i], NULL, gate_thread, &shares[i]), 0);
    }
    /* this thread uses Avro C outside a gate while the others gate */
    for (k = 0; k < 200; k++) {
        assert_int_equal(
            avro_schema_from_json_length(outside_json, strlen(outside_json), &made_between), 0);
        check_outside(made_between);
        avro_schema_decref(made_between);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(shares[i].wrong, 0);
    }
    check_outside(made_before);
    avro_schema_decref(made_before);
    refcounts(after);
    for (i = 0; i < N_PRIMITIVES; i++)
        assert_int_equal(after[i], before[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitive_references_balanced),
        cmocka_unit_test(test_avro_c_outside_gates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
