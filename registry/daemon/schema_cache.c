/*
 * schema_cache.c - the parsed-schema cache (see schema_cache.h): a chained
 * hash table of entries keyed by (kind, key) - kind ID with the schema id,
 * kind TEXT with the FNV-1a hash of the text, compared in full - with an
 * LRU list, under one mutex.  An entry is reference-counted: eviction
 * unlinks it, and the last release of an unlinked entry frees it.  Entries
 * share a parsed schema (a registered text under its new id): its memory
 * counts once, while any entry of the table holds it.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "schema_cache.h"

#define N_BUCKETS 8192

typedef enum entry_kind { KIND_ID, KIND_TEXT } entry_kind;

/* A parsed schema and the entries that hold it. */
typedef struct parsed {
    chan_avro_schema *schema;
    size_t cost;           /* chan_avro_schema_memory */
    unsigned int refs;     /* entries holding it (atomic) */
    unsigned int in_table; /* of them, in the table (lock held) */
} parsed;

struct chand_schema {
    entry_kind kind;
    uint64_t key; /* id, or the hash of text */
    char *text;   /* KIND_TEXT: the text, for equality */
    size_t len;   /* of text */
    size_t cost;  /* bytes of the entry itself (and its text) */
    parsed *parsed;
    unsigned int refs; /* handles out, plus 1 while in the table */
    bool cached;
    struct chand_schema *chain;         /* next in the bucket */
    struct chand_schema *newer, *older; /* LRU list */
};

static struct {
    pthread_mutex_t lock;
    chand_schema *buckets[N_BUCKETS];
    chand_schema *newest, *oldest;
    size_t n, bytes, max_bytes, max_entries;
    uint64_t hits, misses;
    uint64_t kind_hits[2], kind_misses[2]; /* by entry_kind */
} cache = {PTHREAD_MUTEX_INITIALIZER,
           {NULL},
           NULL,
           NULL,
           0,
           0,
           CHAND_SCHEMA_CACHE_BYTES_DEFAULT,
           CHAND_SCHEMA_CACHE_ENTRIES_DEFAULT,
           0,
           0,
           {0, 0},
           {0, 0}};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static size_t bucket_of(entry_kind kind, uint64_t key)
{
    return (size_t)(((key ^ (uint64_t)kind) * 0x9e3779b97f4a7c15ULL) >> 51) % N_BUCKETS;
}

static parsed *parsed_new(chan_avro_schema *schema)
{
    parsed *p = chan_xcalloc(1, sizeof(*p));

    p->schema = schema;
    p->cost = chan_avro_schema_memory(schema) + sizeof(*p);
    p->refs = 1;
    return p;
}

static void entry_free(chand_schema *e)
{
    if (__atomic_sub_fetch(&e->parsed->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        chan_avro_schema_free(e->parsed->schema);
        free(e->parsed);
    }
    free(e->text);
    free(e);
}

/* Bytes the table grows by when e enters it (lock held). */
static size_t entry_cost(const chand_schema *e)
{
    return e->cost + (e->parsed->in_table == 0 ? e->parsed->cost : 0);
}

/* Unlink e from the LRU list (lock held). */
static void lru_unlink(chand_schema *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        cache.newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cache.oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(chand_schema *e)
{
    e->older = cache.newest;
    e->newer = NULL;
    if (cache.newest)
        cache.newest->newer = e;
    cache.newest = e;
    if (cache.oldest == NULL)
        cache.oldest = e;
}

/* Take e out of the table (lock held); frees it when no handle is out. */
static void evict(chand_schema *e)
{
    chand_schema **p = &cache.buckets[bucket_of(e->kind, e->key)];

    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    lru_unlink(e);
    e->cached = false;
    cache.n--;
    cache.bytes -= e->cost + (--e->parsed->in_table == 0 ? e->parsed->cost : 0);
    if (--e->refs == 0)
        entry_free(e);
}

/* The entry of (kind, key; text for KIND_TEXT) in the table, or NULL (lock held). */
static chand_schema *lookup(entry_kind kind, uint64_t key, const char *text, size_t len)
{
    for (chand_schema *e = cache.buckets[bucket_of(kind, key)]; e != NULL; e = e->chain) {
        if (e->kind != kind || e->key != key)
            continue;
        if (kind == KIND_TEXT && (e->len != len || memcmp(e->text, text, len) != 0))
            continue;
        return e;
    }
    return NULL;
}

/* The cached entry, as a new handle, or NULL (lock held). */
static chand_schema *find(entry_kind kind, uint64_t key, const char *text, size_t len)
{
    chand_schema *e = lookup(kind, key, text, len);

    if (e == NULL)
        return NULL;
    lru_unlink(e);
    lru_push(e);
    e->refs++;
    cache.hits++;
    cache.kind_hits[kind]++;
    return e;
}

/* Put e in the table, which then holds a reference, when it fits (lock held). */
static void table_add(chand_schema *e)
{
    size_t b;

    if (cache.max_entries == 0 || entry_cost(e) > cache.max_bytes)
        return;
    while (cache.oldest != NULL &&
           (cache.n + 1 > cache.max_entries || cache.bytes + entry_cost(e) > cache.max_bytes))
        evict(cache.oldest);
    b = bucket_of(e->kind, e->key);
    e->chain = cache.buckets[b];
    cache.buckets[b] = e;
    lru_push(e);
    e->cached = true;
    e->refs++;
    cache.n++;
    cache.bytes += entry_cost(e);
    e->parsed->in_table++;
}

/* Add e (one handle out, for the caller) unless another thread was first. */
static chand_schema *insert(chand_schema *e)
{
    chand_schema *had;

    pthread_mutex_lock(&cache.lock);
    had = find(e->kind, e->key, e->text, e->len);
    if (had != NULL) {
        cache.hits--; /* this call parsed: it counts as a miss, not a hit */
        cache.kind_hits[e->kind]--;
        pthread_mutex_unlock(&cache.lock);
        entry_free(e);
        return had;
    }
    table_add(e);
    pthread_mutex_unlock(&cache.lock);
    return e;
}

static int parse_into(chand_schema **out, entry_kind kind, uint64_t key, const char *text,
                      size_t len, chan_error *err)
{
    chand_schema *e;
    chan_avro_schema *schema = NULL;
    int error;

    pthread_mutex_lock(&cache.lock);
    e = find(kind, key, text, len);
    if (e == NULL) {
        cache.misses++;
        cache.kind_misses[kind]++;
    }
    pthread_mutex_unlock(&cache.lock);
    if (e != NULL) {
        *out = e;
        return 0;
    }
    /* a text stored under an id passed the Avro C gate when it was new */
    if ((error = chan_avro_schema_parse_opts(
             &schema, text, len, NULL, kind == KIND_ID ? CHAN_AVRO_PARSE_STORED : 0, err)) < 0)
        return error;
    e = chan_xcalloc(1, sizeof(*e));
    e->kind = kind;
    e->key = key;
    e->parsed = parsed_new(schema);
    e->refs = 1;
    e->cost = sizeof(*e);
    if (kind == KIND_TEXT) {
        e->text = chan_xmalloc(len + 1);
        memcpy(e->text, text, len);
        e->text[len] = '\0';
        e->len = len;
        e->cost += len;
    }
    *out = insert(e);
    return 0;
}

int chand_schema_parse_text(chand_schema **out, const char *text, size_t len, chan_error *err)
{
    assert(out != NULL && text != NULL);
    *out = NULL;
    return parse_into(out, KIND_TEXT, fnv1a(text, len), text, len, err);
}

int chand_schema_parse_id(chand_schema **out, int64_t id, const char *text, chan_error *err)
{
    assert(out != NULL && text != NULL);
    *out = NULL;
    if (id <= 0) /* not a stored schema: by its text */
        return chand_schema_parse_text(out, text, strlen(text), err);
    return parse_into(out, KIND_ID, (uint64_t)id, text, strlen(text), err);
}

void chand_schema_peek_ids(const int64_t *ids, size_t n, chand_schema **out)
{
    size_t i;

    assert(n == 0 || (ids != NULL && out != NULL));
    pthread_mutex_lock(&cache.lock);
    for (i = 0; i < n; i++)
        out[i] = ids[i] > 0 ? find(KIND_ID, (uint64_t)ids[i], NULL, 0) : NULL;
    pthread_mutex_unlock(&cache.lock);
}

const chan_avro_schema *chand_schema_get(const chand_schema *s)
{
    assert(s != NULL);
    return s->parsed->schema;
}

void chand_schema_adopt_id(const chand_schema *s, int64_t id)
{
    chand_schema *e = NULL;

    assert(s != NULL);
    if (id <= 0)
        return;
    /* counted as neither hit nor miss: nothing is looked up for a caller */
    pthread_mutex_lock(&cache.lock);
    if (lookup(KIND_ID, (uint64_t)id, NULL, 0) == NULL) {
        e = chan_xcalloc(1, sizeof(*e));
        e->kind = KIND_ID;
        e->key = (uint64_t)id;
        e->parsed = s->parsed;
        __atomic_add_fetch(&e->parsed->refs, 1, __ATOMIC_ACQ_REL);
        e->cost = sizeof(*e);
        table_add(e);
        if (e->cached)
            e = NULL; /* the table's now */
    }
    pthread_mutex_unlock(&cache.lock);
    if (e != NULL) /* not kept: it does not fit the bounds */
        entry_free(e);
}

void chand_schema_release(chand_schema *s)
{
    if (s != NULL)
        chand_schema_release_all(&s, 1);
}

void chand_schema_release_all(chand_schema *const *s, size_t n)
{
    chand_schema *one, **last = &one; /* the handles whose last holder this was */
    size_t i, n_last = 0;

    if (n > 1)
        last = chan_xcalloc(n, sizeof(*last));
    pthread_mutex_lock(&cache.lock);
    for (i = 0; i < n; i++)
        if (s[i] != NULL && --s[i]->refs == 0)
            last[n_last++] = s[i];
    pthread_mutex_unlock(&cache.lock);
    for (i = 0; i < n_last; i++)
        entry_free(last[i]);
    if (last != &one)
        free(last);
}

void chand_schema_cache_configure(size_t max_bytes, size_t max_entries)
{
    pthread_mutex_lock(&cache.lock);
    cache.max_bytes = max_bytes;
    cache.max_entries = max_entries;
    while (cache.oldest != NULL && (cache.n > max_entries || cache.bytes > max_bytes))
        evict(cache.oldest);
    pthread_mutex_unlock(&cache.lock);
}

void chand_schema_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    while (cache.oldest != NULL)
        evict(cache.oldest);
    pthread_mutex_unlock(&cache.lock);
}

void chand_schema_cache_stats(uint64_t *hits, uint64_t *misses, size_t *entries, size_t *bytes)
{
    pthread_mutex_lock(&cache.lock);
    if (hits)
        *hits = cache.hits;
    if (misses)
        *misses = cache.misses;
    if (entries)
        *entries = cache.n;
    if (bytes)
        *bytes = cache.bytes;
    pthread_mutex_unlock(&cache.lock);
}

void chand_schema_cache_kind_stats(bool by_text, uint64_t *hits, uint64_t *misses)
{
    entry_kind kind = by_text ? KIND_TEXT : KIND_ID;

    pthread_mutex_lock(&cache.lock);
    if (hits)
        *hits = cache.kind_hits[kind];
    if (misses)
        *misses = cache.kind_misses[kind];
    pthread_mutex_unlock(&cache.lock);
}
