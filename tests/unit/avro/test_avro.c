/*
 * test_avro.c - the Avro schema parser (acceptance, every rejection class
 * with its JSON pointer, logical types, Parsing Canonical Form and
 * fingerprints, hostile input) and the compatibility engine (every
 * resolution rule in both directions, the Confluent modes and the
 * field-removal rule).
 */
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
#include "avro_int.h"
#include "cgate.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static chan_avro_schema *parse_ok(const char *json)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int rc = chan_avro_schema_parse(&s, json, strlen(json), &err);

    if (rc != 0)
        print_error("unexpected parse error for %s: %s\n", json, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

/* Parse must fail with a message that starts with `prefix` and contains `needle`. */
static void parse_bad(const char *json, const char *prefix, const char *needle)
{
    chan_avro_schema *s = (chan_avro_schema *)1;
    chan_error err = CHAN_ERROR_INIT;
    int rc = chan_avro_schema_parse(&s, json, strlen(json), &err);

    if (rc != CHAN_EINVALID || strncmp(err.message, prefix, strlen(prefix)) != 0 ||
        !strstr(err.message, needle))
        print_error("schema %s\n  got rc=%d message \"%s\"\n  want prefix \"%s\" and \"%s\"\n",
                    json, rc, err.message, prefix, needle);
    assert_int_equal(rc, CHAN_EINVALID);
    assert_null(s);
    assert_int_equal(err.code, CHAN_EINVALID);
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(err.message, needle));
}

/* Kinds of a report joined by spaces, for compact assertions. */
static char *kinds(const chan_compat_report *r)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    for (i = 0; i < chan_compat_report_count(r); i++)
        chan_buf_printf(&b, "%s%s", i ? " " : "", chan_compat_report_get(r, i)->kind);
    return chan_buf_take(&b);
}

/*
 * Check reader/writer and compare the outcome and the issue kinds
 * (space-separated, in report order; "" when compatible).
 */
static void expect_read(const char *reader, const char *writer, const char *want_kinds)
{
    chan_avro_schema *r = parse_ok(reader), *w = parse_ok(writer);
    chan_compat_report *rep = chan_compat_report_new();
    bool ok = chan_avro_can_read(r, w, rep);
    char *got = kinds(rep);

    if (strcmp(got, want_kinds) != 0)
        print_error("reader %s\nwriter %s\n  got [%s] want [%s]\n", reader, writer, got,
                    want_kinds);
    assert_string_equal(got, want_kinds);
    assert_int_equal(ok, want_kinds[0] == '\0');
    /* Without a report the answer is the same. */
    assert_int_equal(chan_avro_can_read(r, w, NULL), ok);
    free(got);
    chan_compat_report_free(rep);
    chan_avro_schema_free(r);
    chan_avro_schema_free(w);
}

static const chan_compat_issue *only_issue(const char *reader, const char *writer,
                                           chan_compat_report *rep)
{
    chan_avro_schema *r = parse_ok(reader), *w = parse_ok(writer);

    assert_false(chan_avro_can_read(r, w, rep));
    chan_avro_schema_free(r);
    chan_avro_schema_free(w);
    assert_int_equal(chan_compat_report_count(rep), 1);
    return chan_compat_report_get(rep, 0);
}

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"

/* ------------------------------------------------------------------ */
/* Parser: accepted schemas                                            */
/* ------------------------------------------------------------------ */

static void test_parse_primitives(void **state)
{
    static const char *const prims[] = {"null",  "boolean", "int",   "long",
                                        "float", "double",  "bytes", "string"};
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(prims); i++) {
        char *a = chan_xasprintf("\"%s\"", prims[i]);
        char *b = chan_xasprintf("{\"type\": \"%s\"}", prims[i]);
        chan_avro_schema *sa = parse_ok(a), *sb = parse_ok(b);

        assert_string_equal(chan_avro_schema_name(sa), prims[i]);
        assert_string_equal(chan_avro_schema_canonical(sa), a);
        assert_string_equal(chan_avro_schema_canonical(sb), a);
        assert_true(chan_avro_schema_fingerprint(sa) == chan_avro_schema_fingerprint(sb));
        chan_avro_schema_free(sa);
        chan_avro_schema_free(sb);
        free(a);
        free(b);
    }
}

static void test_parse_namespaces_and_fullnames(void **state)
{
    /* Dotted names win over "namespace"; nested types inherit the namespace
     * of the innermost enclosing named type; "" resets to the null namespace. */
    chan_avro_schema *s = parse_ok(
        "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"Id\",\"size\":4}},"
        "{\"name\":\"b\",\"type\":{\"type\":\"enum\",\"name\":\"x.y.E\",\"namespace\":\"zz\","
        "\"symbols\":[\"A\"]}},"
        "{\"name\":\"c\",\"type\":{\"type\":\"record\",\"name\":\"G\",\"namespace\":\"\","
        "\"fields\":[{\"name\":\"g\",\"type\":{\"type\":\"enum\",\"name\":\"H\",\"symbols\":"
        "[\"B\"]}}]}},"
        "{\"name\":\"d\",\"type\":\"Id\"},{\"name\":\"e\",\"type\":\"x.y.E\"},"
        "{\"name\":\"f\",\"type\":\"com.acme.Id\"}]}");

    assert_string_equal(chan_avro_schema_name(s), "com.acme.Order");
    assert_string_equal(
        chan_avro_schema_canonical(s),
        "{\"name\":\"com.acme.Order\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"name\":\"com.acme.Id\",\"type\":\"fixed\",\"size\":4}},"
        "{\"name\":\"b\",\"type\":{\"name\":\"x.y.E\",\"type\":\"enum\",\"symbols\":[\"A\"]}},"
        "{\"name\":\"c\",\"type\":{\"name\":\"G\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"g\",\"type\":{\"name\":\"H\",\"type\":\"enum\",\"symbols\":[\"B\"]}}]}},"
        "{\"name\":\"d\",\"type\":\"com.acme.Id\"},{\"name\":\"e\",\"type\":\"x.y.E\"},"
        "{\"name\":\"f\",\"type\":\"com.acme.Id\"}]}");
    chan_avro_schema_free(s);

    /* "namespace": null is no namespace given (Java, Python and Avro C) */
    s = parse_ok("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":["
                 "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":null,"
                 "\"size\":1}},{\"name\":\"g\",\"type\":\"a.F\"}]}");
    assert_string_equal(
        chan_avro_schema_canonical(s),
        "{\"name\":\"a.R\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"f\",\"type\":{\"name\":\"a.F\",\"type\":\"fixed\",\"size\":1}},"
        "{\"name\":\"g\",\"type\":\"a.F\"}]}");
    chan_avro_schema_free(s);
}

static void test_parse_recursive_and_complex(void **state)
{
    chan_avro_schema *s = parse_ok(
        "{\"type\":\"record\",\"name\":\"Node\",\"aliases\":[\"old.Node\"],\"doc\":\"tree\","
        "\"x-custom\":{\"k\":[1,2]},\"fields\":["
        "{\"name\":\"children\",\"type\":{\"type\":\"array\",\"items\":\"Node\"},\"default\":[]},"
        "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"string\"]},"
        "\"default\":{\"k\":null}},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null,\"order\":\"ignore\","
        "\"aliases\":[\"nxt\"]}]}");

    assert_string_equal(chan_avro_schema_canonical(s),
                        "{\"name\":\"Node\",\"type\":\"record\",\"fields\":["
                        "{\"name\":\"children\",\"type\":{\"type\":\"array\",\"items\":\"Node\"}},"
                        "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":"
                        "[\"null\",\"string\"]}},"
                        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
    /* Normalized keeps every attribute, compact, in order. */
    assert_non_null(strstr(chan_avro_schema_normalized(s), "\"x-custom\":{\"k\":[1,2]}"));
    assert_non_null(strstr(chan_avro_schema_normalized(s), "\"doc\":\"tree\""));
    assert_null(strchr(chan_avro_schema_normalized(s), '\n'));
    chan_avro_schema_free(s);
}

static void test_parse_defaults_accepted(void **state)
{
    chan_avro_schema *s = parse_ok(
        REC("{\"name\":\"i\",\"type\":\"int\",\"default\":-2147483648},"
            "{\"name\":\"l\",\"type\":\"long\",\"default\":9007199254740993},"
            "{\"name\":\"f\",\"type\":\"float\",\"default\":1},"
            "{\"name\":\"d\",\"type\":\"double\",\"default\":1.5e3},"
            "{\"name\":\"b\",\"type\":\"bytes\",\"default\":\"\\u00ff\\u0000a\"},"
            "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2},"
            "\"default\":\"\\u0000\\u00e9\"},"
            "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]},"
            "\"default\":\"B\"},"
            "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
            "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"z\",\"type\":\"string\",\"default\":"
            "\"q\"}]},"
            "\"default\":{\"a\":1}},"
            "{\"name\":\"u\",\"type\":[\"string\",\"null\"],\"default\":\"s\"},"
            "{\"name\":\"bo\",\"type\":\"boolean\",\"default\":false}"));

    chan_avro_schema_free(s);
}

static void test_parse_logical_types(void **state)
{
    chan_avro_schema *a, *b;

    /* Valid logical types are kept in the model but not in the canonical form. */
    a = parse_ok("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}");
    assert_string_equal(chan_avro_schema_canonical(a), "\"bytes\"");
    chan_avro_schema_free(a);
    a = parse_ok("{\"type\":\"fixed\",\"name\":\"Dur\",\"size\":12,\"logicalType\":\"duration\"}");
    chan_avro_schema_free(a);
    a = parse_ok("{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}");
    chan_avro_schema_free(a);
    /* Invalid or unknown logical types fall back to the underlying type
     * (spec, "Logical Types"): scale > precision, precision too large for the
     * fixed size, wrong underlying type, unknown name. */
    a = parse_ok("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":4}");
    b = parse_ok("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":3,\"scale\":1}");
    /* a fell back to plain bytes, so it reads and is read by any decimal */
    assert_true(chan_avro_can_read(a, b, NULL));
    assert_true(chan_avro_can_read(b, a, NULL));
    chan_avro_schema_free(a);
    chan_avro_schema_free(b);
    a = parse_ok("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2,\"logicalType\":\"decimal\","
                 "\"precision\":5}");
    b = parse_ok("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2,\"logicalType\":\"decimal\","
                 "\"precision\":4}");
    /* 2 bytes hold 4 digits, not 5: a is plain fixed, b a decimal(4,0). */
    assert_true(chan_avro_can_read(a, b, NULL));
    chan_avro_schema_free(a);
    chan_avro_schema_free(b);
    a = parse_ok("{\"type\":\"string\",\"logicalType\":\"date\"}");
    assert_string_equal(chan_avro_schema_canonical(a), "\"string\"");
    chan_avro_schema_free(a);
    a = parse_ok("{\"type\":\"fixed\",\"name\":\"D\",\"size\":8,\"logicalType\":\"duration\"}");
    chan_avro_schema_free(a);
    a = parse_ok("{\"type\":\"int\",\"logicalType\":\"no-such-type\"}");
    chan_avro_schema_free(a);
}

static void test_canonical_form_and_fingerprints(void **state)
{
    /* Values from the Avro distribution's share/test/data/schema-tests.txt. */
    static const struct {
        const char *json;
        const char *canonical;
        int64_t fingerprint;
    } cases[] = {
        {"\"null\"", "\"null\"", INT64_C(7195948357588979594)},
        {"{\"type\":\"int\"}", "\"int\"", INT64_C(8247732601305521295)},
        {"\"string\"", "\"string\"", INT64_C(-8142146995180207161)},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
        {"\"boolean\"", "\"boolean\"", INT64_C(-6970731678124411036)},
        {"\"long\"", "\"long\"", INT64_C(-3434872931120570953)},
        {"\"float\"", "\"float\"", INT64_C(5583340709985441680)},
        {"\"double\"", "\"double\"", INT64_C(-8181574048448539266)},
        {"\"bytes\"", "\"bytes\"", INT64_C(5746618253357095269)},
        {"[ \"int\"  ]", "[\"int\"]", INT64_C(-5232228896498058493)},
        {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]",
         INT64_C(5392556393470105090)},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(5916914534497305771)},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4616218487480524110)},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
         "\"aliases\":[\"foo\",\"bar\"]}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
        {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", "
         "\"name\":\"foo\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"}]"
         "}",
         INT64_C(7843277075252814651)},
        /* 026, with a valid default (the data's "true" is a string). */
        {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
         "\"default\":true},\n"
         " {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":\"int\"}],\n"
         " \"type\":\"record\", \"name\":\"foo\"\n}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},"
         "{\"name\":\"f2\",\"type\":\"int\"}]}",
         INT64_C(-4860222112080293046)},
        {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
         "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}",
         INT64_C(-6342190197741309591)},
        {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", "
         "\"symbols\":[\"A1\", \"A2\"]}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
         INT64_C(-4448647247586288245)},
        {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
         "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", INT64_C(1756455273707447556)},
        {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", "
         "\"size\":32}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", INT64_C(-3064184465700546786)},
        {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
         "{\"type\":\"array\",\"items\":\"null\"}", INT64_C(-589620603366471059)},
        {"{ \"values\":\"string\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"string\"}",
         INT64_C(-8732877298790414990)},
        {"{\"name\":\"PigValue\",\"type\":\"record\",\n \"fields\":[{\"name\":\"value\", "
         "\"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
         "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
         "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
         INT64_C(-1759257747318642341)},
    };
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(cases); i++) {
        chan_avro_schema *s = parse_ok(cases[i].json);

        chan_avro_schema *again;

        assert_string_equal(chan_avro_schema_canonical(s), cases[i].canonical);
        assert_true(chan_avro_schema_fingerprint(s) == (uint64_t)cases[i].fingerprint);
        /* The normalized text parses to itself. */
        again = parse_ok(chan_avro_schema_normalized(s));
        assert_string_equal(chan_avro_schema_normalized(again), chan_avro_schema_normalized(s));
        assert_string_equal(chan_avro_schema_canonical(again), cases[i].canonical);
        chan_avro_schema_free(again);
        chan_avro_schema_free(s);
    }
}

static void test_canonical_strips_and_orders(void **state)
{
    chan_avro_schema *a =
        parse_ok("{\"namespace\":\"n\",\"doc\":\"d\",\"fields\":[{\"type\":{\"values\":\"long\","
                 "\"type\":\"map\"},\"default\":{},\"doc\":\"x\",\"name\":\"m\"}],\"name\":\"R\","
                 "\"type\":\"record\",\"aliases\":[\"Q\"]}");
    chan_avro_schema *b =
        parse_ok("{\"type\":\"record\",\"name\":\"n.R\",\"fields\":[{\"name\":\"m\",\"type\":"
                 "{\"type\":\"map\",\"values\":{\"type\":\"long\"}}}]}");

    assert_string_equal(chan_avro_schema_canonical(a),
                        "{\"name\":\"n.R\",\"type\":\"record\",\"fields\":[{\"name\":\"m\","
                        "\"type\":{\"type\":\"map\",\"values\":\"long\"}}]}");
    assert_string_equal(chan_avro_schema_canonical(a), chan_avro_schema_canonical(b));
    assert_true(chan_avro_schema_fingerprint(a) == chan_avro_schema_fingerprint(b));
    /* ... while the normalized text tells them apart. */
    assert_string_not_equal(chan_avro_schema_normalized(a), chan_avro_schema_normalized(b));
    chan_avro_schema_free(a);
    chan_avro_schema_free(b);
}

/* ------------------------------------------------------------------ */
/* Parser: rejected schemas, each with its JSON pointer                */
/* ------------------------------------------------------------------ */

static void test_reject_bad_json(void **state)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const char *text = "{\"type\": \"record\",\n \"name\": }";

    assert_int_equal(chan_avro_schema_parse(&s, text, strlen(text), &err), CHAN_EINVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "invalid JSON at line 2"));
    assert_int_equal(err.line, 2);
    assert_true(err.column > 0);
    parse_bad("", "invalid JSON", "");
    parse_bad("{\"type\":\"int\"} x", "invalid JSON", "");
    /* Duplicate keys are ambiguous and rejected. */
    parse_bad("{\"type\":\"int\",\"type\":\"long\"}", "invalid JSON", "duplicate");
}

static void test_reject_unknown_types(void **state)
{
    parse_bad(REC("{\"name\":\"a\",\"type\":\"strng\"}"),
              "/fields/0/type:", "unknown type \"strng\"");
    parse_bad("{\"type\":\"integer\"}", "/type:", "unknown type \"integer\"");
    parse_bad("42", "/:", "a schema must be");
    parse_bad("{\"name\":\"x\"}", "/:", "no \"type\"");
    parse_bad("{\"type\":{\"type\":\"int\"}}", "/type:", "must be a string");
    /* A name used before its definition. */
    parse_bad(REC("{\"name\":\"a\",\"type\":\"S\"},{\"name\":\"b\",\"type\":{\"type\":\"record\","
                  "\"name\":\"S\",\"fields\":[]}}"),
              "/fields/0/type:", "unknown type \"S\"");
    /* A reference resolves in the enclosing namespace only. */
    parse_bad("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":["
              "{\"name\":\"x\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"namespace\":\"\","
              "\"symbols\":[\"A\"]}},{\"name\":\"y\",\"type\":\"E\"}]}",
              "/fields/1/type:", "unknown type \"E\"");
    parse_bad("{\"type\":\"error\",\"name\":\"E\",\"fields\":[]}", "/type:", "protocols");
}

static void test_reject_names(void **state)
{
    parse_bad("{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}", "/name:", "invalid name");
    parse_bad("{\"type\":\"record\",\"name\":\"a..R\",\"fields\":[]}", "/name:", "invalid name");
    parse_bad("{\"type\":\"record\",\"fields\":[]}", "/:", "no \"name\"");
    parse_bad("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a-b\",\"fields\":[]}",
              "/namespace:", "invalid namespace");
    parse_bad("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.\",\"fields\":[]}",
              "/namespace:", "invalid namespace");
    parse_bad(REC("{\"name\":\"my-field\",\"type\":\"int\"}"),
              "/fields/0/name:", "invalid field name \"my-field\"");
    parse_bad(REC("{\"name\":\"a.b\",\"type\":\"int\"}"), "/fields/0/name:", "invalid field name");
    parse_bad(REC("{\"type\":\"int\"}"), "/fields/0:", "no \"name\"");
    parse_bad("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B-C\"]}",
              "/symbols/1:", "invalid enum symbol \"B-C\"");
    parse_bad("{\"type\":\"record\",\"name\":\"R\",\"aliases\":[\"9x\"],\"fields\":[]}",
              "/aliases/0:", "invalid alias");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\",\"aliases\":\"b\"}"),
              "/fields/0/aliases:", "array");
    parse_bad("{\"type\":\"fixed\",\"name\":\"int\",\"size\":1}", "/:", "primitive");
    parse_bad("{\"type\":\"record\",\"name\":\"a.string\",\"fields\":[]}", "/:", "primitive");
}

static void test_reject_duplicates_and_redefinitions(void **state)
{
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"int\"},"
                  "{\"name\":\"a\",\"type\":\"long\"}"),
              "/fields/2:", "duplicate field name \"a\" (also at /fields/0)");
    parse_bad("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"A\"]}",
              "/symbols/2:", "duplicate enum symbol \"A\"");
    parse_bad(
        REC("{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}},"
            "{\"name\":\"b\",\"type\":{\"type\":\"enum\",\"name\":\"F\",\"symbols\":[\"X\"]}}"),
        "/fields/1/type:", "redefinition of named type \"F\" (first defined at /fields/0/type)");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}}"),
              "/fields/0/type:", "redefinition of named type \"R\"");
}

static void test_reject_unions(void **state)
{
    parse_bad("[\"int\",\"string\",\"int\"]", "/2:", "duplicate union branch \"int\"");
    parse_bad("[{\"type\":\"array\",\"items\":\"int\"},{\"type\":\"array\",\"items\":\"long\"}]",
              "/1:", "duplicate union branch \"array\"");
    parse_bad("[\"null\",[\"int\"]]", "/1:", "may not directly contain another union");
    parse_bad("[{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},\"F\"]",
              "/1:", "duplicate union branch \"F\"");
}

/* The empty union is valid Avro (spec; Java and Python accept it): no value has it. */
static void test_empty_union(void **state)
{
    chan_avro_schema *top = parse_ok("[]");
    chan_avro_schema *rec = parse_ok(REC("{\"name\":\"u\",\"type\":[]}"));
    chan_avro_schema *other = parse_ok(REC("{\"name\":\"u\",\"type\":\"int\"}"));
    chan_compat_report *rep = chan_compat_report_new();

    assert_string_equal(chan_avro_schema_normalized(top), "[]");
    assert_non_null(strstr(chan_avro_schema_normalized(rec), "\"type\":[]"));
    /* Nothing is written with an empty union, so any reader can read it ... */
    assert_true(chan_avro_can_read(other, rec, NULL));
    assert_true(chan_avro_can_read(rec, rec, NULL));
    /* ... and an empty union cannot read anything. */
    assert_false(chan_avro_can_read(rec, other, rep));
    assert_int_equal(chan_compat_report_count(rep), 1);
    assert_string_equal(chan_compat_report_get(rep, 0)->kind, "MISSING_UNION_BRANCH");
    parse_bad(REC("{\"name\":\"u\",\"type\":[],\"default\":null}"), "/fields/0",
              "empty union cannot have a default");
    chan_compat_report_free(rep);
    chan_avro_schema_free(top);
    chan_avro_schema_free(rec);
    chan_avro_schema_free(other);
}

static void test_reject_fixed_and_enum(void **state)
{
    parse_bad("{\"type\":\"fixed\",\"name\":\"F\"}", "/:", "no \"size\"");
    parse_bad("{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", "/size:", "must be an integer");
    parse_bad("{\"type\":\"fixed\",\"name\":\"F\",\"size\":\"16\"}", "/size:", "integer");
    parse_bad("{\"type\":\"fixed\",\"name\":\"F\",\"size\":1.5}", "/size:", "integer");
    parse_bad("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4294967296}", "/size:", "integer");
    parse_bad("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}",
              "/default:", "enum default \"B\" is not one of the symbols");
    parse_bad("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}", "/:", "at least one symbol");
    parse_bad("{\"type\":\"enum\",\"name\":\"E\"}", "/:", "\"symbols\" array");
    parse_bad("{\"type\":\"record\",\"name\":\"R\"}", "/:", "\"fields\" array");
    parse_bad("{\"type\":\"array\"}", "/:", "no \"items\"");
    parse_bad("{\"type\":\"map\",\"values\":\"nope\"}", "/values:", "unknown type \"nope\"");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\",\"order\":\"up\"}"),
              "/fields/0/order:", "ascending");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":0,\"deprecated\":\"true\"}"),
              "/fields/0/deprecated:", "must be true or false");
}

static void test_reject_bad_defaults(void **state)
{
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":\"1\"}"),
              "/fields/0/default:", "32-bit integer");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":2147483648}"),
              "/fields/0/default:", "32-bit integer");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"long\",\"default\":1.5}"),
              "/fields/0/default:", "64-bit integer");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"double\",\"default\":\"NaN\"}"),
              "/fields/0/default:", "number");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"string\",\"default\":null}"),
              "/fields/0/default:", "string");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"boolean\",\"default\":0}"),
              "/fields/0/default:", "true or false");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"null\",\"default\":false}"),
              "/fields/0/default:", "null");
    parse_bad(REC("{\"name\":\"a\",\"type\":\"bytes\",\"default\":\"\\u0100\"}"),
              "/fields/0/default:", "U+00FF");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3},"
                  "\"default\":\"ab\"}"),
              "/fields/0/default:", "default has 2 bytes but fixed \"F\" has size 3");
    /* Union defaults follow the first branch. */
    parse_bad(REC("{\"name\":\"a\",\"type\":[\"null\",\"string\"],\"default\":\"x\"}"),
              "/fields/0/default:", "must be null");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]},"
                  "\"default\":\"Z\"}"),
              "/fields/0/default:", "\"Z\" is not a symbol of enum \"E\"");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"},"
                  "\"default\":[1,\"two\"]}"),
              "/fields/0/default/1:", "32-bit integer");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"map\",\"values\":\"long\"},"
                  "\"default\":{\"k/x\":true}}"),
              "/fields/0/default/k~1x:", "64-bit integer");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
                  "{\"name\":\"x\",\"type\":\"int\"}]},\"default\":{}}"),
              "/fields/0/default/x:", "lacks field \"x\"");
    parse_bad(REC("{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
                  "{\"name\":\"x\",\"type\":\"int\"}]},\"default\":{\"x\":\"1\"}}"),
              "/fields/0/default/x:", "32-bit integer");
    /* A default of a recursive record is checked against the whole record,
     * including the fields declared after the default. */
    parse_bad("{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":\"next\",\"type\":"
              "[\"N\",\"null\"],\"default\":{}},{\"name\":\"v\",\"type\":\"int\"}]}",
              "/fields/0/default/v:", "lacks field \"v\"");
    chan_avro_schema_free(
        parse_ok("{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":\"next\",\"type\":"
                 "[\"N\",\"null\"],\"default\":{\"v\":2}},{\"name\":\"v\",\"type\":\"int\"}]}"));
}

static void test_avro_c_gate(void **state)
{
    char msg[256] = "";

    /* The gate is Avro C itself: it accepts what Avro C accepts ... */
    assert_int_equal(chan_avro__cgate("\"int\"", 5, msg, sizeof(msg)), 0);
    /* ... and hands back Avro C's reason otherwise. */
    assert_int_equal(chan_avro__cgate("{\"type\":\"strng\"}", 16, msg, sizeof(msg)), -1);
    assert_true(msg[0] != '\0');
    /* Avro C's JSON loader refuses U+0000, which the specification allows
     * in bytes defaults: the parser hands Avro C a copy without it. */
    assert_int_equal(chan_avro__cgate(REC("{\"name\":\"b\",\"type\":\"bytes\",\"default\":"
                                          "\"\\u0000\"}"),
                                      strlen(REC("{\"name\":\"b\",\"type\":\"bytes\","
                                                 "\"default\":\"\\u0000\"}")),
                                      msg, sizeof(msg)),
                     -1);
    chan_avro_schema_free(parse_ok(REC("{\"name\":\"b\",\"type\":\"bytes\",\"default\":"
                                       "\"\\u0000\"}")));
}

static void test_reject_hostile_input(void **state)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    static const char binary[] = {'\x00', '\xff', '\xfe', '{', '\x80', '"', '\x01'};
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    /* Binary garbage and invalid UTF-8. */
    assert_int_equal(chan_avro_schema_parse(&s, binary, sizeof(binary), &err), CHAN_EINVALID);
    assert_null(s);
    assert_int_equal(chan_avro_schema_parse(&s, "\"\xc3\x28\"", 4, &err), CHAN_EINVALID);
    assert_int_equal(chan_avro_schema_parse(&s, "\"in\\u0000t\"", 11, &err), CHAN_EINVALID);

    /* Deep nesting: a clear error at the cap, not a stack overflow. */
    for (i = 0; i < 300; i++)
        chan_buf_puts(&b, "{\"type\":\"array\",\"items\":");
    chan_buf_puts(&b, "\"int\"");
    for (i = 0; i < 300; i++)
        chan_buf_putc(&b, '}');
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "nested deeper than 256"));
    assert_null(s);
    chan_buf_clear(&b);
    /* ... 200 levels are fine. */
    for (i = 0; i < 200; i++)
        chan_buf_puts(&b, "{\"type\":\"array\",\"items\":");
    chan_buf_puts(&b, "\"int\"");
    for (i = 0; i < 200; i++)
        chan_buf_putc(&b, '}');
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), 0);
    chan_avro_schema_free(s);
    s = NULL;
    chan_buf_clear(&b);
    /* JSON far deeper than any parser stack: jansson's own depth cap. */
    for (i = 0; i < 100000; i++)
        chan_buf_putc(&b, '[');
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "invalid JSON"));
    chan_buf_clear(&b);
    /* A huge but valid record: 5,000 fields. */
    chan_buf_puts(&b, "{\"type\":\"record\",\"name\":\"Big\",\"fields\":[");
    for (i = 0; i < 5000; i++)
        chan_buf_printf(&b, "%s{\"name\":\"f%zu\",\"type\":\"long\"}", i ? "," : "", i);
    chan_buf_puts(&b, "]}");
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), 0);
    assert_true(chan_avro_can_read(s, s, NULL));
    chan_avro_schema_free(s);
    s = NULL;
    /* ... and the same with a duplicate at the very end. */
    b.len -= 2;
    chan_buf_puts(&b, ",{\"name\":\"f17\",\"type\":\"int\"}]}");
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "/fields/5000: duplicate field name \"f17\""));
    assert_string_equal(err.path, "/fields/5000");
    /* Large enums and unions: symbols and branches are indexed, so both the
     * duplicate check and the compatibility check stay linear. */
    chan_buf_clear(&b);
    chan_buf_puts(&b, "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[");
    for (i = 0; i < 20000; i++)
        chan_buf_printf(&b, "%s\"S%zu\"", i ? "," : "", i);
    chan_buf_puts(&b, ",\"S19999\"]}");
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "/symbols/20000: duplicate enum symbol \"S19999\" (also at "
                                        "index 19999)"));
    chan_buf_clear(&b);
    chan_buf_putc(&b, '[');
    for (i = 0; i < 3000; i++)
        chan_buf_printf(&b, "%s{\"type\":\"record\",\"name\":\"R%zu\",\"fields\":[]}", i ? "," : "",
                        i);
    chan_buf_puts(&b, ",\"null\"]");
    assert_int_equal(chan_avro_schema_parse(&s, b.ptr, b.len, &err), 0);
    assert_true(chan_avro_can_read(s, s, NULL));
    chan_avro_schema_free(s);
    s = NULL;
    chan_buf_dispose(&b);
}

/*
 * A record chain R0 <- R1 <- ... <- R(n-1), each referring to the one
 * before, all defined in one union, and a field of type R(n-1): the JSON is
 * flat but the check descends n levels through references.
 */
static char *reference_chain(size_t n, const char *other_field)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    chan_buf_printf(&b,
                    "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"%s\",\"type\":"
                    "[\"null\",{\"type\":\"record\",\"name\":\"R0\",\"fields\":[{\"name\":"
                    "\"v\",\"type\":\"int\"}]}",
                    other_field);
    for (i = 1; i < n; i++)
        chan_buf_printf(&b,
                        ",{\"type\":\"record\",\"name\":\"R%zu\",\"fields\":[{\"name\":\"n\","
                        "\"type\":\"R%zu\"}]}",
                        i, i - 1);
    chan_buf_printf(&b, "],\"default\":null},{\"name\":\"a\",\"type\":\"R%zu\"}]}", n - 1);
    return chan_buf_take(&b);
}

static void test_compat_deep_references(void **state)
{
    static const size_t depths[] = {300, 5000};
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(depths); i++) {
        /* The reader's chain sits in a field the writer lacks, so the check
         * reaches the chain only through "a", at its deepest end. */
        char *rj = reference_chain(depths[i], "x"), *wj = reference_chain(depths[i], "y");
        chan_avro_schema *r = parse_ok(rj), *w = parse_ok(wj);
        chan_compat_report *rep = chan_compat_report_new();
        bool ok = chan_avro_can_read(r, w, rep);

        if (depths[i] < 1000) {
            assert_true(ok);
            assert_int_equal(chan_compat_report_count(rep), 0);
        } else {
            /* Refused with a reason instead of exhausting the stack. */
            assert_false(ok);
            assert_int_equal(chan_compat_report_count(rep), 1);
            assert_string_equal(chan_compat_report_get(rep, 0)->kind, "NESTING_TOO_DEEP");
        }
        assert_int_equal(chan_avro_can_read(r, w, NULL), ok);
        chan_compat_report_free(rep);
        chan_avro_schema_free(r);
        chan_avro_schema_free(w);
        free(rj);
        free(wj);
    }
}

/* ------------------------------------------------------------------ */
/* Compatibility: primitives and promotions                            */
/* ------------------------------------------------------------------ */

static void test_compat_promotions(void **state)
{
    /* Allowed: writer -> reader */
    expect_read("\"long\"", "\"int\"", "");
    expect_read("\"float\"", "\"int\"", "");
    expect_read("\"double\"", "\"int\"", "");
    expect_read("\"float\"", "\"long\"", "");
    expect_read("\"double\"", "\"long\"", "");
    expect_read("\"double\"", "\"float\"", "");
    expect_read("\"bytes\"", "\"string\"", "");
    expect_read("\"string\"", "\"bytes\"", "");
    /* Never the other way. */
    expect_read("\"int\"", "\"long\"", "TYPE_MISMATCH");
    expect_read("\"int\"", "\"float\"", "TYPE_MISMATCH");
    expect_read("\"long\"", "\"double\"", "TYPE_MISMATCH");
    expect_read("\"float\"", "\"double\"", "TYPE_MISMATCH");
    expect_read("\"boolean\"", "\"int\"", "TYPE_MISMATCH");
    expect_read("\"string\"", "\"int\"", "TYPE_MISMATCH");
    expect_read("\"null\"", "\"int\"", "TYPE_MISMATCH");
    expect_read("{\"type\":\"array\",\"items\":\"int\"}", "{\"type\":\"map\",\"values\":\"int\"}",
                "TYPE_MISMATCH");
}

static void test_compat_type_mismatch_message(void **state)
{
    chan_compat_report *rep = chan_compat_report_new();
    const chan_compat_issue *is = only_issue(
        REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"amount\",\"type\":\"int\"}"),
        REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"amount\",\"type\":\"long\"}"), rep);

    assert_string_equal(is->kind, "TYPE_MISMATCH");
    assert_string_equal(is->location, "/fields/1/type");
    assert_string_equal(is->message, "/fields/1/type (amount): reader type \"int\" cannot read "
                                     "writer type \"long\"");
    assert_int_equal(is->version_index, -1);
    chan_compat_report_free(rep);
}

/* ------------------------------------------------------------------ */
/* Compatibility: records                                              */
/* ------------------------------------------------------------------ */

static void test_compat_record_fields(void **state)
{
    /* Writer field missing in reader: ignored. */
    expect_read(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}"), "");
    /* Reader field missing in writer: needs a default. */
    expect_read(REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\","
                    "\"default\":\"\"}"),
                REC("{\"name\":\"a\",\"type\":\"int\"}"), "");
    expect_read(REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}"),
                REC("{\"name\":\"a\",\"type\":\"int\"}"), "READER_FIELD_MISSING_DEFAULT_VALUE");
    /* Field order does not matter. */
    expect_read(REC("{\"name\":\"b\",\"type\":\"long\"},{\"name\":\"a\",\"type\":\"int\"}"),
                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"int\"}"), "");
    /* Reader field aliases match writer field names. */
    expect_read(REC("{\"name\":\"total\",\"type\":\"long\",\"aliases\":[\"amount\"]}"),
                REC("{\"name\":\"amount\",\"type\":\"int\"}"), "");
    /* Writer aliases are not used. */
    expect_read(REC("{\"name\":\"total\",\"type\":\"long\"}"),
                REC("{\"name\":\"amount\",\"type\":\"int\",\"aliases\":[\"total\"]}"),
                "READER_FIELD_MISSING_DEFAULT_VALUE");
}

static void test_compat_reports_every_issue(void **state)
{
    chan_avro_schema *r = parse_ok(
        REC("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"qty\",\"type\":\"int\"},"
            "{\"name\":\"extra\",\"type\":\"int\"},{\"name\":\"amount\",\"type\":\"double\"},"
            "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\",\"symbols\":[\"A\"]}}"));
    chan_avro_schema *w = parse_ok(REC(
        "{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"qty\",\"type\":\"long\"},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\",\"symbols\":[\"A\",\"B\","
        "\"C\"]}}"));
    chan_compat_report *rep = chan_compat_report_new();
    const chan_compat_issue *is;

    assert_false(chan_avro_can_read(r, w, rep));
    assert_int_equal(chan_compat_report_count(rep), 5);
    is = chan_compat_report_get(rep, 0);
    assert_string_equal(is->kind, "TYPE_MISMATCH");
    assert_string_equal(is->location, "/fields/0/type");
    is = chan_compat_report_get(rep, 1);
    assert_string_equal(is->kind, "TYPE_MISMATCH");
    assert_string_equal(is->location, "/fields/1/type");
    is = chan_compat_report_get(rep, 2);
    assert_string_equal(is->kind, "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_string_equal(is->message,
                        "/fields/2 (extra): reader field has no default and writer lacks it");
    is = chan_compat_report_get(rep, 3);
    assert_string_equal(is->message,
                        "/fields/3 (amount): reader field has no default and writer lacks it");
    is = chan_compat_report_get(rep, 4);
    assert_string_equal(is->kind, "MISSING_ENUM_SYMBOLS");
    assert_string_equal(is->location, "/fields/4/type");
    assert_non_null(strstr(is->message, "[B, C]"));
    assert_null(chan_compat_report_get(rep, 5));
    chan_compat_report_free(rep);
    chan_avro_schema_free(r);
    chan_avro_schema_free(w);
}

static void test_compat_record_names(void **state)
{
    /* Unqualified names are compared (spec 1.11, Avro Java). */
    expect_read("{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[]}", "");
    expect_read("{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}", "NAME_MISMATCH");
    /* Reader aliases name the writer's full name. */
    expect_read("{\"type\":\"record\",\"name\":\"S\",\"namespace\":\"n\",\"aliases\":[\"R\"],"
                "\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"n.R\",\"fields\":[]}", "");
    expect_read("{\"type\":\"record\",\"name\":\"S\",\"aliases\":[\"old.R\"],\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"old.R\",\"fields\":[]}", "");
    expect_read("{\"type\":\"record\",\"name\":\"S\",\"aliases\":[\"old.R\"],\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"other.R\",\"fields\":[]}", "NAME_MISMATCH");
    /* Writer aliases do not count. */
    expect_read("{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}",
                "{\"type\":\"record\",\"name\":\"R\",\"aliases\":[\"S\"],\"fields\":[]}",
                "NAME_MISMATCH");
}

static void test_compat_nested_records_located_at_definition(void **state)
{
    chan_compat_report *rep = chan_compat_report_new();
    const chan_compat_issue *is = only_issue(
        REC("{\"name\":\"ship\",\"type\":{\"type\":\"record\",\"name\":\"Addr\",\"fields\":["
            "{\"name\":\"zip\",\"type\":\"string\"},{\"name\":\"country\",\"type\":\"string\"}]}},"
            "{\"name\":\"bill\",\"type\":\"Addr\"}"),
        REC("{\"name\":\"ship\",\"type\":{\"type\":\"record\",\"name\":\"Addr\",\"fields\":["
            "{\"name\":\"zip\",\"type\":\"string\"}]}},{\"name\":\"bill\",\"type\":\"Addr\"}"),
        rep);

    /* Reported once, at the definition, although Addr is used twice. */
    assert_string_equal(is->kind, "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_string_equal(is->location, "/fields/0/type/fields/1");
    assert_string_equal(is->message, "/fields/0/type/fields/1 (country): reader field has no "
                                     "default and writer lacks it");
    chan_compat_report_free(rep);
}

/*
 * A mismatch at a place that uses a named type by name is located there,
 * not at the type's definition (which may sit under another field).
 */
static void test_compat_mismatch_located_at_use(void **state)
{
    const char *reader =
        REC("{\"name\":\"ship\",\"type\":{\"type\":\"record\",\"name\":\"Addr\",\"fields\":["
            "{\"name\":\"zip\",\"type\":\"string\"}]}},{\"name\":\"bill\",\"type\":\"Addr\"},"
            "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"Addr\"}},"
            "{\"name\":\"alt\",\"type\":[\"null\",\"Addr\"],\"default\":null}");
    const char *writer =
        REC("{\"name\":\"ship\",\"type\":{\"type\":\"record\",\"name\":\"Addr\",\"fields\":["
            "{\"name\":\"zip\",\"type\":\"string\"}]}},{\"name\":\"bill\",\"type\":\"string\"},"
            "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
            "{\"name\":\"alt\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"Addr2\","
            "\"aliases\":[\"Addr\"],\"symbols\":[\"A\"]}],\"default\":null}");
    chan_avro_schema *r = parse_ok(reader), *w = parse_ok(writer);
    chan_compat_report *rep = chan_compat_report_new();

    assert_false(chan_avro_can_read(r, w, rep));
    assert_int_equal(chan_compat_report_count(rep), 3);
    assert_string_equal(chan_compat_report_get(rep, 0)->location, "/fields/1/type");
    assert_string_equal(chan_compat_report_get(rep, 0)->message,
                        "/fields/1/type (bill): reader type \"Addr\" cannot read writer type "
                        "\"string\"");
    assert_string_equal(chan_compat_report_get(rep, 1)->location, "/fields/2/type/items");
    assert_string_equal(chan_compat_report_get(rep, 2)->kind, "MISSING_UNION_BRANCH");
    assert_string_equal(chan_compat_report_get(rep, 2)->location, "/fields/3/type");
    chan_compat_report_free(rep);
    chan_avro_schema_free(r);
    chan_avro_schema_free(w);
}

static void test_compat_recursive_types(void **state)
{
    const char *list_v1 = "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
                          "{\"name\":\"v\",\"type\":\"int\"},"
                          "{\"name\":\"next\",\"type\":[\"null\",\"L\"],\"default\":null}]}";
    const char *list_v2 = "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
                          "{\"name\":\"v\",\"type\":\"long\"},"
                          "{\"name\":\"next\",\"type\":[\"null\",\"L\"],\"default\":null}]}";
    const char *list_v3 =
        "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
        "{\"name\":\"v\",\"type\":\"int\"},{\"name\":\"tag\",\"type\":\"string\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"L\"],\"default\":null}]}";
    /* Mutual recursion A -> B -> A. */
    const char *ab = "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"b\",\"type\":"
                     "[\"null\",{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"a\","
                     "\"type\":[\"null\",\"A\"]}]}]}]}";

    expect_read(list_v1, list_v1, "");
    expect_read(list_v2, list_v1, "");
    expect_read(list_v1, list_v2, "TYPE_MISMATCH");
    expect_read(list_v3, list_v1, "READER_FIELD_MISSING_DEFAULT_VALUE");
    expect_read(list_v1, list_v3, "");
    expect_read(ab, ab, "");
}

/* ------------------------------------------------------------------ */
/* Compatibility: enums, fixed, arrays, maps                           */
/* ------------------------------------------------------------------ */

static void test_compat_enums(void **state)
{
    const char *abc = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}";
    const char *ab = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}";
    const char *ab_def =
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"],\"default\":\"A\"}";
    chan_compat_report *rep = chan_compat_report_new();
    const chan_compat_issue *is;

    expect_read(abc, ab, "");
    expect_read(ab, abc, "MISSING_ENUM_SYMBOLS");
    expect_read(ab_def, abc, "");
    expect_read("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"C\",\"B\",\"A\"]}", abc, "");
    expect_read("{\"type\":\"enum\",\"name\":\"F\",\"symbols\":[\"A\",\"B\"]}", ab,
                "NAME_MISMATCH");
    is = only_issue(ab, abc, rep);
    assert_string_equal(is->location, "");
    assert_string_equal(is->message,
                        "/: reader enum \"E\" lacks writer symbol [C] and has no default");
    chan_compat_report_free(rep);
}

static void test_compat_fixed(void **state)
{
    expect_read("{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}",
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}", "");
    expect_read("{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}",
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":8}", "FIXED_SIZE_MISMATCH");
    expect_read("{\"type\":\"fixed\",\"name\":\"G\",\"size\":16}",
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}", "NAME_MISMATCH");
    expect_read("{\"type\":\"fixed\",\"name\":\"G\",\"size\":4}",
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}",
                "NAME_MISMATCH FIXED_SIZE_MISMATCH");
    expect_read("\"bytes\"", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}", "TYPE_MISMATCH");
}

static void test_compat_arrays_and_maps(void **state)
{
    expect_read("{\"type\":\"array\",\"items\":\"long\"}", "{\"type\":\"array\",\"items\":\"int\"}",
                "");
    expect_read("{\"type\":\"array\",\"items\":\"int\"}", "{\"type\":\"array\",\"items\":\"long\"}",
                "TYPE_MISMATCH");
    expect_read("{\"type\":\"map\",\"values\":\"double\"}",
                "{\"type\":\"map\",\"values\":\"float\"}", "");
    expect_read("{\"type\":\"map\",\"values\":\"string\"}", "{\"type\":\"map\",\"values\":\"int\"}",
                "TYPE_MISMATCH");
    /* Nested: array of records. */
    expect_read("{\"type\":\"array\",\"items\":" REC("{\"name\":\"a\",\"type\":\"int\"},"
                                                     "{\"name\":\"b\",\"type\":\"int\"}") "}",
                "{\"type\":\"array\",\"items\":" REC("{\"name\":\"a\",\"type\":\"int\"}") "}",
                "READER_FIELD_MISSING_DEFAULT_VALUE");
}

/* ------------------------------------------------------------------ */
/* Compatibility: unions                                               */
/* ------------------------------------------------------------------ */

static void test_compat_unions(void **state)
{
    /* Reader union, writer non-union: some branch must read it. */
    expect_read("[\"null\",\"string\"]", "\"string\"", "");
    expect_read("[\"null\",\"long\"]", "\"int\"", "");
    expect_read("[\"null\",\"string\"]", "\"int\"", "MISSING_UNION_BRANCH");
    /* Writer union, reader non-union: every branch must be readable. */
    expect_read("\"string\"", "[\"null\",\"string\"]", "TYPE_MISMATCH");
    expect_read("\"long\"", "[\"int\",\"long\"]", "");
    expect_read("\"double\"", "[\"int\",\"float\",\"string\"]", "TYPE_MISMATCH");
    /* Both unions: every writer branch needs a reader branch. */
    expect_read("[\"null\",\"string\",\"int\"]", "[\"null\",\"string\"]", "");
    expect_read("[\"null\",\"string\"]", "[\"null\",\"string\",\"int\"]", "MISSING_UNION_BRANCH");
    expect_read("[\"null\",\"double\"]", "[\"null\",\"int\",\"float\"]", "");
    expect_read("[\"string\"]", "[\"bytes\",\"string\",\"int\",\"boolean\"]",
                "MISSING_UNION_BRANCH MISSING_UNION_BRANCH");
    /* Named branches match by name; the chosen branch is then resolved. */
    expect_read("[\"null\"," REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                 "\"int\",\"default\":0}") "]",
                REC("{\"name\":\"a\",\"type\":\"int\"}"), "");
    expect_read("[\"null\"," REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                 "\"int\"}") "]",
                "[\"null\"," REC("{\"name\":\"a\",\"type\":\"int\"}") "]",
                "READER_FIELD_MISSING_DEFAULT_VALUE");
    expect_read("[\"null\",{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}]",
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}", "MISSING_UNION_BRANCH");
    /* Exact branch first, then promotion. */
    expect_read("[\"string\",\"bytes\"]", "\"bytes\"", "");
    expect_read("[\"float\",\"long\"]", "\"long\"", "");
}

/*
 * A reader union may hold several named types with the same unqualified
 * name (in different namespaces).  The branch with the writer's full name
 * reads it; failing that, the first same-named (or aliased) branch that can
 * read it, as in Avro Java's SchemaCompatibility.
 */
static void test_compat_union_named_branch_choice(void **state)
{
    const char *reader =
        "[\"null\",{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[{\"name\":\"x\",\"type\":"
        "\"int\"}]},{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[{\"name\":\"y\",\"type\":"
        "\"int\"}]}]";

    /* Exact full name, although b.R comes first. */
    expect_read(reader,
                "{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[{\"name\":\"y\",\"type\":"
                "\"int\"}]}",
                "");
    expect_read(reader,
                "[\"null\",{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[{\"name\":"
                "\"y\",\"type\":\"int\"}]}]",
                "");
    /* No full-name match: the first same-named branch that can read it. */
    expect_read(reader,
                "{\"type\":\"record\",\"name\":\"c.R\",\"fields\":[{\"name\":\"y\",\"type\":"
                "\"int\"}]}",
                "");
    /* None can: the issues of the first candidate are reported. */
    expect_read(reader,
                "{\"type\":\"record\",\"name\":\"c.R\",\"fields\":[{\"name\":\"z\",\"type\":"
                "\"int\"}]}",
                "READER_FIELD_MISSING_DEFAULT_VALUE");
    /* An alias counts as a name, also for the choice. */
    expect_read("[{\"type\":\"record\",\"name\":\"S\",\"aliases\":[\"R\"],\"fields\":[{\"name\":"
                "\"x\",\"type\":\"int\"}]},{\"type\":\"record\",\"name\":\"n.R\",\"fields\":[]}]",
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}", "");
    /* Recursive candidates: b.R reads c.R only if its own field picks b.R again. */
    expect_read("[\"null\",{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[{\"name\":\"n\","
                "\"type\":[\"null\",\"a.R\"]},{\"name\":\"q\",\"type\":\"int\"}]},"
                "{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[{\"name\":\"n\",\"type\":"
                "[\"null\",\"a.R\",\"b.R\"]}]}]",
                "{\"type\":\"record\",\"name\":\"c.R\",\"fields\":[{\"name\":\"n\",\"type\":"
                "[\"null\",\"c.R\"]}]}",
                "");
}

static void test_compat_union_messages(void **state)
{
    chan_compat_report *rep = chan_compat_report_new();
    const chan_compat_issue *is =
        only_issue(REC("{\"name\":\"u\",\"type\":[\"null\",\"string\"]}"),
                   REC("{\"name\":\"u\",\"type\":[\"null\",\"string\",\"int\"]}"), rep);

    assert_string_equal(is->kind, "MISSING_UNION_BRANCH");
    assert_string_equal(is->location, "/fields/0/type");
    assert_string_equal(is->message, "/fields/0/type (u): reader union has no branch for "
                                     "writer union branch 2 (\"int\")");
    chan_compat_report_free(rep);
}

/* ------------------------------------------------------------------ */
/* Compatibility: logical types                                        */
/* ------------------------------------------------------------------ */

static void test_compat_logical_types(void **state)
{
    const char *d92 =
        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}";
    const char *d93 =
        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":3}";
    const char *d102 =
        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}";
    const char *fd92 = "{\"type\":\"fixed\",\"name\":\"D\",\"size\":8,\"logicalType\":\"decimal\","
                       "\"precision\":9,\"scale\":2}";
    const char *fd93 = "{\"type\":\"fixed\",\"name\":\"D\",\"size\":8,\"logicalType\":\"decimal\","
                       "\"precision\":9,\"scale\":3}";

    expect_read(d92, d92, "");
    expect_read(d92, d93, "DECIMAL_MISMATCH");
    expect_read(d93, d92, "DECIMAL_MISMATCH");
    expect_read(d102, d92, "DECIMAL_MISMATCH");
    expect_read(d92, d102, "DECIMAL_MISMATCH");
    expect_read(fd92, fd93, "DECIMAL_MISMATCH");
    expect_read(fd92, fd92, "");
    /* Resolution is on the underlying types otherwise. */
    expect_read(d92, "\"bytes\"", "");
    expect_read("\"bytes\"", d92, "");
    expect_read(d92, "\"string\"", "");
    expect_read("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}",
                "{\"type\":\"int\",\"logicalType\":\"date\"}", "");
    expect_read("{\"type\":\"int\",\"logicalType\":\"date\"}",
                "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "TYPE_MISMATCH");
    expect_read("{\"type\":\"string\",\"logicalType\":\"uuid\"}", "\"string\"", "");
    expect_read(d92, fd92, "TYPE_MISMATCH");
}

/* ------------------------------------------------------------------ */
/* Modes                                                               */
/* ------------------------------------------------------------------ */

static void test_mode_names(void **state)
{
    chan_compat_mode m = CHAN_COMPAT_NONE;

    assert_int_equal(chan_compat_mode_parse(&m, "full_transitive"), 0);
    assert_int_equal(m, CHAN_COMPAT_FULL_TRANSITIVE);
    assert_int_equal(chan_compat_mode_parse(&m, "Backward"), 0);
    assert_int_equal(m, CHAN_COMPAT_BACKWARD);
    assert_int_equal(chan_compat_mode_parse(&m, "NONE"), 0);
    assert_int_equal(m, CHAN_COMPAT_NONE);
    assert_int_equal(chan_compat_mode_parse(&m, "sideways"), CHAN_EINVALID);
    assert_int_equal(chan_compat_mode_parse(&m, ""), CHAN_EINVALID);
    assert_int_equal(m, CHAN_COMPAT_NONE);
    assert_string_equal(chan_compat_mode_name(CHAN_COMPAT_FORWARD_TRANSITIVE),
                        "FORWARD_TRANSITIVE");
    assert_string_equal(chan_compat_mode_name((chan_compat_mode)99), "UNKNOWN");
}

typedef struct mode_case {
    chan_compat_mode mode;
    int rc;
    size_t n_issues;
} mode_case;

static void test_modes(void **state)
{
    /* v1 {a}, v2 {a=0, b=0}, v3 {b=0}: each step is FULL-compatible with the
     * one before, but v1 cannot read v3 (a is missing and v1 has no default
     * for it), so only the transitive FORWARD and FULL modes fail. */
    chan_avro_schema *v1 = parse_ok(REC("{\"name\":\"a\",\"type\":\"int\"}"));
    chan_avro_schema *v2 = parse_ok(
        REC("{\"name\":\"a\",\"type\":\"int\",\"default\":0},{\"name\":\"b\",\"type\":\"int\","
            "\"default\":0}"));
    chan_avro_schema *v3 = parse_ok(REC("{\"name\":\"b\",\"type\":\"int\",\"default\":0}"));
    const chan_avro_schema *prev[] = {v2, v1};
    static const mode_case cases[] = {
        {CHAN_COMPAT_NONE, 0, 0},
        {CHAN_COMPAT_BACKWARD, 0, 0},
        {CHAN_COMPAT_BACKWARD_TRANSITIVE, 0, 0},
        {CHAN_COMPAT_FORWARD, 0, 0},
        {CHAN_COMPAT_FORWARD_TRANSITIVE, CHAN_EINCOMPATIBLE, 1},
        {CHAN_COMPAT_FULL, 0, 0},
        {CHAN_COMPAT_FULL_TRANSITIVE, CHAN_EINCOMPATIBLE, 1},
    };
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(cases); i++) {
        chan_compat_report *rep = chan_compat_report_new();
        int rc = chan_avro_check_mode(cases[i].mode, v3, prev, 2, rep);

        if (rc != cases[i].rc || chan_compat_report_count(rep) != cases[i].n_issues)
            print_error("mode %s: rc %d issues %zu\n", chan_compat_mode_name(cases[i].mode), rc,
                        chan_compat_report_count(rep));
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(chan_compat_report_count(rep), cases[i].n_issues);
        if (cases[i].n_issues) {
            const chan_compat_issue *is = chan_compat_report_get(rep, 0);

            /* v1 (previous[1]) as reader of the new schema. */
            assert_string_equal(is->kind, "READER_FIELD_MISSING_DEFAULT_VALUE");
            assert_int_equal(is->version_index, 1);
            assert_false(is->reader_is_new);
        }
        assert_int_equal(chan_avro_check_mode(cases[i].mode, v3, prev, 2, NULL), cases[i].rc);
        chan_compat_report_free(rep);
    }
    /* No earlier version: always compatible. */
    assert_int_equal(chan_avro_check_mode(CHAN_COMPAT_FULL_TRANSITIVE, v3, NULL, 0, NULL), 0);
    chan_avro_schema_free(v1);
    chan_avro_schema_free(v2);
    chan_avro_schema_free(v3);
}

/*
 * Unions of primitives on both sides are judged from their branch kinds
 * (compat.c, simple_unions_read): every pair of such unions gets the verdict
 * that checking each writer branch on its own gives, and a refusal reports
 * each writer branch that no reader branch reads.  A decimal branch is not
 * such a primitive: its precision and scale are still compared.
 */
/* Record "R" with field "a" and a field named `name` of type `type`, with an alias or not. */
static chan_avro_schema *record_with(const char *name, const char *type, bool alias, bool swap)
{
    char *text = chan_xasprintf(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[%s{\"name\":\"%s\",\"type\":%s%s}%s]}",
        swap ? "" : "{\"name\":\"a\",\"type\":\"int\"},", name, type,
        alias ? ",\"aliases\":[\"zz\"]" : "", swap ? ",{\"name\":\"a\",\"type\":\"int\"}" : "");
    chan_avro_schema *s = parse_ok(text);

    free(text);
    return s;
}

/*
** A field whose type is checked from the keys of both records (types that
** are primitives or unions of them) gets the verdict of the full check of
** the bare types, wherever the writer field is found: at the same position,
** at another, by a name too long for its key, through a reader alias.  A
** refusal's issues come from the full check, the same with or without the
** alias.
*/
static void test_field_keys(void **state)
{
    static const char *const names[] = {"null",  "boolean", "int",   "long",
                                        "float", "double",  "bytes", "string"};
    static const char *const long_name = "a_field_name_longer_than_its_key";
    enum { N_TYPES = 256 + 2 };
    char *types[N_TYPES];
    chan_avro_schema *bare[N_TYPES], *keyed[N_TYPES], *aliased[N_TYPES], *moved[N_TYPES],
        *longer[N_TYPES];
    unsigned r, w, k;

    (void)state;
    for (r = 0; r < N_TYPES; r++) {
        chan_buf b = CHAN_BUF_INIT;

        if (r == 0) {
            chan_buf_puts(&b, "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,"
                              "\"scale\":2}");
        } else if (r < 256) {
            chan_buf_putc(&b, '[');
            for (k = 0; k < 8; k++)
                if (r & (1u << k))
                    chan_buf_printf(&b, "%s\"%s\"", b.len > 1 ? "," : "", names[k]);
            chan_buf_putc(&b, ']');
        } else if (r == 256) {
            chan_buf_puts(&b, "\"string\"");
        } else {
            chan_buf_puts(&b, "{\"type\":\"array\",\"items\":\"long\"}");
        }
        types[r] = chan_buf_take(&b);
        bare[r] = parse_ok(types[r]);
        keyed[r] = record_with("f", types[r], false, false);
        aliased[r] = record_with("f", types[r], true, false);
        moved[r] = record_with("f", types[r], false, true);
        longer[r] = record_with(long_name, types[r], false, false);
    }
    for (r = 0; r < N_TYPES; r++)
        for (w = 0; w < N_TYPES; w++) {
            bool expect = chan_avro_can_read(bare[r], bare[w], NULL);
            chan_compat_report *full = chan_compat_report_new(), *fast = chan_compat_report_new();

            assert_int_equal(chan_avro_can_read(keyed[r], keyed[w], NULL), expect);
            assert_int_equal(chan_avro_can_read(moved[r], keyed[w], NULL), expect);
            assert_int_equal(chan_avro_can_read(keyed[r], moved[w], NULL), expect);
            assert_int_equal(chan_avro_can_read(longer[r], longer[w], NULL), expect);
            assert_int_equal(chan_avro_can_read(aliased[r], keyed[w], full), expect);
            assert_int_equal(chan_avro_can_read(keyed[r], keyed[w], fast), expect);
            assert_int_equal(chan_compat_report_count(fast), chan_compat_report_count(full));
            for (k = 0; k < chan_compat_report_count(full); k++)
                assert_string_equal(chan_compat_report_get(fast, k)->message,
                                    chan_compat_report_get(full, k)->message);
            chan_compat_report_free(full);
            chan_compat_report_free(fast);
        }
    /* a reader field that no writer field is named like: its default decides */
    {
        chan_avro_schema *wr = record_with("f", "\"int\"", false, false);
        chan_avro_schema *rd = parse_ok("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                                        "{\"name\":\"a\",\"type\":\"int\"},"
                                        "{\"name\":\"g\",\"type\":\"int\",\"default\":1}]}");
        chan_avro_schema *rn = parse_ok("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                                        "{\"name\":\"a\",\"type\":\"int\"},"
                                        "{\"name\":\"g\",\"type\":\"int\"}]}");
        chan_compat_report *rep = chan_compat_report_new();

        assert_true(chan_avro_can_read(rd, wr, NULL));
        assert_false(chan_avro_can_read(rn, wr, rep));
        assert_int_equal(chan_compat_report_count(rep), 1);
        assert_string_equal(chan_compat_report_get(rep, 0)->kind,
                            "READER_FIELD_MISSING_DEFAULT_VALUE");
        chan_compat_report_free(rep);
        chan_avro_schema_free(wr);
        chan_avro_schema_free(rd);
        chan_avro_schema_free(rn);
    }
    for (r = 0; r < N_TYPES; r++) {
        chan_avro_schema_free(bare[r]);
        chan_avro_schema_free(keyed[r]);
        chan_avro_schema_free(aliased[r]);
        chan_avro_schema_free(moved[r]);
        chan_avro_schema_free(longer[r]);
        free(types[r]);
    }
}

static void test_unions_of_primitives(void **state)
{
    static const char *const names[] = {"null",  "boolean", "int",   "long",
                                        "float", "double",  "bytes", "string"};
    chan_avro_schema *prim[8], *uni[256] = {NULL};
    unsigned r, w, k;

    (void)state;
    for (k = 0; k < 8; k++) {
        char text[32];

        snprintf(text, sizeof(text), "\"%s\"", names[k]);
        prim[k] = parse_ok(text);
        assert_int_equal(prim[k]->top->kind, k);
    }
    for (r = 1; r < 256; r++) {
        chan_buf b = CHAN_BUF_INIT;

        chan_buf_putc(&b, '[');
        for (k = 0; k < 8; k++)
            if (r & (1u << k))
                chan_buf_printf(&b, "%s\"%s\"", b.len > 1 ? "," : "", names[k]);
        chan_buf_putc(&b, ']');
        uni[r] = parse_ok(chan_buf_cstr(&b));
        assert_int_equal(uni[r]->top->simple, r);
        chan_buf_dispose(&b);
    }
    for (r = 1; r < 256; r++)
        for (w = 1; w < 256; w++) {
            bool expect = true;
            size_t unread = 0;

            for (k = 0; k < 8; k++)
                if ((w & (1u << k)) && !chan_avro_can_read(uni[r], prim[k], NULL)) {
                    expect = false;
                    unread++;
                }
            assert_int_equal(chan_avro_can_read(uni[r], uni[w], NULL), expect);
            if (!expect) {
                chan_compat_report *rep = chan_compat_report_new();
                size_t i;

                assert_false(chan_avro_can_read(uni[r], uni[w], rep));
                assert_int_equal(chan_compat_report_count(rep), unread);
                for (i = 0; i < unread; i++)
                    assert_string_equal(chan_compat_report_get(rep, i)->kind,
                                        "MISSING_UNION_BRANCH");
                chan_compat_report_free(rep);
            }
        }
    for (k = 0; k < 8; k++)
        chan_avro_schema_free(prim[k]);
    for (r = 1; r < 256; r++)
        chan_avro_schema_free(uni[r]);

    {
        chan_avro_schema *dw = parse_ok("[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
                                        "\"precision\":4,\"scale\":2}]");
        chan_avro_schema *dr = parse_ok("[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
                                        "\"precision\":4,\"scale\":3}]");
        chan_compat_report *rep = chan_compat_report_new();

        assert_int_equal(dw->top->simple, 0);
        assert_false(chan_avro_can_read(dr, dw, rep));
        assert_int_equal(chan_compat_report_count(rep), 1);
        assert_string_equal(chan_compat_report_get(rep, 0)->kind, "DECIMAL_MISMATCH");
        chan_compat_report_free(rep);
        chan_avro_schema_free(dw);
        chan_avro_schema_free(dr);
    }
}

static void test_modes_backward_direction(void **state)
{
    /* New adds a field without default: BACKWARD fails (new reads old),
     * FORWARD passes (old reads new), FULL reports the BACKWARD side. */
    chan_avro_schema *old = parse_ok(REC("{\"name\":\"a\",\"type\":\"int\"}"));
    chan_avro_schema *new_ =
        parse_ok(REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}"));
    const chan_avro_schema *prev[] = {old};
    chan_compat_report *rep = chan_compat_report_new();

    assert_int_equal(chan_avro_check_mode(CHAN_COMPAT_BACKWARD, new_, prev, 1, rep),
                     CHAN_EINCOMPATIBLE);
    assert_int_equal(chan_compat_report_count(rep), 1);
    assert_true(chan_compat_report_get(rep, 0)->reader_is_new);
    assert_int_equal(chan_compat_report_get(rep, 0)->version_index, 0);
    assert_int_equal(chan_avro_check_mode(CHAN_COMPAT_FORWARD, new_, prev, 1, NULL), 0);
    assert_int_equal(chan_avro_check_mode(CHAN_COMPAT_FULL, new_, prev, 1, NULL),
                     CHAN_EINCOMPATIBLE);
    /* Non-transitive modes look at previous[0] only. */
    assert_int_equal(chan_avro_check_mode(CHAN_COMPAT_BACKWARD, old, prev, 1, NULL), 0);
    chan_compat_report_free(rep);
    chan_avro_schema_free(old);
    chan_avro_schema_free(new_);
}

/* ------------------------------------------------------------------ */
/* Field-removal rule                                                  */
/* ------------------------------------------------------------------ */

static void test_removals(void **state)
{
    chan_avro_schema *old =
        parse_ok("{\"type\":\"record\",\"name\":\"n.R\",\"fields\":["
                 "{\"name\":\"keep\",\"type\":\"int\"},"
                 "{\"name\":\"gone_ok\",\"type\":\"int\",\"default\":0,\"deprecated\":true},"
                 "{\"name\":\"gone_plain\",\"type\":\"int\",\"default\":0},"
                 "{\"name\":\"gone_nodef\",\"type\":\"int\",\"deprecated\":true},"
                 "{\"name\":\"renamed\",\"type\":\"int\"},"
                 "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
                 "{\"name\":\"x\",\"type\":\"int\"}]}}]}");
    chan_avro_schema *new_ = parse_ok(
        "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":["
        "{\"name\":\"keep\",\"type\":\"int\"},"
        "{\"name\":\"now\",\"type\":\"int\",\"aliases\":[\"renamed\"]},"
        "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"S2\",\"aliases\":[\"n.S\"],"
        "\"fields\":[]}}]}");
    chan_avro_schema *grown =
        parse_ok("{\"type\":\"record\",\"name\":\"n.R\",\"fields\":["
                 "{\"name\":\"keep\",\"type\":\"int\"},"
                 "{\"name\":\"gone_ok\",\"type\":\"int\",\"default\":0,\"deprecated\":true},"
                 "{\"name\":\"gone_plain\",\"type\":\"int\",\"default\":0},"
                 "{\"name\":\"gone_nodef\",\"type\":\"int\",\"deprecated\":true},"
                 "{\"name\":\"renamed\",\"type\":\"int\"},"
                 "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
                 "{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"y\",\"type\":\"int\"}]}},"
                 "{\"name\":\"extra\",\"type\":\"int\"}]}");
    chan_compat_report *rep = chan_compat_report_new();
    char *got;

    assert_false(chan_avro_check_removals(new_, old, rep));
    got = kinds(rep);
    assert_string_equal(got, "FIELD_REMOVED_NOT_DEPRECATED FIELD_REMOVED_WITHOUT_DEFAULT "
                             "FIELD_REMOVED_NOT_DEPRECATED");
    free(got);
    assert_string_equal(chan_compat_report_get(rep, 0)->location, "/fields/2");
    assert_string_equal(chan_compat_report_get(rep, 0)->message,
                        "/fields/2 (gone_plain): field of record \"n.R\" was removed without "
                        "being marked \"deprecated\": true in the previous version");
    assert_string_equal(chan_compat_report_get(rep, 1)->location, "/fields/3");
    /* S continues as S2 through its alias; its x was removed. */
    assert_string_equal(chan_compat_report_get(rep, 2)->location, "/fields/5/type/fields/0");
    assert_true(chan_avro_check_removals(old, old, NULL));
    assert_true(chan_avro_check_removals(grown, old, NULL)); /* additions are not removals */
    assert_false(chan_avro_check_removals(new_, old, NULL));
    chan_compat_report_free(rep);
    chan_avro_schema_free(old);
    chan_avro_schema_free(new_);
    chan_avro_schema_free(grown);
}

/* The value at JSON pointer p in root, or NULL when p leads nowhere. */
static const avro_json *json_at(const avro_json *root, const char *p)
{
    const avro_json *v = root;

    while (*p == '/') {
        chan_buf seg = CHAN_BUF_INIT;
        const avro_json *next = NULL;

        for (p++; *p && *p != '/'; p++) {
            if (*p == '~')
                chan_buf_putc(&seg, *++p == '0' ? '~' : '/');
            else
                chan_buf_putc(&seg, *p);
        }
        if (v->type == AVRO_JSON_OBJECT) {
            next = chan_avro__json_get(v, chan_buf_cstr(&seg));
        } else if (v->type == AVRO_JSON_ARRAY) {
            unsigned long i = strtoul(chan_buf_cstr(&seg), NULL, 10);

            next = i < v->len ? &v->u.items[i] : NULL;
        }
        chan_buf_dispose(&seg);
        if ((v = next) == NULL)
            return NULL;
    }
    return *p ? NULL : v;
}

static void test_node_pointers(void **state)
{
    /* Every node's pointer leads to the JSON that defines it, whether it is
     * made alone or with its siblings (the types of a record's fields, the
     * branches of a union), first or last. */
    const char *text =
        "{\"type\":\"record\",\"name\":\"R\",\"a/b~\":{\"x\":[1,{\"type\":\"int\"}]},"
        "\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"b\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"S\",\"fields\":["
        "{\"name\":\"c\",\"type\":{\"type\":\"array\",\"items\":[\"S\",\"long\"]}}]},"
        "{\"type\":\"map\",\"x~y\":[],\"values\":{\"type\":\"string\"}}]},"
        "{\"name\":\"d\",\"type\":\"S\"},"
        "{\"name\":\"e\",\"doc\":\"x\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
        "\"symbols\":[\"A\"]}},"
        "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}}]}";
    chan_compat_report *rep;
    chan_avro_schema *s, *reader, *writer;
    chan_buf r = CHAN_BUF_INIT, w = CHAN_BUF_INIT;
    size_t i, k;
    char want[64];

    for (k = 0; k < 2; k++) {
        s = parse_ok(text);
        assert_true(s->n_nodes > 10);
        for (i = 0; i < s->n_nodes; i++) {
            const avro_node *n = s->nodes[k == 0 ? i : s->n_nodes - 1 - i];
            const char *p = chan_avro__pointer(n);

            if (json_at(s->root, p) != n->json)
                print_error("node of kind %d: pointer \"%s\"\n", n->kind, p);
            assert_ptr_equal(json_at(s->root, p), n->json);
            assert_ptr_equal(chan_avro__pointer(n), p); /* made once */
        }
        assert_string_equal(chan_avro__pointer(s->top->fields[1].type->branches[2]),
                            "/fields/1/type/2");
        chan_avro_schema_free(s);
    }

    /* An issue at each field of a wide record is located at that field. */
    chan_buf_puts(&r, "{\"type\":\"record\",\"name\":\"W\",\"fields\":[");
    chan_buf_puts(&w, "{\"type\":\"record\",\"name\":\"W\",\"fields\":[");
    for (i = 0; i < 3000; i++) {
        chan_buf_printf(&r, "%s{\"name\":\"f%zu\",\"type\":\"int\"}", i ? "," : "", i);
        chan_buf_printf(&w, "%s{\"name\":\"f%zu\",\"type\":\"string\"}", i ? "," : "", i);
    }
    chan_buf_puts(&r, "]}");
    chan_buf_puts(&w, "]}");
    reader = parse_ok(chan_buf_cstr(&r));
    writer = parse_ok(chan_buf_cstr(&w));
    rep = chan_compat_report_new();
    assert_false(chan_avro_can_read(reader, writer, rep));
    assert_int_equal(chan_compat_report_count(rep), 3000);
    for (i = 0; i < 3000; i++) {
        snprintf(want, sizeof(want), "/fields/%zu/type", i);
        assert_string_equal(chan_compat_report_get(rep, i)->location, want);
    }
    chan_compat_report_free(rep);
    chan_avro_schema_free(reader);
    chan_avro_schema_free(writer);
    chan_buf_dispose(&r);
    chan_buf_dispose(&w);
}

static void test_report_accessors(void **state)
{
    chan_compat_report *rep = chan_compat_report_new();

    assert_int_equal(chan_compat_report_count(rep), 0);
    assert_null(chan_compat_report_get(rep, 0));
    assert_int_equal(chan_compat_report_count(NULL), 0);
    chan_compat_report_free(rep);
    chan_compat_report_free(NULL);
    chan_avro_schema_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_primitives),
        cmocka_unit_test(test_parse_namespaces_and_fullnames),
        cmocka_unit_test(test_parse_recursive_and_complex),
        cmocka_unit_test(test_parse_defaults_accepted),
        cmocka_unit_test(test_parse_logical_types),
        cmocka_unit_test(test_canonical_form_and_fingerprints),
        cmocka_unit_test(test_canonical_strips_and_orders),
        cmocka_unit_test(test_reject_bad_json),
        cmocka_unit_test(test_reject_unknown_types),
        cmocka_unit_test(test_reject_names),
        cmocka_unit_test(test_reject_duplicates_and_redefinitions),
        cmocka_unit_test(test_reject_unions),
        cmocka_unit_test(test_empty_union),
        cmocka_unit_test(test_reject_fixed_and_enum),
        cmocka_unit_test(test_reject_bad_defaults),
        cmocka_unit_test(test_avro_c_gate),
        cmocka_unit_test(test_reject_hostile_input),
        cmocka_unit_test(test_compat_deep_references),
        cmocka_unit_test(test_compat_promotions),
        cmocka_unit_test(test_compat_type_mismatch_message),
        cmocka_unit_test(test_compat_record_fields),
        cmocka_unit_test(test_compat_reports_every_issue),
        cmocka_unit_test(test_compat_record_names),
        cmocka_unit_test(test_compat_nested_records_located_at_definition),
        cmocka_unit_test(test_compat_mismatch_located_at_use),
        cmocka_unit_test(test_compat_recursive_types),
        cmocka_unit_test(test_compat_enums),
        cmocka_unit_test(test_compat_fixed),
        cmocka_unit_test(test_compat_arrays_and_maps),
        cmocka_unit_test(test_compat_unions),
        cmocka_unit_test(test_compat_union_named_branch_choice),
        cmocka_unit_test(test_compat_union_messages),
        cmocka_unit_test(test_compat_logical_types),
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_modes_backward_direction),
        cmocka_unit_test(test_unions_of_primitives),
        cmocka_unit_test(test_field_keys),
        cmocka_unit_test(test_removals),
        cmocka_unit_test(test_node_pointers),
        cmocka_unit_test(test_report_accessors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
