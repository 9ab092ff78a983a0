/*
 * test_reply_cache.c - chanregd's reply cache: keys tell requests apart, an
 * entry is served only at the generation (and second) it was made at, the
 * byte bound holds by evicting the least recently used entries, and an
 * entry evicted while a hit is out stays valid until released.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chan/common.h"
#include "reply_cache.h"

/* Set key to the key of a request with at most one query parameter. */
static void key_of(chan_buf *key, const char *method, const char *path, const char *q_name,
                   const char *q_value, const char *type, const char *body)
{
    const char *query[1][2] = {{q_name, q_value}};

    chan_buf_clear(key);
    chand_reply_cache_key(key, method, path, (const char *const(*)[2])query, q_name ? 1 : 0, type,
                          body, body ? strlen(body) : 0);
}

static void put_text(chand_reply_cache *c, const chan_buf *key, uint64_t gen, int64_t second,
                     const char *body)
{
    chand_reply_cache_put(c, key->ptr, key->len, gen, second, 200, "application/json", NULL, 0,
                          body, strlen(body));
}

/* The body of the entry of key at gen/second, or NULL on a miss (copied into out). */
static const char *get_text(chand_reply_cache *c, const chan_buf *key, uint64_t gen, int64_t second,
                            char *out, size_t out_size)
{
    chand_reply_cached *e = chand_reply_cache_get(c, key->ptr, key->len, gen, second);
    const char *body;
    size_t len;

    if (e == NULL)
        return NULL;
    body = chand_reply_cached_body(e, &len);
    snprintf(out, out_size, "%.*s", (int)len, body);
    chand_reply_cached_release(e);
    return out;
}

static void test_keys_differ(void **state)
{
    chan_buf a = CHAN_BUF_INIT, b = CHAN_BUF_INIT;

    (void)state;
    key_of(&a, "GET", "/subjects", NULL, NULL, "application/json", NULL);
    key_of(&b, "GET", "/subjects", NULL, NULL, "application/json", NULL);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* Method, path, query, content type and body each count. */
    key_of(&b, "POST", "/subjects", NULL, NULL, "application/json", NULL);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    key_of(&b, "GET", "/subjects/", NULL, NULL, "application/json", NULL);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    key_of(&b, "GET", "/subjects", "deleted", "true", "application/json", NULL);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    key_of(&b, "GET", "/subjects", NULL, NULL, "application/vnd.schemaregistry.v1+json", NULL);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    /* Fields cannot run into each other: "a=bc" is not "ab=c". */
    key_of(&a, "GET", "/x", "a", "bc", "t", NULL);
    key_of(&b, "GET", "/x", "ab", "c", "t", NULL);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    /* Bodies are told apart by their digest. */
    key_of(&a, "POST", "/subjects/s", NULL, NULL, "t", "{\"schema\":\"\\\"int\\\"\"}");
    key_of(&b, "POST", "/subjects/s", NULL, NULL, "t", "{\"schema\":\"\\\"long\\\"\"}");
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    chan_buf_dispose(&a);
    chan_buf_dispose(&b);
}

static void test_generation_and_second(void **state)
{
    chand_reply_cache *c = chand_reply_cache_new(1 << 20);
    chand_reply_cache_stats st;
    chan_buf k = CHAN_BUF_INIT;
    char out[64];

    (void)state;
    key_of(&k, "GET", "/v1/channels", NULL, NULL, "application/json", NULL);
    assert_null(get_text(c, &k, 5, 100, out, sizeof(out)));
    put_text(c, &k, 5, 100, "[1]");
    assert_string_equal(get_text(c, &k, 5, 100, out, sizeof(out)), "[1]");
    /* Another second: not served (and dropped). */
    assert_null(get_text(c, &k, 5, 101, out, sizeof(out)));
    assert_null(get_text(c, &k, 5, 100, out, sizeof(out)));
    put_text(c, &k, 5, 100, "[1]");
    /* The store moved: every entry is out of date. */
    assert_null(get_text(c, &k, 6, 100, out, sizeof(out)));
    /* A reply read before that move is not kept. */
    put_text(c, &k, 5, 100, "[old]");
    assert_null(get_text(c, &k, 6, 100, out, sizeof(out)));
    put_text(c, &k, 6, 100, "[2]");
    assert_string_equal(get_text(c, &k, 6, 100, out, sizeof(out)), "[2]");
    /* A store of the same key replaces the entry. */
    put_text(c, &k, 6, 100, "[3]");
    assert_string_equal(get_text(c, &k, 6, 100, out, sizeof(out)), "[3]");
    chand_reply_cache_get_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 5);
    chan_buf_dispose(&k);
    chand_reply_cache_free(c);
}

static void test_headers_and_status(void **state)
{
    chand_reply_cache *c = chand_reply_cache_new(1 << 20);
    const char *headers[2][2] = {{"Link", "</v1/channels?cursor=b>; rel=\"next\""},
                                 {"Warning", "199 - \"x\""}};
    chand_reply_cached *e;
    const char *name, *value, *body;
    chan_buf k = CHAN_BUF_INIT;
    size_t len;

    (void)state;
    key_of(&k, "GET", "/v1/channels", "limit", "1", "application/json", NULL);
    chand_reply_cache_put(c, k.ptr, k.len, 1, 0, 200, "application/vnd.schemaregistry.v1+json",
                          (const char *const(*)[2])headers, 2, "{}", 2);
    e = chand_reply_cache_get(c, k.ptr, k.len, 1, 0);
    assert_non_null(e);
    assert_int_equal(chand_reply_cached_status(e), 200);
    assert_string_equal(chand_reply_cached_content_type(e),
                        "application/vnd.schemaregistry.v1+json");
    assert_int_equal(chand_reply_cached_n_headers(e), 2);
    chand_reply_cached_header(e, 0, &name, &value);
    assert_string_equal(name, "Link");
    assert_string_equal(value, "</v1/channels?cursor=b>; rel=\"next\"");
    chand_reply_cached_header(e, 1, &name, &value);
    assert_string_equal(name, "Warning");
    body = chand_reply_cached_body(e, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(body, "{}", 2);
    chand_reply_cached_release(e);
    chan_buf_dispose(&k);
    chand_reply_cache_free(c);
}

static void test_byte_bound_and_eviction(void **state)
{
    enum { BOUND = 64 * 1024, N = 200 };
    chand_reply_cache *c = chand_reply_cache_new(BOUND);
    chand_reply_cache_stats st;
    chan_buf k = CHAN_BUF_INIT;
    char body[1024], path[32], out[8];

    (void)state;
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "/subjects/s%d", i);
        key_of(&k, "GET", path, NULL, NULL, "t", NULL);
        put_text(c, &k, 1, 0, body);
        /* Look the first one up each time: it stays the most recently used. */
        key_of(&k, "GET", "/subjects/s0", NULL, NULL, "t", NULL);
        assert_non_null(get_text(c, &k, 1, 0, out, sizeof(out)));
        chand_reply_cache_get_stats(c, &st);
        assert_true(st.bytes <= BOUND);
    }
    chand_reply_cache_get_stats(c, &st);
    assert_true(st.entries < N);
    assert_true(st.entries > 8);
    /* The most recently used entry stayed; the oldest others went. */
    key_of(&k, "GET", "/subjects/s0", NULL, NULL, "t", NULL);
    {
        chand_reply_cached *e = chand_reply_cache_get(c, k.ptr, k.len, 1, 0);

        assert_non_null(e);
        chand_reply_cached_release(e);
    }
    key_of(&k, "GET", "/subjects/s1", NULL, NULL, "t", NULL);
    assert_null(chand_reply_cache_get(c, k.ptr, k.len, 1, 0));
    key_of(&k, "GET", "/subjects/s199", NULL, NULL, "t", NULL);
    assert_non_null(get_text(c, &k, 1, 0, out, sizeof(out)));
    chan_buf_dispose(&k);
    chand_reply_cache_free(c);
}

static void test_large_entry_not_kept(void **state)
{
    chand_reply_cache *c = chand_reply_cache_new(8 * 1024);
    chand_reply_cache_stats st;
    chan_buf k = CHAN_BUF_INIT;
    char big[2048], out[8];

    (void)state;
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    key_of(&k, "GET", "/v1/channels", NULL, NULL, "t", NULL);
    put_text(c, &k, 1, 0, big); /* over an eighth of the bound */
    assert_null(get_text(c, &k, 1, 0, out, sizeof(out)));
    chand_reply_cache_get_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    chan_buf_dispose(&k);
    chand_reply_cache_free(c);
}

static void test_evicted_while_held(void **state)
{
    chand_reply_cache *c = chand_reply_cache_new(1 << 20);
    chand_reply_cached *e;
    chan_buf k = CHAN_BUF_INIT;
    const char *body;
    size_t len;

    (void)state;
    key_of(&k, "GET", "/config", NULL, NULL, "t", NULL);
    put_text(c, &k, 1, 0, "{\"compatibilityLevel\":\"BACKWARD\"}");
    e = chand_reply_cache_get(c, k.ptr, k.len, 1, 0);
    assert_non_null(e);
    /* A write empties the cache while the hit is being sent. */
    assert_null(chand_reply_cache_get(c, k.ptr, k.len, 2, 0));
    body = chand_reply_cached_body(e, &len);
    assert_memory_equal(body, "{\"compatibilityLevel\":\"BACKWARD\"}", len);
    chand_reply_cached_release(e);
    /* Also when the cache itself goes. */
    put_text(c, &k, 2, 0, "{}");
    e = chand_reply_cache_get(c, k.ptr, k.len, 2, 0);
    assert_non_null(e);
    chand_reply_cache_free(c);
    body = chand_reply_cached_body(e, &len);
    assert_memory_equal(body, "{}", len);
    chand_reply_cached_release(e);
    chan_buf_dispose(&k);
}

static void test_disabled(void **state)
{
    chand_reply_cache_stats st;
    chan_buf k = CHAN_BUF_INIT;

    (void)state;
    assert_null(chand_reply_cache_new(0));
    key_of(&k, "GET", "/subjects", NULL, NULL, "t", NULL);
    chand_reply_cache_put(NULL, k.ptr, k.len, 1, 0, 200, "t", NULL, 0, "x", 1);
    assert_null(chand_reply_cache_get(NULL, k.ptr, k.len, 1, 0));
    chand_reply_cache_get_stats(NULL, &st);
    assert_int_equal(st.hits + st.misses + st.entries, 0);
    chand_reply_cache_free(NULL);
    chan_buf_dispose(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_differ),
        cmocka_unit_test(test_generation_and_second),
        cmocka_unit_test(test_headers_and_status),
        cmocka_unit_test(test_byte_bound_and_eviction),
        cmocka_unit_test(test_large_entry_not_kept),
        cmocka_unit_test(test_evicted_while_held),
        cmocka_unit_test(test_disabled),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
