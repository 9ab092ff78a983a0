/*
 * reply_cache.c - chanregd's cache of whole read replies (see reply_cache.h).
 *
 * A hash table of entries chained per bucket, doubled when it holds more
 * entries than buckets, and a doubly linked list in use order for
 * eviction.  The cache remembers the latest store generation it has seen:
 * a lookup or a store at a later generation first empties the cache (every
 * entry is then out of date), and a store at an earlier one is dropped.
 * Entries are unlinked under the lock and freed after it is released.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "chan/authz.h"
#include "chan/common.h"

#include "reply_cache.h"

#define MIN_BUCKETS 1024

struct chand_reply_cached {
    atomic_uint refs; /* the cache's own (while linked) plus one per hit being sent */
    struct chand_reply_cached *chain;
    struct chand_reply_cached *prev, *next; /* use order, most recent first */
    uint64_t hash;
    uint64_t generation;
    int64_t second;
    char *key;
    size_t key_len;
    unsigned int status;
    char *content_type;
    char **headers; /* name, value, name, value, ... */
    size_t n_headers;
    char *body;
    size_t body_len;
    size_t size; /* counted against the bound */
};

struct chand_reply_cache {
    pthread_mutex_t lock;
    chand_reply_cached **buckets;
    size_t n_buckets; /* a power of two */
    chand_reply_cached *head, *tail;
    size_t n, bytes, max_bytes, max_entry;
    uint64_t generation; /* the latest seen */
    uint64_t hits, misses, stores;
};

/*
** A hash of the key, eight bytes at a step (every request hashes its key):
** each word is multiplied in, and a final mix spreads the high bits down to
** the bucket bits.
*/
static uint64_t hash_of(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = UINT64_C(14695981039346656037) ^ ((uint64_t)len * UINT64_C(0x9E3779B97F4A7C15));
    uint64_t w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0xBF58476D1CE4E5B9);
        h ^= h >> 31;
    }
    w = 0;
    if (len > 0)
        memcpy(&w, p, len);
    h = (h ^ w) * UINT64_C(0x94D049BB133111EB);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 32;
    return h;
}

chand_reply_cache *chand_reply_cache_new(size_t max_bytes)
{
    chand_reply_cache *c;

    if (max_bytes == 0)
        return NULL;
    c = chan_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->n_buckets = MIN_BUCKETS;
    c->buckets = chan_xcalloc(c->n_buckets, sizeof(*c->buckets));
    c->max_bytes = max_bytes;
    c->max_entry = max_bytes / 8;
    return c;
}

static void entry_free(chand_reply_cached *e)
{
    for (size_t i = 0; i < 2 * e->n_headers; i++)
        free(e->headers[i]);
    free(e->headers);
    free(e->key);
    free(e->content_type);
    free(e->body);
    free(e);
}

void chand_reply_cached_release(chand_reply_cached *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
        entry_free(e);
}

/* Release a list of unlinked entries chained by next. */
static void release_list(chand_reply_cached *e)
{
    while (e != NULL) {
        chand_reply_cached *next = e->next;

        chand_reply_cached_release(e);
        e = next;
    }
}

/* Unlink e from its bucket and the use list (lock held); the caller releases it. */
static void unlink_locked(chand_reply_cache *c, chand_reply_cached *e)
{
    chand_reply_cached **pp = &c->buckets[e->hash & (c->n_buckets - 1)];

    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
    c->n--;
    c->bytes -= e->size;
}

/* Unlink every entry (lock held): the list to release, chained by next. */
static chand_reply_cached *take_all_locked(chand_reply_cache *c)
{
    chand_reply_cached *all = c->head;

    memset(c->buckets, 0, c->n_buckets * sizeof(*c->buckets));
    c->head = c->tail = NULL;
    c->n = 0;
    c->bytes = 0;
    return all;
}

void chand_reply_cache_free(chand_reply_cache *c)
{
    if (c == NULL)
        return;
    release_list(take_all_locked(c));
    pthread_mutex_destroy(&c->lock);
    free(c->buckets);
    free(c);
}

/* Append len in decimal, then c (no printf: keys are built for every request). */
static void put_count(chan_buf *key, size_t len, char c)
{
    char digits[24];
    size_t n = sizeof(digits);

    digits[--n] = c;
    do {
        digits[--n] = (char)('0' + len % 10);
        len /= 10;
    } while (len > 0);
    chan_buf_put(key, digits + n, sizeof(digits) - n);
}

static void put_field(chan_buf *key, const void *p, size_t len)
{
    put_count(key, len, ':');
    chan_buf_put(key, p, len);
}

void chand_reply_cache_key(chan_buf *key, const char *method, const char *path,
                           const char *const (*query)[2], size_t n_query, const char *content_type,
                           const void *body, size_t body_len)
{
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN];

    assert(key != NULL && method != NULL && path != NULL && content_type != NULL);
    chan_buf_grow(key, 64 + strlen(path));
    put_field(key, method, strlen(method));
    put_field(key, path, strlen(path));
    put_field(key, content_type, strlen(content_type));
    chan_buf_putc(key, 'q');
    put_count(key, n_query, ';');
    for (size_t i = 0; i < n_query; i++) {
        const char *value = query[i][1] ? query[i][1] : "";

        put_field(key, query[i][0], strlen(query[i][0]));
        put_field(key, value, strlen(value));
    }
    if (body_len > 0) {
        chan_token_digest(digest, body, body_len);
        chan_buf_putc(key, 'b');
        put_count(key, body_len, ';');
        chan_buf_put(key, digest, sizeof(digest));
    }
}

/* Empty the cache when generation is later than every one seen (lock held). */
static chand_reply_cached *advance_locked(chand_reply_cache *c, uint64_t generation)
{
    if (generation <= c->generation)
        return NULL;
    c->generation = generation;
    return take_all_locked(c);
}

chand_reply_cached *chand_reply_cache_get(chand_reply_cache *c, const void *key, size_t key_len,
                                          uint64_t generation, int64_t second)
{
    uint64_t h = hash_of(key, key_len);
    chand_reply_cached *e, *old = NULL, *stale = NULL;

    if (c == NULL)
        return NULL;
    pthread_mutex_lock(&c->lock);
    old = advance_locked(c, generation);
    for (e = c->buckets[h & (c->n_buckets - 1)]; e != NULL; e = e->chain)
        if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            break;
    if (e != NULL && (e->generation != generation || e->second != second)) {
        unlink_locked(c, e); /* out of date: it would never be served again */
        stale = e;
        e = NULL;
    }
    if (e != NULL) {
        atomic_fetch_add(&e->refs, 1);
        if (e != c->head) { /* most recently used first */
            e->prev->next = e->next;
            if (e->next)
                e->next->prev = e->prev;
            else
                c->tail = e->prev;
            e->prev = NULL;
            e->next = c->head;
            c->head->prev = e;
            c->head = e;
        }
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    release_list(old);
    chand_reply_cached_release(stale);
    return e;
}

/* Double the buckets (lock held). */
static void grow_locked(chand_reply_cache *c)
{
    size_t n = c->n_buckets * 2;
    chand_reply_cached **b = chan_xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < c->n_buckets; i++) {
        chand_reply_cached *e = c->buckets[i];

        while (e != NULL) {
            chand_reply_cached *next = e->chain;

            e->chain = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

void chand_reply_cache_put(chand_reply_cache *c, const void *key, size_t key_len,
                           uint64_t generation, int64_t second, unsigned int status,
                           const char *content_type, const char *const (*headers)[2],
                           size_t n_headers, const void *body, size_t body_len)
{
    chand_reply_cached *e, *old, *evicted = NULL, **pp;
    size_t size;

    if (c == NULL)
        return;
    size = sizeof(*e) + key_len + body_len + strlen(content_type) + 1;
    for (size_t i = 0; i < n_headers; i++)
        size += strlen(headers[i][0]) + strlen(headers[i][1]) + 2 + 2 * sizeof(char *);
    if (size > c->max_entry)
        return;
    /* Built outside the lock. */
    e = chan_xcalloc(1, sizeof(*e));
    atomic_init(&e->refs, 1);
    e->hash = hash_of(key, key_len);
    e->generation = generation;
    e->second = second;
    e->key = chan_xmalloc(key_len ? key_len : 1);
    memcpy(e->key, key, key_len);
    e->key_len = key_len;
    e->status = status;
    e->content_type = chan_xstrdup(content_type);
    e->headers = chan_xcalloc(2 * n_headers + 1, sizeof(*e->headers));
    for (size_t i = 0; i < n_headers; i++) {
        e->headers[2 * i] = chan_xstrdup(headers[i][0]);
        e->headers[2 * i + 1] = chan_xstrdup(headers[i][1]);
    }
    e->n_headers = n_headers;
    e->body = chan_xmalloc(body_len + 1);
    if (body_len > 0)
        memcpy(e->body, body, body_len);
    e->body[body_len] = '\0';
    e->body_len = body_len;
    e->size = size;

    pthread_mutex_lock(&c->lock);
    if (generation < c->generation) { /* read before a later write: out of date */
        pthread_mutex_unlock(&c->lock);
        chand_reply_cached_release(e);
        return;
    }
    old = advance_locked(c, generation);
    /* Replace an entry of the same key. */
    for (pp = &c->buckets[e->hash & (c->n_buckets - 1)]; *pp != NULL; pp = &(*pp)->chain) {
        chand_reply_cached *x = *pp;

        if (x->hash == e->hash && x->key_len == key_len && memcmp(x->key, key, key_len) == 0) {
            unlink_locked(c, x);
            x->next = evicted;
            evicted = x;
            break;
        }
    }
    while (c->bytes + size > c->max_bytes && c->tail != NULL) {
        chand_reply_cached *x = c->tail;

        unlink_locked(c, x);
        x->next = evicted;
        evicted = x;
    }
    if (c->n >= c->n_buckets)
        grow_locked(c);
    pp = &c->buckets[e->hash & (c->n_buckets - 1)];
    e->chain = *pp;
    *pp = e;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
    c->n++;
    c->bytes += size;
    c->stores++;
    pthread_mutex_unlock(&c->lock);
    release_list(old);
    release_list(evicted);
}

unsigned int chand_reply_cached_status(const chand_reply_cached *e)
{
    return e->status;
}

const char *chand_reply_cached_content_type(const chand_reply_cached *e)
{
    return e->content_type;
}

const char *chand_reply_cached_body(const chand_reply_cached *e, size_t *out_len)
{
    *out_len = e->body_len;
    return e->body;
}

size_t chand_reply_cached_n_headers(const chand_reply_cached *e)
{
    return e->n_headers;
}

void chand_reply_cached_header(const chand_reply_cached *e, size_t i, const char **name,
                               const char **value)
{
    assert(i < e->n_headers);
    *name = e->headers[2 * i];
    *value = e->headers[2 * i + 1];
}

void chand_reply_cache_get_stats(chand_reply_cache *c, chand_reply_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    out->hits = c->hits;
    out->misses = c->misses;
    out->stores = c->stores;
    out->bytes = c->bytes;
    out->entries = c->n;
    out->max_bytes = c->max_bytes;
    pthread_mutex_unlock(&c->lock);
}
