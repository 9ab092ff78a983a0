/*
 * store.h - the registry's persistent storage.
 *
 * One interface, two backends: embedded SQLite (the default) and PostgreSQL
 * through libpq.  chan_store_open picks the backend from the URL and applies
 * the ordered SQL migrations of migrations/<backend>/ that are not yet
 * recorded in the schema_migrations table.
 *
 * Semantics every backend guarantees (checked by the conformance suite in
 * tests/unit/store/):
 *  - a function that returns 0 after a write has committed it durably;
 *  - every write runs in one transaction: all of it happens or none;
 *  - schema ids are global, immutable and stable: the same schema text gets
 *    the same id in every subject, and an id is never reused;
 *  - versions of a subject are 1, 2, 3, ... without duplicates even under
 *    concurrent writers; only writers of the same subject wait for each other;
 *  - every change of channels, consumers, schemas and configuration appends
 *    an audit entry in the same transaction; a write that changes nothing
 *    (idempotent re-registration) appends nothing.
 *
 * A chan_store may be used from several threads at once.
 *
 * Ownership: records returned through `out` parameters belong to the caller
 * and are freed with the matching _free function; arrays of records with
 * chan_store_*_list_free.  Records passed in are borrowed.
 */
#ifndef CHAN_STORE_H
#define CHAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chan_store chan_store;

/**
 * Refinements of CHAN_ENOTFOUND / CHAN_ECONFLICT / CHAN_EINVALID, stored in
 * chan_error.reason so that the HTTP layer can map them to Confluent error
 * codes (40401 subject not found, 40402 version not found, ...).
 */
typedef enum chan_store_reason {
    CHAN_STORE_R_NONE = 0,
    CHAN_STORE_R_SUBJECT_NOT_FOUND,      /**< 40401 */
    CHAN_STORE_R_VERSION_NOT_FOUND,      /**< 40402 */
    CHAN_STORE_R_SCHEMA_NOT_FOUND,       /**< 40403 */
    CHAN_STORE_R_SUBJECT_SOFT_DELETED,   /**< 40404 */
    CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED, /**< 40405 */
    CHAN_STORE_R_VERSION_SOFT_DELETED,   /**< 40406 */
    CHAN_STORE_R_VERSION_NOT_SOFT_DELETED, /**< 40407 */
    CHAN_STORE_R_CHANNEL_NOT_FOUND,
    CHAN_STORE_R_CONSUMER_NOT_FOUND,
    CHAN_STORE_R_REVISION_MISMATCH,      /**< optimistic concurrency check failed */
    CHAN_STORE_R_READ_ONLY,              /**< subject or registry mode forbids writes (42205) */
} chan_store_reason;

/** The reason of the last store error in err (0 when none or err is NULL). */
int chan_store_error_reason(const chan_error *err);

typedef struct chan_store_options {
    unsigned int version;   /**< CHAN_STORE_OPTIONS_VERSION */
    const char *migrations_dir; /**< root holding sqlite/ and postgres/; NULL: built-in default */
    unsigned int pool_size; /**< PostgreSQL connections; 0: default (8) */
    bool read_only;         /**< open without applying migrations (fails if any is pending) */
} chan_store_options;

#define CHAN_STORE_OPTIONS_VERSION 1
#define CHAN_STORE_OPTIONS_INIT {CHAN_STORE_OPTIONS_VERSION, NULL, 0, false}

/**
 * Open a store and bring its schema up to date.
 *
 * @param[out] out the store (free with chan_store_free), NULL on failure
 * @param url      "postgres://..." / "postgresql://..." (libpq URI or
 *                 "postgres:" followed by a key=value conninfo), or
 *                 "sqlite:PATH" / a plain file path for SQLite,
 *                 "sqlite::memory:" for a private in-memory database
 * @param opts     options, may be NULL for defaults
 * @return 0, CHAN_EINVALID (bad URL), CHAN_EUNAVAILABLE (cannot connect),
 *         CHAN_EIO, CHAN_EINTERNAL (a migration failed)
 */
int chan_store_open(chan_store **out, const char *url, const chan_store_options *opts,
                    chan_error *err);

/** Close every connection and free the store.  NULL-safe. */
void chan_store_free(chan_store *store);

/** "sqlite" or "postgres". */
const char *chan_store_backend_name(const chan_store *store);

/** Cheap liveness probe (a trivial query).  @return 0 or CHAN_EUNAVAILABLE */
int chan_store_ping(chan_store *store, chan_error *err);

/** Number of migrations recorded as applied. */
int chan_store_migration_count(chan_store *store, int *out, chan_error *err);

/* ------------------------------------------------------------------ */
/* Schemas and subjects (Confluent Schema Registry semantics)           */
/* ------------------------------------------------------------------ */

/** One version of a subject. */
typedef struct chan_schema_version {
    char *subject;
    int version;         /**< 1, 2, 3, ... */
    int64_t id;          /**< global schema id */
    char *schema_type;   /**< "AVRO" */
    char *schema;        /**< the schema text as registered (normalized JSON) */
    bool deleted;        /**< soft-deleted */
    int64_t created_at;  /**< unix seconds */
} chan_schema_version;

void chan_schema_version_free(chan_schema_version *v);
void chan_schema_version_list_free(chan_schema_version **list, size_t n);

/**
 * Called by chan_store_schema_register while the subject is locked, with
 * every live (not soft-deleted) version of the subject, oldest first, so that
 * the compatibility check and the insert are atomic.
 *
 * @return 0 to go on and insert, or an error (usually CHAN_EINCOMPATIBLE
 *         with the reasons in err) to abort without writing
 */
typedef int (*chan_store_check_fn)(void *ctx, const chan_schema_version *const *existing,
                                   size_t n_existing, chan_error *err);

typedef struct chan_schema_register_request {
    const char *subject;
    const char *schema_type;  /**< "AVRO"; NULL means "AVRO" */
    const char *schema;       /**< normalized schema text; equal texts are the same schema */
    uint64_t fingerprint;     /**< 64-bit fingerprint of `schema` (speeds up lookups) */
    const char *actor;        /**< who asks, for the audit log */
    chan_store_check_fn check; /**< may be NULL: no check */
    void *check_ctx;
} chan_schema_register_request;

/**
 * Register a schema under a subject.  If the subject already has a live
 * version with exactly this schema text, that version is returned and
 * *out_created is false (no write, no audit entry).  Otherwise the schema
 * gets its global id (reusing the id of the same text registered anywhere
 * else), `check` is called, and the next version is appended.
 *
 * @param[out] out         the (new or existing) version; caller frees
 * @param[out] out_created true when a new version was written; may be NULL
 * @return 0, the error of `check`, CHAN_ECONFLICT with reason READ_ONLY,
 *         CHAN_EUNAVAILABLE
 */
int chan_store_schema_register(chan_store *store, chan_schema_version **out, bool *out_created,
                               const chan_schema_register_request *req, chan_error *err);

/**
 * Find the version of subject whose schema text equals `schema`
 * (POST /subjects/{subject}).
 * @return 0, CHAN_ENOTFOUND (reason SUBJECT_NOT_FOUND or SCHEMA_NOT_FOUND)
 */
int chan_store_schema_lookup(chan_store *store, chan_schema_version **out, const char *subject,
                             const char *schema, uint64_t fingerprint, bool include_deleted,
                             chan_error *err);

/** Schema text and type by global id.  @return 0 or CHAN_ENOTFOUND (SCHEMA_NOT_FOUND) */
int chan_store_schema_by_id(chan_store *store, char **out_schema, char **out_type, int64_t id,
                            chan_error *err);

/**
 * Every (subject, version) that uses schema id, ordered by subject then
 * version (only subject, version and id are filled).
 * @return 0 or CHAN_ENOTFOUND (SCHEMA_NOT_FOUND)
 */
int chan_store_schema_usages(chan_store *store, chan_schema_version ***out, size_t *out_n,
                             int64_t id, bool include_deleted, chan_error *err);

/** Subject names in lexical order; soft-deleted subjects only with include_deleted. */
int chan_store_subject_list(chan_store *store, char ***out, size_t *out_n, bool include_deleted,
                            chan_error *err);
void chan_store_string_list_free(char **list, size_t n);

/**
 * Version numbers of a subject in ascending order.
 * @return 0 or CHAN_ENOTFOUND (SUBJECT_NOT_FOUND: no version at all, or only
 *         soft-deleted ones and !include_deleted)
 */
int chan_store_subject_versions(chan_store *store, int **out, size_t *out_n, const char *subject,
                                bool include_deleted, chan_error *err);

/**
 * One version; version -1 means the latest live one.
 * @return 0 or CHAN_ENOTFOUND (SUBJECT_NOT_FOUND or VERSION_NOT_FOUND)
 */
int chan_store_version_get(chan_store *store, chan_schema_version **out, const char *subject,
                           int version, bool include_deleted, chan_error *err);

/**
 * Delete one version.  Soft delete marks it deleted (CHAN_ENOTFOUND with
 * VERSION_SOFT_DELETED when it already is).  Permanent delete removes a
 * version that was soft-deleted before (CHAN_ECONFLICT with
 * VERSION_NOT_SOFT_DELETED otherwise).  version -1 means the latest.
 */
int chan_store_version_delete(chan_store *store, int *out_version, const char *subject,
                              int version, bool permanent, const char *actor, chan_error *err);

/**
 * Delete a whole subject, soft or permanent, with the same preconditions
 * as chan_store_version_delete (SUBJECT_SOFT_DELETED, SUBJECT_NOT_SOFT_DELETED).
 * @param[out] out the deleted version numbers, ascending; caller frees
 */
int chan_store_subject_delete(chan_store *store, int **out, size_t *out_n, const char *subject,
                              bool permanent, const char *actor, chan_error *err);

/**
 * Compatibility level of a subject, or the global one for subject == NULL.
 * @param[out] out the level name, e.g. "BACKWARD"; caller frees
 * @return 0 or CHAN_ENOTFOUND when no level is set at that scope
 */
int chan_store_config_get(chan_store *store, char **out, const char *subject, chan_error *err);
/** Set (level != NULL) or clear (level == NULL) a compatibility level. */
int chan_store_config_set(chan_store *store, const char *subject, const char *level,
                          const char *actor, chan_error *err);

/** Mode ("READWRITE", "READONLY", "IMPORT") with the same scoping as config. */
int chan_store_mode_get(chan_store *store, char **out, const char *subject, chan_error *err);
int chan_store_mode_set(chan_store *store, const char *subject, const char *mode,
                        const char *actor, chan_error *err);

/* ------------------------------------------------------------------ */
/* Channels (contracts), consumers, producers                          */
/* ------------------------------------------------------------------ */

/** A registered consumer of a channel. */
typedef struct chan_consumer_record {
    char *channel;
    char *name;
    char *principal;     /**< e.g. "User:billing-svc" */
    char *group;         /**< Kafka consumer group */
    char *scenario;      /**< business scenario */
    int64_t sla_p99_ms;
    double peak_rate_msgs; /**< messages per second */
    char *degradation;   /**< degradation strategy */
    int64_t registered_at; /**< unix seconds, set by the store on first registration */
    int64_t renewed_at;    /**< unix seconds, last registration or renewal */
} chan_consumer_record;

/** A registered producer of a channel. */
typedef struct chan_producer_record {
    char *channel;
    char *principal;
} chan_producer_record;

/** A channel: the stored form of a contract. */
typedef struct chan_channel_record {
    char *name;             /**< the topic */
    char *owner_team;
    char *maintainer;
    int64_t peak_qps;
    int64_t retention_hours;
    char *deprecation_date; /**< "YYYY-MM-DD" or NULL */
    char *subject;          /**< schema subject */
    char *compatibility;    /**< mode name */
    char *document;         /**< the whole contract as JSON text */
    int64_t revision;       /**< 1 on creation, +1 on every change */
    int64_t created_at;
    int64_t updated_at;
    chan_consumer_record *consumers; /**< owned array */
    size_t n_consumers;
    chan_producer_record *producers; /**< owned array */
    size_t n_producers;
} chan_channel_record;

void chan_channel_record_free(chan_channel_record *rec);
void chan_channel_record_list_free(chan_channel_record **list, size_t n);
void chan_consumer_record_free(chan_consumer_record *rec);
void chan_consumer_record_list_free(chan_consumer_record **list, size_t n);

/**
 * Create or replace a channel with its consumers and producers, in one
 * transaction.  Consumers keep their registered_at when they already existed;
 * consumers missing from rec are removed.  When nothing differs from the
 * stored channel, nothing is written and *out_changed is false.
 *
 * @param expected_revision -1 for any; otherwise the write fails with
 *        CHAN_ECONFLICT (REVISION_MISMATCH) unless the stored revision equals
 *        it (0 = must not exist yet)
 * @param[out] out_revision the revision after the call; may be NULL
 * @param[out] out_changed  may be NULL
 */
int chan_store_channel_put(chan_store *store, int64_t *out_revision, bool *out_changed,
                           const chan_channel_record *rec, int64_t expected_revision,
                           const char *actor, chan_error *err);

/** Channel with consumers and producers.  @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND) */
int chan_store_channel_get(chan_store *store, chan_channel_record **out, const char *name,
                           chan_error *err);

/** Filters of chan_store_channel_list; NULL / -1 fields do not filter. */
typedef struct chan_channel_filter {
    const char *owner_team;
    const char *maintainer;
    int deprecated;        /**< -1 any, 1 only with a deprecation date <= as_of, 0 only others */
    const char *as_of;     /**< "YYYY-MM-DD" for `deprecated`; NULL: today (UTC) */
} chan_channel_filter;

#define CHAN_CHANNEL_FILTER_INIT {NULL, NULL, -1, NULL}

/** Channels (with consumers and producers) ordered by name. */
int chan_store_channel_list(chan_store *store, chan_channel_record ***out, size_t *out_n,
                            const chan_channel_filter *filter, chan_error *err);

/** Delete a channel with its consumers and producers.  @return 0 or CHAN_ENOTFOUND */
int chan_store_channel_delete(chan_store *store, const char *name, const char *actor,
                              chan_error *err);

/**
 * Add or update one consumer of an existing channel (registered_at is kept
 * for an existing consumer, renewed_at set to now).  Nothing is written when
 * the consumer is identical, except that renewed_at is refreshed.
 * @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND)
 */
int chan_store_consumer_put(chan_store *store, bool *out_created,
                            const chan_consumer_record *rec, const char *actor, chan_error *err);

/** Set renewed_at of a consumer to now.  @return 0 or CHAN_ENOTFOUND */
int chan_store_consumer_renew(chan_store *store, const char *channel, const char *name,
                              const char *actor, chan_error *err);

/** Remove a consumer.  @return 0 or CHAN_ENOTFOUND (CHANNEL_ or CONSUMER_NOT_FOUND) */
int chan_store_consumer_delete(chan_store *store, const char *channel, const char *name,
                               const char *actor, chan_error *err);

/** Consumers of one channel (channel != NULL) or of all, ordered by channel, name. */
int chan_store_consumer_list(chan_store *store, chan_consumer_record ***out, size_t *out_n,
                             const char *channel, chan_error *err);

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

typedef struct chan_audit_entry {
    int64_t id;     /**< increasing */
    int64_t ts;     /**< unix seconds */
    char *actor;    /**< who */
    char *action;   /**< e.g. "channel.create", "consumer.remove", "schema.register" */
    char *object;   /**< e.g. "channel/orders.created", "subject/orders.created-value/3" */
    char *detail;   /**< JSON text with the change, may be NULL */
} chan_audit_entry;

void chan_audit_entry_list_free(chan_audit_entry **list, size_t n);

/**
 * Audit entries with id > after_id, oldest first, at most limit of them.
 * object_prefix (may be NULL) keeps only entries whose object starts with it.
 */
int chan_store_audit_list(chan_store *store, chan_audit_entry ***out, size_t *out_n,
                          int64_t after_id, size_t limit, const char *object_prefix,
                          chan_error *err);

#ifdef __cplusplus
}
#endif
#endif
