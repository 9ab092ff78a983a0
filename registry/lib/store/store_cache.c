/*
 * store_cache.c - the store's schema-by-id cache (see store_int.h): bounded
 * in entries and bytes, never stale because schema ids are immutable.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "store_int.h"

/* Total bytes of cached text and type before the cache starts over. */
#define ID_CACHE_BYTES (64 * 1024 * 1024)

/* Set up a cache of at most max_entries schemas; 0 disables it. */
void chan_store__id_cache_init(chan_store__id_cache *c, size_t max_entries)
{
    if (max_entries > CHAN_STORE_SCHEMA_CACHE_MAX)
        max_entries = CHAN_STORE_SCHEMA_CACHE_MAX;
    pthread_rwlock_init(&c->lock, NULL);
    c->max_entries = max_entries;
    if (max_entries == 0)
        return;
    c->n_slots = 16;
    c->shift = 64 - 4;
    while (c->n_slots < 2 * max_entries) {
        c->n_slots *= 2;
        c->shift--;
    }
    c->slots = chan_xcalloc(c->n_slots, sizeof(*c->slots));
}

/* Empty the cache; the caller holds the write lock (or is the only user). */
static void id_cache_clear(chan_store__id_cache *c)
{
    for (size_t i = 0; i < c->n_slots; i++) {
        free(c->slots[i].text);
        free(c->slots[i].type);
        c->slots[i].id = 0;
        c->slots[i].text = NULL;
        c->slots[i].type = NULL;
    }
    c->n = 0;
    c->bytes = 0;
}

void chan_store__id_cache_dispose(chan_store__id_cache *c)
{
    id_cache_clear(c);
    free(c->slots);
    c->slots = NULL;
    pthread_rwlock_destroy(&c->lock);
}

/* Fibonacci hashing: the top log2(n_slots) bits of id times 2^64 / phi. */
static size_t id_slot(const chan_store__id_cache *c, int64_t id)
{
    return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> c->shift);
}

/* Copy the cached schema of id into *text / *type.  Returns false on a miss. */
bool chan_store__id_cache_get(chan_store__id_cache *c, int64_t id, char **text, char **type)
{
    bool hit = false;

    assert(text != NULL);
    if (c->slots == NULL)
        return false;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = id_slot(c, id); c->slots[i].id != 0; i = (i + 1) & (c->n_slots - 1)) {
        if (c->slots[i].id == id) {
            *text = chan_xstrdup(c->slots[i].text);
            if (type != NULL)
                *type = chan_xstrdup(c->slots[i].type);
            hit = true;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return hit;
}

void chan_store__id_cache_put(chan_store__id_cache *c, int64_t id, const char *text,
                              const char *type)
{
    size_t size, i;

    assert(text != NULL && type != NULL);
    size = strlen(text) + strlen(type) + 2;
    if (c->slots == NULL || id <= 0 || size > ID_CACHE_BYTES / 16)
        return;
    pthread_rwlock_wrlock(&c->lock);
    if (c->n >= c->max_entries || c->bytes + size > ID_CACHE_BYTES)
        id_cache_clear(c);
    for (i = id_slot(c, id); c->slots[i].id != 0; i = (i + 1) & (c->n_slots - 1))
        if (c->slots[i].id == id)
            goto done; /* another thread was first */
    c->slots[i].id = id;
    c->slots[i].text = chan_xstrdup(text);
    c->slots[i].type = chan_xstrdup(type);
    c->n++;
    c->bytes += size;
done:
    pthread_rwlock_unlock(&c->lock);
}
