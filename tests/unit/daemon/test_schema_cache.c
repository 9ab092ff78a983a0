/*
 * test_schema_cache.c - the parsed-schema cache of chanregd: a text or an id
 * is parsed once, the bounds hold, and an evicted entry stays valid for the
 * handles still out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "schema_cache.h"

static const char *const RECORD = "{\"type\":\"record\",\"name\":\"R\",\"fields\":"
                                  "[{\"name\":\"a\",\"type\":\"int\"}]}";

static int reset(void **state)
{
    (void)state;
    chand_schema_cache_configure(CHAND_SCHEMA_CACHE_BYTES_DEFAULT,
                                 CHAND_SCHEMA_CACHE_ENTRIES_DEFAULT);
    chand_schema_cache_clear();
    return 0;
}

static void test_text_parsed_once(void **state)
{
    chand_schema *a = NULL, *b = NULL;
    chan_error err = CHAN_ERROR_INIT;
    uint64_t hits0, misses0, hits, misses;

    (void)state;
    chand_schema_cache_stats(&hits0, &misses0, NULL, NULL);
    assert_int_equal(chand_schema_parse_text(&a, RECORD, strlen(RECORD), &err), 0);
    assert_int_equal(chand_schema_parse_text(&b, RECORD, strlen(RECORD), &err), 0);
    chand_schema_cache_stats(&hits, &misses, NULL, NULL);
    assert_int_equal(misses - misses0, 1);
    assert_int_equal(hits - hits0, 1);
    assert_ptr_equal(chand_schema_get(a), chand_schema_get(b));
    assert_string_equal(chan_avro_schema_name(chand_schema_get(a)), "R");
    chand_schema_release(a);
    chand_schema_release(b);
}

static void test_ids_and_texts_are_apart(void **state)
{
    chand_schema *a = NULL, *b = NULL, *c = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t entries;

    (void)state;
    assert_int_equal(chand_schema_parse_id(&a, 7, RECORD, &err), 0);
    assert_int_equal(chand_schema_parse_id(&b, 7, "\"ignored: the id is known\"", &err), 0);
    assert_ptr_equal(chand_schema_get(a), chand_schema_get(b));
    assert_int_equal(chand_schema_parse_id(&c, 8, "\"string\"", &err), 0);
    assert_string_equal(chan_avro_schema_name(chand_schema_get(c)), "string");
    chand_schema_cache_stats(NULL, NULL, &entries, NULL);
    assert_int_equal(entries, 2);
    chand_schema_release(a);
    chand_schema_release(b);
    chand_schema_release(c);
}

/* chand_schema_peek_ids for one id. */
static chand_schema *peek_one(int64_t id)
{
    chand_schema *out = NULL;

    chand_schema_peek_ids(&id, 1, &out);
    return out;
}

static void test_peek_finds_only_cached_ids(void **state)
{
    chand_schema *a = NULL, *p = NULL;
    chan_error err = CHAN_ERROR_INIT;
    uint64_t id_hits0, id_misses0, text_hits0, text_misses0, hits, misses;

    (void)state;
    chand_schema_cache_kind_stats(false, &id_hits0, &id_misses0);
    chand_schema_cache_kind_stats(true, &text_hits0, &text_misses0);
    assert_null(peek_one(9));
    assert_null(peek_one(0));
    assert_int_equal(chand_schema_parse_text(&a, RECORD, strlen(RECORD), &err), 0);
    assert_null(peek_one(9)); /* a text is not an id */
    chand_schema_release(a);
    assert_int_equal(chand_schema_parse_id(&a, 9, RECORD, &err), 0);
    p = peek_one(9);
    assert_non_null(p);
    assert_ptr_equal(chand_schema_get(p), chand_schema_get(a));
    chand_schema_release(p);
    chand_schema_release(a);
    /* A peek that finds nothing counts nothing; one that finds counts a hit. */
    chand_schema_cache_kind_stats(false, &hits, &misses);
    assert_int_equal(hits - id_hits0, 1);
    assert_int_equal(misses - id_misses0, 1);
    chand_schema_cache_kind_stats(true, &hits, &misses);
    assert_int_equal(hits - text_hits0, 0);
    assert_int_equal(misses - text_misses0, 1);
    /* Several at once: a handle for each cached id, in place, NULL for the rest. */
    {
        chand_schema *b = NULL, *out[5];
        const int64_t ids[5] = {11, 0, 12, -3, 11};

        assert_int_equal(chand_schema_parse_id(&a, 11, RECORD, &err), 0);
        assert_int_equal(chand_schema_parse_id(&b, 12, "\"int\"", &err), 0);
        chand_schema_cache_kind_stats(false, &id_hits0, NULL);
        chand_schema_peek_ids(ids, 5, out);
        assert_ptr_equal(chand_schema_get(out[0]), chand_schema_get(a));
        assert_null(out[1]);
        assert_ptr_equal(chand_schema_get(out[2]), chand_schema_get(b));
        assert_null(out[3]);
        assert_ptr_equal(chand_schema_get(out[4]), chand_schema_get(a));
        chand_schema_cache_kind_stats(false, &hits, NULL);
        assert_int_equal(hits - id_hits0, 3);
        chand_schema_release_all(out, 5);
        chand_schema_release(a);
        chand_schema_release(b);
    }
    /* Disabled: nothing is kept, so nothing is found. */
    chand_schema_cache_configure(0, 0);
    assert_null(peek_one(9));
    assert_int_equal(chand_schema_parse_id(&a, 10, RECORD, &err), 0);
    assert_null(peek_one(10));
    chand_schema_release(a);
}

/* An adopted id shares the text's parsed schema: counted once, alive while either is. */
static void test_adopted_id_shares_the_parsed_schema(void **state)
{
    chand_schema *a = NULL, *b = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t entries0, bytes0, entries, bytes;
    uint64_t hits0, misses0, hits, misses;

    (void)state;
    assert_int_equal(chand_schema_parse_text(&a, RECORD, strlen(RECORD), &err), 0);
    chand_schema_cache_stats(&hits0, &misses0, &entries0, &bytes0);
    chand_schema_adopt_id(a, 41);
    chand_schema_cache_stats(&hits, &misses, &entries, &bytes);
    assert_int_equal(entries, entries0 + 1);
    assert_true(bytes - bytes0 < 256); /* the entry alone, not a second schema */
    assert_true(hits == hits0 && misses == misses0);
    chand_schema_adopt_id(a, 41); /* known already: nothing */
    chand_schema_cache_stats(NULL, NULL, &entries, NULL);
    assert_int_equal(entries, entries0 + 1);

    b = peek_one(41);
    assert_non_null(b);
    assert_ptr_equal(chand_schema_get(b), chand_schema_get(a));
    chand_schema_release(a);
    /* the text's entry goes, the id's keeps the schema and now counts it */
    chand_schema_cache_configure(bytes0, 1);
    chand_schema_cache_stats(NULL, NULL, &entries, &bytes);
    assert_int_equal(entries, 1);
    assert_true(bytes > chan_avro_schema_memory(chand_schema_get(b)));
    assert_string_equal(chan_avro_schema_name(chand_schema_get(b)), "R");
    chand_schema_release(b);
    chand_schema_cache_clear();
    chand_schema_cache_stats(NULL, NULL, &entries, &bytes);
    assert_int_equal(entries, 0);
    assert_int_equal(bytes, 0);
}

static void test_invalid_text_is_not_cached(void **state)
{
    chand_schema *a = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t entries;

    (void)state;
    assert_int_equal(chand_schema_parse_text(&a, "{\"type\":\"strng\"}", 16, &err), CHAN_EINVALID);
    assert_null(a);
    assert_true(err.message[0] != '\0');
    chand_schema_cache_stats(NULL, NULL, &entries, NULL);
    assert_int_equal(entries, 0);
}

static void test_bounds_and_eviction_of_entries_in_use(void **state)
{
    chand_schema *held = NULL, *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t entries, bytes;
    char text[64];

    (void)state;
    chand_schema_cache_configure(CHAND_SCHEMA_CACHE_BYTES_DEFAULT, 3);
    assert_int_equal(chand_schema_parse_id(&held, 1, RECORD, &err), 0);
    for (int i = 2; i <= 10; i++) {
        snprintf(text, sizeof(text), "{\"type\":\"fixed\",\"name\":\"F%d\",\"size\":%d}", i, i);
        assert_int_equal(chand_schema_parse_id(&s, i, text, &err), 0);
        chand_schema_release(s);
        chand_schema_cache_stats(NULL, NULL, &entries, NULL);
        assert_true(entries <= 3);
    }
    /* Evicted long ago, still usable by its holder. */
    assert_string_equal(chan_avro_schema_name(chand_schema_get(held)), "R");
    chand_schema_release(held);

    /* The byte bound: nothing larger than it is kept. */
    chand_schema_cache_configure(100, 10);
    chand_schema_cache_stats(NULL, NULL, &entries, &bytes);
    assert_int_equal(entries, 0);
    assert_int_equal(chand_schema_parse_text(&s, RECORD, strlen(RECORD), &err), 0);
    chand_schema_cache_stats(NULL, NULL, &entries, &bytes);
    assert_int_equal(entries, 0);
    assert_int_equal(bytes, 0);
    chand_schema_release(s);

    /* 0 entries: no cache, every call parses. */
    chand_schema_cache_configure(CHAND_SCHEMA_CACHE_BYTES_DEFAULT, 0);
    assert_int_equal(chand_schema_parse_text(&s, RECORD, strlen(RECORD), &err), 0);
    chand_schema_cache_stats(NULL, NULL, &entries, NULL);
    assert_int_equal(entries, 0);
    chand_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text_parsed_once, reset),
        cmocka_unit_test_setup(test_ids_and_texts_are_apart, reset),
        cmocka_unit_test_setup(test_peek_finds_only_cached_ids, reset),
        cmocka_unit_test_setup(test_adopted_id_shares_the_parsed_schema, reset),
        cmocka_unit_test_setup(test_invalid_text_is_not_cached, reset),
        cmocka_unit_test_setup(test_bounds_and_eviction_of_entries_in_use, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    chand_schema_cache_clear();
    return rc;
}
