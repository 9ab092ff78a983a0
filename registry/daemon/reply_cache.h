/*
 * reply_cache.h - chanregd's cache of whole read replies.
 *
 * The server (server.c) keeps the 200 replies of the routes marked
 * cacheable in their route table (chand_route.cache): routes that write
 * nothing and whose reply depends only on the request (method, path and
 * query, negotiated content type, body), on the store and, for some, on the
 * current second.  An entry is tagged with the store's generation
 * (chan_store_generation) read before its handler ran, and with the second
 * when the reply uses the clock; it is served only while both are
 * unchanged, so a write of this daemon (or, on PostgreSQL, of another one)
 * makes every entry a miss.
 *
 * Bounded by bytes (keys, bodies and headers): the least recently used
 * entries go first, and an entry larger than an eighth of the bound is not
 * kept.  Thread-safe; the lock is held only to find, link and unlink
 * entries, never while a reply is built or sent.  Entries are reference
 * counted: one that is evicted while a hit is being sent lives until the
 * reply is sent (chand_reply_cached_release).
 */
#ifndef CHANREGD_REPLY_CACHE_H
#define CHANREGD_REPLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/common.h"

typedef struct chand_reply_cache chand_reply_cache;
/** One cached reply (immutable; reference counted). */
typedef struct chand_reply_cached chand_reply_cached;

/** Counters of a cache, for GET /metrics. */
typedef struct chand_reply_cache_stats {
    uint64_t hits;
    uint64_t misses; /**< lookups without a usable entry */
    uint64_t stores; /**< replies kept */
    size_t bytes;    /**< bytes of the entries held now */
    size_t entries;  /**< entries held now */
    size_t max_bytes;
} chand_reply_cache_stats;

/**
 * A cache of at most max_bytes bytes.
 * @return the cache, or NULL when max_bytes is 0 (every function accepts
 *         a NULL cache: lookups miss and nothing is kept)
 */
chand_reply_cache *chand_reply_cache_new(size_t max_bytes);

/** Free the cache; entries still being sent live until released.  NULL-safe. */
void chand_reply_cache_free(chand_reply_cache *c);

/**
 * Append the key of a request to key: every field is length-prefixed, so
 * that no two requests share a key; the body enters as its SHA-256.
 *
 * @param query       n_query pairs of name and value (decoded), in order
 * @param content_type the reply's negotiated content type
 * @param body        the request body (body_len bytes; may be NULL when 0)
 */
void chand_reply_cache_key(chan_buf *key, const char *method, const char *path,
                           const char *const (*query)[2], size_t n_query, const char *content_type,
                           const void *body, size_t body_len);

/**
 * The entry of key if it was stored at generation and second.  A hit is
 * referenced: release it with chand_reply_cached_release once sent.
 *
 * @param second the current second for routes that use the clock, else 0
 * @return the entry, or NULL (a miss)
 */
chand_reply_cached *chand_reply_cache_get(chand_reply_cache *c, const void *key, size_t key_len,
                                          uint64_t generation, int64_t second);

/**
 * Keep a reply (copied) under key, read at generation and second (see
 * chand_reply_cache_get).  Dropped when the cache has seen a later
 * generation, or when it is larger than an eighth of the bound.
 *
 * @param headers n_headers pairs of name and value sent with the reply
 */
void chand_reply_cache_put(chand_reply_cache *c, const void *key, size_t key_len,
                           uint64_t generation, int64_t second, unsigned int status,
                           const char *content_type, const char *const (*headers)[2],
                           size_t n_headers, const void *body, size_t body_len);

/** Drop a reference taken by chand_reply_cache_get.  NULL-safe. */
void chand_reply_cached_release(chand_reply_cached *e);

/** The status of a cached reply. */
unsigned int chand_reply_cached_status(const chand_reply_cached *e);
/** Its content type (borrowed, valid while referenced). */
const char *chand_reply_cached_content_type(const chand_reply_cached *e);
/** Its body (borrowed, valid while referenced); *out_len its length. */
const char *chand_reply_cached_body(const chand_reply_cached *e, size_t *out_len);
/** Number of its extra headers. */
size_t chand_reply_cached_n_headers(const chand_reply_cached *e);
/** Header i (name and value borrowed, valid while referenced). */
void chand_reply_cached_header(const chand_reply_cached *e, size_t i, const char **name,
                               const char **value);

/** The counters of c (all zero for NULL). */
void chand_reply_cache_get_stats(chand_reply_cache *c, chand_reply_cache_stats *out);

#endif
