/*
 * test_json.c - the Avro module's JSON reader (json.c) against jansson,
 * which the module used before: on hand-written texts and on bounded
 * mutations of them, both accept the same texts and read the same values
 * (types, numbers, string bytes, member order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "avro_int.h"

static const char *const texts[] = {
    "{}",
    "[]",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "12",
    "-12",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1.5",
    "-1.5e3",
    "1E400",
    "-1e-400",
    "0.1e+2",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "+1",
    "\"\"",
    "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
    "\"\\u0000x\"",
    "\"\\u00e9\\u20AC\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\ude00\"",
    "\"\\ud83dx\"",
    "\"\\u12\"",
    "\"\\x\"",
    "\"tab\there\"",
    "\"caf\xc3\xa9\"",
    "\"\xc3\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xe2\x82\xac\"",
    "\"unterminated",
    "{\"a\":1,\"a\":2}",
    "{\"a\":1,\"b\":{\"a\":2}}",
    "{\"\\u0000\":1}",
    "{\"a\" 1}",
    "{\"a\":1,}",
    "[1,]",
    "[1 2]",
    "{1:2}",
    "[1,[2,[3,{\"x\":[true,false,null]}]]]",
    " \t\r\n{ \"type\" : \"record\" , \"name\" : \"R\" , \"fields\" : [ ] } \n",
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
    "\"default\":1},{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"},"
    "\"default\":{\"k1\":1,\"k2\":2}}]}",
    "[] []",
    "nul",
    "truex",
    "",
    "   ",
};

static void same_value(json_t *j, const avro_json *v)
{
    size_t i;

    switch (json_typeof(j)) {
    case JSON_NULL:
        assert_int_equal(v->type, AVRO_JSON_NULL);
        break;
    case JSON_TRUE:
        assert_int_equal(v->type, AVRO_JSON_TRUE);
        break;
    case JSON_FALSE:
        assert_int_equal(v->type, AVRO_JSON_FALSE);
        break;
    case JSON_INTEGER:
        assert_int_equal(v->type, AVRO_JSON_INTEGER);
        assert_true(v->u.i == json_integer_value(j));
        break;
    case JSON_REAL:
        assert_int_equal(v->type, AVRO_JSON_REAL);
        assert_memory_equal(&v->u.d, &(double){json_real_value(j)}, sizeof(double));
        break;
    case JSON_STRING:
        assert_int_equal(v->type, AVRO_JSON_STRING);
        assert_int_equal(v->len, json_string_length(j));
        assert_memory_equal(v->u.s, json_string_value(j), v->len);
        assert_int_equal(v->u.s[v->len], '\0');
        break;
    case JSON_ARRAY:
        assert_int_equal(v->type, AVRO_JSON_ARRAY);
        assert_int_equal(v->len, json_array_size(j));
        for (i = 0; i < v->len; i++)
            same_value(json_array_get(j, i), &v->u.items[i]);
        break;
    case JSON_OBJECT: {
        const char *key;
        json_t *value;

        assert_int_equal(v->type, AVRO_JSON_OBJECT);
        assert_int_equal(v->len, json_object_size(j));
        i = 0;
        json_object_foreach(j, key, value)
        {
            assert_string_equal(v->u.members[i].key, key); /* document order */
            same_value(value, &v->u.members[i].value);
            assert_ptr_equal(chan_avro__json_get(v, key), &v->u.members[i].value);
            i++;
        }
        break;
    }
    }
}

/* Read text with both readers; returns 1 when both accepted it. */
static int compare(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j =
        json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    avro_arena arena = {0};
    avro_json *v = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int rc = chan_avro__json_read(&v, &arena, text, len, &err);

    if ((j != NULL) != (rc == 0))
        fail_msg("jansson %s, json.c %s: %.*s (%s / %s)", j ? "accepts" : "refuses",
                 rc == 0 ? "accepts" : "refuses", (int)(len > 200 ? 200 : len), text,
                 j ? "" : jerr.text, rc == 0 ? "" : err.message);
    if (j) {
        same_value(j, v);
        json_decref(j);
    } else {
        assert_non_null(strstr(err.message, "invalid JSON at line "));
    }
    chan_avro__arena_dispose(&arena);
    return j != NULL;
}

static void test_texts(void **state)
{
    size_t i, accepted = 0;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        accepted += (size_t)compare(texts[i], strlen(texts[i]));
    /* both outcomes occur: the list exercises refusals and values */
    assert_true(accepted > 10 && accepted < sizeof(texts) / sizeof(texts[0]) - 10);
}

/* Each text with one byte replaced, dropped or duplicated, from a fixed set. */
static void test_mutations(void **state)
{
    static const char bytes[] = "{}[]\",:\\ 0-.eE1tfnu\x80\xc3";
    unsigned seed = 12345;
    size_t i, k, n = 0;
    char buf[512];

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);

        if (len == 0 || len >= sizeof(buf) - 2)
            continue;
        for (k = 0; k < 200; k++) {
            size_t at = (seed = seed * 1103515245u + 12345u) % len, m = len;
            char b = bytes[(seed >> 16) % (sizeof(bytes) - 1)];

            memcpy(buf, texts[i], len);
            switch ((seed >> 8) % 3) {
            case 0:
                buf[at] = b;
                break;
            case 1:
                memmove(buf + at, buf + at + 1, len - at - 1);
                m = len - 1;
                break;
            default:
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = b;
                m = len + 1;
                break;
            }
            buf[m] = '\0';
            compare(buf, m);
            n++;
        }
    }
    assert_true(n > 1000);
}

/* Large objects take the hash path of the duplicate check, nested in each other. */
static void test_large_objects(void **state)
{
    chan_buf b = CHAN_BUF_INIT;
    int i, k;

    (void)state;
    for (k = 0; k < 3; k++) {
        chan_buf_clear(&b);
        chan_buf_putc(&b, '{');
        for (i = 0; i < 300; i++) {
            chan_buf_printf(&b, "%s\"k%d\":", i ? "," : "", i);
            if (i == 150) { /* an inner large object between the outer's keys */
                int x;

                chan_buf_putc(&b, '{');
                for (x = 0; x < 100; x++)
                    chan_buf_printf(&b, "%s\"k%d\":%d", x ? "," : "", x, x);
                chan_buf_putc(&b, '}');
            } else {
                chan_buf_printf(&b, "%d", i);
            }
        }
        if (k == 1)
            chan_buf_puts(&b, ",\"k7\":1"); /* a duplicate after the inner object */
        if (k == 2)
            chan_buf_puts(&b, ",\"k299\":1"); /* the last key again */
        chan_buf_putc(&b, '}');
        assert_int_equal(compare(b.ptr, b.len), k == 0);
    }
    chan_buf_dispose(&b);
}

static void test_depth(void **state)
{
    chan_buf b = CHAN_BUF_INIT;
    int i;

    (void)state;
    for (i = 0; i < 5000; i++)
        chan_buf_putc(&b, '[');
    for (i = 0; i < 5000; i++)
        chan_buf_putc(&b, ']');
    assert_int_equal(compare(b.ptr, b.len), 0);
    chan_buf_clear(&b);
    for (i = 0; i < 2000; i++)
        chan_buf_putc(&b, '[');
    for (i = 0; i < 2000; i++)
        chan_buf_putc(&b, ']');
    assert_int_equal(compare(b.ptr, b.len), 1);
    chan_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_large_objects),
        cmocka_unit_test(test_depth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
