/*
 * test_diff.c - chan_avro_diff_compute: the field-level difference between
 * two Avro schemas that the web UI shows (unit.avro.diff).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chan/avro.h"

static chan_avro_schema *parse(const char *json)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_avro_schema_parse(&s, json, strlen(json), &err), 0);
    return s;
}

static chan_avro_diff *diff_of(const char *old_json, const char *new_json)
{
    chan_avro_schema *o = parse(old_json), *n = parse(new_json);
    chan_avro_diff *d = chan_avro_diff_compute(o, n);

    chan_avro_schema_free(o);
    chan_avro_schema_free(n);
    return d;
}

/* The changes as "kind path old->new" lines, for one comparison. */
static void render(char *buf, size_t size, const chan_avro_diff *d)
{
    size_t i, n = 0;

    buf[0] = '\0';
    for (i = 0; i < chan_avro_diff_count(d); i++) {
        const chan_avro_change *c = chan_avro_diff_get(d, i);

        n += (size_t)snprintf(buf + n, size - n, "%s %s %s->%s\n", c->kind, c->path,
                              c->old_value ? c->old_value : "-", c->new_value ? c->new_value : "-");
        assert_true(n < size);
    }
}

#define ORDER_V1                                                                                   \
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"acme\",\"fields\":["                  \
    "{\"name\":\"id\",\"type\":\"string\"},"                                                       \
    "{\"name\":\"amount\",\"type\":\"int\"},"                                                      \
    "{\"name\":\"ref\",\"type\":[\"null\",\"string\"],\"default\":null},"                          \
    "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"         \
    "{\"name\":\"state\",\"type\":{\"type\":\"enum\",\"name\":\"State\",\"symbols\":[\"NEW\","     \
    "\"PAID\"]}}]}"

#define ORDER_V2                                                                                   \
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"acme\",\"fields\":["                  \
    "{\"name\":\"id\",\"type\":\"string\"},"                                                       \
    "{\"name\":\"amount\",\"type\":\"long\",\"default\":0},"                                       \
    "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"         \
    "{\"name\":\"state\",\"type\":{\"type\":\"enum\",\"name\":\"State\",\"symbols\":[\"NEW\","     \
    "\"SHIPPED\"],\"default\":\"NEW\"}},"                                                          \
    "{\"name\":\"lines\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\","             \
    "\"name\":\"Line\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"}]}},\"default\":[]}]}"

static void test_equal_schemas_have_no_change(void **state)
{
    chan_avro_diff *d = diff_of(ORDER_V1, ORDER_V1);

    (void)state;
    assert_int_equal(chan_avro_diff_count(d), 0);
    assert_null(chan_avro_diff_get(d, 0));
    chan_avro_diff_free(d);
}

static void test_field_changes(void **state)
{
    chan_avro_diff *d = diff_of(ORDER_V1, ORDER_V2);
    char buf[2048];

    (void)state;
    render(buf, sizeof(buf), d);
    assert_string_equal(buf, "field-type-changed acme.Order.amount int->long\n"
                             "field-default-changed acme.Order.amount -->0\n"
                             "field-removed acme.Order.ref union[null, string]->-\n"
                             "field-added acme.Order.lines -->array<acme.Line>\n"
                             "field-default-changed acme.Order.lines -->[]\n"
                             "symbol-removed acme.State PAID->-\n"
                             "symbol-added acme.State -->SHIPPED\n"
                             "enum-default-changed acme.State -->NEW\n"
                             "type-added acme.Line -->record\n");
    chan_avro_diff_free(d);

    /* and back: the opposite changes */
    d = diff_of(ORDER_V2, ORDER_V1);
    render(buf, sizeof(buf), d);
    assert_non_null(strstr(buf, "field-added acme.Order.ref -->union[null, string]\n"));
    assert_non_null(strstr(buf, "type-removed acme.Line record->-\n"));
    assert_non_null(strstr(buf, "field-type-changed acme.Order.amount long->int\n"));
    chan_avro_diff_free(d);
}

static void test_deprecation_and_top_level(void **state)
{
    chan_avro_diff *d =
        diff_of("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                "\"string\"}]}",
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                "\"string\",\"deprecated\":true,\"default\":\"\"}]}");
    char buf[1024];

    (void)state;
    render(buf, sizeof(buf), d);
    assert_string_equal(buf, "field-default-changed R.a -->\"\"\n"
                             "field-deprecated-changed R.a false->true\n");
    chan_avro_diff_free(d);

    d = diff_of("\"string\"", "{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":\"F\","
                              "\"size\":4}}");
    render(buf, sizeof(buf), d);
    assert_string_equal(buf, "type-changed  string->map<F>\ntype-added F -->fixed\n");
    chan_avro_diff_free(d);

    d = diff_of("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":8}");
    render(buf, sizeof(buf), d);
    assert_string_equal(buf, "fixed-size-changed F 4->8\n");
    chan_avro_diff_free(d);
    chan_avro_diff_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_schemas_have_no_change),
        cmocka_unit_test(test_field_changes),
        cmocka_unit_test(test_deprecation_and_top_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
