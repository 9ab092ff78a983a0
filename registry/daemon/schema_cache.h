/*
 * schema_cache.h - an in-memory cache of schemas by global id.
 *
 * Schema ids are immutable: the store never reuses an id nor changes or
 * removes its text (a hard delete removes subject versions, not the schema,
 * so that old messages stay readable).  Lookups by id can therefore be
 * served from memory without asking the store.  The cache is a direct-mapped
 * table: an entry may be replaced by another id that maps to the same slot,
 * but never becomes stale.
 *
 * Thread-safe (striped locks).  Ownership: the cache copies what is put in
 * and hands copies out; free the cache with chan_schema_cache_free.
 */
#ifndef CHANREGD_SCHEMA_CACHE_H
#define CHANREGD_SCHEMA_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chan_schema_cache chan_schema_cache;

/**
 * New cache holding up to about `capacity` schemas.
 * @return the cache (free with chan_schema_cache_free), or NULL when
 *         capacity is 0 (caching disabled)
 */
chan_schema_cache *chan_schema_cache_new(size_t capacity);

/** Free the cache.  NULL-safe. */
void chan_schema_cache_free(chan_schema_cache *cache);

/**
 * Look a schema up.
 * @param[out] out_schema the schema text (caller frees)
 * @param[out] out_type   the schema type (caller frees)
 * @return true when found; false (outputs untouched) on a miss or when cache is NULL
 */
bool chan_schema_cache_get(chan_schema_cache *cache, char **out_schema, char **out_type,
                           int64_t id);

/** Remember a schema (copied).  NULL-safe. */
void chan_schema_cache_put(chan_schema_cache *cache, int64_t id, const char *schema,
                           const char *type);

#endif
