/*
 * schema_cache.c - direct-mapped id -> schema cache with striped mutexes
 * (see schema_cache.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"

#include "schema_cache.h"

#define STRIPES 16

typedef struct slot {
    int64_t id; /* 0: empty (ids start at 1) */
    char *schema;
    char *type;
} slot;

struct chan_schema_cache {
    slot *slots;
    size_t mask;
    pthread_mutex_t locks[STRIPES];
};

chan_schema_cache *chan_schema_cache_new(size_t capacity)
{
    chan_schema_cache *cache;
    size_t n = 16, i;

    if (capacity == 0)
        return NULL;
    while (n < capacity && n < ((size_t)1 << 30))
        n <<= 1;
    cache = chan_xcalloc(1, sizeof(*cache));
    cache->slots = chan_xcalloc(n, sizeof(*cache->slots));
    cache->mask = n - 1;
    for (i = 0; i < STRIPES; i++)
        pthread_mutex_init(&cache->locks[i], NULL);
    return cache;
}

static void slot_clear(slot *s)
{
    free(s->schema);
    free(s->type);
    s->schema = NULL;
    s->type = NULL;
    s->id = 0;
}

void chan_schema_cache_free(chan_schema_cache *cache)
{
    size_t i;

    if (cache == NULL)
        return;
    for (i = 0; i <= cache->mask; i++)
        slot_clear(&cache->slots[i]);
    for (i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&cache->locks[i]);
    free(cache->slots);
    free(cache);
}

bool chan_schema_cache_get(chan_schema_cache *cache, char **out_schema, char **out_type, int64_t id)
{
    size_t i;
    bool found = false;

    if (cache == NULL || id <= 0)
        return false;
    i = (size_t)id & cache->mask;
    pthread_mutex_lock(&cache->locks[i % STRIPES]);
    if (cache->slots[i].id == id) {
        *out_schema = chan_xstrdup(cache->slots[i].schema);
        *out_type = chan_xstrdup(cache->slots[i].type);
        found = true;
    }
    pthread_mutex_unlock(&cache->locks[i % STRIPES]);
    return found;
}

void chan_schema_cache_put(chan_schema_cache *cache, int64_t id, const char *schema,
                           const char *type)
{
    char *s, *t;
    size_t i;
    slot old;

    if (cache == NULL || id <= 0)
        return;
    s = chan_xstrdup(schema);
    t = chan_xstrdup(type);
    i = (size_t)id & cache->mask;
    pthread_mutex_lock(&cache->locks[i % STRIPES]);
    old = cache->slots[i];
    cache->slots[i].id = id;
    cache->slots[i].schema = s;
    cache->slots[i].type = t;
    pthread_mutex_unlock(&cache->locks[i % STRIPES]);
    free(old.schema);
    free(old.type);
}
