/*
 * schema_cache.h - chanregd's bounded cache of parsed Avro schemas.
 *
 * Parsing a schema (our parser, then the Avro C gate) costs far more than
 * checking it, and the same texts come back again and again: the versions a
 * registration is checked against, and the schema a client registers or
 * looks up at every start.  The cache keeps parsed schemas by global schema
 * id (stored texts are immutable) and by content (the exact request text of
 * a schema without references: schemaType is always AVRO, and a schema with
 * references is parsed each time, since what its references resolve to may
 * change), so that each text is parsed, and passes the Avro C gate, once; a
 * hit parses nothing.  It is bounded in entries and in the memory the
 * parsed trees take (chan_avro_schema_memory when parsed, plus the request
 * text), evicting the least recently used; entries in use stay alive until
 * released.  Thread-safe; process-wide.
 */
#ifndef CHANREGD_SCHEMA_CACHE_H
#define CHANREGD_SCHEMA_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/avro.h"
#include "chan/error.h"

/** Default bounds: bytes and entries. */
#define CHAND_SCHEMA_CACHE_BYTES_DEFAULT   ((size_t)64 * 1024 * 1024)
#define CHAND_SCHEMA_CACHE_ENTRIES_DEFAULT 4096

/** A parsed schema borrowed from the cache; give it back with chand_schema_release. */
typedef struct chand_schema chand_schema;

/**
 * Set the bounds (before serving; 0 entries disables the cache: every call
 * parses).  Without a call the defaults apply.
 */
void chand_schema_cache_configure(size_t max_bytes, size_t max_entries);

/** Drop every entry that is not in use (at exit, and in tests).  */
void chand_schema_cache_clear(void);

/**
 * The parsed schema of a request text (len bytes): from the cache when the
 * same text was parsed before, else parsed (chan_avro_schema_parse) and
 * kept.  A text that does not parse is not cached.
 * @param[out] out the schema; chand_schema_release it
 * @return 0 or CHAN_EINVALID (err as chan_avro_schema_parse's)
 */
int chand_schema_parse_text(chand_schema **out, const char *text, size_t len, chan_error *err);

/**
 * The parsed schema of stored schema id, whose text is `text`: ids are
 * immutable, so the text is parsed only on the first call for an id.
 * @return 0 or CHAN_EINVALID
 */
int chand_schema_parse_id(chand_schema **out, int64_t id, const char *text, chan_error *err);

/**
 * The parsed schemas of the n stored schema ids that the cache has (hits):
 * out[i] a handle for ids[i], else NULL (nothing is counted; also for an id
 * <= 0).  For callers that read a text only when it is missing.  One lock
 * for all, so that a check against a long subject history takes it once.
 */
void chand_schema_peek_ids(const int64_t *ids, size_t n, chand_schema **out);

/**
 * Keep the parsed schema of handle s also under stored schema id, whose
 * text is that schema's Confluent text (a registration of s's text): the
 * checks of later versions then find it without parsing the stored text.
 * Nothing happens when id is cached already.  The two entries share one
 * parsed schema, counted once.
 */
void chand_schema_adopt_id(const chand_schema *s, int64_t id);

/** The schema of a cache handle; valid until chand_schema_release. */
const chan_avro_schema *chand_schema_get(const chand_schema *s);

/** Give a handle back.  NULL-safe. */
void chand_schema_release(chand_schema *s);

/** Give the n handles of s back (NULL ones skipped) under one lock: for a
 *  check that held many. */
void chand_schema_release_all(chand_schema *const *s, size_t n);

/** Counters for /metrics and tests: hits, misses (parses), entries, estimated bytes. */
void chand_schema_cache_stats(uint64_t *hits, uint64_t *misses, size_t *entries, size_t *bytes);

/**
 * Hits and misses of one kind of entry: by_text those of request texts
 * (chand_schema_parse_text), else those of stored schemas by id
 * (chand_schema_parse_id and chand_schema_peek_ids' hits).
 */
void chand_schema_cache_kind_stats(bool by_text, uint64_t *hits, uint64_t *misses);

#endif
