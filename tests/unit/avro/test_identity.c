/*
 * test_identity.c - the texts the registry keeps for a schema: Confluent's
 * text (Avro Java's Schema.toString() layout, cases taken from the Confluent
 * Schema Registry's own tests), the identity that decides "same schema",
 * Confluent's normalize, and schemas with references; the texts are made on
 * first use, also when several threads ask at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/avro.h"
#include "chan/common.h"

static chan_avro_schema *parse_refs(const char *json, const chan_avro_parse_refs *refs)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int rc = chan_avro_schema_parse_refs(&s, json, strlen(json), refs, &err);

    if (rc != 0)
        print_error("unexpected parse error for %s: %s\n", json, err.message);
    assert_int_equal(rc, 0);
    return s;
}

static chan_avro_schema *parse(const char *json)
{
    return parse_refs(json, NULL);
}

/* The text of json, and that parsing the text again gives the same text and identity. */
static void expect_text(const char *json, const char *want)
{
    chan_avro_schema *s = parse(json), *again;

    if (strcmp(chan_avro_schema_normalized(s), want) != 0)
        print_error("text of %s\n  got  %s\n  want %s\n", json, chan_avro_schema_normalized(s),
                    want);
    assert_string_equal(chan_avro_schema_normalized(s), want);
    again = parse(chan_avro_schema_normalized(s));
    assert_string_equal(chan_avro_schema_normalized(again), want);
    assert_string_equal(chan_avro_schema_identity(again), chan_avro_schema_identity(s));
    chan_avro_schema_free(again);
    chan_avro_schema_free(s);
}

static void test_confluent_text(void **state)
{
    (void)state;
    /* AvroSchemaTest.testNormalization (Confluent): the text of a schema. */
    expect_text("{\"type\":\"record\",\"name\":\"myrecord\",\"doc\":\"hi\\\"there\",\"fields\":"
                "[{\"type\":\"string\",\"name\":\"f1\",\"doc\":\"bye\\\"now\"}]}",
                "{\"type\":\"record\",\"name\":\"myrecord\",\"doc\":\"hi\\\"there\",\"fields\":"
                "[{\"name\":\"f1\",\"type\":\"string\",\"doc\":\"bye\\\"now\"}]}");
    /* AvroSchemaTest.testNormalizationPreservesMetadataForPrimitiveTypes. */
    expect_text(
        "{\"connect.name\": \"some.scope.Envelope\",\"fields\": [{\"default\": null,\"name\": "
        "\"before\",\"type\": [\"null\",{\"connect.name\": \"some.scope.Value\",\"fields\": "
        "[{\"name\": \"created_at\",\"type\": {\"connect.name\": \"io.debezium.time.Timestamp\","
        "\"connect.version\": 1,\"type\": \"long\"}},{\"name\":\"normal_long\",\"type\":\"long\"}],"
        "\"name\": \"Value\",\"type\": \"record\"}]},{\"default\": null,\"name\": \"after\","
        "\"type\": [\"null\",\"Value\"]}],\"name\": \"Envelope\",\"namespace\": \"some.scope\","
        "\"type\": \"record\"}",
        "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\"some.scope\",\"fields\":["
        "{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Value\","
        "\"fields\":[{\"name\":\"created_at\",\"type\":{\"type\":\"long\",\"connect.name\":"
        "\"io.debezium.time.Timestamp\",\"connect.version\":1}},{\"name\":\"normal_long\","
        "\"type\":\"long\"}],\"connect.name\":\"some.scope.Value\"}],\"default\":null},"
        "{\"name\":\"after\",\"type\":[\"null\",\"Value\"],\"default\":null}],"
        "\"connect.name\":\"some.scope.Envelope\"}");
    /* Primitives, attribute order, what restates a default. */
    expect_text("{\"type\":\"string\"}", "\"string\"");
    expect_text(" [ \"null\" , {\"type\":\"int\"} ] ", "[\"null\",\"int\"]");
    expect_text("{\"type\":\"string\",\"doc\":\"dropped\",\"avro.java.string\":\"String\"}",
                "{\"type\":\"string\",\"avro.java.string\":\"String\"}");
    expect_text(
        "{\"name\":\"a.b.R\",\"type\":\"record\",\"aliases\":[],\"fields\":[{\"order\":"
        "\"ascending\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"namespace\":\"a.b\","
        "\"symbols\":[\"X\",\"Y\"],\"default\":\"X\"},\"name\":\"e\"},{\"name\":\"f\","
        "\"type\":{\"type\":\"fixed\",\"size\":2,\"name\":\"other.F\",\"aliases\":"
        "[\"G\"]},\"order\":\"descending\",\"aliases\":[\"g\"],\"x\":{\"b\":1,\"a\":2.5}},"
        "{\"name\":\"d\",\"type\":\"double\",\"default\":1e20},{\"name\":\"r\",\"type\":"
        "\"R\"}]}",
        "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"fields\":[{\"name\":"
        "\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"],"
        "\"default\":\"X\"}},{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\","
        "\"namespace\":\"other\",\"size\":2,\"aliases\":[\"G\"]},\"order\":\"descending\","
        "\"aliases\":[\"g\"],\"x\":{\"b\":1,\"a\":2.5}},{\"name\":\"d\",\"type\":\"double\","
        "\"default\":1.0E20},{\"name\":\"r\",\"type\":\"R\"}]}");
    expect_text("{\"type\":\"record\",\"name\":\"N\",\"namespace\":\"x\",\"fields\":[{\"name\":"
                "\"in\",\"type\":{\"type\":\"record\",\"name\":\"Top\",\"namespace\":\"\","
                "\"fields\":[{\"name\":\"d\",\"type\":\"double\",\"default\":0.1}]}}]}",
                "{\"type\":\"record\",\"name\":\"N\",\"namespace\":\"x\",\"fields\":[{\"name\":"
                "\"in\",\"type\":{\"type\":\"record\",\"name\":\"Top\",\"namespace\":\"\","
                "\"fields\":[{\"name\":\"d\",\"type\":\"double\",\"default\":0.1}]}}]}");
}

static void same_identity(const char *a, const char *b, bool same)
{
    chan_avro_schema *sa = parse(a), *sb = parse(b);
    bool eq = strcmp(chan_avro_schema_identity(sa), chan_avro_schema_identity(sb)) == 0;

    if (eq != same)
        print_error("identity of\n  %s\n  %s\n  expected %s\n", a, b, same ? "equal" : "different");
    assert_true(eq == same);
    chan_avro_schema_free(sa);
    chan_avro_schema_free(sb);
}

static void test_identity(void **state)
{
    const char *base = "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\","
                       "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\","
                       "\"type\":\"int\",\"default\":0}]}";

    (void)state;
    /* key order and whitespace */
    same_identity(base,
                  "{ \"fields\" : [ {\"type\":\"string\",\"name\":\"id\"}, {\"default\":0,"
                  "\"type\":\"int\",\"name\":\"n\"} ], \"namespace\":\"com.acme\", "
                  "\"name\":\"Order\", \"type\":\"record\" }",
                  true);
    /* {"type":"string"} vs "string"; the namespace in the name */
    same_identity(base,
                  "{\"type\":\"record\",\"name\":\"com.acme.Order\",\"fields\":[{\"name\":\"id\","
                  "\"type\":{\"type\":\"string\"}},{\"name\":\"n\",\"type\":\"int\",\"default\":0,"
                  "\"order\":\"ascending\"}],\"aliases\":[]}",
                  true);
    /* custom attributes and aliases compared as sets */
    same_identity("{\"type\":\"fixed\",\"name\":\"F\",\"size\":1,\"a\":1,\"b\":{\"y\":1,\"x\":2},"
                  "\"aliases\":[\"P\",\"Q\"]}",
                  "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1,\"b\":{\"x\":2,\"y\":1},\"a\":1,"
                  "\"aliases\":[\"Q\",\"P\"]}",
                  true);
    /* what changes meaning or metadata changes the identity */
    same_identity(base,
                  "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"fields\":"
                  "[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}",
                  false);
    same_identity(
        base,
        "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"doc\":\"d\","
        "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":"
        "\"int\",\"default\":0}]}",
        false);
    same_identity(base,
                  "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"fields\":"
                  "[{\"name\":\"n\",\"type\":\"int\",\"default\":0},{\"name\":\"id\",\"type\":"
                  "\"string\"}]}",
                  false);
    same_identity("\"string\"", "{\"type\":\"string\",\"x\":1}", false);
}

static void test_normalize(void **state)
{
    chan_avro_schema *s, *n;

    (void)state;
    s = parse("{\"type\":\"record\",\"name\":\"R\",\"doc\":\"\",\"z\":1,\"a\":{\"d\":1,\"c\":2},"
              "\"aliases\":[\"Z\",\"A\"],\"fields\":[{\"name\":\"m\",\"type\":{\"type\":\"bytes\","
              "\"scale\":0,\"precision\":4,\"x\":true,\"logicalType\":\"decimal\"}}]}");
    assert_int_equal(chan_avro_schema_normalize(&n, s, NULL), 0);
    assert_string_equal(chan_avro_schema_normalized(n),
                        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"m\",\"type\":"
                        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,"
                        "\"scale\":0,\"x\":true}}],\"a\":{\"c\":2,\"d\":1},\"z\":1,\"aliases\":"
                        "[\"A\",\"Z\"]}");
    /* normalizing is idempotent */
    {
        chan_avro_schema *again = NULL;

        assert_int_equal(chan_avro_schema_normalize(&again, n, NULL), 0);
        assert_string_equal(chan_avro_schema_normalized(again), chan_avro_schema_normalized(n));
        chan_avro_schema_free(again);
    }
    chan_avro_schema_free(n);
    chan_avro_schema_free(s);
}

static void test_references(void **state)
{
    const char *address = "{\"type\":\"record\",\"name\":\"Address\",\"namespace\":\"com.acme\","
                          "\"fields\":[{\"name\":\"street\",\"type\":\"string\"}]}";
    const char *customer = "{\"type\":\"record\",\"name\":\"Customer\",\"namespace\":"
                           "\"com.acme\",\"fields\":[{\"name\":\"home\",\"type\":"
                           "\"com.acme.Address\"}]}";
    const char *texts[] = {address, customer};
    chan_avro_reference direct[] = {{"com.acme.Customer", "customer", 1}};
    chan_avro_reference swapped[] = {{"com.acme.Customer", "customer", 2}};
    chan_avro_parse_refs pr = {direct, 1, texts, 2};
    const char *order = "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\","
                        "\"fields\":[{\"name\":\"buyer\",\"type\":\"Customer\"},{\"name\":\"ship\","
                        "\"type\":\"Address\"}]}";
    chan_avro_schema *s, *t, *alone = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_avro_reference *refs;
    size_t n;

    (void)state;
    s = parse_refs(order, &pr);
    /* referenced types are named, not repeated */
    assert_string_equal(chan_avro_schema_normalized(s),
                        "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\","
                        "\"fields\":[{\"name\":\"buyer\",\"type\":\"Customer\"},{\"name\":"
                        "\"ship\",\"type\":\"Address\"}]}");
    refs = chan_avro_schema_references(s, &n);
    assert_int_equal(n, 1);
    assert_string_equal(refs[0].subject, "customer");
    assert_non_null(strstr(chan_avro_schema_identity(s), "\"customer\",1"));
    /* the same schema with the referenced types written in place */
    {
        chan_avro_schema *inlined =
            parse("{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"fields\":["
                  "{\"name\":\"buyer\",\"type\":{\"type\":\"record\",\"name\":\"Customer\","
                  "\"fields\":[{\"name\":\"home\",\"type\":{\"type\":\"record\",\"name\":"
                  "\"Address\",\"fields\":[{\"name\":\"street\",\"type\":\"string\"}]}}]}},"
                  "{\"name\":\"ship\",\"type\":\"Address\"}]}");

        assert_true(chan_avro_schema_same_resolved(inlined, s));
        assert_string_not_equal(chan_avro_schema_identity(inlined), chan_avro_schema_identity(s));
        chan_avro_schema_free(inlined);
        inlined = parse(address);
        assert_false(chan_avro_schema_same_resolved(inlined, s));
        chan_avro_schema_free(inlined);
    }
    /* other references, other identity */
    pr.refs = swapped;
    t = parse_refs(order, &pr);
    assert_string_not_equal(chan_avro_schema_identity(s), chan_avro_schema_identity(t));
    chan_avro_schema_free(t);
    /* without the referenced texts the names are unknown */
    assert_int_equal(chan_avro_schema_parse(&alone, order, strlen(order), &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "unknown type"));
    /* a referenced text that does not parse is named */
    texts[1] = "{\"type\":\"record\",\"name\":\"Customer\",\"fields\":[{\"name\":\"h\","
               "\"type\":\"Nope\"}]}";
    pr.refs = direct;
    assert_int_equal(chan_avro_schema_parse_refs(&alone, order, strlen(order), &pr, &err),
                     CHAN_EINVALID);
    assert_non_null(strstr(err.message, "reference 2"));
    assert_null(alone);
    chan_avro_schema_free(s);
}

/* A stored text parses to the same schema as a new one (only Avro C's gate is skipped). */
static void test_stored(void **state)
{
    const char *json = "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\","
                       "\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"note\","
                       "\"type\":[\"null\",\"string\"],\"default\":null}]}";
    chan_avro_schema *a = parse(json), *b = NULL;
    chan_error err = CHAN_ERROR_INIT;

    (void)state;
    assert_int_equal(
        chan_avro_schema_parse_opts(&b, json, strlen(json), NULL, CHAN_AVRO_PARSE_STORED, &err), 0);
    assert_string_equal(chan_avro_schema_canonical(a), chan_avro_schema_canonical(b));
    assert_true(chan_avro_schema_fingerprint(a) == chan_avro_schema_fingerprint(b));
    assert_string_equal(chan_avro_schema_normalized(a), chan_avro_schema_normalized(b));
    assert_string_equal(chan_avro_schema_identity(a), chan_avro_schema_identity(b));
    assert_true(chan_avro_can_read(a, b, NULL) && chan_avro_can_read(b, a, NULL));
    chan_avro_schema_free(b);
    /* still validated: a stored text that does not parse is refused */
    assert_int_equal(chan_avro_schema_parse_opts(&b, "{\"type\":\"strng\"}", 17, NULL,
                                                 CHAN_AVRO_PARSE_STORED, &err),
                     CHAN_EINVALID);
    assert_null(b);
    chan_avro_schema_free(a);
}

/* The fingerprint of the specification's example: CRC-64-AVRO of "int"'s canonical form. */
static void test_fingerprint(void **state)
{
    chan_avro_schema *s = parse("{\"type\":\"int\"}");

    (void)state;
    assert_string_equal(chan_avro_schema_canonical(s), "\"int\"");
    assert_true(chan_avro_schema_fingerprint(s) == UINT64_C(0x7275d51a3f395c8f));
    chan_avro_schema_free(s);
}

typedef struct texts_seen {
    const chan_avro_schema *schema;
    const char *canonical, *normalized, *identity;
    uint64_t fingerprint;
} texts_seen;

static void *ask_texts(void *arg)
{
    texts_seen *t = arg;

    t->identity = chan_avro_schema_identity(t->schema);
    t->normalized = chan_avro_schema_normalized(t->schema);
    t->canonical = chan_avro_schema_canonical(t->schema);
    t->fingerprint = chan_avro_schema_fingerprint(t->schema);
    return NULL;
}

/* Threads asking a fresh schema for its texts at once all get the same one. */
static void test_texts_from_threads(void **state)
{
    chan_avro_schema *s = parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":"
                                "\"a\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
                                "\"symbols\":[\"X\",\"Y\"]}}]}");
    pthread_t th[4];
    texts_seen seen[4];
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        memset(&seen[i], 0, sizeof(seen[i]));
        seen[i].schema = s;
        assert_int_equal(pthread_create(&th[i], NULL, ask_texts, &seen[i]), 0);
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (i = 0; i < 4; i++) {
        assert_ptr_equal(seen[i].identity, chan_avro_schema_identity(s));
        assert_ptr_equal(seen[i].normalized, chan_avro_schema_normalized(s));
        assert_ptr_equal(seen[i].canonical, chan_avro_schema_canonical(s));
        assert_true(seen[i].fingerprint == chan_avro_schema_fingerprint(s));
    }
    assert_string_equal(chan_avro_schema_canonical(s),
                        "{\"name\":\"R\",\"type\":\"record\",\"fields\":[{\"name\":\"a\","
                        "\"type\":{\"name\":\"E\",\"type\":\"enum\",\"symbols\":[\"X\",\"Y\"]}}]}");
    chan_avro_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confluent_text),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_stored),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_texts_from_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
